/**
 * Sample run reports for the results-tab tests, made with the real ReportBuilder (so they are
 * exactly what the tasks attach): a Provision plan, a Provision apply with a warning, a Verify
 * run with failed and warning checks, a ManifestPatch run that failed with an error, and a report
 * whose every text field holds HTML.
 */
import { ReportBuilder } from '../../tasks/common/report/builder';
import type { Report } from '../../tasks/common/report/model';

/** A clock that starts at `iso` and moves `stepSeconds` per call. */
function clock(iso: string, stepSeconds: number): () => Date {
  let t = Date.parse(iso);
  return () => {
    const d = new Date(t);
    t += stepSeconds * 1000;
    return d;
  };
}

const ISSUER =
  'https://westeurope.oic.prod-aks.azure.com/72f988bf-86f1-41af-91ab-2d7cd011db47/9e3b1f0c-5d2a-4c47-8b5e-1f6f2f7a9c31/';
const SUBJECT = (sa: string): string => `system:serviceaccount:flux-system:${sa}`;

export function provisionPlan(): Report {
  const r = new ReportBuilder('FluxOidcProvision', '1.0.0', 'plan', clock('2026-11-28T10:00:00Z', 9));
  r.resource({
    kind: 'ManagedCluster',
    name: 'rg-fleet/aks-prod',
    action: 'update',
    status: 'planned',
    changes: [
      { field: 'oidcIssuerProfile.enabled', from: 'false', to: 'true' },
      { field: 'securityProfile.workloadIdentity.enabled', from: 'false', to: 'true' },
    ],
    note: 'a cluster update takes 5-10 minutes',
  });
  r.resource({
    kind: 'UserAssignedIdentity',
    name: 'rg-fleet/flux-aks-prod',
    action: 'create',
    status: 'planned',
    changes: [
      { field: 'location', to: 'westeurope' },
      { field: 'clientId', to: '(known after apply)' },
    ],
  });
  for (const sa of ['source-controller', 'image-automation-controller']) {
    r.resource({
      kind: 'FederatedIdentityCredential',
      name: `flux-aks-prod/${sa}`,
      action: 'create',
      status: 'planned',
      changes: [
        { field: 'issuer', to: '(known after apply)' },
        { field: 'subject', to: SUBJECT(sa) },
        { field: 'audiences', to: '["api://AzureADTokenExchange"]' },
      ],
    });
  }
  r.resource({
    kind: 'OrganizationUser',
    name: 'flux-aks-prod',
    action: 'create',
    status: 'planned',
    changes: [{ field: 'accessLevel', to: 'basic' }],
  });
  r.resource({
    kind: 'Team',
    name: 'platform/AKS Managed Identities Team',
    action: 'unchanged',
    status: 'unchanged',
    changes: [],
  });
  r.resource({
    kind: 'TeamMembership',
    name: 'AKS Managed Identities Team/flux-aks-prod',
    action: 'create',
    status: 'planned',
    changes: [],
  });
  r.resource({
    kind: 'RepositoryPermission',
    name: 'platform/fleet',
    action: 'update',
    status: 'planned',
    changes: [{ field: 'allow', from: 'Read', to: 'Read, Contribute' }],
  });
  r.check({
    id: 'federated-credential-budget',
    title: 'Federated credential budget',
    status: 'pass',
    evidence: 'flux-aks-prod: 0 of 20 used now, 2 after apply',
  });
  r.check({
    id: 'cluster-features',
    title: 'Cluster can run workload identity',
    status: 'pass',
    evidence: 'kubernetesVersion: 1.31.2\nprovisioningState: Succeeded',
  });
  r.finish('Succeeded', 'plan complete: nothing was changed');
  return r.build();
}

