/**
 * A step is one resource the task manages: data (id, kind, name) plus observe / plan / apply.
 * The engine observes and plans every step; plan mode stops there, apply mode walks the same list.
 */
import type { Action } from '../report/model';

export type { Action } from '../report/model';

/**
 * A desired value that only apply can tell (the principal id of an identity that does not exist
 * yet, the issuer URL of a cluster whose OIDC issuer is not enabled yet). Put it in a change's
 * `to`; the report shows "(known after apply)".
 */
export const KNOWN_AFTER_APPLY: unique symbol = Symbol.for('fluxoidc.knownAfterApply');
export type KnownAfterApply = typeof KNOWN_AFTER_APPLY;

export interface Change {
  field: string;
  /** The current value; undefined when the field or resource does not exist yet. */
  from?: unknown;
  /** The desired value, or KNOWN_AFTER_APPLY. */
  to?: unknown;
}

export interface StepPlan {
  action: Action;
  changes: Change[];
  /** One line for the user: why skip, what the update means, what to do by hand. */
  note?: string;
}

export interface Step<O = unknown> {
  /** Unique within a run; other steps name it in `dependsOn`. */
  id: string;
  /** Resource kind as the user knows it: 'ManagedCluster', 'FederatedIdentityCredential', 'Team', 'File'. */
  kind: string;
  /** Resource name as the user knows it. */
  name: string;
  /**
   * Steps whose apply may change what this step observes or desires. In apply mode, when one of
   * them wrote something, this step is observed and planned again just before it is applied, so it
   * works from the values the earlier apply produced (for instance the identity's principal id).
   */
  dependsOn?: string[];
  /** Reads the current state. Must not write. */
  observe(): Promise<O>;
  /** Compares observed with desired. Must not write or call the network. */
  plan(observed: O): StepPlan;
  /** Makes the change. Called only in apply mode and only when the action is not unchanged/skip. Returns an optional note for the report. */
  apply(observed: O, plan: StepPlan): Promise<void | { note?: string }>;
}

/** A step with its observation and plan (what `runSteps` gives preflight checks and returns). */
export interface PlannedStep {
  step: Step<unknown>;
  observed: unknown;
  plan: StepPlan;
}

/** True when a plan will write something. */
export function writes(plan: StepPlan): boolean {
  return plan.action !== 'unchanged' && plan.action !== 'skip';
}

/** Helper for the common step shape: compares fields and returns the changes that differ. */
export function diff(fields: { field: string; from: unknown; to: unknown }[]): Change[] {
  return fields
    .filter((f) => f.to === KNOWN_AFTER_APPLY || !sameValue(f.from, f.to))
    .map((f) => ({ field: f.field, from: f.from, to: f.to }));
}

function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  return JSON.stringify(a) === JSON.stringify(b);
}
