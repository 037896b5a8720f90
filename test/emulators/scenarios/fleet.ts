/**
 * The `fleet` scenario (FLEET-CONTRACT.md) and the generated `fleet:N` fleets, built on top of the
 * `fresh` sections of each folder.
 *
 * fleet: organization contoso, project platform, repository `fleet` with one bootstrapped
 * `clusters/<cluster>/flux-system` per cluster (the real Flux manifests of seed/fleet, with the sync
 * path of each cluster), two subscriptions with one AzureRM service connection each
 * (`azure-nonprod` -> "Fleet Non-Production", `azure-prod` -> "Fleet Production"), each
 * connection's principal Contributor on its resource groups only (the README's rights), Project
 * Collection Administrator in Azure DevOps, cluster-admin on its clusters. 12 AKS clusters over
 * dev / staging / prod with mixed states (see FLEET below).
 *
 * fleet:N: N fresh clusters `aks-gen-0001` ... in rg-fleet-gen (azure-nonprod), for benchmarks.
 * fleet:N:oidc: the same N clusters, every one already on OIDC (identity per cluster, credentials,
 * team and ACL, patched folder), so Verify has a healthy fleet to prove.
 *
 * Ids are derived from names (a hash), so every run of a scenario has the same ids.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { CloudUrls } from '../core/context';
import type { AzureState, ClusterState, IdentityState, ResourceGroupState } from '../azure/model';
import type { DevOpsState, GroupState, PrincipalState } from '../devops/model';
import type { KubeClusterState, KubeState } from '../kube/model';
import { clusterResourceId } from '../azure/clusters';
import { SEED_DIR } from '../devops/git/repos';
import { groupSid, groupView } from '../devops/identity';
import { aksIssuerUrl, devopsIssuerUrl, FRESH, GIT_SECURITY_NAMESPACE, TOKEN_EXCHANGE_AUDIENCE } from '../names';
import { GIT_BITS } from '../devops/security';

export type FleetState = 'fresh' | 'oidc' | 'flux23' | 'workload-identity-off' | 'busy';

export interface FleetCluster {
  name: string;
  env: string;
  connection: 'azure-nonprod' | 'azure-prod';
  resourceGroup: string;
  location: string;
  state: FleetState;
}

const REGIONS: Record<string, string> = {
  weu: 'westeurope',
  neu: 'northeurope',
  eus: 'eastus',
  wus: 'westus',
};

function cluster(env: string, region: string, rg: string, state: FleetState = 'fresh'): FleetCluster {
  return {
    name: `aks-${env}-${region}`,
    env,
    connection: env === 'prod' ? 'azure-prod' : 'azure-nonprod',
    resourceGroup: rg,
    location: REGIONS[region]!,
    state,
  };
}

/** The 12 clusters of the contract, in the order of its table. */
export const FLEET: readonly FleetCluster[] = [
  cluster('dev', 'weu', 'rg-fleet-dev', 'oidc'),
  cluster('dev', 'neu', 'rg-fleet-dev', 'oidc'),
  cluster('dev', 'eus', 'rg-fleet-dev'),
  cluster('dev', 'wus', 'rg-fleet-dev'),
  cluster('staging', 'weu', 'rg-fleet-staging'),
  cluster('staging', 'neu', 'rg-fleet-staging'),
  cluster('staging', 'eus', 'rg-fleet-staging', 'flux23'),
  cluster('staging', 'wus', 'rg-fleet-staging', 'workload-identity-off'),
  cluster('prod', 'weu', 'rg-fleet-prod-eu'),
  cluster('prod', 'neu', 'rg-fleet-prod-eu', 'busy'),
  cluster('prod', 'eus', 'rg-fleet-prod-us'),
  cluster('prod', 'wus', 'rg-fleet-prod-us'),
];

/** A generated fleet: `aks-gen-0001` ... in rg-fleet-gen (westeurope), all fresh or all on OIDC. */
export function generatedFleet(n: number, state: 'fresh' | 'oidc' = 'fresh'): FleetCluster[] {
  return Array.from({ length: n }, (_, i) => ({
    name: `aks-gen-${String(i + 1).padStart(4, '0')}`,
    env: 'gen',
    connection: 'azure-nonprod' as const,
    resourceGroup: 'rg-fleet-gen',
    location: 'westeurope',
    state,
  }));
}

export const FLEET_NONPROD = {
  subscriptionId: '8d3b6f2a-4c1e-4b7a-9e5d-2f6a8c0b1d34',
  subscriptionName: 'Fleet Non-Production',
  serviceConnectionName: 'azure-nonprod',
  serviceConnectionId: '2a7c9e41-6b3d-4f8a-a1c5-7e9d0b2f4c68',
  appId: 'd1e2f3a4-5b6c-4d7e-8f9a-0b1c2d3e4f50',
  objectId: 'e6f7a8b9-0c1d-4e2f-9a3b-4c5d6e7f8091',
  storageKey: '7b3e1d9c-2f4a-4c6e-8b0d-1a3c5e7f9b24',
} as const;

