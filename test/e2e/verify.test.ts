/**
 * FluxOidcVerify@1 end to end: the bundled task run the way the agent runs it against the emulated
 * cloud. The baseline is the `converged` scenario (the state FluxOidcProvision + FluxManifestPatch
 * + kustomize-controller leave behind; the provision/patch e2e tests cover reaching it through the
 * tasks). Each classic mistake is then made the way it happens in real life (a wrong manifest
 * pushed to the repository and applied by the simulated kustomize-controller, a wrong federated
 * credential, a missing licence...), and Verify must fail naming the right cause.
 *
 * Azure and Azure DevOps mistakes share one cloud (a case swaps in a changed copy of those state
 * sections; the booted cluster stays). Mistakes in the repository or the cluster get a cloud of
 * their own, whose repository carries the wrong commit, so the cluster boots from it exactly as
 * after `flux bootstrap` + a push (the cluster's OIDC signing key is per cloud, as it is per AKS
 * cluster).
 * Needs the build (npm run build) and the test CA (node scripts/test.mjs sets it up).
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runBundledTask, type TaskRun } from '../agent/agent';
import { E2E_TIME_SCALE, startCloud, type Cloud } from '../emulators/cloud';
import { httpsRequest } from '../emulators/core/context';
import { kubeRuntime } from '../emulators/kube/index';
import { gotkComponentsYaml } from '../emulators/kube/flux/install';
import { FRESH_COMPONENTS, RETIRE_ROLE, SCENARIO_TOKENS } from '../emulators/kube/scenario';
import { FRESH, GIT_SECURITY_NAMESPACE } from '../emulators/names';
import { toPlaceholders } from '../emulators/scenarios';
import type { CloudState } from '../emulators/state';

const root = path.resolve(import.meta.dirname, '..', '..');
const TASK_DIR = process.env.VERIFY_TASK_DIR ?? path.join(root, 'dist', 'tasks', 'FluxOidcVerify');
const KUSTOMIZATION = 'clusters/prod/flux-system/kustomization.yaml';
const COMPONENTS = 'clusters/prod/flux-system/gotk-components.yaml';
const SEED = path.join(root, 'test', 'emulators', 'devops', 'seed');
const CONVERGED_KUSTOMIZATION = fs.readFileSync(path.join(SEED, 'fleet-converged', KUSTOMIZATION), 'utf8');

let cloud: Cloud;
let converged: CloudState;
/** Agent.TempDirectory kept for the file (the agent's is per job; reportPath points into it). */
let tempDir: string;

before(async () => {
  assert.ok(fs.existsSync(path.join(TASK_DIR, 'main.js')), `${TASK_DIR}/main.js is missing: run npm run build first`);
  tempDir = fs.mkdtempSync(path.join(os.tmpdir(), 'verify-e2e-'));
  cloud = await startCloud({ timeScale: E2E_TIME_SCALE, scenario: 'converged' });
  converged = structuredClone(cloud.ctx.state);
  await boot(cloud);
});

after(async () => {
  await cloud?.stop();
  if (tempDir) fs.rmSync(tempDir, { recursive: true, force: true });
});

// ------------------------------------------------------------------------------------------ helpers

/** The converged state with `mutate` applied and `files` committed on top of the repository's seed. */
function convergedWith(
  mutate?: (s: CloudState) => void,
  files?: Record<string, string>,
  message = 'test: the mistake',
): CloudState {
  const s = structuredClone(converged);
  if (files) s.devops.projects[0]!.repositories[0]!.seed.push({ message, files });
  mutate?.(s);
  return s;
}

/** Boots the cloud's cluster (first contact: bootstrap, then Flux applies the repository) and waits until Flux is idle. */
async function boot(c: Cloud): Promise<void> {
  const rt = kubeRuntime(c.ctx);
  await rt.cluster(FRESH.clusterName)!.ensureBooted();
  await rt.settled();
}

/**
 * Binds the README's extra rules for retireStaticCredentials to the service connection (the
 * scenario binds only Verify's least-privilege role); returns the undo.
 */
