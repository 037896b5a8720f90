/**
 * The real `git` client against the emulated Azure DevOps smart HTTP: clone, push, force push and
 * branch deletion with and without the rights Microsoft documents
 * (https://learn.microsoft.com/azure/devops/repos/git/set-git-repository-permissions: Contribute to
 * push, Create branch for a new branch, Force push to rewrite history or delete a branch one did
 * not create), and a request carrying two Authorization headers.
 */
import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startDevOpsTestbed, type DevOpsTestbed } from '../../emulators/devops/testing';
import { FRESH } from '../../emulators/names';

let tb: DevOpsTestbed;
let work: string;

interface Git {
  (args: string[], cwd?: string): Promise<{ code: number; stdout: string; stderr: string }>;
}

/** git with the caller's token as an extra header (as the agent's checkout passes System.AccessToken). */
function gitAs(token: string, extra: string[] = []): Git {
  return (args, cwd) =>
    new Promise((resolve) => {
      execFile(
        'git',
        ['-c', `http.extraHeader=Authorization: Bearer ${token}`, ...extra, ...args],
        {
          cwd: cwd ?? work,
          env: {
            PATH: process.env.PATH ?? '',
            HOME: work,
            GIT_TERMINAL_PROMPT: '0',
            GIT_CONFIG_GLOBAL: '/dev/null',
            GIT_CONFIG_NOSYSTEM: '1',
            GIT_SSL_CAINFO: tb.caFile,
            GIT_AUTHOR_NAME: 'Build',
            GIT_AUTHOR_EMAIL: 'build@contoso.com',
            GIT_COMMITTER_NAME: 'Build',
            GIT_COMMITTER_EMAIL: 'build@contoso.com',
          },
        },
        (err, stdout, stderr) =>
          resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
      );
    });
}

const url = () => `${tb.orgUrl}/${FRESH.project}/_git/${FRESH.repository}`;

async function cloneAs(git: Git, name: string): Promise<string> {
  const dir = path.join(work, name);
  const r = await git(['clone', '--quiet', url(), dir]);
  assert.equal(r.code, 0, r.stderr);
  return dir;
}

async function commit(git: Git, dir: string, file: string): Promise<void> {
  fs.writeFileSync(path.join(dir, file), `${file}\n`);
  assert.equal((await git(['add', file], dir)).code, 0);
  assert.equal((await git(['commit', '--quiet', '-m', file], dir)).code, 0);
}

before(async () => {
  tb = await startDevOpsTestbed({ scenario: 'fresh' });
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'git-conformance-'));
});
after(async () => {
  await tb?.stop();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

describe('git over smart HTTP, as the build service (Contribute + Create branch, no Force push)', () => {
  test('clone and a fast-forward push are accepted', async () => {
    const git = gitAs(tb.systemAccessToken());
    const dir = await cloneAs(git, 'ff');
    await commit(git, dir, 'ff.txt');
    const r = await git(['push', 'origin', 'HEAD:main'], dir);
    assert.equal(r.code, 0, r.stderr);
  });

  test('a force push (history rewrite) is refused with TF401027 ForcePush; the branch is unchanged', async () => {
    const git = gitAs(tb.systemAccessToken());
    const dir = await cloneAs(git, 'force');
    const before = (await git(['rev-parse', 'origin/main'], dir)).stdout.trim();
    assert.equal((await git(['reset', '--quiet', '--hard', 'HEAD~1'], dir)).code, 0);
    await commit(git, dir, 'rewrite.txt');
    const r = await git(['push', '--force', 'origin', 'HEAD:main'], dir);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /\[remote rejected\] HEAD -> main \(TF401027: You need the Git 'ForcePush' permission/);
    const ls = await git(['ls-remote', 'origin', 'refs/heads/main'], dir);
    assert.equal(ls.stdout.split(/\s/)[0], before, 'main did not move');
  });

  test('a branch it created can be deleted; main (created by someone else) cannot', async () => {
    const git = gitAs(tb.systemAccessToken());
    const dir = await cloneAs(git, 'branches');
    assert.equal((await git(['push', 'origin', 'HEAD:refs/heads/feature/mine'], dir)).code, 0);
    const mine = await git(['push', 'origin', '--delete', 'feature/mine'], dir);
    assert.equal(mine.code, 0, mine.stderr);
    const main = await git(['push', 'origin', '--delete', 'main'], dir);
    assert.notEqual(main.code, 0);
    assert.match(main.stderr, /TF401027: You need the Git 'ForcePush' permission/);
  });
});

describe('git over smart HTTP, as a Project Collection Administrator (Force push allowed)', () => {
  test('the same force push is accepted', async () => {
    const git = gitAs(tb.entraToken(FRESH.serviceConnectionObjectId));
    const dir = await cloneAs(git, 'admin-force');
    assert.equal((await git(['reset', '--quiet', '--hard', 'HEAD~1'], dir)).code, 0);
    await commit(git, dir, 'admin-rewrite.txt');
    const r = await git(['push', '--force', 'origin', 'HEAD:main'], dir);
    assert.equal(r.code, 0, r.stderr);
  });
});

describe('two Authorization headers', () => {
  test('are refused with 401, whichever comes first (not first-wins)', async () => {
    const good = tb.systemAccessToken();
    const git = gitAs(good, ['-c', 'http.extraHeader=Authorization: Bearer not-a-token']);
    const r = await git(['ls-remote', url()]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /401|Authentication failed|could not read Username/);
    const alone = await gitAs(good)(['ls-remote', url()]);
    assert.equal(alone.code, 0, alone.stderr);
  });
});
