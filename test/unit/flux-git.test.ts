/**
 * Committing through the pushes API (tasks/common/devops/git.ts) against an in-memory GitApi that
 * behaves like Azure DevOps on the points that matter here: compare-and-swap on the branch tip
 * (409 TF401028 / GitReferenceStaleException), new branches from a start commit, 403s. The
 * end-to-end test runs the same code against the emulated Azure DevOps; this one covers the
 * bounds (a race lost every time) and the error texts deterministically.
 */
import { RetryPolicy } from '../../tasks/common/http/retry';
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { IGitApi } from 'azure-devops-node-api/GitApi';
import type { GitPush } from 'azure-devops-node-api/interfaces/GitInterfaces';
import { commitFiles, GitRepository } from '../../tasks/common/devops/git';
import { MemoryLogger } from '../../tasks/common/log';

/** The one retry policy on a fake clock: waits are not slept. */
const noWait = (log?: MemoryLogger) => new RetryPolicy({ sleep: async () => {}, ...(log ? { log } : {}) });

class VssError extends Error {
  constructor(
    readonly statusCode: number,
    readonly result: { message: string; typeKey: string },
  ) {
    super(result.message);
  }
}

/** Branch tips, file contents per commit, and a hook that runs before each push is judged. */
function fakeGit(opts: { beforePush?: (tips: Map<string, string>) => void; forbid?: boolean } = {}) {
  const tips = new Map<string, string>([['refs/heads/main', 'c1']]);
  const files = new Map<string, Record<string, string>>([['c1', { '/k.yaml': 'v1\n' }]]);
  const pushes: GitPush[] = [];
  let n = 1;
  const api = {
    getRepository: async () => ({
      id: 'repo-id',
      name: 'fleet',
      webUrl: 'https://dev.azure.com/contoso/platform/_git/fleet',
    }),
    getRefs: async (_r: string, _p: string, filter: string) =>
      [...tips].filter(([name]) => name.startsWith(`refs/${filter}`)).map(([name, objectId]) => ({ name, objectId })),
    getItem: async (_r: string, path: string, _p: string, ...rest: unknown[]) => {
      const version = (rest[5] as { version: string }).version;
      const content = files.get(version)?.[path];
      return content === undefined ? null : { path, content };
    },
    createPush: async (push: GitPush) => {
      opts.beforePush?.(tips);
      if (opts.forbid)
        throw new VssError(403, {
          message: "TF401027: You need the Git 'GenericContribute' permission to perform this action.",
          typeKey: 'GitNeedsPermissionException',
        });
      const ref = push.refUpdates![0]!;
      const current = tips.get(ref.name!);
      if (current !== undefined && current !== ref.oldObjectId) {
        throw new VssError(409, {
          message: `TF401028: The reference '${ref.name}' has already been updated by another client, so you cannot update it. Please try again.`,
          typeKey: 'GitReferenceStaleException',
        });
      }
      const commitId = `c${++n}`;
      const base = { ...files.get(ref.oldObjectId!) };
      for (const ch of push.commits![0]!.changes!) base[ch.item!.path!] = ch.newContent!.content!;
      files.set(commitId, base);
      tips.set(ref.name!, commitId);
      pushes.push(push);
      return { commits: [{ commitId }], refUpdates: [{ name: ref.name, newObjectId: commitId }] };
    },
  };
  return {
    api: api as unknown as IGitApi,
    tips,
    files,
    pushes,
    commit(content: string) {
      const id = `x${++n}`;
      files.set(id, { '/k.yaml': content });
      tips.set('refs/heads/main', id);
    },
  };
}

/** The change under test: append a line to k.yaml unless it is there (deterministic, idempotent). */
function compute(repo: GitRepository) {
  return async (commitId: string) => {
    const text = (await repo.readFile('/k.yaml', commitId)) ?? '';
    return text.includes('patched\n') ? [] : [{ path: '/k.yaml', content: `${text}patched\n`, exists: true }];
  };
}

describe('commitFiles', () => {
  test('a lost race re-reads the tip and re-applies on the other commit', async () => {
    let raced = false;
    const g = fakeGit({
      beforePush: () => {
        if (!raced) {
          raced = true;
          g.commit('v2 by a colleague\n');
        }
      },
    });
    const log = new MemoryLogger();
    const repo = new GitRepository(g.api, { project: 'platform', repository: 'fleet' }, log);
    const r = await commitFiles(repo, { branch: 'main', message: 'patch', compute: compute(repo), retry: noWait(log) });
    assert.equal(r.attempts, 2);
    assert.equal(g.files.get(r.commitId!)!['/k.yaml'], 'v2 by a colleague\npatched\n');
    assert.match(
      log.text(),
      /retrying the push to refs\/heads\/main \(the branch moved: re-reading the tip and re-applying\) after 409 GitReferenceStaleException, waiting \d+ms \(attempt 2\/12\)/,
    );
  });

  test('nothing to commit: no push', async () => {
    const g = fakeGit();
    g.commit('v1\npatched\n');
    const repo = new GitRepository(g.api, { project: 'platform', repository: 'fleet' }, new MemoryLogger());
    const r = await commitFiles(repo, { branch: 'main', message: 'patch', compute: compute(repo), retry: noWait() });
    assert.equal(r.commitId, undefined);
    assert.equal(g.pushes.length, 0);
  });

  test('losing every race is bounded and says what to do', async () => {
    const g = fakeGit({ beforePush: () => g.commit(`v${Math.random()}\n`) });
    const repo = new GitRepository(g.api, { project: 'platform', repository: 'fleet' }, new MemoryLogger());
    await assert.rejects(
      commitFiles(repo, { branch: 'main', message: 'patch', compute: compute(repo), maxAttempts: 3, retry: noWait() }),
      (e: Error & { fix?: string }) =>
        /lost the race against other pushes 3 times in a row/.test(e.message) &&
        /^re-run the task .*maxParallel.*clusters\/\*\/flux-system/.test(e.fix ?? ''),
    );
  });

  test('a new branch starts from the given commit', async () => {
    const g = fakeGit();
    const repo = new GitRepository(g.api, { project: 'platform', repository: 'fleet' }, new MemoryLogger());
    const r = await commitFiles(repo, {
      branch: 'flux-oidc/prod',
      startFrom: 'c1',
      message: 'patch',
      compute: compute(repo),
    });
    assert.equal(g.tips.get('refs/heads/flux-oidc/prod'), r.commitId);
    assert.equal(g.pushes[0]!.refUpdates![0]!.oldObjectId, 'c1');
    assert.equal(g.tips.get('refs/heads/main'), 'c1');
  });

  test('403 names who lacks which permission', async () => {
    const g = fakeGit({ forbid: true });
    const repo = new GitRepository(
      g.api,
      { project: 'platform', repository: 'fleet' },
      new MemoryLogger(),
      "the project's build service identity (the job access token)",
    );
    await assert.rejects(
      commitFiles(repo, { branch: 'main', message: 'patch', compute: compute(repo), retry: noWait() }),
      (e: Error & { cause?: string; fix?: string }) =>
        e.message === 'Could not push to refs/heads/main: access denied (HTTP 403).' &&
        /the project's build service identity \(the job access token\) lacks the 'Contribute' Git permission/.test(
          e.cause ?? '',
        ) &&
        /TF401027/.test(e.cause ?? ''),
    );
  });
});
