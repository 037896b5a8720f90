/**
 * Federated identity credentials on a user-assigned identity: one per Flux service account,
 * issuer byte-identical to the cluster's issuerURL, subject system:serviceaccount:<ns>:<sa>,
 * audience api://AzureADTokenExchange.
 *
 * The planning part is pure (what to create/update, the 20-per-identity budget); the writing part
 * is sequential per identity and retries the concurrent-write 409 with jitter, as Entra requires.
 */
import type { FederatedIdentityCredential } from '@azure/arm-msi';
import type { Logger } from '../log';
import { UserError } from '../errors';
import type { ArmClients } from './clients';
import { describeArmError } from './errors';
import { errorInfo } from '../http/errors';
import type { IdentityRef } from './identity';
import { RetryPolicy } from '../http/retry';

export const TOKEN_EXCHANGE_AUDIENCE = 'api://AzureADTokenExchange';
/** Entra's documented limit of federated identity credentials per identity. */
export const MAX_CREDENTIALS_PER_IDENTITY = 20;

const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_-]{2,119}$/;
const PLACEHOLDERS = ['serviceAccount', 'clusterName', 'namespace'] as const;

export interface Credential {
  name: string;
  issuer: string;
  subject: string;
  audiences: string[];
}

export interface DesiredCredential {
  name: string;
  serviceAccount: string;
  subject: string;
  /** Undefined while the cluster's issuer is unknown (plan on a cluster with the issuer off). */
  issuer: string | undefined;
}

export function subjectFor(namespace: string, serviceAccount: string): string {
  return `system:serviceaccount:${namespace}:${serviceAccount}`;
}

/**
 * Expands a credential-name pattern for one service account. Returns an error text (naming the
 * problem and the fix) instead of throwing, so the caller can name its input.
 */
export function expandCredentialName(
  pattern: string,
  values: { serviceAccount: string; clusterName: string; namespace: string },
): { name: string } | { error: string } {
  const unknown = [...pattern.matchAll(/\{([^}]*)\}/g)]
    .map((m) => m[1])
    .filter((p) => !(PLACEHOLDERS as readonly string[]).includes(p));
  if (unknown.length > 0) {
    return {
      error: `unknown placeholder ${unknown.map((u) => `{${u}}`).join(', ')}; use {serviceAccount}, {clusterName} and {namespace}`,
    };
  }
  const name = pattern
    .replaceAll('{serviceAccount}', values.serviceAccount)
    .replaceAll('{clusterName}', values.clusterName)
    .replaceAll('{namespace}', values.namespace);
  if (!NAME_RE.test(name)) {
    return {
      error: `'${name}' is not a valid federated credential name: 3 to 120 characters, letters, digits, '-' and '_', starting with a letter or digit`,
    };
  }
  return { name };
}

/** The desired credentials, one per service account; an error text when names collide or are invalid. */
export function desiredCredentials(p: {
  pattern: string;
  serviceAccounts: string[];
  clusterName: string;
  namespace: string;
  issuer: string | undefined;
}): { credentials: DesiredCredential[] } | { error: string } {
  const out: DesiredCredential[] = [];
  for (const sa of p.serviceAccounts) {
    const r = expandCredentialName(p.pattern, {
      serviceAccount: sa,
      clusterName: p.clusterName,
      namespace: p.namespace,
    });
    if ('error' in r) return r;
    const clash = out.find((c) => c.name.toLowerCase() === r.name.toLowerCase());
    if (clash) {
      return {
        error: `the pattern gives the same name '${r.name}' for '${clash.serviceAccount}' and '${sa}'; include {serviceAccount} in it`,
      };
    }
    out.push({ name: r.name, serviceAccount: sa, subject: subjectFor(p.namespace, sa), issuer: p.issuer });
  }
  return { credentials: out };
}

export type CredentialAction = 'create' | 'update' | 'unchanged';

/** One field that differs. `afterApply`: the desired value is known only after apply (the issuer of a cluster whose issuer is off). */
export interface CredentialChange {
  field: 'issuer' | 'subject' | 'audiences';
  from?: string;
  to?: string;
  afterApply?: true;
}

