/**
 * Member entitlement management (vsaex host): service principals' organization membership and
 * access level (licence). Raw REST: the SDK has no client for it. The add call can answer 200 with
 * `isSuccess: false` and the reason in `operationResult.errors`, so the body is always checked.
 */
import { UserError } from '../errors';
import { apiUrl, type DevOpsConnection } from './connection';
import { describeDevOpsError, DevOpsRights, serviceConnectionHolder, type TokenHolder } from './errors';
import { errorInfo } from '../http/errors';

const API_VERSION = '7.1-preview.1';

/** accountLicenseType values, lowest to highest access to code. */
export const LICENCE_RANK: Record<string, number> = {
  none: 0,
  stakeholder: 1,
  express: 2,
  professional: 3,
  advanced: 3,
  earlyAdopter: 3,
};

export const LICENCE_NAMES: Record<string, string> = {
  none: 'No access',
  stakeholder: 'Stakeholder',
  express: 'Basic',
  advanced: 'Basic + Test Plans',
  professional: 'Visual Studio subscription',
  earlyAdopter: 'Early Adopter',
};

export function licenceName(type: string | undefined): string {
  return type ? (LICENCE_NAMES[type] ?? type) : 'none';
}

/** True when `current` gives at least the Git access of `wanted` (Basic reads code; Stakeholder does not). */
export function licenceSatisfies(current: string | undefined, wanted: string): boolean {
  const have = LICENCE_RANK[current ?? 'none'] ?? 0;
  return have >= (LICENCE_RANK[wanted] ?? 2);
}

export interface Entitlement {
  /** The service principal's id in the organization (storage key). */
  id: string;
  descriptor: string | undefined;
  accountLicenseType: string | undefined;
  status: string | undefined;
}

interface EntitlementBody {
  id?: string;
  servicePrincipal?: { descriptor?: string };
  accessLevel?: { accountLicenseType?: string; status?: string };
}

interface OperationResultBody {
  isSuccess?: boolean;
  operationResult?: {
    isSuccess?: boolean;
    errors?: ({ key?: string; value?: string } | string)[];
    servicePrincipalId?: string;
    result?: EntitlementBody;
  };
  operationResults?: { isSuccess?: boolean; errors?: ({ key?: string; value?: string } | string)[] }[];
  servicePrincipalEntitlement?: EntitlementBody;
}

function toEntitlement(b: EntitlementBody | undefined, fallbackId?: string): Entitlement | undefined {
  const id = b?.id ?? fallbackId;
  if (!id) return undefined;
  return {
    id,
    descriptor: b?.servicePrincipal?.descriptor,
    accountLicenseType: b?.accessLevel?.accountLicenseType,
    status: b?.accessLevel?.status,
  };
}

function errorsOf(body: OperationResultBody): string {
  const list = [
    ...(body.operationResult?.errors ?? []),
    ...(body.operationResults ?? []).flatMap((r) => r.errors ?? []),
  ];
  return (
    list
      .map((e) => (typeof e === 'string' ? e : `${e.value ?? ''}${e.key ? ` (${e.key})` : ''}`))
      .filter(Boolean)
      .join('; ') || 'no reason given'
  );
}

function succeeded(body: OperationResultBody | null | undefined): boolean {
  if (!body) return false;
  if (body.isSuccess === false) return false;
  if (body.operationResult && body.operationResult.isSuccess === false) return false;
  if ((body.operationResults ?? []).some((r) => r.isSuccess === false)) return false;
  return true;
}

/**
 * The documented "Access Denied: <who> needs the following permission(s) on the resource Users to
 * perform this action: Add Users" comes back inside a 200 (isSuccess false), not as a 403.
 */
function deniedError(reason: string, action: string, holder: TokenHolder, right: string): UserError | undefined {
  if (!/access denied|needs the following permission/i.test(reason)) return undefined;
  return new UserError(`Could not ${action}: access denied.`, {
    code: 'DevOpsAccessDenied',
    cause: `${holder.who} lacks the right to add users to the organization. Azure DevOps said: ${reason}`,
    fix: `Give ${holder.who} ${right}${holder.alternative ? `, or ${holder.alternative}` : ''}, then re-run.`,
  });
}

/** Who is calling, for error texts: the connection's holder, else a service connection's principal. */
const holderOf = (c: DevOpsConnection, principal: string | undefined): TokenHolder =>
  c.holder ?? serviceConnectionHolder(principal);

/** The entitlement of a service principal already in the organization (by its organization id), or undefined. */
export async function getServicePrincipalEntitlement(
  c: DevOpsConnection,
  id: string,
  principal?: string,
): Promise<Entitlement | undefined> {
  const url = apiUrl(c.areas.entitlements, `_apis/serviceprincipalentitlements/${encodeURIComponent(id)}`, {
    'api-version': API_VERSION,
  });
  try {
    const res = await c.rest('entitlements').get<EntitlementBody>(url);
    if (res.statusCode === 404 || !res.result) return undefined;
    return toEntitlement(res.result, id);
  } catch (err) {
    if (errorInfo(err).status === 404) return undefined;
    throw describeDevOpsError(err, {
      action: 'read the service principal entitlement',
      principal,
      right: DevOpsRights.addUsers,
      holder: c.holder,
    });
  }
}

