/**
 * Maps an error or a Flux condition message to the broken link and its fix. Entra (AADSTS) and
 * Azure DevOps (TFnnnnnn) codes are matched by code; Flux's own texts by their stable phrases.
 * Where the message carries the assertion's issuer/subject and the federated credentials are
 * known, the cause names the exact mismatch instead of the generic explanation.
 */
import type { FederatedCredentialFacts } from './model';
import { SOURCE_SA } from './model';
import { nearestCredential } from './azure-checks';
import {
  fixAddToOrg,
  fixEnableIssuer,
  fixGitRepository,
  fixLicence,
  fixListFics,
  fixRepoPermission,
  fixRestart,
  type FixContext,
} from './fixes';

export interface Explanation {
  /** The code or phrase that was recognised, e.g. AADSTS70021, TF401444, missing-env. */
  code: string;
  cause: string;
  fix: string;
  /** Check ids that must have failed for this cause to be true (consistency.ts holds the cause to them). */
  implicates?: string[];
  /** The part of `fix` each implicated check stands for (a part whose check passed is dropped). */
  fixByCheck?: Record<string, string>;
}

export interface CauseContext extends FixContext {
  /** The controller the message came from (its Deployment is what needs a restart). */
  controller?: string;
  /** What the controller's token carries, when known (fills what the Entra message leaves out). */
  assertion?: Assertion;
  issuerUrl?: string;
  federatedCredentials?: FederatedCredentialFacts[];
}

export interface Assertion {
  issuer?: string;
  subject?: string;
  audience?: string;
}

/**
 * Reads the assertion's issuer/subject/audience from an AADSTS text: `Assertion Issuer: '…'.
 * Assertion Subject: '…'` (70021) or `presented assertion issuer '…'` / `subject '…'` (7002xx).
 */
export function parseAssertion(message: string): Assertion {
  const pick = (label: string): string | undefined =>
    new RegExp(`Assertion ${label}: '([^']*)'`, 'i').exec(message)?.[1] ??
    new RegExp(`presented assertion ${label} '([^']*)'`, 'i').exec(message)?.[1];
  return { issuer: pick('Issuer'), subject: pick('Subject'), audience: pick('Audience') };
}

/** Explains an AADSTS70021-family mismatch from the assertion and the credentials we read. */
function federationMismatch(a: Assertion, ctx: CauseContext): string | undefined {
  const fics = ctx.federatedCredentials;
  if (!fics || !a.subject) return undefined;
  const sameSubject = fics.filter((f) => f.subject === a.subject);
  if (sameSubject.length === 0) {
    const near = nearestCredential(fics, a.subject, a.subject.split(':').pop() ?? '');
    return near
      ? `no federated credential has subject '${a.subject}'; credential '${near.name}' has '${near.subject}' (subjects are compared exactly, case included)`
      : `no federated credential on the identity has subject '${a.subject}'`;
  }
  if (a.issuer && !sameSubject.some((f) => f.issuer === a.issuer)) {
    const f = sameSubject[0];
    const slash = f.issuer + '/' === a.issuer ? " (the credential's issuer lacks the trailing slash)" : '';
    return `credential '${f.name}' has issuer '${f.issuer}' but the token's issuer is '${a.issuer}'${slash}`;
  }
  if (a.audience && !sameSubject.some((f) => f.audiences.includes(a.audience!))) {
    return `credential '${sameSubject[0].name}' does not list audience '${a.audience}'`;
  }
  return undefined;
}

const NOT_PROPAGATED =
  'or the credential was created moments ago and has not propagated yet (it can take a few minutes)';

/** What the failing controller's token carried: the message's assertion, else what the cluster issues. */
function tokenAssertion(message: string, ctx: CauseContext): Assertion {
  const parsed = parseAssertion(message);
  // The controller's own token: issued by the cluster's issuer for its ServiceAccount.
  const own: Assertion = ctx.assertion ?? {
    issuer: ctx.issuerUrl,
    subject: ctx.controller ? `system:serviceaccount:${ctx.fluxNamespace}:${ctx.controller}` : undefined,
    audience: 'api://AzureADTokenExchange',
  };
  return {
    issuer: parsed.issuer ?? own.issuer,
    subject: parsed.subject ?? own.subject,
    audience: parsed.audience ?? own.audience,
  };
}

/** Builds the explanation of one recognised cause; `controller` is the failing controller. */
type Build = (ctx: CauseContext, controller: string) => Explanation;

