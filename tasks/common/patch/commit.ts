/**
 * FluxManifestPatch's commit modes: one commit on the target branch (push), or a commit on a pull
 * request branch and one active pull request (pullRequest). Both compute the files from the
 * repository's contents at the branch tip (not from the checkout, which may be stale), and both
 * print the diff of what was actually pushed.
 *
 * A pull request a person has edited keeps their words: the title is changed only when
 * pullRequestTitle asks for it, and the task's text lives in a marked section of the description
 * (added at the end when the description has none).
 */
import * as path from 'node:path';
import {
  BranchPolicyError,
  branchRef,
  commitFiles,
  type CommitResult,
  type GitRepository,
  type RepoFile,
} from '../devops/git';
import { unifiedDiff } from '../flux/diff';
import { patchFolder, type FolderReader, type FolderResult } from '../flux/folder';
import type { RetryPolicy } from '../http/retry';
import type { Logger } from '../log';
import type { Step } from '../plan';
import { UserError } from '../errors';
import type { CommitMode } from './model';
import { clusterName } from './workspace';

/** What commitSteps needs of a planned folder. */
export interface CommitFolder {
  /** Relative to the working directory (what the user sees). */
  rel: string;
  /** Relative to the repository root, '/'-separated. */
  repoPath: string;
  options: Parameters<typeof patchFolder>[1];
  /** The checkout's change per file (path relative to the folder -> unified diff), as printed before. */
  checkoutDiffs: Map<string, string>;
}

export interface CommitInputs {
  commitMode: Exclude<CommitMode, 'none'>;
  clientId: string;
  targetBranch: string;
  pullRequestBranch?: string;
  commitMessage?: string;
  pullRequestTitle?: string;
  /** Push mode: open a pull request when the branch requires one (TF402455). */
  fallbackToPullRequest?: boolean;
}

export interface CommitOutputs {
  commitId: string;
  pullRequestId: string;
  pullRequestUrl: string;
}

interface CommitObservation {
  targetTip: string;
  targetFiles: RepoFile[];
  branchTip?: string;
  branchFiles?: RepoFile[];
  pullRequest?: { id: number; title?: string; description?: string };
}

export const SECTION_BEGIN = '<!-- flux-oidc:begin (FluxManifestPatch keeps this section up to date) -->';
export const SECTION_END = '<!-- flux-oidc:end -->';

/**
 * The description with our section put in place: replaced between the markers, or appended after
 * a person's text. `change` says which, for the log.
 */
export function mergeDescription(
  existing: string | undefined,
  ours: string,
): { description: string; change: 'unchanged' | 'replaced' | 'appended' | 'new' } {
  const section = `${SECTION_BEGIN}\n${ours}\n${SECTION_END}`;
  if (existing === undefined || existing.trim() === '') return { description: section, change: 'new' };
  const b = existing.indexOf(SECTION_BEGIN);
  const e = existing.indexOf(SECTION_END, b + 1);
  if (b >= 0 && e > b) {
    const description = existing.slice(0, b) + section + existing.slice(e + SECTION_END.length);
    return { description, change: description === existing ? 'unchanged' : 'replaced' };
  }
  return { description: `${existing.replace(/\s+$/, '')}\n\n${section}`, change: 'appended' };
}

function safeBranch(name: string): string {
  return (
    name
      .replace(/[^A-Za-z0-9._/-]+/g, '-')
      .replace(/\/{2,}/g, '/')
      .replace(/^[-/.]+|[-/.]+$/g, '') || 'flux-oidc'
  );
}

const DIFF_LINE_LIMIT = 400;

