/**
 * Azure RBAC, reduced to what the emulated operations need: built-in role definitions (actions /
 * notActions with wildcards, as published) and the check "does any assignment at or above this
 * scope grant this action to this principal".
 */
import type { AzureState } from '../model';

interface RoleDefinition {
  actions: string[];
  notActions: string[];
}

/** Built-in roles (actions copied from the published definitions, trimmed to the providers emulated here). */
export const ROLES: Record<string, RoleDefinition> = {
  Owner: { actions: ['*'], notActions: [] },
  Contributor: {
    actions: ['*'],
    notActions: [
      'Microsoft.Authorization/*/Delete',
      'Microsoft.Authorization/*/Write',
      'Microsoft.Authorization/elevateAccess/Action',
    ],
  },
  Reader: { actions: ['*/read'], notActions: [] },
  'Managed Identity Contributor': {
    actions: [
      'Microsoft.ManagedIdentity/userAssignedIdentities/read',
      'Microsoft.ManagedIdentity/userAssignedIdentities/write',
      'Microsoft.ManagedIdentity/userAssignedIdentities/delete',
      'Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/*',
      'Microsoft.Resources/subscriptions/resourceGroups/read',
    ],
    notActions: [],
  },
  'Managed Identity Operator': {
    actions: [
      'Microsoft.ManagedIdentity/userAssignedIdentities/*/read',
      'Microsoft.ManagedIdentity/userAssignedIdentities/*/assign/action',
      'Microsoft.ManagedIdentity/userAssignedIdentities/read',
      'Microsoft.Resources/subscriptions/resourceGroups/read',
    ],
    notActions: [],
  },
  'Azure Kubernetes Service Contributor Role': {
    actions: [
      'Microsoft.ContainerService/managedClusters/read',
      'Microsoft.ContainerService/managedClusters/write',
      'Microsoft.ContainerService/locations/operations/read',
      'Microsoft.Resources/subscriptions/resourceGroups/read',
    ],
    notActions: [],
  },
  'Azure Kubernetes Service Cluster User Role': {
    actions: [
      'Microsoft.ContainerService/managedClusters/listClusterUserCredential/action',
      'Microsoft.ContainerService/managedClusters/read',
    ],
    notActions: [],
  },
  'Azure Kubernetes Service Cluster Admin Role': {
    actions: [
      'Microsoft.ContainerService/managedClusters/listClusterAdminCredential/action',
      'Microsoft.ContainerService/managedClusters/accessProfiles/listCredential/action',
      'Microsoft.ContainerService/managedClusters/read',
      'Microsoft.ContainerService/managedClusters/runcommand/action',
    ],
    notActions: [],
  },
};

function wildcard(pattern: string, action: string): boolean {
  const re = new RegExp(
    `^${pattern
      .split('*')
      .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
    'i',
  );
  return re.test(action);
}

function grants(role: RoleDefinition, action: string): boolean {
  return role.actions.some((a) => wildcard(a, action)) && !role.notActions.some((n) => wildcard(n, action));
}

/** Is `scope` equal to or below `assignmentScope` (case-insensitive, segment-wise)? */
export function scopeCovers(assignmentScope: string, scope: string): boolean {
  const a = assignmentScope.replace(/\/+$/, '').toLowerCase();
  const s = scope.replace(/\/+$/, '').toLowerCase();
  return a === '' || s === a || s.startsWith(`${a}/`);
}

export function isAuthorized(azure: AzureState, principalId: string, action: string, scope: string): boolean {
  const pid = principalId.toLowerCase();
  return azure.roleAssignments.some(
    (ra) =>
      ra.principalId.toLowerCase() === pid &&
      scopeCovers(ra.scope, scope) &&
      ROLES[ra.role] !== undefined &&
      grants(ROLES[ra.role]!, action),
  );
}
