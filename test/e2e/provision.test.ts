/**
 * FluxOidcProvision@1 end to end: the bundled task run the way the agent runs it, against the
 * emulated cloud (ARM, Entra ID, Azure DevOps). One cloud for the whole file; each case starts
 * from a saved state (fresh, or converged after the first apply) with its own changes, and is
 * judged on what the user sees (result, message, outputs, log, summary) and on the cloud's state
 * and call journal.
 *
 * Needs the build (npm run build) and the test CA (node scripts/test.mjs sets it up).
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runBundledTask, type TaskRun } from '../agent/agent';
import { E2E_TIME_SCALE, startCloud, type Cloud } from '../emulators/cloud';
import type { FaultRule } from '../emulators/core/faults';
import type { JournalEntry } from '../emulators/core/journal';
import { aksIssuerUrl, FRESH, GIT_SECURITY_NAMESPACE, TOKEN_EXCHANGE_AUDIENCE } from '../emulators/names';
import type { CloudState } from '../emulators/state';

const root = path.resolve(import.meta.dirname, '..', '..');
const TASK_DIR = path.join(root, 'dist', 'tasks', 'FluxOidcProvision');
const SAS = ['source-controller', 'image-automation-controller'];
const FIC_NAMES = SAS.map((sa) => `flux-${sa}-${FRESH.clusterName}`);
const READ_CONTRIBUTE = 2 | 4;

let cloud: Cloud;
let fresh: CloudState;
/** The state after the first apply on fresh (set by the first test; partial cases start from it). */
let converged: CloudState | undefined;

before(async () => {
  assert.ok(fs.existsSync(path.join(TASK_DIR, 'main.js')), `${TASK_DIR}/main.js is missing: run npm run build first`);
  cloud = await startCloud({ timeScale: E2E_TIME_SCALE, scenario: 'fresh' });
  fresh = structuredClone(cloud.ctx.state);
});

after(async () => {
  await cloud?.stop();
});

// ------------------------------------------------------------------------------------------ helpers

/** Puts the live cloud in `state` (a copy), changed by `mutate`; clears fault rules. */
function load(state: CloudState, mutate?: (s: CloudState) => void): void {
  const s = structuredClone(state);
  mutate?.(s);
  cloud.ctx.state.azure = s.azure;
  cloud.ctx.state.devops = s.devops;
  cloud.ctx.state.kube = s.kube;
  cloud.ctx.faults.clear();
}

interface Outcome {
  run: TaskRun;
  /** Successful state-changing calls the run made (token requests are not writes). */
  writes: JournalEntry[];
  /** Every call the run made, for failure messages. */
  journal: string;
  report: {
    resources: {
      kind: string;
      name: string;
      action: string;
      status: string;
      note?: string;
      changes: { field: string; from?: string; to?: string }[];
    }[];
    checks: { id: string; status: string; cause?: string; fix?: string }[];
  };
  summary: string;
}

async function provision(inputs: Record<string, string> = {}, faults: FaultRule[] = []): Promise<Outcome> {
  for (const f of faults) cloud.ctx.faults.add(f);
  const mark = cloud.ctx.journal.mark();
  const run = await runBundledTask({
    taskDir: TASK_DIR,
    inputs: {
      mode: 'apply',
      azureSubscription: cloud.serviceConnections[FRESH.serviceConnectionName]!,
      resourceGroup: FRESH.resourceGroup,
      clusterName: FRESH.clusterName,
      ...inputs,
    },
    env: cloud.env,
    timeoutMs: 120_000,
  });
  // E2E_SHOW=1 prints each run's log as the user sees it (secrets masked), for debugging.
  if (process.env.E2E_SHOW) console.log(`${run.log}\n=> ${run.result}: ${run.message}\n`);
  const attachment = run.attachments.find((a) => a.type === 'fluxoidc-report');
  return {
    run,
    writes: cloud.ctx.journal.writes({ since: mark }).filter((e) => !isTokenCall(e)),
    journal: cloud.ctx.journal.format({ since: mark }),
    report: attachment?.content ? (JSON.parse(attachment.content) as Outcome['report']) : { resources: [], checks: [] },
    summary: run.summaries[0]?.content ?? '',
  };
}

/** Token requests (Entra, the pipeline's OIDC token) change nothing in the cloud. */
function isTokenCall(e: JournalEntry): boolean {
  return /\/oauth2\/v2\.0\/token$|\/oidctoken$/i.test(e.path);
}

