/**
 * Azure checks: the cluster's OIDC issuer and workload identity, the identity, one federated
 * credential per service account (issuer byte for byte, subject and audience exact), FIC budget.
 */
import type { AzureFacts, CheckResult, FederatedCredentialFacts, VerifyTarget } from './model';
import { expectedSubject, FIC_LIMIT, TOKEN_AUDIENCE } from './model';
import { fixCreateFic, fixEnableIssuer, type FixContext } from './fixes';
import { editDistance } from '../text';

export function fixContext(t: VerifyTarget, identityName?: string): FixContext {
  return { ...t, identityName: identityName ?? t.identityName };
}

/** The credential most likely meant for `subject` when none matches exactly (a typo, another namespace). */
export function nearestCredential(
  fics: FederatedCredentialFacts[],
  subject: string,
  serviceAccount: string,
): FederatedCredentialFacts | undefined {
  const scored = fics
    .map((f) => ({ f, d: editDistance(f.subject, subject) }))
    .filter(
      ({ f, d }) =>
        d <= 4 ||
        f.subject.toLowerCase() === subject.toLowerCase() ||
        f.name.includes(serviceAccount) ||
        f.subject.endsWith(`:${serviceAccount}`),
    );
  scored.sort((x, y) => x.d - y.d);
  return scored[0]?.f;
}

function issuerDifference(ficIssuer: string, clusterIssuer: string): string {
  if (ficIssuer + '/' === clusterIssuer)
    return "the credential's issuer lacks the trailing slash the cluster's issuer URL has";
  if (ficIssuer === clusterIssuer + '/')
    return "the credential's issuer has a trailing slash the cluster's issuer URL does not have";
  if (ficIssuer.toLowerCase() === clusterIssuer.toLowerCase())
    return 'the issuers differ only in letter case (compared byte for byte)';
  return 'the credential points at another issuer (another cluster, or the issuer was re-created)';
}

export function azureChecks(facts: AzureFacts, t: VerifyTarget): CheckResult[] {
  const fc = fixContext(t, facts.identity?.name);
  const out = aksClusterChecks(facts.cluster, t, fc);
  const id = facts.identity;
  if (!id) return [...out, ...missingIdentityChecks(facts, t)];
  out.push({
    id: 'azure.identity',
    group: 'azure',
    title: 'Managed identity',
    status: 'pass',
    evidence: [
      `${id.name} in ${id.resourceGroup}`,
      `clientId ${id.clientId}`,
      `principalId ${id.principalId}`,
      `tenantId ${id.tenantId}`,
    ],
  });
  const issuer = facts.cluster?.issuerUrl;
  for (const sa of t.serviceAccounts) out.push(ficCheck(facts.federatedCredentials, sa, issuer, t, fc));
  out.push(budgetCheck(facts.federatedCredentials.length, id.name, t));
  return out;
}

/** The cluster exists, with its OIDC issuer and workload identity on. */
function aksClusterChecks(c: AzureFacts['cluster'], t: VerifyTarget, fc: ReturnType<typeof fixContext>): CheckResult[] {
  const out: CheckResult[] = [];
  if (!c) {
    out.push({
      id: 'azure.cluster',
      group: 'azure',
      title: 'AKS cluster',
      status: 'fail',
      evidence: [
        `managedClusters/${t.clusterName} in resource group ${t.resourceGroup} of subscription ${t.subscriptionId}: not found`,
      ],
      cause: 'the cluster does not exist or the service connection cannot read it',
      fix: `check the resourceGroup and clusterName inputs (az aks show --resource-group ${t.resourceGroup} --name ${t.clusterName}) and that the connection has Reader on it`,
    });
  } else {
    out.push(
      c.oidcIssuerEnabled && c.issuerUrl
        ? {
            id: 'azure.oidc-issuer',
            group: 'azure',
            title: 'OIDC issuer enabled',
            status: 'pass',
            evidence: [`oidcIssuerProfile.enabled: true`, `issuerURL: ${c.issuerUrl}`],
          }
        : {
            id: 'azure.oidc-issuer',
            group: 'azure',
            title: 'OIDC issuer enabled',
            status: 'fail',
            evidence: [`oidcIssuerProfile.enabled: ${c.oidcIssuerEnabled}`, `issuerURL: ${c.issuerUrl ?? '(none)'}`],
            cause: 'the cluster has no OIDC issuer, so Entra cannot validate service-account tokens',
            fix: fixEnableIssuer(fc, 'oidc'),
          },
    );
    out.push(
      c.workloadIdentityEnabled
        ? {
            id: 'azure.workload-identity',
            group: 'azure',
            title: 'Workload identity enabled',
            status: 'pass',
            evidence: ['securityProfile.workloadIdentity.enabled: true'],
          }
        : {
            id: 'azure.workload-identity',
            group: 'azure',
            title: 'Workload identity enabled',
            status: 'fail',
            evidence: [`securityProfile.workloadIdentity.enabled: ${c.workloadIdentityEnabled}`],
            cause: 'the workload identity webhook is not installed, so controller pods get no AZURE_* environment',
            fix: fixEnableIssuer(fc, 'wi'),
          },
    );
  }

  return out;
}

