/**
 * Graph (vssps host): subject descriptors and memberships. Raw REST: the SDK has no Graph client.
 * Team membership is a Graph membership of the member in the team's group (the team id is its
 * group's storage key), the way Terraform's azuredevops_group_membership does it.
 */
import { apiUrl, type DevOpsConnection } from './connection';
import { describeDevOpsError, DevOpsRights } from './errors';
import { errorInfo } from '../http/errors';

const API_VERSION = '7.1-preview.1';

/** The subject descriptor (vssgp.…, aadsp.…) of a storage key (e.g. a team id), or undefined. */
export async function subjectDescriptor(c: DevOpsConnection, storageKey: string): Promise<string | undefined> {
  const url = apiUrl(c.areas.graph, `_apis/graph/descriptors/${encodeURIComponent(storageKey)}`, {
    'api-version': API_VERSION,
  });
  try {
    const res = await c.rest('graph').get<{ value?: string }>(url);
    return res.statusCode === 404 ? undefined : res.result?.value || undefined;
  } catch (err) {
    if (errorInfo(err).status === 404) return undefined;
    throw describeDevOpsError(err, { action: `read the Graph descriptor of ${storageKey}`, holder: c.holder });
  }
}

/** True when `member` is a direct member of `container` (both subject descriptors). */
export async function isMember(c: DevOpsConnection, member: string, container: string): Promise<boolean> {
  const url = apiUrl(
    c.areas.graph,
    `_apis/graph/memberships/${encodeURIComponent(member)}/${encodeURIComponent(container)}`,
    { 'api-version': API_VERSION },
  );
  try {
    const res = await c.rest('graph').get<unknown>(url);
    return res.statusCode !== 404 && res.result !== null;
  } catch (err) {
    if (errorInfo(err).status === 404) return false;
    throw describeDevOpsError(err, { action: 'read a group membership', holder: c.holder });
  }
}

/** Adds `member` to `container` (idempotent on the service side). */
export async function addMember(
  c: DevOpsConnection,
  member: string,
  container: string,
  what: string,
  principal?: string,
): Promise<void> {
  const url = apiUrl(
    c.areas.graph,
    `_apis/graph/memberships/${encodeURIComponent(member)}/${encodeURIComponent(container)}`,
    { 'api-version': API_VERSION },
  );
  try {
    await c.rest('graph').replace<unknown>(url, undefined);
  } catch (err) {
    throw describeDevOpsError(err, {
      action: `add ${what}`,
      principal,
      right: DevOpsRights.manageTeam,
      holder: c.holder,
    });
  }
}