function why(o: Outcome): string {
  return `\n--- result ${o.run.result}: ${o.run.message}\n--- log\n${o.run.log}\n--- calls\n${o.journal}`;
}

function writeLines(o: Outcome): string[] {
  return o.writes.map((e) => `${e.service} ${e.method} ${e.path}`);
}

const rg = () => cloud.ctx.state.azure.subscriptions[0]!.resourceGroups.find((g) => g.name === FRESH.resourceGroup)!;
const cluster = () => rg().clusters.find((c) => c.name === FRESH.clusterName)!;
const identity = () => rg().identities.find((i) => i.name === FRESH.identityName);
const issuer = () => aksIssuerUrl(cloud.ctx.urls['aks-issuer'], FRESH.tenantId, FRESH.clusterIssuerId);
const devops = () => cloud.ctx.state.devops;
const team = () => devops().groups.find((g) => g.kind === 'team' && g.displayName === FRESH.teamName);
const principalOf = (objectId: string) => devops().principals.find((p) => p.originId === objectId);
const repoAcl = () =>
  devops().acls.find(
    (a) =>
      a.namespaceId === GIT_SECURITY_NAMESPACE &&
      a.token.toLowerCase() === `repov2/${FRESH.projectId}/${FRESH.repositoryId}`,
  );
const teamDescriptor = () => `Microsoft.TeamFoundation.Identity;${team()!.sid}`;
const teamAce = () => repoAcl()?.aces.find((a) => a.descriptor.toLowerCase() === teamDescriptor().toLowerCase());

/** The state the article requires, asserted on the cloud itself. */
function assertArticleState(): void {
  const c = cluster();
  assert.equal(c.oidcIssuer.enabled, true, 'OIDC issuer on');
  assert.equal(c.workloadIdentity, true, 'workload identity on');
  const id = identity();
  assert.ok(id, 'the managed identity exists');
  const fics = id.federatedIdentityCredentials.filter((f) =>
    f.subject.startsWith('system:serviceaccount:flux-system:'),
  );
  assert.deepEqual(
    fics.map((f) => f.subject).sort(),
    SAS.map((sa) => `system:serviceaccount:flux-system:${sa}`).sort(),
  );
  for (const f of fics) {
    assert.equal(f.issuer, issuer(), `${f.name}: issuer byte-identical to the cluster's`);
    assert.deepEqual(f.audiences, [TOKEN_EXCHANGE_AUDIENCE]);
  }
  const sp = principalOf(id.principalId);
  assert.ok(sp, 'the identity is a user of the organization');
  assert.equal(sp.license, 'express', 'Basic access');
  const t = team();
  assert.ok(t, 'the team exists');
  assert.ok(t.members.includes(sp.id), 'the identity is in the team');
  const ace = teamAce();
  assert.ok(ace, 'the team has an ACE on the repository');
  assert.equal(ace.allow & READ_CONTRIBUTE, READ_CONTRIBUTE, 'Read + Contribute');
}

// ------------------------------------------------------------------------------------------ tests

