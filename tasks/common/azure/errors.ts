/**
 * ARM errors, mapped by code (never by message text) to what the user can do about them.
 * The SDKs throw RestError with `statusCode`, `code` and the service's message; both the wrapped
 * `{"error":{...}}` and AKS's unwrapped form end up in `code`, which errorInfo() (http/errors.ts) reads.
 */
import { errorInfo } from '../http/errors';
import { UserError } from '../errors';

export function isArmStatus(err: unknown, status: number): boolean {
  return errorInfo(err).status === status;
}

export function isArmNotFound(err: unknown): boolean {
  return isArmStatus(err, 404);
}

/** What was being done, for the error text. */
export interface ArmErrorContext {
  /** e.g. "read the AKS cluster 'aks-prod' in resource group 'rg-fleet'". */
  action: string;
  /** The service connection's principal, for "what it needs" texts. */
  principal?: string;
  /** The role that would allow the action, e.g. "Azure Kubernetes Service Contributor Role". */
  role?: string;
  /** The ARM scope the role is needed on. */
  scope?: string;
  /** Names the input that selects the resource, for not-found errors. */
  input?: string;
}

/**
 * A UserError for the ARM errors a user can act on; anything else is returned unchanged (it is a
 * product bug or an outage, and its own message is the most useful text).
 */
export function describeArmError(err: unknown, ctx: ArmErrorContext): unknown {
  if (err instanceof UserError) return err;
  const info = errorInfo(err);
  const who = ctx.principal
    ? `the service connection's principal (${ctx.principal})`
    : "the service connection's principal";
  const inner = err;
  switch (info.code) {
    case 'AuthorizationFailed':
    case 'LinkedAuthorizationFailed':
      return new UserError(`Could not ${ctx.action}: access denied (${info.code}).`, {
        code: 'ArmAuthorizationFailed',
        cause: `${who} is not allowed to do this. Azure said: ${info.message}`,
        fix: `Grant ${who} ${ctx.role ?? 'Contributor'}${ctx.scope ? ` on ${ctx.scope}` : ''}, or use a service connection that has it.`,
        inner,
      });
    case 'InvalidAuthenticationToken':
    case 'InvalidAuthenticationTokenTenant':
    case 'ExpiredAuthenticationToken':
      return new UserError(`Could not ${ctx.action}: Azure Resource Manager rejected the token (${info.code}).`, {
        code: 'ArmAuthenticationFailed',
        cause: info.message,
        fix: "Check the service connection's tenant and environment (a connection for another cloud or tenant), then re-run.",
        inner,
      });
    case 'SubscriptionNotFound':
    case 'InvalidSubscriptionId':
      return new UserError(`Could not ${ctx.action}: the subscription was not found (${info.code}).`, {
        code: 'SubscriptionNotFound',
        cause: info.message,
        fix: "Check the service connection's subscription; its principal needs access to it.",
        inner,
      });
    case 'ResourceGroupNotFound':
      return new UserError(`Could not ${ctx.action}: the resource group does not exist.`, {
        code: 'ResourceGroupNotFound',
        cause: info.message,
        fix: `Check ${ctx.input ? `the ${ctx.input} input` : 'the resource group name'} (the subscription is the service connection's).`,
        inner,
      });
    case 'MissingSubscriptionRegistration':
      return new UserError(`Could not ${ctx.action}: a resource provider is not registered in the subscription.`, {
        code: 'MissingSubscriptionRegistration',
        cause: info.message,
        fix: 'Register the provider named in the message (az provider register --namespace <name>), then re-run.',
        inner,
      });
    case 'RequestDisallowedByPolicy':
      return new UserError(`Could not ${ctx.action}: an Azure Policy assignment denied the request.`, {
        code: 'RequestDisallowedByPolicy',
        cause: info.message,
        fix: 'Ask the owner of the policy for an exemption or change the request to comply, then re-run.',
        inner,
      });
    default:
      break;
  }
  if (info.status === 403) {
    return new UserError(`Could not ${ctx.action}: access denied (HTTP 403).`, {
      code: 'ArmAuthorizationFailed',
      cause: info.message,
      fix: `Grant ${who} ${ctx.role ?? 'Contributor'}${ctx.scope ? ` on ${ctx.scope}` : ''}.`,
      inner,
    });
  }
  return err;
}
