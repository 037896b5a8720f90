/**
 * The managedClusters resource as GET returns it (2025-xx api-versions: properties, agent pool,
 * network profile, OIDC issuer, security profile, aadProfile only on Entra-integrated clusters),
 * and the writable part of a PUT body the emulator models.
 * https://learn.microsoft.com/rest/api/aks/managed-clusters/get
 */
import * as crypto from 'node:crypto';
import { clusterIssuerUrl, clusterResourceId } from '../clusters';
import type { ClusterState, ResourceGroupState, SubscriptionState } from '../model';
import { ArmError, isObject, tagsFrom, type ArmCall } from './common';

export const TYPE = 'Microsoft.ContainerService/managedClusters';

/** Deterministic GUID-shaped id from a seed string (stable ids across GETs and dumps). */
export function stableUuid(seed: string): string {
  const h = crypto.createHash('sha256').update(seed).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** A write the running operation applies when it succeeds. */
export interface Pending {
  oidcIssuer?: boolean;
  workloadIdentity?: boolean;
  /** undefined: unchanged; null: removed (not allowed once set); an object: the new profile. */
  aadProfile?: ClusterState['aadProfile'] | null;
  disableLocalAccounts?: boolean;
  tags?: Record<string, string> | undefined;
  tagsSet: boolean;
  nodeCount?: number;
}

/**
 * The writable fields of a PUT body the emulator models. PUT replaces the whole resource (ARM RPC,
 * Azure/azure-resource-manager-rpc v1.0/resource-api-reference.md "PUT Resource": the resource is
 * replaced; PATCH on managedClusters only updates tags, ManagedClusters_UpdateTags): a profile the
 * body leaves out is its default, not the current value. So a partial body turns workload
 * identity off, clears the tags, and meets the validation a full model would. (Simplification:
 * an absent aadProfile / disableLocalAccounts keeps the current one; Entra integration cannot be
 * turned off anyway.)
 */
export function desired(body: Record<string, unknown>, version: string): Pending {
  const props = isObject(body.properties) ? body.properties : {};
  const oidc = isObject(props.oidcIssuerProfile) ? props.oidcIssuerProfile.enabled : undefined;
  const sp = props.securityProfile;
  const wi = isObject(sp) && isObject(sp.workloadIdentity) ? sp.workloadIdentity.enabled : undefined;
  const pools = Array.isArray(props.agentPoolProfiles) ? props.agentPoolProfiles : [];
  const count = isObject(pools[0]) && typeof pools[0].count === 'number' ? pools[0].count : undefined;
  const p: Pending = {
    oidcIssuer: typeof oidc === 'boolean' ? oidc : oidcOnByDefault(version),
    workloadIdentity: wi === true,
    tags: tagsFrom(body.tags),
    tagsSet: true,
    ...(count !== undefined ? { nodeCount: count } : {}),
  };
  const aad = props.aadProfile;
  if (isObject(aad)) {
    // Only managed Entra integration is modelled (the legacy client/server app integration is retired).
    if (aad.managed !== true)
      throw new ArmError(
        400,
        'BadRequest',
        'The legacy Azure AD integration is retired: set properties.aadProfile.managed to true (https://aka.ms/aks/managed-aad).',
      );
    p.aadProfile = {
      managed: true,
      enableAzureRbac: aad.enableAzureRBAC === true,
      ...(Array.isArray(aad.adminGroupObjectIDs) ? { adminGroupObjectIDs: aad.adminGroupObjectIDs.map(String) } : {}),
    };
  } else if ('aadProfile' in props && props.aadProfile === null) p.aadProfile = null;
  if (typeof props.disableLocalAccounts === 'boolean') p.disableLocalAccounts = props.disableLocalAccounts;
  return p;
}

/** AKS enables the OIDC issuer by default on clusters created with Kubernetes 1.34 or later (use-oidc-issuer.md). */
export function oidcOnByDefault(version: string): boolean {
  const [major, minor] = version.split('.').map(Number);
  return (major ?? 0) > 1 || ((major ?? 0) === 1 && (minor ?? 0) >= 34);
}

export function renderCluster(
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
  const pool = agentPool(c, id, state);
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
    networkProfile: networkProfile(sub.id, nodeRg, id),
    maxAgentPools: 100,
    disableLocalAccounts: c.disableLocalAccounts ?? false,
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
  const aad = override.aadProfile !== undefined ? override.aadProfile : c.aadProfile;
  // A cluster without Entra integration has no aadProfile at all (managed-azure-ad.md, concepts-identity.md).
  if (aad)
    properties.aadProfile = {
      managed: true,
      enableAzureRBAC: aad.enableAzureRbac ?? false,
      adminGroupObjectIDs: aad.adminGroupObjectIDs ?? null,
      tenantID: call.azure.tenant.id,
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

function agentPool(c: ClusterState, id: string, state: string): Record<string, unknown> {
  return {
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
}

function networkProfile(subscriptionId: string, nodeRg: string, id: string): Record<string, unknown> {
  return {
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
          id: `/subscriptions/${subscriptionId}/resourceGroups/${nodeRg}/providers/Microsoft.Network/publicIPAddresses/${stableUuid(`${id}/ip`)}`,
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
  };
}
