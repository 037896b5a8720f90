/**
 * Graph memberships upwards (every group an identity is in, directly or through other groups) and
 * the legacy descriptors of those groups, which is what ACEs are keyed by. Raw REST: the SDK has
 * no Graph client. Used to evaluate an identity's effective rights when Azure DevOps gives none.
 */
import { apiUrl, type DevOpsConnection } from './connection';
import { describeDevOpsError, DevOpsRights } from './errors';
import { identitiesBySubjectDescriptors } from './identities';

const GRAPH_VERSION = '7.1-preview.1';

/** Subject descriptors of the groups `subject` is a direct member of. */
export async function groupsOf(c: DevOpsConnection, subject: string): Promise<string[]> {
  const url = apiUrl(c.areas.graph, `_apis/graph/Memberships/${encodeURIComponent(subject)}`, {
    direction: 'up',
    'api-version': GRAPH_VERSION,
  });
  try {
    const res = await c
      .rest('graph')
      .get<{ value?: { containerDescriptor?: string }[] } | { containerDescriptor?: string }[]>(url);
    const list = Array.isArray(res.result) ? res.result : (res.result?.value ?? []);
    return list.map((m) => m.containerDescriptor).filter((d): d is string => !!d);
  } catch (err) {
    throw describeDevOpsError(err, {
      action: `read the group memberships of ${subject}`,
      right: DevOpsRights.read,
      holder: c.holder,
    });
  }
}

/** Every group `subject` belongs to, directly or through other groups (bounded walk). */
export async function allGroupsOf(c: DevOpsConnection, subject: string, limit = 50): Promise<string[]> {
  const seen = new Set<string>();
  let frontier = [subject];
  while (frontier.length > 0 && seen.size < limit) {
    const next: string[] = [];
    for (const s of frontier) {
      for (const g of await groupsOf(c, s)) {
        if (!seen.has(g)) {
          seen.add(g);
          next.push(g);
        }
      }
    }
    frontier = next;
  }
  return [...seen];
}

export interface SubjectIdentity {
  subjectDescriptor: string;
  descriptor: string;
  displayName?: string;
}

/** Legacy descriptors (what ACEs use) of Graph subject descriptors. */
export async function identitiesBySubjects(c: DevOpsConnection, subjects: string[]): Promise<SubjectIdentity[]> {
  const found = await identitiesBySubjectDescriptors(c, subjects);
  return found.flatMap((i) =>
    i?.subjectDescriptor
      ? [
          {
            subjectDescriptor: i.subjectDescriptor,
            descriptor: i.descriptor,
            ...(i.displayName ? { displayName: i.displayName } : {}),
          },
        ]
      : [],
  );
}
