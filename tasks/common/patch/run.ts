/**
 * FluxManifestPatch, below the pipeline adapter: find the flux-system folder(s), compute the
 * patched files (tasks/common/flux, pure), show the diff, check that the result renders
 * (`kubectl kustomize`), write atomically, and commit through the Azure DevOps pushes API.
 *
 * Every folder is planned before anything is written: one bad folder in a fleet fails the run with
 * all files untouched. Plan and apply share the step list (tasks/common/plan); plan stops before
 * the first write.
 */
import * as path from 'node:path';
import { runSteps, type Step } from '../plan';
import { UserError } from '../errors';
import {
  posix,
  type ManifestPatchInputs,
  type CoreContext,
  type Folder,
  type ManifestPatchOutputs,
  type PlannedFolder,
} from './model';
import {
  changeDiff,
  insideChecker,
  misplacedCopy,
  planFolder,
  printDiff,
  repositoryBoundary,
  repositoryRootFinder,
  resolveFolders,
} from './workspace';
import { renderPreflight } from './render-check';
import { fileStep } from './commit-steps';
import { commitSteps } from './commit';
import { commitFolders, syncedBranchCheck } from './branch';
export type { BranchMismatch, CommitMode, CoreContext, ManifestPatchInputs, ManifestPatchOutputs } from './model';
export { BRANCH_MISMATCH } from './model';

export async function patchManifests(inputs: ManifestPatchInputs, ctx: CoreContext): Promise<ManifestPatchOutputs> {
  const boundary = repositoryBoundary(inputs.workingDirectory, ctx.repositoryRoot);
  const folders = resolveFolders(inputs.workingDirectory, inputs.fluxSystemPath, boundary);
  ctx.log.info(
    `${folders.length} flux-system folder${folders.length === 1 ? '' : 's'}: ${folders
      .slice(0, 10)
      .map((f) => f.rel)
      .join(', ')}${folders.length > 10 ? ', ...' : ''}`,
  );
  const planned = await planFolders(folders, inputs, ctx);
  showPlan(planned, ctx);
  const outputs: ManifestPatchOutputs = {
    changed: false,
    changedFiles: [],
    commitId: '',
    pullRequestId: '',
    pullRequestUrl: '',
  };
  const steps = [
    ...fileSteps(planned, inputs, boundary, outputs),
    ...commitStepsFor(planned, inputs, boundary, ctx, outputs),
  ];
  await runSteps(steps, {
    mode: ctx.mode,
    log: ctx.log,
    ...(ctx.report ? { report: ctx.report } : {}),
    preflight: [renderPreflight(planned, ctx)],
  });
  return outputs;
}

/** 1. Plan every folder (no writes). Collect every folder's problem, then fail before writing. */
async function planFolders(folders: Folder[], inputs: ManifestPatchInputs, ctx: CoreContext): Promise<PlannedFolder[]> {
  const regenerated = new Map<string, Promise<string>>();
  const planned: PlannedFolder[] = [];
  const problems: string[] = [];
  for (const folder of folders) {
    try {
      planned.push(await planFolder(folder, inputs, ctx, regenerated));
    } catch (err) {
      if (!(err instanceof UserError) || folders.length === 1) throw err;
      problems.push(err.message + (err.fix ? ` Fix: ${err.fix}` : ''));
    }
  }
  if (problems.length > 0) {
    const shown = problems.slice(0, 20);
    const more = problems.length > shown.length ? `\n- ... and ${problems.length - shown.length} more` : '';
    throw new UserError(
      `${problems.length} of ${folders.length} flux-system folders cannot be patched; nothing was changed:\n- ${shown.join('\n- ')}${more}`,
      { code: 'ManifestError' },
    );
  }
  return planned;
}

/** 2. Show what changes. */
function showPlan(planned: PlannedFolder[], ctx: CoreContext): void {
  const { log } = ctx;
  const rootOf = repositoryRootFinder();
  for (const f of planned) {
    log.info(`${f.rel}: Flux ${f.result.fluxVersion}, namespace ${f.result.namespace}`);
    const root = ctx.repositoryRoot ?? rootOf(f.abs);
    const misplaced =
      root && f.result.syncPath !== undefined ? misplacedCopy(root, f.abs, f.result.syncPath) : undefined;
    if (misplaced) log.warn(`${f.rel}: ${misplaced}`);
    for (const n of f.result.notes) log.info(`  ${n}`);
    for (const w of f.result.warnings) log.warn(`${f.rel}: ${w}`);
    if (f.result.changes.length === 0) log.info(`  ${f.rel}: already patched, nothing to change.`);
    for (const c of f.result.changes) printDiff(log, changeDiff(posix(path.join(f.rel, c.path)), c));
  }
}

/** 3. One step per changed file (each checked to stay inside the repository). */
function fileSteps(
  planned: PlannedFolder[],
  inputs: ManifestPatchInputs,
  boundary: string,
  outputs: ManifestPatchOutputs,
): Step<unknown>[] {
  const steps: Step<unknown>[] = [];
  const inside = insideChecker(boundary);
  for (const f of planned) {
    for (const c of f.result.changes) {
      const abs = path.join(f.abs, c.path);
      const rel = posix(path.join(f.rel, c.path));
      inside(abs, rel, `The file (from fluxSystemPath ${JSON.stringify(inputs.fluxSystemPath)})`);
      outputs.changedFiles.push(rel);
      steps.push(fileStep(abs, rel, c, f.result.notes));
    }
  }
  outputs.changed = outputs.changedFiles.length > 0;
  return steps;
}

/** 4. The commit (commit modes), after the branch Flux syncs has been checked. */
function commitStepsFor(
  planned: PlannedFolder[],
  inputs: ManifestPatchInputs,
  boundary: string,
  ctx: CoreContext,
  outputs: ManifestPatchOutputs,
): Step<unknown>[] {
  const targetBranch = syncedBranchCheck(planned, inputs, ctx.log);
  if (inputs.commitMode === 'none') return [];
  if (!ctx.openRepository) throw new Error('commit modes need a repository');
  // The inputs require a branch (refs/heads/… or a bare name) for the commit modes.
  if (!targetBranch) throw new Error('commit modes need targetBranch');
  return commitSteps(
    commitFolders(planned, boundary),
    {
      commitMode: inputs.commitMode,
      clientId: inputs.clientId,
      targetBranch,
      ...(inputs.pullRequestBranch ? { pullRequestBranch: inputs.pullRequestBranch } : {}),
      ...(inputs.commitMessage ? { commitMessage: inputs.commitMessage } : {}),
      ...(inputs.pullRequestTitle ? { pullRequestTitle: inputs.pullRequestTitle } : {}),
      ...(inputs.fallbackToPullRequest ? { fallbackToPullRequest: true } : {}),
    },
    ctx.openRepository,
    ctx.log,
    outputs,
    ctx.retry,
  );
}
