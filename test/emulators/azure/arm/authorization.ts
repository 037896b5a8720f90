/**
 * Microsoft.Authorization: role assignments and role definitions at any scope (subscription,
 * resource group, resource, an AKS cluster's `/namespaces/{ns}`), as the REST API documents them:
 * - role assignments: https://learn.microsoft.com/rest/api/authorization/role-assignments
 *   (PUT create with a GUID name, 201; a second assignment of the same role to the same principal
 *   at the same scope: 409 RoleAssignmentExists; GET / list with `$filter=atScope()`,
 *   `principalId eq '{id}'`, `assignedTo('{id}')`; DELETE 200 with the deleted assignment, 204 when
 *   absent), see also https://learn.microsoft.com/azure/role-based-access-control/role-assignments-rest
 *   and role-assignments-list-rest;
 * - role definitions: https://learn.microsoft.com/rest/api/authorization/role-definitions (built-in
 *   roles plus custom roles; `$filter=roleName eq '{name}'`; PUT / DELETE custom roles).
 * Writes need Microsoft.Authorization/roleAssignments/write (Owner, User Access Administrator),
 * reads Microsoft.Authorization/roleAssignments/read (any reader).
 */
import * as crypto from 'node:crypto';
import type { EmuResponse } from '../../core/host';
import type { RoleAssignmentState, RoleDefinitionState } from '../model';
import { ArmError, authorize, isObject, jsonBody, ok, type ArmCall } from './common';
import { findRole, ROLES, scopeCovers } from './rbac';

const PROVIDER = 'providers/Microsoft.Authorization';
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** The scopes an assignment may have: subscription, resource group, resource, AKS namespace. */
const SCOPES = [
  '/subscriptions/{subscriptionId}',
  '/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}',
  '/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/{rp}/{type}/{name}',
  '/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/{rp}/{type}/{name}/namespaces/{ns}',
];

/** The scope part of a request path (everything before `/providers/Microsoft.Authorization/`). */
function scopeOf(call: ArmCall): string {
  return call.req.path.replace(/\/providers\/Microsoft\.Authorization\/.*$/i, '');
}

function checkSubscription(call: ArmCall): string {
  const id = call.params.subscriptionId!;
  const sub = call.azure.subscriptions.find((s) => s.id.toLowerCase() === id.toLowerCase());
  if (!sub) throw new ArmError(404, 'SubscriptionNotFound', `The subscription '${id}' could not be found.`);
  return sub.id;
}

function definitionId(subscriptionId: string, id: string): string {
  return `/subscriptions/${subscriptionId}/${PROVIDER}/roleDefinitions/${id}`;
}

function assignmentName(ra: RoleAssignmentState): string {
  ra.id ??= crypto
    .createHash('sha256')
    .update(`${ra.scope}|${ra.principalId}|${ra.role}`)
    .digest('hex')
    .replace(/^(.{8})(.{4})(.{3})(.{3})(.{12}).*$/, '$1-$2-4$3-a$4-$5');
  return ra.id;
}

function renderAssignment(call: ArmCall, subscriptionId: string, ra: RoleAssignmentState): Record<string, unknown> {
  const role = findRole(call.azure, ra.role);
  const name = assignmentName(ra);
  const principal = call.ctx.entra.principal(ra.principalId);
  return {
    properties: {
      roleDefinitionId: definitionId(subscriptionId, role?.id ?? ra.role),
      principalId: ra.principalId,
      principalType: principal ? 'ServicePrincipal' : 'Unknown',
      scope: ra.scope,
      condition: null,
      conditionVersion: null,
      createdOn: '2026-01-01T00:00:00.0000000Z',
      updatedOn: '2026-01-01T00:00:00.0000000Z',
      createdBy: null,
      updatedBy: null,
      delegatedManagedIdentityResourceId: null,
      description: null,
    },
    id: `${ra.scope}/${PROVIDER}/roleAssignments/${name}`,
    type: 'Microsoft.Authorization/roleAssignments',
    name,
  };
}

function renderDefinition(subscriptionId: string, name: string, custom: RoleDefinitionState | undefined) {
  const builtin = ROLES[name];
  const permissions = custom
    ? custom.permissions.map((p) => ({
        actions: p.actions ?? [],
        notActions: p.notActions ?? [],
        dataActions: p.dataActions ?? [],
        notDataActions: p.notDataActions ?? [],
      }))
    : [
        {
          actions: builtin!.actions,
          notActions: builtin!.notActions,
          dataActions: builtin!.dataActions ?? [],
          notDataActions: builtin!.notDataActions ?? [],
        },
      ];
  const id = custom?.id ?? builtin!.id;
  return {
    properties: {
      roleName: name,
      type: custom ? 'CustomRole' : 'BuiltInRole',
      description: custom?.description ?? builtin!.description,
      assignableScopes: custom?.assignableScopes ?? ['/'],
      permissions,
      createdOn: '2020-01-01T00:00:00.0000000Z',
      updatedOn: '2020-01-01T00:00:00.0000000Z',
      createdBy: null,
      updatedBy: null,
    },
    id: definitionId(subscriptionId, id),
    type: 'Microsoft.Authorization/roleDefinitions',
    name: id,
  };
}

