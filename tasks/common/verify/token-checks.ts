/**
 * Token proof: for each service account, a TokenRequest, the exchange at Entra as the identity,
 * and a read of the repository's refs with the resulting Azure DevOps token (plus, for image
 * automation, Contribute evaluated for that token's caller). These checks only interpret outcomes.
 */
import type { CheckResult, FederatedCredentialFacts, IdentityFacts, TokenProofFacts, VerifyTarget } from './model';
import { IMAGE_AUTOMATION_SA } from './model';
import { fixContext } from './azure-checks';
import { explainFailure, type CauseContext } from './causes';
import { explainAccess, type AccessContext } from './cluster-access';
import { fixRepoPermission } from './fixes';

export interface TokenCheckContext {
  identity: IdentityFacts | null;
  issuerUrl?: string;
  federatedCredentials?: FederatedCredentialFacts[];
  /** The cluster's kind of access: names the missing right when the API server refuses. */
  access?: AccessContext;
}

export function tokenChecks(proofs: TokenProofFacts[], t: VerifyTarget, ctx: TokenCheckContext): CheckResult[] {
  const out: CheckResult[] = [];
  for (const p of proofs) {
    out.push(proofCheck(p, t, ctx));
    if (p.serviceAccount === IMAGE_AUTOMATION_SA) out.push(contributeCheck(p, t, ctx));
  }
  return out;
}

function proofCheck(p: TokenProofFacts, t: VerifyTarget, ctx: TokenCheckContext): CheckResult {
  const fc: CauseContext = {
    ...fixContext(t, ctx.identity?.name),
    controller: p.serviceAccount,
    issuerUrl: ctx.issuerUrl,
    federatedCredentials: ctx.federatedCredentials,
  };
  const base = {
    id: `token.proof:${p.serviceAccount}`,
    group: 'token' as const,
    title: `${p.serviceAccount} token reads the repository`,
  };
  const evidence: string[] = [];
  const tr = p.tokenRequest;
  if (!tr.ok) {
    const denied = explainAccess(tr.status ?? 0, tr.error, ctx.access ?? { fluxNamespace: t.fluxNamespace });
    return {
      ...base,
      status: 'fail',
      evidence: [`TokenRequest for ${t.fluxNamespace}/${p.serviceAccount}: ${tr.error}`],
      cause: denied?.cause ?? 'the cluster did not issue a service-account token',
      fix:
        denied?.fix ??
        `kubectl -n ${t.fluxNamespace} create token ${p.serviceAccount} --audience api://AzureADTokenExchange to reproduce`,
    };
  }
  fc.assertion = { issuer: tr.issuer, subject: tr.subject, audience: tr.audiences[0] };
  evidence.push(
    `service-account token: iss ${tr.issuer}, sub ${tr.subject}, aud ${tr.audiences.join(',')}${tr.expiresAt ? `, expires ${tr.expiresAt}` : ''}`,
  );
  if (ctx.issuerUrl && tr.issuer !== ctx.issuerUrl)
    evidence.push(`note: token issuer differs from the cluster's issuerURL ${ctx.issuerUrl}`);
  const ex = p.exchange;
  if (!ex)
    return { ...base, status: 'skip', evidence: [...evidence, 'no identity clientId to exchange the token for'] };
  if (!ex.ok) {
    const why = explainFailure(ex.error, fc);
    return {
      ...base,
      status: 'fail',
      evidence: [...evidence, `Entra exchange as ${ctx.identity?.clientId ?? t.clientId}: ${firstLine(ex.error)}`],
      cause: why?.cause ?? 'Entra refused to exchange the service-account token',
      fix: why?.fix ?? "compare the federated credentials with the token's issuer and subject above",
      ...(why?.implicates ? { implicates: why.implicates } : {}),
      ...(why?.fixByCheck ? { fixByCheck: why.fixByCheck } : {}),
    };
  }
  evidence.push(
    `Entra issued an Azure DevOps token for clientId ${ctx.identity?.clientId ?? t.clientId}${ex.expiresOn ? ` (expires ${ex.expiresOn})` : ''}`,
  );
  const rr = p.repoRead;
  if (!rr) return { ...base, status: 'skip', evidence: [...evidence, 'repository not read'] };
  if (!rr.ok) {
    const why = explainFailure(rr.error, fc);
    return {
      ...base,
      status: 'fail',
      evidence: [
        ...evidence,
        `read refs of ${t.project}/${t.repository}: ${rr.status ? `HTTP ${rr.status} ` : ''}${firstLine(rr.error)}`,
      ],
      cause: why?.cause ?? "Azure DevOps refused the identity's token",
      fix: why?.fix ?? fixRepoPermission(fc, 'Read'),
      ...(why?.implicates ? { implicates: why.implicates } : {}),
      ...(why?.fixByCheck ? { fixByCheck: why.fixByCheck } : {}),
    };
  }
  evidence.push(`read ${rr.refs} ref(s) of ${t.project}/${t.repository}${rr.head ? `; ${rr.head}` : ''}`);
  return { ...base, status: 'pass', evidence };
}

function contributeCheck(p: TokenProofFacts, t: VerifyTarget, ctx: TokenCheckContext): CheckResult {
  const base = {
    id: `token.contribute:${p.serviceAccount}`,
    group: 'token' as const,
    title: `${p.serviceAccount} token may push (Contribute)`,
  };
  const c = p.contribute;
  if (!c)
    return {
      ...base,
      status: 'skip',
      evidence: ['no Azure DevOps token for image-automation-controller (see the proof above)'],
    };
  if (!c.ok)
    return {
      ...base,
      status: 'fail',
      evidence: [`permission evaluation: ${firstLine(c.error)}`],
      cause: "the Contribute permission could not be evaluated with the identity's token",
      fix: fixRepoPermission(fixContext(t, ctx.identity?.name), 'Contribute'),
    };
  if (!c.allowed) {
    return {
      ...base,
      status: 'fail',
      evidence: [`GenericContribute on repoV2/…/${t.repository} for the identity's token: denied`],
      cause: 'image-automation-controller cannot push: the identity lacks Contribute (TF401027)',
      fix: fixRepoPermission(fixContext(t, ctx.identity?.name), 'Contribute'),
    };
  }
  return { ...base, status: 'pass', evidence: ["GenericContribute evaluated for the identity's token: allowed"] };
}

export function firstLine(s: string): string {
  const line = s.split(/\r?\n/)[0];
  return line.length > 400 ? `${line.slice(0, 400)}…` : line;
}
