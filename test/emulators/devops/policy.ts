/**
 * Branch policies: `GET {project}/_apis/policy/configurations[/{id}]` (REST 7.1, Policy -
 * Configurations) and the rule that an enabled, blocking policy on a branch makes it accept changes
 * only through pull requests ("Branch policies and settings": "Once you set up a required branch
 * policy, you can't push changes directly to the branch"). A push to such a branch answers
 * 403 TF402455 (`GitRefUpdateRejectedByPolicyException`; UNVERIFIED typeKey, the code is observed).
 */
import { TF, vssError } from './errors';
import { collection, ok, route } from './http';
import type { PolicyConfigurationState, ProjectState } from './model';
import type { DevOpsRoute, Req } from './service';

function matches(p: PolicyConfigurationState, repositoryId: string, refName: string): boolean {
  return p.scope.some(
    (s) =>
      (!s.repositoryId || s.repositoryId.toLowerCase() === repositoryId.toLowerCase()) &&
      (s.matchKind === 'Prefix' ? refName.startsWith(s.refName) : s.refName === refName),
  );
}

/** The policies that make `refName` of the repository accept changes only through pull requests. */
export function requiredPolicies(
  project: ProjectState,
  repositoryId: string,
  refName: string,
): PolicyConfigurationState[] {
  return (project.policies ?? []).filter((p) => p.isEnabled && p.isBlocking && matches(p, repositoryId, refName));
}

/** Throws the 403 a direct push to a protected branch gets. */
export function refusePushToProtectedBranch(project: ProjectState, repositoryId: string, refName: string): void {
  if (requiredPolicies(project, repositoryId, refName).length > 0)
    throw vssError(403, 'GitRefUpdateRejectedByPolicyException', TF.branchPolicy(), 'Git');
}

function configurationJson(r: Req, p: PolicyConfigurationState) {
  const url = `${r.ctx.orgUrl}/${r.ctx.project!.id}/_apis/policy/configurations/${p.id}`;
  return {
    id: p.id,
    type: {
      id: p.typeId,
      displayName: p.typeDisplayName,
      url: `${r.ctx.orgUrl}/${r.ctx.project!.id}/_apis/policy/types/${p.typeId}`,
    },
    revision: 1,
    isEnabled: p.isEnabled,
    isBlocking: p.isBlocking,
    isDeleted: false,
    settings: { ...(p.settings ?? {}), scope: p.scope },
    url,
    _links: { self: { href: url } },
  };
}

function list(r: Req) {
  return ok(collection((r.ctx.project!.policies ?? []).map((p) => configurationJson(r, p))));
}

function get(r: Req) {
  const id = Number(r.params.configurationId);
  const p = (r.ctx.project!.policies ?? []).find((x) => x.id === id);
  if (!p)
    throw vssError(404, 'PolicyConfigurationNotFoundException', `Policy configuration ${id} was not found.`, 'WebApi');
  return ok(configurationJson(r, p));
}

export const policyRoutes: DevOpsRoute[] = [
  route('GET', '_apis/policy/configurations', { scope: 'project' }, list),
  route('GET', '_apis/policy/configurations/:configurationId', { scope: 'project' }, get),
];
