/**
 * samples/drift.yml, the nightly drift check, run by the local pipeline runner against the emulated
 * cloud. The setup pipeline (samples/azure-pipelines.yml) converges a fresh cloud; the drift check
 * passes; then, one at a time, something is changed behind the pipelines' back (the team's ACL on
 * the repository, a federated credential, the flux-system patch on main): the drift check fails and
 * its reports name the broken link; the setup pipeline runs again (Provision and Patch in apply
 * mode) and the drift check passes again.
 *
 * Needs the build (npm run build) and the test CA (node scripts/test.mjs sets it up).
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Report } from '../../tasks/common/report/model';
import { runPipeline, type PipelineRun } from '../agent/pipeline';
import { E2E_TIME_SCALE, startCloud, type Cloud } from '../emulators/cloud';
import { kubeRuntime } from '../emulators/kube/index';
import { FRESH, GIT_SECURITY_NAMESPACE } from '../emulators/names';

const root = path.resolve(import.meta.dirname, '..', '..');
const TASKS_DIR = path.join(root, 'dist', 'tasks');
const SETUP = path.join(root, 'samples', 'azure-pipelines.yml');
const DRIFT = path.join(root, 'samples', 'drift.yml');

let cloud: Cloud;

async function run(file: string): Promise<{ run: PipelineRun; log: string }> {
  let log = '';
  const r = await runPipeline({ file, cloud, tasksDir: TASKS_DIR, print: (t) => void (log += t) });
  if (process.env.E2E_SHOW) console.log(log);
  return { run: r, log };
}

/** The reports the run's tasks attached (what the results tab shows). */
function reports(r: PipelineRun): Report[] {
  return r.steps.flatMap((s) =>
    (s.run?.attachments ?? [])
      .filter((a) => a.type === 'fluxoidc-report' && a.content)
      .map((a) => JSON.parse(a.content!) as Report),
  );
}

const step = (r: PipelineRun, name: string) => r.steps.find((s) => s.name === name || s.displayName === name)!;

async function expectNoDrift(): Promise<void> {
  const { run: r, log } = await run(DRIFT);
  assert.equal(r.result, 'Succeeded', log);
  assert.equal(step(r, 'verify').outputs['verify.verified'], 'true', log);
  assert.equal(step(r, 'patch').outputs['patch.changed'], 'false', log);
  assert.match(step(r, 'Drift verdict').log, /No drift: the chain is as the setup pipeline left it\./);
  const provision = reports(r).find((x) => x.task === 'FluxOidcProvision')!;
  assert.equal(provision.mode, 'plan');
  assert.deepEqual(
    provision.resources.filter((x) => x.action !== 'unchanged').map((x) => `${x.action} ${x.kind} ${x.name}`),
    [],
  );
}

async function expectDrift(): Promise<{ run: PipelineRun; log: string; failed: string; reports: Report[] }> {
  const { run: r, log } = await run(DRIFT);
  assert.equal(r.result, 'Failed', log);
  assert.equal(step(r, 'Drift verdict').result, 'Failed', log);
  return { run: r, log, failed: step(r, 'verify').outputs['verify.failedChecks'] ?? '', reports: reports(r) };
}

async function repair(): Promise<void> {
  const { run: r, log } = await run(SETUP);
  assert.equal(r.result, 'Succeeded', log);
}

function identity() {
  for (const sub of cloud.ctx.state.azure.subscriptions)
    for (const rg of sub.resourceGroups) {
      const id = rg.identities.find((i) => i.name === FRESH.identityName);
      if (id) return id;
    }
  throw new Error(`identity ${FRESH.identityName} not found`);
}

before(async () => {
  for (const t of ['FluxOidcProvision', 'FluxManifestPatch', 'FluxOidcVerify'])
    assert.ok(fs.existsSync(path.join(TASKS_DIR, t, 'main.js')), `${TASKS_DIR}/${t}/main.js: run npm run build first`);
  cloud = await startCloud({ timeScale: E2E_TIME_SCALE, scenario: 'fresh' });
  const rt = kubeRuntime(cloud.ctx);
  await rt.cluster(FRESH.clusterName)!.ensureBooted();
  await rt.settled();
  await repair();
});

after(async () => {
  await cloud?.stop();
});

