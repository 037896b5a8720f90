/**
 * AKS: read the cluster, and turn on the OIDC issuer and workload identity the way
 * `az aks update --enable-oidc-issuer --enable-workload-identity` does: GET the whole cluster,
 * set the two flags, PUT it back as a long-running operation (the SDK's poller), then read the
 * issuer URL. Never PUT when both are already on. A busy cluster (another operation running,
 * HTTP 409) is waited for and the read-modify-write is redone on a fresh read.
 */
import type { ManagedCluster } from '@azure/arm-containerservice';
import type { Logger } from '../log';
import { UserError } from '../errors';
import type { ArmClients } from './clients';
import { describeArmError, isArmNotFound } from './errors';
import { errorInfo } from '../http/errors';
import { RetryPolicy } from '../http/retry';
import type { Clock } from '../http/clock';

export interface ClusterRef {
  resourceGroup: string;
  name: string;
}

/** What the product needs to know about a cluster. */
export interface ClusterState {
  id: string;
  name: string;
  location: string;
  provisioningState: string | undefined;
  oidcIssuerEnabled: boolean;
  /** The issuer URL exactly as AKS reports it (byte-identical, trailing slash included). */
  issuerUrl: string | undefined;
  workloadIdentityEnabled: boolean;
  eTag: string | undefined;
  /** Who authorizes Kubernetes API calls (aadProfile): see ClusterAuthorization. */
  authorization: ClusterAuthorization;
}

/**
 * The three kinds of AKS cluster access (https://learn.microsoft.com/azure/aks/concepts-identity):
 * `local` (no Entra integration: certificates, the user kubeconfig is cluster-admin), `kubernetes-rbac`
 * (managed Entra integration, Kubernetes RBAC bindings of the Entra object id), `azure-rbac` (Entra
 * integration with Azure RBAC for Kubernetes authorization: Azure role assignments, Kubernetes RBAC too).
 */
export type ClusterAuthorization = 'local' | 'kubernetes-rbac' | 'azure-rbac';

/** Provisioning states in which the cluster accepts a new operation. */
const TERMINAL = new Set(['succeeded', 'failed', 'canceled', 'cancelled']);

export function isClusterBusy(state: Pick<ClusterState, 'provisioningState'>): boolean {
  const s = state.provisioningState?.toLowerCase();
  return s !== undefined && !TERMINAL.has(s);
}

export function needsWorkloadIdentityUpdate(
  state: Pick<ClusterState, 'oidcIssuerEnabled' | 'workloadIdentityEnabled'>,
): boolean {
  return !state.oidcIssuerEnabled || !state.workloadIdentityEnabled;
}

function toState(c: ManagedCluster): ClusterState {
  return {
    id: c.id ?? '',
    name: c.name ?? '',
    location: c.location,
    provisioningState: c.provisioningState,
    oidcIssuerEnabled: c.oidcIssuerProfile?.enabled === true,
    issuerUrl: c.oidcIssuerProfile?.issuerURL || undefined,
    workloadIdentityEnabled: c.securityProfile?.workloadIdentity?.enabled === true,
    eTag: c.eTag,
    authorization: !c.aadProfile ? 'local' : c.aadProfile.enableAzureRbac ? 'azure-rbac' : 'kubernetes-rbac',
  };
}

export interface ClusterCallContext {
  log: Logger;
  principal?: string;
}

function errorContext(ref: ClusterRef, verb: string, ctx: ClusterCallContext) {
  return {
    action: `${verb} the AKS cluster '${ref.name}' in resource group '${ref.resourceGroup}'`,
    principal: ctx.principal,
    role:
      verb === 'read'
        ? 'Reader (or Azure Kubernetes Service Cluster User Role)'
        : 'Azure Kubernetes Service Contributor Role (or Contributor)',
    scope: `the cluster '${ref.name}'`,
    input: 'resourceGroup',
  };
}

async function getCluster(clients: ArmClients, ref: ClusterRef, ctx: ClusterCallContext): Promise<ManagedCluster> {
  try {
    return await clients.aks.managedClusters.get(ref.resourceGroup, ref.name);
  } catch (err) {
    if (isArmNotFound(err) && errorInfo(err).code !== 'ResourceGroupNotFound') {
      throw new UserError(`The AKS cluster '${ref.name}' was not found in resource group '${ref.resourceGroup}'.`, {
        code: 'ClusterNotFound',
        cause: `Subscription ${clients.subscriptionId} has no managed cluster with that name in that resource group (or the service connection cannot see it).`,
        fix: 'Check the clusterName and resourceGroup inputs and that the service connection points at the subscription of the cluster.',
        inner: err,
      });
    }
    throw describeArmError(err, errorContext(ref, 'read', ctx));
  }
}