/** Prints the diff of what a push wrote (from the commit it was built on), when it differs from the checkout's. */
async function printPushed(
  repo: GitRepository,
  log: Logger,
  result: CommitResult,
  folders: CommitFolder[],
): Promise<void> {
  if (!result.commitId) return;
  const diffs: string[] = [];
  let differs = false;
  for (const f of result.files) {
    const p = f.path.replace(/^\//, '');
    const before = f.exists ? await repo.readFile(f.path, result.baseCommit) : undefined;
    const diff = unifiedDiff(p, before, f.content);
    diffs.push(diff);
    const folder = folders.find((x) => p.startsWith(`${x.repoPath}/`));
    const seen = folder?.checkoutDiffs.get(path.posix.relative(folder.repoPath, p));
    // The checkout's diff has working-directory-relative labels; compare the hunks only.
    const hunks = (d: string | undefined) => d?.split('\n').slice(2).join('\n');
    if (hunks(seen) !== hunks(diff)) differs = true;
  }
  if (!differs) return;
  log.info(
    `The branch had moved since the checkout: the commit ${result.commitId.slice(0, 8)} was built on ${result.baseCommit.slice(0, 8)}; what was pushed:`,
  );
  const lines = diffs.join('').replace(/\n$/, '').split('\n');
  for (const line of lines.slice(0, DIFF_LINE_LIMIT)) log.info(line);
  if (lines.length > DIFF_LINE_LIMIT) log.info(`... (${lines.length - DIFF_LINE_LIMIT} more diff lines not shown)`);
}

/** What the commit steps share: the repository, the branches, the files to commit per base commit. */
interface CommitContext {
  folders: CommitFolder[];
  inputs: CommitInputs;
  log: Logger;
  outputs: CommitOutputs;
  retry: { retry?: RetryPolicy };
  target: string;
  prBranch: string;
  message: string;
  defaultTitle: string;
  repo(): Promise<GitRepository>;
  tipOfTarget(): Promise<string>;
  /** The files to commit, computed from the repository's contents at `commitId` (once per commit). */
  compute(commitId: string): Promise<RepoFile[]>;
}

export function commitSteps(
  folders: CommitFolder[],
  inputs: CommitInputs,
  openRepository: () => Promise<GitRepository>,
  log: Logger,
  outputs: CommitOutputs,
  /** The run's retry policy: a push that lost a race is retried under it. */
  retry?: RetryPolicy,
): Step<unknown>[] {
  const c = commitContext(folders, inputs, openRepository, log, outputs, retry);
  return [(inputs.commitMode === 'push' ? pushStep(c) : pullRequestStep(c)) as Step<unknown>];
}

function commitContext(
  folders: CommitFolder[],
  inputs: CommitInputs,
  openRepository: () => Promise<GitRepository>,
  log: Logger,
  outputs: CommitOutputs,
  retry: RetryPolicy | undefined,
): CommitContext {
  const target = branchRef(inputs.targetBranch);
  const clusters = [...new Set(folders.map((f) => clusterName(f.rel)))];
  const which = clusters.length === 1 ? clusters[0] : `${clusters.length} clusters`;
  let repoPromise: Promise<GitRepository> | undefined;
  const computed = new Map<string, Promise<RepoFile[]>>();
  const c: CommitContext = {
    folders,
    inputs,
    log,
    outputs,
    retry: retry ? { retry } : {},
    target,
    prBranch: branchRef(
      safeBranch(inputs.pullRequestBranch || `flux-oidc/${clusters.length === 1 ? clusters[0] : 'fleet'}`),
    ),
    message: inputs.commitMessage || `Flux: authenticate to Azure DevOps with workload identity (${which})`,
    defaultTitle: `Flux OIDC: authenticate ${which} to Azure DevOps with workload identity`,
    repo: () => (repoPromise ??= openRepository()),
    async tipOfTarget() {
      const tip = await (await c.repo()).tip(target);
      if (!tip)
        throw new UserError(`The branch ${target} does not exist in the repository.`, {
          code: 'BranchNotFound',
          fix: 'set targetBranch to an existing branch',
        });
      return tip;
    },
    compute(commitId) {
      let p = computed.get(commitId);
      if (!p) {
        p = patchedFilesAt(c, commitId);
        computed.set(commitId, p);
      }
      return p;
    },
  };
  return c;
}

/** Every folder patched as the repository holds it at `commitId`: the files that change. */
async function patchedFilesAt(c: CommitContext, commitId: string): Promise<RepoFile[]> {
  const r = await c.repo();
  const files: RepoFile[] = [];
  for (const f of c.folders) {
    const base = f.repoPath;
    const reader: FolderReader = {
      read: (rel) => r.readFile(path.posix.normalize(path.posix.join('/', base, rel)), commitId),
    };
    let result: FolderResult;
    try {
      result = await patchFolder(reader, { ...f.options, folder: base });
    } catch (err) {
      if (err instanceof UserError) {
        throw new UserError(`In the repository at ${commitId.slice(0, 8)}: ${err.message}`, {
          code: err.code,
          fix: 'commit modes patch what is in the repository: make sure the folder is committed to the branch (the checkout may differ from the branch tip)',
          inner: err,
        });
      }
      throw err;
    }
    for (const ch of result.changes)
      files.push({ path: `/${path.posix.join(base, ch.path)}`, content: ch.after, exists: ch.before !== undefined });
  }
  return files;
}

const fileChanges = (files: RepoFile[]) =>
  files.map((f) => ({ field: f.path, from: f.exists ? 'current' : undefined, to: 'patched' }));

/** The task's text in the pull request description. */
function describe(c: CommitContext, files: RepoFile[]): string {
  return [
    'Kustomize patches added by the FluxManifestPatch task so Flux authenticates to Azure DevOps with AKS workload identity (no SSH key or PAT):',
    '',
    ...clientIdLines(c.folders, c.inputs.clientId),
    ...files.map((f) => `- ${f.path}`),
    '',
    'The patches survive `flux bootstrap` (it rewrites gotk-*.yaml but keeps kustomization.yaml). After merging and reconciling, the flux-system Secret is no longer used.',
  ].join('\n');
}

/** Title we want on an existing pull request: only pullRequestTitle replaces a person's title. */
function wantedTitle(c: CommitContext, existing: string | undefined): string {
  return c.inputs.pullRequestTitle || existing || c.defaultTitle;
}

/** Commits on the pull request branch and opens the pull request, or updates the open one; what was done. */
async function openOrUpdate(c: CommitContext, targetTip: string, fallbackFiles: RepoFile[]): Promise<string> {
  const r = await c.repo();
  const result = await commitFiles(r, {
    branch: c.prBranch,
    startFrom: targetTip,
    message: c.message,
    compute: c.compute,
    ...c.retry,
  });
  if (result.commitId) c.outputs.commitId = result.commitId;
  await printPushed(r, c.log, result, c.folders);
  const ours = describe(c, result.files.length ? result.files : fallbackFiles);
  const existing = await r.activePullRequest(c.prBranch, c.target);
  let id: number;
  let said: string[] = [];
  if (existing?.pullRequestId) {
    id = existing.pullRequestId;
    said = await updatePullRequest(c, r, { ...existing, pullRequestId: id }, ours);
    c.log.info(`Pull request ${id} exists: ${said.join('; ')}.`);
  } else {
    const created = await r.createPullRequest(
      c.prBranch,
      c.target,
      c.inputs.pullRequestTitle || c.defaultTitle,
      mergeDescription(undefined, ours).description,
    );
    if (!created.pullRequestId) throw new Error('Azure DevOps created the pull request but returned no id');
    id = created.pullRequestId;
  }
  c.outputs.pullRequestId = String(id);
  c.outputs.pullRequestUrl = await r.pullRequestUrl(id);
  return `pull request ${id}${result.commitId ? `, commit ${result.commitId}` : ''}${said.length ? ` (${said.join('; ')})` : ''}`;
}

/** An open pull request's title and our description section brought up to date; what was said about it. */
async function updatePullRequest(
  c: CommitContext,
  r: GitRepository,
  existing: { pullRequestId: number; title?: string; description?: string },
  ours: string,
): Promise<string[]> {
  const said: string[] = [];
  const title = wantedTitle(c, existing.title);
  const merged = mergeDescription(existing.description, ours);
  const change: { title?: string; description?: string } = {};
  if (title !== existing.title) {
    change.title = title;
    said.push(
      `title changed from ${JSON.stringify(existing.title ?? '')} to ${JSON.stringify(title)} (pullRequestTitle)`,
    );
  } else said.push(`title kept (${JSON.stringify(title)})`);
  if (merged.change !== 'unchanged') {
    change.description = merged.description;
    said.push(
      merged.change === 'appended'
        ? 'a section marked "flux-oidc" appended to the description; the existing text is kept'
        : merged.change === 'replaced'
          ? 'the "flux-oidc" section of the description updated; the rest is kept'
          : 'description set',
    );
  } else said.push('description unchanged');
  if (change.title !== undefined || change.description !== undefined)
    await r.updatePullRequest(existing.pullRequestId, change);
  return said;
}

/** commitMode push: one commit on the target branch (a pull request instead when a policy requires it and the input allows). */
function pushStep(c: CommitContext): Step<CommitObservation> {
  const { target, inputs, log } = c;
  return {
    id: 'commit',
    kind: 'GitPush',
    name: target,
    async observe() {
      const tip = await c.tipOfTarget();
      return { targetTip: tip, targetFiles: await c.compute(tip) };
    },
    plan(o) {
      if (o.targetFiles.length === 0)
        return { action: 'unchanged', changes: [], note: `${target} already has the patches: nothing to commit` };
      return {
        action: 'create',
        changes: fileChanges(o.targetFiles),
        note: `one commit on ${target} (on top of ${o.targetTip.slice(0, 8)})`,
      };
    },
    async apply(o) {
      const r = await c.repo();
      let result: CommitResult;
      try {
        result = await commitFiles(r, { branch: target, message: c.message, compute: c.compute, ...c.retry });
      } catch (err) {
        if (!(err instanceof BranchPolicyError)) throw err;
        if (!inputs.fallbackToPullRequest) {
          throw new UserError(err.message, {
            code: err.code,
            ...(err.cause ? { cause: err.cause } : {}),
            fix: `use commitMode: pullRequest, or set fallbackToPullRequest: true so the task opens a pull request into ${target} when a branch policy refuses the push`,
            inner: err,
          });
        }
        log.warn(
          `${target} requires pull requests (branch policy, TF402455): opening a pull request from ${c.prBranch} instead (fallbackToPullRequest: true).`,
        );
        return { note: `${target} requires pull requests: ${await openOrUpdate(c, o.targetTip, o.targetFiles)}` };
      }
      if (result.commitId) c.outputs.commitId = result.commitId;
      await printPushed(r, log, result, c.folders);
      return {
        note: result.commitId
          ? `commit ${result.commitId}${result.attempts > 1 ? ` (after ${result.attempts - 1} lost race${result.attempts > 2 ? 's' : ''})` : ''}`
          : 'nothing to commit on the new tip',
      };
    },
  };
}

/** commitMode pullRequest: a commit on the pull request branch and one active pull request. */
function pullRequestStep(c: CommitContext): Step<CommitObservation> {
  const { target, prBranch } = c;
  return {
    id: 'pullRequest',
    kind: 'PullRequest',
    name: `${prBranch} -> ${target}`,
    observe: () => observePullRequest(c),
    plan(o) {
      if (o.targetFiles.length === 0)
        return { action: 'unchanged', changes: [], note: `${target} already has the patches: no pull request needed` };
      const branchChanges = o.branchFiles ?? [];
      const pr = o.pullRequest;
      if (
        pr &&
        branchChanges.length === 0 &&
        wantedTitle(c, pr.title) === pr.title &&
        mergeDescription(pr.description, describe(c, o.targetFiles)).change === 'unchanged'
      ) {
        return { action: 'unchanged', changes: [], note: `pull request ${pr.id} already carries the patches` };
      }
      return {
        action: pr ? 'update' : 'create',
        changes: fileChanges(branchChanges.length ? branchChanges : o.targetFiles),
        note: `${o.branchTip ? `commit on ${prBranch}` : `new branch ${prBranch} from ${o.targetTip.slice(0, 8)}`}; ${pr ? `update pull request ${pr.id}` : 'open a pull request'}`,
      };
    },
    async apply(o) {
      return { note: await openOrUpdate(c, o.targetTip, o.targetFiles) };
    },
  };
}

async function observePullRequest(c: CommitContext): Promise<CommitObservation> {
  const r = await c.repo();
  const targetTip = await c.tipOfTarget();
  const targetFiles = await c.compute(targetTip);
  if (targetFiles.length === 0) return { targetTip, targetFiles };
  const branchTip = await r.tip(c.prBranch);
  const branchFiles = branchTip ? await c.compute(branchTip) : targetFiles;
  const pr = await r.activePullRequest(c.prBranch, c.target);
  const o: CommitObservation = { targetTip, targetFiles, branchFiles, ...(branchTip ? { branchTip } : {}) };
  if (pr?.pullRequestId) {
    o.pullRequest = {
      id: pr.pullRequestId,
      ...(pr.title ? { title: pr.title } : {}),
      ...(pr.description ? { description: pr.description } : {}),
    };
    c.outputs.pullRequestId = String(pr.pullRequestId);
    c.outputs.pullRequestUrl = await r.pullRequestUrl(pr.pullRequestId);
  }
  return o;
}

/** The pull request's client-id lines: one for the run, or one per cluster when they differ. */
function clientIdLines(folders: CommitFolder[], fallback: string): string[] {
  const ids = new Map(folders.map((f) => [clusterName(f.rel), f.options.clientId]));
  if (new Set(ids.values()).size <= 1) return [`- client id: ${[...ids.values()][0] ?? fallback}`];
  return [...ids].map(([cluster, id]) => `- client id of ${cluster}: ${id}`);
}
