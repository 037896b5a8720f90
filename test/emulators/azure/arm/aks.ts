/**
 * Microsoft.ContainerService/managedClusters: GET, PUT as a long-running operation (Azure-AsyncOperation
 * + Retry-After, provisioningState Updating/Creating, completion after a configurable number of
 * status reads / real ms / emulated-clock ms, failures on demand), 409 OperationNotAllowed while an
 * operation runs or the cluster is busy, the OIDC issuer that cannot be disabled, and the
 * listCluster{User,Admin}Credential actions (kubeconfig from ctx.kube).
 */
import * as crypto from 'node:crypto';
import type { CloudContext } from '../../core/context';
import type { EmuResponse } from '../../core/host';
import { clusterIssuerUrl, clusterResourceId } from '../clusters';
import type { ClusterState, LroBehaviour, ResourceGroupState, SubscriptionState } from '../model';
import {
  ArmError,
  authorize,
  eqi,
  findResourceGroup,
  findSubscription,
  isObject,
  jsonBody,
  ok,
  resourceNotFound,
  tagsFrom,
  type ArmCall,
} from './common';

const TYPE = 'Microsoft.ContainerService/managedClusters';
const NAME = /^[a-zA-Z0-9]$|^[a-zA-Z0-9][-_a-zA-Z0-9]{0,61}[a-zA-Z0-9]$/;
const CLUSTER_BASE =
  '/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.ContainerService/managedClusters';
const OPERATIONS =
  '/subscriptions/{subscriptionId}/providers/Microsoft.ContainerService/locations/{location}/operations/{operationId}';
/** The version a create without kubernetesVersion gets (the current AKS default line). */
export const DEFAULT_KUBERNETES_VERSION = '1.34.1';

/** AKS enables the OIDC issuer by default on clusters created with Kubernetes 1.34 or later (use-oidc-issuer.md). */
function oidcOnByDefault(version: string): boolean {
  const [major, minor] = version.split('.').map(Number);
  return (major ?? 0) > 1 || ((major ?? 0) === 1 && (minor ?? 0) >= 34);
}