function grantRetireRights(c: Cloud): () => void {
  const cluster = kubeRuntime(c.ctx).cluster(FRESH.clusterName)!;
  const binding = {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name: RETIRE_ROLE.name, namespace: FRESH.fluxNamespace },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: RETIRE_ROLE.name },
    subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: FRESH.serviceConnectionObjectId }],
  };
  cluster.putObject(binding, 'test');
  return () => {
    cluster.store.delete(
      cluster.store.byKind('rbac.authorization.k8s.io', 'RoleBinding')!,
      FRESH.fluxNamespace,
      RETIRE_ROLE.name,
    );
  };
}

/** Swaps the azure and devops sections of the shared cloud for a changed copy of the converged ones. */
function load(mutate?: (s: CloudState) => void): void {
  const s = convergedWith(mutate);
  cloud.ctx.state.azure = s.azure;
  cloud.ctx.state.devops = s.devops;
  cloud.ctx.faults.clear();
}

/** A cloud of its own for one case; stopped by the caller. */
async function ownCloud(state: CloudState, afterBoot?: (c: Cloud) => void): Promise<Cloud> {
  const c = await startCloud({ timeScale: E2E_TIME_SCALE, state: toPlaceholders(state, cloud.ctx.urls) });
  try {
    await boot(c);
    afterBoot?.(c);
  } catch (err) {
    await c.stop();
    throw err;
  }
  return c;
}

async function mainSha(c: Cloud): Promise<string> {
  const token = (JSON.parse(c.env.ENDPOINT_AUTH_SYSTEMVSSCONNECTION!) as { parameters: { AccessToken: string } })
    .parameters.AccessToken;
  const url = `${c.env.SYSTEM_COLLECTIONURI!.replace(/\/+$/, '')}/${FRESH.project}/_apis/git/repositories/${FRESH.repository}/refs?filter=heads/main&api-version=7.1`;
  const r = await httpsRequest(c.ctx.ca, url, {
    headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
  });
  assert.equal(r.status, 200, r.body.toString('utf8'));
  return r.json<{ value: { name: string; objectId: string }[] }>().value.find((x) => x.name === 'refs/heads/main')!
    .objectId;
}

interface Check {
  id: string;
  title: string;
  status: string;
  evidence?: string;
  cause?: string;
  fix?: string;
}
interface Outcome {
  run: TaskRun;
  checks: Check[];
  summary: string;
  journalMark: number;
}

async function verify(
  inputs: Record<string, string> = {},
  on: Cloud = cloud,
  env: Record<string, string> = {},
): Promise<Outcome> {
  const mark = on.ctx.journal.mark();
  const run = await runBundledTask({
    taskDir: TASK_DIR,
    inputs: {
      mode: 'apply',
      azureSubscription: on.serviceConnections[FRESH.serviceConnectionName]!,
      resourceGroup: FRESH.resourceGroup,
      clusterName: FRESH.clusterName,
      timeoutSeconds: '60',
      ...inputs,
    },
    env: { ...on.env, ...env },
    tempDir,
    timeoutMs: 180_000,
  });
  if (process.env.E2E_SHOW) console.log(`${run.log}\n=> ${run.result}: ${run.message}\n`);
  const attachment = run.attachments.find((a) => a.type === 'fluxoidc-report');
  const report = attachment?.content ? (JSON.parse(attachment.content) as { checks: Check[] }) : { checks: [] };
  return { run, checks: report.checks, summary: run.summaries[0]?.content ?? '', journalMark: mark };
}

function why(o: Outcome): string {
  return `\n--- result ${o.run.result}: ${o.run.message}\n--- failedChecks ${o.run.outputs.failedChecks}\n--- log\n${o.run.log}`;
}

const identityOf = (s: CloudState) =>
  s.azure.subscriptions[0]!.resourceGroups.find((g) => g.name === FRESH.resourceGroup)!.identities.find(
    (i) => i.name === FRESH.identityName,
  )!;
