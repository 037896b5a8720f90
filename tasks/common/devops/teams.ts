/**
 * Teams, through azure-devops-node-api's Core client. A team's id is also the storage key of its
 * group, which Graph (memberships) and the identity service (ACL descriptor) accept.
 */
import type { DevOpsConnection } from './connection';
import { describeDevOpsError, DevOpsRights } from './errors';
import { errorInfo } from '../http/errors';
import { UserError } from '../errors';

export interface Team {
  id: string;
  name: string;
  /** The team's group in the identity service, when the read asked for it (findTeam's expandIdentity). */
  identity?: { descriptor: string; subjectDescriptor: string | undefined };
}

/** The legacy descriptor text of an expanded team identity (a string, or node-api's {identityType, identifier}). */
function descriptorText(d: unknown): string | undefined {
  if (typeof d === 'string') return d || undefined;
  const o = d as { identityType?: unknown; identifier?: unknown } | undefined;
  return typeof o?.identityType === 'string' && typeof o.identifier === 'string'
    ? `${o.identityType};${o.identifier}`
    : undefined;
}

/**
 * The team with this name (case-insensitive, as Azure DevOps compares names), or undefined. With
 * `expandIdentity` the same read ($expandIdentity=true) tells the team's group descriptors.
 */
export async function findTeam(
  c: DevOpsConnection,
  projectId: string,
  name: string,
  principal?: string,
  opts: { expandIdentity?: boolean } = {},
): Promise<Team | undefined> {
  try {
    const core = await c.core();
    const t = await core.getTeam(projectId, name, opts.expandIdentity);
    if (!t?.id) return undefined;
    const descriptor = descriptorText(t.identity?.descriptor);
    const subject = (t.identity as { subjectDescriptor?: unknown } | undefined)?.subjectDescriptor;
    return {
      id: t.id,
      name: t.name ?? name,
      ...(descriptor
        ? { identity: { descriptor, subjectDescriptor: typeof subject === 'string' ? subject : undefined } }
        : {}),
    };
  } catch (err) {
    if (errorInfo(err).status === 404) return undefined;
    throw describeDevOpsError(err, {
      action: `read the team '${name}'`,
      principal,
      right: DevOpsRights.read,
      holder: c.holder,
    });
  }
}

export async function createTeam(
  c: DevOpsConnection,
  projectId: string,
  name: string,
  description: string,
  principal?: string,
): Promise<Team> {
  try {
    const core = await c.core();
    const t = await core.createTeam({ name, description }, projectId);
    return { id: t.id ?? '', name: t.name ?? name };
  } catch (err) {
    // Another run (a parallel Provision for another cluster), or this run's own retried POST,
    // created it since the read: take that team.
    if (errorInfo(err).typeKey === 'TeamAlreadyExistsException') {
      const existing = await findTeam(c, projectId, name, principal);
      if (existing) return existing;
      throw new UserError(
        `Could not create the team '${name}': a group with that name already exists in the project.`,
        {
          code: 'TeamNameTaken',
          cause: `Azure DevOps said: ${errorInfo(err).message}`,
          fix: 'choose another team name (teamName input), or rename the existing group, then re-run',
          inner: err,
        },
      );
    }
    throw describeDevOpsError(err, {
      action: `create the team '${name}'`,
      principal,
      right: DevOpsRights.createTeam,
      holder: c.holder,
    });
  }
}
