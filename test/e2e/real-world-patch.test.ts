/**
 * FluxManifestPatch@1 end to end on what real repositories and organizations bring (issue 12):
 * bootstrap URLs in every Azure DevOps form, branch policies, a GitRepository that syncs another
 * branch, pull requests a person has edited, a branch that moved since the checkout, and paths that
 * lead out of the repository. Each case commits what it needs straight into the emulated
 * repository (real git commits) and runs the bundled task the way the agent runs it.
 *
 * Needs the build (npm run build) and the test CA (node scripts/test.mjs sets it up).
 */
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import { runBundledTask, type TaskRun } from '../agent/agent';
import { checkoutBranch } from './checkout';
import { E2E_TIME_SCALE, startCloud, type Cloud } from '../emulators/cloud';
import { FRESH } from '../emulators/names';

const root = path.resolve(import.meta.dirname, '..', '..');
const TASK_DIR = path.join(root, 'dist', 'tasks', 'FluxManifestPatch');
const FOLDER = 'clusters/prod/flux-system';
const KUSTOMIZATION = `${FOLDER}/kustomization.yaml`;
const SYNC = `${FOLDER}/gotk-sync.yaml`;
const CLIENT = '3c2b1a09-8f7e-4d6c-9b5a-4e3d2c1b0a99';
const CANONICAL = 'https://dev.azure.com/contoso/platform/_git/fleet';

let cloud: Cloud;
let work: string;
let seedTip: string;

const repoDir = () => path.join(cloud.ctx.workDir, 'devops-git', `${FRESH.repositoryId.toLowerCase()}.git`);
const git = (dir: string, ...args: string[]) => execFileSync('git', args, { cwd: dir, encoding: 'utf8' }).trim();
/** A real commit on `branch` of the emulated repository, made in the repository on disk (a colleague's push). */
function commit(branch: string, files: Record<string, string>, message = 'a colleague edits', from?: string): string {
  const dir = repoDir();
  const index = path.join(work, `index-${process.hrtime.bigint()}`);
  const env = {
    ...process.env,
    GIT_INDEX_FILE: index,
    GIT_AUTHOR_NAME: 'Colleague',
    GIT_AUTHOR_EMAIL: 'c@contoso.com',
    GIT_COMMITTER_NAME: 'Colleague',
    GIT_COMMITTER_EMAIL: 'c@contoso.com',
  };
  const run = (...args: string[]) => execFileSync('git', args, { cwd: dir, env, encoding: 'utf8' }).trim();
  const parent = from ?? run('rev-parse', `refs/heads/${branch}`);
  run('read-tree', parent);
  for (const [p, content] of Object.entries(files)) {
    const blob = execFileSync('git', ['hash-object', '-w', '--stdin'], { cwd: dir, env, input: content })
      .toString()
      .trim();
    run('update-index', '--add', '--cacheinfo', `100644,${blob},${p}`);
  }
  const c = run('commit-tree', run('write-tree'), '-p', parent, '-m', message);
  run('update-ref', `refs/heads/${branch}`, c);
  fs.rmSync(index, { force: true });
  return c;
}

function show(branch: string, file: string): string {
  return git(repoDir(), 'show', `refs/heads/${branch}:${file}`);
}

function checkout(branch = `refs/heads/${FRESH.branch}`): Promise<string> {
  return checkoutBranch(cloud, work, branch);
}

async function patch(inputs: Record<string, string>, cwd?: string, env: Record<string, string> = {}): Promise<TaskRun> {
  return runBundledTask({
    taskDir: TASK_DIR,
    cwd: cwd ?? (await checkout()),
    env: { ...cloud.env, ...env },
    timeoutMs: 120_000,
    inputs: { mode: 'apply', fluxSystemPath: FOLDER, clientId: CLIENT, ...inputs },
  });
}

const ok = (run: TaskRun) => assert.equal(run.result, 'Succeeded', `${run.message}\n${run.log.slice(-3000)}`);
const failed = (run: TaskRun) => assert.equal(run.result, 'Failed', run.log.slice(-3000));
const project = () => cloud.ctx.state.devops.projects[0]!;
const prs = () => project().repositories[0]!.pullRequests ?? [];
const pushes = (mark: number) =>
  cloud.ctx.journal.entries({ service: 'devops', method: 'POST', path: /\/pushes$/, since: mark });

