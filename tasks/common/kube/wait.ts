/**
 * Waiting for a Flux object to be reconciled, the way `flux reconcile` decides it: the controller
 * has handled our request (status.lastHandledReconcileAt == the requestedAt we set), has observed
 * the current generation, and Ready is True (done) or False while no longer Reconciling or only
 * waiting to retry (failed).
 * Polls with a growing interval, reports progress, and stops at the deadline.
 */
import { RetryPolicy } from '../http/retry';
import type { FluxObject } from './model';

export type Condition = NonNullable<NonNullable<FluxObject['status']>['conditions']>[number];

export function condition(obj: FluxObject | null | undefined, type: string): Condition | undefined {
  return obj?.status?.conditions?.find((c) => c.type === type);
}

export type ReadyState = 'ready' | 'failed' | 'progressing';

/** Where an object stands relative to a reconcile requested at `requestedAt` (undefined: no request). */
export function readyState(obj: FluxObject, requestedAt?: string): ReadyState {
  const st = obj.status ?? {};
  if (requestedAt !== undefined && st.lastHandledReconcileAt !== requestedAt) return 'progressing';
  const gen = obj.metadata.generation;
  if (gen !== undefined && st.observedGeneration !== undefined && st.observedGeneration < gen) return 'progressing';
  const ready = condition(obj, 'Ready');
  const stalled = condition(obj, 'Stalled');
  const reconciling = condition(obj, 'Reconciling');
  if (stalled?.status === 'True') return 'failed';
  if (ready?.status === 'True') return 'ready';
  // A failed attempt: Ready=False, and the controller is either done or only scheduling a retry
  // (Reconciling=True/ProgressingWithRetry). The gate reports that attempt instead of waiting it out.
  if (ready?.status === 'False' && (reconciling?.status !== 'True' || reconciling.reason === 'ProgressingWithRetry'))
    return 'failed';
  return 'progressing';
}

export interface WaitOptions {
  read: () => Promise<FluxObject | null>;
  requestedAt?: string;
  timeoutMs: number;
  /** What is waited for, for progress lines ("GitRepository flux-system/flux-system"). */
  label: string;
  progress?: (message: string, percent?: number) => void;
  /** The run's retry policy: its clock paces the polls. */
  retry?: RetryPolicy;
  /** First poll interval (default 500 ms), grows by half up to maxIntervalMs (default 5 s). */
  intervalMs?: number;
  maxIntervalMs?: number;
}

export interface WaitResult {
  outcome: 'ready' | 'failed' | 'timeout' | 'missing';
  object: FluxObject | null;
  waitedMs: number;
}

export async function waitForReady(o: WaitOptions): Promise<WaitResult> {
  const policy = o.retry ?? new RetryPolicy();
  const { now } = policy.clock;
  const start = now();
  const maxInterval = o.maxIntervalMs ?? 5000;
  let lastMessage = '';
  let last: FluxObject | null = null;
  const done = await policy.poll(
    async (): Promise<WaitResult | undefined> => {
      last = await o.read();
      const waited = now() - start;
      if (!last) return { outcome: 'missing', object: null, waitedMs: waited };
      const state = readyState(last, o.requestedAt);
      if (state !== 'progressing') return { outcome: state, object: last, waitedMs: waited };
      const ready = condition(last, 'Ready');
      const message = ready
        ? `Ready=${ready.status}${ready.reason ? ` ${ready.reason}` : ''}${ready.message ? `: ${ready.message}` : ''}`
        : 'waiting for the controller';
      const handled = o.requestedAt === undefined || last.status?.lastHandledReconcileAt === o.requestedAt;
      const line = `${o.label}: ${handled ? message : 'reconcile requested, not handled yet'} (${Math.round(waited / 1000)}s of ${Math.round(o.timeoutMs / 1000)}s)`;
      if (line !== lastMessage || waited > 0) o.progress?.(line, Math.min(99, (100 * waited) / o.timeoutMs));
      lastMessage = line;
      return undefined;
    },
    { intervalMs: o.intervalMs ?? 500, maxIntervalMs: maxInterval, factor: 1.5, timeoutMs: o.timeoutMs },
  );
  return done ?? { outcome: 'timeout', object: last, waitedMs: now() - start };
}
