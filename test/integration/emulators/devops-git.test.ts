/**
 * Git on the devops emulator: the REST API through azure-devops-node-api's GitApi (pushes, stale
 * pushes, permissions, items, commits, refs, pull requests) and the system `git` over smart HTTP
 * with a bearer token, both on the same real repository.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as azdev from 'azure-devops-node-api';
import type { IGitApi } from 'azure-devops-node-api/GitApi';
import {
  GitRefUpdateStatus,
  GitVersionType,
  PullRequestStatus,
  VersionControlChangeType,
  ItemContentType,
  VersionControlRecursionType,
} from 'azure-devops-node-api/interfaces/GitInterfaces';
import { FRESH, GIT_SECURITY_NAMESPACE } from '../../emulators/names';
import { CONVERGED_IDENTITY } from '../../emulators/devops/ids';
import { groupSid } from '../../emulators/devops/identity';
import { startDevOpsTestbed, type DevOpsTestbed } from '../../emulators/devops/testing';

const P = 'platform';
const R = FRESH.repositoryId;
const MI = CONVERGED_IDENTITY.principalId;
const READERS_TEAM = '3c9e7b1a-5d2f-4e8c-9a6b-0f1e2d3c4b5a';

/** The system git; GIT_SSL_CAINFO (which wins over -c http.sslCAInfo) trusts the emulators' CA. */
let caFile = '';
function run(cmd: string, args: string[], cwd?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      cmd,
      args,
      {
        cwd,
        env: {
          ...process.env,
          GIT_TERMINAL_PROMPT: '0',
          GIT_CONFIG_GLOBAL: '/dev/null',
          GIT_CONFIG_NOSYSTEM: '1',
          GIT_SSL_CAINFO: caFile,
        },
      },
      (err, stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
      },
    );
  });
}

function errorOf(e: unknown): { statusCode?: number; message: string } {
  return { statusCode: (e as { statusCode?: number }).statusCode, message: (e as Error).message };
}

