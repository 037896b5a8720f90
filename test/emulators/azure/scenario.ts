/**
 * The azure section of the built-in scenarios, and its validation.
 *
 * fresh: tenant contoso with the app registration behind the AzureRM service connection `azure-prod`
 *   (federated credential: the Azure DevOps issuer of organization contoso, subject
 *   `sc://contoso/platform/azure-prod`), Contributor on resource group rg-fleet (the README's
 *   rights); rg-fleet (westeurope) holds cluster aks-prod (managed Entra integration with Kubernetes
 *   RBAC), OIDC issuer and workload identity off, no identities.
 * converged: fresh after the article's steps: issuer + workload identity on, identity flux-aks-prod
 *   with one federated credential per Flux controller (source-controller, image-automation-controller),
 *   named by FluxOidcProvision's default pattern `flux-{serviceAccount}-{clusterName}`.
 */
import type { ScenarioInput, ScenarioSection } from '../core/service';
import { aksIssuerUrl, devopsIssuerUrl, FRESH, TOKEN_EXCHANGE_AUDIENCE } from '../names';
import type { AzureState, ClusterState, FederatedCredentialState, IdentityState } from './model';
import { findRole, ROLES } from './arm/rbac';

/** Fixed ids of the converged scenario's managed identity (so tests and docs can name them). */
export const CONVERGED_IDENTITY = {
  clientId: '9a7d1c3e-2b4f-4e6a-8c1d-5f3b2a9e7c40',
  principalId: 'e5b8c2d1-7f3a-4b9e-a6c4-2d1f8e3b5a97',
} as const;

export const FLUX_CONTROLLERS = ['source-controller', 'image-automation-controller'] as const;

export function serviceConnectionSubject(org: string, project: string, connection: string): string {
  return `sc://${org}/${project}/${connection}`;
}

function fresh(input: ScenarioInput): AzureState {
  const cluster: ClusterState = {
    name: FRESH.clusterName,
    location: FRESH.location,
    kubernetesVersion: FRESH.kubernetesVersion,
    dnsPrefix: `${FRESH.clusterName}-dns`,
    nodeCount: 3,
    oidcIssuer: { enabled: false, issuerId: FRESH.clusterIssuerId },
    workloadIdentity: false,
    // Managed Entra integration with Kubernetes RBAC (the most common AKS setup for pipelines).
    aadProfile: { managed: true, enableAzureRbac: false },
    provisioningState: 'Succeeded',
    eTag: '6a1f0c2b9d3e',
  };
  return {
    tenant: {
      id: FRESH.tenantId,
      domain: FRESH.tenantDomain,
      displayName: 'Contoso',
      accessTokenLifetimeSeconds: 3599,
      replicationDelayMs: 0,
      ficPropagationDelayMs: 0,
      federationErrors: 'detailed',
      applications: [
        {
          // Azure DevOps names the app it creates for a connection `<org>-<project>-<subscription id>`.
          displayName: `${FRESH.organization}-${FRESH.project}-${FRESH.subscriptionId}`,
          appId: FRESH.serviceConnectionAppId,
          servicePrincipalObjectId: FRESH.serviceConnectionObjectId,
          federatedIdentityCredentials: [
            {
              name: `${FRESH.organization}-${FRESH.project}-${FRESH.serviceConnectionName}`,
              issuer: devopsIssuerUrl(input.urls['devops-issuer'], FRESH.organizationId),
              subject: serviceConnectionSubject(FRESH.organization, FRESH.project, FRESH.serviceConnectionName),
              audiences: [TOKEN_EXCHANGE_AUDIENCE],
              description: 'Federation for the Azure DevOps service connection azure-prod',
            },
          ],
          serviceConnection: {
            id: FRESH.serviceConnectionId,
            name: FRESH.serviceConnectionName,
            scheme: 'WorkloadIdentityFederation',
            subscriptionId: FRESH.subscriptionId,
          },
        },
      ],
    },
    subscriptions: [
      {
        id: FRESH.subscriptionId,
        displayName: FRESH.subscriptionName,
        resourceGroups: [{ name: FRESH.resourceGroup, location: FRESH.location, identities: [], clusters: [cluster] }],
      },
    ],
    roleAssignments: [
      {
        principalId: FRESH.serviceConnectionObjectId,
        // The README's rights: Contributor on the resource group of the cluster and the identity.
        role: 'Contributor',
        scope: `/subscriptions/${FRESH.subscriptionId}/resourceGroups/${FRESH.resourceGroup}`,
      },
    ],
    arm: { ficWriteMs: 40, maxFicsPerIdentity: 20 },
  };
}