export async function readCluster(
  clients: ArmClients,
  ref: ClusterRef,
  ctx: ClusterCallContext,
): Promise<ClusterState> {
  return (await readClusterResource(clients, ref, ctx)).state;
}

/** The cluster's state and the resource as read: an update can start from that read (see EnableOptions.observed). */
export async function readClusterResource(
  clients: ArmClients,
  ref: ClusterRef,
  ctx: ClusterCallContext,
): Promise<{ state: ClusterState; resource: ManagedCluster }> {
  const resource = await getCluster(clients, ref, ctx);
  return { state: toState(resource), resource };
}

/** The issuer URL of a cluster whose OIDC issuer is on; a clear error when AKS reports none. */
export function requireIssuer(state: ClusterState, ref: ClusterRef): ClusterState {
  if (!state.issuerUrl) {
    throw new UserError(`The AKS cluster '${ref.name}' has the OIDC issuer enabled but reports no issuer URL.`, {
      code: 'ClusterIssuerMissing',
      cause: 'oidcIssuerProfile.issuerURL is empty in the cluster resource.',
      fix: "Wait a few minutes and re-run the task; if it stays empty, run `az aks update --enable-oidc-issuer` and check the cluster's activity log.",
    });
  }
  return state;
}

export interface EnableOptions extends ClusterCallContext {
  /** Upper bound for the whole operation: waiting for a busy cluster plus the update itself. */
  timeoutMs: number;
  /** The run's retry policy: the busy-cluster retry runs under it, the LRO polls on its clock. */
  retry?: RetryPolicy;
  /** First wait between busy-cluster retries (default 1 s, doubles up to 30 s); a Retry-After header wins. */
  busyIntervalMs?: number;
  /** Wait between polls of the update (default 2 s, the SDK's default). */
  pollIntervalMs?: number;
  /**
   * The cluster as this run last read it (readClusterResource). The first attempt's
   * read-modify-write starts from it instead of a new GET when it carries an eTag: the PUT's
   * If-Match then refuses it (412) if anyone changed the cluster since, and the retry reads again.
   */
  observed?: ManagedCluster;
}

const BUSY_CODES = new Set([
  'OperationNotAllowed',
  'EtagMismatch',
  'Conflict',
  'AnotherOperationInProgress',
  'PreconditionFailed',
]);

function isBusyError(err: unknown): boolean {
  const info = errorInfo(err);
  return (info.status === 409 || info.status === 412) && (info.code === undefined || BUSY_CODES.has(info.code));
}

/** The cluster with both features on, as the PUT body of the read-modify-write. */
function withWorkloadIdentity(cluster: ManagedCluster): ManagedCluster {
  return {
    ...cluster,
    oidcIssuerProfile: { ...cluster.oidcIssuerProfile, enabled: true },
    securityProfile: {
      ...cluster.securityProfile,
      workloadIdentity: { ...cluster.securityProfile?.workloadIdentity, enabled: true },
    },
  };
}

class UpdateTimeout extends Error {}

/**
 * Enables the OIDC issuer and workload identity (read-modify-write PUT as an LRO) unless both are
 * on already; returns the cluster as read after the update. A busy cluster (409) is retried under
 * the one retry policy on a fresh read; the whole is bounded by `timeoutMs` (on the policy's clock).
 */
export async function enableWorkloadIdentity(
  clients: ArmClients,
  ref: ClusterRef,
  opts: EnableOptions,
): Promise<ClusterState> {
  const base = opts.retry ?? new RetryPolicy({ log: opts.log });
  const clock = base.clock;
  const deadline = clock.now() + opts.timeoutMs;
  const policy = base.with({
    maxAttempts: Number.MAX_SAFE_INTEGER,
    maxTotalMs: opts.timeoutMs,
    baseDelayMs: opts.busyIntervalMs ?? 1000,
    maxDelayMs: 30_000,
    retryOn: isBusyError,
  });
  const timeoutError = (what: string, inner?: unknown) =>
    new UserError(
      `Timed out after ${Math.round(opts.timeoutMs / 60000)} min ${what} of the AKS cluster '${ref.name}'.`,
      {
        code: 'ClusterUpdateTimeout',
        cause: 'The cluster was busy or the update took longer than the task waits (clusterUpdateTimeoutMinutes).',
        fix: 'An update already started keeps running in Azure: check the cluster in the portal (or az aks show), then re-run the task; it continues from where this run stopped. Raise clusterUpdateTimeoutMinutes for slow clusters.',
        inner,
      },
    );
  let attempt = 0;
  let observed = opts.observed?.eTag ? opts.observed : undefined;
  try {
    return await policy.run(`the update of the AKS cluster '${ref.name}'`, async () => {
      const cluster = observed ?? (await getCluster(clients, ref, opts));
      observed = undefined;
      const state = toState(cluster);
      // Both on (perhaps by someone else while we waited): nothing to write, busy or not.
      if (!needsWorkloadIdentityUpdate(state)) return requireIssuer(state, ref);
      const turnOn = [
        !state.oidcIssuerEnabled ? 'OIDC issuer' : '',
        !state.workloadIdentityEnabled ? 'workload identity' : '',
      ]
        .filter(Boolean)
        .join(' and ');
      opts.log.info(
        attempt++ === 0
          ? `Updating the AKS cluster '${ref.name}': enabling ${turnOn}. This restarts the API server and can take several minutes.`
          : `Trying the update of the AKS cluster '${ref.name}' again (enabling ${turnOn}).`,
      );
      const result = await runUpdate(clients, ref, cluster, state, { ...opts, clock, deadline, poller: base });
      return readBackEnabled(clients, ref, opts, result);
    });
  } catch (err) {
    if (err instanceof UpdateTimeout) throw timeoutError('updating', err);
    if (isBusyError(err)) throw timeoutError('waiting for another operation', err);
    throw err;
  }
}

