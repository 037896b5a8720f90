/**
 * Collectors: read ARM, Azure DevOps and the cluster into the plain *Facts the checks judge.
 * Reads only. A read that fails for a reason the user can fix is recorded in the facts (the
 * check reports it); anything else propagates.
 */
import type { RetryPolicy } from '../http/retry';
import type { V1Deployment, V1Pod } from '@kubernetes/client-node';
import type { ArmClients } from '../azure/clients';
import { readCluster } from '../azure/cluster';
import { listCredentials } from '../azure/federated';
import { readIdentity } from '../azure/identity';
import { findIdentityByClientId } from '../azure/identity-lookup';
import { getServicePrincipalEntitlement } from '../devops/entitlements';
import { isMember, subjectDescriptor } from '../devops/graph';
import { findServicePrincipal } from '../devops/identities';
import { findProject, findRepository } from '../devops/projects';
import { findTeam } from '../devops/teams';
import type { DevOpsConnection } from '../devops/connection';
import { GIT_REPOSITORIES_NAMESPACE, GitPermission, readAces, readAcls, repoToken } from '../devops/security';
import { allGroupsOf, identitiesBySubjects } from '../devops/memberships';
import { organizationTenant } from '../devops/raw';
import { readFluxReality } from '../kube/flux-reality';
import type { KubeClient } from '../kube/client';
import { FLUX_KINDS, type FluxObject } from '../kube/model';
import type { Logger } from '../log';
import { UserError } from '../errors';
import type {
  AzureFacts,
  ClusterFacts,
  ContainerFacts,
  ControllerFacts,
  DeploymentFacts,
  DevOpsFacts,
  GitRepositoryFacts,
  IdentityFacts,
  PodFacts,
  VerifyTarget,
} from './model';
import { IMAGE_AUTOMATION_SA, SOURCE_SA } from './model';
import { SharedReads } from './shared-reads';

const errText = (err: unknown): string => {
  if (err instanceof UserError) return [err.message, err.cause].filter(Boolean).join(' ');
  return err instanceof Error ? err.message : String(err);
};

// ---------------------------------------------------------------- Azure

export async function collectAzure(clients: ArmClients, t: VerifyTarget, log: Logger): Promise<AzureFacts> {
  let cluster: AzureFacts['cluster'] = null;
  try {
    const c = await readCluster(clients, { resourceGroup: t.resourceGroup, name: t.clusterName }, { log });
    cluster = {
      id: c.id,
      oidcIssuerEnabled: c.oidcIssuerEnabled,
      issuerUrl: c.issuerUrl,
      workloadIdentityEnabled: c.workloadIdentityEnabled,
      location: c.location,
      authorization: c.authorization,
    };
  } catch (err) {
    if (!(err instanceof UserError && err.code === 'ClusterNotFound')) throw err;
  }
  let identity: IdentityFacts | null = null;
  let identityLookup: string;
  if (t.identityName) {
    const i = await readIdentity(clients, { resourceGroup: t.identityResourceGroup, name: t.identityName }, { log });
    identityLookup = `identity '${t.identityName}' in resource group ${t.identityResourceGroup}: ${i ? 'found' : 'not found'}`;
    if (i && t.clientId && i.clientId.toLowerCase() !== t.clientId.toLowerCase()) {
      identityLookup = `identity '${t.identityName}' has clientId ${i.clientId}, but the clientId input is ${t.clientId}`;
    } else if (i) identity = { ...pickIds(i), resourceGroup: t.identityResourceGroup };
  } else {
    const i = await findIdentityByClientId(clients, t.identityResourceGroup, t.clientId!);
    identityLookup = `identity with clientId ${t.clientId} in resource group ${t.identityResourceGroup}: ${i ? `found (${i.name})` : 'not found'}`;
    if (i) identity = { ...pickIds(i), resourceGroup: t.identityResourceGroup };
  }
  const federatedCredentials = identity
    ? await listCredentials(clients, { resourceGroup: identity.resourceGroup, name: identity.name }, { log })
    : [];
  return { cluster, identity, identityLookup, federatedCredentials };
}