const clusterOf = (s: CloudState) =>
  s.azure.subscriptions[0]!.resourceGroups.find((g) => g.name === FRESH.resourceGroup)!.clusters.find(
    (c) => c.name === FRESH.clusterName,
  )!;
const ficOf = (s: CloudState, sa: string) =>
  identityOf(s).federatedIdentityCredentials.find((f) => f.subject.endsWith(`:${sa}`))!;
const principalOf = (s: CloudState) => s.devops.principals.find((p) => p.originId === identityOf(s).principalId)!;
const teamOf = (s: CloudState) => s.devops.groups.find((g) => g.kind === 'team' && g.displayName === FRESH.teamName)!;
const teamAceOf = (s: CloudState) =>
  s.devops.acls
    .find(
      (a) =>
        a.namespaceId === GIT_SECURITY_NAMESPACE &&
        a.token.toLowerCase() === `repov2/${FRESH.projectId}/${FRESH.repositoryId}`,
    )!
    .aces.find((a) => a.descriptor.toLowerCase().endsWith(teamOf(s).sid.toLowerCase()))!;

// ------------------------------------------------------------------------------------------ tests

interface Mistake {
  name: string;
  /** Azure / Azure DevOps state change on the shared cloud. */
  mutate?: (s: CloudState) => void;
  /** A cloud of its own: files committed to the repository, state changes, a step after the boot. */
  own?: { files?: Record<string, string>; mutate?: (s: CloudState) => void; afterBoot?: (c: Cloud) => void };
  /** Check ids that must fail, each with its cause pattern. */
  fails: Record<string, RegExp>;
}

const OTHER_CLIENT = '11111111-2222-4333-8444-555555555555';

/** Azure and Azure DevOps mistakes: the cluster side is right, the chain breaks outside it. */
const serviceMistakes: Mistake[] = [
  {
    name: 'federated credential subject typo',
    mutate: (s) => {
      ficOf(s, 'source-controller').subject = 'system:serviceaccount:flux-system:source-controler';
    },
    fails: {
      'azure.federated-credential:source-controller':
        /subject mismatch: credential '[^']+' has subject 'system:serviceaccount:flux-system:source-controler'/,
      'token.proof:source-controller':
        /no federated credential has subject 'system:serviceaccount:flux-system:source-controller'/,
    },
  },
  {
    name: 'issuer without the trailing slash',
    mutate: (s) => {
      for (const f of identityOf(s).federatedIdentityCredentials) f.issuer = f.issuer.replace(/\/+$/, '');
    },
    fails: {
      'azure.federated-credential:source-controller': /lacks the trailing slash/,
      'token.proof:source-controller': /lacks the trailing slash/,
    },
  },
  {
    name: 'identity not in the organization',
    mutate: (s) => {
      const id = principalOf(s).id;
      s.devops.principals = s.devops.principals.filter((p) => p.id !== id);
      for (const g of s.devops.groups) g.members = g.members.filter((m) => m !== id);
    },
    fails: {
      'devops.identity-in-org': /never added to the organization/,
      'token.proof:source-controller': /not a member of the Azure DevOps organization|no access to the organization/,
    },
  },
  {
    name: 'Stakeholder licence',
    mutate: (s) => {
      principalOf(s).license = 'stakeholder';
    },
    fails: {
      'devops.licence': /Stakeholder does not include Azure Repos/,
      'token.proof:source-controller': /Stakeholder licence|no access to the organization/,
    },
  },
  {
    name: 'missing Contribute for image automation',
    mutate: (s) => {
      teamAceOf(s).allow = 2;
    },
    fails: {
      'devops.contribute': /needs Contribute.*TF401027/,
      'token.contribute:image-automation-controller': /lacks Contribute \(TF401027\)/,
    },
  },
];