/** The desired issuer as a change's `to`: the URL, or known only after apply. */
function issuerTo(issuer: string | undefined): Pick<CredentialChange, 'to' | 'afterApply'> {
  return issuer === undefined ? { afterApply: true } : { to: issuer };
}

export interface CredentialPlan {
  desired: DesiredCredential;
  action: CredentialAction;
  /** The name written (or kept): the desired name, or the existing credential's that already matches. */
  name: string;
  changes: CredentialChange[];
  note?: string;
}

function sameAudiences(a: string[] | undefined): boolean {
  return Array.isArray(a) && a.length === 1 && a[0] === TOKEN_EXCHANGE_AUDIENCE;
}

/**
 * Compares desired with existing credentials. Issuer and subject compare byte for byte (Entra is
 * case-sensitive and the trailing slash of the issuer matters).
 *  - same issuer+subject under any name: present (unchanged, or an audience fix on that one);
 *  - else the desired name exists with other fields: update it, listing what differs;
 *  - else create.
 */
export function planCredentials(existing: Credential[], desired: DesiredCredential[]): CredentialPlan[] {
  return desired.map((d): CredentialPlan => {
    const match =
      d.issuer === undefined ? undefined : existing.find((e) => e.issuer === d.issuer && e.subject === d.subject);
    if (match) {
      const note =
        match.name !== d.name ? `present under the name '${match.name}' (same issuer and subject)` : undefined;
      if (sameAudiences(match.audiences))
        return { desired: d, action: 'unchanged', name: match.name, changes: [], ...(note ? { note } : {}) };
      return {
        desired: d,
        action: 'update',
        name: match.name,
        changes: [{ field: 'audiences', from: (match.audiences ?? []).join(', '), to: TOKEN_EXCHANGE_AUDIENCE }],
        note: `audience is not ${TOKEN_EXCHANGE_AUDIENCE}${note ? `; ${note}` : ''}`,
      };
    }
    const byName = existing.find((e) => e.name.toLowerCase() === d.name.toLowerCase());
    if (byName) {
      const changes: CredentialChange[] = [];
      if (byName.issuer !== d.issuer) changes.push({ field: 'issuer', from: byName.issuer, ...issuerTo(d.issuer) });
      if (byName.subject !== d.subject) changes.push({ field: 'subject', from: byName.subject, to: d.subject });
      if (!sameAudiences(byName.audiences))
        changes.push({ field: 'audiences', from: (byName.audiences ?? []).join(', '), to: TOKEN_EXCHANGE_AUDIENCE });
      const what = changes.map((c) => c.field).join(', ');
      return {
        desired: d,
        action: 'update',
        name: byName.name,
        changes,
        note: `exists with the wrong ${what}; it will be updated in place`,
      };
    }
    return {
      desired: d,
      action: 'create',
      name: d.name,
      changes: [
        { field: 'issuer', ...issuerTo(d.issuer) },
        { field: 'subject', to: d.subject },
        { field: 'audiences', to: TOKEN_EXCHANGE_AUDIENCE },
      ],
    };
  });
}

/** What the budget check knows about the identity and this run. */
export interface BudgetInput {
  identityName: string;
  /** `shared`: several clusters use the identity (identityScope input). */
  scope: 'cluster' | 'shared';
  clusterName: string;
  /** Every credential the identity has now (of every cluster that shares it). */
  existing: readonly Credential[];
  /** Names of the credentials this run would create. */
  newNames: string[];
  /** Credentials one cluster needs (one per Flux service account). */
  perCluster: number;
  limit?: number;
}

/** How many clusters use an identity: one issuer (the cluster's OIDC issuer URL) per cluster. */
export function clustersOnIdentity(existing: readonly Credential[]): number {
  return new Set(existing.map((c) => c.issuer)).size;
}