// ---------------------------------------------------------------- Azure DevOps

export interface DevOpsCollectContext {
  /** Tenant of the service connection whose token the organization accepted (fallback evidence). */
  connectionTenantId?: string;
  log: Logger;
  /** The run's retry policy, for the raw (anonymous) tenant probe. */
  retry?: RetryPolicy;
  /** Reads shared by the clusters of one run (organization, project, repository, team); default: this call's own. */
  shared?: SharedReads;
}

export async function collectDevOps(
  c: DevOpsConnection,
  t: VerifyTarget,
  identity: IdentityFacts | null,
  ctx: DevOpsCollectContext,
): Promise<DevOpsFacts> {
  const f: DevOpsFacts = {
    repository: null,
    servicePrincipal: null,
    entitlement: null,
    team: null,
    teamMember: false,
    permissions: null,
    errors: {},
  };
  const shared = ctx.shared ?? new SharedReads();
  const org = c.orgUrl.toLowerCase();
  try {
    const tenant = await shared.once(`tenant|${org}`, () => organizationTenant(c.orgUrl, ctx.retry));
    if (tenant) {
      f.organizationTenantId = tenant;
      f.organizationTenantSource = 'X-VSS-ResourceTenant of an anonymous request';
    }
  } catch (err) {
    f.errors.tenant = errText(err);
  }
  if (!f.organizationTenantId && ctx.connectionTenantId) {
    f.organizationTenantId = ctx.connectionTenantId;
    f.organizationTenantSource = 'the organization accepted a token of this tenant (service connection)';
  }

  const project = await shared.once(`project|${org}|${t.project.toLowerCase()}`, () => findProject(c, t.project));
  if (!project) f.errors.repository = `project '${t.project}' not found`;
  else {
    const repo = await shared.once(`repository|${org}|${project.id}|${t.repository.toLowerCase()}`, () =>
      findRepository(c, project.id, t.repository),
    );
    if (repo) f.repository = { id: repo.id, name: repo.name, projectId: project.id };
    else f.errors.repository = `repository '${t.repository}' not found in project '${t.project}'`;
  }

  const team = project
    ? await shared.once(`team|${org}|${project.id}|${t.teamName.toLowerCase()}`, () =>
        findTeam(c, project.id, t.teamName),
      )
    : undefined;
  if (team) f.team = team;
  else f.errors.team = project ? 'not found' : `project '${t.project}' not found`;

  if (!identity) {
    f.errors.servicePrincipal = 'the managed identity was not found in Azure, so its principal id is unknown';
    return f;
  }
  const sp = await findServicePrincipal(c, identity.tenantId, identity.principalId);
  if (!sp || !sp.isActive) {
    if (sp) f.errors.servicePrincipal = 'materialized but not active';
    return f;
  }
  f.servicePrincipal = {
    descriptor: sp.subjectDescriptor ?? sp.descriptor,
    ...(sp.displayName ? { displayName: sp.displayName } : {}),
    originId: identity.principalId,
  };
  const e = await getServicePrincipalEntitlement(c, sp.id);
  if (e)
    f.entitlement = { accountLicenseType: e.accountLicenseType ?? 'none', ...(e.status ? { status: e.status } : {}) };
  if (team) {
    const teamSubject = await shared.once(`subject|${org}|${team.id}`, () => subjectDescriptor(c, team.id));
    f.teamMember = !!(teamSubject && sp.subjectDescriptor && (await isMember(c, sp.subjectDescriptor, teamSubject)));
  }

  if (f.repository) {
    try {
      f.permissions = await effectivePermissions(c, f.repository, sp.descriptor, sp.subjectDescriptor);
    } catch (err) {
      f.errors.permissions = errText(err);
    }
  }
  return f;
}