/** Mistakes in the repository or the cluster: each boots a cluster of its own from the wrong state. */
const clusterMistakes: Mistake[] = [
  {
    name: 'label only on the Deployment metadata',
    own: {
      files: {
        [KUSTOMIZATION]: CONVERGED_KUSTOMIZATION.replace(
          /spec:\n {6}template:\n {8}metadata:\n {10}labels:\n {12}azure\.workload\.identity\/use: "true"\n(?= {2}target:\n {4}kind: Deployment\n {4}name: source-controller)/,
          '  labels:\n        azure.workload.identity/use: "true"\n',
        ),
      },
    },
    fails: {
      'cluster.pod-template:source-controller': /only on the Deployment's metadata, not on its pod template/,
      'cluster.pods:source-controller': /not mutated by the workload identity webhook/,
      'reconcile.git-repository': /pod template.*\[missing-env\]/,
    },
  },
  {
    name: 'secretRef kept on the GitRepository',
    own: {
      files: {
        [KUSTOMIZATION]: CONVERGED_KUSTOMIZATION.replace(/\n {4}- op: remove\n {6}path: \/spec\/secretRef/, ''),
      },
      // The bootstrap credential was a PAT (`flux bootstrap git --token-auth`): the kept secret is basic auth.
      afterBoot: (c) => {
        const b64 = (v: string) => Buffer.from(v).toString('base64');
        kubeRuntime(c.ctx)
          .cluster(FRESH.clusterName)!
          .putObject(
            {
              apiVersion: 'v1',
              kind: 'Secret',
              metadata: { name: 'flux-system', namespace: FRESH.fluxNamespace },
              type: 'Opaque',
              data: { username: b64('git'), password: b64('emulated-bootstrap-pat') },
            },
            'flux',
          );
      },
    },
    fails: {
      // With the README's least-privilege rights Verify may not read Secrets: it cannot tell a PAT from an SSH key.
      'cluster.git-repository':
        /spec\.secretRef \(flux-system\) is still set.*basic auth and bearer token cannot be set at the same time/,
      'reconcile.git-repository': /still has spec\.secretRef/,
    },
  },
  {
    name: 'Flux 2.3',
    own: {
      files: { [COMPONENTS]: gotkComponentsYaml({ version: '2.3.0', components: FRESH_COMPONENTS }) },
      mutate: (s) => {
        s.kube.clusters[FRESH.clusterName]!.bootstrap!.version = '2.3.0';
      },
    },
    fails: { 'cluster.flux-version': /source-controller 1\.3\.\d+ has no GitRepository spec\.provider/ },
  },
  {
    name: 'pods not restarted after workload identity was enabled',
    own: {
      mutate: (s) => {
        clusterOf(s).workloadIdentity = false;
      },
      // Someone enables workload identity afterwards (az aks update), and nobody restarts Flux.
      afterBoot: (c) => {
        clusterOf(c.ctx.state).workloadIdentity = true;
        c.ctx.kube.clusterUpdated(kubeRuntime(c.ctx).cluster(FRESH.clusterName)!.state.resourceId);
      },
    },
    fails: {
      'cluster.pods:source-controller': /pods not restarted/,
      'reconcile.git-repository': /\[missing-env\]/,
    },
  },
  {
    name: 'wrong clientId in the ServiceAccount annotation',
    own: {
      files: {
        [KUSTOMIZATION]: CONVERGED_KUSTOMIZATION.replaceAll(
          /azure\.workload\.identity\/client-id: \S+/g,
          `azure.workload.identity/client-id: ${OTHER_CLIENT}`,
        ),
      },
    },
    fails: {
      'cluster.service-account:source-controller': new RegExp(`wrong client id: the annotation names ${OTHER_CLIENT}`),
      'reconcile.git-repository': /AADSTS/,
    },
  },
];

/**
 * No fix proposes changing a resource that another passed check shows correct: a credential a
 * passed credential check names, the licence, Read or Contribute when those checks passed, the
 * organization membership, the GitRepository fields when its check passed.
 */