/** The AADSTS70021 family (no federated credential matches): the generic cause per code. */
const MISMATCH_CAUSES: Record<string, string> = {
  '70021': `Entra found no federated credential matching the token's issuer, subject and audience ${NOT_PROPAGATED}`,
  '700211': "the token's issuer matches no federated credential (issuer URL mismatch, often a missing trailing slash)",
  '700212': "the token's audience matches no federated credential (audience must be api://AzureADTokenExchange)",
  '700213': "the token's subject matches no federated credential (subject typo; subjects are case-sensitive)",
};

/** The other AADSTS codes we know, by number. */
const AADSTS_CAUSES: Record<string, Build> = {
  '90061': (ctx) => ({
    code: 'AADSTS90061',
    cause: "Entra could not reach the cluster's OIDC issuer (discovery document or keys not served)",
    fix: `${fixEnableIssuer(ctx, 'oidc')}; the same command re-publishes the issuer`,
  }),
  '7000272': (ctx, controller) => ({
    code: 'AADSTS7000272',
    cause:
      "the service-account token is signed with a key the cluster's OIDC issuer does not publish (its signing keys were rotated, so tokens issued before the rotation no longer verify)",
    fix: `${fixRestart(ctx, controller)} (the restarted pod gets a token signed with the current key); if it persists, check that the issuer's JWKS (${(ctx.issuerUrl ?? '<issuer>').replace(/\/?$/, '/')}openid/v1/jwks) lists the token's kid`,
  }),
  '70025': (ctx) => ({
    code: 'AADSTS70025',
    cause: 'the identity has no federated credentials at all',
    fix: fixListFics(ctx),
  }),
  '700016': (ctx) => ({
    code: 'AADSTS700016',
    cause: `no application with the client id the controller used exists in the tenant (wrong azure.workload.identity/client-id annotation?)`,
    fix: `set the ServiceAccount annotation to the identity's clientId: ${fixGitRepository(ctx, 'clientId')}`,
  }),
  '700024': (ctx, controller) => ({
    code: 'AADSTS700024',
    cause: 'the service-account token was outside its validity window (clock skew or an expired projected token)',
    fix: fixRestart(ctx, controller),
  }),
};

function explainAadsts(aad: string, message: string, ctx: CauseContext, controller: string): Explanation {
  const generic = MISMATCH_CAUSES[aad];
  if (generic !== undefined) {
    const precise = federationMismatch(tokenAssertion(message, ctx), ctx);
    return {
      code: `AADSTS${aad}`,
      cause: `Entra rejected the service-account token: ${precise ?? generic}`,
      fix: fixListFics(ctx),
      implicates: [`azure.federated-credential:${controller}`],
    };
  }
  const known = AADSTS_CAUSES[aad];
  if (known) return known(ctx, controller);
  return { code: `AADSTS${aad}`, cause: `Entra refused the token exchange (AADSTS${aad})`, fix: fixListFics(ctx) };
}

/** The fix shared by the two ways a pod shows it has no workload identity environment. */
const fixMissingEnv = (ctx: CauseContext, controller: string): string =>
  `${fixGitRepository(ctx, 'pod-template label + ServiceAccount annotation')}; then ${fixRestart(ctx, controller)}`;

const MISSING_ENV_RULES =
  'the label azure.workload.identity/use=true must be on the pod template (not only on the Deployment), the ServiceAccount needs the client-id annotation, and pods started before that must be restarted';

