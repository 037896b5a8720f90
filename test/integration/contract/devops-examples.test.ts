/**
 * Contract: every official Azure DevOps example in test/fixtures/api-examples/ado that is a request
 * or response of an emulated route is replayed against the devops emulator: the example's request
 * (method, body, api-version) is sent with this organization's ids, and the answer must have the
 * example's status and shape (every field of the example present, same JSON types; each array element
 * against the fields all example elements share; dictionaries keyed by ids compared by value).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { httpsRequest, type HttpsResult } from '../../emulators/core/context';
import { FRESH } from '../../emulators/names';
import { GROUP_IDS, ORG_OWNER, SC_PRINCIPAL_STORAGE_KEY } from '../../emulators/devops/ids';
import { groupView, identityById } from '../../emulators/devops/identity';
import { startDevOpsTestbed, type DevOpsTestbed } from '../../emulators/devops/testing';

const DIR = path.join(import.meta.dirname, '..', '..', 'fixtures', 'api-examples', 'ado');
const ZERO = '0000000000000000000000000000000000000000';
const TEMP_REPO = 'a3f6c8e1-4b2d-4e9a-9c7f-1d2e3f4a5b6c';
const OTHER_APP = { objectId: '7c1e5a9b-3d2f-4a6e-8b0c-9f8e7d6c5b4a', appId: '2b9d4f6a-8c1e-4d3b-a5f7-6e0c9b8a7d21' };

type Json = unknown;
interface Example {
  parameters?: Record<string, unknown>;
  responses: Record<string, { body?: Json }>;
}

function example(file: string): Example {
  return JSON.parse(fs.readFileSync(path.join(DIR, file), 'utf8')) as Example;
}

/** Fields of `expected` missing from `actual` or of another JSON type. */
function shapeProblems(actual: Json, expected: Json, at: string, maps: string[]): string[] {
  if (expected === null || expected === undefined) return [];
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual)) return [`${at}: expected an array, got ${JSON.stringify(actual)?.slice(0, 80)}`];
    if (expected.length === 0) return [];
    if (actual.length === 0) return [`${at}: expected a non-empty array`];
    // Each element against what every example element has (optional fields vary between them).
    const first = expected[0];
    const common =
      first && typeof first === 'object' && !Array.isArray(first)
        ? Object.fromEntries(
            Object.entries(first)
              .filter(([k]) => expected.every((e) => e && typeof e === 'object' && k in e))
              .map(([k, v]) => [k, expected.some((e) => (e as Record<string, Json>)[k] === null) ? null : v]),
          )
        : first;
    return actual.flatMap((a, i) => shapeProblems(a, common, `${at}[${i}]`, maps));
  }
  if (typeof expected === 'object') {
    if (typeof actual !== 'object' || actual === null || Array.isArray(actual))
      return [`${at}: expected an object, got ${JSON.stringify(actual)?.slice(0, 80)}`];
    const a = actual as Record<string, Json>;
    const e = expected as Record<string, Json>;
    if (maps.some((m) => at.replace(/\[\d+\]/g, '[]') === m)) {
      const ev = Object.values(e)[0];
      const av = Object.values(a);
      if (ev !== undefined && av.length === 0) return [`${at}: expected a non-empty dictionary`];
      return ev === undefined ? [] : av.flatMap((v, i) => shapeProblems(v, ev, `${at}{${i}}`, maps));
    }
    const out: string[] = [];
    for (const [k, v] of Object.entries(e)) {
      if (!(k in a)) out.push(`${at}.${k}: missing`);
      else out.push(...shapeProblems(a[k], v, `${at}.${k}`, maps));
    }
    return out;
  }
  return typeof actual === typeof expected ? [] : [`${at}: expected ${typeof expected}, got ${JSON.stringify(actual)}`];
}