describe('FluxOidcProvision on the emulated cloud', () => {
  test('plan on fresh writes nothing and prints the whole plan', async () => {
    load(fresh);
    const o = await provision({ mode: 'plan' });
    assert.equal(o.run.result, 'Succeeded', why(o));
    assert.deepEqual(writeLines(o), [], why(o));
    for (const line of [
      '~ update ManagedCluster rg-fleet/aks-prod',
      'oidcIssuerProfile.enabled: false -> true',
      'securityProfile.workloadIdentity.enabled: false -> true',
      '+ create UserAssignedIdentity rg-fleet/flux-aks-prod',
      `+ create FederatedIdentityCredential ${FIC_NAMES[0]}`,
      `+ create FederatedIdentityCredential ${FIC_NAMES[1]}`,
      'issuer: (none) -> (known after apply)',
      'subject: (none) -> system:serviceaccount:flux-system:source-controller',
      '+ create OrganizationUser flux-aks-prod',
      `+ create Team ${FRESH.teamName}`,
      `+ create TeamMembership flux-aks-prod in ${FRESH.teamName}`,
      `+ create RepositoryPermission ${FRESH.teamName} on ${FRESH.repository}`,
    ])
      assert.ok(o.run.log.includes(line), `plan line missing: ${line}${why(o)}`);
    assert.deepEqual(
      o.report.resources.map((r) => [r.kind, r.action, r.status]),
      [
        ['ManagedCluster', 'update', 'planned'],
        ['UserAssignedIdentity', 'create', 'planned'],
        ['FederatedIdentityCredential', 'create', 'planned'],
        ['FederatedIdentityCredential', 'create', 'planned'],
        ['OrganizationUser', 'create', 'planned'],
        ['Team', 'create', 'planned'],
        ['TeamMembership', 'create', 'planned'],
        ['RepositoryPermission', 'create', 'planned'],
      ],
    );
    assert.match(o.summary, /\| ➕ \| create \| UserAssignedIdentity \| rg-fleet\/flux-aks-prod \|/);
  });

  test('apply on fresh provisions what the article requires', async () => {
    load(fresh);
    const o = await provision();
    assert.equal(o.run.result, 'Succeeded', why(o));
    assertArticleState();
    const id = identity()!;
    assert.deepEqual(o.run.outputs, {
      clientId: id.clientId,
      principalId: id.principalId,
      tenantId: FRESH.tenantId,
      identityResourceId: `/subscriptions/${FRESH.subscriptionId}/resourcegroups/${FRESH.resourceGroup}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${FRESH.identityName}`,
      oidcIssuerUrl: issuer(),
      federatedCredentialNames: FIC_NAMES.join(','),
      teamId: team()!.id,
    });
    // Dependency order, one PUT per credential, never a PUT of the cluster while it is on.
    const lines = writeLines(o);
    assert.equal(lines.filter((l) => /PUT .*managedClusters\/aks-prod$/.test(l)).length, 1, why(o));
    assert.equal(lines.filter((l) => /federatedIdentityCredentials\//.test(l)).length, 2, why(o));
    assert.ok(
      o.report.resources.every((r) => r.status === 'applied'),
      JSON.stringify(o.report.resources),
    );
    // No token reaches the log the user sees.
    assert.ok(!/eyJ[\w-]{10,}\.[\w-]{10,}\./.test(o.run.log), 'a JWT is in the log');
    assert.ok(o.run.secrets.length > 0, 'the Azure DevOps token was registered as a secret');
    // The summary lists every resource with its action.
    assert.match(o.summary, /\| ✏️ \| update \| ManagedCluster \|/);
    for (const kind of [
      'UserAssignedIdentity',
      'FederatedIdentityCredential',
      'OrganizationUser',
      'Team',
      'TeamMembership',
      'RepositoryPermission',
    ]) {
      assert.match(o.summary, new RegExp(`\\| ➕ \\| create \\| ${kind} \\|.*\\| applied \\|`), kind);
    }
    converged = structuredClone(cloud.ctx.state);
  });

  test('a second apply makes no writes and reports every resource unchanged', async () => {
    assert.ok(converged, 'needs the apply on fresh');
    load(converged);
    const o = await provision();
    assert.equal(o.run.result, 'Succeeded', why(o));
    assert.deepEqual(writeLines(o), [], why(o));
    assert.ok(
      o.report.resources.length === 8 && o.report.resources.every((r) => r.action === 'unchanged'),
      JSON.stringify(o.report.resources),
    );
  });
});

interface ConvergeCase {
  name: string;
  /** Starts from fresh instead of the converged state. */
  fromFresh?: boolean;
  mutate: (s: CloudState) => void;
  faults?: FaultRule[];
  /** Each must match one write of the run (and no other writes may happen when `only`). */
  writes: RegExp[];
  only?: boolean;
  /** Must appear in the log. */
  log?: RegExp[];
}

const idIn = (s: CloudState) =>
  s.azure.subscriptions[0]!.resourceGroups[0]!.identities.find((i) => i.name === FRESH.identityName)!;
const teamIn = (s: CloudState) => s.devops.groups.find((g) => g.kind === 'team' && g.displayName === FRESH.teamName)!;

const CONVERGE: ConvergeCase[] = [
  {
    name: 'the identity exists, nothing else',
    fromFresh: true,
    mutate: (s) => {
      s.azure.subscriptions[0]!.resourceGroups[0]!.identities.push({
        name: FRESH.identityName,
        location: FRESH.location,
        clientId: '0c7f3b2a-1d4e-4f5a-9b6c-7d8e9f0a1b2c',
        principalId: '5e4d3c2b-1a0f-4e9d-8c7b-6a5f4e3d2c1b',
        federatedIdentityCredentials: [],
      });
    },
    writes: [
      /arm PUT .*managedClusters\/aks-prod$/,
      /federatedIdentityCredentials\/flux-source-controller-aks-prod$/,
      /vsaex POST .*serviceprincipalentitlements$/,
    ],
    log: [/= unchanged UserAssignedIdentity rg-fleet\/flux-aks-prod/],
  },
  {
    name: 'one federated credential is missing',
    mutate: (s) => {
      idIn(s).federatedIdentityCredentials = idIn(s).federatedIdentityCredentials.filter(
        (f) => f.name !== FIC_NAMES[1],
      );
    },
    writes: [/arm PUT .*federatedIdentityCredentials\/flux-image-automation-controller-aks-prod$/],
    only: true,
  },
  {
    name: 'a federated credential has the wrong issuer',
    mutate: (s) => {
      idIn(s).federatedIdentityCredentials.find((f) => f.name === FIC_NAMES[0])!.issuer =
        'https://westeurope.oic.prod-aks.azure.com/old/';
    },
    writes: [/arm PUT .*federatedIdentityCredentials\/flux-source-controller-aks-prod$/],
    only: true,
    log: [
      /~ update FederatedIdentityCredential flux-source-controller-aks-prod \(exists with the wrong issuer; it will be updated in place\)/,
    ],
  },
  {
    name: 'the team exists without its permission on the repository',
    mutate: (s) => {
      const sid = teamIn(s).sid;
      for (const acl of s.devops.acls) acl.aces = acl.aces.filter((a) => !a.descriptor.endsWith(sid));
    },
    writes: [/devops POST .*accesscontrolentries\//],
    only: true,
  },
  {
    name: 'the identity has a Stakeholder licence',
    mutate: (s) => {
      s.devops.principals.find((p) => p.originId === idIn(s).principalId)!.license = 'stakeholder';
    },
    writes: [/vsaex PATCH .*serviceprincipalentitlements\//],
    only: true,
    log: [/Stakeholder access cannot read Git repositories; raised to Basic/],
  },
  {
    name: 'the cluster is busy with another operation',
    fromFresh: true,
    mutate: (s) => {
      s.azure.subscriptions[0]!.resourceGroups[0]!.clusters[0]!.busy = { operation: 'Upgrading', rejections: 2 };
    },
    writes: [/arm PUT .*managedClusters\/aks-prod$/],
    log: [/retrying the update of the AKS cluster 'aks-prod' after 409 OperationNotAllowed, waiting/],
  },
  {
    name: 'a new identity Azure DevOps does not see yet (directory replication)',
    fromFresh: true,
    mutate: (s) => {
      // Emulated ms: the cloud runs at 1/E2E_TIME_SCALE of real time, as the task's waits do.
      s.azure.tenant.replicationDelayMs = 12_000;
    },
    writes: [/vsaex POST .*serviceprincipalentitlements$/],
    log: [
      /retrying adding 'flux-aks-prod' to the organization \(not replicated to Azure DevOps yet\) after EntitlementWrongObjectId/,
    ],
  },
  {
    name: 'a concurrent writer on the identity: the federated credential write answers 409 and is retried',
    fromFresh: true,
    mutate: () => {},
    faults: [
      {
        service: 'arm',
        method: 'PUT',
        path: 'federatedIdentityCredentials',
        kind: 'status',
        status: 409,
        count: 1,
        code: 'ConcurrentFederatedIdentityCredentialsWritesForSingleManagedIdentity',
        message:
          'Too many Federated Identity Credentials are written concurrently for the managed identity. Concurrent Federated Identity Credentials writes under the same managed identity are not supported.',
      },
    ],
    writes: [
      /arm PUT .*federatedIdentityCredentials\/flux-source-controller-aks-prod$/,
      /arm PUT .*federatedIdentityCredentials\/flux-image-automation-controller-aks-prod$/,
    ],
    log: [
      /retrying the write of the federated credential 'flux-source-controller-aks-prod' after 409 ConcurrentFederatedIdentityCredentialsWritesForSingleManagedIdentity/,
    ],
  },
  {
    name: 'throttling and server errors on every service',
    fromFresh: true,
    mutate: () => {},
    faults: [
      { service: 'arm', method: 'PUT', path: 'userAssignedIdentities', kind: '429', retryAfter: 1, count: 1 },
      { service: 'arm', method: 'GET', path: 'managedClusters', kind: '503', count: 1 },
      { service: 'vsaex', method: 'POST', kind: '429', retryAfter: 1, count: 1 },
      { service: 'vssps', kind: '500', count: 1 },
      { service: 'devops', method: 'POST', path: 'accesscontrolentries', kind: '502', count: 1 },
    ],
    writes: [/arm PUT .*userAssignedIdentities\/flux-aks-prod$/, /devops POST .*accesscontrolentries\//],
    log: [
      /retrying PUT \S*userAssignedIdentities\/flux-aks-prod after 429/,
      /retrying POST \S*serviceprincipalentitlements\S* after 429/,
    ],
  },
];

describe('partial and failing states converge', () => {
  for (const c of CONVERGE) {
    test(c.name, async () => {
      assert.ok(converged || c.fromFresh, 'needs the apply on fresh');
      load(c.fromFresh ? fresh : converged!, c.mutate);
      const o = await provision({}, c.faults);
      assert.equal(o.run.result, 'Succeeded', why(o));
      assertArticleState();
      const lines = writeLines(o);
      for (const w of c.writes)
        assert.ok(
          lines.some((l) => w.test(l)),
          `no write matches ${w}${why(o)}`,
        );
      if (c.only) assert.equal(lines.length, c.writes.length, `unexpected writes: ${lines.join(', ')}${why(o)}`);
      for (const l of c.log ?? []) assert.match(o.run.log, l, why(o));
    });
  }
});

describe('refusals', () => {
  test('19 existing federated credentials + 2 needed: budget error, nothing written', async () => {
    assert.ok(converged, 'needs the apply on fresh');
    load(converged, (s) => {
      const id = idIn(s);
      id.federatedIdentityCredentials = Array.from({ length: 19 }, (_, i) => ({
        name: `other-cluster-${i}`,
        issuer: `https://westeurope.oic.prod-aks.azure.com/${FRESH.tenantId}/0000000${i}/`,
        subject: 'system:serviceaccount:flux-system:source-controller',
        audiences: [TOKEN_EXCHANGE_AUDIENCE],
      }));
    });
    const o = await provision();
    assert.equal(o.run.result, 'Failed', why(o));
    assert.match(
      o.run.message,
      /'flux-aks-prod' has 19 federated credentials and the cluster 'aks-prod' needs 2 more \(flux-source-controller-aks-prod, flux-image-automation-controller-aks-prod\), but an identity can have at most 20/,
    );
    assert.match(o.run.message, /identityName/);
    assert.deepEqual(writeLines(o), [], why(o));
  });

  test('a service connection whose principal may not add users: clear error naming the right', async () => {
    load(fresh, (s) => {
      // A Project Administrator, but not a Project Collection Administrator.
      const pca = s.devops.groups.find((g) => g.kind === 'collectionAdministrators')!;
      const sc = s.devops.principals.find((p) => p.originId === FRESH.serviceConnectionObjectId)!;
      pca.members = pca.members.filter((m) => m !== sc.id);
      s.devops.groups
        .find((g) => g.kind === 'projectAdministrators' && g.projectId === FRESH.projectId)!
        .members.push(sc.id);
    });
    const o = await provision();
    assert.equal(o.run.result, 'Failed', why(o));
    assert.match(o.run.message, /add the managed identity 'flux-aks-prod' to the organization: access denied/);
    assert.match(o.run.message, /Project Collection Administrators/);
    assert.ok(o.run.message.includes(`client id ${FRESH.serviceConnectionAppId}`), o.run.message);
    // What was done stays; once the right is granted, the next run completes the rest (Azure DevOps only).
    assert.ok(
      identity()?.federatedIdentityCredentials.length === 2,
      'the Azure side was provisioned before the failure',
    );
    const sc = devops().principals.find((p) => p.originId === FRESH.serviceConnectionObjectId)!;
    devops()
      .groups.find((g) => g.kind === 'collectionAdministrators')!
      .members.push(sc.id);
    const next = await provision();
    assert.equal(next.run.result, 'Succeeded', why(next));
    assertArticleState();
    const lines = writeLines(next);
    assert.ok(
      lines.length > 0 && lines.every((l) => !l.startsWith('arm ')),
      `only Azure DevOps writes: ${lines.join(', ')}`,
    );
  });

  test('a service connection whose principal is not in the organization: clear error before any write', async () => {
    load(fresh, (s) => {
      delete s.devops.principals.find((p) => p.originId === FRESH.serviceConnectionObjectId)!.license;
    });
    const o = await provision();
    assert.equal(o.run.result, 'Failed', why(o));
    assert.match(o.run.message, /Azure DevOps did not accept the token \(HTTP 401\)/);
    assert.match(
      o.run.message,
      /Add the service connection's principal \(client id [0-9a-f-]+, service connection of input azureSubscription\) to the Azure DevOps organization/,
    );
    assert.deepEqual(writeLines(o), [], why(o));
  });

  test('an explicit Deny on the repository stops the run before any write', async () => {
    assert.ok(converged, 'needs the apply on fresh');
    load(converged, (s) => {
      s.azure.subscriptions[0]!.resourceGroups[0]!.clusters[0]!.workloadIdentity = false;
      const sid = teamIn(s).sid;
      const ace = s.devops.acls.flatMap((a) => a.aces).find((a) => a.descriptor.endsWith(sid))!;
      ace.allow = 2;
      ace.deny = 4;
    });
    const o = await provision();
    assert.equal(o.run.result, 'Failed', why(o));
    assert.match(
      o.run.message,
      /the team 'AKS Managed Identities Team' is denied Contribute; a Deny wins over the Allow/,
    );
    assert.match(
      o.run.message,
      /Fix: remove the Deny \(Project settings > Repositories > fleet > Security\), then re-run/,
    );
    assert.deepEqual(writeLines(o), [], why(o));
  });

  test('more rights than Flux needs: a warning, and nothing is removed', async () => {
    assert.ok(converged, 'needs the apply on fresh');
    load(converged, (s) => {
      const sid = teamIn(s).sid;
      s.devops.acls.flatMap((a) => a.aces).find((a) => a.descriptor.endsWith(sid))!.allow |= 8 | 8192;
    });
    const o = await provision();
    assert.equal(o.run.result, 'SucceededWithIssues', why(o));
    assert.ok(
      o.run.issues.some((i) => i.type === 'warning' && /holds Force push, Manage permissions/.test(i.message)),
      why(o),
    );
    assert.deepEqual(writeLines(o), [], why(o));
    assert.equal(teamAce()!.allow & (8 | 8192), 8 | 8192, 'nothing was removed');
  });

  test('a cluster that does not exist: clear error, nothing written', async () => {
    load(fresh);
    const o = await provision({ clusterName: 'aks-missing' });
    assert.equal(o.run.result, 'Failed', why(o));
    assert.match(
      o.run.message,
      /The AKS cluster 'aks-missing' was not found in resource group 'rg-fleet'.*Fix: Check the clusterName and resourceGroup inputs/,
    );
    assert.deepEqual(writeLines(o), [], why(o));
  });

  test('enableClusterFeatures false on a cluster without workload identity: refused before any write', async () => {
    load(fresh);
    const o = await provision({ enableClusterFeatures: 'false' });
    assert.equal(o.run.result, 'Failed', why(o));
    assert.match(
      o.run.message,
      /the OIDC issuer and workload identity are off on the cluster 'aks-prod' and enableClusterFeatures is false. Fix: set enableClusterFeatures: true/,
    );
    assert.deepEqual(writeLines(o), [], why(o));
    // The check carries its cause and its fix apart, as the summary's "How to fix" shows them.
    const check = o.report.checks.find((c) => c.id === 'cluster-features');
    assert.equal(check?.status, 'fail', JSON.stringify(o.report.checks));
    assert.doesNotMatch(check.cause ?? '', /Fix:/);
    assert.match(
      check.fix ?? '',
      /^set enableClusterFeatures: true, or run az aks update -g rg-fleet -n aks-prod --enable-oidc-issuer --enable-workload-identity/,
    );
    assert.match(o.summary, /- Fix: set enableClusterFeatures: true/);
  });

  test('a Stakeholder access level is refused before any call', async () => {
    load(fresh);
    const o = await provision({ licenseType: 'stakeholder' });
    assert.equal(o.run.result, 'Failed', why(o));
    assert.match(o.run.message, /licenseType.*Stakeholder access cannot read Git repositories.*use express \(Basic\)/);
    assert.equal(o.journal, '', 'no call at all');
  });
});
