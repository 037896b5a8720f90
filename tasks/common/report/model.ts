/**
 * The run report: what a task did (or would do, in plan mode), as data. It is written as a JSON
 * attachment (type `fluxoidc-report`, read by the build-results tab) and rendered as the markdown
 * run summary. It never holds a secret: the builder redacts every registered secret value.
 */

export const REPORT_ATTACHMENT_TYPE = 'fluxoidc-report';
export const REPORT_SCHEMA = 'fluxoidc-report/v1';

export type Mode = 'plan' | 'apply';
export type TaskResultKind = 'Succeeded' | 'SucceededWithIssues' | 'Failed';

/** What a step does (apply) or would do (plan) to one resource. */
export type Action = 'create' | 'update' | 'unchanged' | 'delete' | 'skip';

/**
 * Where a resource stands at the end of the run:
 * planned (plan mode), applied (apply wrote it), unchanged (nothing to write), failed (its write
 * failed), not-run (apply stopped before it: an earlier step or a preflight check failed).
 */
export type ResourceStatus = 'planned' | 'applied' | 'unchanged' | 'failed' | 'not-run';

export interface FieldChange {
  field: string;
  /** Display text of the current value; absent when the field does not exist yet. */
  from?: string;
  /** Display text of the desired value; `(known after apply)` when only apply can tell. */
  to?: string;
}

export interface ReportResource {
  kind: string;
  name: string;
  action: Action;
  status: ResourceStatus;
  changes: FieldChange[];
  note?: string;
}

export type CheckStatus = 'pass' | 'warn' | 'fail' | 'skip';

export interface ReportCheck {
  id: string;
  title: string;
  status: CheckStatus;
  /** What was observed (the values the verdict is based on). */
  evidence?: string;
  /** Why it failed or warns, in the user's terms. */
  cause?: string;
  /** What to do about it. */
  fix?: string;
}

/**
 * One cluster of a run that covered several (FluxOidcVerify with clusters / clusterPattern): its
 * own checks and verdict. The run's `checks` then hold one summary check per cluster.
 */
export interface ReportCluster {
  name: string;
  resourceGroup: string;
  subscriptionId?: string;
  /** fail: a required check failed; warn: a check warned; pass otherwise. */
  verdict: 'pass' | 'warn' | 'fail';
  checks: ReportCheck[];
  /** What the run did on this cluster (the reconcile requests, a retired secret), as the run's `resources` do for one. */
  resources?: ReportResource[];
}

export interface Report {
  schema: typeof REPORT_SCHEMA;
  task: string;
  version: string;
  mode: Mode;
  started: string;
  finished?: string;
  result?: TaskResultKind;
  /** The one-line result message (the failure's text when Failed). */
  message?: string;
  resources: ReportResource[];
  checks: ReportCheck[];
  /** Present when the run covered several clusters (a fleet): a section per cluster. */
  clusters?: ReportCluster[];
  /** Output variables set by the task; secret outputs are never listed. */
  outputs: Record<string, string>;
  warnings: string[];
  errors: string[];
}
