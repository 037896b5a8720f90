/**
 * Azure DevOps error bodies (`{"$id","innerException","message","typeName","typeKey","errorCode","eventId"}`)
 * and the TF/VS messages the real service answers for the cases the product must handle.
 * Texts marked UNVERIFIED have no documented source (api-contracts.md "Open items").
 */
import { HttpError } from '../core/host';

export interface VssErrorBody {
  $id: string;
  innerException: null;
  message: string;
  typeName: string;
  typeKey: string;
  errorCode: number;
  eventId: number;
}

const ASSEMBLY: Record<string, string> = {
  Git: 'Microsoft.TeamFoundation.Git.Server',
  Framework: 'Microsoft.TeamFoundation.Framework.Server',
  WebApi: 'Microsoft.VisualStudio.Services.WebApi',
  Core: 'Microsoft.TeamFoundation.Core.WebApi',
  Graph: 'Microsoft.VisualStudio.Services.Graph',
  Security: 'Microsoft.TeamFoundation.Framework.Server',
  DistributedTask: 'Microsoft.TeamFoundation.DistributedTask.WebApi',
  Licensing: 'Microsoft.VisualStudio.Services.MemberEntitlementManagement.WebApi',
};

export function vssBody(typeKey: string, message: string, area: keyof typeof ASSEMBLY = 'Framework'): VssErrorBody {
  const asm = ASSEMBLY[area]!;
  return {
    $id: '1',
    innerException: null,
    message,
    typeName: `${asm}.${typeKey}, ${asm}`,
    typeKey,
    errorCode: 0,
    eventId: 3000,
  };
}

export function vssError(
  status: number,
  typeKey: string,
  message: string,
  area: keyof typeof ASSEMBLY = 'Framework',
  headers: Record<string, string> = {},
): HttpError {
  return new HttpError(status, vssBody(typeKey, message, area), headers);
}

/** Messages, one place (the product maps some of them to its own advice). */
export const TF = {
  anonymous: (): string => 'TF400813: Resource not available for anonymous access. Client authentication required.',
  /** Bad, expired or foreign token. */
  notAuthorized: (orgUrl: string): string => `VS30063: You are not authorized to access ${orgUrl}.`,
  notInOrganization: (tenantId: string, objectId: string): string =>
    `TF401444: Please sign-in at least once as ${tenantId}\\${tenantId}\\${objectId} in a web browser to enable access to the service.`,
  noAccessLevel: (user: string): string => `TF400813: The user '${user}' is not authorized to access this resource.`,
  repoNotFound: (nameOrId: string): string =>
    `TF401019: The Git repository with name or identifier ${nameOrId} does not exist or you do not have permissions for the operation you are attempting.`,
  needsPermission: (permission: string, identity: string, scope = 'repository'): string =>
    `TF401027: You need the Git '${permission}' permission to perform this action. Details: identity '${identity}', scope '${scope}'.`,
  staleRef: (ref: string): string =>
    `TF401028: The reference '${ref}' has already been updated by another client, so you cannot update it. Please try again.`,
  /**
   * A push to a branch with required policies. Wording as git prints it for a rejected push
   * (Azure DevOps docs, "Branch policies and settings": "Pushes to this branch are not permitted…").
   */
  branchPolicy: (): string =>
    'TF402455: Pushes to this branch are not permitted; you must use a pull request to update this branch.',
  /** UNVERIFIED wording (observed code only). */
  prExists: (): string => 'TF401179: An active pull request for the source and target branch already exists.',
  projectNotFound: (p: string): string =>
    `TF200016: The following project does not exist: ${p}. Verify that the name of the project is correct and that the project exists on the specified Azure DevOps Server.`,
  itemNotFound: (path: string, repo: string, version: string, commit: string): string =>
    `TF401174: The item '${path}' could not be found in the repository '${repo}' at the version specified by '${version}' (resolved to commit '${commit}').`,
  versionNotFound: (version: string): string =>
    `TF401175: The version descriptor <${version}> could not be resolved to a version in the repository.`,
  /** UNVERIFIED wording. */
  addExists: (path: string): string =>
    `The path '${path}' specified in the add operation already exists. Please specify a new path.`,
  /** UNVERIFIED wording. */
  editMissing: (path: string, commit: string): string =>
    `The path '${path}' does not exist at commit '${commit}'; an edit needs an existing file (use changeType add for a new file).`,
  accessDenied: (identity: string, resource: string, permission: string): string =>
    `Access Denied: ${identity} needs the following permission(s) on the resource ${resource} to perform this action: ${permission}`,
  serviceConnectionNotFound: (id: string): string => `No service connection found with identifier ${id}.`,
} as const;
