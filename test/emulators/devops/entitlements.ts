/**
 * vsaex: member entitlements. `POST _apis/serviceprincipalentitlements` is how a managed identity
 * joins the organization; like the real service it answers 200 even when it fails, with
 * `isSuccess:false` and `operationResult.errors` in the body (no Add Users right, an object id that
 * is not a service principal of the organization's tenant).
 */
import * as crypto from 'node:crypto';
import { TF, vssError } from './errors';
import { enumValue, jsonBody, ok, prop, query, route, isGuid } from './http';
import { groupsOfKind, identityById, isCollectionAdmin, principalByOrigin, sameId } from './identity';
import type { AccountLicense, DevOpsState, GroupKind, PrincipalState } from './model';
import { who, type DevOpsRoute, type Req } from './service';
import { graphSubject, type OrgUrls } from './views';

const LICENSES: Record<AccountLicense, number> = {
  none: 0,
  earlyAdopter: 1,
  express: 2,
  professional: 3,
  advanced: 4,
  stakeholder: 5,
};
const LICENSE_NAMES: Record<AccountLicense, string> = {
  none: 'No access',
  earlyAdopter: 'Early Adopter',
  express: 'Basic',
  professional: 'Visual Studio Professional',
  advanced: 'Basic + Test Plans',
  stakeholder: 'Stakeholder',
};
const GROUP_TYPES: Record<string, GroupKind | undefined> = {
  projectReader: 'readers',
  projectContributor: 'contributors',
  projectAdministrator: 'projectAdministrators',
  projectStakeholder: undefined,
  custom: undefined,
};
const GROUP_TYPE_NUMBERS: Record<string, number> = {
  projectStakeholder: 0,
  projectReader: 1,
  projectContributor: 2,
  projectAdministrator: 3,
  custom: 4,
};
const NEVER = '0001-01-01T00:00:00Z';

function projectEntitlements(s: DevOpsState, p: PrincipalState): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const project of s.projects) {
    const groups = s.groups.filter((g) => sameId(g.projectId, project.id) && g.members.some((m) => sameId(m, p.id)));
    const main =
      groups.find((g) => g.kind === 'projectAdministrators') ??
      groups.find((g) => g.kind === 'contributors') ??
      groups.find((g) => g.kind === 'readers');
    const teams = groups.filter((g) => g.kind === 'team');
    if (!main && teams.length === 0) continue;
    const groupType =
      main?.kind === 'projectAdministrators'
        ? 'projectAdministrator'
        : main?.kind === 'contributors'
          ? 'projectContributor'
          : main
            ? 'projectReader'
            : 'custom';
    out.push({
      projectRef: { id: project.id, name: project.name },
      group: { groupType, displayName: main?.displayName ?? 'Project Valid Users' },
      projectPermissionInherited: 'notInherited',
      teamRefs: teams.map((t) => ({ id: t.id, name: t.displayName })),
      assignmentSource: 'unknown',
    });
  }
  return out;
}

export function entitlementJson(u: OrgUrls, s: DevOpsState, p: PrincipalState): Record<string, unknown> {
  const license = p.license ?? 'none';
  const subject = graphSubject(u, s, identityById(s, p.id)!);
  return {
    [p.kind === 'user' ? 'user' : 'servicePrincipal']: subject,
    id: p.id,
    accessLevel: {
      licensingSource: 'account',
      accountLicenseType: license,
      msdnLicenseType: 'none',
      licenseDisplayName: LICENSE_NAMES[license],
      status: p.lastAccessedDate ? 'active' : 'pending',
      statusMessage: '',
      assignmentSource: 'unknown',
    },
    lastAccessedDate: p.lastAccessedDate ?? NEVER,
    dateCreated: p.dateCreated ?? NEVER,
    projectEntitlements: projectEntitlements(s, p),
    extensions: [],
    groupAssignments: [],
  };
}

function failure(message: string, code: number) {
  return ok({
    operationResult: {
      isSuccess: false,
      errors: [{ key: code, value: message }],
      servicePrincipalId: null,
      result: null,
    },
    isSuccess: false,
    servicePrincipalEntitlement: null,
  });
}

