/**
 * FluxManifestPatch@1 end to end: the bundled task (dist/tasks/FluxManifestPatch) run the way the
 * agent runs it, in a real `checkout: self` of the emulated Azure DevOps repository, committing
 * through the pushes API. Judged on the task's result and outputs and on the repository itself
 * (cloned with git), the emulated pull requests and the call journal.
 *
 * The cases build on each other on one cloud (the repository on disk keeps its history): plan,
 * push, a no-op re-run, a new client id with a colleague's commit landing between the task's read
 * and its push, then pull request mode. A second cloud runs the `converged` scenario.
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
import { checkoutBranch } from './checkout';
import { E2E_TIME_SCALE, startCloud, type Cloud } from '../emulators/cloud';
import { FRESH } from '../emulators/names';

const root = path.resolve(import.meta.dirname, '..', '..');
const TASK_DIR = path.join(root, 'dist', 'tasks', 'FluxManifestPatch');
const FOLDER = 'clusters/prod/flux-system';
const KUSTOMIZATION = `${FOLDER}/kustomization.yaml`;
const CLIENT_A = '3c2b1a09-8f7e-4d6c-9b5a-4e3d2c1b0a99';
const CLIENT_B = '7e6d5c4b-3a29-4180-9f7e-6d5c4b3a2910';
const CLIENT_C = '0f1e2d3c-4b5a-4697-8877-665544332211';
const CLIENT_D = '9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d';

let cloud: Cloud;
let work: string;

/** A fresh `checkout: self` of a branch of the emulated repository. */
function checkout(c: Cloud, branch = `refs/heads/${FRESH.branch}`): Promise<string> {
  return checkoutBranch(c, work, branch);
}

function git(dir: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd: dir, encoding: 'utf8' }).trim();
}

async function patch(
  c: Cloud,
  inputs: Record<string, string>,
  dir?: string,
): Promise<{ run: TaskRun; dir: string; mark: number }> {
  const cwd = dir ?? (await checkout(c));
  const mark = c.ctx.journal.mark();
  const run = await runBundledTask({
    taskDir: TASK_DIR,
    cwd,
    env: c.env,
    timeoutMs: 120_000,
    inputs: { mode: 'apply', fluxSystemPath: FOLDER, clientId: CLIENT_A, tenantId: FRESH.tenantId, ...inputs },
  });
  return { run, dir: cwd, mark };
}

function succeeded(run: TaskRun): void {
  assert.equal(run.result, 'Succeeded', `${run.message}\n${run.log.slice(-3000)}`);
}

function pushes(c: Cloud, mark: number): { status: number }[] {
  return c.ctx.journal.entries({ service: 'devops', method: 'POST', path: /\/pushes$/, since: mark });
}

before(async () => {
  assert.ok(fs.existsSync(path.join(TASK_DIR, 'main.js')), `${TASK_DIR}/main.js is missing: run npm run build first`);
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'manifest-patch-e2e-'));
  cloud = await startCloud({ timeScale: E2E_TIME_SCALE, scenario: 'fresh' });
});