/** `principalId eq '…'`, `assignedTo('…')`, `atScope()` (the documented filters), combined with `and`. */
function assignmentFilter(filter: string | null, scope: string): (ra: RoleAssignmentState) => boolean {
  const f = filter ?? '';
  const pid = /principalId\s+eq\s+'([^']+)'/i.exec(f)?.[1] ?? /assignedTo\('([^']+)'\)/i.exec(f)?.[1];
  const atScope = /atScope\(\)/i.test(f);
  return (ra) =>
    (!pid || ra.principalId.toLowerCase() === pid.toLowerCase()) &&
    // At or above the scope; without atScope() also the assignments below it.
    (scopeCovers(ra.scope, scope) || (!atScope && scopeCovers(scope, ra.scope)));
}

async function listAssignments(call: ArmCall): Promise<EmuResponse> {
  const sub = checkSubscription(call);
  const scope = scopeOf(call);
  authorize(call, 'Microsoft.Authorization/roleAssignments/read', scope);
  const keep = assignmentFilter(call.req.url.searchParams.get('$filter'), scope);
  const value = call.azure.roleAssignments.filter(keep).map((ra) => renderAssignment(call, sub, ra));
  return ok(200, { value });
}

function findAssignment(call: ArmCall, scope: string): RoleAssignmentState | undefined {
  const name = call.params.assignmentName!.toLowerCase();
  return call.azure.roleAssignments.find(
    (ra) => assignmentName(ra).toLowerCase() === name && ra.scope.toLowerCase() === scope.toLowerCase(),
  );
}

async function getAssignment(call: ArmCall): Promise<EmuResponse> {
  const sub = checkSubscription(call);
  const scope = scopeOf(call);
  authorize(call, 'Microsoft.Authorization/roleAssignments/read', scope);
  const ra = findAssignment(call, scope);
  if (!ra) throw new ArmError(404, 'RoleAssignmentNotFound', 'The role assignment does not exist.');
  return ok(200, renderAssignment(call, sub, ra));
}

async function putAssignment(call: ArmCall): Promise<EmuResponse> {
  const sub = checkSubscription(call);
  const scope = scopeOf(call);
  authorize(call, 'Microsoft.Authorization/roleAssignments/write', scope);
  const name = call.params.assignmentName!;
  if (!GUID.test(name))
    throw new ArmError(
      400,
      'InvalidRoleAssignmentId',
      `The role assignment ID '${name}' is not valid. The role assignment ID must be a GUID.`,
    );
  const body = jsonBody<{ properties?: Record<string, unknown> }>(call);
  const props = isObject(body.properties) ? body.properties : {};
  const defId = typeof props.roleDefinitionId === 'string' ? props.roleDefinitionId : '';
  const principalId = typeof props.principalId === 'string' ? props.principalId : '';
  const role = findRole(call.azure, defId.split('/').pop() ?? '');
  if (!role)
    throw new ArmError(
      400,
      'RoleDefinitionDoesNotExist',
      `The specified role definition with ID '${defId.split('/').pop() ?? ''}' does not exist.`,
    );
  if (!GUID.test(principalId) || !call.ctx.entra.principal(principalId)) {
    throw new ArmError(
      400,
      'PrincipalNotFound',
      `Principal ${principalId.replace(/-/g, '')} does not exist in the directory ${call.azure.tenant.id}. Check that you have the correct principal ID. If you are creating this principal and then immediately assigning a role, this error might be related to a replication delay. In this case, set the role assignment principalType property to a value, such as ServicePrincipal, User, or Group.`,
    );
  }
  const existing = findAssignment(call, scope);
  if (existing) return ok(200, renderAssignment(call, sub, existing));
  const same = call.azure.roleAssignments.find(
    (ra) =>
      ra.principalId.toLowerCase() === principalId.toLowerCase() &&
      ra.scope.toLowerCase() === scope.toLowerCase() &&
      findRole(call.azure, ra.role)?.id === role.id,
  );
  if (same) throw new ArmError(409, 'RoleAssignmentExists', 'The role assignment already exists.');
  const ra: RoleAssignmentState = { id: name.toLowerCase(), principalId, role: role.name, scope };
  call.azure.roleAssignments.push(ra);
  return ok(201, renderAssignment(call, sub, ra));
}

async function deleteAssignment(call: ArmCall): Promise<EmuResponse> {
  const sub = checkSubscription(call);
  const scope = scopeOf(call);
  authorize(call, 'Microsoft.Authorization/roleAssignments/delete', scope);
  const ra = findAssignment(call, scope);
  if (!ra) return ok(204);
  call.azure.roleAssignments = call.azure.roleAssignments.filter((x) => x !== ra);
  return ok(200, renderAssignment(call, sub, ra));
}