function converged(input: ScenarioInput): AzureState {
  const s = fresh(input);
  const rg = s.subscriptions[0]!.resourceGroups[0]!;
  const cluster = rg.clusters[0]!;
  cluster.oidcIssuer.enabled = true;
  cluster.workloadIdentity = true;
  cluster.eTag = '8c2e4a6f0b1d';
  const issuer = aksIssuerUrl(input.urls['aks-issuer'], FRESH.tenantId, FRESH.clusterIssuerId);
  const fics: FederatedCredentialState[] = FLUX_CONTROLLERS.map((sa) => ({
    name: `flux-${sa}-${FRESH.clusterName}`,
    issuer,
    subject: `system:serviceaccount:${FRESH.fluxNamespace}:${sa}`,
    audiences: [TOKEN_EXCHANGE_AUDIENCE],
  }));
  const identity: IdentityState = {
    name: FRESH.identityName,
    location: FRESH.location,
    clientId: CONVERGED_IDENTITY.clientId,
    principalId: CONVERGED_IDENTITY.principalId,
    isolationScope: 'None',
    federatedIdentityCredentials: fics,
  };
  rg.identities.push(identity);
  return s;
}

// ---------------------------------------------------------------- validation

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function validate(a: AzureState): string[] {
  const problems: string[] = [];
  const need = (cond: unknown, path: string, msg: string) => {
    if (!cond) problems.push(`${path}: ${msg}`);
  };
  const isStr = (v: unknown): v is string => typeof v === 'string' && v.length > 0;
  if (!a || typeof a !== 'object')
    return ['azure: missing; add an `azure:` section (tenant, subscriptions, roleAssignments)'];
  const t = a.tenant;
  need(t && typeof t === 'object', 'azure.tenant', 'missing; add the tenant (id, domain, applications)');
  if (t) {
    need(isStr(t.id) && GUID.test(t.id), 'azure.tenant.id', 'must be a GUID');
    need(isStr(t.domain), 'azure.tenant.domain', 'missing; e.g. contoso.onmicrosoft.com');
    need(Array.isArray(t.applications), 'azure.tenant.applications', 'must be a list (may be empty)');
    for (const [k, v] of [
      ['accessTokenLifetimeSeconds', t.accessTokenLifetimeSeconds],
      ['replicationDelayMs', t.replicationDelayMs],
      ['ficPropagationDelayMs', t.ficPropagationDelayMs],
    ] as const) {
      need(v === undefined || (typeof v === 'number' && v >= 0), `azure.tenant.${k}`, 'must be a number >= 0');
    }
    need(
      t.federationErrors === undefined || t.federationErrors === 'detailed' || t.federationErrors === 'generic',
      'azure.tenant.federationErrors',
      "use 'detailed' or 'generic'",
    );
    (Array.isArray(t.applications) ? t.applications : []).forEach((app, i) => {
      const p = `azure.tenant.applications[${i}]`;
      need(isStr(app.displayName), `${p}.displayName`, 'missing');
      need(isStr(app.appId) && GUID.test(app.appId), `${p}.appId`, 'must be a GUID');
      need(
        isStr(app.servicePrincipalObjectId) && GUID.test(app.servicePrincipalObjectId),
        `${p}.servicePrincipalObjectId`,
        'must be a GUID',
      );
      (app.secrets ?? []).forEach((s, j) => need(isStr(s.value), `${p}.secrets[${j}].value`, 'missing'));
      (app.certificates ?? []).forEach((c, j) =>
        need(
          isStr(c.certificatePem) && c.certificatePem.includes('BEGIN CERTIFICATE'),
          `${p}.certificates[${j}].certificatePem`,
          'must be a PEM certificate',
        ),
      );
      problems.push(...validateFics(app.federatedIdentityCredentials ?? [], `${p}.federatedIdentityCredentials`));
      if (app.serviceConnection) {
        need(
          isStr(app.serviceConnection.id) && GUID.test(app.serviceConnection.id),
          `${p}.serviceConnection.id`,
          'must be a GUID',
        );
        need(isStr(app.serviceConnection.name), `${p}.serviceConnection.name`, 'missing');
        const scheme = app.serviceConnection.scheme;
        need(
          scheme === undefined || scheme === 'WorkloadIdentityFederation' || scheme === 'ServicePrincipal',
          `${p}.serviceConnection.scheme`,
          "use 'WorkloadIdentityFederation' or 'ServicePrincipal'",
        );
        if (scheme === 'ServicePrincipal')
          need((app.secrets ?? []).length > 0, `${p}.secrets`, 'a ServicePrincipal connection needs a secret');
      }
    });
  }
  need(Array.isArray(a.subscriptions), 'azure.subscriptions', 'must be a list');
  (Array.isArray(a.subscriptions) ? a.subscriptions : []).forEach((s, i) => {
    const p = `azure.subscriptions[${i}]`;
    need(isStr(s.id) && GUID.test(s.id), `${p}.id`, 'must be a GUID');
    need(isStr(s.displayName), `${p}.displayName`, 'missing');
    need(Array.isArray(s.resourceGroups), `${p}.resourceGroups`, 'must be a list');
    (Array.isArray(s.resourceGroups) ? s.resourceGroups : []).forEach((rg, j) => {
      const q = `${p}.resourceGroups[${j}]`;
      need(isStr(rg.name) && /^[-\w._()]{1,90}$/.test(rg.name), `${q}.name`, 'must be 1-90 letters, digits, - _ . ( )');
      need(isStr(rg.location), `${q}.location`, 'missing; e.g. westeurope');
      need(Array.isArray(rg.identities), `${q}.identities`, 'must be a list (may be empty)');
      need(Array.isArray(rg.clusters), `${q}.clusters`, 'must be a list (may be empty)');
      (Array.isArray(rg.identities) ? rg.identities : []).forEach((id, k) => {
        const r = `${q}.identities[${k}]`;
        need(
          isStr(id.name) && /^[a-zA-Z0-9][a-zA-Z0-9_-]{2,127}$/.test(id.name),
          `${r}.name`,
          'must be 3-128 letters, digits, - or _, starting with a letter or digit',
        );
        need(isStr(id.location), `${r}.location`, 'missing');
        need(isStr(id.clientId) && GUID.test(id.clientId), `${r}.clientId`, 'must be a GUID');
        need(isStr(id.principalId) && GUID.test(id.principalId), `${r}.principalId`, 'must be a GUID');
        problems.push(
          ...validateFics(
            id.federatedIdentityCredentials,
            `${r}.federatedIdentityCredentials`,
            a.arm?.maxFicsPerIdentity ?? 20,
          ),
        );
      });
      (Array.isArray(rg.clusters) ? rg.clusters : []).forEach((c, k) => {
        const r = `${q}.clusters[${k}]`;
        need(
          isStr(c.name) && /^[a-zA-Z0-9]$|^[a-zA-Z0-9][-_a-zA-Z0-9]{0,61}[a-zA-Z0-9]$/.test(c.name),
          `${r}.name`,
          'must be 1-63 letters, digits, - or _',
        );
        need(isStr(c.location), `${r}.location`, 'missing');
        need(isStr(c.kubernetesVersion), `${r}.kubernetesVersion`, "missing; e.g. '1.32.4' (quote it in YAML)");
        need(
          c.oidcIssuer && typeof c.oidcIssuer.enabled === 'boolean',
          `${r}.oidcIssuer.enabled`,
          'must be true or false',
        );
        need(
          c.oidcIssuer?.issuerId === undefined || GUID.test(c.oidcIssuer.issuerId),
          `${r}.oidcIssuer.issuerId`,
          'must be a GUID',
        );
        need(typeof c.workloadIdentity === 'boolean', `${r}.workloadIdentity`, 'must be true or false');
        need(!c.workloadIdentity || c.oidcIssuer?.enabled, `${r}.workloadIdentity`, 'needs oidcIssuer.enabled: true');
        const l = c.lro;
        if (l) {
          for (const k2 of ['inProgressPolls', 'durationMs', 'clockMs', 'retryAfterSeconds'] as const) {
            need(
              l[k2] === undefined || (typeof l[k2] === 'number' && l[k2]! >= 0),
              `${r}.lro.${k2}`,
              'must be a number >= 0',
            );
          }
        }
      });
    });
  });
  need(Array.isArray(a.roleAssignments), 'azure.roleAssignments', 'must be a list (may be empty)');
  (Array.isArray(a.roleAssignments) ? a.roleAssignments : []).forEach((ra, i) => {
    const p = `azure.roleAssignments[${i}]`;
    need(
      isStr(ra.principalId) && GUID.test(ra.principalId),
      `${p}.principalId`,
      'must be the GUID object id of a service principal',
    );
    need(
      findRole(a, ra.role) !== undefined,
      `${p}.role`,
      `unknown role '${ra.role}'; use one of: ${Object.keys(ROLES).join(', ')} or a custom role of azure.roleDefinitions`,
    );
    need(
      isStr(ra.scope) && /^\/subscriptions\/[^/]+/i.test(ra.scope),
      `${p}.scope`,
      'must start with /subscriptions/{id}',
    );
  });
  return problems;
}