describe('Azure DevOps official examples replayed against the emulator', () => {
  let tb: DevOpsTestbed;
  let token: string;
  const d = {} as Record<string, string>;

  before(async () => {
    tb = await startDevOpsTestbed({
      scenario: 'fresh',
      mutate: (s) =>
        s.projects[0]!.repositories.push({ id: TEMP_REPO, name: 'tempRepo', defaultBranch: 'master', seed: [] }),
    });
    tb.directory.set(OTHER_APP.objectId, {
      tenantId: FRESH.tenantId,
      objectId: OTHER_APP.objectId,
      appId: OTHER_APP.appId,
      displayName: 'Service principal',
      kind: 'application',
    });
    token = tb.entraToken(FRESH.serviceConnectionObjectId);
    const s = tb.ctx.state.devops;
    const view = (id: string) => identityById(s, id)!;
    d.owner = view(ORG_OWNER.storageKey).subjectDescriptor;
    d.ownerLegacy = view(ORG_OWNER.storageKey).legacyDescriptor;
    d.sc = view(SC_PRINCIPAL_STORAGE_KEY).subjectDescriptor;
    d.scLegacy = view(SC_PRINCIPAL_STORAGE_KEY).legacyDescriptor;
    d.team = view(GROUP_IDS.defaultTeam).subjectDescriptor;
    d.contributors = view(GROUP_IDS.contributors).subjectDescriptor;
    const pcvu = s.groups.find((g) => g.kind === 'collectionValidUsers')!;
    d.pcvu = groupView(s, pcvu).subjectDescriptor;
    d.pcvuLegacy = groupView(s, pcvu).legacyDescriptor;
  });
  after(() => tb?.stop());

  async function call(
    host: 'devops' | 'vssps' | 'vsaex',
    method: string,
    pathAndQuery: string,
    body?: Json,
  ): Promise<HttpsResult> {
    const headers: Record<string, string> = { authorization: `Bearer ${token}`, accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    return httpsRequest(tb.ctx.ca, `${tb.urls[host]}/${FRESH.organization}/${pathAndQuery}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  }

  async function replay(
    file: string,
    host: 'devops' | 'vssps' | 'vsaex',
    method: string,
    pathAndQuery: string,
    body?: Json,
    maps: string[] = [],
  ): Promise<Json> {
    const ex = example(file);
    const [status, resp] = Object.entries(ex.responses)[0]!;
    const res = await call(host, method, pathAndQuery, body);
    const text = res.body.toString('utf8');
    assert.equal(
      res.status,
      Number(status),
      `${file}: ${method} ${pathAndQuery} answered ${res.status}: ${text.slice(0, 400)}`,
    );
    if (resp.body === undefined) return undefined;
    const actual = JSON.parse(text) as Json;
    const problems = shapeProblems(actual, resp.body, '$', maps);
    assert.deepEqual(problems, [], `${file}: response shape differs from the example`);
    return actual;
  }

  const git = `${FRESH.project}/_apis/git/repositories/${FRESH.repositoryId}`;
  const mainTip = async (): Promise<string> => (await tb.service.git.refTip(FRESH.repositoryId, 'refs/heads/main'))!;

  it('core: projects, teams, team members, create team', async () => {
    await replay('core--GET__projects.json', 'devops', 'GET', '_apis/projects?api-version=1.0');
    await replay(
      'core--GET__projects__projectId__teams.json',
      'devops',
      'GET',
      `_apis/projects/${FRESH.projectId}/teams?api-version=2.2`,
    );
    await replay(
      'core--GET__projects__projectId__teams__teamId_.json',
      'devops',
      'GET',
      `_apis/projects/${FRESH.projectId}/teams/${GROUP_IDS.defaultTeam}?api-version=2.2`,
    );
    await replay(
      'core--GET__projects__projectId__teams__teamId__members4.1_.json',
      'devops',
      'GET',
      `_apis/projects/${FRESH.projectId}/teams/${GROUP_IDS.defaultTeam}/members/?api-version=2.2`,
    );
    const ex = example('core--POST__projects__projectId__teams.json');
    const team = (await replay(
      'core--POST__projects__projectId__teams.json',
      'devops',
      'POST',
      `_apis/projects/${FRESH.projectId}/teams?api-version=2.2`,
      ex.parameters!.body,
    )) as { id: string; name: string };
    assert.equal(team.name, 'My new team');
    d.newTeam = identityById(tb.ctx.state.devops, team.id)!.subjectDescriptor;
  });

  it('git: repositories, refs, ref updates', async () => {
    await replay('git--GET__git_repositories.json', 'devops', 'GET', '_apis/git/repositories?api-version=1.0');
    await replay(
      'git--GET__git_repositories__repositoryId_.json',
      'devops',
      'GET',
      `_apis/git/repositories/${FRESH.repositoryId}?api-version=1.0`,
    );
    await replay(
      'git--GET__git_repositories__repositoryId__refs.json',
      'devops',
      'GET',
      `${git}/refs?api-version=5.0-preview.1`,
    );
    await replay(
      'git--GET__git_repositories__repositoryId__refs_heads.json',
      'devops',
      'GET',
      `${git}/refs?filter=heads%2F&api-version=5.0-preview.1`,
    );
    const body = example('git--POST__git_repositories__repositoryId__refs.json').parameters!.body as {
      name: string;
      oldObjectId: string;
      newObjectId: string;
    }[];
    const tip = await mainTip();
    const res = (await replay(
      'git--POST__git_repositories__repositoryId__refs.json',
      'devops',
      'POST',
      `${git}/refs?api-version=5.0-preview.1`,
      body.map((u) => ({ ...u, newObjectId: tip })),
    )) as { value: { success: boolean; updateStatus: string }[] };
    assert.deepEqual(
      res.value.map((v) => [v.success, v.updateStatus]),
      [[true, 'succeeded']],
    );
  });

  it('git: pushes 1, 2, 4, 8, 9 (first commit, add, edit, new branch from a commit, several changes)', async () => {
    const temp = `${FRESH.project}/_apis/git/repositories/${TEMP_REPO}/pushes?api-version=2.0-preview`;
    const tip = async (ref: string): Promise<string> => (await tb.service.git.refTip(TEMP_REPO, ref))!;
    type Push = { refUpdates: { oldObjectId: string }[]; commits: { changes: unknown[] }[] };
    const bodyOf = (file: string): Push => example(file).parameters!.body as Push;
    const withOld = (b: Push, old: string): Push => ({ ...b, refUpdates: [{ ...b.refUpdates[0]!, oldObjectId: old }] });

    await replay(
      'git--POST__git_repositories__tempRepoId__pushes.json',
      'devops',
      'POST',
      temp,
      bodyOf('git--POST__git_repositories__tempRepoId__pushes.json'),
    );
    await replay(
      'git--POST__git_repositories__tempRepoId__pushes2.json',
      'devops',
      'POST',
      temp,
      withOld(bodyOf('git--POST__git_repositories__tempRepoId__pushes2.json'), await tip('refs/heads/master')),
    );
    await replay(
      'git--POST__git_repositories__tempRepoId__pushes4.json',
      'devops',
      'POST',
      temp,
      withOld(bodyOf('git--POST__git_repositories__tempRepoId__pushes4.json'), await tip('refs/heads/master')),
    );
    // Examples 8 and 9 start from a commit that has tasks/content/activetasks.md.
    const prep = await call('devops', 'POST', temp, {
      refUpdates: [{ name: 'refs/heads/master', oldObjectId: await tip('refs/heads/master') }],
      commits: [
        {
          comment: 'Add active tasks',
          changes: [
            {
              changeType: 'add',
              item: { path: '/tasks/content/activetasks.md' },
              newContent: { content: '# My Active Tasks\n', contentType: 'rawtext' },
            },
          ],
        },
      ],
    });
    assert.equal(prep.status, 201, prep.body.toString());
    const base = await tip('refs/heads/master');
    const b8 = (await replay(
      'git--POST__git_repositories__tempRepoId__pushes8.json',
      'devops',
      'POST',
      temp,
      withOld(bodyOf('git--POST__git_repositories__tempRepoId__pushes8.json'), base),
    )) as { refUpdates: { oldObjectId: string }[]; commits: { parents: string[] }[] };
    assert.equal(b8.refUpdates[0]!.oldObjectId, ZERO, 'a new branch reports oldObjectId zeros');
    assert.deepEqual(b8.commits[0]!.parents, [base], 'the new branch starts at the given commit');
    await replay(
      'git--POST__git_repositories__tempRepoId__pushes9.json',
      'devops',
      'POST',
      temp,
      withOld(bodyOf('git--POST__git_repositories__tempRepoId__pushes9.json'), base),
    );
  });

  it('git: create and list pull requests', async () => {
    const ex = example('git--POST__git_repositories__repositoryId__pullRequests.json');
    const body = ex.parameters!.body as Record<string, unknown>;
    const tip = await mainTip();
    for (const name of [body.sourceRefName, body.targetRefName] as string[]) {
      const r = await call('devops', 'POST', `${git}/refs?api-version=7.1`, [
        { name, oldObjectId: ZERO, newObjectId: tip },
      ]);
      assert.equal(r.status, 200, r.body.toString());
    }
    await call('devops', 'POST', `${git}/pushes?api-version=7.1`, {
      refUpdates: [{ name: body.sourceRefName, oldObjectId: tip }],
      commits: [
        {
          comment: 'A new feature',
          changes: [
            {
              changeType: 'add',
              item: { path: '/feature.txt' },
              newContent: { content: 'feature', contentType: 'rawtext' },
            },
          ],
        },
      ],
    });
    await replay(
      'git--POST__git_repositories__repositoryId__pullRequests.json',
      'devops',
      'POST',
      `${git}/pullRequests?api-version=3.0`,
      { ...body, reviewers: [{ id: ORG_OWNER.storageKey }] },
    );
    await replay(
      'git--GET__git_repositories__repositoryId__pullRequests.json',
      'devops',
      'GET',
      `${git}/pullRequests?api-version=3.0`,
    );
  });

  it('graph: descriptors, storage keys, groups, service principals, memberships', async () => {
    await replay(
      'graph--GetDescriptorById.json',
      'vssps',
      'GET',
      `_apis/graph/Descriptors/${ORG_OWNER.storageKey}?api-version=5.0-preview.1`,
    );
    await replay(
      'graph--GetStorageKeyBySubjectDescriptor.json',
      'vssps',
      'GET',
      `_apis/graph/StorageKeys/${d.owner}?api-version=5.0-preview.1`,
    );
    await replay('graph--GetAllGroups.json', 'vssps', 'GET', '_apis/graph/Groups?api-version=5.0-preview.1');
    await replay(
      'graph--GetAllServicePrincipals.json',
      'vssps',
      'GET',
      '_apis/graph/serviceprincipals?api-version=7.1-preview.1',
    );
    await replay(
      'graph--GetServicePrincipal.json',
      'vssps',
      'GET',
      `_apis/graph/servicePrincipals/${d.sc}?api-version=7.1-preview.1`,
    );
    await replay(
      'graph--CreateServicePrincipal.json',
      'vssps',
      'POST',
      '_apis/graph/ServicePrincipals?api-version=7.1-preview.1',
      { originId: OTHER_APP.objectId },
    );
    await replay(
      'graph--CheckMembershipExistenceUser.json',
      'vssps',
      'HEAD',
      `_apis/graph/Memberships/${d.owner}/${d.team}?api-version=5.0-preview.1`,
    );
    await replay(
      'graph--GetMembershipUser.json',
      'vssps',
      'GET',
      `_apis/graph/Memberships/${d.owner}/${d.team}?api-version=5.0-preview.1`,
    );
    assert.ok(d.newTeam, 'the core test created a team');
    await replay(
      'graph--CreateMembershipVSTSGroup.json',
      'vssps',
      'PUT',
      `_apis/graph/Memberships/${d.newTeam}/${d.contributors}?api-version=5.0-preview.1`,
    );
  });

  it('identities: by legacy descriptors and by subject descriptors', async () => {
    const maps = ['$.value[].properties'];
    await replay(
      'ims--SearchByIdentityDescriptors.json',
      'vssps',
      'GET',
      `_apis/Identities?descriptors=${encodeURIComponent(`${d.ownerLegacy},${d.pcvuLegacy}`)}&queryMembership=None&api-version=1.0`,
      undefined,
      maps,
    );
    await replay(
      'ims--SearchBySubjectDescriptors.json',
      'vssps',
      'GET',
      `_apis/Identities?subjectDescriptors=${encodeURIComponent(`${d.owner},${d.pcvu}`)}&queryMembership=None&api-version=1.0`,
      undefined,
      maps,
    );
  });

  it('member entitlements: add a service principal, read it back', async () => {
    const ex = example(
      'memberEntitlementManagement--POST__memberEntitlementManagement_ServicePrincipalEntitlement.json',
    );
    const body = structuredClone(ex.parameters!.body) as {
      projectEntitlements: { projectRef: { id: string } }[];
      servicePrincipal: { originId: string };
    };
    body.projectEntitlements[0]!.projectRef.id = FRESH.projectId;
    body.servicePrincipal.originId = OTHER_APP.objectId;
    const added = (await replay(
      'memberEntitlementManagement--POST__memberEntitlementManagement_ServicePrincipalEntitlement.json',
      'vsaex',
      'POST',
      '_apis/ServicePrincipalEntitlements?api-version=7.1-preview.1',
      body,
    )) as {
      isSuccess: boolean;
      servicePrincipalEntitlement: { id: string; accessLevel: { accountLicenseType: string } };
    };
    assert.equal(added.isSuccess, true);
    assert.equal(added.servicePrincipalEntitlement.accessLevel.accountLicenseType, 'stakeholder');
    await replay(
      'memberEntitlementManagement--GET__memberEntitlementManagement_ServicePrincipalEntitlementById.json',
      'vsaex',
      'GET',
      `_apis/ServicePrincipalEntitlements/${added.servicePrincipalEntitlement.id}?api-version=7.1-preview.1`,
    );
  });

  it('security: namespaces, access control entries (replace and merge), lists, evaluation', async () => {
    const ns = '5a27515b-ccd7-42c9-84f1-54c998f03866';
    await replay(
      'security--GET__securitynamespaces_.json',
      'devops',
      'GET',
      '_apis/securitynamespaces/?api-version=1.0',
    );
    await replay(
      'security--GET__securitynamespaces__securityNamespaceId__.json',
      'devops',
      'GET',
      `_apis/securitynamespaces/${ns}/?api-version=1.0`,
    );

    await replay(
      'security--POST__accesscontrolentries__securityNamespaceId__.json',
      'devops',
      'POST',
      `_apis/accesscontrolentries/${ns}/?api-version=1.0`,
      example('security--POST__accesscontrolentries__securityNamespaceId__.json').parameters!.body,
    );
    // The merge example ORs allow 8 into an existing ACE with allow 5.
    const mergeBody = example('security--POST__accesscontrolentries__securityNamespaceId__merge.json').parameters!
      .body as { accessControlEntries: { descriptor: string }[] };
    const descriptor2 = mergeBody.accessControlEntries[0]!.descriptor;
    const seeded = await call('devops', 'POST', `_apis/accesscontrolentries/${ns}?api-version=7.1`, {
      token: 'newToken',
      merge: false,
      accessControlEntries: [{ descriptor: descriptor2, allow: 5, deny: 0 }],
    });
    assert.equal(seeded.status, 200);
    const merged = (await replay(
      'security--POST__accesscontrolentries__securityNamespaceId__merge.json',
      'devops',
      'POST',
      `_apis/accesscontrolentries/${ns}/?api-version=1.0`,
      mergeBody,
    )) as { value: { allow: number }[] };
    assert.equal(merged.value[0]!.allow, 13, 'merge:true ORs 8 into 5');

    // The ACLs the two list examples show, written through the API.
    const aclExample = example(
      'security--GET__accesscontrollists__securityNamespaceId___descriptors-_descriptor1_.json',
    ).responses['200']!.body as {
      value: { token: string; acesDictionary: Record<string, { descriptor: string; allow: number; deny: number }> }[];
    };
    const infoExample = example(
      'security--GET__accesscontrollists__securityNamespaceId___token-_existingToken__includeExtendedInfo-True.json',
    ).responses['200']!.body as typeof aclExample;
    for (const acl of [...aclExample.value, ...infoExample.value]) {
      const r = await call('devops', 'POST', `_apis/accesscontrolentries/${ns}?api-version=7.1`, {
        token: acl.token,
        merge: true,
        accessControlEntries: Object.values(acl.acesDictionary),
      });
      assert.equal(r.status, 200, r.body.toString());
    }
    const descriptor1 = example(
      'security--GET__accesscontrollists__securityNamespaceId___descriptors-_descriptor1_.json',
    ).parameters!.descriptors as string;
    await replay(
      'security--GET__accesscontrollists__securityNamespaceId___descriptors-_descriptor1_.json',
      'devops',
      'GET',
      `_apis/accesscontrollists/${ns}/?descriptors=${encodeURIComponent(descriptor1)}&api-version=1.0`,
      undefined,
      ['$.value[].acesDictionary'],
    );
    await replay(
      'security--GET__accesscontrollists__securityNamespaceId___token-_existingToken__includeExtendedInfo-True.json',
      'devops',
      'GET',
      `_apis/accesscontrollists/${ns}/?token=1ba198c0-7a12-46ed-a96b-f4e77554c6d4&includeExtendedInfo=True&api-version=1.0`,
      undefined,
      ['$.value[].acesDictionary'],
    );

    // Evaluation is for the caller (the service connection's principal): deny on token2, allow on token3.
    for (const [tok, allow, deny] of [
      ['token1', 1, 0],
      ['token2', 0, 8],
      ['token3', 8, 0],
    ] as const) {
      const r = await call('devops', 'POST', `_apis/accesscontrolentries/${ns}?api-version=7.1`, {
        token: tok,
        merge: false,
        accessControlEntries: [{ descriptor: d.scLegacy, allow, deny }],
      });
      assert.equal(r.status, 200);
    }
    const evalEx = example('security--POST__security_permissionevaluationbatch__api-version-3.0-preview.json');
    const res = (await replay(
      'security--POST__security_permissionevaluationbatch__api-version-3.0-preview.json',
      'devops',
      'POST',
      '_apis/security/permissionevaluationbatch/?api-version=3.0-preview',
      evalEx.parameters!.body,
    )) as { evaluations: { value: boolean }[] };
    assert.deepEqual(
      res.evaluations.map((e) => e.value),
      (evalEx.responses['200']!.body as typeof res).evaluations.map((e) => e.value),
    );
  });

  it('replays every example of an emulated route', () => {
    // Guard: a new example file in the folder must get a replay above.
    const replayed = new Set(tb.ctx.journal.entries().map((e) => e.path));
    assert.ok(replayed.size > 20);
    const files = fs.readdirSync(DIR).filter((f) => f.endsWith('.json'));
    const covered = [
      'core--GET__projects.json',
      'core--GET__projects__projectId__teams.json',
      'core--GET__projects__projectId__teams__teamId_.json',
      'core--GET__projects__projectId__teams__teamId__members4.1_.json',
      'core--POST__projects__projectId__teams.json',
      'git--GET__git_repositories.json',
      'git--GET__git_repositories__repositoryId_.json',
      'git--GET__git_repositories__repositoryId__pullRequests.json',
      'git--GET__git_repositories__repositoryId__refs.json',
      'git--GET__git_repositories__repositoryId__refs_heads.json',
      'git--POST__git_repositories__repositoryId__pullRequests.json',
      'git--POST__git_repositories__repositoryId__refs.json',
      'git--POST__git_repositories__tempRepoId__pushes.json',
      'git--POST__git_repositories__tempRepoId__pushes2.json',
      'git--POST__git_repositories__tempRepoId__pushes4.json',
      'git--POST__git_repositories__tempRepoId__pushes8.json',
      'git--POST__git_repositories__tempRepoId__pushes9.json',
      'graph--CheckMembershipExistenceUser.json',
      'graph--CreateMembershipVSTSGroup.json',
      'graph--CreateServicePrincipal.json',
      'graph--GetAllGroups.json',
      'graph--GetAllServicePrincipals.json',
      'graph--GetDescriptorById.json',
      'graph--GetMembershipUser.json',
      'graph--GetServicePrincipal.json',
      'graph--GetStorageKeyBySubjectDescriptor.json',
      'ims--SearchByIdentityDescriptors.json',
      'ims--SearchBySubjectDescriptors.json',
      'memberEntitlementManagement--GET__memberEntitlementManagement_ServicePrincipalEntitlementById.json',
      'memberEntitlementManagement--POST__memberEntitlementManagement_ServicePrincipalEntitlement.json',
      'security--GET__accesscontrollists__securityNamespaceId___descriptors-_descriptor1_.json',
      'security--GET__accesscontrollists__securityNamespaceId___token-_existingToken__includeExtendedInfo-True.json',
      'security--GET__securitynamespaces_.json',
      'security--GET__securitynamespaces__securityNamespaceId__.json',
      'security--POST__accesscontrolentries__securityNamespaceId__.json',
      'security--POST__accesscontrolentries__securityNamespaceId__merge.json',
      'security--POST__security_permissionevaluationbatch__api-version-3.0-preview.json',
    ];
    assert.deepEqual(
      files.filter((f) => !covered.includes(f)),
      [],
      'example files without a replay',
    );
  });
});
