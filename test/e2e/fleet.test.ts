/**
 * Fleets end to end: the bundled tasks run the way the agent runs them (several at once, as the
 * parallel jobs of one pipeline), against the emulated `fleet` scenario (12 clusters, 3
 * environments, 2 subscriptions; FLEET-CONTRACT.md). Each case starts from the scenario's state
 * and is judged on what the user sees (result, message, outputs, report) and on the cloud's state
 * and call journal.
 *
 * Needs the build (npm run build) and the test CA (node scripts/test.mjs sets it up).
 */
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runBundledTask, type TaskRun } from '../agent/agent';
import { checkoutSelf } from '../agent/checkout';
import { startCloud, type Cloud } from '../emulators/cloud';
import type { IdentityState } from '../emulators/azure/model';
import type { JournalEntry } from '../emulators/core/journal';
import { FLEET, fleetIdentity, type FleetCluster } from '../emulators/scenarios/fleet';
import { TOKEN_EXCHANGE_AUDIENCE } from '../emulators/names';
import type { CloudState } from '../emulators/state';

const root = path.resolve(import.meta.dirname, '..', '..');
const taskDir = (name: string) => path.join(root, 'dist', 'tasks', name);

let cloud: Cloud;
let initial: CloudState;
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'fleet-e2e-'));

before(async () => {
  for (const t of ['FluxOidcProvision', 'FluxManifestPatch', 'FluxOidcVerify'])
    assert.ok(fs.existsSync(path.join(taskDir(t), 'main.js')), `${t}/main.js is missing: run npm run build first`);
  // Real time, unlike the other e2e clouds: the shared-identity test needs real processes' writes to
  // overlap inside the 1.5 s a credential write holds its identity, which at a tenth of the time
  // would depend on how fast the machine starts them.
  cloud = await startCloud({ scenario: 'fleet' });
  initial = structuredClone(cloud.ctx.state);
});

after(async () => {
  await cloud?.stop();
  fs.rmSync(work, { recursive: true, force: true });
});

/** Puts the live cloud back in the scenario's state (a copy), changed by `mutate`. */
function load(mutate?: (s: CloudState) => void): void {
  const s = structuredClone(initial);
  mutate?.(s);
  cloud.ctx.state.azure = s.azure;
  cloud.ctx.state.devops = s.devops;
  cloud.ctx.state.kube = s.kube;
  cloud.ctx.faults.clear();
}

const byName = (name: string): FleetCluster => FLEET.find((c) => c.name === name)!;

function resourceGroup(s: CloudState, name: string) {
  for (const sub of s.azure.subscriptions) {
    const rg = sub.resourceGroups.find((r) => r.name === name);
    if (rg) return rg;
  }
  throw new Error(`no resource group ${name}`);
}

async function run(task: string, inputs: Record<string, string>, cwd?: string): Promise<TaskRun> {
  const r = await runBundledTask({
    taskDir: taskDir(task),
    inputs,
    env: cloud.env,
    timeoutMs: 300_000,
    ...(cwd ? { cwd } : {}),
  });
  if (process.env.E2E_SHOW) console.log(`${r.log}\n=> ${r.result}: ${r.message}\n`);
  return r;
}

function why(r: TaskRun): string {
  return `\n--- ${r.result}: ${r.message}\n${r.log}`;
}

/** Token requests change nothing in the cloud. */
const isTokenCall = (e: JournalEntry) => /\/oauth2\/v2\.0\/token$|\/oidctoken$/i.test(e.path);

function provisionInputs(c: FleetCluster, extra: Record<string, string> = {}): Record<string, string> {
  return {
    mode: 'apply',
    azureSubscription: cloud.serviceConnections[c.connection]!,
    resourceGroup: c.resourceGroup,
    clusterName: c.name,
    ...extra,
  };
}

/** An identity holding the credentials of `clusters` fake clusters (2 each), plus `extra` of one more. */
function sharedIdentity(name: string, clusters: number, extra = 0): IdentityState {
  const fic = (cluster: number, sa: string) => ({
    name: `flux-${sa}-aks-old-${cluster}`,
    issuer: `${cloud.ctx.urls['aks-issuer']}/72f988bf-86f1-41af-91ab-2d7cd011db47/00000000-0000-4000-8000-${String(cluster).padStart(12, '0')}/`,
    subject: `system:serviceaccount:flux-system:${sa}`,
    audiences: [TOKEN_EXCHANGE_AUDIENCE],
  });
  const fics = [];
  for (let i = 0; i < clusters; i++) fics.push(fic(i, 'source-controller'), fic(i, 'image-automation-controller'));
  for (let i = 0; i < extra; i++) fics.push(fic(clusters, 'source-controller'));
  return {
    name,
    location: 'westeurope',
    clientId: '3c1d5e7f-9a0b-4c2d-8e4f-6a8b0c2d4e60',
    principalId: '4d2e6f80-ab1c-4d3e-9f50-7b9c1d3e5f71',
    federatedIdentityCredentials: fics,
  };
}

