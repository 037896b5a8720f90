/**
 * Security (organization host): access control lists and entries. Raw REST: node-api has no
 * Security client (SecurityRolesApi is another API). ACEs are always set with merge: true, which
 * ORs the bits into the existing entry, so bits the principal already has are never cleared.
 */
import { apiUrl, type DevOpsConnection } from './connection';
import { describeDevOpsError, DevOpsRights } from './errors';

export interface Ace {
  descriptor: string;
  allow: number;
  deny: number;
  /** extendedInfo.effectiveAllow/effectiveDeny when the service computed them (inheritance, groups). */
  effectiveAllow?: number;
  effectiveDeny?: number;
}

interface AclBody {
  token?: string;
  inheritPermissions?: boolean;
  acesDictionary?: Record<
    string,
    {
      descriptor?: string;
      allow?: number;
      deny?: number;
      extendedInfo?: { effectiveAllow?: number; effectiveDeny?: number };
    }
  >;
}

/** The ACEs on `token` for the given legacy descriptors (only those that have one). */
export async function readAces(
  c: DevOpsConnection,
  namespaceId: string,
  token: string,
  descriptors: string[],
): Promise<Ace[]> {
  const url = apiUrl(c.areas.core, `_apis/accesscontrollists/${namespaceId}`, {
    token,
    descriptors: descriptors.join(','),
    includeExtendedInfo: true,
    recurse: false,
    'api-version': '7.1',
  });
  let lists: AclBody[];
  try {
    const res = await c.rest('core').get<{ value?: AclBody[] } | AclBody[]>(url);
    lists = Array.isArray(res.result) ? res.result : (res.result?.value ?? []);
  } catch (err) {
    throw describeDevOpsError(err, {
      action: `read the permissions on ${token}`,
      right: DevOpsRights.read,
      holder: c.holder,
    });
  }
  const out: Ace[] = [];
  for (const acl of lists) {
    if (acl.token !== undefined && acl.token.toLowerCase() !== token.toLowerCase()) continue;
    for (const [key, ace] of Object.entries(acl.acesDictionary ?? {})) {
      const descriptor = ace.descriptor ?? key;
      if (!descriptors.some((d) => d.toLowerCase() === descriptor.toLowerCase())) continue;
      out.push({
        descriptor,
        allow: ace.allow ?? 0,
        deny: ace.deny ?? 0,
        ...(ace.extendedInfo?.effectiveAllow !== undefined ? { effectiveAllow: ace.extendedInfo.effectiveAllow } : {}),
        ...(ace.extendedInfo?.effectiveDeny !== undefined ? { effectiveDeny: ace.extendedInfo.effectiveDeny } : {}),
      });
    }
  }
  return out;
}

/** ORs `allow` into the descriptor's ACE on `token` (merge: true; deny untouched). Returns the merged ACE. */
export async function mergeAllow(
  c: DevOpsConnection,
  namespaceId: string,
  token: string,
  descriptor: string,
  allow: number,
  principal?: string,
): Promise<Ace | undefined> {
  const url = apiUrl(c.areas.core, `_apis/accesscontrolentries/${namespaceId}`, { 'api-version': '7.1' });
  const body = { token, merge: true, accessControlEntries: [{ descriptor, allow, deny: 0, extendedInfo: {} }] };
  try {
    const res = await c
      .rest('core')
      .create<{ value?: { descriptor?: string; allow?: number; deny?: number }[] }>(url, body);
    const ace = res.result?.value?.[0];
    return ace ? { descriptor: ace.descriptor ?? descriptor, allow: ace.allow ?? 0, deny: ace.deny ?? 0 } : undefined;
  } catch (err) {
    throw describeDevOpsError(err, {
      action: `grant permissions on ${token}`,
      principal,
      right: DevOpsRights.managePermissions,
      holder: c.holder,
    });
  }
}
