/**
 * The devops emulator through azure-devops-node-api, as the product calls it: location discovery,
 * Core, the organization's door (TF401444 / TF400813 / Stakeholder), member entitlements, Graph
 * memberships, and the security service (ACE merge semantics, effective permissions through a team).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as azdev from 'azure-devops-node-api';
import { httpsRequest } from '../../emulators/core/context';
import { FRESH, GIT_SECURITY_NAMESPACE } from '../../emulators/names';
import { CONVERGED_IDENTITY } from '../../emulators/devops/ids';
import { startDevOpsTestbed, type DevOpsTestbed } from '../../emulators/devops/testing';

const MI = CONVERGED_IDENTITY.principalId;
const GRAPH_AREA = 'bb1e7ec9-e901-4b68-999a-de7012b920f8';
const ENTITLEMENTS_AREA = '68ddce18-2501-45f1-a17b-7931a9922690';
const READ = 2;
const CONTRIBUTE = 4;
const FORCE_PUSH = 8;

interface Ent {
  isSuccess: boolean;
  operationResult: { errors: { key: number; value: string }[] };
  servicePrincipalEntitlement: { id: string; accessLevel: { status: string } } | null;
}
interface Identity {
  id: string;
  descriptor: string;
  subjectDescriptor: string;
  isActive: boolean;
  isContainer?: boolean;
}
interface Evaluation {
  evaluations: { value: boolean }[];
}

function errorOf(e: unknown): { statusCode?: number; message: string } {
  return { statusCode: (e as { statusCode?: number }).statusCode, message: (e as Error).message };
}

describe('devops emulator: discovery, Core, organization access, entitlements, Graph, security', () => {
  let tb: DevOpsTestbed;
  let admin: azdev.WebApi;
  let vssps: string;
  let vsaex: string;
  let teamId: string;
  let teamDescriptor: string;
  let teamLegacy: string;

  const as = (objectId: string): azdev.WebApi =>
    new azdev.WebApi(tb.orgUrl, azdev.getBearerHandler(tb.entraToken(objectId)));
  const repoToken = `repoV2/${FRESH.projectId}/${FRESH.repositoryId}`;

  before(async () => {
    tb = await startDevOpsTestbed({ scenario: 'fresh' });
    admin = as(FRESH.serviceConnectionObjectId);
  });
  after(() => tb?.stop());

  it('finds Graph and member entitlements through ResourceAreas, Core and Git on the organization host', async () => {
    const cd = await admin.connect();
    assert.equal(cd.authenticatedUser?.providerDisplayName, 'contoso-platform-azure-prod');
    assert.equal(cd.instanceId, FRESH.organizationId);
    const areas = await (await admin.getLocationsApi()).getResourceAreas();
    const at = (id: string): string | undefined => areas.find((a) => a.id === id)?.locationUrl;
    vssps = at(GRAPH_AREA)!;
    vsaex = at(ENTITLEMENTS_AREA)!;
    assert.equal(vssps, `${tb.urls.vssps}/contoso/`);
    assert.equal(vsaex, `${tb.urls.vsaex}/contoso/`);
    assert.equal(at('79134c72-4a58-4b42-976c-04e7115f32bf'), `${tb.orgUrl}/`);
    assert.equal(at('4e080c62-fa21-4fbc-8fef-2a10a2b38049'), `${tb.orgUrl}/`);
  });

  it('Core: projects by name and id, teams (a team is a group whose id is its identity id), team members', async () => {
    const core = await admin.getCoreApi();
    assert.deepEqual(
      (await core.getProjects()).map((p) => p.name),
      ['platform'],
    );
    assert.equal((await core.getProject('platform')).id, FRESH.projectId);
    assert.equal((await core.getProject(FRESH.projectId)).name, 'platform');
    assert.deepEqual(
      (await core.getTeams(FRESH.projectId)).map((t) => t.name),
      ['platform Team'],
    );
    const team = await core.createTeam(
      { name: FRESH.teamName, description: 'Managed identities of AKS clusters' },
      FRESH.projectId,
    );
    teamId = team.id!;
    assert.equal((await core.getTeam(FRESH.projectId, FRESH.teamName)).id, teamId);
    await assert.rejects(
      core.createTeam({ name: FRESH.teamName }, FRESH.projectId),
      (e) => errorOf(e).statusCode === 409,
    );
    const members = await core.getTeamMembersWithExtendedProperties(FRESH.projectId, 'platform Team');
    assert.deepEqual(
      members.map((m) => m.identity?.displayName),
      ['Contoso Admin'],
    );

    const d = await admin.rest.get<{ value: string }>(`${vssps}_apis/graph/descriptors/${teamId}?api-version=7.1`);
    teamDescriptor = d.result!.value;
    assert.match(teamDescriptor, /^vssgp\./);
    const ids = await admin.rest.get<{ value: Identity[] }>(
      `${vssps}_apis/identities?identityIds=${teamId}&api-version=7.1`,
    );
    assert.equal(ids.result!.value[0]!.subjectDescriptor, teamDescriptor);
    assert.equal(ids.result!.value[0]!.isContainer, true);
    teamLegacy = ids.result!.value[0]!.descriptor;
    assert.match(teamLegacy, /^Microsoft\.TeamFoundation\.Identity;S-1-9-1551374245-/);
  });

  it('turns away callers the organization does not know: anonymous, expired, wrong audience, not a member (TF401444)', async () => {
    const anon = await httpsRequest(tb.ctx.ca, `${tb.orgUrl}/_apis/projects?api-version=7.1`);
    assert.equal(anon.status, 401);
    assert.match(anon.json<{ message: string }>().message, /^TF400813: Resource not available for anonymous access/);
    assert.match(String(anon.headers['www-authenticate']), /Bearer authorization_uri=/);

    const wrongAudience = new azdev.WebApi(
      tb.orgUrl,
      azdev.getBearerHandler(
        tb.entraToken(FRESH.serviceConnectionObjectId, { audience: 'https://management.azure.com/' }),
      ),
    );
    await assert.rejects(
      wrongAudience.getCoreApi(),
      (e) => errorOf(e).statusCode === 401 && /VS30063/.test(errorOf(e).message),
    );

    const shortLived = tb.entraToken(FRESH.serviceConnectionObjectId, { lifetimeSeconds: 60 });
    tb.ctx.clock.advance(61_000);
    const expired = await httpsRequest(tb.ctx.ca, `${tb.orgUrl}/_apis/projects?api-version=7.1`, {
      headers: { authorization: `Bearer ${shortLived}` },
    });
    assert.equal(expired.status, 401);
    assert.match(expired.json<{ message: string }>().message, /^VS30063: You are not authorized/);

    await assert.rejects(
      async () => (await as(MI).getCoreApi()).getProjects(),
      (e) => {
        const { statusCode, message } = errorOf(e);
        return (
          statusCode === 401 &&
          message ===
            `TF401444: Please sign-in at least once as ${FRESH.tenantId}\\${FRESH.tenantId}\\${MI} in a web browser to enable access to the service.`
        );
      },
    );
    // The OPTIONS discovery already needs a member: node-api fails at getCoreApi().
    await assert.rejects(as(MI).getGitApi(), (e) => errorOf(e).statusCode === 401);
  });

  it('adds a service principal with the entitlement API; failures come back as isSuccess:false inside a 200', async () => {
    const url = `${vsaex}_apis/serviceprincipalentitlements?api-version=7.1-preview.1`;
    const body = (originId: string, license: string) => ({
      accessLevel: { accountLicenseType: license },
      projectEntitlements: [],
      servicePrincipal: { origin: 'aad', originId, subjectKind: 'servicePrincipal' },
    });
    // A caller without Add Users (the build service) is told so in the body.
    const build = new azdev.WebApi(tb.orgUrl, azdev.getBearerHandler(tb.systemAccessToken()));
    const denied = await build.rest.create<Ent>(url, body(MI, 'express'));
    assert.equal(denied.statusCode, 200);
    assert.equal(denied.result!.isSuccess, false);
    assert.match(
      denied.result!.operationResult.errors[0]!.value,
      /^Access Denied: platform Build Service \(contoso\) needs the following permission\(s\) on the resource Users to perform this action: Add Users$/,
    );
    // The application object id instead of the service principal's.
    const unknown = await admin.rest.create<Ent>(url, body('0d7c9b8a-1e2f-4a3b-9c4d-5e6f7a8b9c0d', 'express'));
    assert.equal(unknown.result!.isSuccess, false);
    assert.match(
      unknown.result!.operationResult.errors[0]!.value,
      /^Failed to create service principal with object ID '0d7c9b8a-1e2f-4a3b-9c4d-5e6f7a8b9c0d'/,
    );

    const added = await admin.rest.create<Ent>(url, body(MI, 'stakeholder'));
    assert.equal(added.result!.isSuccess, true);
    const ent = added.result!.servicePrincipalEntitlement!;
    assert.equal(ent.accessLevel.status, 'pending');
    // The first call of the principal activates it.
    assert.equal((await (await as(MI).getCoreApi()).getProjects()).length, 0, 'not in any project group yet');
    const read = await admin.rest.get<{ accessLevel: { status: string } }>(
      `${vsaex}_apis/serviceprincipalentitlements/${ent.id}?api-version=7.1-preview.1`,
    );
    assert.equal(read.result!.accessLevel.status, 'active');
    const list = await admin.rest.get<{ members: { id: string; accessLevel: { accountLicenseType: string } }[] }>(
      `${vsaex}_apis/memberentitlements?$filter=${encodeURIComponent("name eq 'flux-aks'")}&api-version=7.1-preview.2`,
    );
    assert.deepEqual(
      list.result!.members.map((m) => [m.id, m.accessLevel.accountLicenseType]),
      [[ent.id, 'stakeholder']],
    );
  });

  it('a Stakeholder cannot read Git (TF401019), Basic can once the team has Read; no access level is TF400813', async () => {
    // Team membership: Graph PUT (member must be active in the organization).
    const mi = await admin.rest.get<{ value: Identity[] }>(
      `${vssps}_apis/identities?descriptors=${encodeURIComponent(`Microsoft.VisualStudio.Services.Claims.AadServicePrincipal;${FRESH.tenantId}\\${MI}`)}&api-version=7.1`,
    );
    const miIdentity = mi.result!.value[0]!;
    assert.equal(miIdentity.isActive, true);
    const put = await admin.rest.replace(
      `${vssps}_apis/graph/memberships/${miIdentity.subjectDescriptor}/${teamDescriptor}?api-version=7.1-preview.1`,
      {},
    );
    assert.equal(put.statusCode, 201);
    const head = await admin.rest.client.head(
      `${vssps}_apis/graph/memberships/${miIdentity.subjectDescriptor}/${teamDescriptor}?api-version=7.1-preview.1`,
    );
    assert.equal(head.message.statusCode, 200);
    const up = await admin.rest.get<{ value: { containerDescriptor: string }[] }>(
      `${vssps}_apis/graph/memberships/${miIdentity.subjectDescriptor}?direction=up&api-version=7.1-preview.1`,
    );
    assert.deepEqual(
      up.result!.value.map((m) => m.containerDescriptor),
      [teamDescriptor],
    );
    const lookup = await admin.rest.create<{ value: Record<string, { subjectKind: string; originId: string }> }>(
      `${vssps}_apis/graph/subjectlookup?api-version=7.1-preview.1`,
      { lookupKeys: [{ descriptor: miIdentity.subjectDescriptor }] },
    );
    assert.deepEqual(lookup.result!.value[miIdentity.subjectDescriptor], {
      ...lookup.result!.value[miIdentity.subjectDescriptor],
      subjectKind: 'servicePrincipal',
      originId: MI,
    });
    // Graph is a preview API: 7.1 without -preview is refused like the real service does.
    await assert.rejects(
      admin.rest.replace(
        `${vssps}_apis/graph/memberships/${miIdentity.subjectDescriptor}/${teamDescriptor}?api-version=7.1`,
        {},
      ),
      (e) => errorOf(e).statusCode === 400 && /-preview flag must be supplied/.test(errorOf(e).message),
    );
    const ace = await admin.rest.create<{ value: { allow: number }[] }>(
      `${tb.orgUrl}/_apis/accesscontrolentries/${GIT_SECURITY_NAMESPACE}?api-version=7.1`,
      {
        token: repoToken,
        merge: true,
        accessControlEntries: [{ descriptor: teamLegacy, allow: READ | CONTRIBUTE, deny: 0, extendedInfo: {} }],
      },
    );
    assert.equal(ace.result!.value[0]!.allow, READ | CONTRIBUTE);

    const stakeholderGit = await as(MI).getGitApi();
    assert.equal(await stakeholderGit.getRepository('fleet', 'platform'), null, 'node-api turns the 404 into null');
    const raw = await httpsRequest(tb.ctx.ca, `${tb.orgUrl}/platform/_apis/git/repositories/fleet?api-version=7.1`, {
      headers: { authorization: `Bearer ${tb.entraToken(MI)}` },
    });
    assert.equal(raw.status, 404);
    assert.equal(
      raw.json<{ message: string }>().message,
      'TF401019: The Git repository with name or identifier fleet does not exist or you do not have permissions for the operation you are attempting.',
    );

    const entId = tb.ctx.state.devops.principals.find((p) => p.originId === MI)!.id;
    const patch = async (license: string) =>
      admin.rest.update<{ isSuccess: boolean }>(
        `${vsaex}_apis/serviceprincipalentitlements/${entId}?api-version=7.1-preview.1`,
        [{ op: 'replace', path: '/accessLevel', value: { accountLicenseType: license, licensingSource: 'account' } }],
      );
    assert.equal((await patch('express')).result!.isSuccess, true);
    const basic = await (await as(MI).getGitApi()).getRepository('fleet', 'platform');
    assert.equal(basic?.id, FRESH.repositoryId);

    assert.equal((await patch('none')).result!.isSuccess, true);
    await assert.rejects(
      async () => (await as(MI).getCoreApi()).getProjects(),
      (e) => {
        const { statusCode, message } = errorOf(e);
        return (
          statusCode === 401 &&
          message === `TF400813: The user '${FRESH.tenantId}\\${MI}' is not authorized to access this resource.`
        );
      },
    );
    assert.equal((await patch('express')).result!.isSuccess, true);
  });

  it('ACEs: merge:true ORs bits, merge:false replaces, identity descriptors only, Manage permissions needed', async () => {
    const url = `${tb.orgUrl}/_apis/accesscontrolentries/${GIT_SECURITY_NAMESPACE}?api-version=7.1`;
    const post = (merge: boolean, allow: number, deny = 0) =>
      admin.rest.create<{ value: { allow: number; deny: number }[] }>(url, {
        token: `repoV2/${FRESH.projectId}`,
        merge,
        accessControlEntries: [{ descriptor: teamLegacy, allow, deny }],
      });
    assert.equal((await post(false, READ)).result!.value[0]!.allow, READ);
    assert.equal((await post(true, CONTRIBUTE)).result!.value[0]!.allow, READ | CONTRIBUTE);
    const replaced = (await post(false, FORCE_PUSH)).result!.value[0]!;
    assert.deepEqual([replaced.allow, replaced.deny], [FORCE_PUSH, 0]);
    const acl = await admin.rest.get<{ value: { acesDictionary: Record<string, { allow: number }> }[] }>(
      `${tb.orgUrl}/_apis/accesscontrollists/${GIT_SECURITY_NAMESPACE}?token=${encodeURIComponent(`repoV2/${FRESH.projectId}`)}&descriptors=${encodeURIComponent(teamLegacy)}&includeExtendedInfo=true&api-version=7.1`,
    );
    assert.equal(Object.values(acl.result!.value[0]!.acesDictionary)[0]!.allow, FORCE_PUSH);
    await admin.rest.del(
      `${tb.orgUrl}/_apis/accesscontrolentries/${GIT_SECURITY_NAMESPACE}?token=${encodeURIComponent(`repoV2/${FRESH.projectId}`)}&descriptors=${encodeURIComponent(teamLegacy)}&api-version=7.1`,
    );

    await assert.rejects(
      admin.rest.create(url, {
        token: repoToken,
        merge: true,
        accessControlEntries: [{ descriptor: teamDescriptor, allow: READ, deny: 0 }],
      }),
      (e) => errorOf(e).statusCode === 400 && /Graph subject descriptor/.test(errorOf(e).message),
    );
    await assert.rejects(
      as(MI).rest.create(url, {
        token: repoToken,
        merge: true,
        accessControlEntries: [{ descriptor: teamLegacy, allow: 8192, deny: 0 }],
      }),
      (e) =>
        errorOf(e).statusCode === 403 &&
        /^Access Denied: flux-aks-prod needs the following permission\(s\) on the resource .* Manage permissions|ManagePermissions/.test(
          errorOf(e).message,
        ),
    );
  });

  it('evaluates effective permissions for the caller through team membership; the more specific ACE and deny win', async () => {
    const evaluate = async (bits: number[]): Promise<boolean[]> => {
      const r = await as(MI).rest.create<Evaluation>(
        `${tb.orgUrl}/_apis/security/permissionevaluationbatch?api-version=7.1`,
        {
          alwaysAllowAdministrators: false,
          evaluations: bits.map((permissions) => ({
            securityNamespaceId: GIT_SECURITY_NAMESPACE,
            token: repoToken,
            permissions,
          })),
        },
      );
      return r.result!.evaluations.map((e) => e.value);
    };
    assert.deepEqual(await evaluate([READ, CONTRIBUTE, READ | CONTRIBUTE, FORCE_PUSH, 8192]), [
      true,
      true,
      true,
      false,
      false,
    ]);

    const miLegacy = `Microsoft.VisualStudio.Services.Claims.AadServicePrincipal;${FRESH.tenantId}\\${MI}`;
    const set = (token: string, descriptor: string, allow: number, deny: number) =>
      admin.rest.create(`${tb.orgUrl}/_apis/accesscontrolentries/${GIT_SECURITY_NAMESPACE}?api-version=7.1`, {
        token,
        merge: false,
        accessControlEntries: [{ descriptor, allow, deny }],
      });
    // Same level: the identity's allow and the team's deny -> deny wins.
    await set(repoToken, miLegacy, CONTRIBUTE, 0);
    await set(repoToken, teamLegacy, READ, CONTRIBUTE);
    assert.deepEqual(await evaluate([READ, CONTRIBUTE]), [true, false]);
    // A deny at the project level is overridden by the more specific allow on the repository.
    await set(repoToken, teamLegacy, READ | CONTRIBUTE, 0);
    await set(`repoV2/${FRESH.projectId}`, miLegacy, 0, CONTRIBUTE);
    assert.deepEqual(await evaluate([READ, CONTRIBUTE]), [true, true]);
    // What another identity holds is read from the ACL's extended info: "all of the explicit and
    // inherited permissions for this identity on this token", its team's included; the project
    // level's deny is not inherited because the bit is set on the token itself (Security REST 7.1,
    // AceExtendedInformation).
    const acl = await admin.rest.get<{
      value: {
        acesDictionary: Record<string, { extendedInfo: { effectiveAllow?: number; inheritedDeny?: number } }>;
      }[];
    }>(
      `${tb.orgUrl}/_apis/accesscontrollists/${GIT_SECURITY_NAMESPACE}?token=${encodeURIComponent(repoToken)}&descriptors=${encodeURIComponent(miLegacy)}&includeExtendedInfo=true&api-version=7.1`,
    );
    const info = Object.values(acl.result!.value[0]!.acesDictionary)[0]!.extendedInfo;
    assert.equal(info.effectiveAllow, READ | CONTRIBUTE);
    assert.equal(info.inheritedDeny, undefined);
    await admin.rest.del(
      `${tb.orgUrl}/_apis/accesscontrolentries/${GIT_SECURITY_NAMESPACE}?token=${encodeURIComponent(`repoV2/${FRESH.projectId}`)}&descriptors=${encodeURIComponent(miLegacy)}&api-version=7.1`,
    );
    await admin.rest.del(
      `${tb.orgUrl}/_apis/accesscontrolentries/${GIT_SECURITY_NAMESPACE}?token=${encodeURIComponent(repoToken)}&descriptors=${encodeURIComponent(miLegacy)}&api-version=7.1`,
    );

    // Leaving the team takes the rights away.
    const mi = tb.ctx.state.devops.principals.find((p) => p.originId === MI)!;
    const miSubject = `aadsp.${Buffer.from(mi.id).toString('base64url')}`;
    await admin.rest.del(`${vssps}_apis/graph/memberships/${miSubject}/${teamDescriptor}?api-version=7.1-preview.1`);
    assert.deepEqual(await evaluate([READ]), [false]);
  });

  it('journals reads and writes', () => {
    const writes = tb.ctx.journal.writes({ service: 'vsaex' });
    assert.ok(writes.some((w) => w.method === 'POST' && w.path.endsWith('/serviceprincipalentitlements')));
    assert.equal(tb.ctx.journal.writes({ path: 'permissionevaluationbatch' }).length, 0, 'an evaluation is a read');
  });
});