describe('FluxOidcProvision on a fleet', () => {
  test('a shared identity without room: fails before any write, saying how many clusters still fit', async () => {
    // 9 clusters with 2 credentials each and a 10th with one: 19 of 20.
    load((s) => resourceGroup(s, 'rg-fleet-dev').identities.push(sharedIdentity('flux-dev', 9, 1)));
    const mark = cloud.ctx.journal.mark();
    const c = byName('aks-dev-eus');
    const r = await run('FluxOidcProvision', provisionInputs(c, { identityScope: 'shared', identityName: 'flux-dev' }));
    assert.equal(r.result, 'Failed', why(r));
    assert.match(
      r.log,
      /The managed identity 'flux-dev' has 19 federated credentials \(used by 10 clusters\) and the cluster 'aks-dev-eus' needs 2 more .*at most 20 \(1 free\)\. It has room for 0 more clusters with 2 Flux service accounts: 10 clusters per identity at most\. Nothing was changed\./,
    );
    assert.match(r.log, /identityScope: cluster/);
    assert.match(r.log, /split the environment: set identityName to another identity \(e\.g\. flux-dev-2\)/);
    const writes = cloud.ctx.journal.writes({ since: mark }).filter((e) => !isTokenCall(e));
    assert.deepEqual(
      writes.map((e) => `${e.service} ${e.method} ${e.path}`),
      [],
      'no write at all: not the cluster, not the identity, not Azure DevOps',
    );
    assert.equal(
      resourceGroup(cloud.ctx.state, 'rg-fleet-dev').identities.find((i) => i.name === 'flux-dev')!
        .federatedIdentityCredentials.length,
      19,
    );
  });

  test('parallel jobs on one shared identity: every credential lands once (409s retried, no duplicates)', async () => {
    // Each credential write holds the identity for 1.5 s, so the parallel jobs' writes overlap.
    load((s) => {
      s.azure.arm = { ...s.azure.arm, ficWriteMs: 1500 };
    });
    const mark = cloud.ctx.journal.mark();
    const clusters = ['aks-dev-eus', 'aks-dev-wus', 'aks-staging-weu', 'aks-staging-neu'].map(byName);
    const runs = await Promise.all(
      clusters.map((c) =>
        run(
          'FluxOidcProvision',
          provisionInputs(c, {
            identityScope: 'shared',
            identityName: 'flux-nonprod',
            identityResourceGroup: 'rg-fleet-dev',
          }),
        ),
      ),
    );
    for (const r of runs) assert.equal(r.result, 'Succeeded', why(r));
    const identity = resourceGroup(cloud.ctx.state, 'rg-fleet-dev').identities.find((i) => i.name === 'flux-nonprod')!;
    const fics = identity.federatedIdentityCredentials;
    assert.equal(fics.length, 8, fics.map((f) => f.name).join(', '));
    assert.equal(new Set(fics.map((f) => f.name)).size, 8, 'names unique');
    assert.equal(new Set(fics.map((f) => `${f.issuer} ${f.subject}`)).size, 8, 'no duplicate issuer+subject');
    for (const c of clusters) {
      const azure = resourceGroup(cloud.ctx.state, c.resourceGroup).clusters.find((x) => x.name === c.name)!;
      assert.ok(azure.oidcIssuer.enabled && azure.workloadIdentity, `${c.name}: OIDC issuer and workload identity on`);
      for (const sa of ['source-controller', 'image-automation-controller']) {
        const f = fics.find((x) => x.name === `flux-${sa}-${c.name}`);
        assert.ok(f, `${c.name}: ${sa} credential`);
        assert.equal(f.subject, `system:serviceaccount:flux-system:${sa}`);
      }
    }
    // Every run reports the same client id: one identity.
    const clientIds = new Set(runs.map((r) => r.outputs.clientId ?? r.variables.clientId?.value));
    assert.deepEqual([...clientIds], [identity.clientId]);
    const conflicts = cloud.ctx.journal
      .entries({ since: mark })
      .filter((e) => e.status === 409 && /federatedIdentityCredentials/i.test(e.path));
    assert.ok(conflicts.length > 0, 'the writes did overlap (409 answered and retried)');
    assert.ok(
      runs.some((r) => /retrying the write of the federated credential '[^']+' after 409/.test(r.log)),
      'the log says what was retried',
    );
  });
});