function assertNoFixUndoesAPassedCheck(o: Outcome): void {
  const passed = (id: string) => o.checks.some((c) => c.id === id && c.status === 'pass');
  const forbidden: [string, RegExp][] = [];
  for (const c of o.checks.filter((x) => x.status === 'pass' && x.id.startsWith('azure.federated-credential:'))) {
    const name = /credential (\S+)/.exec(c.evidence ?? '')?.[1];
    if (name) forbidden.push([`${c.id} passed`, new RegExp(`federated-credential (update|delete) --name ${name}\\b`)]);
  }
  if (passed('devops.licence')) forbidden.push(['devops.licence passed', /Change access level/]);
  if (passed('devops.read')) forbidden.push(['devops.read passed', /allow Read\b/]);
  if (passed('devops.contribute')) forbidden.push(['devops.contribute passed', /allow Contribute\b/]);
  if (passed('devops.identity-in-org'))
    forbidden.push(['devops.identity-in-org passed', /Add users > the managed identity/]);
  if (passed('cluster.git-repository'))
    forbidden.push(['cluster.git-repository passed', /set spec\.url|remove spec\.secretRef|set spec\.provider/]);
  for (const c of o.checks.filter((x) => x.status === 'fail' || x.status === 'warn'))
    for (const [because, re] of forbidden)
      assert.doesNotMatch(c.fix ?? '', re, `${c.id} proposes a change although ${because}${why(o)}`);
}

function assertFails(o: Outcome, m: Mistake): void {
  assertNoFixUndoesAPassedCheck(o);
  assert.equal(o.run.result, 'Failed', why(o));
  assert.equal(o.run.outputs.verified, 'false');
  const failed = (o.run.outputs.failedChecks ?? '').split(',');
  for (const [id, cause] of Object.entries(m.fails)) {
    const c = o.checks.find((x) => x.id === id);
    assert.ok(c, `check ${id} is reported${why(o)}`);
    assert.equal(c.status, 'fail', `${id}: ${JSON.stringify(c)}${why(o)}`);
    assert.ok(failed.includes(id), `${id} is in failedChecks`);
    assert.match(c.cause ?? '', cause, `${id} names the cause${why(o)}`);
    assert.ok(c.fix, `${id} says how to fix it`);
  }
  assert.match(o.summary, /How to fix/);
}

describe('FluxOidcVerify on the converged setup', () => {
  test('passes every check, proves the token chain and reports the artifact revision', async () => {
    load();
    const o = await verify();
    assert.equal(o.run.result, 'Succeeded', why(o));
    assert.equal(o.run.outputs.verified, 'true');
    assert.equal(o.run.outputs.failedChecks, '');
    const sha = await mainSha(cloud);
    const git = o.checks.find((c) => c.id === 'reconcile.git-repository')!;
    assert.equal(git.status, 'pass');
    assert.match(git.evidence!, new RegExp(`artifact revision: main@sha1:${sha}`));
    assert.match(o.checks.find((c) => c.id === 'reconcile.kustomization')!.evidence!, new RegExp(`main@sha1:${sha}`));
    const proof = o.checks.find((c) => c.id === 'token.proof:source-controller')!;
    assert.equal(proof.status, 'pass');
    assert.match(proof.evidence!, /sub system:serviceaccount:flux-system:source-controller/);
    assert.match(proof.evidence!, new RegExp(`refs/heads/main at ${sha.slice(0, 12)}`));
    assert.equal(o.checks.find((c) => c.id === 'token.contribute:image-automation-controller')?.status, 'pass');
    // Every check is in the report with evidence, and in the summary.
    for (const c of o.checks.filter((x) => x.status !== 'skip')) {
      assert.ok(c.evidence, `${c.id} has evidence`);
      assert.ok(o.summary.includes(c.title), `${c.title} is in the summary`);
    }
    // Tokens are masked and never stored: no JWT in the report, the summary or the log.
    assert.ok(o.run.secrets.length > 0);
    for (const text of [JSON.stringify(o.checks), o.summary, o.run.log])
      assert.doesNotMatch(text, /eyJ[\w-]{10,}\.eyJ/);
    // reportPath is the run report: the file attached as fluxoidc-report, with every check and the outputs.
    const attached = o.run.attachments.find((a) => a.type === 'fluxoidc-report')!;
    assert.equal(o.run.outputs.reportPath, attached.path);
    const file = JSON.parse(fs.readFileSync(o.run.outputs.reportPath!, 'utf8')) as {
      result: string;
      outputs: Record<string, string>;
      checks: unknown[];
    };
    assert.equal(file.result, 'Succeeded');
    assert.equal(file.outputs.verified, 'true');
    assert.equal(file.checks.length, o.checks.length);
  });

  test('plan mode requests no reconcile and deletes nothing, and says what apply would do', async () => {
    load();
    const undo = grantRetireRights(cloud);
    const o = await verify({ mode: 'plan', retireStaticCredentials: 'true' }).finally(undo);
    assert.equal(o.run.result, 'Succeeded', why(o));
    const writes = cloud.ctx.journal
      .writes({ since: o.journalMark, service: 'kube' })
      .filter((e) => !/\/token$/.test(e.path));
    assert.deepEqual(
      writes.map((e) => `${e.method} ${e.path}`),
      [],
      'no write to the cluster besides TokenRequests',
    );
    assert.match(
      o.checks.find((c) => c.id === 'reconcile.git-repository')!.evidence!,
      /plan: apply would request a reconcile/,
    );
    assert.match(
      o.checks.find((c) => c.id === 'cleanup.retire-static-credentials')!.evidence!,
      /plan: apply would delete secret flux-system\/flux-system/,
    );
  });
});

