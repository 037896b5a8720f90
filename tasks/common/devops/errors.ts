/**
 * Azure DevOps errors a user can act on. azure-devops-node-api (typed-rest-client) throws an Error
 * with `statusCode`, `result` (the VSS error body: message, typeKey, errorCode) and
 * `responseHeaders`; errors are mapped by status and typeKey, never by English text alone.
 */
import { errorInfo } from '../http/errors';
import { UserError } from '../errors';

/**
 * Who a token belongs to, as error texts name it, and what that kind of caller can do about a
 * refusal. A service connection's principal and the job's access token fail for different reasons
 * (a principal that is not a user of the organization; an expired or out-of-scope job token) and are
 * fixed in different places.
 */
export interface TokenHolder {
  /** e.g. "the service connection's principal (client id …)", "the project's build service identity (the job access token)". */
  who: string;
  /** Why Azure DevOps answers 401 to this holder's token, and the fix. */
  unauthorized: { cause: string; fix: string };
  /** How to call as another identity instead (offered with a 403), e.g. "name another service connection in devopsConnection". */
  alternative?: string;
}

/** A service connection's principal; `input` is the task input that names the connection. */
export function serviceConnectionHolder(principal?: string, input = 'devopsConnection'): TokenHolder {
  const who = principal ? `the service connection's principal (${principal})` : "the service connection's principal";
  return {
    who,
    unauthorized: {
      cause: `${who} is not a user of the organization, or its access was removed`,
      fix: `Add ${who} to the Azure DevOps organization (Organization settings > Users > Add users, access level Basic), or name another service connection in ${input}`,
    },
    alternative: `name a service connection whose principal has it in ${input}`,
  };
}

/** The job's access token (System.AccessToken): the project's build service identity. A task that can use another identity adds its `alternative`. */
export const JOB_TOKEN_HOLDER: TokenHolder = {
  who: "the project's build service identity (the job access token)",
  unauthorized: {
    cause:
      'the job access token was not accepted: it expired (the job ran past its lifetime), or its scope does not reach this project (the pipeline setting "Limit job authorization scope to current project")',
    fix: 're-run the job; for a repository in another project, turn off "Limit job authorization scope to current project" (Project settings > Pipelines > Settings)',
  },
};

export interface DevOpsErrorContext {
  /** e.g. "add the managed identity to the organization". */
  action: string;
  /** The service connection's principal (name or client id); used when `holder` is not given. */
  principal?: string;
  /** Who holds the token (DevOpsConnection.holder); wins over `principal`. */
  holder?: TokenHolder;
  /** The Azure DevOps right the action needs, in the words of the UI. */
  right?: string;
}

/**
 * A UserError for 401/403 (who lacks what right) and returns anything else unchanged.
 */
export function describeDevOpsError(err: unknown, ctx: DevOpsErrorContext): unknown {
  if (err instanceof UserError) return err;
  const info = errorInfo(err);
  const holder = ctx.holder ?? serviceConnectionHolder(ctx.principal);
  const { who } = holder;
  if (info.status === 401) {
    return new UserError(`Could not ${ctx.action}: Azure DevOps did not accept the token (HTTP 401).`, {
      code: 'DevOpsUnauthorized',
      cause: `${holder.unauthorized.cause}. Azure DevOps said: ${info.message}`,
      fix: `${holder.unauthorized.fix}${ctx.right ? `; ${who} also needs ${ctx.right}` : ''}.`,
      inner: err,
    });
  }
  if (info.status === 403) {
    return new UserError(`Could not ${ctx.action}: access denied (HTTP 403).`, {
      code: 'DevOpsAccessDenied',
      cause: `${who} lacks ${ctx.right ?? 'the right to do this'}. Azure DevOps said: ${info.message}`,
      fix: `Give ${who} ${ctx.right ?? 'the permission named in the message'}${holder.alternative ? `, or ${holder.alternative}` : ''}, then re-run.`,
      inner: err,
    });
  }
  return err;
}

/** The rights each write needs, as the Azure DevOps UI names them. */
export const DevOpsRights = {
  addUsers:
    'membership of Project Collection Administrators (adding users and service principals to the organization needs it)',
  createTeam: "membership of the project's Project Administrators group (creating a team needs it)",
  manageTeam: "Project Administrator (or team administrator of the team) rights, to manage the team's membership",
  managePermissions: "the 'Manage permissions' Git permission on the repository (Project Administrators have it)",
  read: 'a Basic access level in the organization and read access to the project',
} as const;
