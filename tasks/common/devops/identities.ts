/**
 * Identities (IMS) on the vssps host: the legacy descriptors that ACEs are keyed by, and the
 * lookup of a service principal by its Entra object id. Raw REST: the SDK has no client for it.
 */
import { apiUrl, type DevOpsConnection } from './connection';
import { describeDevOpsError } from './errors';

export interface DevOpsIdentity {
  /** The storage key (identity id). */
  id: string;
  /** Legacy descriptor (what ACLs use), e.g. Microsoft.TeamFoundation.Identity;S-1-9-… */
  descriptor: string;
  /** Graph subject descriptor, e.g. aadsp.… / vssgp.… */
  subjectDescriptor: string | undefined;
  displayName: string | undefined;
  isActive: boolean;
}

interface ImsIdentity {
  id?: string;
  descriptor?: string | { identityType?: string; identifier?: string };
  subjectDescriptor?: string;
  providerDisplayName?: string;
  customDisplayName?: string;
  isActive?: boolean;
}

/** The legacy descriptor of an Entra service principal (a managed identity is one) in an organization. */
export function servicePrincipalDescriptor(tenantId: string, objectId: string): string {
  return `Microsoft.VisualStudio.Services.Claims.AadServicePrincipal;${tenantId}\\${objectId}`;
}

function descriptorText(d: ImsIdentity['descriptor']): string {
  if (typeof d === 'string') return d;
  if (d && d.identityType && d.identifier) return `${d.identityType};${d.identifier}`;
  return '';
}

function toIdentity(i: ImsIdentity | null | undefined): DevOpsIdentity | undefined {
  if (!i || !i.id) return undefined;
  return {
    id: i.id,
    descriptor: descriptorText(i.descriptor),
    subjectDescriptor: i.subjectDescriptor,
    displayName: i.customDisplayName ?? i.providerDisplayName,
    isActive: i.isActive !== false,
  };
}

/**
 * Identity reads already answered in this run, per connection: an identity's id and descriptors
 * do not change, so an answer in which every identity was found and active is reused. Anything
 * else (not found yet, inactive until its licence is added) is read again.
 */
const answered = new WeakMap<DevOpsConnection, Map<string, (DevOpsIdentity | undefined)[]>>();

async function read(
  c: DevOpsConnection,
  query: Record<string, string>,
  what: string,
): Promise<(DevOpsIdentity | undefined)[]> {
  const url = apiUrl(c.areas.identities, '_apis/identities', {
    ...query,
    queryMembership: 'None',
    'api-version': '7.1',
  });
  let cache = answered.get(c);
  if (!cache) answered.set(c, (cache = new Map()));
  const known = cache.get(url.toLowerCase());
  if (known) return known;
  const found = await fetchIdentities(c, url, what);
  if (found.length > 0 && found.every((i) => i?.isActive)) cache.set(url.toLowerCase(), found);
  return found;
}

async function fetchIdentities(
  c: DevOpsConnection,
  url: string,
  what: string,
): Promise<(DevOpsIdentity | undefined)[]> {
  try {
    const res = await c.rest('identities').get<{ value?: (ImsIdentity | null)[] } | (ImsIdentity | null)[]>(url);
    const list = Array.isArray(res.result) ? res.result : (res.result?.value ?? []);
    return list.map(toIdentity);
  } catch (err) {
    throw describeDevOpsError(err, { action: `read ${what} from the identity service`, holder: c.holder });
  }
}

/** Identities by legacy descriptor, in order; undefined where the organization has none. */
export async function identitiesByDescriptors(
  c: DevOpsConnection,
  descriptors: string[],
): Promise<(DevOpsIdentity | undefined)[]> {
  const found = await read(c, { descriptors: descriptors.join(',') }, 'identities');
  return descriptors.map((d) => found.find((f) => f && f.descriptor.toLowerCase() === d.toLowerCase()));
}

/** Identities by Graph subject descriptor (aadsp.…, vssgp.…), in order; undefined where none. */
export async function identitiesBySubjectDescriptors(
  c: DevOpsConnection,
  subjects: string[],
): Promise<(DevOpsIdentity | undefined)[]> {
  if (subjects.length === 0) return [];
  const found = await read(c, { subjectDescriptors: subjects.join(',') }, 'identities by subject descriptor');
  return subjects.map((s) => found.find((f) => f?.subjectDescriptor?.toLowerCase() === s.toLowerCase()));
}

/** Identities by id (storage key), in order; undefined where none. */
export async function identitiesByIds(c: DevOpsConnection, ids: string[]): Promise<(DevOpsIdentity | undefined)[]> {
  const found = await read(c, { identityIds: ids.join(',') }, 'identities');
  return ids.map((id) => found.find((f) => f && f.id.toLowerCase() === id.toLowerCase()));
}

/** The organization's identity for an Entra service principal (by tenant and object id), if it was added. */
export async function findServicePrincipal(
  c: DevOpsConnection,
  tenantId: string,
  objectId: string,
): Promise<DevOpsIdentity | undefined> {
  const [found] = await identitiesByDescriptors(c, [servicePrincipalDescriptor(tenantId, objectId)]);
  return found;
}