describe('samples/drift.yml', () => {
  it('passes on the chain the setup pipeline left', async () => {
    await expectNoDrift();
  });

  it('fails when the team loses its rights on the repository, and passes after the setup pipeline ran again', async () => {
    const token = `repoV2/${FRESH.projectId}/${FRESH.repositoryId}`;
    const acl = cloud.ctx.state.devops.acls.find(
      (a) => a.namespaceId === GIT_SECURITY_NAMESPACE && a.token.toLowerCase() === token.toLowerCase(),
    );
    assert.ok(acl && acl.aces.some((a) => a.allow !== 0), 'the setup pipeline granted the team an ACE on the repo');
    // Someone "tidies up" the repository's security page: the team's Read and Contribute are gone.
    acl.aces = acl.aces.filter((a) => a.allow === 0);

    const d = await expectDrift();
    assert.match(d.failed, /devops\.read/, d.log);
    const verify = d.reports.find((x) => x.task === 'FluxOidcVerify')!;
    const read = verify.checks.find((c) => c.id === 'devops.read')!;
    assert.equal(read.status, 'fail');
    assert.ok(read.fix, 'the report says how to fix it');
    const provision = d.reports.find((x) => x.task === 'FluxOidcProvision')!;
    assert.deepEqual(
      provision.resources.filter((x) => x.action !== 'unchanged').map((x) => `${x.action} ${x.kind}`),
      ['create RepositoryPermission'],
      'Provision (plan) reports what apply would restore',
    );
    assert.match(step(d.run, 'Drift verdict').log, /Drift: FluxOidcVerify failed: .*devops\.read/);

    await repair();
    await expectNoDrift();
  });

  it('fails when a federated credential is changed, and passes after the setup pipeline ran again', async () => {
    const fic = identity().federatedIdentityCredentials.find((f) => f.subject.endsWith(':source-controller'));
    assert.ok(fic, 'the setup pipeline created the source-controller credential');
    // A typo "fixed" by hand in the portal.
    fic.subject = `system:serviceaccount:${FRESH.fluxNamespace}:source-controler`;

    const d = await expectDrift();
    assert.match(d.failed, /azure\.federated-credential:source-controller/, d.log);
    assert.match(d.failed, /token\.proof:source-controller/, d.log);
    const verify = d.reports.find((x) => x.task === 'FluxOidcVerify')!;
    const proof = verify.checks.find((c) => c.id === 'token.proof:source-controller')!;
    assert.equal(proof.status, 'fail');
    assert.match(`${proof.evidence}\n${proof.cause}`, /AADSTS700213|source-controler/);
    const provision = d.reports.find((x) => x.task === 'FluxOidcProvision')!;
    assert.deepEqual(
      provision.resources.filter((x) => x.action !== 'unchanged').map((x) => `${x.action} ${x.kind} ${x.name}`),
      [`update FederatedIdentityCredential ${fic.name}`],
    );

    await repair();
    assert.ok(
      identity().federatedIdentityCredentials.some(
        (f) => f.name === fic.name && f.subject === `system:serviceaccount:${FRESH.fluxNamespace}:source-controller`,
      ),
      'Provision restored the subject',
    );
    await expectNoDrift();
  });

  it('fails when the flux-system patch is reverted on main, and passes after the setup pipeline ran again', async () => {
    const file = `${FRESH.clusterPath}/flux-system/kustomization.yaml`;
    revertPatchOnMain(file);

    const d = await expectDrift();
    const patch = step(d.run, 'patch');
    assert.equal(patch.outputs['patch.changed'], 'true', d.log);
    assert.equal(patch.outputs['patch.changedFiles'], file);
    assert.match(
      step(d.run, 'Drift verdict').log,
      new RegExp(`Drift: ${file.replace(/\//g, '\\/')} no longer carries the workload identity patches`),
    );
    const plan = d.reports.find((x) => x.task === 'FluxManifestPatch')!;
    assert.equal(plan.mode, 'plan');
    assert.match(plan.message ?? '', /^Plan: apply would patch clusters\/prod\/flux-system\/kustomization\.yaml/);

    await repair();
    await expectNoDrift();
  });
});

/** A person pushes a commit to main that drops the `patches:` the setup pipeline added. */
function revertPatchOnMain(file: string): void {
  const bare = path.join(cloud.ctx.workDir, 'devops-git', `${FRESH.repositoryId.toLowerCase()}.git`);
  assert.ok(fs.existsSync(bare), bare);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'drift-'));
  const git = (...args: string[]): string => {
    const r = spawnSync('git', args, {
      cwd: work,
      encoding: 'utf8',
      env: { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1' },
    });
    assert.equal(r.status, 0, `git ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  try {
    git('clone', '--quiet', '--branch', FRESH.branch, bare, '.');
    const full = path.join(work, file);
    const text = fs.readFileSync(full, 'utf8');
    const cut = text.indexOf('\npatches:');
    assert.ok(cut > 0, `the setup pipeline's patches are in ${file}:\n${text}`);
    fs.writeFileSync(full, text.slice(0, cut + 1));
    git('-c', 'user.name=Someone', '-c', 'user.email=someone@contoso.example', 'commit', '--quiet', '-am', 'Tidy up');
    git('push', '--quiet', 'origin', FRESH.branch);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}
