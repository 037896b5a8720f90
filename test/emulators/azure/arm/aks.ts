/**
 * Microsoft.ContainerService/managedClusters (https://learn.microsoft.com/rest/api/aks/managed-clusters):
 * GET / list, PUT as a long-running operation (aks-operations.ts), the OIDC issuer that cannot be
 * disabled, Entra integration that cannot be removed once on (managed-azure-ad.md: "can't be
 * disabled"), and listCluster{User,Admin}Credential (kubeconfig from ctx.kube; the admin one is
 * refused when local accounts are disabled, manage-local-accounts-managed-azure-ad.md).
 */
import type { CloudContext } from '../../core/context';
import type { EmuResponse } from '../../core/host';
import { clusterResourceId } from '../clusters';
import type { ClusterState, ResourceGroupState, SubscriptionState } from '../model';
import { AksOperations, newEtag } from './aks-operations';
import { desired, renderCluster, TYPE, type Pending } from './aks-resource';
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
  type ArmCall,
} from './common';

const NAME = /^[a-zA-Z0-9]$|^[a-zA-Z0-9][-_a-zA-Z0-9]{0,61}[a-zA-Z0-9]$/;
const CLUSTER_BASE =
  '/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.ContainerService/managedClusters';
const OPERATIONS =
  '/subscriptions/{subscriptionId}/providers/Microsoft.ContainerService/locations/{location}/operations/{operationId}';
/** The version a create without kubernetesVersion gets (the current AKS default line). */
export const DEFAULT_KUBERNETES_VERSION = '1.34.1';
const WI_NEEDS_OIDC =
  'Enabling workload identity requires the OIDC issuer to be enabled: set properties.oidcIssuerProfile.enabled to true.';

function locate(call: ArmCall): { sub: SubscriptionState; rg: ResourceGroupState } {
  const sub = findSubscription(call);
  return { sub, rg: findResourceGroup(call, sub) };
}

function findClusterIn(rg: ResourceGroupState, name: string): ClusterState | undefined {
  return rg.clusters.find((c) => eqi(c.name, name));
}

