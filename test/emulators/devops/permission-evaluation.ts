/**
 * How Azure DevOps decides whether an identity holds a permission, written from Microsoft's own
 * words and nothing else (the product reads the service's answers; it never shares this code):
 *
 * - "About permissions and inheritance", docs/organizations/security/about-permissions.md
 *   (MicrosoftDocs/azure-devops-docs), section "Permission inheritance and security groups":
 *   R1 "Users inherit permissions from the groups to which they belong. When a permission is allowed
 *      for a user directly or through membership in a group that has that permission, and it is
 *      denied, either directly or through group membership, the permission is denied."
 *   R2 "Members of Project Collection Administrators ... retain most allowed permissions, even if they
 *      belong to other groups that deny those permissions" (the caller opts in with
 *      alwaysAllowAdministrators on the evaluation APIs).
 *   R3 "a user's permissions that are set at area-1 are inherited by area-1/sub-area-1, if the same
 *      permission is not explicitly allowed or denied for area-1/sub-area-1. If a permission is set
 *      explicitly for an object ... then the parent node is not inherited, regardless of whether it is
 *      denied or allowed. If it's not set, then the permissions for that node are inherited from the
 *      closest ancestor that has the permission explicitly set." ("specificity trumps inheritance")
 *   R4 "Not set implicitly denies users the ability to perform tasks that require that permission."
 * - Security REST 7.1, AccessControlList.inheritPermissions: "True if this ACL holds ACEs that have
 *   been inherited from its parent" — an ACL with false takes nothing from its ancestors.
 * - Security REST 7.1, AceExtendedInformation: effectiveAllow/Deny are "the combination of all of the
 *   explicit and inherited permissions for this identity on this token"; inheritedAllow/Deny leave
 *   out "any permissions that have been explicitly set on this token for this identity, or any
 *   groups that this identity is a part of", and are 0 when the token does not inherit.
 *
 * The evaluation is done one permission bit at a time, as the rules are stated.
 */

/** One ACL as the evaluation needs it: the token, whether it inherits, and the entries on it. */
export interface EvaluationAcl {
  token: string;
  inheritPermissions: boolean;
  aces: { descriptor: string; allow: number; deny: number }[];
}

export type BitState = 'allow' | 'deny' | 'notSet';

/**
 * The state of one bit at one node for a set of identities (the identity and its groups): R1 —
 * any deny there denies, else any allow allows, else the node says nothing about the bit.
 */
function stateAt(acl: EvaluationAcl | undefined, who: ReadonlySet<string>, bit: number): BitState {
  if (!acl) return 'notSet';
  let allowed = false;
  for (const ace of acl.aces) {
    if (!who.has(ace.descriptor.toLowerCase())) continue;
    if (ace.deny & bit) return 'deny';
    if (ace.allow & bit) allowed = true;
  }
  return allowed ? 'allow' : 'notSet';
}

/**
 * R3: walk from the node to the root; the closest node where the bit is explicitly set decides.
 * `path` is the node and its ancestors, closest first; `aclOf` finds a node's ACL.
 */
function decide(
  path: readonly string[],
  aclOf: (token: string) => EvaluationAcl | undefined,
  who: ReadonlySet<string>,
  bit: number,
): BitState {
  for (const token of path) {
    const acl = aclOf(token);
    const state = stateAt(acl, who, bit);
    if (state !== 'notSet') return state;
    if (acl && !acl.inheritPermissions) return 'notSet';
  }
  return 'notSet';
}

const BITS = Array.from({ length: 31 }, (_, i) => 2 ** i);

export interface Evaluation {
  /** bits that resolve to allow at this token (R1 + R3) */
  effectiveAllow: number;
  /** bits that resolve to deny at this token */
  effectiveDeny: number;
  /** what the token's ancestors give, ignoring what is set on the token itself (0 when it does not inherit) */
  inheritedAllow: number;
  inheritedDeny: number;
}

/** Every bit of one token for a set of identities (lower-cased descriptors of the identity and its groups). */
export function evaluate(
  path: readonly string[],
  aclOf: (token: string) => EvaluationAcl | undefined,
  who: ReadonlySet<string>,
): Evaluation {
  const out: Evaluation = { effectiveAllow: 0, effectiveDeny: 0, inheritedAllow: 0, inheritedDeny: 0 };
  const [node, ...ancestors] = path;
  const own = node === undefined ? undefined : aclOf(node);
  const inherits = own ? own.inheritPermissions : true;
  for (const bit of BITS) {
    const effective = decide(path, aclOf, who, bit);
    if (effective === 'allow') out.effectiveAllow |= bit;
    if (effective === 'deny') out.effectiveDeny |= bit;
    // Inherited: nothing when the token does not inherit, or when the bit is set on the token itself.
    if (!inherits || stateAt(own, who, bit) !== 'notSet') continue;
    const inherited = decide(ancestors, aclOf, who, bit);
    if (inherited === 'allow') out.inheritedAllow |= bit;
    if (inherited === 'deny') out.inheritedDeny |= bit;
  }
  return out;
}

/** R4 + R2: does the identity hold every bit of `permissions`? */
export function holds(evaluation: Evaluation, permissions: number, administratorBypass: boolean): boolean {
  if (administratorBypass) return true;
  return BITS.every((bit) => !(permissions & bit) || (evaluation.effectiveAllow & bit) !== 0);
}