export interface AddServicePrincipal {
  /** The Entra object id of the service principal (a managed identity's principalId). */
  objectId: string;
  accountLicenseType: string;
  /** For messages. */
  displayName: string;
}

/** Adds the service principal to the organization with the licence; checks isSuccess in the body. */
export async function addServicePrincipalEntitlement(
  c: DevOpsConnection,
  sp: AddServicePrincipal,
  principal?: string,
): Promise<Entitlement> {
  const url = apiUrl(c.areas.entitlements, '_apis/serviceprincipalentitlements', { 'api-version': API_VERSION });
  const body = {
    accessLevel: { accountLicenseType: sp.accountLicenseType, licensingSource: 'account' },
    projectEntitlements: [],
    servicePrincipal: { origin: 'aad', originId: sp.objectId, subjectKind: 'servicePrincipal' },
  };
  let res;
  try {
    res = await c.rest('entitlements').create<OperationResultBody>(url, body);
  } catch (err) {
    throw describeDevOpsError(err, {
      action: `add the managed identity '${sp.displayName}' to the organization`,
      principal,
      right: DevOpsRights.addUsers,
      holder: c.holder,
    });
  }
  const result = res.result;
  if (!succeeded(result)) {
    const reason = result ? errorsOf(result) : 'empty body';
    const denied = deniedError(
      reason,
      `add the managed identity '${sp.displayName}' to the organization`,
      holderOf(c, principal),
      DevOpsRights.addUsers,
    );
    if (denied) throw denied;
    if (/Failed to create service principal with object ID/i.test(reason)) {
      throw new UserError(
        `Azure DevOps did not add the managed identity '${sp.displayName}': it does not know the object id ${sp.objectId}.`,
        {
          code: 'EntitlementWrongObjectId',
          cause: reason,
          fix: 'The identity must be visible in the Entra tenant the organization is connected to (a new identity can take a few minutes to replicate). Re-run the task in a few minutes.',
        },
      );
    }
    throw new UserError(
      `Azure DevOps did not add the managed identity '${sp.displayName}' (object id ${sp.objectId}) to the organization.`,
      {
        code: 'EntitlementAddFailed',
        cause: `The entitlement call answered HTTP ${res.statusCode} with isSuccess false: ${reason}.`,
        fix: "Check that the identity is in the Entra tenant the organization is connected to (Organization settings > Microsoft Entra), that the organization has a free Basic licence, and that principalId is the service principal's object id; then re-run.",
      },
    );
  }
  const ent = toEntitlement(
    result?.servicePrincipalEntitlement ?? result?.operationResult?.result,
    result?.operationResult?.servicePrincipalId,
  );
  if (!ent) {
    throw new UserError(
      `Azure DevOps answered the entitlement call for '${sp.displayName}' without the service principal's id.`,
      {
        code: 'EntitlementAddFailed',
        cause: 'servicePrincipalEntitlement.id and operationResult.servicePrincipalId are both missing.',
        fix: 'Re-run the task; it reads the identity back.',
      },
    );
  }
  return ent;
}

/** Sets the access level of a service principal already in the organization (JSON patch). */
export async function setServicePrincipalLicence(
  c: DevOpsConnection,
  id: string,
  accountLicenseType: string,
  displayName: string,
  principal?: string,
): Promise<void> {
  const url = apiUrl(c.areas.entitlements, `_apis/serviceprincipalentitlements/${encodeURIComponent(id)}`, {
    'api-version': API_VERSION,
  });
  const patch = [{ op: 'replace', path: '/accessLevel', value: { accountLicenseType, licensingSource: 'account' } }];
  let res;
  try {
    res = await c.rest('entitlements').update<OperationResultBody>(url, patch, {
      additionalHeaders: { 'Content-Type': 'application/json-patch+json' },
    });
  } catch (err) {
    throw describeDevOpsError(err, {
      action: `change the access level of '${displayName}'`,
      principal,
      right: DevOpsRights.addUsers,
      holder: c.holder,
    });
  }
  if (!succeeded(res.result)) {
    const denied = deniedError(
      res.result ? errorsOf(res.result) : '',
      `change the access level of '${displayName}'`,
      holderOf(c, principal),
      DevOpsRights.addUsers,
    );
    if (denied) throw denied;
    throw new UserError(
      `Azure DevOps did not change the access level of '${displayName}' to ${licenceName(accountLicenseType)}.`,
      {
        code: 'EntitlementUpdateFailed',
        cause: `The call answered HTTP ${res.statusCode} with isSuccess false: ${res.result ? errorsOf(res.result) : 'empty body'}.`,
        fix: 'Check that the organization has a free licence of that kind (Organization settings > Billing), then re-run.',
      },
    );
  }
}