/**
 * The 20-per-identity budget, checked before any write, counted over every cluster that shares the
 * identity (existing credentials + the ones this run plans). Undefined when the plan fits;
 * otherwise the error: how many exist, how many are needed, how many clusters still fit, what to do.
 */
export function checkCredentialBudget(b: BudgetInput): UserError | undefined {
  const limit = b.limit ?? MAX_CREDENTIALS_PER_IDENTITY;
  const count = b.existing.length;
  const needed = b.newNames.length;
  if (count + needed <= limit) return undefined;
  const free = Math.max(0, limit - count);
  const per = Math.max(1, b.perCluster);
  const fit = Math.floor(free / per);
  const clusters = clustersOnIdentity(b.existing);
  const holders = b.scope === 'shared' ? ` (used by ${clusters} cluster${clusters === 1 ? '' : 's'})` : '';
  const room =
    b.scope === 'shared'
      ? ` It has room for ${fit} more cluster${fit === 1 ? '' : 's'} with ${per} Flux service account${per === 1 ? '' : 's'}: ${Math.floor(limit / per)} clusters per identity at most.`
      : '';
  const fix =
    b.scope === 'shared'
      ? `Give this cluster its own identity (identityScope: cluster), or split the environment: set identityName to another identity (e.g. ${b.identityName}-2) for '${b.clusterName}' and the clusters after it. Or delete the credentials of clusters that no longer exist (az identity federated-credential list/delete --identity-name ${b.identityName}), then re-run.`
      : `Use another identity for this cluster (identityName input), or delete federated credentials of clusters that no longer exist (az identity federated-credential list/delete --identity-name ${b.identityName}), then re-run.`;
  return new UserError(
    `The managed identity '${b.identityName}' has ${count} federated credentials${holders} and the cluster '${b.clusterName}' needs ${needed} more (${b.newNames.join(', ')}), but an identity can have at most ${limit}${free > 0 ? ` (${free} free)` : ' (none free)'}.${room} Nothing was changed.`,
    {
      code: 'FederatedCredentialBudget',
      cause: `${count} existing + ${needed} new = ${count + needed} > ${limit} federated credentials on one identity.`,
      fix,
    },
  );
}

function toCredential(f: FederatedIdentityCredential): Credential {
  return { name: f.name ?? '', issuer: f.issuer ?? '', subject: f.subject ?? '', audiences: f.audiences ?? [] };
}

export interface CredentialCallContext {
  log: Logger;
  principal?: string;
}

function errorContext(identity: IdentityRef, verb: string, ctx: CredentialCallContext) {
  return {
    action: `${verb} federated credentials of the managed identity '${identity.name}'`,
    principal: ctx.principal,
    role: verb === 'list' ? 'Reader' : 'Managed Identity Contributor (or Contributor)',
    scope: `the identity '${identity.name}'`,
  };
}

export async function listCredentials(
  clients: ArmClients,
  identity: IdentityRef,
  ctx: CredentialCallContext,
): Promise<Credential[]> {
  const out: Credential[] = [];
  try {
    for await (const f of clients.msi.federatedIdentityCredentials.list(identity.resourceGroup, identity.name))
      out.push(toCredential(f));
  } catch (err) {
    throw describeArmError(err, errorContext(identity, 'list', ctx));
  }
  return out;
}

export interface WriteCredentialOptions extends CredentialCallContext {
  /** The run's retry policy (its clock, jitter and log); the conflict retry uses it with its own `retryOn`. */
  retry?: RetryPolicy;
  /** Attempts on the concurrent-write 409 (and on a parent identity not replicated yet); default 6. */
  maxAttempts?: number;
}

const CONCURRENT_WRITE = 'ConcurrentFederatedIdentityCredentialsWritesForSingleManagedIdentity';

/** Another write on the same identity is in progress (409); Entra asks writers to serialize and retry. */
function isConcurrentWrite(err: unknown): boolean {
  const info = errorInfo(err);
  return info.status === 409 && (info.code === CONCURRENT_WRITE || info.code === 'Conflict' || info.code === undefined);
}

