/**
 * RBAC as the API server evaluates it: ClusterRoles / Roles and their bindings are ordinary objects
 * in the cluster (the built-in cluster-admin / admin / edit / view roles are created with the
 * cluster, simplified to the resources the emulator serves); `system:masters` bypasses RBAC. A
 * denied request gets the real Forbidden message.
 */
import type { KubeObject } from './model';
import type { ResourceDef } from './resources';
import { statusError } from './status';
import type { Store } from './store';

export interface UserInfo {
  name: string;
  groups: string[];
  /** The Entra object id when an Entra access token authenticated the caller (Azure RBAC applies). */
  entraObjectId?: string;
}

export interface Rule {
  apiGroups?: string[];
  resources?: string[];
  verbs: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

const READ = ['get', 'list', 'watch'];
const WRITE = ['create', 'delete', 'deletecollection', 'patch', 'update'];
const FLUX_GROUPS = [
  'source.toolkit.fluxcd.io',
  'kustomize.toolkit.fluxcd.io',
  'helm.toolkit.fluxcd.io',
  'notification.toolkit.fluxcd.io',
  'image.toolkit.fluxcd.io',
];
const VIEWABLE_CORE = [
  'pods',
  'pods/status',
  'pods/log',
  'services',
  'configmaps',
  'serviceaccounts',
  'namespaces',
  'events',
  'resourcequotas',
];

const viewRules: Rule[] = [
  { apiGroups: [''], resources: VIEWABLE_CORE, verbs: READ },
  { apiGroups: ['apps'], resources: ['deployments', 'deployments/status'], verbs: READ },
  { apiGroups: ['networking.k8s.io'], resources: ['networkpolicies'], verbs: READ },
  // Flux's flux-view ClusterRole aggregates into view.
  { apiGroups: FLUX_GROUPS, resources: ['*'], verbs: READ },
];
const editRules: Rule[] = [
  ...viewRules,
  {
    apiGroups: [''],
    resources: ['pods', 'services', 'configmaps', 'serviceaccounts', 'secrets'],
    verbs: [...READ, ...WRITE],
  },
  { apiGroups: [''], resources: ['serviceaccounts/token'], verbs: ['create'] },
  { apiGroups: ['apps'], resources: ['deployments'], verbs: [...READ, ...WRITE] },
  { apiGroups: ['networking.k8s.io'], resources: ['networkpolicies'], verbs: [...READ, ...WRITE] },
  { apiGroups: FLUX_GROUPS, resources: ['*'], verbs: [...READ, ...WRITE] },
];
const adminRules: Rule[] = [
  ...editRules,
  { apiGroups: ['rbac.authorization.k8s.io'], resources: ['roles', 'rolebindings'], verbs: [...READ, ...WRITE] },
];

/** The built-in ClusterRoles, created with every cluster. */
export function builtinClusterRoles(): KubeObject[] {
  const role = (name: string, rules: Rule[]): KubeObject => ({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: {
      name,
      labels: { 'kubernetes.io/bootstrapping': 'rbac-defaults' },
      annotations: { 'rbac.authorization.kubernetes.io/autoupdate': 'true' },
    },
    rules,
  });
  return [
    role('cluster-admin', [
      { apiGroups: ['*'], resources: ['*'], verbs: ['*'] },
      { nonResourceURLs: ['*'], verbs: ['*'] },
    ]),
    role('admin', adminRules),
    role('edit', editRules),
    role('view', viewRules),
    role('system:service-account-issuer-discovery', [
      { nonResourceURLs: ['/.well-known/openid-configuration', '/openid/v1/jwks'], verbs: ['get'] },
    ]),
  ];
}

/** The default bindings of the built-in roles the emulator models (service-account issuer discovery). */
export function builtinClusterRoleBindings(): KubeObject[] {
  return [
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: {
        name: 'system:service-account-issuer-discovery',
        labels: { 'kubernetes.io/bootstrapping': 'rbac-defaults' },
        annotations: { 'rbac.authorization.kubernetes.io/autoupdate': 'true' },
      },
      roleRef: {
        apiGroup: 'rbac.authorization.k8s.io',
        kind: 'ClusterRole',
        name: 'system:service-account-issuer-discovery',
      },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'system:serviceaccounts' }],
    },
  ];
}

export interface Attributes {
  verb: string;
  /** API group ('' for core). */
  group: string;
  /** Plural resource name (`users`, `groups` for impersonation). */
  resource: string;
  /** `token`, `status`, ... */
  subresource?: string;
  namespace?: string;
  name?: string;
  /** A non-resource request (`/openid/v1/jwks`): matched against the rules' nonResourceURLs. */
  path?: string;
}

