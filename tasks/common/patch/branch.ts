/**
 * FluxManifestPatch, where to commit: the folders' paths in the repository, and the branch Flux
 * really syncs (`spec.ref.branch` of the GitRepository) against targetBranch.
 */
import * as path from 'node:path';
import { branchRef } from '../devops/git';
import type { Logger } from '../log';
import { UserError } from '../errors';
import type { CommitFolder } from './commit';
import { posix, type ManifestPatchInputs, type PlannedFolder } from './model';
import { changeDiff } from './workspace';

export function commitFolders(planned: PlannedFolder[], root: string): CommitFolder[] {
  return planned.map((f) => {
    const repoPath = posix(path.relative(root, f.abs));
    if (repoPath.startsWith('..') || path.isAbsolute(repoPath)) {
      throw new UserError(`${f.rel} is outside the repository checkout (${root}).`, {
        code: 'OutsideRepository',
        fix: 'commit modes patch folders of the build repository: point workingDirectory/fluxSystemPath into its checkout',
      });
    }
    return {
      rel: f.rel,
      repoPath,
      options: f.options,
      checkoutDiffs: new Map(f.result.changes.map((c) => [c.path, changeDiff(posix(path.join(f.rel, c.path)), c)])),
    };
  });
}

/**
 * The branch to commit to. Flux applies only the branch its GitRepository syncs
 * (`spec.ref.branch`); a commit anywhere else never reaches the cluster. `branchMismatch` says what
 * to do when that branch is not targetBranch (the pipeline's branch by default).
 */
export function syncedBranchCheck(
  planned: PlannedFolder[],
  inputs: ManifestPatchInputs,
  log: Logger,
): string | undefined {
  const target = inputs.targetBranch;
  if (!target || (target.startsWith('refs/') && !target.startsWith('refs/heads/'))) return target;
  const synced = [...new Set(planned.flatMap((f) => (f.result.syncBranch ? [branchRef(f.result.syncBranch)] : [])))];
  const other = synced.filter((b) => b !== branchRef(target));
  if (other.length === 0) return target;
  const which = planned
    .filter((f) => f.result.syncBranch && branchRef(f.result.syncBranch) !== branchRef(target))
    .map((f) => `${f.rel} (GitRepository ${inputs.gitRepositoryName} spec.ref.branch: ${f.result.syncBranch})`);
  const what = `Flux syncs ${other.join(', ')}, not ${branchRef(target)}, the branch this task commits to (targetBranch; by default the pipeline's branch): ${which.join(', ')}. Patches on ${branchRef(target)} never reach the cluster.`;
  const mode = inputs.branchMismatch ?? 'warn';
  if (mode === 'fail' || (mode === 'useSyncedBranch' && synced.length > 1)) {
    throw new UserError(what, {
      code: 'BranchMismatch',
      fix:
        synced.length > 1
          ? 'the folders sync different branches: patch them in separate runs, each with its targetBranch'
          : `set targetBranch: ${other[0]!.replace(/^refs\/heads\//, '')}, or branchMismatch: useSyncedBranch`,
    });
  }
  if (mode === 'useSyncedBranch') {
    log.info(`${what} Committing to ${other[0]} instead (branchMismatch: useSyncedBranch).`);
    return other[0];
  }
  log.warn(
    `${what} Set targetBranch: ${other[0]!.replace(/^refs\/heads\//, '')} or branchMismatch: useSyncedBranch to commit to the branch Flux syncs${inputs.commitMode === 'none' ? ' (and commit these files to it)' : ''}.`,
  );
  return target;
}
