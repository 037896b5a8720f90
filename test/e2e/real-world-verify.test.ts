/**
 * FluxOidcVerify@1 end to end on what real users bring (issue 12): inputs the cluster contradicts
 * (a mistyped service account, another Flux namespace), a pipeline on another branch than the one
 * Flux syncs, names with spaces and non-ASCII characters, and a URL Flux cannot find although the
 * licence and Read checks pass. Verify must name the real cause, and no fix may propose changing a
 * resource that another passed check (or the cluster) shows correct.
 *
 * Needs the build (npm run build) and the test CA (node scripts/test.mjs sets it up).
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { grantClusterView } from './cluster-view';
import { runBundledTask, type TaskRun } from '../agent/agent';
import { E2E_TIME_SCALE, startCloud, type Cloud } from '../emulators/cloud';
import { kubeRuntime } from '../emulators/kube/index';
import { FRESH } from '../emulators/names';
import { toPlaceholders } from '../emulators/scenarios';
import type { CloudState } from '../emulators/state';

const root = path.resolve(import.meta.dirname, '..', '..');
const TASK_DIR = path.join(root, 'dist', 'tasks', 'FluxOidcVerify');
const FOLDER = 'clusters/prod/flux-system';
const SEED = path.join(root, 'test', 'emulators', 'devops', 'seed');
const CONVERGED_KUSTOMIZATION = fs.readFileSync(
  path.join(SEED, 'fleet-converged', FOLDER, 'kustomization.yaml'),
  'utf8',
);

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
}

let cloud: Cloud;
let converged: CloudState;
let tempDir: string;

async function boot(c: Cloud): Promise<void> {
  const rt = kubeRuntime(c.ctx);
  await rt.cluster(FRESH.clusterName)!.ensureBooted();
  await rt.settled();
}

async function verify(
  inputs: Record<string, string> = {},
  on: Cloud = cloud,
  env: Record<string, string> = {},
): Promise<Outcome> {
  const run = await runBundledTask({
    taskDir: TASK_DIR,
    inputs: {
      mode: 'apply',
      azureSubscription: on.serviceConnections[FRESH.serviceConnectionName]!,
      resourceGroup: FRESH.resourceGroup,
      clusterName: FRESH.clusterName,
      timeoutSeconds: '30',
      ...inputs,
    },
    env: { ...on.env, ...env },
    tempDir,
    timeoutMs: 180_000,
  });
  const attachment = run.attachments.find((a) => a.type === 'fluxoidc-report');
  const report = attachment?.content ? (JSON.parse(attachment.content) as { checks: Check[] }) : { checks: [] };
  return { run, checks: report.checks };
}

const why = (o: Outcome) => `\n--- ${o.run.result}: ${o.run.message}\n${o.run.log.slice(-6000)}`;
const check = (o: Outcome, id: string) => {
  const c = o.checks.find((x) => x.id === id);
  assert.ok(c, `no check ${id}: ${o.checks.map((x) => `${x.id}=${x.status}`).join(', ')}${why(o)}`);
  return c;
};

/** The credentials that the working cluster uses, by name. */
function ficNames(s: CloudState): string[] {
  return s.azure.subscriptions[0]!.resourceGroups.find((g) => g.name === FRESH.resourceGroup)!
    .identities.find((i) => i.name === FRESH.identityName)!
    .federatedIdentityCredentials.map((f) => f.name);
}

/**
 * The invariant over every failure: no fix names a change to a credential that a passed check
 * shows correct (`az identity federated-credential update --name <n>` of a passing credential).
 */
function assertNoHarmfulFix(o: Outcome): void {
  const passed = o.checks.filter((c) => c.status === 'pass');
  const confirmed = passed
    .filter((c) => c.id.startsWith('azure.federated-credential:'))
    .map((c) => /credential (\S+)/.exec(c.evidence ?? '')?.[1])
    .filter((n): n is string => !!n);
  for (const c of o.checks.filter((x) => x.status === 'fail' || x.status === 'warn')) {
    for (const name of confirmed)
      assert.doesNotMatch(
        c.fix ?? '',
        new RegExp(`federated-credential (update|delete) --name ${name}\\b`),
        `${c.id} proposes changing ${name}, which a passed check shows correct${why(o)}`,
      );
  }
}

