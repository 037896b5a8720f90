/**
 * Project and repository lookup, through azure-devops-node-api's Core and Git clients.
 * Both accept a name or an id; a missing one resolves to undefined (node-api returns null on 404).
 */
import { describeDevOpsError, DevOpsRights } from './errors';
import { errorInfo } from '../http/errors';
import type { DevOpsConnection } from './connection';

export interface ProjectRef {
  id: string;
  name: string;
}

export interface RepositoryRef {
  id: string;
  name: string;
  projectId: string;
  /** The project's name as the repository answer gives it (a lookup by project name or id tells both). */
  projectName?: string;
}

export async function findProject(
  c: DevOpsConnection,
  nameOrId: string,
  principal?: string,
): Promise<ProjectRef | undefined> {
  try {
    const core = await c.core();
    const p = await core.getProject(nameOrId);
    return p?.id ? { id: p.id, name: p.name ?? nameOrId } : undefined;
  } catch (err) {
    if (errorInfo(err).status === 404) return undefined;
    throw describeDevOpsError(err, {
      action: `read the project '${nameOrId}'`,
      principal,
      right: DevOpsRights.read,
      holder: c.holder,
    });
  }
}

export async function findRepository(
  c: DevOpsConnection,
  projectId: string,
  nameOrId: string,
  principal?: string,
): Promise<RepositoryRef | undefined> {
  try {
    const git = await c.git();
    const r = await git.getRepository(nameOrId, projectId);
    return r?.id
      ? {
          id: r.id,
          name: r.name ?? nameOrId,
          projectId: r.project?.id ?? projectId,
          ...(r.project?.name ? { projectName: r.project.name } : {}),
        }
      : undefined;
  } catch (err) {
    if (errorInfo(err).status === 404) return undefined;
    throw describeDevOpsError(err, {
      action: `read the repository '${nameOrId}'`,
      principal,
      right: DevOpsRights.read,
      holder: c.holder,
    });
  }
}