export const FLEET_PROD = {
  subscriptionId: FRESH.subscriptionId,
  subscriptionName: FRESH.subscriptionName,
  serviceConnectionName: FRESH.serviceConnectionName,
} as const;

/** A stable GUID from a name (so scenario ids never change between runs). */
export function stableGuid(...parts: string[]): string {
  const h = crypto.createHash('sha256').update(parts.join('\n')).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** The ids of a cluster's identity (`flux-<cluster>`) when it is on OIDC. */
export function fleetIdentity(clusterName: string) {
  return {
    name: `flux-${clusterName}`,
    clientId: stableGuid('client', clusterName),
    principalId: stableGuid('principal', clusterName),
    storageKey: stableGuid('storage', clusterName),
  };
}

export const FLEET_TEAM_ID = stableGuid('team', 'AKS Managed Identities Team');

/** Parses `fleet`, `fleet:N`, `fleet:N:oidc`; undefined for any other name. */
export function parseFleetScenario(name: string): FleetCluster[] | undefined {
  if (name === 'fleet') return [...FLEET];
  const m = /^fleet:(\d+)(?::(oidc|fresh))?$/.exec(name);
  if (!m) return undefined;
  const n = Number(m[1]);
  if (!(n >= 1 && n <= 500)) throw new Error(`Scenario '${name}': the number of clusters must be 1 to 500.`);
  return generatedFleet(n, (m[2] as 'oidc' | 'fresh' | undefined) ?? 'fresh');
}

// ------------------------------------------------------------------------------------- azure

function subscriptionOf(c: FleetCluster): string {
  return c.connection === 'azure-prod' ? FLEET_PROD.subscriptionId : FLEET_NONPROD.subscriptionId;
}

function azureCluster(c: FleetCluster): ClusterState {
  const on = c.state === 'oidc';
  const out: ClusterState = {
    name: c.name,
    location: c.location,
    kubernetesVersion: FRESH.kubernetesVersion,
    dnsPrefix: `${c.name}-dns`,
    nodeCount: 3,
    oidcIssuer: { enabled: on || c.state === 'workload-identity-off', issuerId: stableGuid('issuer', c.name) },
    workloadIdentity: on,
    provisioningState: 'Succeeded',
    eTag: stableGuid('etag', c.name).slice(0, 12).replace(/-/g, ''),
  };
  // "Busy": an upgrade in progress; writes answer 409 OperationNotAllowed twice, then succeed.
  if (c.state === 'busy') out.busy = { operation: 'Upgrading', rejections: 2 };
  return out;
}

function azureIdentity(c: FleetCluster, urls: CloudUrls, tenantId: string): IdentityState {
  const id = fleetIdentity(c.name);
  const issuer = aksIssuerUrl(urls['aks-issuer'], tenantId, stableGuid('issuer', c.name));
  return {
    name: id.name,
    location: c.location,
    clientId: id.clientId,
    principalId: id.principalId,
    isolationScope: 'None',
    tags: { 'managed-by': 'FluxOidcProvision', 'flux-cluster': c.name },
    federatedIdentityCredentials: ['source-controller', 'image-automation-controller'].map((sa) => ({
      name: `flux-${sa}-${c.name}`,
      issuer,
      subject: `system:serviceaccount:${FRESH.fluxNamespace}:${sa}`,
      audiences: [TOKEN_EXCHANGE_AUDIENCE],
    })),
  };
}

function fleetAzure(base: AzureState, clusters: readonly FleetCluster[], urls: CloudUrls): AzureState {
  const prodApp = base.tenant.applications.find((a) => a.serviceConnection?.name === FRESH.serviceConnectionName)!;
  base.tenant.applications.push({
    displayName: `${FRESH.organization}-${FRESH.project}-${FLEET_NONPROD.subscriptionId}`,
    appId: FLEET_NONPROD.appId,
    servicePrincipalObjectId: FLEET_NONPROD.objectId,
    federatedIdentityCredentials: [
      {
        name: `${FRESH.organization}-${FRESH.project}-${FLEET_NONPROD.serviceConnectionName}`,
        issuer: devopsIssuerUrl(urls['devops-issuer'], FRESH.organizationId),
        subject: `sc://${FRESH.organization}/${FRESH.project}/${FLEET_NONPROD.serviceConnectionName}`,
        audiences: [TOKEN_EXCHANGE_AUDIENCE],
        description: 'Federation for the Azure DevOps service connection azure-nonprod',
      },
    ],
    serviceConnection: {
      id: FLEET_NONPROD.serviceConnectionId,
      name: FLEET_NONPROD.serviceConnectionName,
      scheme: 'WorkloadIdentityFederation',
      subscriptionId: FLEET_NONPROD.subscriptionId,
    },
  });
  const subs = [
    { id: FLEET_NONPROD.subscriptionId, displayName: FLEET_NONPROD.subscriptionName, resourceGroups: [] },
    { id: FLEET_PROD.subscriptionId, displayName: FLEET_PROD.subscriptionName, resourceGroups: [] },
  ] as AzureState['subscriptions'];
  for (const c of clusters) {
    const sub = subs.find((s) => s.id === subscriptionOf(c))!;
    let rg: ResourceGroupState | undefined = sub.resourceGroups.find((r) => r.name === c.resourceGroup);
    if (!rg) {
      rg = { name: c.resourceGroup, location: c.location, identities: [], clusters: [] };
      sub.resourceGroups.push(rg);
    }
    rg.clusters.push(azureCluster(c));
    if (c.state === 'oidc') rg.identities.push(azureIdentity(c, urls, base.tenant.id));
  }
  base.subscriptions = subs.filter((s) => s.resourceGroups.length > 0);
  // The README's rights: Contributor on the clusters' (= identities') resource groups, nothing wider.
  base.roleAssignments = base.subscriptions.flatMap((s) =>
    s.resourceGroups.map((rg) => ({
      principalId: s.id === FLEET_PROD.subscriptionId ? prodApp.servicePrincipalObjectId : FLEET_NONPROD.objectId,
      role: 'Contributor',
      scope: `/subscriptions/${s.id}/resourceGroups/${rg.name}`,
    })),
  );
  return base;
}

// ------------------------------------------------------------------------------------- devops

const FLUX_SEED = path.join(SEED_DIR, 'fleet', 'clusters', 'prod', 'flux-system');
const CONVERGED_SEED = path.join(SEED_DIR, 'fleet-converged', 'clusters', 'prod', 'flux-system');

const FLUX_23_IMAGES: readonly [string, string][] = [
  ['source-controller:v1.4.1', 'source-controller:v1.3.0'],
  ['kustomize-controller:v1.4.0', 'kustomize-controller:v1.3.0'],
  ['helm-controller:v1.1.0', 'helm-controller:v1.0.1'],
  ['notification-controller:v1.4.0', 'notification-controller:v1.3.0'],
  ['image-reflector-controller:v0.33.0', 'image-reflector-controller:v0.32.0'],
  ['image-automation-controller:v0.39.0', 'image-automation-controller:v0.38.0'],
];

/** The bootstrapped flux-system files of one cluster: the real seed manifests, this cluster's sync path. */
export function fluxSystemFiles(c: FleetCluster): Record<string, string> {
  const dir = `clusters/${c.name}/flux-system`;
  let components = fs.readFileSync(path.join(FLUX_SEED, 'gotk-components.yaml'), 'utf8');
  // `flux bootstrap` of Flux 2.3 writes its own version into the header and the labels.
  // The controller images are Flux 2.3's (fluxcd/flux2 v2.3.0 manifests/bases/*/kustomization.yaml).
  if (c.state === 'flux23') {
    components = components.replaceAll('v2.4.0', 'v2.3.0');
    for (const [from, to] of FLUX_23_IMAGES) components = components.replaceAll(from, to);
  }
  const sync = fs
    .readFileSync(path.join(FLUX_SEED, 'gotk-sync.yaml'), 'utf8')
    .replace('path: ./clusters/prod', `path: ./clusters/${c.name}`);
  return {
    [`${dir}/gotk-components.yaml`]: components,
    [`${dir}/gotk-sync.yaml`]: sync,
    [`${dir}/kustomization.yaml`]: fs.readFileSync(path.join(FLUX_SEED, 'kustomization.yaml'), 'utf8'),
  };
}

/** The workload-identity kustomization.yaml of a cluster on OIDC (the converged seed, its identity). */
function patchedKustomization(c: FleetCluster): string {
  const id = fleetIdentity(c.name);
  return fs
    .readFileSync(path.join(CONVERGED_SEED, 'kustomization.yaml'), 'utf8')
    .replaceAll('9a7d1c3e-2b4f-4e6a-8c1d-5f3b2a9e7c40', id.clientId)
    .replaceAll('flux-aks-prod', id.name);
}

function readme(clusters: readonly FleetCluster[]): string {
  const lines = clusters.slice(0, 20).map((c) => `- \`clusters/${c.name}/\`: AKS cluster \`${c.name}\` (${c.env})`);
  if (clusters.length > 20) lines.push(`- ... ${clusters.length - 20} more`);
  return `# fleet\n\nGitOps repository of the platform team's Kubernetes clusters, reconciled by Flux.\n\n${lines.join('\n')}\n`;
}

function teamGroup(members: string[], admin: string): GroupState {
  return {
    id: FLEET_TEAM_ID,
    kind: 'team',
    displayName: FRESH.teamName,
    description: "Managed identities of AKS clusters that read this project's repositories (FluxOidcProvision).",
    sid: groupSid(FRESH.projectId, FLEET_TEAM_ID),
    projectId: FRESH.projectId,
    members,
    admins: [admin],
  };
}

function fleetDevOps(base: DevOpsState, clusters: readonly FleetCluster[]): DevOpsState {
  const prodSc = base.principals.find((p) => p.kind === 'servicePrincipal')!;
  const nonprod: PrincipalState = {
    kind: 'servicePrincipal',
    id: FLEET_NONPROD.storageKey,
    displayName: `${FRESH.organization}-${FRESH.project}-${FLEET_NONPROD.serviceConnectionName}`,
    originId: FLEET_NONPROD.objectId,
    applicationId: FLEET_NONPROD.appId,
    license: 'express',
    dateCreated: prodSc.dateCreated!,
  };
  base.principals.push(nonprod);
  base.groups.find((g) => g.kind === 'collectionAdministrators')!.members.push(nonprod.id);
  base.serviceConnections.push({
    ...base.serviceConnections[0]!,
    id: FLEET_NONPROD.serviceConnectionId,
    name: FLEET_NONPROD.serviceConnectionName,
    servicePrincipalId: FLEET_NONPROD.appId,
    principalObjectId: FLEET_NONPROD.objectId,
  });

  const repo = base.projects[0]!.repositories[0]!;
  const bootstrap: Record<string, string> = {};
  for (const c of clusters) Object.assign(bootstrap, fluxSystemFiles(c));
  repo.seed = [
    { message: 'Initial commit', files: { 'README.md': readme(clusters) } },
    { message: `Add Flux sync manifests for ${clusters.length} clusters`, files: bootstrap },
  ];

  const onOidc = clusters.filter((c) => c.state === 'oidc');
  if (onOidc.length > 0) {
    const patched: Record<string, string> = {};
    for (const c of onOidc) {
      const id = fleetIdentity(c.name);
      base.principals.push({
        kind: 'servicePrincipal',
        id: id.storageKey,
        displayName: id.name,
        originId: id.principalId,
        applicationId: id.clientId,
        license: 'express',
        dateCreated: '2025-01-06T10:00:00.000Z',
      });
      patched[`clusters/${c.name}/flux-system/kustomization.yaml`] = patchedKustomization(c);
    }
    const team = teamGroup(
      onOidc.map((c) => fleetIdentity(c.name).storageKey),
      prodSc.id,
    );
    base.groups.push(team);
    base.acls.push({
      namespaceId: GIT_SECURITY_NAMESPACE,
      token: `repoV2/${FRESH.projectId}/${FRESH.repositoryId}`,
      inheritPermissions: true,
      aces: [
        { descriptor: groupView(base, team).legacyDescriptor, allow: GIT_BITS.read | GIT_BITS.contribute, deny: 0 },
      ],
    });
    repo.seed.push({
      message: `Flux OIDC: use AKS workload identity for Azure DevOps (${onOidc.length === 1 ? onOidc[0]!.name : `${onOidc.length} clusters`})`,
      files: patched,
    });
  }
  return base;
}

// ------------------------------------------------------------------------------------- kube

function fleetKube(base: KubeState, clusters: readonly FleetCluster[]): KubeState {
  const template = Object.values(base.clusters)[0]!;
  const out: Record<string, KubeClusterState> = {};
  for (const c of clusters) {
    const principal = c.connection === 'azure-prod' ? FRESH.serviceConnectionObjectId : FLEET_NONPROD.objectId;
    out[c.name] = {
      ...structuredClone(template),
      resourceId: clusterResourceId(subscriptionOf(c), c.resourceGroup, c.name),
      access: [
        { user: principal, role: 'cluster-admin' },
        { user: 'reader', role: 'view' },
      ],
      bootstrap: {
        ...structuredClone(template.bootstrap!),
        version: c.state === 'flux23' ? '2.3.0' : FRESH.fluxVersion,
        path: `clusters/${c.name}`,
      },
      objects: [],
    };
  }
  return { clusters: out };
}

/** Turns the `fresh` sections into the fleet (mutates and returns them). */
export function buildFleet(
  state: { azure: AzureState; devops: DevOpsState; kube: KubeState },
  clusters: readonly FleetCluster[],
  urls: CloudUrls,
  folders: readonly ('devops' | 'kube')[],
): void {
  fleetAzure(state.azure, clusters, urls);
  if (folders.includes('devops') && state.devops.projects) fleetDevOps(state.devops, clusters);
  if (folders.includes('kube') && state.kube.clusters) state.kube = fleetKube(state.kube, clusters);
}