function addServicePrincipal(r: Req) {
  const s = r.ctx.state;
  const caller = who(r);
  const body = jsonBody(r.req, 'service principal entitlement');
  const sp = prop(body, 'servicePrincipal');
  const originId = prop<string>(sp, 'originId');
  if (typeof originId !== 'string' || !isGuid(originId)) {
    throw vssError(
      400,
      'InvalidArgumentValueException',
      `servicePrincipal.originId must be the object id (GUID) of the Entra service principal, got ${JSON.stringify(originId)}.`,
      'Licensing',
    );
  }
  const origin = prop<string>(sp, 'origin');
  if (origin !== undefined && String(origin).toLowerCase() !== 'aad') {
    throw vssError(
      400,
      'InvalidArgumentValueException',
      `servicePrincipal.origin must be 'aad', got '${origin}'.`,
      'Licensing',
    );
  }
  const license =
    enumValue(prop(prop(body, 'accessLevel'), 'accountLicenseType'), LICENSES, 'accessLevel.accountLicenseType') ??
    'express';
  const requested = (prop<unknown[]>(body, 'projectEntitlements') ?? []).map((pe, i) => {
    const projectId = prop<string>(prop(pe, 'projectRef'), 'id');
    const groupType = enumValue(
      prop(prop(pe, 'group'), 'groupType'),
      GROUP_TYPE_NUMBERS,
      `projectEntitlements[${i}].group.groupType`,
    );
    const project = s.projects.find(
      (p) => sameId(p.id, projectId) || p.name.toLowerCase() === String(projectId ?? '').toLowerCase(),
    );
    if (!project)
      throw vssError(
        400,
        'InvalidArgumentValueException',
        `projectEntitlements[${i}].projectRef.id '${String(projectId)}' is not a project of organization '${s.organization.name}'.`,
        'Licensing',
      );
    return { project, groupType };
  });

  if (!isCollectionAdmin(s, caller.identity.id)) {
    return failure(TF.accessDenied(caller.identity.displayName, 'Users', 'Add Users'), 5000);
  }
  if (s.faults?.entitlementAddError) return failure(s.faults.entitlementAddError, 5001);
  const entra = r.ctx.svc.cloud.entra.principal(originId);
  if (!entra || !sameId(entra.objectId, originId)) {
    return failure(
      `Failed to create service principal with object ID '${originId}'. Make sure it is the object id of the service principal (enterprise application or managed identity), not of the app registration.`,
      5002,
    );
  }
  if (!sameId(entra.tenantId, s.organization.tenantId)) {
    return failure(
      `The service principal '${originId}' belongs to tenant ${entra.tenantId}; organization '${s.organization.name}' is connected to tenant ${s.organization.tenantId}.`,
      5003,
    );
  }
  let p = principalByOrigin(s, originId);
  if (!p) {
    p = {
      kind: 'servicePrincipal',
      id: crypto.randomUUID(),
      displayName: entra.displayName,
      originId: entra.objectId,
      applicationId: entra.appId,
    };
    s.principals.push(p);
  }
  if (p.license === undefined) p.dateCreated = r.ctx.svc.cloud.clock.iso();
  p.license = license;
  for (const { project, groupType } of requested) {
    const kind = groupType ? GROUP_TYPES[groupType] : undefined;
    const g = kind ? groupsOfKind(s, kind, project.id)[0] : undefined;
    if (g && !g.members.some((m) => sameId(m, p!.id))) g.members.push(p.id);
  }
  const ent = entitlementJson(r.ctx.urls, s, p);
  return ok({
    operationResult: { isSuccess: true, errors: [], servicePrincipalId: p.id, result: ent },
    isSuccess: true,
    servicePrincipalEntitlement: ent,
  });
}

function entitledPrincipal(s: DevOpsState, id: string): PrincipalState {
  const p = s.principals.find((x) => sameId(x.id, id) && x.kind !== 'build');
  if (!p || p.license === undefined)
    throw vssError(
      404,
      'MemberNotFoundException',
      `No entitlement with id '${id}' exists in organization '${s.organization.name}'.`,
      'Licensing',
    );
  return p;
}

function getServicePrincipal(r: Req) {
  const s = r.ctx.state;
  return ok(entitlementJson(r.ctx.urls, s, entitledPrincipal(s, r.params.id ?? '')));
}