describe('FluxOidcVerify options', () => {
  test('failOn: warning fails the run on a warning that failOn: error only reports', async () => {
    // The team also holds Force push and Manage permissions: more than Flux needs.
    load((s) => {
      teamAceOf(s).allow |= 8 | 8192;
    });
    const lenient = await verify({ checks: 'devops', reconcile: 'false' });
    assert.equal(lenient.run.result, 'SucceededWithIssues', why(lenient));
    assert.equal(lenient.run.outputs.verified, 'true');
    const excess = lenient.checks.find((c) => c.id === 'devops.excess-rights')!;
    assert.equal(excess.status, 'warn');
    assert.match(excess.fix!, /Force push, Manage permissions/);
    const strict = await verify({ checks: 'devops', reconcile: 'false', failOn: 'warning' });
    assert.equal(strict.run.result, 'Failed', why(strict));
    assert.equal(strict.run.outputs.verified, 'false');
    assert.equal(strict.run.outputs.failedChecks, 'devops.excess-rights');
    assert.match(strict.run.message, /warned and failOn is warning/);
  });

  test('a Kubernetes service connection (Kubeconfig) is used instead of the AKS credentials; a read-only one cannot mint tokens and says so', async () => {
    load();
    const id = 'b5d0c7a2-3e4f-4a1b-9c8d-7e6f5a4b3c21';
    const kubeconfig = kubeRuntime(cloud.ctx).tokenKubeconfig(FRESH.clusterName, SCENARIO_TOKENS.reader);
    const mark = cloud.ctx.journal.mark();
    const o = await verify({ kubernetesServiceConnection: id, checks: 'cluster,token', reconcile: 'false' }, cloud, {
      [`ENDPOINT_URL_${id}`]: kubeconfig.match(/server: (\S+)/)![1]!,
      [`ENDPOINT_AUTH_${id}`]: JSON.stringify({ scheme: 'Kubeconfig', parameters: { kubeconfig } }),
      [`ENDPOINT_AUTH_SCHEME_${id}`]: 'Kubeconfig',
      [`ENDPOINT_AUTH_PARAMETER_${id}_KUBECONFIG`]: kubeconfig,
      [`ENDPOINT_DATA_${id}_AUTHORIZATIONTYPE`]: 'Kubeconfig',
    });
    assert.match(o.run.log, /Cluster access: .* with kubeconfig bearer token \(Kubernetes service connection/);
    assert.equal(
      cloud.ctx.journal.entries({ since: mark, service: 'arm', path: /listCluster/ }).length,
      0,
      'no AKS credentials were read',
    );
    assert.equal(o.checks.find((c) => c.id === 'cluster.git-repository')?.status, 'pass', why(o));
    const proof = o.checks.find((c) => c.id === 'token.proof:source-controller')!;
    assert.equal(proof.status, 'fail');
    assert.match(proof.cause!, /RBAC does not let reader create serviceaccounts\/token in namespace flux-system/);
    assert.match(
      proof.fix!,
      /kubectl create rolebinding flux-oidc-verify -n flux-system --clusterrole flux-oidc-verify --user reader/,
    );
    assert.ok(!o.run.log.includes(SCENARIO_TOKENS.reader), "the connection's token is masked");
  });
});

describe('FluxOidcVerify right after FluxOidcProvision', () => {
  test('waits out the propagation of new federated credentials instead of failing', async () => {
    load((s) => {
      // Emulated ms: the cloud's clock runs at 1/E2E_TIME_SCALE of real time, as the task's waits do.
      s.azure.tenant.ficPropagationDelayMs = 60_000;
      for (const f of identityOf(s).federatedIdentityCredentials) f.createdAt = cloud.ctx.clock.now();
    });
    // The propagation retry's budget is the run's timeout (at most 120 s): room for the backoff to
    // reach past the 60 s delay whatever the machine's load.
    const o = await verify({ checks: 'azure,token', reconcile: 'false', timeoutSeconds: '120' });
    assert.equal(o.checks.find((c) => c.id === 'token.proof:source-controller')?.status, 'pass', why(o));
    assert.match(
      o.run.log,
      /retrying the exchange of the source-controller token \(federated credential not propagated yet\) after /,
    );
  });
});

describe('FluxOidcVerify names the cause of each classic mistake', () => {
  for (const m of serviceMistakes) {
    test(m.name, async () => {
      load(m.mutate);
      assertFails(await verify(), m);
    });
  }
  for (const m of clusterMistakes) {
    test(m.name, async () => {
      const own = await ownCloud(convergedWith(m.own?.mutate, m.own?.files), m.own?.afterBoot);
      try {
        assertFails(await verify({ timeoutSeconds: '30' }, own), m);
      } finally {
        await own.stop();
      }
    });
  }
});

describe('retireStaticCredentials', () => {
  test('keeps the secret while a check fails', async () => {
    load((s) => {
      principalOf(s).license = 'stakeholder';
    });
    const undo = grantRetireRights(cloud);
    const o = await verify({ retireStaticCredentials: 'true' }).finally(undo);
    assert.equal(o.run.result, 'Failed');
    const c = o.checks.find((x) => x.id === 'cleanup.retire-static-credentials')!;
    assert.equal(c.status, 'skip');
    assert.match(c.evidence!, /not retired: .*devops\.licence/);
    assert.ok(
      cloud.ctx.state.kube.clusters[FRESH.clusterName]!.objects.some(
        (x) => x.kind === 'Secret' && x.metadata.name === 'flux-system',
      ),
    );
  });

  test('deletes the unused bootstrap secret once every check passed', async () => {
    load();
    const secret = () =>
      cloud.ctx.state.kube.clusters[FRESH.clusterName]!.objects.find(
        (x) => x.kind === 'Secret' && x.metadata.name === 'flux-system' && !x.metadata.deletionTimestamp,
      );
    assert.ok(secret(), 'the bootstrap secret exists before');
    const undo = grantRetireRights(cloud);
    const o = await verify({ retireStaticCredentials: 'true' }).finally(undo);
    assert.equal(o.run.result, 'Succeeded', why(o));
    const c = o.checks.find((x) => x.id === 'cleanup.retire-static-credentials')!;
    assert.equal(c.status, 'pass', why(o));
    assert.match(c.evidence!, /deleted secret flux-system\/flux-system/);
    assert.equal(secret(), undefined, 'the secret is gone');
  });
});
