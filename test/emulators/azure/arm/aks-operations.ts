/**
 * The long-running operations of managedClusters PUT (Azure-AsyncOperation + Retry-After,
 * https://learn.microsoft.com/azure/azure-resource-manager/management/async-operations):
 * completion after a configurable number of status reads / real ms / emulated-clock ms, failures
 * on demand, 409 OperationNotAllowed while an operation runs or the cluster is busy
 * (https://aka.ms/aks-pending-operation), and the operation status resource.
 */
import * as crypto from 'node:crypto';
import type { CloudContext } from '../../core/context';
import type { EmuResponse } from '../../core/host';
import type { ClusterState, LroBehaviour, SubscriptionState } from '../model';
import { ArmError, eqi, findSubscription, ok, type ArmCall } from './common';
import type { Pending } from './aks-resource';

interface Operation {
  id: string;
  clusterId: string;
  subscriptionId: string;
  location: string;
  startedReal: number;
  startedClock: number;
  polls: number;
  behaviour: LroBehaviour;
  status: 'InProgress' | 'Succeeded' | 'Failed';
  endTime?: string;
  startTime: string;
  error?: { code: string; message: string };
  pending: Pending;
  cluster: ClusterState;
  creating: boolean;
}

export function newEtag(): string {
  return crypto.randomBytes(6).toString('hex');
}

/** Applies a succeeded operation's writes to the cluster; true when the API server must hear of it. */
function apply(c: ClusterState, p: Pending): boolean {
  let changed = false;
  if (p.oidcIssuer !== undefined && p.oidcIssuer !== c.oidcIssuer.enabled) {
    c.oidcIssuer.enabled = p.oidcIssuer;
    if (p.oidcIssuer && !c.oidcIssuer.issuerId && !c.oidcIssuer.issuerUrl) c.oidcIssuer.issuerId = crypto.randomUUID();
    changed = true;
  }
  if (p.workloadIdentity !== undefined && p.workloadIdentity !== c.workloadIdentity) {
    c.workloadIdentity = p.workloadIdentity;
    changed = true;
  }
  if (p.aadProfile) {
    c.aadProfile = p.aadProfile;
    changed = true;
  }
  if (p.disableLocalAccounts !== undefined) c.disableLocalAccounts = p.disableLocalAccounts;
  if (p.tagsSet) c.tags = p.tags;
  if (p.nodeCount !== undefined) c.nodeCount = p.nodeCount;
  return changed;
}

export class AksOperations {
  private readonly operations = new Map<string, Operation>();
  /** The running operation per cluster (lower-cased resource id). */
  private readonly running = new Map<string, Operation>();

  /** Finishes the operation when its time has come (lazily: on status reads and on cluster reads/writes). */
  settle(ctx: CloudContext, op: Operation): void {
    if (op.status !== 'InProgress') return;
    const b = op.behaviour;
    const due =
      op.polls >= (b.inProgressPolls ?? 0) &&
      Date.now() - op.startedReal >= (b.durationMs ?? 0) &&
      ctx.clock.now() - op.startedClock >= (b.clockMs ?? 0);
    if (!due) return;
    const c = op.cluster;
    op.endTime = ctx.clock.iso();
    this.running.delete(op.clusterId.toLowerCase());
    const fail = c.lro?.fail;
    if (fail && (fail.count ?? 1) > 0) {
      op.status = 'Failed';
      op.error = {
        code: fail.code ?? 'InternalOperationError',
        message: fail.message ?? 'The cluster operation failed (emulated failure). Retry the operation.',
      };
      const left = (fail.count ?? 1) - 1;
      if (left > 0) fail.count = left;
      else delete c.lro!.fail;
      c.provisioningState = 'Failed';
      return;
    }
    op.status = 'Succeeded';
    const changed = apply(c, op.pending);
    c.provisioningState = 'Succeeded';
    c.eTag = newEtag();
    if (changed || op.creating) ctx.kube.clusterUpdated(op.clusterId);
  }

  settleCluster(ctx: CloudContext, clusterId: string): void {
    const op = this.running.get(clusterId.toLowerCase());
    if (op) this.settle(ctx, op);
  }

  /** Lets time-driven operations finish when the emulated clock moves (nobody may be polling). */
  settleAll(ctx: CloudContext): void {
    for (const op of [...this.running.values()]) this.settle(ctx, op);
  }

  /** 409 OperationNotAllowed while an operation runs or the cluster is marked busy. */
  rejectWhileBusy(c: ClusterState, clusterId: string): void {
    const op = this.running.get(clusterId.toLowerCase());
    const operation = op
      ? op.creating
        ? 'Creating'
        : 'Updating'
      : c.busy
        ? (c.busy.operation ?? 'Updating')
        : undefined;
    if (!operation) return;
    if (!op && c.busy) {
      const left = c.busy.rejections;
      if (left !== undefined) {
        if (left <= 1) delete c.busy;
        else c.busy.rejections = left - 1;
      }
    }
    throw new ArmError(
      409,
      'OperationNotAllowed',
      `Operation is not allowed: Another operation (${operation}) is in progress, please wait for it to finish before starting a new operation. See https://aka.ms/aks-pending-operation for more details`,
    );
  }

  /** Starts the operation; returns the Azure-AsyncOperation / Retry-After headers of the PUT answer. */
  start(
    call: ArmCall,
    sub: SubscriptionState,
    c: ClusterState,
    clusterId: string,
    pending: Pending,
    creating: boolean,
  ): Record<string, string> {
    const op: Operation = {
      id: crypto.randomUUID(),
      clusterId,
      subscriptionId: sub.id,
      location: c.location,
      startedReal: Date.now(),
      startedClock: call.ctx.clock.now(),
      polls: 0,
      behaviour: { ...(c.lro ?? {}) },
      status: 'InProgress',
      startTime: call.ctx.clock.iso(),
      pending,
      cluster: c,
      creating,
    };
    this.operations.set(op.id, op);
    this.running.set(clusterId.toLowerCase(), op);
    const url = `${call.ctx.urls.arm}/subscriptions/${op.subscriptionId}/providers/Microsoft.ContainerService/locations/${op.location}/operations/${op.id}?api-version=${call.apiVersion}`;
    return { 'azure-asyncoperation': url, 'retry-after': String(op.behaviour.retryAfterSeconds ?? 1) };
  }

  /** GET .../locations/{location}/operations/{operationId}. */
  async status(call: ArmCall): Promise<EmuResponse> {
    findSubscription(call);
    const op = this.operations.get(call.params.operationId!);
    if (!op || !eqi(op.subscriptionId, call.params.subscriptionId!)) {
      throw new ArmError(404, 'NotFound', `The operation '${call.params.operationId}' could not be found.`);
    }
    if (op.status === 'InProgress') {
      op.polls++;
      this.settle(call.ctx, op);
    }
    const body: Record<string, unknown> = {
      id: call.req.path,
      name: op.id,
      status: op.status,
      startTime: op.startTime,
    };
    if (op.endTime) body.endTime = op.endTime;
    if (op.error) body.error = op.error;
    const headers: Record<string, string> =
      op.status === 'InProgress' ? { 'retry-after': String(op.behaviour.retryAfterSeconds ?? 1) } : {};
    return ok(200, body, { headers });
  }
}
