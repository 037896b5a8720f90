/**
 * Whole access control lists (every ACE, with the inheritance flag) along a token chain, for
 * evaluating effective rights over groups. security.ts reads the ACEs of given descriptors only.
 */
import { apiUrl, type DevOpsConnection } from './connection';
import { describeDevOpsError, DevOpsRights } from './errors';

export interface AccessControlEntry {
  descriptor: string;
  allow: number;
  deny: number;
}
export interface AccessControlList {
  token: string;
  inheritPermissions: boolean;
  aces: AccessControlEntry[];
}

/** All ACEs of each token (no descriptor filter), with their inheritance flag. */
export async function readAcls(
  c: DevOpsConnection,
  namespaceId: string,
  tokens: string[],
): Promise<AccessControlList[]> {
  const out: AccessControlList[] = [];
  for (const token of tokens) {
    const url = apiUrl(c.areas.core, `_apis/accesscontrollists/${namespaceId}`, {
      token,
      includeExtendedInfo: false,
      recurse: false,
      'api-version': '7.1',
    });
    type Acl = {
      token?: string;
      inheritPermissions?: boolean;
      acesDictionary?: Record<string, { descriptor?: string; allow?: number; deny?: number }>;
    };
    try {
      const res = await c.rest('core').get<{ value?: Acl[] } | Acl[]>(url);
      const lists = Array.isArray(res.result) ? res.result : (res.result?.value ?? []);
      for (const acl of lists) {
        if (acl.token !== undefined && acl.token.toLowerCase() !== token.toLowerCase()) continue;
        out.push({
          token,
          inheritPermissions: acl.inheritPermissions !== false,
          aces: Object.entries(acl.acesDictionary ?? {}).map(([k, a]) => ({
            descriptor: a.descriptor ?? k,
            allow: a.allow ?? 0,
            deny: a.deny ?? 0,
          })),
        });
      }
    } catch (err) {
      throw describeDevOpsError(err, {
        action: `read the permissions on ${token}`,
        right: DevOpsRights.read,
        holder: c.holder,
      });
    }
  }
  return out;
}
