/**
 * Flux status conditions, following kstatus as the Flux controllers do: while working,
 * Reconciling=True and Ready=Unknown ("reconciliation in progress"); on success Ready=True and no
 * Reconciling/Stalled; on a retriable failure Ready=False with the error and
 * Reconciling=True/ProgressingWithRetry; on a terminal one Stalled=True.
 */
import type { KubeObject } from '../model';

export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  observedGeneration?: number;
  lastTransitionTime: string;
  reason: string;
  message: string;
}

export function conditionsOf(o: KubeObject): Condition[] {
  return (o.status as { conditions?: Condition[] } | undefined)?.conditions ?? [];
}

export function getCondition(o: KubeObject, type: string): Condition | undefined {
  return conditionsOf(o).find((c) => c.type === type);
}

/** Sets (or replaces) a condition; lastTransitionTime changes only when the status flips. Ready stays first. */
export function setCondition(
  o: KubeObject,
  type: string,
  status: Condition['status'],
  reason: string,
  message: string,
  now: string,
): void {
  const st = (o.status ??= {}) as { conditions?: Condition[] };
  const list = st.conditions ?? [];
  const prev = list.find((c) => c.type === type);
  const c: Condition = {
    type,
    status,
    observedGeneration: o.metadata.generation,
    lastTransitionTime: prev && prev.status === status ? prev.lastTransitionTime : now,
    reason,
    message,
  };
  const rest = list.filter((x) => x.type !== type);
  st.conditions = type === 'Ready' ? [c, ...rest] : [...rest, c];
}

export function deleteCondition(o: KubeObject, type: string): void {
  const st = (o.status ??= {}) as { conditions?: Condition[] };
  st.conditions = (st.conditions ?? []).filter((c) => c.type !== type);
}

export function markReconciling(o: KubeObject, now: string, message = 'reconciliation in progress'): void {
  setCondition(o, 'Reconciling', 'True', 'Progressing', message, now);
  setCondition(o, 'Ready', 'Unknown', 'Progressing', message, now);
}

export function markReady(o: KubeObject, reason: string, message: string, now: string): void {
  setCondition(o, 'Ready', 'True', reason, message, now);
  deleteCondition(o, 'Reconciling');
  deleteCondition(o, 'Stalled');
}

export function markFailed(o: KubeObject, reason: string, message: string, now: string, stalled = false): void {
  setCondition(o, 'Ready', 'False', reason, message, now);
  if (stalled) {
    setCondition(o, 'Stalled', 'True', reason, message, now);
    deleteCondition(o, 'Reconciling');
  } else {
    setCondition(o, 'Reconciling', 'True', 'ProgressingWithRetry', message, now);
    deleteCondition(o, 'Stalled');
  }
}

/** Marks the handled reconcile request and observed generation, as every Flux controller does at the end. */
export function finishReconcile(o: KubeObject): void {
  const st = (o.status ??= {}) as Record<string, unknown>;
  st.observedGeneration = o.metadata.generation;
  const requested = o.metadata.annotations?.['reconcile.fluxcd.io/requestedAt'];
  if (requested !== undefined) st.lastHandledReconcileAt = requested;
}