function validateFics(list: FederatedCredentialState[] | undefined, path: string, max = 20): string[] {
  const problems: string[] = [];
  if (!Array.isArray(list)) return [`${path}: must be a list (may be empty)`];
  if (list.length > max) problems.push(`${path}: ${list.length} credentials; at most ${max} per identity`);
  const seen = new Set<string>();
  list.forEach((f, i) => {
    const p = `${path}[${i}]`;
    if (typeof f.name !== 'string' || !/^[a-zA-Z0-9]{1}[a-zA-Z0-9-_]{2,119}$/.test(f.name))
      problems.push(`${p}.name: must be 3-120 letters, digits, - or _, starting with a letter or digit`);
    for (const k of ['issuer', 'subject'] as const) {
      if (typeof f[k] !== 'string' || !f[k]) problems.push(`${p}.${k}: missing`);
      else if (f[k].length > 600) problems.push(`${p}.${k}: longer than 600 characters`);
    }
    if (!Array.isArray(f.audiences) || f.audiences.length !== 1)
      problems.push(`${p}.audiences: exactly one audience (normally ${TOKEN_EXCHANGE_AUDIENCE})`);
    const key = `${f.issuer}\n${f.subject}`;
    if (seen.has(key))
      problems.push(`${p}: issuer and subject repeat an earlier credential; each combination once per identity`);
    seen.add(key);
  });
  return problems;
}

export const azureScenario: ScenarioSection<AzureState> = {
  build(input) {
    return input.scenario === 'converged' ? converged(input) : fresh(input);
  },
  validate: (section) => validate(section),
};
