/**
 * The pure checks of FluxOidcVerify: from observed facts to pass / warn / fail with evidence,
 * cause and fix. One healthy baseline, then one mutation per way a setup goes wrong.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { azureChecks } from '../../tasks/common/verify/azure-checks';
import { devopsChecks } from '../../tasks/common/verify/devops-checks';
import { clusterChecks, featureGates } from '../../tasks/common/verify/cluster-checks';
import { tokenChecks } from '../../tasks/common/verify/token-checks';
import { reconcileChecks } from '../../tasks/common/verify/reconcile-checks';
import type {
  AzureFacts,
  CheckResult,
  ClusterFacts,
  ControllerFacts,
  DeploymentFacts,
  DevOpsFacts,
  IdentityFacts,
  ReconcileFacts,
  TokenProofFacts,
  VerifyTarget,
} from '../../tasks/common/verify/model';

const ISSUER = 'https://oidc.example/72f988bf/3f2b0c1e/';
const CLIENT = '11111111-2222-3333-4444-555555555555';
const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';

function target(over: Partial<VerifyTarget> = {}): VerifyTarget {
  return {
    subscriptionId: 'sub',
    resourceGroup: 'rg-fleet',
    clusterName: 'aks-prod',
    identityName: 'flux-aks-prod',
    identityResourceGroup: 'rg-fleet',
    fluxNamespace: 'flux-system',
    serviceAccounts: ['source-controller', 'image-automation-controller'],
    gitRepositoryName: 'flux-system',
    kustomizationName: 'flux-system',
    organizationUrl: 'https://dev.azure.com/contoso',
    project: 'platform',
    repository: 'fleet',
    teamName: 'AKS Managed Identities Team',
    ...over,
  };
}

const identity: IdentityFacts = {
  id: '/x/flux-aks-prod',
  name: 'flux-aks-prod',
  resourceGroup: 'rg-fleet',
  clientId: CLIENT,
  principalId: 'pid',
  tenantId: TENANT,
};

function azure(): AzureFacts {
  return {
    cluster: { id: '/aks', oidcIssuerEnabled: true, issuerUrl: ISSUER, workloadIdentityEnabled: true },
    identity,
    identityLookup: 'by name',
    federatedCredentials: ['source-controller', 'image-automation-controller'].map((sa) => ({
      name: `flux-aks-prod-${sa}`,
      issuer: ISSUER,
      subject: `system:serviceaccount:flux-system:${sa}`,
      audiences: ['api://AzureADTokenExchange'],
    })),
  };
}

function devops(): DevOpsFacts {
  return {
    organizationTenantId: TENANT,
    organizationTenantSource: 'x-vss-resourcetenant',
    repository: { id: 'repo', name: 'fleet', projectId: 'proj' },
    servicePrincipal: { descriptor: 'aadsp.abc', displayName: 'flux-aks-prod' },
    entitlement: { accountLicenseType: 'express', status: 'active' },
    team: { id: 'team', name: 'AKS Managed Identities Team' },
    teamMember: true,
    permissions: { effectiveAllow: 2 | 4, effectiveDeny: 0, source: 'evaluated', via: ['AKS Managed Identities Team'] },
    errors: {},
  };
}

function deployment(name: string, over: Partial<DeploymentFacts> = {}): DeploymentFacts {
  const image =
    name === 'source-controller'
      ? 'ghcr.io/fluxcd/source-controller:v1.4.1'
      : 'ghcr.io/fluxcd/image-automation-controller:v0.39.0';
  return {
    name,
    labels: { 'app.kubernetes.io/version': 'v2.4.0' },
    templateLabels: { app: name, 'azure.workload.identity/use': 'true' },
    serviceAccountName: name,
    containers: [{ name: 'manager', image, args: [], env: {} }],
    readyReplicas: 1,
    replicas: 1,
    ...over,
  };
}

function controller(sa: string): ControllerFacts {
  return {
    serviceAccount: sa,
    sa: {
      name: sa,
      annotations: { 'azure.workload.identity/client-id': CLIENT },
      labels: { 'azure.workload.identity/use': 'true' },
    },
    deployment: deployment(sa),
    pods: [
      {
        name: `${sa}-abc`,
        phase: 'Running',
        ready: true,
        startTime: '2026-01-01T00:00:00Z',
        labels: {},
        serviceAccountName: sa,
        hasProjectedTokenVolume: true,
        env: {
          AZURE_CLIENT_ID: CLIENT,
          AZURE_TENANT_ID: TENANT,
          AZURE_FEDERATED_TOKEN_FILE: '/var/run/secrets/azure/tokens/azure-identity-token',
          AZURE_AUTHORITY_HOST: 'https://login.microsoftonline.com/',
        },
      },
    ],
  };
}

function cluster(): ClusterFacts {
  const controllers = [controller('source-controller'), controller('image-automation-controller')];
  return {
    controllers,
    sourceController: controllers[0].deployment,
    imageAutomationController: controllers[1].deployment,
    gitRepository: {
      apiVersion: 'source.toolkit.fluxcd.io/v1',
      url: 'https://dev.azure.com/contoso/platform/_git/fleet',
      provider: 'azure',
    },
  };
}

const find = (checks: CheckResult[], id: string): CheckResult => {
  const c = checks.find((x) => x.id === id);
  assert.ok(c, `no check ${id} in ${checks.map((x) => x.id).join(', ')}`);
  return c;
};

function statuses(checks: CheckResult[]): Record<string, string> {
  return Object.fromEntries(checks.map((c) => [c.id, c.status]));
}

test('a healthy setup passes every check, each with evidence', () => {
  const t = target();
  const all = [
    ...azureChecks(azure(), t),
    ...devopsChecks(devops(), identity, t),
    ...clusterChecks(cluster(), identity, t),
  ];
  for (const c of all) {
    assert.equal(c.status, 'pass', `${c.id}: ${c.cause}`);
    assert.ok(c.evidence.length > 0 && c.evidence.every((e) => e.length > 0), `${c.id} has evidence`);
  }
  assert.ok(find(all, 'azure.federated-credential:source-controller').evidence.some((e) => e.includes(ISSUER)));
});

interface Case {
  name: string;
  mutate: (f: { azure: AzureFacts; devops: DevOpsFacts; cluster: ClusterFacts; target: VerifyTarget }) => void;
  id: string;
  status?: 'fail' | 'warn';
  cause: RegExp;
  fix: RegExp;
}

const cases: Case[] = [
  {
    name: 'OIDC issuer off',
    mutate: (f) => {
      f.azure.cluster!.oidcIssuerEnabled = false;
      f.azure.cluster!.issuerUrl = undefined;
    },
    id: 'azure.oidc-issuer',
    cause: /no OIDC issuer/,
    fix: /az aks update --resource-group rg-fleet --name aks-prod --enable-oidc-issuer/,
  },
  {
    name: 'workload identity off',
    mutate: (f) => {
      f.azure.cluster!.workloadIdentityEnabled = false;
    },
    id: 'azure.workload-identity',
    cause: /webhook is not installed/,
    fix: /--enable-workload-identity/,
  },
  {
    name: 'identity missing',
    mutate: (f) => {
      f.azure.identity = null;
    },
    id: 'azure.identity',
    cause: /not found/,
    fix: /FluxOidcProvision/,
  },
  {
    name: 'FIC subject typo',
    mutate: (f) => {
      f.azure.federatedCredentials[0].subject = 'system:serviceaccount:flux-system:source-controler';
    },
    id: 'azure.federated-credential:source-controller',
    cause:
      /subject mismatch: credential 'flux-aks-prod-source-controller' has subject 'system:serviceaccount:flux-system:source-controler'/,
    fix: /az identity federated-credential update --name flux-aks-prod-source-controller .*--subject system:serviceaccount:flux-system:source-controller/,
  },
  {
    name: 'issuer without trailing slash',
    mutate: (f) => {
      f.azure.federatedCredentials[0].issuer = ISSUER.slice(0, -1);
    },
    id: 'azure.federated-credential:source-controller',
    cause: /lacks the trailing slash/,
    fix: new RegExp(`--issuer ${ISSUER.replace(/[/.]/g, '\\$&')}`),
  },
  {
    name: 'wrong audience',
    mutate: (f) => {
      f.azure.federatedCredentials[1].audiences = ['api://other'];
    },
    id: 'azure.federated-credential:image-automation-controller',
    cause: /audiences must be exactly/,
    fix: /--audiences api:\/\/AzureADTokenExchange/,
  },
  {
    name: 'no FIC at all',
    mutate: (f) => {
      f.azure.federatedCredentials = f.azure.federatedCredentials.slice(1);
    },
    id: 'azure.federated-credential:source-controller',
    cause: /no federated credential for source-controller/,
    fix: /federated-credential create/,
  },
  {
    name: 'FIC budget exhausted',
    status: 'warn',
    mutate: (f) => {
      for (let i = 0; i < 18; i++)
        f.azure.federatedCredentials.push({ name: `c${i}`, issuer: 'x', subject: `s${i}`, audiences: [] });
    },
    id: 'azure.fic-budget',
    cause: /cannot take the credentials of another cluster/,
    fix: /one managed identity per group of clusters/,
  },
  {
    name: 'tenant mismatch',
    mutate: (f) => {
      f.devops.organizationTenantId = '00000000-0000-0000-0000-000000000001';
    },
    id: 'devops.tenant',
    cause: /another Entra tenant/,
    fix: /tenant/,
  },
  {
    name: 'identity not in the org',
    mutate: (f) => {
      f.devops.servicePrincipal = null;
      f.devops.entitlement = null;
      f.devops.teamMember = false;
      f.devops.permissions = null;
    },
    id: 'devops.identity-in-org',
    cause: /never added to the organization.*TF401444/,
    fix: /FluxOidcProvision|Add users/,
  },
  {
    name: 'Stakeholder licence',
    mutate: (f) => {
      f.devops.entitlement = { accountLicenseType: 'stakeholder' };
    },
    id: 'devops.licence',
    cause: /Stakeholder does not include Azure Repos/,
    fix: /Change access level > Basic/,
  },
  {
    name: 'not in the team and no rights',
    mutate: (f) => {
      f.devops.teamMember = false;
      f.devops.permissions = { effectiveAllow: 0, effectiveDeny: 0, source: 'evaluated', via: [] };
    },
    id: 'devops.team',
    cause: /not in the team/,
    fix: /Teams > AKS Managed Identities Team/,
  },
  {
    name: 'not in the team but rights elsewhere',
    status: 'warn',
    mutate: (f) => {
      f.devops.teamMember = false;
    },
    id: 'devops.team',
    cause: /come from elsewhere/,
    fix: /Teams/,
  },
  {
    name: 'no Read',
    mutate: (f) => {
      f.devops.permissions!.effectiveAllow = 0;
    },
    id: 'devops.read',
    cause: /no Read permission/,
    fix: /Security > 'AKS Managed Identities Team': allow Read/,
  },
  {
    name: 'missing Contribute with image automation',
    mutate: (f) => {
      f.devops.permissions!.effectiveAllow = 2;
    },
    id: 'devops.contribute',
    cause: /TF401027/,
    fix: /allow Contribute/,
  },
  {
    name: 'excess rights',
    status: 'warn',
    mutate: (f) => {
      f.devops.permissions!.effectiveAllow = 2 | 4 | 8 | 8192;
    },
    id: 'devops.excess-rights',
    cause: /does not need/,
    fix: /Force push, Manage permissions/,
  },
  {
    name: 'Flux 2.3',
    mutate: (f) => {
      const d = f.cluster.sourceController!;
      d.containers[0].image = 'ghcr.io/fluxcd/source-controller:v1.3.0';
      d.labels['app.kubernetes.io/version'] = 'v2.3.0';
    },
    id: 'cluster.flux-version',
    cause: /source-controller 1\.3\.0 has no GitRepository spec\.provider/,
    fix: /upgrade Flux to 2\.4/,
  },
  {
    name: 'old image automation',
    mutate: (f) => {
      f.cluster.imageAutomationController!.containers[0].image = 'ghcr.io/fluxcd/image-automation-controller:v0.38.0';
    },
    id: 'cluster.flux-version',
    cause: /image-automation-controller 0\.38\.0/,
    fix: /upgrade Flux/,
  },
  {
    name: 'wrong clientId annotation',
    mutate: (f) => {
      f.cluster.controllers[0].sa!.annotations['azure.workload.identity/client-id'] =
        '99999999-0000-0000-0000-000000000000';
    },
    id: 'cluster.service-account:source-controller',
    cause: /wrong client id: the annotation names 99999999/,
    fix: new RegExp(`FluxManifestPatch \\(clientId ${CLIENT}\\).*rollout restart deployment/source-controller`),
  },
  {
    name: 'annotation missing',
    mutate: (f) => {
      f.cluster.controllers[0].sa!.annotations = {};
    },
    id: 'cluster.service-account:source-controller',
    cause: /no azure.workload.identity\/client-id annotation/,
    fix: /FluxManifestPatch/,
  },
  {
    name: 'SA label missing',
    status: 'warn',
    mutate: (f) => {
      f.cluster.controllers[0].sa!.labels = {};
    },
    id: 'cluster.service-account:source-controller',
    cause: /lacks the azure.workload.identity\/use/,
    fix: /FluxManifestPatch/,
  },
  {
    name: 'label only on Deployment metadata',
    mutate: (f) => {
      const d = f.cluster.controllers[0].deployment!;
      d.labels['azure.workload.identity/use'] = 'true';
      delete d.templateLabels['azure.workload.identity/use'];
    },
    id: 'cluster.pod-template:source-controller',
    cause: /only on the Deployment's metadata, not on its pod template/,
    fix: /pod-template label/,
  },
  {
    name: 'pods not restarted (no env)',
    mutate: (f) => {
      f.cluster.controllers[0].pods[0].env = {};
    },
    id: 'cluster.pods:source-controller',
    cause: /pods not restarted: source-controller-abc started before/,
    fix: /kubectl -n flux-system rollout restart deployment\/source-controller/,
  },
  {
    name: 'pods not restarted (old client id)',
    mutate: (f) => {
      f.cluster.controllers[0].pods[0].env.AZURE_CLIENT_ID = 'old';
    },
    id: 'cluster.pods:source-controller',
    cause: /still use the previous client id/,
    fix: /rollout restart deployment\/source-controller/,
  },
  {
    name: 'secretRef kept',
    mutate: (f) => {
      f.cluster.gitRepository!.secretRefName = 'flux-system';
    },
    id: 'cluster.git-repository',
    cause: /basic auth and bearer token cannot be set at the same time/,
    fix: /remove spec\.secretRef/,
  },
  {
    name: 'secretRef kept (PAT)',
    mutate: (f) => {
      Object.assign(f.cluster.gitRepository!, { secretRefName: 'flux-system', secretKeys: ['password', 'username'] });
    },
    id: 'cluster.git-repository',
    cause:
      /holds a username\/password \(PAT\): with provider azure source-controller fails with "basic auth and bearer token/,
    fix: /remove spec\.secretRef/,
  },
  {
    name: 'secretRef kept (SSH key)',
    mutate: (f) => {
      Object.assign(f.cluster.gitRepository!, {
        secretRefName: 'flux-system',
        secretKeys: ['identity', 'identity.pub', 'known_hosts'],
      });
    },
    id: 'cluster.git-repository',
    cause: /SSH key is not used over HTTPS, but the old credential stays in play/,
    fix: /remove spec\.secretRef/,
  },
  {
    name: 'provider generic',
    mutate: (f) => {
      f.cluster.gitRepository!.provider = undefined;
    },
    id: 'cluster.git-repository',
    cause: /spec\.provider is unset/,
    fix: /provider: azure/,
  },
  {
    name: 'SSH URL',
    mutate: (f) => {
      f.cluster.gitRepository!.url = 'ssh://git@ssh.dev.azure.com/v3/contoso/platform/fleet';
    },
    id: 'cluster.git-repository',
    cause: /SSH URL; provider azure works only over HTTPS/,
    fix: /spec\.url: https:\/\/dev\.azure\.com\/contoso\/platform\/_git\/fleet/,
  },
  {
    name: 'URL of another repository',
    mutate: (f) => {
      f.cluster.gitRepository!.url = 'https://dev.azure.com/contoso/platform/_git/other';
    },
    id: 'cluster.git-repository',
    cause: /points at contoso\/platform\/other, not at contoso\/platform\/fleet/,
    fix: /set spec\.url/,
  },
  {
    name: 'legacy visualstudio.com URL',
    mutate: (f) => {
      f.cluster.gitRepository!.url = 'https://contoso.visualstudio.com/platform/_git/fleet';
    },
    id: 'cluster.git-repository',
    cause: /legacy visualstudio\.com host/,
    fix: /set spec\.url: https:\/\/dev\.azure\.com\/contoso/,
  },
  {
    name: 'v1beta2 only',
    mutate: (f) => {
      f.cluster.gitRepository!.apiVersion = 'source.toolkit.fluxcd.io/v1beta2';
    },
    id: 'cluster.git-repository',
    cause: /only source.toolkit.fluxcd.io\/v1beta2 is served/,
    fix: /upgrade Flux/,
  },
  {
    name: 'object-level identity without gate',
    mutate: (f) => {
      f.cluster.gitRepository!.serviceAccountName = 'flux-git';
    },
    id: 'cluster.object-level-identity',
    cause: /FeatureGateDisabled/,
    fix: /remove spec\.serviceAccountName/,
  },
  {
    name: 'object-level identity with gate',
    status: 'warn',
    mutate: (f) => {
      f.cluster.gitRepository!.serviceAccountName = 'flux-git';
      f.cluster.sourceController!.containers[0].args = ['--feature-gates=ObjectLevelWorkloadIdentity=true'];
    },
    id: 'cluster.object-level-identity',
    cause: /flux2#5359/,
    fix: /controller-level/,
  },
];

for (const c of cases) {
  test(`check fails with its cause: ${c.name}`, () => {
    const f = { azure: azure(), devops: devops(), cluster: cluster(), target: target() };
    c.mutate(f);
    const all = [
      ...azureChecks(f.azure, f.target),
      ...devopsChecks(f.devops, f.azure.identity, f.target),
      ...clusterChecks(f.cluster, f.azure.identity, f.target),
    ];
    const got = find(all, c.id);
    assert.equal(got.status, c.status ?? 'fail', `${c.id}: ${JSON.stringify(got)}`);
    assert.match(got.cause ?? '', c.cause);
    assert.match(got.fix ?? '', c.fix);
  });
}

test('a user kubeconfig that cannot read the identity skips the credential checks instead of guessing', () => {
  const f = azure();
  f.identity = null;
  const s = statuses(azureChecks(f, target()));
  assert.equal(s['azure.identity'], 'fail');
  assert.equal(s['azure.federated-credential:source-controller'], 'skip');
});

test('Contribute is only required when image-automation-controller is verified', () => {
  const d = devops();
  d.permissions!.effectiveAllow = 2;
  const s = statuses(devopsChecks(d, identity, target({ serviceAccounts: ['source-controller'] })));
  assert.equal(s['devops.read'], 'pass');
  assert.equal(s['devops.contribute'], undefined);
});

test('feature gates are parsed from either argument form', () => {
  assert.deepEqual(featureGates(['--feature-gates=A=true,ObjectLevelWorkloadIdentity=false', '--x']), {
    A: true,
    ObjectLevelWorkloadIdentity: false,
  });
  assert.deepEqual(featureGates(['--feature-gates', 'ObjectLevelWorkloadIdentity=true']), {
    ObjectLevelWorkloadIdentity: true,
  });
});

test('token proof: AADSTS70021 names the exact mismatch from the federated credentials', () => {
  const az = azure();
  az.federatedCredentials[0].issuer = ISSUER.slice(0, -1);
  const proof: TokenProofFacts = {
    serviceAccount: 'source-controller',
    tokenRequest: {
      ok: true,
      issuer: ISSUER,
      subject: 'system:serviceaccount:flux-system:source-controller',
      audiences: ['api://AzureADTokenExchange'],
    },
    exchange: {
      ok: false,
      error: `AADSTS70021: No matching federated identity record found for presented assertion. Assertion Issuer: '${ISSUER}'. Assertion Subject: 'system:serviceaccount:flux-system:source-controller'. Assertion Audience: 'api://AzureADTokenExchange'.\r\nTrace ID: x`,
    },
  };
  const [c] = tokenChecks([proof], target(), {
    identity,
    issuerUrl: ISSUER,
    federatedCredentials: az.federatedCredentials,
  });
  assert.equal(c.status, 'fail');
  assert.match(c.cause!, /lacks the trailing slash/);
  assert.match(c.fix!, /az identity federated-credential list/);
  assert.ok(c.evidence.some((e) => e.startsWith('Entra exchange as') && !e.includes('Trace ID')));
});

test('token proof: AADSTS7000272 (signing key not in the issuer JWKS) says the keys rotated and how to get a fresh token', () => {
  const proof: TokenProofFacts = {
    serviceAccount: 'source-controller',
    tokenRequest: {
      ok: true,
      issuer: ISSUER,
      subject: 'system:serviceaccount:flux-system:source-controller',
      audiences: ['api://AzureADTokenExchange'],
    },
    exchange: {
      ok: false,
      // Text as Entra answers it (Azure/azure-workload-identity#1232).
      error: `AADSTS7000272: The certificate with identifier DFA184AB used to sign the federated credential could not be found in the metadata of identity provider ${ISSUER}. Please validate that your Identity Provider's metadata exposes the key used to sign the incoming token.\r\nTrace ID: x`,
    },
  };
  const [c] = tokenChecks([proof], target(), {
    identity,
    issuerUrl: ISSUER,
    federatedCredentials: azure().federatedCredentials,
  });
  assert.equal(c.status, 'fail');
  assert.match(c.cause!, /signing keys were rotated/);
  assert.match(c.fix!, /rollout restart deployment\/source-controller/);
  assert.ok(c.fix!.includes(`${ISSUER}openid/v1/jwks`));
});

test('token proof: repository read errors map TF401444 / TF400813 / TF401019, and Contribute is checked for image automation', () => {
  const ok = { ok: true as const, issuer: ISSUER, subject: 's', audiences: ['api://AzureADTokenExchange'] };
  const mk = (sa: string, error: string): TokenProofFacts => ({
    serviceAccount: sa,
    tokenRequest: ok,
    exchange: { ok: true },
    repoRead: { ok: false, status: 401, error },
  });
  const t = target();
  const checks = tokenChecks(
    [
      mk(
        'source-controller',
        'TF401444: Please sign-in at least once as 72f988bf\\72f988bf\\pid in a web browser to enable access to the service.',
      ),
      {
        serviceAccount: 'image-automation-controller',
        tokenRequest: ok,
        exchange: { ok: true },
        repoRead: { ok: true, refs: 1, head: 'refs/heads/main 0123abc' },
        contribute: { ok: true, allowed: false },
      },
    ],
    t,
    { identity },
  );
  assert.match(find(checks, 'token.proof:source-controller').cause!, /not a member of the Azure DevOps organization/);
  assert.equal(find(checks, 'token.proof:image-automation-controller').status, 'pass');
  assert.match(find(checks, 'token.contribute:image-automation-controller').cause!, /lacks Contribute \(TF401027\)/);
  const [stake] = tokenChecks(
    [
      mk(
        'source-controller',
        'TF401019: The Git repository with name or identifier fleet does not exist or you do not have permissions for the operation you are attempting.',
      ),
    ],
    t,
    { identity },
  );
  assert.match(stake.cause!, /Stakeholder licence/);
  const [unauth] = tokenChecks(
    [mk('source-controller', "TF400813: The user 'x' is not authorized to access this resource.")],
    t,
    { identity },
  );
  assert.match(unauth.cause!, /no access to the organization/);
});

test('reconcile: Ready True passes with the revision; a failed condition is explained; plan says what apply would do', () => {
  const t = target();
  const ready: ReconcileFacts = {
    kind: 'GitRepository',
    name: 'flux-system',
    found: true,
    requested: true,
    outcome: 'ready',
    waitedSeconds: 3,
    revision: 'main@sha1:0123',
    ready: {
      type: 'Ready',
      status: 'True',
      reason: 'Succeeded',
      message: "stored artifact for revision 'main@sha1:0123'",
    },
  };
  const failed: ReconcileFacts = {
    kind: 'GitRepository',
    name: 'flux-system',
    found: true,
    requested: true,
    outcome: 'failed',
    ready: {
      type: 'Ready',
      status: 'False',
      reason: 'AuthenticationFailed',
      message:
        'failed to configure authentication options: missing environment variables for workload identity. Check webhook and pod configuration',
    },
  };
  const planned: ReconcileFacts = { ...ready, requested: false, outcome: 'not-requested' };
  const secretRef: ReconcileFacts = {
    ...failed,
    kind: 'Kustomization',
    ready: { type: 'Ready', status: 'False', message: 'basic auth and bearer token cannot be set at the same time' },
  };
  const [a, b, c, d] = reconcileChecks([ready, failed, planned, secretRef], t, { identity, plan: true });
  assert.equal(a.status, 'pass');
  assert.ok(a.evidence.includes('artifact revision: main@sha1:0123'));
  assert.equal(b.status, 'fail');
  assert.match(b.cause!, /pod template.*\[missing-env\]/);
  assert.match(b.fix!, /rollout restart deployment\/source-controller/);
  assert.equal(c.status, 'pass');
  assert.ok(c.evidence.some((e) => /plan: apply would request a reconcile/.test(e)));
  assert.match(d.cause!, /spec\.secretRef/);
});

test('the GitRepository URL is matched by organization, project and repository, whatever host the organization URL names', () => {
  for (const organizationUrl of [
    'https://dev.azure.com/contoso',
    'https://contoso.visualstudio.com',
    'https://127.0.0.1:8443/contoso',
  ]) {
    const c = find(clusterChecks(cluster(), identity, target({ organizationUrl })), 'cluster.git-repository');
    assert.equal(c.status, 'pass', `${organizationUrl}: ${c.cause}`);
  }
  const enc = cluster();
  enc.gitRepository!.url = 'https://dev.azure.com/contoso/My%20Platform/_git/fleet';
  assert.equal(
    find(clusterChecks(enc, identity, target({ project: 'My Platform' })), 'cluster.git-repository').status,
    'pass',
  );
});