/** Deterministic GUID-shaped id from a seed string (stable ids across GETs and dumps). */
function stableUuid(seed: string): string {
  const h = crypto.createHash('sha256').update(seed).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

function newEtag(): string {
  return crypto.randomBytes(6).toString('hex');
}

interface Pending {
  oidcIssuer?: boolean;
  workloadIdentity?: boolean;
  tags?: Record<string, string> | undefined;
  tagsSet: boolean;
  nodeCount?: number;
}

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

export function createAksOperations() {
  const operations = new Map<string, Operation>();
  /** The running operation per cluster (lower-cased resource id). */
  const running = new Map<string, Operation>();

  function locate(call: ArmCall): { sub: SubscriptionState; rg: ResourceGroupState } {
    const sub = findSubscription(call);
    return { sub, rg: findResourceGroup(call, sub) };
  }

  function findClusterIn(rg: ResourceGroupState, name: string): ClusterState | undefined {
    return rg.clusters.find((c) => eqi(c.name, name));
  }

  /** Finishes the operation when its time has come (lazily: on status reads and on cluster reads/writes). */
  function settle(ctx: CloudContext, op: Operation): void {
    if (op.status !== 'InProgress') return;
    const b = op.behaviour;
    const due =
      op.polls >= (b.inProgressPolls ?? 0) &&
      Date.now() - op.startedReal >= (b.durationMs ?? 0) &&
      ctx.clock.now() - op.startedClock >= (b.clockMs ?? 0);
    if (!due) return;
    const c = op.cluster;
    op.endTime = ctx.clock.iso();
    running.delete(op.clusterId.toLowerCase());
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
    const p = op.pending;
    let identityChanged = false;
    if (p.oidcIssuer !== undefined && p.oidcIssuer !== c.oidcIssuer.enabled) {
      c.oidcIssuer.enabled = p.oidcIssuer;
      if (p.oidcIssuer && !c.oidcIssuer.issuerId && !c.oidcIssuer.issuerUrl)
        c.oidcIssuer.issuerId = crypto.randomUUID();
      identityChanged = true;
    }
    if (p.workloadIdentity !== undefined && p.workloadIdentity !== c.workloadIdentity) {
      c.workloadIdentity = p.workloadIdentity;
      identityChanged = true;
    }
    if (p.tagsSet) c.tags = p.tags;
    if (p.nodeCount !== undefined) c.nodeCount = p.nodeCount;
    c.provisioningState = 'Succeeded';
    c.eTag = newEtag();
    if (identityChanged || op.creating) ctx.kube.clusterUpdated(op.clusterId);
  }

  function settleCluster(call: ArmCall, clusterId: string): void {
    const op = running.get(clusterId.toLowerCase());
    if (op) settle(call.ctx, op);
  }

  function render(
    call: ArmCall,
    sub: SubscriptionState,
    rg: ResourceGroupState,
    c: ClusterState,
    override: Partial<Pending> & { provisioningState?: string } = {},
  ): Record<string, unknown> {
    const id = clusterResourceId(sub.id, rg.name, c.name);
    const state =
      override.provisioningState ?? (c.busy ? (c.busy.operation ?? 'Updating') : (c.provisioningState ?? 'Succeeded'));
    const dnsPrefix = c.dnsPrefix ?? `${c.name}-${rg.name}-${sub.id.slice(0, 6)}`.slice(0, 54);
    const suffix = stableUuid(id).slice(0, 8);
    const oidcEnabled = override.oidcIssuer ?? c.oidcIssuer.enabled;
    const wi = override.workloadIdentity ?? c.workloadIdentity;
    const issuerURL = oidcEnabled
      ? clusterIssuerUrl(call.ctx, { ...c, oidcIssuer: { ...c.oidcIssuer, enabled: true } })
      : undefined;
    const nodeRg = `MC_${rg.name}_${c.name}_${c.location}`;
    const pool = {
      name: 'nodepool1',
      count: c.nodeCount ?? 3,
      vmSize: 'Standard_D4ds_v5',
      osDiskSizeGB: 128,
      osDiskType: 'Ephemeral',
      kubeletDiskType: 'OS',
      maxPods: 110,
      type: 'VirtualMachineScaleSets',
      availabilityZones: ['1', '2', '3'],
      enableAutoScaling: false,
      provisioningState: state,
      powerState: { code: 'Running' },
      orchestratorVersion: c.kubernetesVersion,
      currentOrchestratorVersion: c.kubernetesVersion,
      enableNodePublicIP: false,
      mode: 'System',
      osType: 'Linux',
      osSKU: 'Ubuntu',
      nodeImageVersion: 'AKSUbuntu-2204gen2containerd-202503.02.0',
      upgradeSettings: { maxSurge: '10%' },
      enableFIPS: false,
      eTag: stableUuid(`${id}/pool/${c.eTag ?? ''}`).slice(0, 8),
    };
    const properties: Record<string, unknown> = {
      provisioningState: state,
      powerState: { code: 'Running' },
      kubernetesVersion: c.kubernetesVersion,
      currentKubernetesVersion: c.kubernetesVersion,
      dnsPrefix,
      fqdn: `${dnsPrefix}-${suffix}.hcp.${c.location}.azmk8s.io`,
      azurePortalFQDN: `${dnsPrefix}-${suffix}.portal.hcp.${c.location}.azmk8s.io`,
      agentPoolProfiles: [pool],
      linuxProfile: {
        adminUsername: 'azureuser',
        ssh: { publicKeys: [{ keyData: 'ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ emulated' }] },
      },
      servicePrincipalProfile: { clientId: 'msi' },
      nodeResourceGroup: nodeRg,
      enableRBAC: true,
      supportPlan: 'KubernetesOfficial',
      networkProfile: {
        networkPlugin: 'azure',
        networkPluginMode: 'overlay',
        networkPolicy: 'none',
        networkDataplane: 'azure',
        loadBalancerSku: 'standard',
        loadBalancerProfile: {
          managedOutboundIPs: { count: 1 },
          allocatedOutboundPorts: 0,
          idleTimeoutInMinutes: 30,
          effectiveOutboundIPs: [
            {
              id: `/subscriptions/${sub.id}/resourceGroups/${nodeRg}/providers/Microsoft.Network/publicIPAddresses/${stableUuid(`${id}/ip`)}`,
            },
          ],
        },
        podCidr: '10.244.0.0/16',
        serviceCidr: '10.0.0.0/16',
        dnsServiceIP: '10.0.0.10',
        outboundType: 'loadBalancer',
        podCidrs: ['10.244.0.0/16'],
        serviceCidrs: ['10.0.0.0/16'],
        ipFamilies: ['IPv4'],
      },
      maxAgentPools: 100,
      disableLocalAccounts: false,
      oidcIssuerProfile: issuerURL ? { enabled: true, issuerURL } : { enabled: oidcEnabled },
      securityProfile: wi ? { workloadIdentity: { enabled: true } } : {},
      identityProfile: {
        kubeletidentity: {
          resourceId: `/subscriptions/${sub.id}/resourcegroups/${nodeRg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${c.name}-agentpool`,
          clientId: stableUuid(`${id}/kubelet/client`),
          objectId: stableUuid(`${id}/kubelet/object`),
        },
      },
    };
    return {
      id,
      location: c.location,
      name: c.name,
      type: TYPE,
      tags: (override.tagsSet ? override.tags : c.tags) ?? {},
      eTag: c.eTag ?? 'initial',
      sku: { name: 'Base', tier: 'Free' },
      identity: { type: 'SystemAssigned', principalId: stableUuid(`${id}/identity`), tenantId: call.azure.tenant.id },
      properties,
    };
  }

  async function getCluster(call: ArmCall): Promise<EmuResponse> {
    authorize(call, `${TYPE}/read`, call.req.path);
    const { sub, rg } = locate(call);
    const c = findClusterIn(rg, call.params.resourceName!);
    if (!c) throw resourceNotFound(TYPE, call.params.resourceName!, rg.name);
    settleCluster(call, clusterResourceId(sub.id, rg.name, c.name));
    return ok(200, render(call, sub, rg, c));
  }

  async function listClusters(call: ArmCall): Promise<EmuResponse> {
    authorize(call, `${TYPE}/read`, call.req.path.replace(/\/providers\/.*$/i, ''));
    const sub = findSubscription(call);
    const rgs = call.params.resourceGroupName ? [findResourceGroup(call, sub)] : sub.resourceGroups;
    const value = rgs.flatMap((rg) =>
      rg.clusters.map((c) => {
        settleCluster(call, clusterResourceId(sub.id, rg.name, c.name));
        return render(call, sub, rg, c);
      }),
    );
    return ok(200, { value });
  }

  function rejectWhileBusy(c: ClusterState, op: Operation | undefined): void {
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

  /**
   * The writable fields of a PUT body the emulator models. PUT replaces the whole resource (ARM RPC,
   * Azure/azure-resource-manager-rpc v1.0/resource-api-reference.md "PUT Resource": the resource is
   * replaced; PATCH on managedClusters only updates tags, ManagedClusters_UpdateTags): a profile the
   * body leaves out is its default, not the current value. So a partial body turns workload
   * identity off, clears the tags, and meets the validation a full model would.
   */
  function desired(body: Record<string, unknown>, version: string): Pending {
    const props = isObject(body.properties) ? body.properties : {};
    const oidc = isObject(props.oidcIssuerProfile) ? props.oidcIssuerProfile.enabled : undefined;
    const sp = props.securityProfile;
    const wi = isObject(sp) && isObject(sp.workloadIdentity) ? sp.workloadIdentity.enabled : undefined;
    const pools = Array.isArray(props.agentPoolProfiles) ? props.agentPoolProfiles : [];
    const count = isObject(pools[0]) && typeof pools[0].count === 'number' ? pools[0].count : undefined;
    return {
      oidcIssuer: typeof oidc === 'boolean' ? oidc : oidcOnByDefault(version),
      workloadIdentity: wi === true,
      tags: tagsFrom(body.tags),
      tagsSet: true,
      ...(count !== undefined ? { nodeCount: count } : {}),
    };
  }

  /** What AKS requires of every PUT body, create or update (its "Required parameter ... is missing (null)" answers). */
  function requireModel(body: Record<string, unknown>): void {
    const props = body.properties;
    if (!isObject(props))
      throw new ArmError(400, 'InvalidParameter', 'Required parameter properties is missing (null).');
    const pools = props.agentPoolProfiles;
    if (!Array.isArray(pools) || pools.length === 0)
      throw new ArmError(400, 'InvalidParameter', 'Required parameter agentPoolProfiles is missing (null).');
  }

  /**
   * If-Match / If-None-Match on a write (learn.microsoft.com/azure/aks/use-etags: a mismatch "fails
   * early"; ARM RPC resource-api-reference: a failed precondition is 412 Precondition Failed).
   */
  function checkPreconditions(call: ArmCall, existing: ClusterState | undefined): void {
    const ifMatch = call.req.headers['if-match'];
    const ifNoneMatch = call.req.headers['if-none-match'];
    const current = existing ? (existing.eTag ?? 'initial') : undefined;
    const failed = (header: string, value: string) =>
      new ArmError(412, 'PreconditionFailed', `The specified precondition '${header} = ${value}' failed.`);
    if (typeof ifMatch === 'string' && ifMatch !== '') {
      if (current === undefined || (ifMatch !== '*' && ifMatch.replace(/"/g, '') !== current))
        throw failed('If-Match', ifMatch);
    }
    if (ifNoneMatch === '*' && existing) throw failed('If-None-Match', ifNoneMatch);
  }

  function startOperation(
    call: ArmCall,
    sub: SubscriptionState,
    c: ClusterState,
    clusterId: string,
    pending: Pending,
    creating: boolean,
  ): Operation {
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
    operations.set(op.id, op);
    running.set(clusterId.toLowerCase(), op);
    return op;
  }

  function lroHeaders(call: ArmCall, op: Operation): Record<string, string> {
    const url = `${call.ctx.urls.arm}/subscriptions/${op.subscriptionId}/providers/Microsoft.ContainerService/locations/${op.location}/operations/${op.id}?api-version=${call.apiVersion}`;
    return { 'azure-asyncoperation': url, 'retry-after': String(op.behaviour.retryAfterSeconds ?? 1) };
  }

  async function putCluster(call: ArmCall): Promise<EmuResponse> {
    const name = call.params.resourceName!;
    authorize(call, `${TYPE}/write`, call.req.path);
    const { sub, rg } = locate(call);
    if (!NAME.test(name)) {
      throw new ArmError(
        400,
        'InvalidParameter',
        `The value of parameter resourceName '${name}' is invalid. It must match '^[a-zA-Z0-9]$|^[a-zA-Z0-9][-_a-zA-Z0-9]{0,61}[a-zA-Z0-9]$'.`,
      );
    }
    const body = jsonBody<Record<string, unknown>>(call);
    const location = typeof body.location === 'string' ? body.location.replace(/\s+/g, '').toLowerCase() : '';
    if (!location)
      throw new ArmError(
        400,
        'InvalidParameter',
        'The value of parameter location is invalid: a location is required.',
      );
    const existing = findClusterIn(rg, name);
    const clusterId = clusterResourceId(sub.id, rg.name, existing?.name ?? name);
    if (existing) settleCluster(call, clusterId);
    checkPreconditions(call, existing);
    requireModel(body);
    const props = body.properties as Record<string, unknown>;
    if (existing) {
      rejectWhileBusy(existing, running.get(clusterId.toLowerCase()));
      if (existing.location !== location)
        throw new ArmError(400, 'PropertyChangeNotAllowed', "Changing property 'location' is not allowed.");
      const current = render(call, sub, rg, existing).properties as { dnsPrefix: string };
      if (props.dnsPrefix !== current.dnsPrefix)
        throw new ArmError(400, 'PropertyChangeNotAllowed', "Changing property 'dnsPrefix' is not allowed.");
      const want = desired(body, existing.kubernetesVersion);
      if (existing.oidcIssuer.enabled && want.oidcIssuer === false) {
        // Documented ("disabling it is not supported"); the service's exact code/text is not published (api-contracts B).
        throw new ArmError(400, 'BadRequest', 'OIDC issuer feature cannot be disabled.');
      }
      if (want.workloadIdentity && !want.oidcIssuer) {
        throw new ArmError(
          400,
          'BadRequest',
          'Enabling workload identity requires the OIDC issuer to be enabled: set properties.oidcIssuerProfile.enabled to true.',
        );
      }
      existing.provisioningState = 'Updating';
      const op = startOperation(call, sub, existing, clusterId, want, false);
      return ok(200, render(call, sub, rg, existing, { ...want, provisioningState: 'Updating' }), {
        headers: lroHeaders(call, op),
      });
    }
    const version =
      typeof props.kubernetesVersion === 'string' && props.kubernetesVersion
        ? props.kubernetesVersion
        : DEFAULT_KUBERNETES_VERSION;
    const want = desired(body, version);
    if (want.workloadIdentity && !want.oidcIssuer) {
      throw new ArmError(
        400,
        'BadRequest',
        'Enabling workload identity requires the OIDC issuer to be enabled: set properties.oidcIssuerProfile.enabled to true.',
      );
    }
    const pools = Array.isArray(props.agentPoolProfiles) ? props.agentPoolProfiles : [];
    const firstPool = isObject(pools[0]) ? pools[0] : {};
    const created: ClusterState = {
      name,
      location,
      kubernetesVersion: version,
      oidcIssuer: { enabled: false },
      workloadIdentity: false,
      provisioningState: 'Creating',
      eTag: newEtag(),
    };
    if (typeof props.dnsPrefix === 'string') created.dnsPrefix = props.dnsPrefix;
    if (typeof firstPool.count === 'number') created.nodeCount = firstPool.count;
    rg.clusters.push(created);
    const op = startOperation(call, sub, created, clusterId, want, true);
    return ok(201, render(call, sub, rg, created, { ...want, provisioningState: 'Creating' }), {
      headers: lroHeaders(call, op),
    });
  }

  async function operationStatus(call: ArmCall): Promise<EmuResponse> {
    findSubscription(call);
    const op = operations.get(call.params.operationId!);
    if (!op || !eqi(op.subscriptionId, call.params.subscriptionId!)) {
      throw new ArmError(404, 'NotFound', `The operation '${call.params.operationId}' could not be found.`);
    }
    if (op.status === 'InProgress') {
      op.polls++;
      settle(call.ctx, op);
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

  function credentials(kind: 'user' | 'admin') {
    return async (call: ArmCall): Promise<EmuResponse> => {
      const action = kind === 'user' ? 'listClusterUserCredential' : 'listClusterAdminCredential';
      authorize(call, `${TYPE}/${action}/action`, call.req.path.replace(/\/[^/]+$/, ''));
      const { sub, rg } = locate(call);
      const c = findClusterIn(rg, call.params.resourceName!);
      if (!c) throw resourceNotFound(TYPE, call.params.resourceName!, rg.name);
      const kubeconfig = call.ctx.kube.kubeconfig(clusterResourceId(sub.id, rg.name, c.name), kind);
      const value = Buffer.from(kubeconfig, 'utf8').toString('base64');
      // Reading credentials changes nothing: not a write in the journal.
      return ok(
        200,
        { kubeconfigs: [{ name: kind === 'user' ? 'clusterUser' : 'clusterAdmin', value }] },
        { write: false },
      );
    };
  }

  return {
    routes: [
      { method: 'GET', pattern: `${CLUSTER_BASE}/{resourceName}`, handle: getCluster },
      { method: 'PUT', pattern: `${CLUSTER_BASE}/{resourceName}`, handle: putCluster },
      { method: 'GET', pattern: CLUSTER_BASE, handle: listClusters },
      {
        method: 'GET',
        pattern: '/subscriptions/{subscriptionId}/providers/Microsoft.ContainerService/managedClusters',
        handle: listClusters,
      },
      {
        method: 'POST',
        pattern: `${CLUSTER_BASE}/{resourceName}/listClusterUserCredential`,
        handle: credentials('user'),
      },
      {
        method: 'POST',
        pattern: `${CLUSTER_BASE}/{resourceName}/listClusterAdminCredential`,
        handle: credentials('admin'),
      },
      { method: 'GET', pattern: OPERATIONS, handle: operationStatus },
    ],
    /** Lets time-driven operations finish when the emulated clock moves (nobody may be polling). */
    settleAll(ctx: CloudContext): void {
      for (const op of [...running.values()]) settle(ctx, op);
    },
  };
}