/**
 * The identity's effective rights on the repository, as the service evaluates them: the ACL's
 * extendedInfo for the identity's descriptor ("all of the explicit and inherited permissions for
 * this identity on this token", its groups included; Security REST 7.1). No entry means the
 * service holds nothing for it ("Not set implicitly denies"). The product never re-derives the
 * answer; when Read or Contribute is missing it lists the groups that carry entries on the token
 * chain, only to explain where to look.
 */
async function effectivePermissions(
  c: DevOpsConnection,
  repo: { id: string; projectId: string },
  descriptor: string,
  subject: string | undefined,
): Promise<DevOpsFacts['permissions']> {
  const token = repoToken(repo.projectId, repo.id);
  const own = (await readAces(c, GIT_REPOSITORIES_NAMESPACE, token, [descriptor]))[0];
  const effectiveAllow = own?.effectiveAllow ?? 0;
  const effectiveDeny = own?.effectiveDeny ?? 0;
  const wanted = GitPermission.GenericRead | GitPermission.GenericContribute;
  const complete = (effectiveAllow & wanted) === wanted && effectiveDeny === 0;
  return {
    effectiveAllow,
    effectiveDeny,
    source: "the service's effective permissions for the identity (access control list extendedInfo)",
    via: complete || !subject ? [] : await groupsWithEntries(c, repo, subject),
  };
}

/** The identity's groups that hold entries on the repository, its project or all repositories. */
async function groupsWithEntries(
  c: DevOpsConnection,
  repo: { id: string; projectId: string },
  subject: string,
): Promise<string[]> {
  const chain = [repoToken(repo.projectId, repo.id), `repoV2/${repo.projectId}`, 'repoV2'];
  const groupIds = await identitiesBySubjects(c, await allGroupsOf(c, subject));
  const acls = await readAcls(c, GIT_REPOSITORIES_NAMESPACE, chain);
  const has = (d: string): boolean =>
    acls.some((a) => a.aces.some((x) => x.descriptor.toLowerCase() === d.toLowerCase() && (x.allow | x.deny) !== 0));
  return groupIds.filter((g) => has(g.descriptor)).map((g) => g.displayName ?? g.subjectDescriptor);
}

// ---------------------------------------------------------------- Cluster

const rec = (v: Record<string, string> | undefined): Record<string, string> => ({ ...(v ?? {}) });

function containerFacts(c: {
  name: string;
  image?: string;
  args?: string[];
  command?: string[];
  env?: { name: string; value?: string }[];
}): ContainerFacts {
  const env: Record<string, string> = {};
  for (const e of c.env ?? []) if (e.value !== undefined) env[e.name] = e.value;
  return { name: c.name, image: c.image ?? '', args: [...(c.command ?? []), ...(c.args ?? [])], env };
}

export function deploymentFacts(d: V1Deployment): DeploymentFacts {
  return {
    name: d.metadata?.name ?? '',
    labels: rec(d.metadata?.labels),
    templateLabels: rec(d.spec?.template?.metadata?.labels),
    serviceAccountName: d.spec?.template?.spec?.serviceAccountName ?? d.spec?.template?.spec?.serviceAccount ?? '',
    containers: (d.spec?.template?.spec?.containers ?? []).map(containerFacts),
    readyReplicas: d.status?.readyReplicas ?? 0,
    replicas: d.spec?.replicas ?? 1,
    ...(d.metadata?.generation !== undefined ? { generation: d.metadata.generation } : {}),
    ...(d.status?.observedGeneration !== undefined ? { observedGeneration: d.status.observedGeneration } : {}),
  };
}

