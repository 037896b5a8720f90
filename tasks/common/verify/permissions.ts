/**
 * Least privilege: which of the effective bits the service reports go beyond what Flux needs.
 * (Effective bits are the service's answer, never evaluated here.) Bit names and the rule come
 * from devops/acl.ts so that Provision and Verify agree on what "too much" is.
 */
import { excessBits, GitPermission } from '../devops/security';

/** What FluxOidcProvision grants: the yardstick for "more than Flux needs". */
export const GRANTED_BITS = GitPermission.GenericRead | GitPermission.GenericContribute;

/** Bits held beyond Read + Contribute that deserve a warning (harmless day-to-day bits excluded). */
export function excessRights(effectiveAllow: number): number {
  return excessBits(effectiveAllow, GRANTED_BITS);
}