/** What AKS requires of every PUT body, create or update (its "Required parameter ... is missing (null)" answers). */
function requireModel(body: Record<string, unknown>): void {
  const props = body.properties;
  if (!isObject(props)) throw new ArmError(400, 'InvalidParameter', 'Required parameter properties is missing (null).');
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

/** The rules of a PUT on an existing cluster (settings that cannot go back, location). */
function checkUpdate(existing: ClusterState, want: Pending, location: string): void {
  if (existing.location !== location)
    throw new ArmError(400, 'PropertyChangeNotAllowed', "Changing property 'location' is not allowed.");
  if (existing.oidcIssuer.enabled && want.oidcIssuer === false) {
    // Documented ("disabling it is not supported"); the service's exact code/text is not published (api-contracts B).
    throw new ArmError(400, 'BadRequest', 'OIDC issuer feature cannot be disabled.');
  }
  if (existing.aadProfile && want.aadProfile === null)
    throw new ArmError(400, 'BadRequest', 'Managed Microsoft Entra integration cannot be disabled once enabled.');
  if (want.workloadIdentity && !want.oidcIssuer) throw new ArmError(400, 'BadRequest', WI_NEEDS_OIDC);
  const aadAfter = want.aadProfile ?? existing.aadProfile;
  if ((want.disableLocalAccounts ?? existing.disableLocalAccounts) && !aadAfter)
    throw new ArmError(
      400,
      'BadRequest',
      'Local accounts can only be disabled on clusters with managed Microsoft Entra integration (properties.aadProfile.managed).',
    );
}

export function createAksOperations() {
  const ops = new AksOperations();

  async function getCluster(call: ArmCall): Promise<EmuResponse> {
    authorize(call, `${TYPE}/read`, call.req.path);
    const { sub, rg } = locate(call);
    const c = findClusterIn(rg, call.params.resourceName!);
    if (!c) throw resourceNotFound(TYPE, call.params.resourceName!, rg.name);
    ops.settleCluster(call.ctx, clusterResourceId(sub.id, rg.name, c.name));
    return ok(200, renderCluster(call, sub, rg, c));
  }

  async function listClusters(call: ArmCall): Promise<EmuResponse> {
    authorize(call, `${TYPE}/read`, call.req.path.replace(/\/providers\/.*$/i, ''));
    const sub = findSubscription(call);
    const rgs = call.params.resourceGroupName ? [findResourceGroup(call, sub)] : sub.resourceGroups;
    const value = rgs.flatMap((rg) =>
      rg.clusters.map((c) => {
        ops.settleCluster(call.ctx, clusterResourceId(sub.id, rg.name, c.name));
        return renderCluster(call, sub, rg, c);
      }),
    );
    return ok(200, { value });
  }

  function create(call: ArmCall, sub: SubscriptionState, rg: ResourceGroupState): EmuResponse {
    const name = call.params.resourceName!;
    const body = jsonBody<Record<string, unknown>>(call);
    const props = isObject(body.properties) ? body.properties : {};
    const version =
      typeof props.kubernetesVersion === 'string' && props.kubernetesVersion
        ? props.kubernetesVersion
        : DEFAULT_KUBERNETES_VERSION;
    const want = desired(body, version);
    if (want.workloadIdentity && !want.oidcIssuer) throw new ArmError(400, 'BadRequest', WI_NEEDS_OIDC);
    const pools = Array.isArray(props.agentPoolProfiles) ? props.agentPoolProfiles : [];
    const firstPool = isObject(pools[0]) ? pools[0] : {};
    const created: ClusterState = {
      name,
      location: String(body.location).replace(/\s+/g, '').toLowerCase(),
      kubernetesVersion: version,
      oidcIssuer: { enabled: false },
      workloadIdentity: false,
      provisioningState: 'Creating',
      eTag: newEtag(),
    };
    if (typeof props.dnsPrefix === 'string') created.dnsPrefix = props.dnsPrefix;
    if (typeof firstPool.count === 'number') created.nodeCount = firstPool.count;
    rg.clusters.push(created);
    const headers = ops.start(call, sub, created, clusterResourceId(sub.id, rg.name, name), want, true);
    return ok(201, renderCluster(call, sub, rg, created, { ...want, provisioningState: 'Creating' }), { headers });
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
    if (existing) ops.settleCluster(call.ctx, clusterId);
    checkPreconditions(call, existing);
    requireModel(body);
    if (!existing) return create(call, sub, rg);
    ops.rejectWhileBusy(existing, clusterId);
    const props = body.properties as Record<string, unknown>;
    const current = renderCluster(call, sub, rg, existing).properties as { dnsPrefix: string };
    if (existing.location === location && props.dnsPrefix !== current.dnsPrefix)
      throw new ArmError(400, 'PropertyChangeNotAllowed', "Changing property 'dnsPrefix' is not allowed.");
    const want = desired(body, existing.kubernetesVersion);
    checkUpdate(existing, want, location);
    existing.provisioningState = 'Updating';
    const headers = ops.start(call, sub, existing, clusterId, want, false);
    return ok(200, renderCluster(call, sub, rg, existing, { ...want, provisioningState: 'Updating' }), { headers });
  }

  function credentials(kind: 'user' | 'admin') {
    return async (call: ArmCall): Promise<EmuResponse> => {
      const action = kind === 'user' ? 'listClusterUserCredential' : 'listClusterAdminCredential';
      authorize(call, `${TYPE}/${action}/action`, call.req.path.replace(/\/[^/]+$/, ''));
      const { sub, rg } = locate(call);
      const c = findClusterIn(rg, call.params.resourceName!);
      if (!c) throw resourceNotFound(TYPE, call.params.resourceName!, rg.name);
      if (kind === 'admin' && c.disableLocalAccounts)
        throw new ArmError(
          400,
          'BadRequest',
          'Getting static credential is not allowed because this cluster is set to disable local accounts.',
        );
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
      { method: 'GET', pattern: OPERATIONS, handle: (call: ArmCall) => ops.status(call) },
    ],
    /** Lets time-driven operations finish when the emulated clock moves (nobody may be polling). */
    settleAll(ctx: CloudContext): void {
      ops.settleAll(ctx);
    },
  };
}
