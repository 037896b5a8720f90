/**
 * Azure RBAC, reduced to what the emulated operations need: built-in role definitions (id,
 * actions / notActions / dataActions / notDataActions with wildcards, as published on
 * https://learn.microsoft.com/azure/role-based-access-control/built-in-roles, trimmed to the
 * providers emulated here), the tenant's custom roles (state `roleDefinitions`), and the check
 * "does any assignment at or above this scope grant this (data) action to this principal"
 * (https://learn.microsoft.com/azure/role-based-access-control/overview#how-azure-rbac-determines-if-a-user-has-access-to-a-resource).
 */
import type { AzureState, RoleDefinitionState } from '../model';

export interface RoleDefinition {
  /** The role definition's GUID (the same in every subscription for a built-in role). */
  id: string;
  description: string;
  actions: string[];
  notActions: string[];
  dataActions?: string[];
  notDataActions?: string[];
}

const AKS = 'Microsoft.ContainerService/managedClusters';
/** Actions the four AKS RBAC data roles carry besides their data actions (built-in roles page). */
const RBAC_READ_ACTIONS = [
  'Microsoft.Authorization/*/read',
  'Microsoft.Resources/subscriptions/operationresults/read',
  'Microsoft.Resources/subscriptions/read',
  'Microsoft.Resources/subscriptions/resourceGroups/read',
];
const RBAC_ADMIN_ACTIONS = [
  ...RBAC_READ_ACTIONS,
  'Microsoft.Resources/deployments/write',
  `${AKS}/listClusterUserCredential/action`,
];
/** Azure Kubernetes Service RBAC Reader's data actions (built-in roles page, Containers section). */
const READER_DATA = [
  'apps/controllerrevisions/read',
  'apps/daemonsets/read',
  'apps/deployments/read',
  'apps/replicasets/read',
  'apps/statefulsets/read',
  'autoscaling/horizontalpodautoscalers/read',
  'batch/cronjobs/read',
  'coordination.k8s.io/leases/read',
  'discovery.k8s.io/endpointslices/read',
  'batch/jobs/read',
  'configmaps/read',
  'endpoints/read',
  'events.k8s.io/events/read',
  'events/read',
  'extensions/daemonsets/read',
  'extensions/deployments/read',
  'extensions/ingresses/read',
  'extensions/networkpolicies/read',
  'extensions/replicasets/read',
  'limitranges/read',
  'metrics.k8s.io/pods/read',
  'metrics.k8s.io/nodes/read',
  'namespaces/read',
  'networking.k8s.io/ingresses/read',
  'networking.k8s.io/networkpolicies/read',
  'persistentvolumeclaims/read',
  'pods/read',
  'policy/poddisruptionbudgets/read',
  'replicationcontrollers/read',
  'resourcequotas/read',
  'serviceaccounts/read',
  'services/read',
].map((a) => `${AKS}/${a}`);
/** Azure Kubernetes Service RBAC Writer's data actions (built-in roles page). */
const WRITER_DATA = [
  'apps/controllerrevisions/read',
  'apps/daemonsets/*',
  'apps/deployments/*',
  'apps/replicasets/*',
  'apps/statefulsets/*',
  'autoscaling/horizontalpodautoscalers/*',
  'batch/cronjobs/*',
  'coordination.k8s.io/leases/read',
  'coordination.k8s.io/leases/write',
  'coordination.k8s.io/leases/delete',
  'discovery.k8s.io/endpointslices/read',
  'batch/jobs/*',
  'configmaps/*',
  'endpoints/*',
  'events.k8s.io/events/read',
  'events/*',
  'extensions/daemonsets/*',
  'extensions/deployments/*',
  'extensions/ingresses/*',
  'extensions/networkpolicies/*',
  'extensions/replicasets/*',
  'limitranges/read',
  'metrics.k8s.io/pods/read',
  'metrics.k8s.io/nodes/read',
  'namespaces/read',
  'networking.k8s.io/ingresses/*',
  'networking.k8s.io/networkpolicies/*',
  'persistentvolumeclaims/*',
  'pods/*',
  'policy/poddisruptionbudgets/*',
  'replicationcontrollers/*',
  'resourcequotas/read',
  'secrets/*',
  'serviceaccounts/*',
  'services/*',
].map((a) => `${AKS}/${a}`);

