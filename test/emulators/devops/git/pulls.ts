/**
 * Pull requests, kept in the state. Reads show the current tips and a trial merge (git merge-tree)
 * as `mergeStatus`/`lastMergeCommit`; completing one really merges into the target branch.
 */
import * as crypto from 'node:crypto';
import { TF, vssError } from '../errors';
import { collection, enumValue, jsonBody, ok, prop, query, queryInt, route } from '../http';
import { identityById, sameId } from '../identity';
import type { PullRequestState } from '../model';
import { GIT_BITS } from '../security';
import { who, type DevOpsRoute, type Req } from '../service';
import { identityRefById, projectRef } from '../views';
import {
  callerPerson,
  remoteUrl,
  repoApiUrl,
  repoOf,
  repoPermitted,
  requireRepoPermission,
  visibleRepos,
  type RepoRef,
} from './common';
import { ZERO_ID } from './store';

const STATUS = { notSet: 0, active: 1, abandoned: 2, completed: 3, all: 4 } as const;

function nextId(r: Req): number {
  let max = 0;
  for (const p of r.ctx.state.projects)
    for (const repo of p.repositories) for (const pr of repo.pullRequests ?? []) max = Math.max(max, pr.pullRequestId);
  return max + 1;
}

function branchRef(v: unknown, field: string): string {
  if (typeof v !== 'string' || !/^refs\/heads\/./.test(v))
    throw vssError(
      400,
      'InvalidArgumentValueException',
      `${field} must be a branch ref such as refs/heads/main, got ${JSON.stringify(v)}.`,
      'Git',
    );
  return v;
}

/** Refreshes the tips of an active pull request and tries the merge. */
async function refresh(r: Req, ref: RepoRef, pr: PullRequestState): Promise<'succeeded' | 'conflicts' | 'queued'> {
  if (pr.status !== 'active') return pr.status === 'completed' ? 'succeeded' : 'queued';
  const store = r.ctx.svc.git;
  const source = await store.refTip(ref.repo.id, pr.sourceRefName);
  const target = await store.refTip(ref.repo.id, pr.targetRefName);
  if (!source || !target) return 'queued';
  if (source !== pr.sourceCommitId || target !== pr.targetCommitId || !pr.mergeCommitId) {
    pr.sourceCommitId = source;
    pr.targetCommitId = target;
    delete pr.mergeCommitId;
    const merged = await store.mergeTree(ref.repo.id, target, source);
    if ('conflicts' in merged) return 'conflicts';
    pr.mergeCommitId = await store.commitTree(
      ref.repo.id,
      merged.treeId,
      [target, source],
      `Merge pull request ${pr.pullRequestId} from ${pr.sourceRefName} into ${pr.targetRefName}`,
      { name: 'Azure DevOps', email: 'azuredevops@microsoft.com', time: store.now() },
    );
  }
  return 'succeeded';
}