/** The attributes of a request on a served resource. */
export function resourceAttributes(
  verb: string,
  def: ResourceDef,
  t: { subresource?: string; namespace?: string; name?: string },
): Attributes {
  return {
    verb,
    group: def.group,
    resource: def.plural,
    ...(t.subresource ? { subresource: t.subresource } : {}),
    ...(t.namespace ? { namespace: t.namespace } : {}),
    ...(t.name ? { name: t.name } : {}),
  };
}

function ruleAllows(r: Rule, a: Attributes): boolean {
  if (a.path !== undefined) {
    const urls = r.nonResourceURLs ?? [];
    const path = a.path;
    const urlOk = urls.some((u) => u === '*' || u === path || (u.endsWith('*') && path.startsWith(u.slice(0, -1))));
    return urlOk && (r.verbs.includes('*') || r.verbs.includes(a.verb));
  }
  if (r.nonResourceURLs) return false;
  const resource = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  const has = (list: string[] | undefined, v: string) => !!list && (list.includes('*') || list.includes(v));
  if (!has(r.verbs, a.verb)) return false;
  if (!has(r.apiGroups, a.group)) return false;
  const resOk = has(r.resources, resource) || (!!a.subresource && !!r.resources?.includes(`*/${a.subresource}`));
  if (!resOk) return false;
  if (r.resourceNames && r.resourceNames.length > 0) return !!a.name && r.resourceNames.includes(a.name);
  return true;
}

function subjectMatches(subjects: unknown, user: UserInfo, bindingNamespace: string | undefined): boolean {
  if (!Array.isArray(subjects)) return false;
  return subjects.some((s: { kind?: string; name?: string; namespace?: string }) => {
    if (s.kind === 'User') return s.name === user.name;
    if (s.kind === 'Group') return !!s.name && user.groups.includes(s.name);
    if (s.kind === 'ServiceAccount')
      return user.name === `system:serviceaccount:${s.namespace ?? bindingNamespace}:${s.name}`;
    return false;
  });
}

function rulesOf(store: Store, roleRef: { kind?: string; name?: string }, namespace: string | undefined): Rule[] {
  const kind = roleRef.kind === 'Role' ? 'Role' : 'ClusterRole';
  const def = store.byKind('rbac.authorization.k8s.io', kind);
  if (!def || !roleRef.name) return [];
  const role = store.get(def, kind === 'Role' ? namespace : undefined, roleRef.name);
  return (role?.rules as Rule[] | undefined) ?? [];
}

/** Kubernetes RBAC (https://kubernetes.io/docs/reference/access-authn-authz/rbac/): any binding's rule allows. */
export function authorize(store: Store, user: UserInfo, a: Attributes): boolean {
  if (user.groups.includes('system:masters')) return true;
  const crb = store.byKind('rbac.authorization.k8s.io', 'ClusterRoleBinding')!;
  for (const b of store.list(crb)) {
    if (!subjectMatches(b.subjects, user, undefined)) continue;
    if (rulesOf(store, b.roleRef as object, undefined).some((r) => ruleAllows(r, a))) return true;
  }
  if (a.namespace) {
    const rb = store.byKind('rbac.authorization.k8s.io', 'RoleBinding')!;
    for (const b of store.list(rb, a.namespace)) {
      if (!subjectMatches(b.subjects, user, a.namespace)) continue;
      if (rulesOf(store, b.roleRef as object, a.namespace).some((r) => ruleAllows(r, a))) return true;
    }
  }
  return false;
}

/** `serviceaccounts "x" is forbidden: User "y" cannot patch resource "serviceaccounts" in API group "" in the namespace "z"`. */
export function forbidden(user: UserInfo, a: Attributes, reason?: string) {
  const resource = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  const qualified = a.group ? `${a.resource}.${a.group}` : a.resource;
  const subject = a.name ? `${qualified} "${a.name}"` : qualified;
  const scope = a.namespace ? `in the namespace "${a.namespace}"` : 'at the cluster scope';
  const message = `${subject} is forbidden: User "${user.name}" cannot ${a.verb} resource "${resource}" in API group "${a.group}" ${scope}${reason ? `: ${reason}` : ''}`;
  return statusError(403, 'Forbidden', message, {
    ...(a.name ? { name: a.name } : {}),
    ...(a.group ? { group: a.group } : {}),
    kind: a.resource,
  });
}
