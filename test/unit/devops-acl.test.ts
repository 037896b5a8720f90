import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  excessBits,
  GitPermission,
  parsePermissions,
  permissionNames,
  planAce,
  repoToken,
} from '../../tasks/common/devops/security';
import { licenceSatisfies } from '../../tasks/common/devops/entitlements';
import { servicePrincipalDescriptor } from '../../tasks/common/devops/identities';

const READ = GitPermission.GenericRead;
const CONTRIBUTE = GitPermission.GenericContribute;

describe('permissions input', () => {
  it('maps read and contribute to their bits', () => {
    assert.deepEqual(parsePermissions(['read', 'contribute']), { bits: READ | CONTRIBUTE });
    assert.deepEqual(parsePermissions(['Read', 'create-branch']), { bits: READ | GitPermission.CreateBranch });
  });

  it('refuses unknown values and a set without read', () => {
    const unknown = parsePermissions(['read', 'forcepush']);
    assert.ok('error' in unknown && /'forcepush'/.test(unknown.error));
    const noRead = parsePermissions(['contribute']);
    assert.ok('error' in noRead && /include read/.test(noRead.error));
  });
});

describe('planAce', () => {
  it('adds only the missing bits and never clears any', () => {
    const p = planAce({ allow: READ | GitPermission.CreateTag, deny: 0 }, READ | CONTRIBUTE);
    assert.equal(p.missing, CONTRIBUTE);
    assert.equal(p.denied, 0);
    assert.equal(p.excess, 0, 'Create tag is harmless');
  });

  it('has nothing to do when the team holds everything', () => {
    assert.equal(
      planAce({ allow: READ | CONTRIBUTE | GitPermission.CreateBranch, deny: 0 }, READ | CONTRIBUTE).missing,
      0,
    );
  });

  it('needs everything when there is no ACE', () => {
    assert.equal(planAce(undefined, READ | CONTRIBUTE).missing, READ | CONTRIBUTE);
  });

  it('reports an explicit deny on a wanted bit', () => {
    assert.equal(
      planAce({ allow: 0, deny: CONTRIBUTE | GitPermission.ForcePush }, READ | CONTRIBUTE).denied,
      CONTRIBUTE,
    );
  });

  it('flags risky extras and contribute when only read was asked', () => {
    const held =
      READ |
      CONTRIBUTE |
      GitPermission.ForcePush |
      GitPermission.ManagePermissions |
      GitPermission.PullRequestContribute;
    assert.deepEqual(permissionNames(excessBits(held, READ)), ['Contribute', 'Force push', 'Manage permissions']);
    assert.deepEqual(permissionNames(excessBits(held, READ | CONTRIBUTE)), ['Force push', 'Manage permissions']);
  });
});

describe('names and tokens', () => {
  it('builds the repository token and the service principal descriptor', () => {
    assert.equal(repoToken('p', 'r'), 'repoV2/p/r');
    assert.equal(
      servicePrincipalDescriptor('t', 'o'),
      'Microsoft.VisualStudio.Services.Claims.AadServicePrincipal;t\\o',
    );
  });

  it('treats Stakeholder as not enough for Git and higher levels as enough', () => {
    assert.equal(licenceSatisfies('stakeholder', 'express'), false);
    assert.equal(licenceSatisfies(undefined, 'express'), false);
    assert.equal(licenceSatisfies('express', 'express'), true);
    assert.equal(licenceSatisfies('advanced', 'express'), true);
    assert.equal(licenceSatisfies('express', 'advanced'), false);
  });
});
