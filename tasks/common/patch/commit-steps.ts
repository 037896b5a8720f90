/**
 * FluxManifestPatch, write: each changed file written atomically, then (commitMode) one commit pushed,
 * or a branch and a pull request, through the Azure DevOps pushes API.
 */
import * as path from 'node:path';
import { branchRef, commitFiles, type GitRepository, type RepoFile } from '../devops/git';
import { unifiedDiff } from '../flux/diff';
import { patchFolder, type FolderReader, type FolderResult } from '../flux/folder';
import { type Step } from '../plan';
import { UserError } from '../errors';
import {
  posix,
  type ManifestPatchInputs,
  type CoreContext,
  type ManifestPatchOutputs,
  type PlannedFolder,
} from './model';
import { clusterName, countLines, findRepositoryRoot, readIfExists, writeFileAtomic } from './workspace';

export function fileStep(
  abs: string,
  rel: string,
  before: string | undefined,
  after: string,
  notes: string[],
): Step<string | undefined> {
  return {
    id: `file:${rel}`,
    kind: 'File',
    name: rel,
    observe: () => readIfExists(abs),
    plan(current) {
      if (current === after) return { action: 'unchanged', changes: [] };
      if (current !== before) {
        return { action: 'skip', changes: [], note: 'the file changed while the task ran; re-run the task' };
      }
      const diff = unifiedDiff(rel, before, after).split('\n');
      const added = diff.filter((l) => l.startsWith('+') && !l.startsWith('+++')).length;
      const removed = diff.filter((l) => l.startsWith('-') && !l.startsWith('---')).length;
      const note = notes.find((n) => n.includes(path.posix.basename(rel)) && /patches|changed it/.test(n));
      return {
        action: before === undefined ? 'create' : 'update',
        changes: [{ field: 'lines', from: countLines(before), to: `${countLines(after)} (+${added} -${removed})` }],
        ...(note ? { note } : {}),
      };
    },
    async apply() {
      writeFileAtomic(abs, after);
    },
  };
}

export function safeBranch(name: string): string {
  return (
    name
      .replace(/[^A-Za-z0-9._/-]+/g, '-')
      .replace(/\/{2,}/g, '/')
      .replace(/^[-/.]+|[-/.]+$/g, '') || 'flux-oidc'
  );
}

export interface CommitObservation {
  targetTip: string;
  targetFiles: RepoFile[];
  branchTip?: string;
  branchFiles?: RepoFile[];
  pullRequest?: { id: number; title?: string; description?: string };
}