export function provisionApply(): Report {
  const r = new ReportBuilder('FluxOidcProvision', '1.0.0', 'apply', clock('2026-11-28T10:05:00Z', 412));
  r.resource({
    kind: 'ManagedCluster',
    name: 'rg-fleet/aks-prod',
    action: 'update',
    status: 'applied',
    changes: [
      { field: 'oidcIssuerProfile.enabled', from: 'false', to: 'true' },
      { field: 'securityProfile.workloadIdentity.enabled', from: 'false', to: 'true' },
    ],
  });
  r.resource({
    kind: 'UserAssignedIdentity',
    name: 'rg-fleet/flux-aks-prod',
    action: 'create',
    status: 'applied',
    changes: [{ field: 'location', to: 'westeurope' }],
  });
  for (const sa of ['source-controller', 'image-automation-controller']) {
    r.resource({
      kind: 'FederatedIdentityCredential',
      name: `flux-aks-prod/${sa}`,
      action: 'create',
      status: 'applied',
      changes: [
        { field: 'issuer', to: ISSUER },
        { field: 'subject', to: SUBJECT(sa) },
      ],
    });
  }
  r.resource({
    kind: 'Team',
    name: 'platform/AKS Managed Identities Team',
    action: 'unchanged',
    status: 'unchanged',
    changes: [],
  });
  r.resource({
    kind: 'RepositoryPermission',
    name: 'platform/fleet',
    action: 'update',
    status: 'applied',
    changes: [{ field: 'allow', from: 'Read', to: 'Read, Contribute' }],
  });
  r.warning(
    'Azure Resource Manager answered 429 Too Many Requests to PUT federatedIdentityCredentials/source-controller; retried after 2 s (Retry-After)',
  );
  r.output('clientId', '5b7d8a1e-3c4f-4e2a-9d6b-0a1b2c3d4e5f');
  r.output('tenantId', '72f988bf-86f1-41af-91ab-2d7cd011db47');
  r.output('principalId', 'c0ffee00-1234-4abc-8def-001122334455');
  r.output('oidcIssuerUrl', ISSUER);
  r.finish('SucceededWithIssues', 'done');
  return r.build();
}

export const VERIFY_READ_CAUSE =
  'The identity flux-aks-prod is in the organization but holds no Read on platform/fleet: the "AKS Managed Identities Team" has no access control entry on the repository.';
export const VERIFY_READ_FIX =
  'Run FluxOidcProvision@1 with mode: apply (it grants the team Read + Contribute), or in Project settings > Repositories > fleet > Security add the team with Read allowed.';

export function verifyFailed(): Report {
  const r = new ReportBuilder('FluxOidcVerify', '1.0.0', 'apply', clock('2026-11-28T10:20:00Z', 31));
  r.check({
    id: 'azure.oidc-issuer',
    title: 'OIDC issuer enabled',
    status: 'pass',
    evidence: `oidcIssuerProfile.enabled: true\nissuerURL: ${ISSUER}`,
  });
  r.check({
    id: 'azure.workload-identity',
    title: 'Workload identity enabled',
    status: 'pass',
    evidence: 'securityProfile.workloadIdentity.enabled: true',
  });
  r.check({
    id: 'azure.identity',
    title: 'Managed identity',
    status: 'pass',
    evidence: 'flux-aks-prod (clientId 5b7d8a1e-3c4f-4e2a-9d6b-0a1b2c3d4e5f)',
  });
  r.check({
    id: 'devops.identity-in-org',
    title: 'Identity is a member of the organization',
    status: 'pass',
    evidence: 'accessLevel: Basic',
  });
  r.check({
    id: 'devops.read',
    title: 'Effective Read on the repository',
    status: 'fail',
    evidence: 'repository: platform/fleet\neffective allow: (none)\neffective deny: (none)',
    cause: VERIFY_READ_CAUSE,
    fix: VERIFY_READ_FIX,
  });
  r.check({
    id: 'devops.excess-rights',
    title: 'Least privilege',
    status: 'warn',
    evidence: 'more than Read/Contribute: ManagePermissions',
    cause: "The identity can change the repository's permissions, which Flux never needs.",
    fix: 'Remove "Manage permissions" from the AKS Managed Identities Team on platform/fleet.',
  });
  r.check({
    id: 'cluster.flux-version',
    title: 'Flux 2.4 or later',
    status: 'pass',
    evidence: 'source-controller: v1.4.1 (Flux v2.4.0)',
  });
  r.check({
    id: 'cluster.git-repository',
    title: 'GitRepository uses provider azure',
    status: 'pass',
    evidence: 'flux-system/flux-system: spec.provider: azure, no secretRef',
  });
  r.check({
    id: 'token.exchange',
    title: 'Service-account token exchanged for an Azure DevOps token',
    status: 'skip',
    evidence: 'skipped: a required check failed before it',
  });
  r.check({ id: 'reconcile.source', title: 'GitRepository reconciles', status: 'skip', evidence: 'reconcile: false' });
  r.output('verified', 'false');
  r.output('failedChecks', 'devops.read');
  r.finish('Failed', '1 required check failed: Effective Read on the repository');
  return r.build();
}

export const PATCH_WHAT = 'The push to refs/heads/main of platform/fleet was rejected.';
export const PATCH_CAUSE = 'the branch policy on main requires a pull request';
export const PATCH_FIX = 'set commitMode: pullRequest, or let the build identity bypass policies when pushing';