/** No identity: it fails, and its credentials cannot be read. */
function missingIdentityChecks(facts: AzureFacts, t: VerifyTarget): CheckResult[] {
  const out: CheckResult[] = [];
  out.push({
    id: 'azure.identity',
    group: 'azure',
    title: 'Managed identity',
    status: 'fail',
    evidence: [facts.identityLookup],
    cause: 'the user-assigned managed identity was not found',
    fix: `check identityName / clientId and identityResourceGroup (az identity list --resource-group ${t.identityResourceGroup} -o table), or run FluxOidcProvision with mode: apply`,
  });
  for (const sa of t.serviceAccounts) {
    out.push({
      id: `azure.federated-credential:${sa}`,
      group: 'azure',
      title: `Federated credential for ${sa}`,
      status: 'skip',
      evidence: ['no identity to read credentials from'],
    });
  }
  return out;
}

/** An identity takes at most FIC_LIMIT federated credentials: room for this cluster's? */
function budgetCheck(used: number, identityName: string, t: VerifyTarget): CheckResult {
  const left = FIC_LIMIT - used;
  const budget: CheckResult = {
    id: 'azure.fic-budget',
    group: 'azure',
    title: 'Federated credential budget',
    status: 'pass',
    evidence: [
      `${used} of ${FIC_LIMIT} federated credentials used on ${identityName}; room for ${Math.max(left, 0)} more (each cluster needs ${t.serviceAccounts.length})`,
    ],
  };
  if (left < t.serviceAccounts.length) {
    budget.status = 'warn';
    budget.cause = `the identity cannot take the credentials of another cluster (limit ${FIC_LIMIT} per identity)`;
    budget.fix =
      'use one managed identity per group of clusters (FluxOidcProvision identityName input), or delete credentials of retired clusters (az identity federated-credential delete)';
  }
  return budget;
}

function ficCheck(
  fics: FederatedCredentialFacts[],
  sa: string,
  issuer: string | undefined,
  t: VerifyTarget,
  fc: FixContext,
): CheckResult {
  const subject = expectedSubject(t.fluxNamespace, sa);
  const base = {
    id: `azure.federated-credential:${sa}`,
    group: 'azure' as const,
    title: `Federated credential for ${sa}`,
  };
  const exact = fics.filter((f) => f.subject === subject);
  if (exact.length === 0) {
    const near = nearestCredential(fics, subject, sa);
    return {
      ...base,
      status: 'fail',
      evidence: [`expected subject: ${subject}`, ...fics.map((f) => `credential ${f.name}: subject ${f.subject}`)],
      cause: near
        ? `subject mismatch: credential '${near.name}' has subject '${near.subject}', the ${sa} token's subject is '${subject}' (Entra answers AADSTS70021/700213)`
        : `no federated credential for ${sa} (Entra answers AADSTS70021)`,
      fix: near
        ? fixCreateFic(fc, near.name, issuer ?? near.issuer, subject, 'update')
        : fixCreateFic(fc, `flux-${t.clusterName}-${sa}`, issuer ?? '<cluster issuer URL>', subject, 'create'),
      ...(near ? { fixChanges: [`fic:${near.name}`] } : {}),
    };
  }
  const f = issuer ? (exact.find((x) => x.issuer === issuer) ?? exact[0]) : exact[0];
  const evidence = [
    `credential ${f.name}`,
    `subject: ${f.subject}`,
    `issuer: ${f.issuer}`,
    `cluster issuer: ${issuer ?? '(OIDC issuer off)'}`,
    `audiences: ${f.audiences.join(', ')}`,
  ];
  const problems: string[] = [];
  if (issuer && f.issuer !== issuer)
    problems.push(`issuer mismatch: ${issuerDifference(f.issuer, issuer)} (Entra answers AADSTS70021/700211)`);
  if (f.audiences.length !== 1 || f.audiences[0] !== TOKEN_AUDIENCE)
    problems.push(`audiences must be exactly [${TOKEN_AUDIENCE}], found [${f.audiences.join(', ')}]`);
  if (problems.length) {
    return {
      ...base,
      status: 'fail',
      evidence,
      cause: problems.join('; '),
      fix: fixCreateFic(fc, f.name, issuer ?? f.issuer, subject, 'update'),
      fixChanges: [`fic:${f.name}`],
    };
  }
  if (!issuer) {
    return {
      ...base,
      status: 'warn',
      evidence,
      cause: "the issuer cannot be compared while the cluster's OIDC issuer is off",
      fix: fixEnableIssuer(fc, 'oidc'),
    };
  }
  return { ...base, status: 'pass', evidence, confirms: [`fic:${f.name}`] };
}