function prJson(r: Req, ref: RepoRef, pr: PullRequestState, mergeStatus: string): Record<string, unknown> {
  const u = r.ctx.urls;
  const repoUrl = repoApiUrl(u, ref);
  const url = `${repoUrl}/pullRequests/${pr.pullRequestId}`;
  const commit = (id: string): { commitId: string; url: string } => ({ commitId: id, url: `${repoUrl}/commits/${id}` });
  const json: Record<string, unknown> = {
    repository: {
      id: ref.repo.id,
      name: ref.repo.name,
      url: repoUrl,
      project: projectRef(u, ref.project),
      remoteUrl: remoteUrl(u, ref),
    },
    pullRequestId: pr.pullRequestId,
    codeReviewId: pr.pullRequestId,
    status: pr.status,
    createdBy: identityRefById(u, r.ctx.state, pr.createdBy),
    creationDate: pr.creationDate,
  };
  if (pr.closedDate) json.closedDate = pr.closedDate;
  Object.assign(json, {
    title: pr.title,
    description: pr.description,
    sourceRefName: pr.sourceRefName,
    targetRefName: pr.targetRefName,
    mergeStatus,
    isDraft: pr.isDraft ?? false,
    mergeId: pr.mergeId,
    lastMergeSourceCommit: commit(pr.sourceCommitId),
    lastMergeTargetCommit: commit(pr.targetCommitId),
  });
  if (pr.mergeCommitId) json.lastMergeCommit = commit(pr.mergeCommitId);
  json.reviewers = pr.reviewers.map((id) => ({
    reviewerUrl: `${url}/reviewers/${id}`,
    vote: 0,
    hasDeclined: false,
    isFlagged: false,
    ...identityRefById(u, r.ctx.state, id),
  }));
  json.url = url;
  json._links = {
    self: { href: url },
    repository: { href: repoUrl },
    workItems: { href: `${url}/workitems` },
    sourceBranch: { href: `${repoUrl}/refs` },
    targetBranch: { href: `${repoUrl}/refs` },
    statuses: { href: `${url}/statuses` },
    sourceCommit: { href: `${repoUrl}/commits/${pr.sourceCommitId}` },
    targetCommit: { href: `${repoUrl}/commits/${pr.targetCommitId}` },
    createdBy: { href: `${u.vssps}/_apis/Identities/${pr.createdBy}` },
    iterations: { href: `${url}/iterations` },
  };
  json.supportsIterations = true;
  json.artifactId = `vstfs:///Git/PullRequestId/${ref.project.id}%2f${ref.repo.id}%2f${pr.pullRequestId}`;
  return json;
}

async function createPr(r: Req) {
  const ref = await repoOf(r);
  const caller = who(r);
  const body = jsonBody(r.req, 'pull request');
  const sourceRefName = branchRef(prop(body, 'sourceRefName'), 'sourceRefName');
  const targetRefName = branchRef(prop(body, 'targetRefName'), 'targetRefName');
  const title = prop<string>(body, 'title');
  if (typeof title !== 'string' || !title.trim())
    throw vssError(400, 'InvalidArgumentValueException', 'title is missing: a pull request needs a title.', 'Git');
  if (sourceRefName === targetRefName)
    throw vssError(
      400,
      'InvalidArgumentValueException',
      `The source and target branch are the same (${sourceRefName}).`,
      'Git',
    );
  const reviewers = (prop<unknown[]>(body, 'reviewers') ?? []).map((x, i) => {
    const id = prop<string>(x, 'id');
    if (typeof id !== 'string' || !identityById(r.ctx.state, id))
      throw vssError(
        400,
        'InvalidArgumentValueException',
        `reviewers[${i}].id '${String(id)}' is not an identity of this organization.`,
        'Git',
      );
    return id;
  });
  requireRepoPermission(r, ref, GIT_BITS.pullRequestContribute);
  const store = r.ctx.svc.git;
  const source = await store.refTip(ref.repo.id, sourceRefName);
  const target = await store.refTip(ref.repo.id, targetRefName);
  if (!source || !target) {
    throw vssError(
      400,
      'GitPullRequestInvalidRefException',
      'TF401398: The pull request cannot be activated because the source and/or the target branch no longer exists, or the requested refs are not branches',
      'Git',
    );
  }
  const prs = (ref.repo.pullRequests ??= []);
  if (
    prs.some((p) => p.status === 'active' && p.sourceRefName === sourceRefName && p.targetRefName === targetRefName)
  ) {
    throw vssError(409, 'GitPullRequestExistsException', TF.prExists(), 'Git');
  }
  const pr: PullRequestState = {
    pullRequestId: nextId(r),
    title,
    description: prop<string>(body, 'description') ?? '',
    sourceRefName,
    targetRefName,
    status: 'active',
    isDraft: prop<boolean>(body, 'isDraft') === true,
    createdBy: caller.identity.id,
    creationDate: r.ctx.svc.cloud.clock.iso(),
    sourceCommitId: source,
    targetCommitId: target,
    mergeId: crypto.randomUUID(),
    reviewers,
  };
  prs.push(pr);
  return ok(prJson(r, ref, pr, 'queued'), 201);
}