/** The identity was just created and this region has not seen it yet (404 on the child resource). */
const isParentMissing = (err: unknown): boolean => errorInfo(err).status === 404;

/**
 * Writes one credential (create or update). Callers write one at a time per identity; a 409 from
 * a concurrent writer elsewhere is retried with jittered backoff, under the one retry policy.
 */
export async function writeCredential(
  clients: ArmClients,
  identity: IdentityRef,
  cred: Credential,
  opts: WriteCredentialOptions,
): Promise<Credential> {
  // Parallel jobs of a fleet share one identity: enough attempts for tens of writers to take turns.
  const attempts = opts.maxAttempts ?? 10;
  const policy = (opts.retry ?? new RetryPolicy({ log: opts.log })).with({
    maxAttempts: attempts,
    baseDelayMs: 1000,
    maxDelayMs: 20_000,
    retryOn: (err) => isConcurrentWrite(err) || isParentMissing(err),
  });
  try {
    const res = await policy.run(`the write of the federated credential '${cred.name}'`, () =>
      clients.msi.federatedIdentityCredentials.createOrUpdate(identity.resourceGroup, identity.name, cred.name, {
        issuer: cred.issuer,
        subject: cred.subject,
        audiences: cred.audiences,
      }),
    );
    return toCredential(res);
  } catch (err) {
    // 400 is also what Entra answers when another writer (a parallel run) created the same
    // issuer + subject under another name since this run read the list: read again, by state.
    if (errorInfo(err).status === 400 && !isIdentityFull(err)) {
      const same = (await listCredentials(clients, identity, opts)).find(
        (c) => c.issuer === cred.issuer && c.subject === cred.subject && c.name !== cred.name,
      );
      if (same) {
        opts.log.info(
          `Federated credential '${cred.name}': the identity already has '${same.name}' with the same issuer and subject (written by another run); keeping it.`,
        );
        return same;
      }
    }
    throw credentialWriteError(err, identity, cred, attempts, opts);
  }
}

/** Azure's 400 for a 21st credential (no code of its own is published: its text is all there is). */
function isIdentityFull(err: unknown): boolean {
  const info = errorInfo(err);
  return info.status === 400 && /too many federated identity credentials/i.test(info.message);
}

function credentialWriteError(
  err: unknown,
  identity: IdentityRef,
  cred: Credential,
  attempts: number,
  ctx: CredentialCallContext,
): unknown {
  const info = errorInfo(err);
  if (isConcurrentWrite(err)) {
    return new UserError(
      `Could not write the federated credential '${cred.name}': other writes on the identity '${identity.name}' kept conflicting.`,
      {
        code: 'FederatedCredentialConcurrentWrites',
        cause: `Azure answered 409 ${info.code ?? ''} ${attempts} times: federated credentials of one identity cannot be written concurrently (${info.message}).`,
        fix: 'Make sure no other pipeline or deployment writes federated credentials of this identity at the same time (serialize them), then re-run.',
        inner: err,
      },
    );
  }
  if (info.status === 405) {
    return new UserError(
      `Federated identity credentials are not supported for the identity '${identity.name}' in its region.`,
      {
        code: 'FederatedCredentialRegionUnsupported',
        cause: info.message,
        fix: 'Create the identity in a supported region (identityLocation input), then re-run.',
        inner: err,
      },
    );
  }
  // The limit is reached only when another run (a parallel job on the same shared identity) wrote
  // credentials after this run counted them: the budget preflight refuses it otherwise.
  if (isIdentityFull(err)) {
    return new UserError(
      `The managed identity '${identity.name}' reached its limit of ${MAX_CREDENTIALS_PER_IDENTITY} federated credentials while '${cred.name}' was written.`,
      {
        code: 'FederatedCredentialBudget',
        cause: `Another run (a parallel job on the same shared identity?) wrote credentials after this run counted them: ${info.message}`,
        fix: 'Give the remaining clusters another identity (identityName, or identityScope: cluster), then re-run.',
        inner: err,
      },
    );
  }
  return describeArmError(err, errorContext(identity, 'write', ctx));
}
