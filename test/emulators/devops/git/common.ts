/**
 * What every Git route needs: the repository of the URL (by name within a project, or by id),
 * checked against the caller's licence and Read permission the way the service hides what one may
 * not see (TF401019), permission checks with TF401027, and the JSON of repositories and commits.
 */
import { canUseRepos, type Caller } from '../auth';
import { TF, vssError } from '../errors';
import { isGuid } from '../http';
import { sameId } from '../identity';
import type { DevOpsState, ProjectState, RepositoryState } from '../model';
import { GIT_BITS, gitRepoToken, hasPermission } from '../security';
import { who, type Req } from '../service';
import { GIT_SECURITY_NAMESPACE } from '../../names';
import { projectRef, type OrgUrls } from '../views';
import type { CommitInfo, GitPerson } from './store';

export interface RepoRef {
  project: ProjectState;
  repo: RepositoryState;
}

const PERMISSION_NAMES: Record<number, string> = {
  [GIT_BITS.read]: 'GenericRead',
  [GIT_BITS.contribute]: 'GenericContribute',
  [GIT_BITS.forcePush]: 'ForcePush',
  [GIT_BITS.createBranch]: 'CreateBranch',
  [GIT_BITS.createTag]: 'CreateTag',
  [GIT_BITS.pullRequestContribute]: 'PullRequestContribute',
};

export function repoPermitted(state: DevOpsState, caller: Caller, ref: RepoRef, bit: number): boolean {
  return hasPermission(
    state,
    caller.identity.id,
    GIT_SECURITY_NAMESPACE,
    gitRepoToken(ref.project.id, ref.repo.id),
    bit,
  );
}

/** Throws 403 TF401027 unless the caller holds `bit` on the repository. */
export function requireRepoPermission(r: Req, ref: RepoRef, bit: number): void {
  const caller = who(r);
  if (repoPermitted(r.ctx.state, caller, ref, bit)) return;
  throw vssError(
    403,
    'GitNeedsPermissionException',
    TF.needsPermission(PERMISSION_NAMES[bit] ?? String(bit), caller.identity.displayName),
    'Git',
  );
}

export function findRepo(state: DevOpsState, project: ProjectState | undefined, nameOrId: string): RepoRef | undefined {
  const projects = project ? [project] : state.projects;
  for (const p of projects) {
    const repo = p.repositories.find(
      (x) => sameId(x.id, nameOrId) || (project !== undefined && x.name.toLowerCase() === nameOrId.toLowerCase()),
    );
    if (repo) return { project: p, repo };
  }
  return undefined;
}

/** Every repository the caller may see: a licence that includes Repos and Read on it. */
export function visibleRepos(r: Req, project?: ProjectState): RepoRef[] {
  const caller = who(r);
  if (!canUseRepos(caller)) return [];
  const out: RepoRef[] = [];
  for (const p of project ? [project] : r.ctx.state.projects) {
    for (const repo of p.repositories) {
      const ref = { project: p, repo };
      if (repoPermitted(r.ctx.state, caller, ref, GIT_BITS.read)) out.push(ref);
    }
  }
  return out;
}

/** The repository of the route (`:repo` by name or id), readable by the caller, on disk. */
export async function repoOf(r: Req, key = r.params.repo ?? ''): Promise<RepoRef> {
  const caller = who(r);
  const ref = r.ctx.project || isGuid(key) ? findRepo(r.ctx.state, r.ctx.project, key) : undefined;
  if (!ref || !canUseRepos(caller) || !repoPermitted(r.ctx.state, caller, ref, GIT_BITS.read)) {
    throw vssError(404, 'GitRepositoryNotFoundException', TF.repoNotFound(key), 'Git');
  }
  await r.ctx.svc.repos.ensure(ref.repo);
  return ref;
}

export function defaultBranch(repo: RepositoryState): string {
  return repo.defaultBranch ?? 'main';
}