before(async () => {
  assert.ok(fs.existsSync(path.join(TASK_DIR, 'main.js')), `${TASK_DIR}/main.js is missing: run npm run build first`);
  tempDir = fs.mkdtempSync(path.join(os.tmpdir(), 'real-world-verify-'));
  cloud = await startCloud({ timeScale: E2E_TIME_SCALE, scenario: 'converged' });
  converged = structuredClone(cloud.ctx.state);
  await boot(cloud);
  grantClusterView(cloud);
});

after(async () => {
  await cloud?.stop();
  if (tempDir) fs.rmSync(tempDir, { recursive: true, force: true });
});

describe('inputs the cluster contradicts', () => {
  test('baseline: the converged cloud verifies', async () => {
    const o = await verify();
    assert.equal(o.run.outputs.verified, 'true', why(o));
  });

  test('a mistyped service account input: the input is wrong, the working credential is left alone', async () => {
    const o = await verify({ serviceAccounts: 'source-controler,image-automation-controller' });
    assert.equal(o.run.result, 'Failed', why(o));
    const input = check(o, 'cluster.service-account-input:source-controler');
    assert.equal(input.status, 'fail');
    assert.match(input.cause!, /the serviceAccounts input is wrong: it names 'source-controler'/);
    assert.match(input.fix!, /did you mean 'source-controller'\?/);
    const fic = check(o, 'azure.federated-credential:source-controler');
    assert.equal(fic.status, 'fail');
    assert.doesNotMatch(fic.fix!, /az identity federated-credential update/);
    assert.match(fic.fix!, /correct the serviceAccounts input/);
    for (const name of ficNames(converged)) assert.doesNotMatch(fic.fix!, new RegExp(`--name ${name}`));
    assertNoHarmfulFix(o);
  });

  test('a Flux namespace input where no Flux runs: the fix names fluxNamespace and the real namespace', async () => {
    const o = await verify({ fluxNamespace: 'flux' });
    assert.equal(o.run.result, 'Failed', why(o));
    const ns = check(o, 'cluster.flux-namespace');
    assert.match(
      ns.cause!,
      /the fluxNamespace input is wrong: no Flux controller runs in flux; Flux runs in flux-system/,
    );
    assert.match(ns.fix!, /set fluxNamespace: flux-system/);
    for (const c of o.checks.filter((x) => x.status === 'fail' && x.id.startsWith('azure.federated-credential:')))
      assert.match(c.fix!, /fluxNamespace: flux-system/, c.id);
    assertNoHarmfulFix(o);
  });
});

describe('the branch Flux syncs', () => {
  test('a pipeline on another branch than the one Flux syncs: the causes name the branch', async () => {
    const fresh = await startCloud({ timeScale: E2E_TIME_SCALE, scenario: 'fresh' });
    try {
      await boot(fresh);
      const o = await verify({ checks: 'cluster' }, fresh, { BUILD_SOURCEBRANCH: 'refs/heads/feature/oidc' });
      assert.equal(o.run.result, 'Failed', why(o));
      const patchFixes = o.checks.filter((c) => c.status === 'fail' && /FluxManifestPatch/.test(c.fix ?? ''));
      assert.ok(patchFixes.length > 0, why(o));
      for (const c of patchFixes) {
        assert.match(
          c.cause!,
          /Flux syncs branch main \(GitRepository flux-system spec\.ref\.branch\), not this pipeline's branch feature\/oidc/,
          c.id,
        );
        assert.match(
          c.fix!,
          /run FluxManifestPatch.* with targetBranch: main \(or branchMismatch: useSyncedBranch\)/,
          c.id,
        );
      }
    } finally {
      await fresh.stop();
    }
  });
});