/** Azure DevOps codes and Flux's phrases, in the order they are tried (the first match wins). */
const MESSAGE_CAUSES: { when: RegExp[]; build: Build }[] = [
  {
    when: [/TF401444/],
    build: (ctx) => ({
      code: 'TF401444',
      cause: 'the managed identity is not a member of the Azure DevOps organization (it never "signed in")',
      fix: fixAddToOrg(ctx),
      implicates: ['devops.identity-in-org'],
    }),
  },
  {
    when: [/TF400813/],
    build: (ctx) => ({
      code: 'TF400813',
      cause:
        'Azure DevOps accepted the token but the identity has no access to the organization (not added, or no licence)',
      fix: fixAddToOrg(ctx),
      implicates: ['devops.identity-in-org', 'devops.licence'],
    }),
  },
  {
    when: [/TF401027/, /GenericContribute/],
    build: (ctx) => ({
      code: 'TF401027',
      cause: 'the identity lacks Contribute on the repository, so image automation cannot push',
      fix: fixRepoPermission(ctx, 'Contribute'),
      implicates: ['devops.contribute'],
    }),
  },
  {
    when: [/TF401019/, /does not exist or you do not have permissions/i],
    build: (ctx) => ({
      code: 'TF401019',
      cause: 'the identity cannot see the repository: a Stakeholder licence (needs Basic) or no Read permission',
      fix: `${fixLicence(ctx)}; and ${fixRepoPermission(ctx, 'Read')}`,
      implicates: ['devops.licence', 'devops.read'],
      fixByCheck: { 'devops.licence': fixLicence(ctx), 'devops.read': fixRepoPermission(ctx, 'Read') },
    }),
  },
  {
    when: [/missing environment variables for workload identity/i, /AZURE_FEDERATED_TOKEN_FILE/],
    build: (ctx, controller) => ({
      code: 'missing-env',
      cause: `the ${controller} pod was not mutated by the workload identity webhook: ${MISSING_ENV_RULES}`,
      fix: fixMissingEnv(ctx, controller),
    }),
  },
  {
    // azidentity's DefaultAzureCredential chain: the webhook injected nothing into the pod.
    when: [
      /missing environment variable AZURE_|WorkloadIdentityCredential: no client ID|WorkloadIdentityCredential: .*AZURE_FEDERATED_TOKEN_FILE/,
    ],
    build: (ctx, controller) => ({
      code: 'missing-env',
      cause: `the ${controller} pod has no workload identity environment (AZURE_CLIENT_ID, AZURE_TENANT_ID, AZURE_FEDERATED_TOKEN_FILE): ${MISSING_ENV_RULES}`,
      fix: fixMissingEnv(ctx, controller),
    }),
  },
  {
    when: [/basic auth and bearer token cannot be set at the same time/i],
    build: (ctx) => ({
      code: 'secretRef-kept',
      cause: 'the GitRepository still has spec.secretRef (basic auth) next to provider: azure (bearer token)',
      fix: fixGitRepository(ctx, 'remove spec.secretRef'),
    }),
  },
  {
    when: [/FeatureGateDisabled|ObjectLevelWorkloadIdentity/],
    build: () => ({
      code: 'FeatureGateDisabled',
      cause:
        'spec.serviceAccountName is set but source-controller runs without --feature-gates=ObjectLevelWorkloadIdentity=true',
      fix: 'remove spec.serviceAccountName (controller-level workload identity is what AKS supports reliably, fluxcd/flux2#5359) or enable the feature gate on source-controller',
    }),
  },
  {
    when: [/Unsupported value: "azure"|spec\.provider.*unknown field|unknown field "provider"/i],
    build: () => ({
      code: 'flux<2.4',
      cause: 'the installed Flux does not know GitRepository spec.provider (needs Flux 2.4 or later)',
      fix: 'upgrade Flux to 2.4+ (regenerate gotk-components.yaml with `flux install --export`, or run FluxManifestPatch with component regeneration)',
    }),
  },
  {
    when: [/Identity not found|ManagedIdentityCredential/],
    build: (ctx, controller) => ({
      code: 'imds',
      cause: "the controller fell back to the node's managed identity: workload identity env is missing in the pod",
      fix: `${fixRestart(ctx, controller)} after the pod-template label and ServiceAccount annotation are in place`,
    }),
  },
  {
    when: [/executable file not found in \$PATH/],
    build: () => ({
      code: 'git-missing',
      cause: 'known source-controller regression (fluxcd/source-controller#1837): the controller tried to exec git',
      fix: 'upgrade source-controller (Flux) to the latest patch release',
    }),
  },
  {
    when: [/ssh: handshake failed|ssh: unable to authenticate|knownhosts: key mismatch/i],
    build: (ctx) => ({
      code: 'ssh-auth',
      cause:
        "Flux cannot fetch the repository over SSH with its bootstrap key (deploy key removed or never registered), so no new commit, FluxManifestPatch's included, reaches the cluster",
      fix: `apply the patched flux-system folder once by hand (kubectl apply -k clusters/<cluster>/flux-system on a checkout of ${ctx.repository}), after which Flux fetches with workload identity; or restore the deploy key`,
    }),
  },
  {
    when: [/authentication required|401 Unauthorized|status code: 401/i],
    build: (ctx) => ({
      code: '401',
      cause: 'Azure DevOps refused the credentials the controller sent',
      fix: `${fixAddToOrg(ctx)}; check that the GitRepository has provider: azure`,
    }),
  },
];

/** Returns undefined when the message is not one we know. */
export function explainFailure(message: string, ctx: CauseContext): Explanation | undefined {
  const controller = ctx.controller ?? SOURCE_SA;
  const aad = /AADSTS(\d+)/.exec(message)?.[1];
  if (aad) return explainAadsts(aad, message, ctx, controller);
  const known = MESSAGE_CAUSES.find((c) => c.when.some((re) => re.test(message)));
  return known?.build(ctx, controller);
}