function findPr(ref: RepoRef, id: string): PullRequestState {
  const pr = (ref.repo.pullRequests ?? []).find((p) => String(p.pullRequestId) === id);
  if (!pr)
    throw vssError(
      404,
      'GitPullRequestNotFoundException',
      `TF401180: The requested pull request was not found.`,
      'Git',
    );
  return pr;
}

async function listPrs(r: Req) {
  const refs = r.params.repo ? [await repoOf(r)] : visibleRepos(r, r.ctx.project);
  const status = enumValue(query(r.req, 'searchCriteria.status'), STATUS, 'searchCriteria.status') ?? 'active';
  const source = query(r.req, 'searchCriteria.sourceRefName');
  const target = query(r.req, 'searchCriteria.targetRefName');
  const creator = query(r.req, 'searchCriteria.creatorId');
  const skip = queryInt(r.req, '$skip') ?? 0;
  const top = queryInt(r.req, '$top') ?? 101;
  const out: Record<string, unknown>[] = [];
  for (const ref of refs) {
    if (refs.length > 1) await r.ctx.svc.repos.ensure(ref.repo);
    const prs = (ref.repo.pullRequests ?? []).filter(
      (p) =>
        (status === 'all' || status === 'notSet' || p.status === status) &&
        (!source || p.sourceRefName === source) &&
        (!target || p.targetRefName === target) &&
        (!creator || sameId(p.createdBy, creator)),
    );
    for (const pr of prs.slice().sort((a, b) => b.pullRequestId - a.pullRequestId))
      out.push(prJson(r, ref, pr, await refresh(r, ref, pr)));
  }
  return ok(collection(out.slice(skip, skip + top)));
}

async function getPr(r: Req) {
  const ref = await repoOf(r);
  const pr = findPr(ref, r.params.id ?? '');
  return ok(prJson(r, ref, pr, await refresh(r, ref, pr)));
}

async function getPrById(r: Req) {
  const id = r.params.id ?? '';
  for (const ref of visibleRepos(r, r.ctx.project)) {
    const pr = (ref.repo.pullRequests ?? []).find((p) => String(p.pullRequestId) === id);
    if (pr) {
      await r.ctx.svc.repos.ensure(ref.repo);
      return ok(prJson(r, ref, pr, await refresh(r, ref, pr)));
    }
  }
  throw vssError(404, 'GitPullRequestNotFoundException', 'TF401180: The requested pull request was not found.', 'Git');
}

async function updatePr(r: Req) {
  const ref = await repoOf(r);
  const caller = who(r);
  const pr = findPr(ref, r.params.id ?? '');
  const body = jsonBody(r.req, 'pull request update');
  if (
    !sameId(pr.createdBy, caller.identity.id) &&
    !repoPermitted(r.ctx.state, caller, ref, GIT_BITS.pullRequestContribute)
  ) {
    requireRepoPermission(r, ref, GIT_BITS.pullRequestContribute);
  }
  const title = prop<string>(body, 'title');
  const description = prop<string>(body, 'description');
  const isDraft = prop<boolean>(body, 'isDraft');
  if (typeof title === 'string' && title.trim()) pr.title = title;
  if (typeof description === 'string') pr.description = description;
  if (typeof isDraft === 'boolean') pr.isDraft = isDraft;
  const status = enumValue(prop(body, 'status'), STATUS, 'status');
  if (status === 'abandoned' && pr.status === 'active') {
    pr.status = 'abandoned';
    pr.closedDate = r.ctx.svc.cloud.clock.iso();
  } else if (status === 'active' && pr.status === 'abandoned') {
    pr.status = 'active';
    delete pr.closedDate;
  } else if (status === 'completed' && pr.status === 'active') await complete(r, ref, pr, body);
  return ok(prJson(r, ref, pr, await refresh(r, ref, pr)));
}