describe('devops emulator: Git REST and smart HTTP on real repositories', () => {
  let tb: DevOpsTestbed;
  let git: IGitApi;
  let work: string;

  before(async () => {
    tb = await startDevOpsTestbed({
      scenario: 'fresh',
      // A reader: the managed identity (Basic) in a team that only has Read on the repository.
      mutate: (s) => {
        s.principals.push({
          kind: 'servicePrincipal',
          id: CONVERGED_IDENTITY.storageKey,
          displayName: FRESH.identityName,
          originId: MI,
          applicationId: CONVERGED_IDENTITY.clientId,
          license: 'express',
        });
        const sid = groupSid(FRESH.projectId, READERS_TEAM);
        s.groups.push({
          id: READERS_TEAM,
          kind: 'team',
          displayName: 'Fleet readers',
          projectId: FRESH.projectId,
          sid,
          members: [CONVERGED_IDENTITY.storageKey],
        });
        s.acls.push({
          namespaceId: GIT_SECURITY_NAMESPACE,
          token: `repoV2/${FRESH.projectId}/${R}`,
          inheritPermissions: true,
          aces: [{ descriptor: `Microsoft.TeamFoundation.Identity;${sid}`, allow: 2, deny: 0 }],
        });
      },
    });
    git = await new azdev.WebApi(
      tb.orgUrl,
      azdev.getBearerHandler(tb.entraToken(FRESH.serviceConnectionObjectId)),
    ).getGitApi();
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'devops-git-test-'));
    caFile = tb.caFile;
  });
  after(async () => {
    await tb?.stop();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  const tip = async (branch = 'main'): Promise<string> => (await git.getRefs(R, P, `heads/${branch}`))[0]!.objectId!;
  const cloneUrl = (): string => `${tb.orgUrl}/${P}/_git/fleet`;
  const bearer = (token: string): string[] => ['-c', `http.extraHeader=Authorization: Bearer ${token}`];

  it('reads the seeded Flux bootstrap: repository, refs, items, commits', async () => {
    const repo = await git.getRepository('fleet', P);
    assert.equal(repo.id, R);
    assert.equal(repo.defaultBranch, 'refs/heads/main');
    assert.equal(
      repo.remoteUrl,
      `${tb.urls.devops.replace('https://', 'https://contoso@')}/contoso/platform/_git/fleet`,
    );
    assert.equal((await git.getRepository(R)).name, 'fleet', 'by id without a project');
    const files = await git.getItems(R, P, '/clusters/prod/flux-system', VersionControlRecursionType.OneLevel);
    assert.deepEqual(
      files.map((i) => i.path),
      [
        '/clusters/prod/flux-system',
        '/clusters/prod/flux-system/gotk-components.yaml',
        '/clusters/prod/flux-system/gotk-sync.yaml',
        '/clusters/prod/flux-system/kustomization.yaml',
      ],
    );
    const sync = await git.getItem(
      R,
      '/clusters/prod/flux-system/gotk-sync.yaml',
      P,
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
      { version: 'main', versionType: GitVersionType.Branch },
      true,
    );
    assert.match(sync.content!, /url: ssh:\/\/git@ssh\.dev\.azure\.com\/v3\/contoso\/platform\/fleet/);
    assert.match(sync.content!, /secretRef:\n {4}name: flux-system/);
    const commits = await git.getCommits(R, { itemVersion: { version: 'main' }, $top: 10 }, P);
    assert.deepEqual(
      commits.map((c) => c.comment?.trim()),
      ['Add Flux sync manifests', 'Add Flux v2.4.0 component manifests', 'Initial commit'],
    );
  });

  it('pushes add / edit / rename / delete changes (names or numbers, rawtext or base64) as real commits', async () => {
    const base = await tip();
    const push = await git.createPush(
      {
        refUpdates: [{ name: 'refs/heads/main', oldObjectId: base }],
        commits: [
          {
            comment: 'Add apps',
            changes: [
              {
                changeType: VersionControlChangeType.Add,
                item: { path: '/apps/podinfo.yaml' },
                newContent: { content: 'kind: Namespace\n', contentType: ItemContentType.RawText },
              },
              {
                changeType: VersionControlChangeType.Add,
                item: { path: '/apps/bin.dat' },
                newContent: {
                  content: Buffer.from([0, 1, 2]).toString('base64'),
                  contentType: ItemContentType.Base64Encoded,
                },
              },
            ],
          },
          {
            comment: 'Rework apps',
            changes: [
              {
                changeType: VersionControlChangeType.Edit,
                item: { path: '/apps/podinfo.yaml' },
                newContent: {
                  content: 'kind: Namespace\nmetadata: {name: podinfo}\n',
                  contentType: ItemContentType.RawText,
                },
              },
              {
                changeType: VersionControlChangeType.Rename,
                sourceServerItem: '/apps/bin.dat',
                item: { path: '/apps/data.bin' },
              },
            ],
          },
        ],
      },
      R,
      P,
    );
    assert.equal(push.commits!.length, 2);
    assert.deepEqual(push.commits![1]!.parents, [push.commits![0]!.commitId]);
    assert.equal(push.refUpdates![0]!.newObjectId, push.commits![1]!.commitId);
    assert.equal(await tip(), push.commits![1]!.commitId);
    const stream = await git.getItemContent(R, '/apps/data.bin', P);
    const bytes: Buffer[] = [];
    for await (const c of stream) bytes.push(c as Buffer);
    assert.deepEqual([...Buffer.concat(bytes)], [0, 1, 2]);
    const del = await git.createPush(
      {
        refUpdates: [{ name: 'refs/heads/main', oldObjectId: await tip() }],
        commits: [
          {
            comment: 'Drop data',
            changes: [
              { changeType: 'delete' as unknown as VersionControlChangeType, item: { path: '/apps/data.bin' } },
            ],
          },
        ],
      },
      R,
      P,
    );
    assert.equal(del.commits![0]!.comment, 'Drop data\n');
    const apps = await git.getItems(R, P, '/apps', VersionControlRecursionType.Full);
    assert.deepEqual(
      apps.map((i) => i.path),
      ['/apps', '/apps/podinfo.yaml'],
    );
  });

  it('rejects a stale push with 409 TF401028 and leaves the branch alone', async () => {
    const stale = await tip();
    await git.createPush(
      {
        refUpdates: [{ name: 'refs/heads/main', oldObjectId: stale }],
        commits: [
          {
            comment: 'One',
            changes: [
              {
                changeType: VersionControlChangeType.Add,
                item: { path: '/one.txt' },
                newContent: { content: '1', contentType: ItemContentType.RawText },
              },
            ],
          },
        ],
      },
      R,
      P,
    );
    const after1 = await tip();
    await assert.rejects(
      git.createPush(
        {
          refUpdates: [{ name: 'refs/heads/main', oldObjectId: stale }],
          commits: [
            {
              comment: 'Two',
              changes: [
                {
                  changeType: VersionControlChangeType.Add,
                  item: { path: '/two.txt' },
                  newContent: { content: '2', contentType: ItemContentType.RawText },
                },
              ],
            },
          ],
        },
        R,
        P,
      ),
      (e) =>
        errorOf(e).statusCode === 409 &&
        errorOf(e).message ===
          "TF401028: The reference 'refs/heads/main' has already been updated by another client, so you cannot update it. Please try again.",
    );
    assert.equal(await tip(), after1);
  });

  it('rejects add of an existing path and edit of a missing one with 400', async () => {
    const t = await tip();
    const change = (changeType: string, p: string) => ({
      refUpdates: [{ name: 'refs/heads/main', oldObjectId: t }],
      commits: [
        {
          comment: 'x',
          changes: [
            {
              changeType: changeType as unknown as VersionControlChangeType,
              item: { path: p },
              newContent: { content: 'x', contentType: ItemContentType.RawText },
            },
          ],
        },
      ],
    });
    await assert.rejects(
      git.createPush(change('add', '/README.md'), R, P),
      (e) =>
        errorOf(e).statusCode === 400 &&
        /'\/README\.md' specified in the add operation already exists/.test(errorOf(e).message),
    );
    await assert.rejects(
      git.createPush(change('edit', '/nope.md'), R, P),
      (e) => errorOf(e).statusCode === 400 && /'\/nope\.md' does not exist/.test(errorOf(e).message),
    );
    assert.equal(await tip(), t);
  });

  it('needs Contribute to push (403 TF401027) and CreateBranch for a new branch; refs API reports per ref', async () => {
    const reader = await new azdev.WebApi(tb.orgUrl, azdev.getBearerHandler(tb.entraToken(MI))).getGitApi();
    assert.equal((await reader.getRepository('fleet', P)).id, R, 'Read is enough to see the repository');
    const t = await tip();
    await assert.rejects(
      reader.createPush(
        {
          refUpdates: [{ name: 'refs/heads/main', oldObjectId: t }],
          commits: [
            {
              comment: 'x',
              changes: [
                {
                  changeType: VersionControlChangeType.Add,
                  item: { path: '/mi.txt' },
                  newContent: { content: 'x', contentType: ItemContentType.RawText },
                },
              ],
            },
          ],
        },
        R,
        P,
      ),
      (e) =>
        errorOf(e).statusCode === 403 &&
        errorOf(e).message ===
          "TF401027: You need the Git 'GenericContribute' permission to perform this action. Details: identity 'flux-aks-prod', scope 'repository'.",
    );

    const branch = await git.createPush(
      {
        refUpdates: [{ name: 'refs/heads/flux-oidc', oldObjectId: t }],
        commits: [
          {
            comment: 'Branch',
            changes: [
              {
                changeType: VersionControlChangeType.Add,
                item: { path: '/branch.txt' },
                newContent: { content: 'b', contentType: ItemContentType.RawText },
              },
            ],
          },
        ],
      },
      R,
      P,
    );
    assert.equal(branch.refUpdates![0]!.oldObjectId, '0000000000000000000000000000000000000000');
    assert.deepEqual(branch.commits![0]!.parents, [t]);

    const refs = await git.updateRefs(
      [
        { name: 'refs/heads/from-api', oldObjectId: '0000000000000000000000000000000000000000', newObjectId: t },
        { name: 'refs/heads/main', oldObjectId: branch.commits![0]!.commitId!, newObjectId: t },
      ],
      R,
      P,
    );
    assert.deepEqual(
      refs.map((r) => [r.name, r.success, r.updateStatus]),
      [
        ['refs/heads/from-api', true, GitRefUpdateStatus.Succeeded],
        ['refs/heads/main', false, GitRefUpdateStatus.StaleOldObjectId],
      ],
    );
  });

  it('pull requests: create, duplicate 409 TF401179, list by branch and status, update, complete with a merge', async () => {
    const create = () =>
      git.createPullRequest(
        {
          sourceRefName: 'refs/heads/flux-oidc',
          targetRefName: 'refs/heads/main',
          title: 'Flux OIDC',
          description: 'Patch flux-system',
        },
        R,
        P,
      );
    const pr = await create();
    assert.equal(pr.status, PullRequestStatus.Active);
    await assert.rejects(
      create(),
      (e) =>
        errorOf(e).statusCode === 409 &&
        /^TF401179: An active pull request for the source and target branch already exists\./.test(errorOf(e).message),
    );
    const bySource = await git.getPullRequests(
      R,
      { sourceRefName: 'refs/heads/flux-oidc', status: PullRequestStatus.Active },
      P,
    );
    assert.deepEqual(
      bySource.map((p) => p.pullRequestId),
      [pr.pullRequestId],
    );
    assert.deepEqual(await git.getPullRequests(R, { targetRefName: 'refs/heads/other' }, P), []);
    const renamed = await git.updatePullRequest(
      { title: 'Flux OIDC: workload identity', description: 'Use provider: azure' },
      R,
      pr.pullRequestId!,
      P,
    );
    assert.equal(renamed.title, 'Flux OIDC: workload identity');
    assert.equal((await git.getPullRequestById(pr.pullRequestId!, P)).description, 'Use provider: azure');

    const mainBefore = await tip();
    const done = await git.updatePullRequest(
      { status: PullRequestStatus.Completed, lastMergeSourceCommit: renamed.lastMergeSourceCommit },
      R,
      pr.pullRequestId!,
      P,
    );
    assert.equal(done.status, PullRequestStatus.Completed);
    const merge = await git.getCommit(await tip(), R, P);
    assert.deepEqual(merge.parents, [mainBefore, renamed.lastMergeSourceCommit!.commitId]);
    assert.equal(
      (await git.getItem(R, '/branch.txt', P, undefined, undefined, undefined, undefined, undefined, undefined, true))
        .content,
      'b',
    );
    assert.deepEqual(await git.getPullRequests(R, { status: PullRequestStatus.Active }, P), []);
  });

  it('git clone over smart HTTP with a bearer token sees the commit made through the pushes API', async () => {
    const pushed = await git.createPush(
      {
        refUpdates: [{ name: 'refs/heads/main', oldObjectId: await tip() }],
        commits: [
          {
            comment: 'Made through REST',
            changes: [
              {
                changeType: VersionControlChangeType.Add,
                item: { path: '/clusters/prod/rest.txt' },
                newContent: { content: 'from REST\n', contentType: ItemContentType.RawText },
              },
            ],
          },
        ],
      },
      R,
      P,
    );
    const dir = path.join(work, 'clone');
    const clone = await run('git', [
      ...bearer(tb.entraToken(FRESH.serviceConnectionObjectId)),
      'clone',
      '--quiet',
      cloneUrl(),
      dir,
    ]);
    assert.equal(clone.code, 0, clone.stderr);
    const head = await run('git', ['log', '-1', '--format=%H %s'], dir);
    assert.equal(head.stdout.trim(), `${pushed.commits![0]!.commitId} Made through REST`);
    assert.equal(fs.readFileSync(path.join(dir, 'clusters/prod/rest.txt'), 'utf8'), 'from REST\n');

    // Basic with any user name and the token as password works too (the PAT form).
    const basic = Buffer.from(`x:${tb.entraToken(MI)}`).toString('base64');
    const readerClone = await run('git', [
      '-c',
      `http.extraHeader=Authorization: Basic ${basic}`,
      'clone',
      '--quiet',
      cloneUrl(),
      path.join(work, 'reader'),
    ]);
    assert.equal(readerClone.code, 0, readerClone.stderr);

    const anonymous = await run('git', ['clone', '--quiet', cloneUrl(), path.join(work, 'anon')]);
    assert.notEqual(anonymous.code, 0);
  });

  it('git push over smart HTTP: a contributor pushes (visible through REST), a reader is refused', async () => {
    const dir = path.join(work, 'clone');
    const ident = ['-c', 'user.name=Platform Engineer', '-c', 'user.email=pe@contoso.com'];
    fs.writeFileSync(path.join(dir, 'pushed.txt'), 'over http\n');
    await run('git', ['add', 'pushed.txt'], dir);
    assert.equal((await run('git', [...ident, 'commit', '--quiet', '-m', 'Pushed over smart HTTP'], dir)).code, 0);
    const pushed = await run(
      'git',
      [...bearer(tb.entraToken(FRESH.serviceConnectionObjectId)), 'push', '--quiet', 'origin', 'HEAD:main'],
      dir,
    );
    assert.equal(pushed.code, 0, pushed.stderr);
    const commits = await git.getCommits(R, { $top: 1 }, P);
    assert.equal(commits[0]!.comment?.trim(), 'Pushed over smart HTTP');

    const readerDir = path.join(work, 'reader');
    fs.writeFileSync(path.join(readerDir, 'mi.txt'), 'x\n');
    await run('git', ['add', 'mi.txt'], readerDir);
    await run('git', [...ident, 'commit', '--quiet', '-m', 'Reader push'], readerDir);
    const refused = await run(
      'git',
      [...bearer(tb.entraToken(MI)), 'push', '--quiet', 'origin', 'HEAD:refs/heads/mi-branch'],
      readerDir,
    );
    assert.notEqual(refused.code, 0);
    assert.match(
      refused.stderr,
      /remote: TF401027: You need the Git 'GenericContribute' permission to perform this action\. Details: identity 'flux-aks-prod', scope 'repository'\./,
    );
    assert.match(refused.stderr, /\[remote rejected\]/);
    assert.equal((await git.getCommits(R, { $top: 1 }, P))[0]!.comment?.trim(), 'Pushed over smart HTTP');
    const receive = tb.ctx.journal.entries({ path: /git-receive-pack$/ });
    assert.deepEqual(
      receive.map((e) => [e.status, e.write]),
      [
        [200, true],
        [200, true],
      ],
    );
    assert.ok(
      tb.ctx.journal.entries({ path: /git-upload-pack$/ }).every((e) => !e.write),
      'fetches are reads',
    );
  });
});