before(async () => {
  assert.ok(fs.existsSync(path.join(TASK_DIR, 'main.js')), `${TASK_DIR}/main.js is missing: run npm run build first`);
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'real-world-patch-'));
  cloud = await startCloud({ timeScale: E2E_TIME_SCALE, scenario: 'fresh' });
  seedTip = git(repoDir(), 'rev-parse', 'refs/heads/main');
});

after(async () => {
  await cloud?.stop();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

/** Every case starts from the seed on main, no policies, no pull requests. */
beforeEach(() => {
  git(repoDir(), 'update-ref', 'refs/heads/main', seedTip);
  for (const b of git(repoDir(), 'for-each-ref', '--format=%(refname)', 'refs/heads/').split('\n'))
    if (b && b !== 'refs/heads/main') git(repoDir(), 'update-ref', '-d', b);
  delete project().policies;
  project().repositories[0]!.pullRequests = [];
});

const syncWith = (url: string, branch = 'main') =>
  fs
    .readFileSync(path.join(root, 'test/emulators/devops/seed/fleet', SYNC), 'utf8')
    .replace(/url: .*/, `url: ${url}`)
    .replace(/branch: main/, `branch: ${branch}`);

describe('bootstrap URLs in every Azure DevOps form become the one HTTPS form', () => {
  for (const url of [
    'ssh://git@ssh.dev.azure.com/v3/contoso/platform/fleet.git',
    'git@ssh.dev.azure.com:v3/contoso/platform/fleet.git',
    'contoso@vs-ssh.visualstudio.com:v3/contoso/platform/fleet.git',
    'https://contoso@dev.azure.com/contoso/platform/_git/fleet.git',
    'https://contoso.visualstudio.com/DefaultCollection/platform/_git/fleet/',
    'ssh://git@ssh.dev.azure.com:22/v3/contoso/platform/fleet/',
  ]) {
    test(url, async () => {
      commit('main', { [SYNC]: syncWith(url) }, 'bootstrap with another URL form');
      const run = await patch({ commitMode: 'push' });
      ok(run);
      const text = show('main', KUSTOMIZATION);
      assert.match(text, new RegExp(`url: ${CANONICAL.replace(/[./]/g, '\\$&')}\\n`));
      assert.doesNotMatch(text, /fleet\.git/);
      // A second run finds nothing to do (no loop between the URL forms).
      const again = await patch({ commitMode: 'push' });
      ok(again);
      assert.equal(again.outputs.changed, 'false');
    });
  }
});

describe('branch policies', () => {
  const protect = () => {
    project().policies = [
      {
        id: 17,
        typeId: 'fa4e907d-c16b-4a4c-9dfa-4906e5d171dd',
        typeDisplayName: 'Minimum number of reviewers',
        isEnabled: true,
        isBlocking: true,
        scope: [{ repositoryId: FRESH.repositoryId, refName: 'refs/heads/main', matchKind: 'Exact' }],
        settings: { minimumApproverCount: 1 },
      },
    ];
  };

  test('a push to a protected branch says it is a branch policy and recommends a pull request', async () => {
    protect();
    const dir = await checkout();
    const run = await patch({ commitMode: 'push' }, dir);
    failed(run);
    assert.match(run.message, /requires pull requests \(a branch policy protects it, TF402455\)/);
    assert.match(run.message, /this is not a missing permission/);
    assert.match(run.message, /commitMode: pullRequest.*fallbackToPullRequest: true/);
    assert.doesNotMatch(run.message, /'Contribute'/);
    assert.equal(git(repoDir(), 'rev-parse', 'refs/heads/main'), seedTip, 'main does not move');
  });

  test('fallbackToPullRequest: true opens a pull request into the protected branch instead', async () => {
    protect();
    const run = await patch({ commitMode: 'push', fallbackToPullRequest: 'true' });
    assert.equal(run.result, 'SucceededWithIssues', run.log.slice(-3000));
    assert.match(run.message, /^done with 1 warning: refs\/heads\/main requires pull requests/);
    assert.match(run.log, /requires pull requests \(branch policy, TF402455\): opening a pull request/);
    assert.match(run.outputs.pullRequestId!, /^\d+$/);
    const pr = prs().find((p) => String(p.pullRequestId) === run.outputs.pullRequestId)!;
    assert.equal(pr.targetRefName, 'refs/heads/main');
    assert.match(show('flux-oidc/prod', KUSTOMIZATION), new RegExp(`client-id: ${CLIENT}`));
    assert.equal(git(repoDir(), 'rev-parse', 'refs/heads/main'), seedTip);
  });

  test('a policy on another branch does not stop a push to main', async () => {
    project().policies = [
      {
        id: 18,
        typeId: 'fa4e907d-c16b-4a4c-9dfa-4906e5d171dd',
        typeDisplayName: 'Minimum number of reviewers',
        isEnabled: true,
        isBlocking: true,
        scope: [{ refName: 'refs/heads/release/', matchKind: 'Prefix' }],
      },
    ];
    ok(await patch({ commitMode: 'push' }));
  });
});

describe('the branch Flux syncs', () => {
  const prodSync = () => {
    const tip = commit('main', { [SYNC]: syncWith(CANONICAL, 'prod') }, 'Flux syncs prod');
    git(repoDir(), 'update-ref', 'refs/heads/prod', tip);
  };

  test('warn (default): the log names the synced branch and the input that targets it', async () => {
    prodSync();
    const run = await patch({ commitMode: 'push' });
    assert.equal(run.result, 'SucceededWithIssues', run.log.slice(-3000));
    assert.match(
      run.message,
      /^done with 1 warning: Flux syncs refs\/heads\/prod/,
      'the result says what it warned about',
    );
    const warning = run.issues.find((i) => i.type === 'warning' && /Flux syncs/.test(i.message));
    assert.ok(warning, run.log);
    assert.match(
      warning.message,
      /Flux syncs refs\/heads\/prod, not refs\/heads\/main.*spec\.ref\.branch: prod.*Set targetBranch: prod or branchMismatch: useSyncedBranch/,
    );
  });

  test('useSyncedBranch: the commit goes to the branch Flux syncs; main does not move', async () => {
    prodSync();
    const mainBefore = git(repoDir(), 'rev-parse', 'refs/heads/main');
    const run = await patch({ commitMode: 'push', branchMismatch: 'useSyncedBranch' });
    ok(run);
    assert.equal(git(repoDir(), 'rev-parse', 'refs/heads/prod'), run.outputs.commitId);
    assert.equal(git(repoDir(), 'rev-parse', 'refs/heads/main'), mainBefore);
    assert.match(show('prod', KUSTOMIZATION), new RegExp(`client-id: ${CLIENT}`));
  });

  test('fail: nothing is written, the error names both branches and the fix', async () => {
    prodSync();
    const dir = await checkout();
    const before = fs.readFileSync(path.join(dir, KUSTOMIZATION), 'utf8');
    const mark = cloud.ctx.journal.mark();
    const run = await patch({ commitMode: 'push', branchMismatch: 'fail' }, dir);
    failed(run);
    assert.match(run.message, /Flux syncs refs\/heads\/prod, not refs\/heads\/main/);
    assert.match(run.message, /Fix: set targetBranch: prod, or branchMismatch: useSyncedBranch/);
    assert.equal(fs.readFileSync(path.join(dir, KUSTOMIZATION), 'utf8'), before);
    assert.deepEqual(pushes(mark), []);
  });
});

describe('existing pull requests and concurrent edits', () => {
  test("a person's title and description are kept; our section is appended, then updated in place", async () => {
    const first = await patch({ commitMode: 'pullRequest' });
    ok(first);
    const pr = prs().find((p) => String(p.pullRequestId) === first.outputs.pullRequestId)!;
    pr.title = 'Platform: switch prod to workload identity (reviewed by Ana)';
    pr.description = 'Ana: please merge after the change window on Friday.';

    const other = '7e6d5c4b-3a29-4180-9f7e-6d5c4b3a2910';
    const run = await patch({ commitMode: 'pullRequest', clientId: other });
    ok(run);
    assert.equal(pr.title, 'Platform: switch prod to workload identity (reviewed by Ana)');
    assert.ok(
      pr.description.startsWith('Ana: please merge after the change window on Friday.\n\n<!-- flux-oidc:begin'),
    );
    assert.match(pr.description, new RegExp(other));
    assert.match(
      run.log,
      /title kept .*a section marked "flux-oidc" appended to the description; the existing text is kept/,
    );

    const third = '0f1e2d3c-4b5a-4697-8877-665544332211';
    const again = await patch({ commitMode: 'pullRequest', clientId: third });
    ok(again);
    assert.equal(pr.description.match(/flux-oidc:begin/g)?.length, 1, 'one section, updated in place');
    assert.match(pr.description, new RegExp(third));
    assert.doesNotMatch(pr.description, new RegExp(other));
    assert.ok(pr.description.startsWith('Ana: please merge'));
  });

  test('pullRequestTitle replaces the title, and the log says from what to what', async () => {
    const first = await patch({ commitMode: 'pullRequest' });
    const pr = prs().find((p) => String(p.pullRequestId) === first.outputs.pullRequestId)!;
    pr.title = 'Edited by a person';
    const run = await patch({
      commitMode: 'pullRequest',
      clientId: '7e6d5c4b-3a29-4180-9f7e-6d5c4b3a2910',
      pullRequestTitle: 'Flux OIDC for prod',
    });
    ok(run);
    assert.equal(pr.title, 'Flux OIDC for prod');
    assert.match(run.log, /title changed from "Edited by a person" to "Flux OIDC for prod" \(pullRequestTitle\)/);
  });

  test('push mode: when the branch moved since the checkout, the log shows the diff that was pushed', async () => {
    const dir = await checkout();
    commit('main', {
      [KUSTOMIZATION]: `# Owned by the platform team\n${show('main', KUSTOMIZATION)}\n`,
    });
    const run = await patch({ commitMode: 'push' }, dir);
    ok(run);
    const pushed = run.log.slice(run.log.indexOf('The branch had moved since the checkout'));
    assert.ok(pushed.length < run.log.length, run.log);
    assert.match(pushed, new RegExp(`built on ${git(repoDir(), 'rev-parse', `${run.outputs.commitId}^`).slice(0, 8)}`));
    const hunks = (text: string) => text.split('\n').filter((l) => l.startsWith('@@'));
    const printedFirst = hunks(run.log.slice(0, run.log.indexOf('The branch had moved')));
    assert.ok(hunks(pushed).length > 0);
    assert.notDeepEqual(
      hunks(pushed),
      printedFirst,
      'the pushed diff is computed on the new tip (one line further down)',
    );
  });
});

describe('paths stay inside the repository, in every commit mode', () => {
  for (const commitMode of ['none', 'push', 'pullRequest']) {
    test(`commitMode ${commitMode}: ../outside/flux-system is refused, quoting the path given`, async () => {
      const dir = await checkout();
      const outside = path.join(path.dirname(dir), 'outside', 'flux-system');
      fs.mkdirSync(outside, { recursive: true });
      for (const f of ['kustomization.yaml', 'gotk-components.yaml', 'gotk-sync.yaml'])
        fs.copyFileSync(path.join(dir, FOLDER, f), path.join(outside, f));
      const before = fs.readFileSync(path.join(outside, 'kustomization.yaml'), 'utf8');
      const run = await patch({ commitMode, fluxSystemPath: '../outside/flux-system' }, dir);
      failed(run);
      assert.match(run.message, /fluxSystemPath "\.\.\/outside\/flux-system" leads outside the repository checkout/);
      assert.match(run.message, /Fix: point fluxSystemPath at a flux-system folder inside the checkout/);
      assert.equal(fs.readFileSync(path.join(outside, 'kustomization.yaml'), 'utf8'), before);
      fs.rmSync(path.dirname(outside), { recursive: true, force: true });
    });
  }

  test('a symbolic link out of the checkout is refused too (folder and file)', async () => {
    const dir = await checkout();
    const outside = fs.mkdtempSync(path.join(work, 'elsewhere-'));
    fs.cpSync(path.join(dir, FOLDER), path.join(outside, 'flux-system'), { recursive: true });
    fs.symlinkSync(path.join(outside, 'flux-system'), path.join(dir, 'clusters', 'linked'));
    const run = await patch({ commitMode: 'none', fluxSystemPath: 'clusters/linked' }, dir);
    failed(run);
    assert.match(
      run.message,
      /fluxSystemPath "clusters\/linked" leads outside the repository checkout .*through a symbolic link/,
    );

    const k = path.join(dir, KUSTOMIZATION);
    const target = path.join(outside, 'flux-system', 'kustomization.yaml');
    fs.rmSync(k);
    fs.symlinkSync(target, k);
    const before = fs.readFileSync(target, 'utf8');
    const viaFile = await patch({ commitMode: 'none' }, dir);
    failed(viaFile);
    assert.match(viaFile.message, /clusters\/prod\/flux-system\/kustomization\.yaml" leads outside the repository/);
    assert.equal(fs.readFileSync(target, 'utf8'), before);
  });

  test('a glob reaching out of the checkout is refused', async () => {
    const dir = await checkout();
    fs.mkdirSync(path.join(path.dirname(dir), 'x', 'flux-system'), { recursive: true });
    const run = await patch({ commitMode: 'none', fluxSystemPath: '../*/flux-system' }, dir);
    failed(run);
    assert.match(run.message, /fluxSystemPath "\.\.\/\*\/flux-system" leads outside the repository checkout/);
  });
});