/** Built-in roles by name. */
export const ROLES: Record<string, RoleDefinition> = {
  Owner: {
    id: '8e3af657-a8ff-443c-a75c-2fe8c4bcb635',
    description: 'Grants full access to manage all resources, including the ability to assign roles in Azure RBAC.',
    actions: ['*'],
    notActions: [],
  },
  Contributor: {
    id: 'b24988ac-6180-42a0-ab88-20f7382dd24c',
    description:
      'Grants full access to manage all resources, but does not allow you to assign roles in Azure RBAC, manage assignments in Azure Blueprints, or share image galleries.',
    actions: ['*'],
    notActions: [
      'Microsoft.Authorization/*/Delete',
      'Microsoft.Authorization/*/Write',
      'Microsoft.Authorization/elevateAccess/Action',
    ],
  },
  Reader: {
    id: 'acdd72a7-3385-48ef-bd42-f606fba81ae7',
    description: 'View all resources, but does not allow you to make any changes.',
    actions: ['*/read'],
    notActions: [],
  },
  'User Access Administrator': {
    id: '18d7d88d-d35e-4fb5-a5c3-7773c20a72d9',
    description: 'Lets you manage user access to Azure resources.',
    actions: ['*/read', 'Microsoft.Authorization/*', 'Microsoft.Support/*'],
    notActions: [],
  },
  'Managed Identity Contributor': {
    id: 'e40ec5ca-96e0-45a2-b4ff-59039f2c2b59',
    description: 'Create, Read, Update, and Delete User Assigned Identity',
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
    id: 'f1a07417-d97a-45cb-824c-7a7467783830',
    description: 'Read and Assign User Assigned Identity',
    actions: [
      'Microsoft.ManagedIdentity/userAssignedIdentities/*/read',
      'Microsoft.ManagedIdentity/userAssignedIdentities/*/assign/action',
      'Microsoft.ManagedIdentity/userAssignedIdentities/read',
      'Microsoft.Resources/subscriptions/resourceGroups/read',
    ],
    notActions: [],
  },
  'Azure Kubernetes Service Contributor Role': {
    id: 'ed7f3fbd-7b88-4dd4-9017-9adb7ce333f8',
    description: 'Grants access to read and write Azure Kubernetes Service clusters',
    actions: [
      `${AKS}/read`,
      `${AKS}/write`,
      'Microsoft.ContainerService/locations/operations/read',
      'Microsoft.Resources/subscriptions/resourceGroups/read',
    ],
    notActions: [],
  },
  'Azure Kubernetes Service Cluster User Role': {
    id: '4abbcc35-e782-43d8-92c5-2d3f1bd2253f',
    description: 'List cluster user credential action.',
    actions: [`${AKS}/listClusterUserCredential/action`, `${AKS}/read`],
    notActions: [],
  },
  'Azure Kubernetes Service Cluster Admin Role': {
    id: '0ab0b1a8-8aac-4efd-b8c2-3ee1fb270be8',
    description: 'List cluster admin credential action.',
    actions: [
      `${AKS}/listClusterAdminCredential/action`,
      `${AKS}/accessProfiles/listCredential/action`,
      `${AKS}/read`,
      `${AKS}/runcommand/action`,
    ],
    notActions: [],
  },
  'Azure Kubernetes Service RBAC Reader': {
    id: '7f6c6a51-bcf8-42ba-9220-52d62157d7db',
    description:
      'Allows read-only access to see most objects in a namespace. It does not allow viewing roles or role bindings. This role does not allow viewing Secrets.',
    actions: RBAC_READ_ACTIONS,
    notActions: [],
    dataActions: READER_DATA,
    notDataActions: [],
  },
  'Azure Kubernetes Service RBAC Writer': {
    id: 'a7ffa36f-339b-4b5c-8bdf-e2c188b2c0eb',
    description:
      'Allows read/write access to most objects in a namespace. This role does not allow viewing or modifying roles or role bindings.',
    actions: RBAC_READ_ACTIONS,
    notActions: [],
    dataActions: WRITER_DATA,
    notDataActions: [],
  },
  'Azure Kubernetes Service RBAC Admin': {
    id: '3498e952-d568-435e-9b2c-8d77e338d7f7',
    description:
      'Lets you manage all resources under cluster/namespace, except update or delete resource quotas and namespaces.',
    actions: RBAC_ADMIN_ACTIONS,
    notActions: [],
    dataActions: [`${AKS}/*`],
    notDataActions: [
      `${AKS}/resourcequotas/write`,
      `${AKS}/resourcequotas/delete`,
      `${AKS}/namespaces/write`,
      `${AKS}/namespaces/delete`,
    ],
  },
  'Azure Kubernetes Service RBAC Cluster Admin': {
    id: 'b1ff04bb-8a4e-4dc4-8eb5-8693973ce19b',
    description: 'Lets you manage all resources in the cluster.',
    actions: RBAC_ADMIN_ACTIONS,
    notActions: [],
    dataActions: [`${AKS}/*`],
    notDataActions: [],
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

/** Control-plane actions and data actions are separate: `*` in actions grants no data action. */
function grants(role: RoleDefinition, action: string, data: boolean): boolean {
  const allow = data ? (role.dataActions ?? []) : role.actions;
  const deny = data ? (role.notDataActions ?? []) : role.notActions;
  return allow.some((a) => wildcard(a, action)) && !deny.some((n) => wildcard(n, action));
}

/** Is `scope` equal to or below `assignmentScope` (case-insensitive, segment-wise)? */
export function scopeCovers(assignmentScope: string, scope: string): boolean {
  const a = assignmentScope.replace(/\/+$/, '').toLowerCase();
  const s = scope.replace(/\/+$/, '').toLowerCase();
  return a === '' || s === a || s.startsWith(`${a}/`);
}

function fromState(r: RoleDefinitionState): RoleDefinition {
  const p = r.permissions[0] ?? { actions: [] };
  return {
    id: r.id,
    description: r.description ?? '',
    actions: p.actions ?? [],
    notActions: p.notActions ?? [],
    dataActions: p.dataActions ?? [],
    notDataActions: p.notDataActions ?? [],
  };
}

/** A role by name or GUID: built-in first, then the tenant's custom roles. */
export function findRole(azure: AzureState, nameOrId: string): (RoleDefinition & { name: string }) | undefined {
  const key = nameOrId.toLowerCase();
  for (const [name, r] of Object.entries(ROLES)) if (name.toLowerCase() === key || r.id === key) return { ...r, name };
  const custom = (azure.roleDefinitions ?? []).find((r) => r.roleName.toLowerCase() === key || r.id === key);
  return custom ? { ...fromState(custom), name: custom.roleName } : undefined;
}

export function isAuthorized(
  azure: AzureState,
  principalId: string,
  action: string,
  scope: string,
  opts: { data?: boolean } = {},
): boolean {
  const pid = principalId.toLowerCase();
  return azure.roleAssignments.some((ra) => {
    if (ra.principalId.toLowerCase() !== pid || !scopeCovers(ra.scope, scope)) return false;
    const role = findRole(azure, ra.role);
    return !!role && grants(role, action, opts.data ?? false);
  });
}