export function commitSteps(
  planned: PlannedFolder[],
  inputs: ManifestPatchInputs,
  ctx: CoreContext,
  outputs: ManifestPatchOutputs,
): Step<unknown>[] {
  if (!ctx.openRepository) throw new Error('commit modes need a repository');
  // The checkout the folders are in (with several repositories checked out, the one holding them).
  const root =
    ctx.repositoryRoot ??
    findRepositoryRoot(planned[0]?.abs ?? inputs.workingDirectory) ??
    path.resolve(inputs.workingDirectory);
  const repoPaths = planned.map((f) => {
    const rel = posix(path.relative(root, f.abs));
    if (rel.startsWith('..') || path.isAbsolute(rel)) {
      throw new UserError(`${f.rel} is outside the repository checkout (${root}).`, {
        code: 'OutsideRepository',
        fix: 'commit modes patch folders of the build repository: point workingDirectory/fluxSystemPath into its checkout',
      });
    }
    return rel;
  });
  // The inputs require a branch (refs/heads/… or a bare name) for the commit modes.
  if (!inputs.targetBranch) throw new Error('commit modes need targetBranch');
  const target = branchRef(inputs.targetBranch);
  const clusters = [...new Set(planned.map((f) => clusterName(f.rel)))];
  const message =
    inputs.commitMessage ||
    `Flux: authenticate to Azure DevOps with workload identity (${clusters.length === 1 ? clusters[0] : `${clusters.length} clusters`})`;

  let repoPromise: Promise<GitRepository> | undefined;
  const repo = () => (repoPromise ??= ctx.openRepository!());
  const tipOfTarget = async (): Promise<string> => {
    const tip = await (await repo()).tip(target);
    if (!tip)
      throw new UserError(`The branch ${target} does not exist in the repository.`, {
        code: 'BranchNotFound',
        fix: 'set targetBranch to an existing branch',
      });
    return tip;
  };

  /** The files to commit, computed from the repository's contents at `commitId` (once per commit). */
  const computed = new Map<string, Promise<RepoFile[]>>();
  const compute = (commitId: string): Promise<RepoFile[]> => {
    let p = computed.get(commitId);
    if (!p) {
      p = computeAt(commitId);
      computed.set(commitId, p);
    }
    return p;
  };
  const computeAt = async (commitId: string): Promise<RepoFile[]> => {
    const r = await repo();
    const files: RepoFile[] = [];
    for (const [i, f] of planned.entries()) {
      const base = repoPaths[i];
      const reader: FolderReader = {
        read: (rel) => {
          const p = path.posix.normalize(path.posix.join('/', base, rel));
          return r.readFile(p, commitId);
        },
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
      for (const c of result.changes)
        files.push({ path: `/${path.posix.join(base, c.path)}`, content: c.after, exists: c.before !== undefined });
    }
    return files;
  };
  const fileChanges = (files: RepoFile[]) =>
    files.map((f) => ({ field: f.path, from: f.exists ? 'current' : undefined, to: 'patched' }));

  if (inputs.commitMode === 'push') {
    const step: Step<CommitObservation> = {
      id: 'commit',
      kind: 'GitPush',
      name: target,
      async observe() {
        const tip = await tipOfTarget();
        return { targetTip: tip, targetFiles: await compute(tip) };
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
      async apply() {
        const result = await commitFiles(await repo(), { branch: target, message, compute });
        if (result.commitId) outputs.commitId = result.commitId;
        return {
          note: result.commitId
            ? `commit ${result.commitId}${result.attempts > 1 ? ` (after ${result.attempts - 1} lost race${result.attempts > 2 ? 's' : ''})` : ''}`
            : 'nothing to commit on the new tip',
        };
      },
    };
    return [step as Step<unknown>];
  }

  // pullRequest
  const prBranch = branchRef(
    safeBranch(inputs.pullRequestBranch || `flux-oidc/${clusters.length === 1 ? clusters[0] : 'fleet'}`),
  );
  const title =
    inputs.pullRequestTitle ||
    `Flux OIDC: authenticate ${clusters.length === 1 ? clusters[0] : `${clusters.length} clusters`} to Azure DevOps with workload identity`;
  const describe = (files: RepoFile[]) =>
    [
      'Kustomize patches added by the FluxManifestPatch task so Flux authenticates to Azure DevOps with AKS workload identity (no SSH key or PAT):',
      '',
      ...clientIdLines(planned, inputs),
      ...files.map((f) => `- ${f.path}`),
      '',
      'The patches survive `flux bootstrap` (it rewrites gotk-*.yaml but keeps kustomization.yaml). After merging and reconciling, the flux-system Secret is no longer used.',
    ].join('\n');
  const setPr = async (id: number) => {
    outputs.pullRequestId = String(id);
    outputs.pullRequestUrl = await (await repo()).pullRequestUrl(id);
  };
  const step: Step<CommitObservation> = {
    id: 'pullRequest',
    kind: 'PullRequest',
    name: `${prBranch} -> ${target}`,
    async observe() {
      const r = await repo();
      const targetTip = await tipOfTarget();
      const targetFiles = await compute(targetTip);
      if (targetFiles.length === 0) return { targetTip, targetFiles };
      const branchTip = await r.tip(prBranch);
      const branchFiles = branchTip ? await compute(branchTip) : targetFiles;
      const pr = await r.activePullRequest(prBranch, target);
      const o: CommitObservation = { targetTip, targetFiles, branchFiles, ...(branchTip ? { branchTip } : {}) };
      if (pr?.pullRequestId) {
        o.pullRequest = {
          id: pr.pullRequestId,
          ...(pr.title ? { title: pr.title } : {}),
          ...(pr.description ? { description: pr.description } : {}),
        };
        await setPr(pr.pullRequestId);
      }
      return o;
    },
    plan(o) {
      if (o.targetFiles.length === 0)
        return { action: 'unchanged', changes: [], note: `${target} already has the patches: no pull request needed` };
      const branchChanges = o.branchFiles ?? [];
      if (o.pullRequest && branchChanges.length === 0 && o.pullRequest.title === title) {
        return {
          action: 'unchanged',
          changes: [],
          note: `pull request ${o.pullRequest.id} already carries the patches`,
        };
      }
      return {
        action: o.pullRequest ? 'update' : 'create',
        changes: fileChanges(branchChanges.length ? branchChanges : o.targetFiles),
        note: `${o.branchTip ? `commit on ${prBranch}` : `new branch ${prBranch} from ${o.targetTip.slice(0, 8)}`}; ${o.pullRequest ? `update pull request ${o.pullRequest.id}` : 'open a pull request'}`,
      };
    },
    async apply(o) {
      const r = await repo();
      const result = await commitFiles(r, { branch: prBranch, startFrom: o.targetTip, message, compute });
      if (result.commitId) outputs.commitId = result.commitId;
      const description = describe(result.files.length ? result.files : o.targetFiles);
      const existing = await r.activePullRequest(prBranch, target);
      let id: number;
      if (existing?.pullRequestId) {
        id = existing.pullRequestId;
        if (existing.title !== title || existing.description !== description)
          await r.updatePullRequest(id, title, description);
      } else {
        const created = await r.createPullRequest(prBranch, target, title, description);
        if (!created.pullRequestId) throw new Error('Azure DevOps created the pull request but returned no id');
        id = created.pullRequestId;
      }
      await setPr(id);
      return { note: `pull request ${id}${result.commitId ? `, commit ${result.commitId}` : ''}` };
    },
  };
  return [step as Step<unknown>];
}

/** The pull request's client-id lines: one for the run, or one per cluster when they differ. */
function clientIdLines(planned: PlannedFolder[], inputs: ManifestPatchInputs): string[] {
  const ids = new Map(planned.map((f) => [clusterName(f.rel), f.options.clientId]));
  if (new Set(ids.values()).size <= 1) return [`- client id: ${[...ids.values()][0] ?? inputs.clientId}`];
  return [...ids].map(([cluster, id]) => `- client id of ${cluster}: ${id}`);
}
