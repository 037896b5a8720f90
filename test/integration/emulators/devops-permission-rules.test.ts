/**
 * The emulated security service's evaluation against Microsoft's documented examples
 * (about-permissions.md, "Permission inheritance and security groups"; Security REST 7.1
 * AccessControlList and AceExtendedInformation). Each case quotes the rule it checks.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { evaluate, holds, type EvaluationAcl } from '../../emulators/devops/permission-evaluation';

const READ = 2;
const CONTRIBUTE = 4;
const user = 'user';
const groupA = 'group-a';
const groupB = 'group-b';
const stranger = 'someone-else';

function run(acls: EvaluationAcl[], path: string[], who: string[]) {
  return evaluate(path, (t) => acls.find((a) => a.token === t), new Set(who));
}
const acl = (token: string, aces: EvaluationAcl['aces'], inheritPermissions = true): EvaluationAcl => ({
  token,
  inheritPermissions,
  aces,
});

describe('emulated Azure DevOps: permission evaluation as documented', () => {
  it('"allowed ... through membership in a group ... and denied ... through group membership: the permission is denied"', () => {
    const acls = [
      acl('area-1', [
        { descriptor: groupA, allow: CONTRIBUTE | READ, deny: 0 },
        { descriptor: groupB, allow: 0, deny: CONTRIBUTE },
      ]),
    ];
    const e = run(acls, ['area-1'], [user, groupA, groupB]);
    assert.equal(e.effectiveAllow, READ);
    assert.equal(e.effectiveDeny, CONTRIBUTE);
    assert.equal(holds(e, CONTRIBUTE, false), false);
    // ...even when the user is allowed directly.
    acls[0]!.aces.push({ descriptor: user, allow: CONTRIBUTE, deny: 0 });
    assert.equal(holds(run(acls, ['area-1'], [user, groupA, groupB]), CONTRIBUTE, false), false);
  });

  it('"Users inherit permissions from the groups to which they belong"; entries of other identities do not count', () => {
    const acls = [
      acl('area-1', [
        { descriptor: groupA, allow: READ, deny: 0 },
        { descriptor: stranger, allow: CONTRIBUTE, deny: 0 },
      ]),
    ];
    const e = run(acls, ['area-1'], [user, groupA]);
    assert.equal(e.effectiveAllow, READ);
    assert.equal(run(acls, ['area-1'], [user]).effectiveAllow, 0, 'not in the group: nothing');
  });

  it('"inherited by area-1/sub-area-1, if the same permission is not explicitly allowed or denied" there', () => {
    const acls = [acl('area-1', [{ descriptor: user, allow: READ, deny: CONTRIBUTE }])];
    const e = run(acls, ['area-1/sub-area-1', 'area-1'], [user]);
    assert.equal(e.effectiveAllow, READ);
    assert.equal(e.effectiveDeny, CONTRIBUTE);
    assert.equal(e.inheritedAllow, READ);
    assert.equal(e.inheritedDeny, CONTRIBUTE);
  });

  it('"specificity trumps inheritance": Deny on area-1, Allow on area-1/sub-area-1 -> Allow on the sub-area', () => {
    const acls = [
      acl('area-1', [{ descriptor: user, allow: 0, deny: CONTRIBUTE }]),
      acl('area-1/sub-area-1', [{ descriptor: user, allow: CONTRIBUTE, deny: 0 }]),
    ];
    const e = run(acls, ['area-1/sub-area-1', 'area-1'], [user]);
    assert.equal(e.effectiveAllow, CONTRIBUTE);
    assert.equal(e.effectiveDeny, 0);
    // "not included here": a bit set on the token itself is left out of the inherited bits.
    assert.equal(e.inheritedDeny, 0);
    assert.equal(run(acls, ['area-1'], [user]).effectiveDeny, CONTRIBUTE, 'the parent itself still denies');
  });

  it('"inherited from the closest ancestor that has the permission explicitly set", bit by bit', () => {
    const acls = [
      acl('root', [{ descriptor: groupA, allow: READ | CONTRIBUTE, deny: 0 }]),
      acl('root/project', [{ descriptor: groupA, allow: 0, deny: CONTRIBUTE }]),
      acl('root/project/repo', [{ descriptor: stranger, allow: READ, deny: 0 }]),
    ];
    const e = run(acls, ['root/project/repo', 'root/project', 'root'], [user, groupA]);
    assert.equal(e.effectiveAllow, READ, 'Read comes from the root');
    assert.equal(e.effectiveDeny, CONTRIBUTE, 'Contribute is denied by the closer project node');
  });

  it('inheritPermissions false: the ACL takes nothing from its parent, and reports nothing inherited', () => {
    const acls = [
      acl('area-1', [{ descriptor: user, allow: READ | CONTRIBUTE, deny: 0 }]),
      acl('area-1/private', [{ descriptor: user, allow: READ, deny: 0 }], false),
    ];
    const e = run(acls, ['area-1/private', 'area-1'], [user]);
    assert.equal(e.effectiveAllow, READ);
    assert.equal(e.inheritedAllow, 0);
  });

  it('"Not set implicitly denies"; Project Collection Administrators pass only when the caller asks for it', () => {
    const e = run([], ['area-1'], [user]);
    assert.deepEqual(e, { effectiveAllow: 0, effectiveDeny: 0, inheritedAllow: 0, inheritedDeny: 0 });
    assert.equal(holds(e, READ, false), false);
    assert.equal(holds(e, READ, true), true);
  });

  it('every bit of a mask must be held', () => {
    const e = run([acl('t', [{ descriptor: user, allow: READ, deny: 0 }])], ['t'], [user]);
    assert.equal(holds(e, READ, false), true);
    assert.equal(holds(e, READ | CONTRIBUTE, false), false);
  });
});