/** Merges the pull request into its target (no-fast-forward merge commit, or squash). */
async function complete(r: Req, ref: RepoRef, pr: PullRequestState, body: unknown): Promise<void> {
  const caller = who(r);
  requireRepoPermission(r, ref, GIT_BITS.contribute);
  const store = r.ctx.svc.git;
  await store.exclusive(ref.repo.id, async () => {
    const source = await store.refTip(ref.repo.id, pr.sourceRefName);
    const target = await store.refTip(ref.repo.id, pr.targetRefName);
    if (!source || !target)
      throw vssError(
        409,
        'GitPullRequestInvalidRefException',
        'TF401398: The pull request cannot be completed because the source and/or the target branch no longer exists.',
        'Git',
      );
    const expected = prop<string>(prop(body, 'lastMergeSourceCommit'), 'commitId');
    if (expected && expected.toLowerCase() !== source) {
      throw vssError(
        409,
        'GitPullRequestStaleException',
        `The pull request's source branch has moved to ${source}; read the pull request again and retry with that lastMergeSourceCommit.`,
        'Git',
      );
    }
    const merged = await store.mergeTree(ref.repo.id, target, source);
    if ('conflicts' in merged)
      throw vssError(
        409,
        'GitPullRequestMergeConflictException',
        `The pull request has merge conflicts in: ${merged.conflicts.join(', ')}.`,
        'Git',
      );
    const options = prop(body, 'completionOptions');
    const squash =
      String(prop(options, 'mergeStrategy') ?? '').toLowerCase() === 'squash' || prop(options, 'squashMerge') === true;
    const message = prop<string>(options, 'mergeCommitMessage') ?? `Merged PR ${pr.pullRequestId}: ${pr.title}`;
    const mergeCommit = await store.commitTree(
      ref.repo.id,
      merged.treeId,
      squash ? [target] : [target, source],
      message,
      callerPerson(caller, store.now()),
    );
    if (!(await store.updateRef(ref.repo.id, pr.targetRefName, mergeCommit, target)))
      throw vssError(409, 'GitReferenceStaleException', TF.staleRef(pr.targetRefName), 'Git');
    if (prop(options, 'deleteSourceBranch') === true)
      await store.updateRef(ref.repo.id, pr.sourceRefName, ZERO_ID, source);
    pr.status = 'completed';
    pr.closedDate = r.ctx.svc.cloud.clock.iso();
    pr.sourceCommitId = source;
    pr.targetCommitId = target;
    pr.mergeCommitId = mergeCommit;
  });
}

async function prCommits(r: Req) {
  const ref = await repoOf(r);
  const pr = findPr(ref, r.params.id ?? '');
  await refresh(r, ref, pr);
  const store = r.ctx.svc.git;
  const shas = (await store.git(ref.repo.id, ['rev-list', `${pr.targetCommitId}..${pr.sourceCommitId}`]))
    .split('\n')
    .filter(Boolean);
  const out: Record<string, unknown>[] = [];
  for (const s of shas) {
    const c = await store.commit(ref.repo.id, s);
    if (c)
      out.push({
        commitId: c.commitId,
        author: { name: c.author.name, email: c.author.email },
        comment: c.message,
        url: `${repoApiUrl(r.ctx.urls, ref)}/commits/${c.commitId}`,
      });
  }
  return ok(collection(out));
}

export const pullRequestRoutes: DevOpsRoute[] = [
  route('GET', '_apis/git/repositories/:repo/pullrequests', { scope: 'any' }, listPrs),
  route('POST', '_apis/git/repositories/:repo/pullrequests', { scope: 'any' }, createPr),
  route('GET', '_apis/git/repositories/:repo/pullrequests/:id', { scope: 'any' }, getPr),
  route('PATCH', '_apis/git/repositories/:repo/pullrequests/:id', { scope: 'any' }, updatePr),
  route('GET', '_apis/git/repositories/:repo/pullrequests/:id/commits', { scope: 'any' }, prCommits),
  route('GET', '_apis/git/pullrequests', { scope: 'any' }, listPrs),
  route('GET', '_apis/git/pullrequests/:id', { scope: 'any' }, getPrById),
];