export function repoApiUrl(u: OrgUrls, ref: RepoRef): string {
  return `${u.devops}/${ref.project.id}/_apis/git/repositories/${ref.repo.id}`;
}

/**
 * The clone URL in the URL form `u` names: `https://{org}@host/{org}/{project}/_git/{repo}` (the
 * user name part is what the service returns), or `https://{org}.visualstudio.com/{project}/_git/{repo}`
 * for the legacy form, where the host already names the organization.
 */
export function remoteUrl(u: OrgUrls, ref: RepoRef): string {
  const tail = `/${encodeURIComponent(ref.project.name)}/_git/${encodeURIComponent(ref.repo.name)}`;
  if (/^https:\/\/[^/]+\.visualstudio\.com$/i.test(u.devops)) return `${u.devops}${tail}`;
  return `${u.devops.replace('https://', `https://${u.org}@`)}${tail}`;
}

export function repoJson(r: Req, ref: RepoRef): Record<string, unknown> {
  const u = r.ctx.urls;
  const url = repoApiUrl(u, ref);
  const org = r.ctx.state.organization.name;
  const web = `${u.devops}/${encodeURIComponent(ref.project.name)}/_git/${encodeURIComponent(ref.repo.name)}`;
  return {
    id: ref.repo.id,
    name: ref.repo.name,
    url,
    project: projectRef(u, ref.project),
    defaultBranch: `refs/heads/${defaultBranch(ref.repo)}`,
    size: 0,
    remoteUrl: remoteUrl(u, ref),
    sshUrl: `git@ssh.dev.azure.com:v3/${org}/${encodeURIComponent(ref.project.name)}/${encodeURIComponent(ref.repo.name)}`,
    webUrl: web,
    isDisabled: false,
    isInMaintenance: false,
    _links: {
      self: { href: url },
      project: { href: `vstfs:///Classification/TeamProject/${ref.project.id}` },
      web: { href: web },
      ssh: {
        href: `git@ssh.dev.azure.com:v3/${org}/${encodeURIComponent(ref.project.name)}/${encodeURIComponent(ref.repo.name)}`,
      },
      commits: { href: `${url}/commits` },
      refs: { href: `${url}/refs` },
      pullRequests: { href: `${url}/pullRequests` },
      items: { href: `${url}/items` },
      pushes: { href: `${url}/pushes` },
    },
  };
}

export function personJson(p: GitPerson): { name: string; email: string; date: string } {
  return { name: p.name, email: p.email, date: new Date(p.time * 1000).toISOString().replace('.000Z', 'Z') };
}

export function commitJson(r: Req, ref: RepoRef, c: CommitInfo, full = false): Record<string, unknown> {
  const url = `${repoApiUrl(r.ctx.urls, ref)}/commits/${c.commitId}`;
  const json: Record<string, unknown> = {
    treeId: c.treeId,
    commitId: c.commitId,
    author: personJson(c.author),
    committer: personJson(c.committer),
    comment: c.message,
    parents: c.parents,
    url,
    remoteUrl: `${r.ctx.urls.devops}/${encodeURIComponent(ref.project.name)}/_git/${encodeURIComponent(ref.repo.name)}/commit/${c.commitId}`,
  };
  if (full) {
    json._links = {
      self: { href: url },
      repository: { href: repoApiUrl(r.ctx.urls, ref) },
      web: { href: json.remoteUrl as string },
      tree: { href: `${repoApiUrl(r.ctx.urls, ref)}/trees/${c.treeId}` },
    };
  }
  return json;
}

/** The git author for a caller (display name, unique name as mail). */
export function callerPerson(caller: Caller, time: number): GitPerson {
  const email =
    caller.identity.kind === 'user'
      ? caller.identity.uniqueName
      : `${caller.principal.originId ?? caller.identity.id}@${caller.identity.domain}`;
  return { name: caller.identity.displayName, email, time };
}