describe('names with spaces and non-ASCII characters', () => {
  const PROJECT = 'Plattform Öps';
  const REPO = 'flux fleet ü';
  const URL_OK = 'https://dev.azure.com/contoso/Plattform%20%C3%96ps/_git/flux%20fleet%20%C3%BC';

  function renamed(url: string): CloudState {
    const s = structuredClone(converged);
    const project = s.devops.projects[0]!;
    project.name = PROJECT;
    for (const c of Object.values(s.kube.clusters))
      if (c.bootstrap)
        c.bootstrap.url = 'ssh://git@ssh.dev.azure.com/v3/contoso/Plattform%20%C3%96ps/flux%20fleet%20%C3%BC';
    // The service connection's federated credential names the project (sc://{org}/{project}/{connection}).
    for (const app of s.azure.tenant.applications)
      for (const f of app.federatedIdentityCredentials ?? [])
        f.subject = f.subject.replace(`/${FRESH.project}/`, `/${PROJECT}/`);
    project.repositories[0]!.name = REPO;
    const sync = fs
      .readFileSync(path.join(SEED, 'fleet', FOLDER, 'gotk-sync.yaml'), 'utf8')
      .replace(/url: .*/, `url: ssh://git@ssh.dev.azure.com/v3/contoso/Plattform%20%C3%96ps/flux%20fleet%20%C3%BC`);
    project.repositories[0]!.seed.push({
      message: 'renamed project and repository',
      files: {
        [`${FOLDER}/gotk-sync.yaml`]: sync,
        [`${FOLDER}/kustomization.yaml`]: CONVERGED_KUSTOMIZATION.replace(
          'https://dev.azure.com/contoso/platform/_git/fleet',
          url,
        ),
      },
    });
    return s;
  }

  test(`project "${PROJECT}", repository "${REPO}": Flux clones, Verify passes`, async () => {
    const c = await startCloud({ timeScale: E2E_TIME_SCALE, state: toPlaceholders(renamed(URL_OK), cloud.ctx.urls) });
    try {
      await boot(c);
      const o = await verify({ project: PROJECT, repository: REPO }, c);
      assert.equal(o.run.outputs.verified, 'true', why(o));
      assert.equal(check(o, 'cluster.git-repository').status, 'pass');
    } finally {
      await c.stop();
    }
  });

  test('a URL encoded twice: the cause is the URL, not the licence or Read that passed', async () => {
    const twice = 'https://dev.azure.com/contoso/Plattform%2520%25C3%2596ps/_git/flux%2520fleet%2520%25C3%25BC';
    const c = await startCloud({ timeScale: E2E_TIME_SCALE, state: toPlaceholders(renamed(twice), cloud.ctx.urls) });
    try {
      await boot(c);
      const o = await verify({ project: PROJECT, repository: REPO }, c);
      assert.equal(o.run.result, 'Failed', why(o));
      if (process.env.E2E_SHOW)
        console.log(
          JSON.stringify(
            o.checks.filter((x) => x.status !== 'pass'),
            null,
            1,
          ),
        );
      assert.equal(check(o, 'devops.licence').status, 'pass');
      assert.equal(check(o, 'devops.read').status, 'pass');
      const failedWithLicenceAdvice = o.checks.filter(
        (x) => x.status === 'fail' && /Change access level|allow Read/.test(x.fix ?? ''),
      );
      assert.deepEqual(
        failedWithLicenceAdvice.map((x) => x.id),
        [],
        'no fix blames the licence or Read that passed',
      );
      assert.match(check(o, 'cluster.git-repository').cause!, /points at|canonical/);
      const flux = check(o, 'reconcile.git-repository');
      assert.match(flux.cause!, /'Licence can read Git' and 'Effective Read on the repository' passed/);
      assert.match(
        flux.fix!,
        /compare the GitRepository's spec\.url with https:\/\/dev\.azure\.com\/contoso\/Plattform%20%C3%96ps/,
      );
      assertNoHarmfulFix(o);
    } finally {
      await c.stop();
    }
  });
});