after(async () => {
  await cloud?.stop();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

describe('push mode on the fresh scenario', () => {
  test('plan: prints the diff, changed=true, nothing written locally or in the repository', async () => {
    const dir = await checkout(cloud);
    const before = fs.readFileSync(path.join(dir, KUSTOMIZATION), 'utf8');
    const { run, mark } = await patch(cloud, { mode: 'plan', commitMode: 'push' }, dir);
    succeeded(run);
    assert.equal(run.outputs.changed, 'true');
    assert.equal(run.outputs.commitId, '');
    assert.match(run.log, /^\+\+\+ b\/clusters\/prod\/flux-system\/kustomization\.yaml$/m);
    assert.match(run.log, /create GitPush refs\/heads\/main/);
    assert.equal(fs.readFileSync(path.join(dir, KUSTOMIZATION), 'utf8'), before);
    assert.deepEqual(
      cloud.ctx.journal.writes({ since: mark }).filter((e) => e.service === 'devops' && !e.path.endsWith('/oidctoken')),
      [],
    );
  });

  test('apply: one real commit on main with the patches; the checkout is patched too', async () => {
    const { run, dir } = await patch(cloud, { commitMode: 'push' });
    succeeded(run);
    assert.equal(run.outputs.changed, 'true');
    assert.equal(run.outputs.changedFiles, KUSTOMIZATION);
    assert.match(run.outputs.commitId!, /^[0-9a-f]{40}$/);
    const local = fs.readFileSync(path.join(dir, KUSTOMIZATION), 'utf8');

    const clone = await checkout(cloud);
    assert.equal(git(clone, 'rev-parse', 'HEAD'), run.outputs.commitId);
    assert.equal(
      git(clone, 'rev-parse', 'HEAD^'),
      git(dir, 'rev-parse', 'HEAD'),
      'the commit sits on the tip the checkout had',
    );
    assert.deepEqual(git(clone, 'show', '--name-only', '--format=', 'HEAD').split('\n'), [KUSTOMIZATION]);
    const committed = fs.readFileSync(path.join(clone, KUSTOMIZATION), 'utf8');
    assert.equal(committed, local, 'the same bytes as written to the checkout');
    assert.match(committed, new RegExp(`azure\\.workload\\.identity/client-id: ${CLIENT_A}`));
    assert.match(
      committed,
      /provider: azure\n\s+secretRef: null\n\s+url: https:\/\/dev\.azure\.com\/contoso\/platform\/_git\/fleet/,
    );
    assert.match(
      git(clone, 'log', '-1', '--format=%s'),
      /Flux: authenticate to Azure DevOps with workload identity \(prod\)/,
    );
  });

  test('a second run changes nothing and pushes nothing', async () => {
    const { run, mark } = await patch(cloud, { commitMode: 'push' });
    succeeded(run);
    assert.equal(run.outputs.changed, 'false');
    assert.equal(run.outputs.commitId, '');
    assert.deepEqual(pushes(cloud, mark), []);
    assert.match(run.log, /already has the patches: nothing to commit/);
  });

  test("a colleague pushes between the task's read and its push: the task re-applies on the new tip", async () => {
    const dir = await checkout(cloud);
    const repoDir = path.join(cloud.ctx.workDir, 'devops-git', `${FRESH.repositoryId.toLowerCase()}.git`);
    const colleague = () => {
      // A real commit on main, made straight in the emulated repository (synchronously, so it lands
      // exactly before the task's push is handled): it edits the same kustomization.yaml.
      const tip = git(repoDir, 'rev-parse', 'refs/heads/main');
      const index = path.join(work, `index-${Date.now()}`);
      const env = {
        ...process.env,
        GIT_INDEX_FILE: index,
        GIT_AUTHOR_NAME: 'Colleague',
        GIT_AUTHOR_EMAIL: 'c@contoso.com',
        GIT_COMMITTER_NAME: 'Colleague',
        GIT_COMMITTER_EMAIL: 'c@contoso.com',
      };
      const run = (...args: string[]) => execFileSync('git', args, { cwd: repoDir, env, encoding: 'utf8' }).trim();
      run('read-tree', tip);
      const current = run('cat-file', '-p', `${tip}:${KUSTOMIZATION}`);
      const blob = execFileSync('git', ['hash-object', '-w', '--stdin'], {
        cwd: repoDir,
        env,
        input: `# Owned by the platform team\n${current}\n`,
        encoding: 'utf8',
      }).trim();
      run('update-index', '--add', '--cacheinfo', `100644,${blob},${KUSTOMIZATION}`);
      const commit = run('commit-tree', run('write-tree'), '-p', tip, '-m', 'A colleague documents the owner');
      run('update-ref', 'refs/heads/main', commit, tip);
      fs.rmSync(index, { force: true });
      return commit;
    };
    const faults = cloud.ctx.faults;
    const match = faults.match.bind(faults);
    let colleagueCommit: string | undefined;
    faults.match = (service, method, p) => {
      if (!colleagueCommit && service === 'devops' && method === 'POST' && p.endsWith('/pushes'))
        colleagueCommit = colleague();
      return match(service, method, p);
    };
    let result;
    try {
      result = await patch(cloud, { commitMode: 'push', clientId: CLIENT_B }, dir);
    } finally {
      faults.match = match;
    }
    const { run, mark } = result;
    succeeded(run);
    assert.ok(colleagueCommit, 'the colleague pushed');
    assert.deepEqual(
      pushes(cloud, mark).map((e) => e.status),
      [409, 201],
      'one lost race (TF401028), then the push',
    );
    assert.match(
      run.log,
      /retrying the push to refs\/heads\/main \(the branch moved: re-reading the tip and re-applying\) after 409 GitReferenceStaleException/,
    );

    const clone = await checkout(cloud);
    assert.equal(git(clone, 'rev-parse', 'HEAD'), run.outputs.commitId);
    assert.equal(git(clone, 'rev-parse', 'HEAD^'), colleagueCommit, "our commit is on top of the colleague's");
    const text = fs.readFileSync(path.join(clone, KUSTOMIZATION), 'utf8');
    assert.ok(text.startsWith('# Owned by the platform team\n'), "the colleague's change is kept");
    assert.match(text, new RegExp(`client-id: ${CLIENT_B}`));
    assert.doesNotMatch(text, new RegExp(CLIENT_A), 'the old client id is replaced in place');
    assert.equal(text.match(/# Managed by the FluxManifestPatch task/g)?.length, 3, 'no duplicate patches');
  });
});

describe('refusals', () => {
  test('a job token Azure DevOps does not accept: the error is about the job token, not a service connection', async () => {
    const dir = await checkout(cloud);
    const before = fs.readFileSync(path.join(dir, KUSTOMIZATION), 'utf8');
    const mark = cloud.ctx.journal.mark();
    const run = await runBundledTask({
      taskDir: TASK_DIR,
      cwd: dir,
      timeoutMs: 120_000,
      env: {
        ...cloud.env,
        ENDPOINT_AUTH_SYSTEMVSSCONNECTION: JSON.stringify({
          scheme: 'OAuth',
          parameters: { AccessToken: 'a-stale-job-token' },
        }),
        ENDPOINT_AUTH_PARAMETER_SYSTEMVSSCONNECTION_ACCESSTOKEN: 'a-stale-job-token',
      },
      inputs: { mode: 'apply', fluxSystemPath: FOLDER, clientId: CLIENT_A, commitMode: 'push' },
    });
    assert.equal(run.result, 'Failed', run.log.slice(-3000));
    assert.match(
      run.message,
      /Could not connect to the Azure DevOps organization \S+: Azure DevOps did not accept the token \(HTTP 401\)/,
    );
    assert.match(run.message, /Cause: the job access token was not accepted: it expired/);
    assert.match(run.message, /Fix: re-run the job; .* or use gitAuth: serviceConnection/);
    assert.doesNotMatch(run.message, /devopsConnection|service connection's principal/);
    assert.equal(
      fs.readFileSync(path.join(dir, KUSTOMIZATION), 'utf8'),
      before,
      'nothing written before the commit could be made',
    );
    assert.deepEqual(pushes(cloud, mark), []);
    assert.ok(!run.log.includes('a-stale-job-token'), 'the token is masked');
  });
});

describe('pull request mode', () => {
  const prs = () => cloud.ctx.state.devops.projects[0]!.repositories[0]!.pullRequests ?? [];

  test('pushes flux-oidc/prod from main and opens one pull request; main is untouched', async () => {
    const mainBefore = git(await checkout(cloud), 'rev-parse', 'HEAD');
    const { run } = await patch(cloud, { commitMode: 'pullRequest', clientId: CLIENT_C });
    succeeded(run);
    assert.match(run.outputs.pullRequestId!, /^\d+$/);
    assert.match(
      run.outputs.pullRequestUrl!,
      new RegExp(`/_git/${FRESH.repository}/pullrequest/${run.outputs.pullRequestId}$`),
    );
    assert.equal(git(await checkout(cloud), 'rev-parse', 'HEAD'), mainBefore, 'main does not move');

    const branch = await checkout(cloud, 'refs/heads/flux-oidc/prod');
    assert.equal(git(branch, 'rev-parse', 'HEAD'), run.outputs.commitId);
    assert.equal(git(branch, 'rev-parse', 'HEAD^'), mainBefore);
    assert.match(fs.readFileSync(path.join(branch, KUSTOMIZATION), 'utf8'), new RegExp(`client-id: ${CLIENT_C}`));
    const active = prs().filter((p) => p.status === 'active');
    assert.equal(active.length, 1);
    assert.equal(String(active[0]!.pullRequestId), run.outputs.pullRequestId);
    assert.equal(active[0]!.sourceRefName, 'refs/heads/flux-oidc/prod');
    assert.equal(active[0]!.targetRefName, 'refs/heads/main');
    assert.match(active[0]!.title, /Flux OIDC: authenticate prod to Azure DevOps with workload identity/);
  });

  test('the same run again: no commit, the same pull request', async () => {
    const id = String(prs()[0]!.pullRequestId);
    const { run, mark } = await patch(cloud, { commitMode: 'pullRequest', clientId: CLIENT_C });
    succeeded(run);
    assert.deepEqual(pushes(cloud, mark), []);
    assert.equal(run.outputs.commitId, '');
    assert.equal(run.outputs.pullRequestId, id);
    assert.equal(prs().filter((p) => p.status === 'active').length, 1);
  });

  test('another client id: a new commit on the same branch, the pull request is updated, not duplicated', async () => {
    const id = String(prs()[0]!.pullRequestId);
    const { run } = await patch(cloud, {
      commitMode: 'pullRequest',
      clientId: CLIENT_D,
      pullRequestTitle: 'Flux OIDC for prod (rotated identity)',
    });
    succeeded(run);
    assert.equal(run.outputs.pullRequestId, id);
    const branch = await checkout(cloud, 'refs/heads/flux-oidc/prod');
    assert.equal(git(branch, 'rev-parse', 'HEAD'), run.outputs.commitId);
    const text = fs.readFileSync(path.join(branch, KUSTOMIZATION), 'utf8');
    assert.match(text, new RegExp(`client-id: ${CLIENT_D}`));
    assert.doesNotMatch(text, new RegExp(CLIENT_C));
    const active = prs().filter((p) => p.status === 'active');
    assert.equal(active.length, 1);
    assert.equal(active[0]!.title, 'Flux OIDC for prod (rotated identity)');
    assert.match(active[0]!.description, new RegExp(CLIENT_D));
  });

  test("the service connection's identity can push instead of the job token", async () => {
    const { run, mark } = await patch(cloud, {
      commitMode: 'push',
      clientId: CLIENT_D,
      gitAuth: 'serviceConnection',
      azureSubscription: cloud.serviceConnections[FRESH.serviceConnectionName]!,
    });
    succeeded(run);
    assert.deepEqual(
      pushes(cloud, mark).map((e) => e.status),
      [201],
    );
    assert.match(
      fs.readFileSync(path.join(await checkout(cloud), KUSTOMIZATION), 'utf8'),
      new RegExp(`client-id: ${CLIENT_D}`),
    );
  });
});

describe('the converged scenario', () => {
  let converged: Cloud;
  before(async () => {
    converged = await startCloud({ timeScale: E2E_TIME_SCALE, scenario: 'converged' });
  });
  after(async () => {
    await converged?.stop();
  });

  test('hand-written equivalent patches (JSON 6902 on the GitRepository) are recognised: nothing to change, nothing pushed', async () => {
    const dir = await checkout(converged);
    const text = fs.readFileSync(path.join(dir, KUSTOMIZATION), 'utf8');
    const clientId = /client-id: (\S+)/.exec(text)![1]!;
    const mark = converged.ctx.journal.mark();
    const run = await runBundledTask({
      taskDir: TASK_DIR,
      cwd: dir,
      env: converged.env,
      timeoutMs: 120_000,
      inputs: { mode: 'apply', fluxSystemPath: FOLDER, clientId, tenantId: FRESH.tenantId, commitMode: 'pullRequest' },
    });
    succeeded(run);
    assert.equal(run.outputs.changed, 'false');
    assert.equal(run.outputs.pullRequestId, '');
    assert.equal(fs.readFileSync(path.join(dir, KUSTOMIZATION), 'utf8'), text);
    assert.deepEqual(pushes(converged, mark), []);
  });
});
