/**
 * Azure DevOps errors a user can act on. azure-devops-node-api (typed-rest-client) throws an Error
 * with `statusCode`, `result` (the VSS error body: message, typeKey, errorCode) and
 * `responseHeaders`; errors are mapped by status and typeKey, never by English text alone.
 */
import { UserError } from '../report/errors';

export interface DevOpsErrorInfo {
  status: number | undefined;
  /** VSS typeKey, e.g. GitRepositoryNotFoundException, IdentityNotFoundException. */
  typeKey: string | undefined;
  message: string;
}

interface NodeApiErrorLike {
  statusCode?: unknown;
  message?: unknown;
  result?: { message?: unknown; typeKey?: unknown } | null;
}

export function devopsErrorInfo(err: unknown): DevOpsErrorInfo {
  const e = (err !== null && typeof err === 'object' ? err : {}) as NodeApiErrorLike;
  const status = typeof e.statusCode === 'number' ? e.statusCode : undefined;
  const serverMessage = typeof e.result?.message === 'string' ? e.result.message : undefined;
  return {
    status,
    typeKey: typeof e.result?.typeKey === 'string' ? e.result.typeKey : undefined,
    message: serverMessage ?? (typeof e.message === 'string' ? e.message : String(err)),
  };
}

export interface DevOpsErrorContext {
  /** e.g. "add the managed identity to the organization". */
  action: string;
  /** The service connection's principal (name or client id). */
  principal?: string;
  /** The Azure DevOps right the action needs, in the words of the UI. */
  right?: string;
}

/**
 * A UserError for 401/403 (who lacks what right) and returns anything else unchanged.
 */
export function describeDevOpsError(err: unknown, ctx: DevOpsErrorContext): unknown {
  if (err instanceof UserError) return err;
  const info = devopsErrorInfo(err);
  const who = ctx.principal ? `the service connection's principal (${ctx.principal})` : "the service connection's principal";
  if (info.status === 401) {
    return new UserError(`Could not ${ctx.action}: Azure DevOps did not accept the token (HTTP 401).`, {
      code: 'DevOpsUnauthorized',
      cause: `${who} is not a user of the organization, or its access was removed. Azure DevOps said: ${info.message}`,
      fix: `Add ${who} to the Azure DevOps organization (Organization settings > Users > Add users, access level Basic)${ctx.right ? ` and give it ${ctx.right}` : ''}, or name another service connection in devopsConnection.`,
      inner: err,
    });
  }
  if (info.status === 403) {
    return new UserError(`Could not ${ctx.action}: access denied (HTTP 403).`, {
      code: 'DevOpsAccessDenied',
      cause: `${who} lacks the right to do this. Azure DevOps said: ${info.message}`,
      fix: `Give ${who} ${ctx.right ?? 'the permission named in the message'}, or name a service connection whose principal has it in devopsConnection, then re-run.`,
      inner: err,
    });
  }
  return err;
}

/** The rights each write needs, as the Azure DevOps UI names them. */
export const DevOpsRights = {
  addUsers: "membership of Project Collection Administrators (adding users and service principals to the organization needs it)",
  createTeam: "membership of the project's Project Administrators group (creating a team needs it)",
  manageTeam: "Project Administrator (or team administrator of the team) rights, to manage the team's membership",
  managePermissions: "the 'Manage permissions' Git permission on the repository (Project Administrators have it)",
  read: "a Basic access level in the organization and read access to the project",
} as const;
