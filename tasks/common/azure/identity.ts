/**
 * User-assigned managed identities: read, create (or keep), and, when the PUT's answer lacks the
 * ids, wait until a new one is readable with them (ARM is eventually consistent: a GET right after
 * the PUT can still answer 404). The writes that follow on a new identity (its federated
 * credentials, its Azure DevOps entitlement) retry a not-yet-replicated identity themselves.
 */
import type { Identity } from '@azure/arm-msi';
import type { Logger } from '../log';
import { UserError } from '../errors';
import type { ArmClients } from './clients';
import { describeArmError, isArmNotFound } from './errors';
import { errorInfo } from '../http/errors';
import { RetryPolicy } from '../http/retry';

export interface IdentityRef {
  resourceGroup: string;
  name: string;
}

export interface IdentityState {
  id: string;
  name: string;
  location: string;
  /** Application (client) id: what the service-account annotation and token requests use. */
  clientId: string;
  /** Object id of the identity's service principal: what Azure DevOps calls originId. */
  principalId: string;
  tenantId: string;
}

export interface IdentityCallContext {
  log: Logger;
  principal?: string;
  /** The caller goes on to create or update the identity: a refused read names the writer's role. */
  writes?: boolean;
}

/** The fields the tasks use of an ARM identity resource. */
export function identityState(i: Identity): IdentityState {
  return {
    id: i.id ?? '',
    name: i.name ?? '',
    location: i.location,
    clientId: i.clientId ?? '',
    principalId: i.principalId ?? '',
    tenantId: i.tenantId ?? '',
  };
}

function errorContext(ref: IdentityRef, verb: string, ctx: IdentityCallContext) {
  return {
    action: `${verb} the managed identity '${ref.name}' in resource group '${ref.resourceGroup}'`,
    principal: ctx.principal,
    role:
      verb === 'read' && !ctx.writes
        ? 'Reader (or Managed Identity Operator)'
        : 'Managed Identity Contributor (or Contributor)',
    scope: `the resource group '${ref.resourceGroup}'`,
    input: 'identityResourceGroup',
  };
}

/** The identity, or undefined when it does not exist (its resource group must). */
export async function readIdentity(
  clients: ArmClients,
  ref: IdentityRef,
  ctx: IdentityCallContext,
): Promise<IdentityState | undefined> {
  try {
    return identityState(await clients.msi.userAssignedIdentities.get(ref.resourceGroup, ref.name));
  } catch (err) {
    if (isArmNotFound(err) && errorInfo(err).code !== 'ResourceGroupNotFound') return undefined;
    throw describeArmError(err, errorContext(ref, 'read', ctx));
  }
}

export interface CreateIdentityOptions extends IdentityCallContext {
  location: string;
  tags?: Record<string, string>;
  /** The run's retry policy: its clock paces the read-back. */
  retry?: RetryPolicy;
  /** How long to wait (emulated time under a scaled clock) for a new identity to become readable; default 60 s. */
  readTimeoutMs?: number;
}

/** Creates the identity (PUT) and returns it with its ids: as the PUT answered, or once a GET sees them. */
export async function createIdentity(
  clients: ArmClients,
  ref: IdentityRef,
  opts: CreateIdentityOptions,
): Promise<IdentityState> {
  let created: IdentityState;
  try {
    created = identityState(
      await clients.msi.userAssignedIdentities.createOrUpdate(ref.resourceGroup, ref.name, {
        location: opts.location,
        ...(opts.tags ? { tags: opts.tags } : {}),
      }),
    );
  } catch (err) {
    throw describeArmError(err, errorContext(ref, 'create', opts));
  }
  if (created.clientId && created.principalId) {
    opts.log.info(
      `Created the managed identity '${ref.name}' (client id ${created.clientId}, principal id ${created.principalId}).`,
    );
    return created;
  }
  opts.log.info(
    `Created the managed identity '${ref.name}' (client id ${created.clientId || 'not reported yet'}); waiting until it can be read.`,
  );
  return waitUntilReadable(clients, ref, opts);
}

async function waitUntilReadable(
  clients: ArmClients,
  ref: IdentityRef,
  opts: CreateIdentityOptions,
): Promise<IdentityState> {
  const policy = opts.retry ?? new RetryPolicy({ log: opts.log });
  const timeoutMs = opts.readTimeoutMs ?? 60_000;
  let last: IdentityState | undefined;
  const found = await policy.poll(
    async () => {
      last = await readIdentity(clients, ref, opts);
      return last?.clientId && last.principalId ? last : undefined;
    },
    {
      intervalMs: 1000,
      maxIntervalMs: 10_000,
      timeoutMs,
      onWait: (ms, attempt) =>
        opts.log.debug(`Identity '${ref.name}' not readable yet (read ${attempt}); waiting ${ms} ms.`),
    },
  );
  if (found) return found;
  throw new UserError(`The managed identity '${ref.name}' was created but cannot be read back yet.`, {
    code: 'IdentityNotReadable',
    cause: `GET on the identity still answered ${last ? 'without clientId/principalId' : '404'} after ${Math.round(timeoutMs / 1000)} s (Azure replication delay).`,
    fix: 'Re-run the task in a few minutes; it keeps the identity and continues.',
  });
}