// ------------------------------------------------------------------------------ FluxManifestPatch

/** A fresh `checkout: self` of main of the fleet repository. */
async function checkout(): Promise<string> {
  const dir = fs.mkdtempSync(path.join(work, 'checkout-'));
  const token = (JSON.parse(cloud.env.ENDPOINT_AUTH_SYSTEMVSSCONNECTION!) as { parameters: { AccessToken: string } })
    .parameters.AccessToken;
  const r = await checkoutSelf({
    repositoryUrl: cloud.env.BUILD_REPOSITORY_URI!,
    sourceBranch: 'refs/heads/main',
    accessToken: token,
    dir,
    caFile: cloud.env.NODE_EXTRA_CA_CERTS!,
    persistCredentials: false,
  });
  assert.ok(r.ok, `checkout: ${r.error}\n${r.log}`);
  return dir;
}

function git(dir: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd: dir, encoding: 'utf8' }).trim();
}

const CLIENT = (i: number) => `0f1e2d3c-4b5a-4697-8877-${String(665544332200 + i)}`;

describe('FluxManifestPatch on a fleet', () => {
  test('one job, clusters/*/flux-system: a Flux 2.3 folder fails the run before any write, naming it', async () => {
    load();
    const dir = await checkout();
    const mark = cloud.ctx.journal.mark();
    const r = await run(
      'FluxManifestPatch',
      {
        mode: 'apply',
        workingDirectory: dir,
        fluxSystemPath: 'clusters/*/flux-system',
        // The clusters already on OIDC keep their identities; the others share one.
        clientIds: ['aks-dev-weu', 'aks-dev-neu'].map((c) => `${c}=${fleetIdentity(c).clientId}`).join('\n'),
        clientId: CLIENT(0),
        commitMode: 'push',
      },
      dir,
    );
    assert.equal(r.result, 'Failed', why(r));
    assert.match(r.message, /1 of 12 flux-system folders cannot be patched; nothing was changed/);
    assert.match(
      r.message,
      /clusters\/aks-staging-eus\/flux-system\/gotk-components\.yaml is Flux 2\.3\.0; 2\.4\.0 or later is required/,
    );
    assert.equal(git(dir, 'status', '--porcelain'), '', 'the checkout is untouched');
    assert.equal(cloud.ctx.journal.writes({ since: mark }).filter((e) => /pushes/.test(e.path)).length, 0);
  });

  test('one job, an identity per cluster (clientIds): one commit for all folders', async () => {
    load();
    const dir = await checkout();
    const before = git(dir, 'rev-parse', 'HEAD');
    const prod = FLEET.filter((c) => c.env === 'prod');
    const r = await run(
      'FluxManifestPatch',
      {
        mode: 'apply',
        workingDirectory: dir,
        fluxSystemPath: 'clusters/aks-prod-*/flux-system',
        clientIds: prod.map((c, i) => `${c.name}=${CLIENT(i + 1)}`).join('\n'),
        commitMode: 'push',
      },
      dir,
    );
    assert.equal(r.result, 'Succeeded', why(r));
    const clone = await checkout();
    assert.equal(git(clone, 'rev-parse', 'HEAD'), r.outputs.commitId);
    assert.equal(git(clone, 'rev-parse', 'HEAD^'), before, 'one commit on top of the tip');
    assert.deepEqual(
      git(clone, 'show', '--name-only', '--format=', 'HEAD').split('\n').sort(),
      prod.map((c) => `clusters/${c.name}/flux-system/kustomization.yaml`).sort(),
    );
    prod.forEach((c, i) => {
      const text = fs.readFileSync(path.join(clone, `clusters/${c.name}/flux-system/kustomization.yaml`), 'utf8');
      assert.match(text, new RegExp(`client-id: ${CLIENT(i + 1)}`), `${c.name} gets its own identity`);
    });
    assert.match(git(clone, 'log', '-1', '--format=%s'), /\(4 clusters\)/);
  });

  test('per-cluster jobs pushing to main at the same time: every push lands, nothing lost or doubled', async () => {
    load();
    const clusters = FLEET.filter((c) => c.state === 'fresh').slice(0, 6);
    // Every job checks out the same tip first, as parallel jobs of one run do.
    const dirs = await Promise.all(clusters.map(() => checkout()));
    const base = git(dirs[0]!, 'rev-parse', 'HEAD');
    const runs = await Promise.all(
      clusters.map((c, i) =>
        run(
          'FluxManifestPatch',
          {
            mode: 'apply',
            workingDirectory: dirs[i]!,
            fluxSystemPath: `clusters/${c.name}/flux-system`,
            clientId: CLIENT(i + 10),
            commitMode: 'push',
          },
          dirs[i],
        ),
      ),
    );
    for (const r of runs) assert.equal(r.result, 'Succeeded', why(r));
    const clone = await checkout();
    const commits = git(clone, 'rev-list', `${base}..HEAD`).split('\n');
    assert.equal(commits.length, clusters.length, 'one commit per job');
    assert.deepEqual(new Set(commits), new Set(runs.map((r) => r.outputs.commitId)), "each job's commit is on main");
    for (const commit of commits) {
      assert.equal(git(clone, 'show', '--name-only', '--format=', commit).split('\n').length, 1, 'one file each');
    }
    clusters.forEach((c, i) => {
      const text = fs.readFileSync(path.join(clone, `clusters/${c.name}/flux-system/kustomization.yaml`), 'utf8');
      // One client-id patch for the service accounts: applied once, not once per attempt.
      assert.equal(text.match(/azure\.workload\.identity\/client-id:/g)?.length, 1, `${c.name}: patched once`);
      assert.match(text, new RegExp(`client-id: ${CLIENT(i + 10)}`));
    });
    assert.ok(
      runs.some((r) =>
        /retrying the push to refs\/heads\/main \(the branch moved: re-reading the tip and re-applying\) after 409 GitReferenceStaleException/.test(
          r.log,
        ),
      ),
      'the pushes did race (and were re-applied on the new tip)',
    );
  });
});

