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
}

/** The team with this name (case-insensitive, as Azure DevOps compares names), or undefined. */
export async function findTeam(
  c: DevOpsConnection,
  projectId: string,
  name: string,
  principal?: string,
): Promise<Team | undefined> {
  try {
    const core = await c.core();
    const t = await core.getTeam(projectId, name);
    if (t?.id) return { id: t.id, name: t.name ?? name };
    return undefined;
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