/** PUT as an LRO, polled on the policy's clock until done or the deadline; the cluster the operation ended with, when the poller has it. */
async function runUpdate(
  clients: ArmClients,
  ref: ClusterRef,
  cluster: ManagedCluster,
  state: ClusterState,
  opts: EnableOptions & { clock: Clock; deadline: number; poller: RetryPolicy },
): Promise<ManagedCluster | undefined> {
  const { clock } = opts;
  const start = clock.now();
  const poller = clients.aks.managedClusters.createOrUpdate(
    ref.resourceGroup,
    ref.name,
    withWorkloadIdentity(cluster),
    {
      ...(state.eTag ? { ifMatch: state.eTag } : {}),
    },
  );
  try {
    await poller.submitted();
    const done =
      poller.isDone ||
      (await opts.poller.poll(
        async () => {
          await poller.poll();
          opts.log.progress(
            `AKS cluster update ${poller.operationState?.status ?? 'running'} (${Math.round((clock.now() - start) / 1000)} s)`,
          );
          return poller.isDone ? true : undefined;
        },
        { intervalMs: opts.pollIntervalMs ?? 2000, timeoutMs: Math.max(0, opts.deadline - clock.now()) },
      ));
    if (!done) throw new UpdateTimeout('the update did not finish in time');
  } catch (err) {
    if (err instanceof UpdateTimeout || isBusyError(err)) throw err;
    // The operation's own verdict (core-lro's state), not its error text.
    if (poller.operationState?.status !== 'failed' && poller.operationState?.status !== 'canceled')
      throw describeArmError(err, errorContext(ref, 'update', opts));
  }
  const op = poller.operationState;
  if (op?.status === 'failed' || op?.status === 'canceled') {
    throw new UserError(
      `The update of the AKS cluster '${ref.name}' ${op.status === 'failed' ? 'failed' : 'was canceled'}.`,
      {
        code: 'ClusterUpdateFailed',
        cause: op.error?.message ?? `the operation ended ${op.status}`,
        fix: "Look at the cluster's activity log for the failed operation, fix its cause, then re-run the task (it retries the update).",
        inner: op.error,
      },
    );
  }
  // The poller's final GET of the resource (ARM's LRO rule for a PUT).
  return poller.result;
}

/**
 * The cluster after the update: both features on and an issuer URL, or an error that says what
 * stuck. The operation's final read serves when it shows both on with an issuer; otherwise the
 * cluster is read again before anything is concluded.
 */
async function readBackEnabled(
  clients: ArmClients,
  ref: ClusterRef,
  opts: ClusterCallContext,
  final: ManagedCluster | undefined,
): Promise<ClusterState> {
  const done = final && toState(final);
  const after =
    done && !needsWorkloadIdentityUpdate(done) && done.issuerUrl ? done : toState(await getCluster(clients, ref, opts));
  if (needsWorkloadIdentityUpdate(after)) {
    throw new UserError(
      `The AKS cluster '${ref.name}' still reports OIDC issuer ${after.oidcIssuerEnabled ? 'on' : 'off'} and workload identity ${after.workloadIdentityEnabled ? 'on' : 'off'} after the update.`,
      {
        code: 'ClusterUpdateNotApplied',
        cause:
          'The update finished but the settings did not stick (a policy or another deployment may have reverted them).',
        fix: 'Run `az aks update --enable-oidc-issuer --enable-workload-identity` for the cluster and check its activity log, then re-run the task.',
      },
    );
  }
  requireIssuer(after, ref);
  opts.log.info(
    `The AKS cluster '${ref.name}' has OIDC issuer and workload identity enabled; issuer ${after.issuerUrl}`,
  );
  return after;
}
