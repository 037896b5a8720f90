/**
 * Security (organization host, _apis/accesscontrollists and _apis/accesscontrolentries), the one
 * module for ACLs: the Git Repositories namespace bit math (pure: the permissions the
 * `permissions` input names, what is missing from an ACE, what an explicit deny blocks, what is
 * more than Flux needs), the ACEs of given descriptors, whole lists along a token chain, and the
 * merge grant. Raw REST: node-api has no Security client (SecurityRolesApi is another API). ACEs
 * are always set with merge: true, which ORs the bits into the existing entry, so bits the
 * principal already has are never cleared.
 */
import { apiUrl, type DevOpsConnection } from './connection';
import { describeDevOpsError, DevOpsRights } from './errors';

export const GIT_REPOSITORIES_NAMESPACE = '2e9eb7ed-3c0a-47d4-87c1-0ffdd275fd87';

export const GitPermission = {
  Administer: 1,
  GenericRead: 2,
  GenericContribute: 4,
  ForcePush: 8,
  CreateBranch: 16,
  CreateTag: 32,
  ManageNote: 64,
  PolicyExempt: 128,
  CreateRepository: 256,
  DeleteRepository: 512,
  RenameRepository: 1024,
  EditPolicies: 2048,
  RemoveOthersLocks: 4096,
  ManagePermissions: 8192,
  PullRequestContribute: 16384,
  PullRequestBypassPolicy: 32768,
  ViewAdvSecAlerts: 65536,
  DismissAdvSecAlerts: 131072,
  ManageAdvSecScanning: 262144,
} as const;

/** UI names, for messages. */
const DISPLAY: Record<string, string> = {
  Administer: 'Administer',
  GenericRead: 'Read',
  GenericContribute: 'Contribute',
  ForcePush: 'Force push',
  CreateBranch: 'Create branch',
  CreateTag: 'Create tag',
  ManageNote: 'Manage notes',
  PolicyExempt: 'Bypass policies when pushing',
  CreateRepository: 'Create repository',
  DeleteRepository: 'Delete or disable repository',
  RenameRepository: 'Rename repository',
  EditPolicies: 'Edit policies',
  RemoveOthersLocks: "Remove others' locks",
  ManagePermissions: 'Manage permissions',
  PullRequestContribute: 'Contribute to pull requests',
  PullRequestBypassPolicy: 'Bypass policies when completing pull requests',
  ViewAdvSecAlerts: 'Advanced Security: view alerts',
  DismissAdvSecAlerts: 'Advanced Security: manage and dismiss alerts',
  ManageAdvSecScanning: 'Advanced Security: manage settings',
};

/** The values the `permissions` input accepts, and their bits. */
export const PERMISSION_INPUTS: Record<string, number> = {
  read: GitPermission.GenericRead,
  contribute: GitPermission.GenericContribute,
  createbranch: GitPermission.CreateBranch,
};

/**
 * Bits that are harmless beyond what was asked (day-to-day work on a repo): holding them raises
 * no warning. Everything else a principal holds beyond the request does (ForcePush,
 * ManagePermissions, Administer, bypassing policies, deleting the repository...).
 */
export const HARMLESS_EXTRA =
  GitPermission.CreateBranch |
  GitPermission.CreateTag |
  GitPermission.ManageNote |
  GitPermission.PullRequestContribute |
  GitPermission.ViewAdvSecAlerts;

export function repoToken(projectId: string, repositoryId: string): string {
  return `repoV2/${projectId}/${repositoryId}`;
}

/** Names of the bits set in a mask, in bit order (UI names). */
export function permissionNames(mask: number): string[] {
  return Object.entries(GitPermission)
    .filter(([, bit]) => (mask & bit) !== 0)
    .map(([name]) => DISPLAY[name] ?? name);
}

/** Bits for the `permissions` input values; an error text naming unknown values. */
export function parsePermissions(values: string[]): { bits: number } | { error: string } {
  let bits = 0;
  const unknown: string[] = [];
  for (const v of values) {
    const bit = PERMISSION_INPUTS[v.toLowerCase().replace(/[\s_-]/g, '')];
    if (bit === undefined) unknown.push(v);
    else bits |= bit;
  }
  if (unknown.length > 0)
    return {
      error: `unknown permission ${unknown.map((u) => `'${u}'`).join(', ')}; use read, contribute (and createBranch)`,
    };
  if ((bits & GitPermission.GenericRead) === 0) return { error: "Flux cannot clone without 'read'; include read" };
  return { bits };
}

export interface AcePlan {
  /** Bits to add with a merge ACE (0: nothing to write). */
  missing: number;
  /** Wanted bits the ACE explicitly denies (a merge allow does not lift a deny). */
  denied: number;
  /** Bits held beyond the request that deserve a warning. */
  excess: number;
}

/** What to do with a principal's ACE: add the missing bits, never clear any. */
export function planAce(current: { allow: number; deny: number } | undefined, wanted: number): AcePlan {
  const allow = current?.allow ?? 0;
  const deny = current?.deny ?? 0;
  return {
    missing: wanted & ~allow,
    denied: wanted & deny,
    excess: allow & ~wanted & ~HARMLESS_EXTRA,
  };
}

/** Bits held (allowed, effectively or directly) beyond the request that deserve a warning. */
export function excessBits(held: number, wanted: number): number {
  return held & ~wanted & ~HARMLESS_EXTRA;
}

/** One access control entry; effective bits only where the read asked for extended info. */
export interface Ace {
  descriptor: string;
  allow: number;
  deny: number;
  /** extendedInfo.effectiveAllow/effectiveDeny when the service computed them (inheritance, groups). */
  effectiveAllow?: number;
  effectiveDeny?: number;
}

/** A whole access control list of one token. */
export interface AccessControlList {
  token: string;
  inheritPermissions: boolean;
  aces: Ace[];
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

/** GET accesscontrollists for one token: the lists whose token is `token` (case-insensitive). */
async function getLists(
  c: DevOpsConnection,
  namespaceId: string,
  token: string,
  query: Record<string, string | boolean>,
): Promise<AclBody[]> {
  const url = apiUrl(c.areas.core, `_apis/accesscontrollists/${namespaceId}`, {
    token,
    ...query,
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
  return lists.filter((acl) => acl.token === undefined || acl.token.toLowerCase() === token.toLowerCase());
}

/** The ACEs on `token` for the given legacy descriptors (only those that have one). */
export async function readAces(
  c: DevOpsConnection,
  namespaceId: string,
  token: string,
  descriptors: string[],
): Promise<Ace[]> {
  const lists = await getLists(c, namespaceId, token, {
    descriptors: descriptors.join(','),
    includeExtendedInfo: true,
  });
  const out: Ace[] = [];
  for (const acl of lists) {
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

/**
 * All ACEs of each token (no descriptor filter), with their inheritance flag: for evaluating
 * effective rights over groups along a token chain. The tokens are read in parallel.
 */
export async function readAcls(
  c: DevOpsConnection,
  namespaceId: string,
  tokens: string[],
): Promise<AccessControlList[]> {
  const per = await Promise.all(
    tokens.map(async (token) =>
      (await getLists(c, namespaceId, token, { includeExtendedInfo: false })).map((acl) => ({
        token,
        inheritPermissions: acl.inheritPermissions !== false,
        aces: Object.entries(acl.acesDictionary ?? {}).map(([k, a]) => ({
          descriptor: a.descriptor ?? k,
          allow: a.allow ?? 0,
          deny: a.deny ?? 0,
        })),
      })),
    ),
  );
  return per.flat();
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