// ------------------------------------------------------------------------------ FluxOidcVerify

interface FleetReport {
  checks: { id: string; title: string; status: string }[];
  clusters?: {
    name: string;
    resourceGroup: string;
    verdict: string;
    checks: { id: string; status: string; cause?: string }[];
    resources?: { kind: string; name: string; action: string; status: string; changes: { field: string }[] }[];
  }[];
}

function reportOf(r: TaskRun): FleetReport {
  const a = r.attachments.find((x) => x.type === 'fluxoidc-report');
  assert.ok(a?.content, 'the run attaches its report');
  return JSON.parse(a.content) as FleetReport;
}

describe('FluxOidcVerify on a fleet', () => {
  test('a mixed fleet in one step: names the failing clusters (Flux 2.3, workload identity off), passes the healthy', async () => {
    load();
    const clusters = ['aks-dev-weu', 'aks-dev-neu', 'aks-staging-eus', 'aks-staging-wus'].map(byName);
    const r = await run('FluxOidcVerify', {
      azureSubscription: cloud.serviceConnections['azure-nonprod']!,
      clusters: clusters.map((c) => `${c.resourceGroup}/${c.name}`).join('\n'),
      maxParallel: '4',
      timeoutSeconds: '60',
    });
    assert.equal(r.result, 'Failed', why(r));
    assert.match(
      r.message,
      /^2 of 4 clusters failed verification: aks-staging-eus \(.*\), aks-staging-wus \(.*\)\. Verified: aks-dev-weu, aks-dev-neu\./,
    );
    assert.match(r.message, /aks-staging-eus \([^)]*Flux 2\.4 or later/);
    assert.match(r.message, /aks-staging-wus \([^)]*Workload identity enabled/);
    assert.equal(r.outputs.verified, 'false');
    assert.equal(r.outputs.failedClusters, 'aks-staging-eus,aks-staging-wus');
    assert.equal(r.outputs.verifiedClusters, 'aks-dev-weu,aks-dev-neu');
    assert.equal(r.outputs.verified_aks_dev_weu, 'true');
    assert.equal(r.outputs.verified_aks_staging_eus, 'false');
    assert.deepEqual(JSON.parse(r.outputs.clusterResults!), {
      'aks-dev-weu': 'pass',
      'aks-dev-neu': 'pass',
      'aks-staging-eus': 'fail',
      'aks-staging-wus': 'fail',
    });
    assert.match(r.outputs.failedChecks!, /aks-staging-eus\/cluster\.flux-version/);

    const report = reportOf(r);
    assert.deepEqual(
      report.clusters?.map((c) => `${c.name}:${c.verdict}`),
      ['aks-dev-weu:pass', 'aks-dev-neu:pass', 'aks-staging-eus:fail', 'aks-staging-wus:fail'],
    );
    const section = (name: string) => report.clusters!.find((c) => c.name === name)!;
    const version = section('aks-staging-eus').checks.find((c) => c.id === 'cluster.flux-version')!;
    assert.equal(version.status, 'fail');
    assert.match(version.cause ?? '', /source-controller 1\.3\.0 has no GitRepository spec\.provider/);
    const wi = section('aks-staging-wus')
      .checks.filter((c) => c.status === 'fail')
      .map((c) => c.id);
    assert.ok(
      wi.some((id) => /workload-identity/.test(id)),
      wi.join(', '),
    );
    assert.ok(!section('aks-staging-wus').checks.some((c) => /oidc-issuer/.test(c.id) && c.status === 'fail'));
    for (const healthy of ['aks-dev-weu', 'aks-dev-neu'])
      assert.ok(
        section(healthy).checks.some((c) => c.id.startsWith('token.') && c.status === 'pass'),
        `${healthy}: the token proof ran and passed`,
      );
    // The run's own checks: one per cluster, which the summary lists.
    assert.deepEqual(
      report.checks.map((c) => `${c.title}:${c.status}`),
      clusters.map((c) => `Cluster ${c.name}:${c.name.startsWith('aks-dev') ? 'pass' : 'fail'}`),
    );
    assert.match(r.summaries[0]?.content ?? '', /cluster aks-staging-eus \(resource group rg-fleet-staging\)/);
  });

  test('clusterPattern: every match in the resource groups, verified together', async () => {
    load();
    const mark = cloud.ctx.journal.mark();
    const r = await run('FluxOidcVerify', {
      azureSubscription: cloud.serviceConnections['azure-nonprod']!,
      clusterPattern: 'aks-dev-?eu',
      resourceGroups: 'rg-fleet-dev',
      maxParallel: '1',
      timeoutSeconds: '60',
    });
    assert.equal(r.result, 'Succeeded', why(r));
    assert.equal(r.outputs.verifiedClusters, 'aks-dev-neu,aks-dev-weu');
    assert.match(r.log, /Verifying 2 clusters, 1 at a time: aks-dev-neu, aks-dev-weu/);
    // What does not depend on the cluster is read once for the fleet: the organization's tenant,
    // the project, the repository and the team (the token proofs still read the repository each).
    const gets = (path: RegExp) => cloud.ctx.journal.entries({ since: mark, method: 'GET', path }).length;
    assert.equal(gets(/\/_apis\/projects$/), 1, 'the tenant probe');
    assert.equal(gets(/\/_apis\/projects\/platform$/), 1, 'the project');
    assert.equal(gets(/^\/contoso\/[0-9a-f-]{36}\/_apis\/git\/repositories\/fleet$/), 1, 'the repository');
    assert.equal(gets(/\/teams\/[^/]+$/), 1, 'the team');
    assert.equal(gets(/^\/contoso\/platform\/_apis\/git\/repositories\/fleet$/), 4, 'two token proofs per cluster');
    // Each cluster's section lists its reconcile requests, as a single-cluster run lists them as its resources.
    const report = reportOf(r);
    for (const name of ['aks-dev-neu', 'aks-dev-weu']) {
      const requested = (report.clusters!.find((c) => c.name === name)!.resources ?? [])
        .filter((x) => x.changes.some((ch) => ch.field === 'metadata.annotations["reconcile.fluxcd.io/requestedAt"]'))
        .map((x) => `${x.kind} ${x.name}: ${x.action} ${x.status}`);
      assert.deepEqual(
        requested,
        [
          'GitRepository flux-system/flux-system: update applied',
          'Kustomization flux-system/flux-system: update applied',
        ],
        `${name}: its reconcile requests`,
      );
      assert.match(
        r.summaries[0]?.content ?? '',
        new RegExp(`#### Resources of cluster ${name} \\(`),
        'and the summary',
      );
    }
  });
});
