/**
 * Teams, through azure-devops-node-api's Core client. A team's id is also the storage key of its
 * group, which Graph (memberships) and the identity service (ACL descriptor) accept.
 */
import type { DevOpsConnection } from './connection';
import { describeDevOpsError, devopsErrorInfo, DevOpsRights } from './errors';

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
    if (devopsErrorInfo(err).status === 404) return undefined;
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
    throw describeDevOpsError(err, {
      action: `create the team '${name}'`,
      principal,
      right: DevOpsRights.createTeam,
      holder: c.holder,
    });
  }
}
