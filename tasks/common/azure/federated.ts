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
import { armErrorInfo, describeArmError } from './errors';
import type { IdentityRef } from './identity';
import { type Sleep, jitter, realSleep } from './wait';

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

/**
 * The 20-per-identity budget, checked before any write. Undefined when the plan fits; otherwise
 * the error (how many exist, how many are needed, what to do).
 */
export function checkCredentialBudget(
  identityName: string,
  existingCount: number,
  newNames: string[],
  limit = MAX_CREDENTIALS_PER_IDENTITY,
): UserError | undefined {
  if (existingCount + newNames.length <= limit) return undefined;
  const free = Math.max(0, limit - existingCount);
  return new UserError(
    `The managed identity '${identityName}' has ${existingCount} federated credentials and this setup needs ${newNames.length} more (${newNames.join(', ')}), but an identity can have at most ${limit}${free > 0 ? ` (${free} free)` : ''}. Nothing was changed.`,
    {
      code: 'FederatedCredentialBudget',
      cause: `${existingCount} existing + ${newNames.length} new = ${existingCount + newNames.length} > ${limit}.`,
      fix: `Use another identity for this cluster (identityName input), or delete federated credentials of clusters that no longer exist (az identity federated-credential list/delete --identity-name ${identityName}), then re-run.`,
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
  sleep?: Sleep;
  random?: () => number;
  /** Attempts on the concurrent-write 409 (and on a parent identity not replicated yet). */
  maxAttempts?: number;
  baseDelayMs?: number;
}

const CONCURRENT_WRITE = 'ConcurrentFederatedIdentityCredentialsWritesForSingleManagedIdentity';

/**
 * Writes one credential (create or update). Callers write one at a time per identity; a 409 from
 * a concurrent writer elsewhere is retried with jittered backoff.
 */
export async function writeCredential(
  clients: ArmClients,
  identity: IdentityRef,
  cred: Credential,
  opts: WriteCredentialOptions,
): Promise<Credential> {
  const sleep = opts.sleep ?? realSleep;
  const attempts = opts.maxAttempts ?? 6;
  let delay = opts.baseDelayMs ?? 1000;
  for (let i = 1; ; i++) {
    try {
      const res = await clients.msi.federatedIdentityCredentials.createOrUpdate(
        identity.resourceGroup,
        identity.name,
        cred.name,
        {
          issuer: cred.issuer,
          subject: cred.subject,
          audiences: cred.audiences,
        },
      );
      return toCredential(res);
    } catch (err) {
      const info = armErrorInfo(err);
      const concurrent =
        info.status === 409 && (info.code === CONCURRENT_WRITE || info.code === 'Conflict' || info.code === undefined);
      // The parent was just created and this region has not seen it yet.
      const parentMissing = info.status === 404;
      if ((concurrent || parentMissing) && i < attempts) {
        const wait = info.retryAfterMs ?? jitter(delay, opts.random);
        opts.log.info(
          `Federated credential '${cred.name}': ${concurrent ? 'another write on the same identity is in progress (409)' : 'the identity is not visible yet (404)'}; retrying in ${(wait / 1000).toFixed(1)} s.`,
        );
        await sleep(wait);
        delay = Math.min(delay * 2, 20_000);
        continue;
      }
      if (concurrent) {
        throw new UserError(
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
        throw new UserError(
          `Federated identity credentials are not supported for the identity '${identity.name}' in its region.`,
          {
            code: 'FederatedCredentialRegionUnsupported',
            cause: info.message,
            fix: 'Create the identity in a supported region (identityLocation input), then re-run.',
            inner: err,
          },
        );
      }
      if (info.status === 400 && /issuer and subject combination already exists/i.test(info.message)) {
        throw new UserError(
          `The identity '${identity.name}' already has a federated credential with issuer '${cred.issuer}' and subject '${cred.subject}' under another name.`,
          {
            code: 'FederatedCredentialDuplicate',
            cause: "It was created between this run's read and its write (another run in parallel?).",
            fix: 'Re-run the task: it counts the existing credential as present.',
            inner: err,
          },
        );
      }
      throw describeArmError(err, errorContext(identity, 'write', opts));
    }
  }
}