export function patchFailed(): Report {
  const r = new ReportBuilder('FluxManifestPatch', '1.0.0', 'apply', clock('2026-11-28T10:12:00Z', 4));
  r.resource({
    kind: 'File',
    name: 'clusters/prod/flux-system/kustomization.yaml',
    action: 'update',
    status: 'applied',
    changes: [{ field: 'patches', from: '0 patches', to: '3 patches (ServiceAccounts, Deployments, GitRepository)' }],
  });
  r.resource({
    kind: 'GitPush',
    name: 'refs/heads/main',
    action: 'create',
    status: 'failed',
    changes: [{ field: 'commit', to: '(known after apply)' }],
  });
  r.resource({
    kind: 'PullRequest',
    name: 'flux-oidc/patch -> main',
    action: 'skip',
    status: 'unchanged',
    changes: [],
    note: 'commitMode is push',
  });
  const failure = `${PATCH_WHAT} Cause: ${PATCH_CAUSE}. Fix: ${PATCH_FIX}`;
  r.error(failure);
  r.finish('Failed', failure);
  return r.build();
}

/** Every text field holds markup that would run script if it were parsed as HTML. */
export const XSS = {
  task: '<img src=x onerror="window.__xss=1">',
  name: '<script>window.__xss=2</script>',
  title: '<b onmouseover="window.__xss=3">bold</b>',
  evidence: '"><svg onload="window.__xss=4">',
  output: '<iframe src="javascript:window.__xss=5"></iframe>',
  message: '<a href="javascript:window.__xss=6">click</a>',
};

export function xssReport(): Report {
  const r = new ReportBuilder(XSS.task, '1.0.0', 'apply', clock('2026-11-28T11:00:00Z', 1));
  r.resource({
    kind: XSS.title,
    name: XSS.name,
    action: 'update',
    status: 'failed',
    changes: [{ field: XSS.title, from: XSS.evidence, to: XSS.output }],
    note: XSS.message,
  });
  r.check({
    id: 'devops.read',
    title: XSS.title,
    status: 'fail',
    evidence: XSS.evidence,
    cause: XSS.message,
    fix: XSS.name,
  });
  r.output(XSS.title, XSS.output);
  r.warning(XSS.task);
  r.finish('Failed', XSS.message);
  return r.build();
}

/** FluxOidcVerify over a fleet of 3 (as run-fleet.ts reports it): one healthy, one Flux 2.3, one with a warning. */
export const FLEET_FLUX23_CAUSE = 'source-controller 1.3.0 has no GitRepository spec.provider (needs 1.4.0+, Flux 2.4)';
export function verifyFleet(): Report {
  const r = new ReportBuilder('FluxOidcVerify', '1.0.0', 'apply', clock('2026-11-28T10:30:00Z', 44));
  const ok = (id: string, title: string) => ({ id, title, status: 'pass' as const, evidence: `${title}: ok` });
  const base = [
    ok('azure.oidc-issuer', 'OIDC issuer enabled'),
    ok('azure.workload-identity', 'Workload identity enabled'),
    ok('cluster.flux-version', 'Flux 2.4 or later'),
    ok('token.read:source-controller', 'source-controller token reads the repository'),
  ];
  r.cluster({ name: 'aks-dev-weu', resourceGroup: 'rg-fleet-dev', verdict: 'pass', checks: base });
  r.cluster({
    name: 'aks-staging-eus',
    resourceGroup: 'rg-fleet-staging',
    verdict: 'fail',
    checks: base.map((c) =>
      c.id === 'cluster.flux-version'
        ? { ...c, status: 'fail' as const, cause: FLEET_FLUX23_CAUSE, fix: 'upgrade Flux to 2.4 or later' }
        : c,
    ),
  });
  r.cluster({
    name: 'aks-prod-weu',
    resourceGroup: 'rg-fleet-prod-eu',
    verdict: 'warn',
    checks: [
      ...base.slice(0, 3),
      {
        id: 'devops.excess-rights',
        title: 'Least privilege',
        status: 'warn',
        evidence: 'ManagePermissions',
        cause: 'more than Flux needs',
      },
    ],
  });
  r.check({ id: 'fleet.cluster:aks-dev-weu', title: 'Cluster aks-dev-weu', status: 'pass', evidence: '4 passed' });
  r.check({
    id: 'fleet.cluster:aks-staging-eus',
    title: 'Cluster aks-staging-eus',
    status: 'fail',
    evidence: '3 passed, 1 failed',
    cause: 'failed: Flux 2.4 or later',
  });
  r.check({
    id: 'fleet.cluster:aks-prod-weu',
    title: 'Cluster aks-prod-weu',
    status: 'warn',
    evidence: '3 passed, 1 warned',
  });
  r.output('failedClusters', 'aks-staging-eus');
  r.finish('Failed', '1 of 3 clusters failed verification: aks-staging-eus (Flux 2.4 or later).');
  return r.build();
}