async function listDefinitions(call: ArmCall): Promise<EmuResponse> {
  const sub = checkSubscription(call);
  authorize(call, 'Microsoft.Authorization/roleDefinitions/read', scopeOf(call));
  const byName = /roleName\s+eq\s+'([^']+)'/i.exec(call.req.url.searchParams.get('$filter') ?? '')?.[1]?.toLowerCase();
  const all = [
    ...Object.keys(ROLES).map((n) => renderDefinition(sub, n, undefined)),
    ...(call.azure.roleDefinitions ?? []).map((r) => renderDefinition(sub, r.roleName, r)),
  ];
  return ok(200, { value: all.filter((d) => !byName || d.properties.roleName.toLowerCase() === byName) });
}

async function getDefinition(call: ArmCall): Promise<EmuResponse> {
  const sub = checkSubscription(call);
  authorize(call, 'Microsoft.Authorization/roleDefinitions/read', scopeOf(call));
  const id = call.params.definitionId!.toLowerCase();
  const custom = (call.azure.roleDefinitions ?? []).find((r) => r.id.toLowerCase() === id);
  const builtin = Object.entries(ROLES).find(([, r]) => r.id === id)?.[0];
  if (!custom && !builtin)
    throw new ArmError(
      404,
      'RoleDefinitionDoesNotExist',
      `The specified role definition with ID '${id}' does not exist.`,
    );
  return ok(200, renderDefinition(sub, custom?.roleName ?? builtin!, custom));
}

async function putDefinition(call: ArmCall): Promise<EmuResponse> {
  const sub = checkSubscription(call);
  const scope = scopeOf(call);
  authorize(call, 'Microsoft.Authorization/roleDefinitions/write', scope);
  const id = call.params.definitionId!.toLowerCase();
  if (!GUID.test(id))
    throw new ArmError(400, 'InvalidRoleDefinitionId', `The role definition ID '${id}' is not valid.`);
  if (Object.values(ROLES).some((r) => r.id === id))
    throw new ArmError(403, 'AuthorizationFailed', 'Built-in role definitions cannot be changed.');
  const body = jsonBody<{ properties?: Record<string, unknown> }>(call);
  const p = isObject(body.properties) ? body.properties : {};
  const roleName = typeof p.roleName === 'string' ? p.roleName.trim() : '';
  const scopes = Array.isArray(p.assignableScopes) ? p.assignableScopes.map(String) : [];
  const permissions = Array.isArray(p.permissions) ? (p.permissions as RoleDefinitionState['permissions']) : [];
  if (!roleName || scopes.length === 0 || permissions.length === 0)
    throw new ArmError(
      400,
      'InvalidRoleDefinition',
      'A role definition needs roleName, assignableScopes and permissions.',
    );
  const defs = (call.azure.roleDefinitions ??= []);
  const clash = findRole(call.azure, roleName);
  if (clash && clash.id !== id)
    throw new ArmError(
      409,
      'RoleDefinitionWithSameNameExists',
      `A role definition cannot be updated with a name that already exists.`,
    );
  const next: RoleDefinitionState = {
    id,
    roleName,
    ...(typeof p.description === 'string' ? { description: p.description } : {}),
    assignableScopes: scopes,
    permissions,
  };
  const at = defs.findIndex((r) => r.id.toLowerCase() === id);
  if (at >= 0) defs[at] = next;
  else defs.push(next);
  return ok(201, renderDefinition(sub, roleName, next));
}

async function deleteDefinition(call: ArmCall): Promise<EmuResponse> {
  const sub = checkSubscription(call);
  authorize(call, 'Microsoft.Authorization/roleDefinitions/delete', scopeOf(call));
  const id = call.params.definitionId!.toLowerCase();
  const defs = call.azure.roleDefinitions ?? [];
  const r = defs.find((x) => x.id.toLowerCase() === id);
  if (!r) return ok(204);
  if (call.azure.roleAssignments.some((ra) => findRole(call.azure, ra.role)?.id === id))
    throw new ArmError(409, 'RoleDefinitionHasAssignments', 'There are existing role assignments referencing role.');
  call.azure.roleDefinitions = defs.filter((x) => x !== r);
  return ok(200, renderDefinition(sub, r.roleName, r));
}

export function createAuthorizationOperations() {
  const routes = SCOPES.flatMap((scope) => [
    { method: 'GET', pattern: `${scope}/${PROVIDER}/roleAssignments`, handle: listAssignments },
    { method: 'GET', pattern: `${scope}/${PROVIDER}/roleAssignments/{assignmentName}`, handle: getAssignment },
    { method: 'PUT', pattern: `${scope}/${PROVIDER}/roleAssignments/{assignmentName}`, handle: putAssignment },
    { method: 'DELETE', pattern: `${scope}/${PROVIDER}/roleAssignments/{assignmentName}`, handle: deleteAssignment },
    { method: 'GET', pattern: `${scope}/${PROVIDER}/roleDefinitions`, handle: listDefinitions },
    { method: 'GET', pattern: `${scope}/${PROVIDER}/roleDefinitions/{definitionId}`, handle: getDefinition },
    { method: 'PUT', pattern: `${scope}/${PROVIDER}/roleDefinitions/{definitionId}`, handle: putDefinition },
    { method: 'DELETE', pattern: `${scope}/${PROVIDER}/roleDefinitions/{definitionId}`, handle: deleteDefinition },
  ]);
  return { routes };
}