function patchServicePrincipal(r: Req) {
  const s = r.ctx.state;
  const caller = who(r);
  const p = entitledPrincipal(s, r.params.id ?? '');
  const ops = jsonBody(r.req, 'JSON patch document');
  if (!Array.isArray(ops))
    throw vssError(
      400,
      'InvalidArgumentValueException',
      'The body must be a JSON patch document: [{"op":"replace","path":"/accessLevel","value":{...}}].',
      'Licensing',
    );
  if (!isCollectionAdmin(s, caller.identity.id)) {
    const msg = TF.accessDenied(caller.identity.displayName, 'Users', 'Edit Users');
    return ok({
      isSuccess: false,
      servicePrincipalEntitlement: null,
      operationResults: [
        { isSuccess: false, errors: [{ key: 5000, value: msg }], servicePrincipalId: p.id, result: null },
      ],
    });
  }
  for (const op of ops) {
    const pathText = String(prop(op, 'path') ?? '').toLowerCase();
    if (pathText === '/accesslevel') {
      const lic = enumValue(prop(prop(op, 'value'), 'accountLicenseType'), LICENSES, 'value.accountLicenseType');
      if (lic) p.license = lic;
    }
  }
  const ent = entitlementJson(r.ctx.urls, s, p);
  return ok({
    isSuccess: true,
    servicePrincipalEntitlement: ent,
    operationResults: [{ isSuccess: true, errors: [], servicePrincipalId: p.id, result: ent }],
  });
}

function deleteServicePrincipal(r: Req) {
  const s = r.ctx.state;
  const caller = who(r);
  const p = entitledPrincipal(s, r.params.id ?? '');
  if (!isCollectionAdmin(s, caller.identity.id))
    throw vssError(
      403,
      'AccessCheckException',
      TF.accessDenied(caller.identity.displayName, 'Users', 'Delete Users'),
      'Security',
    );
  delete p.license;
  delete p.lastAccessedDate;
  for (const g of s.groups) g.members = g.members.filter((m) => !sameId(m, p.id));
  return { status: 204 };
}

function listMembers(r: Req) {
  const s = r.ctx.state;
  let list = s.principals.filter((p) => p.kind !== 'build' && p.license !== undefined);
  const filter = query(r.req, '$filter');
  if (filter) {
    for (const clause of filter.split(/\s+and\s+/i)) {
      const m = /^\s*(\w+)\s+eq\s+'([^']*)'\s*$/i.exec(clause);
      if (!m)
        throw vssError(
          400,
          'InvalidArgumentValueException',
          `$filter clause '${clause}' is not supported; use name eq '…', licenseId eq 'Account-Express', userType eq 'member'.`,
          'Licensing',
        );
      const field = m[1]!.toLowerCase();
      const value = m[2]!.toLowerCase();
      if (field === 'name')
        list = list.filter((p) =>
          [p.displayName, p.principalName, p.originId, p.applicationId].some((x) => x?.toLowerCase().startsWith(value)),
        );
      else if (field === 'licenseid') list = list.filter((p) => `account-${p.license}` === value);
      else if (field !== 'usertype')
        throw vssError(400, 'InvalidArgumentValueException', `$filter field '${m[1]}' is not supported.`, 'Licensing');
    }
  }
  const members = list.map((p) => {
    const e = entitlementJson(r.ctx.urls, s, p);
    return { member: e.servicePrincipal ?? e.user, ...e };
  });
  return ok({ members, continuationToken: null, totalCount: members.length, items: members });
}

export const entitlementRoutes: DevOpsRoute[] = [
  route('POST', '_apis/serviceprincipalentitlements', { preview: true }, addServicePrincipal),
  route('GET', '_apis/serviceprincipalentitlements/:id', { preview: true }, getServicePrincipal),
  route('PATCH', '_apis/serviceprincipalentitlements/:id', { preview: true }, patchServicePrincipal),
  route('DELETE', '_apis/serviceprincipalentitlements/:id', { preview: true }, deleteServicePrincipal),
  route('GET', '_apis/memberentitlements', { preview: true }, listMembers),
];
