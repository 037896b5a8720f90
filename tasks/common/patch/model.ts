/** FluxManifestPatch: inputs, outputs, what the logic needs from the pipeline, and the planned folders. */
import type { RetryPolicy } from '../http/retry';
import * as path from 'node:path';
import { type GitRepository } from '../devops/git';
import { type FolderOptions, type FolderResult } from '../flux/folder';
import { type SemVer } from '../flux/version';
import type { Logger } from '../log';
import type { ReportBuilder } from '../report/builder';
import type { Tools } from './tools';

export type CommitMode = 'none' | 'push' | 'pullRequest';

export interface ManifestPatchInputs {
  workingDirectory: string;
  /** Relative to workingDirectory; may be a glob (`clusters/*\/flux-system`). */
  fluxSystemPath: string;
  /** The client id of every folder without an entry in clientIds ('' when clientIds covers all). */
  clientId: string;
  /** Per cluster (the folder above flux-system) -> client id: a fleet with an identity per cluster. */
  clientIds?: Record<string, string>;
  tenantId?: string;
  serviceAccounts: string[];
  gitRepositoryName: string;
  minimumFluxVersion: SemVer;
  regenerateComponents: boolean;
  commitMode: CommitMode;
  /** The branch to commit to / open the pull request against (`main` or `refs/heads/main`). */
  targetBranch?: string;
  pullRequestBranch?: string;
  commitMessage?: string;
  pullRequestTitle?: string;
  /** Push mode: open a pull request when a branch policy refuses the push (TF402455). */
  fallbackToPullRequest?: boolean;
  /**
   * When the GitRepository syncs another branch than targetBranch: warn (and commit to
   * targetBranch), commit to the synced branch, or fail before any write.
   */
  branchMismatch?: BranchMismatch;
}

export const BRANCH_MISMATCH = ['warn', 'useSyncedBranch', 'fail'] as const;
export type BranchMismatch = (typeof BRANCH_MISMATCH)[number];

export interface CoreContext {
  mode: 'plan' | 'apply';
  log: Logger;
  report?: ReportBuilder;
  tools: Tools;
  /** Scratch space outside the checkout (renders happen in copies there). */
  tempDir: string;
  /** The repository to commit to (commit modes only). */
  openRepository?: () => Promise<GitRepository>;
  /** Root of the checkout; default: the nearest folder above the flux-system folder holding `.git`. */
  repositoryRoot?: string;
  /** The run's retry policy (a push that lost a race is retried under it). */
  retry?: RetryPolicy;
}

export interface ManifestPatchOutputs {
  changed: boolean;
  /** Relative to the working directory, '/'-separated. */
  changedFiles: string[];
  commitId: string;
  pullRequestId: string;
  pullRequestUrl: string;
}

export interface Folder {
  abs: string;
  /** Relative to the working directory, '/'-separated (what the user sees). */
  rel: string;
}

export interface PlannedFolder extends Folder {
  result: FolderResult;
  /** The regenerated gotk-components.yaml, when one was generated. */
  components?: string;
  options: FolderOptions;
}

export const DIFF_LINE_LIMIT = 400;
export const TOOL_TIMEOUT_MS = 120_000;

export const posix = (p: string) => p.split(path.sep).join('/');
