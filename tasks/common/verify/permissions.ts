/**
 * The effective Git permission of an identity, evaluated over the ACEs of the identity and its
 * groups along the token hierarchy (`repoV2/{project}/{repo}` -> `repoV2/{project}` -> `repoV2`).
 * Used when Azure DevOps returns no extendedInfo.effectiveAllow for the identity itself (the usual
 * case: the rights come through a team). Bit names and the least-privilege rule come from
 * devops/acl.ts so that Provision and Verify agree on what "too much" is.
 */
import { excessBits, GitPermission, repoToken } from '../devops/acl';
import type { AccessControlList } from '../devops/acls';

/** The tokens whose ACLs apply to a repository, most specific first. */
export function tokenChain(projectId: string, repoId: string): string[] {
  return [repoToken(projectId, repoId), `repoV2/${projectId}`, 'repoV2'];
}

/** The ACLs as devops/acls.ts reads them. */
export type AclFacts = AccessControlList;

/**
 * Effective allow/deny for the union of `descriptors` (identity + all its groups): per bit, the
 * most specific token that says anything decides; at one level a deny beats an allow; a level
 * with inheritPermissions=false stops the walk.
 */
export function evaluateEffective(
  acls: AclFacts[],
  chain: string[],
  descriptors: string[],
): { allow: number; deny: number } {
  const who = new Set(descriptors.map((d) => d.toLowerCase()));
  let allow = 0;
  let deny = 0;
  let decided = 0;
  for (const token of chain) {
    const acl = acls.find((a) => a.token.toLowerCase() === token.toLowerCase());
    if (!acl) continue;
    let levelAllow = 0;
    let levelDeny = 0;
    for (const ace of acl.aces) {
      if (!who.has(ace.descriptor.toLowerCase())) continue;
      levelAllow |= ace.allow;
      levelDeny |= ace.deny;
    }
    const newDeny = levelDeny & ~decided;
    deny |= newDeny;
    decided |= newDeny;
    const newAllow = levelAllow & ~decided;
    allow |= newAllow;
    decided |= newAllow;
    if (!acl.inheritPermissions) break;
  }
  return { allow, deny };
}

/** What FluxOidcProvision grants: the yardstick for "more than Flux needs". */
export const GRANTED_BITS = GitPermission.GenericRead | GitPermission.GenericContribute;

/** Bits held beyond Read + Contribute that deserve a warning (harmless day-to-day bits excluded). */
export function excessRights(effectiveAllow: number): number {
  return excessBits(effectiveAllow, GRANTED_BITS);
}