export function podFacts(p: V1Pod): PodFacts {
  const main = p.spec?.containers?.[0];
  const start = p.status?.startTime as unknown;
  return {
    name: p.metadata?.name ?? '',
    phase: p.status?.phase ?? 'Unknown',
    ready: (p.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True'),
    ...(start ? { startTime: start instanceof Date ? start.toISOString() : String(start) } : {}),
    labels: rec(p.metadata?.labels),
    serviceAccountName: p.spec?.serviceAccountName ?? '',
    env: main ? containerFacts(main).env : {},
    hasProjectedTokenVolume: (p.spec?.volumes ?? []).some(
      (v) =>
        v.name === 'azure-identity-token' ||
        !!v.projected?.sources?.some((s) => s.serviceAccountToken?.audience === 'api://AzureADTokenExchange'),
    ),
  };
}

function selectorOf(d: V1Deployment | null, fallback: string): string {
  const m = d?.spec?.selector?.matchLabels;
  return m && Object.keys(m).length
    ? Object.entries(m)
        .map(([k, v]) => `${k}=${v}`)
        .join(',')
    : `app=${fallback}`;
}

export function gitRepositoryFacts(o: FluxObject): GitRepositoryFacts {
  const spec = o.spec ?? {};
  const secretRef = spec.secretRef as { name?: string } | undefined;
  const ref = spec.ref as { branch?: string } | undefined;
  return {
    apiVersion: o.apiVersion,
    url: typeof spec.url === 'string' ? spec.url : '',
    ...(typeof spec.provider === 'string' ? { provider: spec.provider } : {}),
    ...(secretRef?.name ? { secretRefName: secretRef.name } : {}),
    ...(typeof spec.serviceAccountName === 'string' && spec.serviceAccountName
      ? { serviceAccountName: spec.serviceAccountName }
      : {}),
    ...(ref?.branch ? { branch: ref.branch } : {}),
  };
}

export async function collectCluster(kube: KubeClient, t: VerifyTarget): Promise<ClusterFacts> {
  const ns = t.fluxNamespace;
  const controllers: ControllerFacts[] = [];
  const deployments = new Map<string, V1Deployment | null>();
  for (const sa of t.serviceAccounts) {
    const [account, deployment] = await Promise.all([kube.getServiceAccount(ns, sa), kube.getDeployment(ns, sa)]);
    deployments.set(sa, deployment);
    const pods = deployment ? await kube.listPods(ns, selectorOf(deployment, sa)) : [];
    controllers.push({
      serviceAccount: sa,
      sa: account
        ? { name: sa, annotations: rec(account.metadata?.annotations), labels: rec(account.metadata?.labels) }
        : null,
      deployment: deployment ? deploymentFacts(deployment) : null,
      pods: pods.filter((p) => !p.metadata?.deletionTimestamp).map(podFacts),
    });
  }
  const dep = async (name: string) =>
    deployments.has(name) ? deployments.get(name)! : await kube.getDeployment(ns, name);
  const [sc, iac] = await Promise.all([dep(SOURCE_SA), dep(IMAGE_AUTOMATION_SA)]);
  let gitRepository: GitRepositoryFacts | null = null;
  let gitRepositoryError: string | undefined;
  try {
    const g = await kube.getFluxObject(FLUX_KINDS.GitRepository, ns, t.gitRepositoryName);
    if (g) {
      gitRepository = gitRepositoryFacts(g);
      if (gitRepository.secretRefName) {
        // Which kind of credential it is decides the failure (a PAT clashes with the bearer token).
        const secret = await kube.getSecret(ns, gitRepository.secretRefName).catch(() => null);
        if (secret)
          gitRepository.secretKeys = Object.keys({ ...(secret.data ?? {}), ...(secret.stringData ?? {}) }).sort();
      }
    } else
      gitRepositoryError = `gitrepository ${ns}/${t.gitRepositoryName}: not found (source.toolkit.fluxcd.io v1 and v1beta2)`;
  } catch (err) {
    gitRepositoryError = errText(err);
  }
  const reality = await readFluxReality(kube, ns);
  return {
    controllers,
    reality,
    sourceController: sc ? deploymentFacts(sc) : null,
    imageAutomationController: iac ? deploymentFacts(iac) : null,
    gitRepository,
    ...(gitRepositoryError ? { gitRepositoryError } : {}),
  };
}

/** The ids Verify keeps of an identity found by name or by client id. */
function pickIds(i: { id: string; name: string; clientId: string; principalId: string; tenantId: string }) {
  const { id, name, clientId, principalId, tenantId } = i;
  return { id, name, clientId, principalId, tenantId };
}
