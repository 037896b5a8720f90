/**
 * Which resources a cluster serves: a fixed set of built-in kinds plus whatever the
 * CustomResourceDefinition objects in the cluster declare (Flux's CRDs come with
 * gotk-components.yaml, so the Flux APIs a cluster serves, and the fields they keep, follow the
 * installed Flux version exactly as on a real cluster).
 */
import { FLUX_SHORT_NAMES, knownFluxColumns, knownFluxSchema } from './flux/install';
import type { KubeObject } from './model';

export interface PrinterColumn {
  name: string;
  type: string;
  jsonPath: string;
  priority?: number;
  format?: string;
  description?: string;
}

/** A structural OpenAPI schema, only the parts used for pruning and enum validation. */
export interface Schema {
  type?: string;
  properties?: Record<string, Schema>;
  items?: Schema;
  additionalProperties?: Schema | boolean;
  enum?: unknown[];
  pattern?: string;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  [k: string]: unknown;
}

export interface ResourceDef {
  /** '' for the core group. */
  group: string;
  /** Served versions, preferred first. */
  versions: string[];
  storageVersion: string;
  kind: string;
  listKind: string;
  plural: string;
  singular: string;
  namespaced: boolean;
  shortNames?: string[];
  categories?: string[];
  /** Built-in kinds accept strategic-merge patches; custom resources do not (415). */
  builtin: boolean;
  /** metadata.generation counts spec changes (Deployments and custom resources). */
  generation: boolean;
  /** Writes to the main resource ignore .status; /status writes only .status. */
  statusSubresource: boolean;
  /** Per-version schema (custom resources). */
  schemas?: Record<string, Schema | undefined>;
  /** Per-version printer columns (custom resources); built-ins use table.ts. */
  columns?: Record<string, PrinterColumn[]>;
  /** Verbs for discovery. */
  verbs: string[];
}

const RW = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

function builtin(
  group: string,
  version: string,
  kind: string,
  plural: string,
  namespaced: boolean,
  extra: Partial<ResourceDef> = {},
): ResourceDef {
  return {
    group,
    versions: [version],
    storageVersion: version,
    kind,
    listKind: `${kind}List`,
    plural,
    singular: kind.toLowerCase(),
    namespaced,
    builtin: true,
    generation: false,
    statusSubresource: false,
    verbs: RW,
    ...extra,
  };
}

/** Built-in kinds the emulated clusters serve (what Flux manifests and the product touch). */
export const BUILTIN_RESOURCES: ResourceDef[] = [
  builtin('', 'v1', 'Namespace', 'namespaces', false, {
    shortNames: ['ns'],
    statusSubresource: true,
    verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
  }),
  builtin('', 'v1', 'ServiceAccount', 'serviceaccounts', true, { shortNames: ['sa'] }),
  builtin('', 'v1', 'Secret', 'secrets', true),
  builtin('', 'v1', 'ConfigMap', 'configmaps', true, { shortNames: ['cm'] }),
  builtin('', 'v1', 'Service', 'services', true, { shortNames: ['svc'], statusSubresource: true, categories: ['all'] }),
  builtin('', 'v1', 'Pod', 'pods', true, { shortNames: ['po'], statusSubresource: true, categories: ['all'] }),
  builtin('', 'v1', 'Event', 'events', true, { shortNames: ['ev'] }),
  builtin('', 'v1', 'ResourceQuota', 'resourcequotas', true, { shortNames: ['quota'], statusSubresource: true }),
  builtin('apps', 'v1', 'Deployment', 'deployments', true, {
    shortNames: ['deploy'],
    generation: true,
    statusSubresource: true,
    categories: ['all'],
  }),
  builtin('rbac.authorization.k8s.io', 'v1', 'ClusterRole', 'clusterroles', false),
  builtin('rbac.authorization.k8s.io', 'v1', 'ClusterRoleBinding', 'clusterrolebindings', false),
  builtin('rbac.authorization.k8s.io', 'v1', 'Role', 'roles', true),
  builtin('rbac.authorization.k8s.io', 'v1', 'RoleBinding', 'rolebindings', true),
  builtin('networking.k8s.io', 'v1', 'NetworkPolicy', 'networkpolicies', true, { shortNames: ['netpol'] }),
  builtin('apiextensions.k8s.io', 'v1', 'CustomResourceDefinition', 'customresourcedefinitions', false, {
    shortNames: ['crd', 'crds'],
    generation: true,
    statusSubresource: true,
  }),
];

/** Subresources with their own verbs (discovery lists them; RBAC checks them). */
export const SUBRESOURCES: Record<
  string,
  { sub: string; kind: string; group?: string; version?: string; verbs: string[] }[]
> = {
  serviceaccounts: [
    { sub: 'token', kind: 'TokenRequest', group: 'authentication.k8s.io', version: 'v1', verbs: ['create'] },
  ],
  pods: [
    { sub: 'status', kind: 'Pod', verbs: ['get', 'patch', 'update'] },
    { sub: 'log', kind: 'Pod', verbs: ['get'] },
  ],
  deployments: [{ sub: 'status', kind: 'Deployment', verbs: ['get', 'patch', 'update'] }],
  namespaces: [{ sub: 'status', kind: 'Namespace', verbs: ['get', 'patch', 'update'] }],
};

interface CrdVersion {
  name: string;
  served?: boolean;
  storage?: boolean;
  schema?: { openAPIV3Schema?: Schema };
  subresources?: { status?: unknown };
  additionalPrinterColumns?: PrinterColumn[];
}

/** The resource a CustomResourceDefinition object declares (undefined when malformed). */
export function resourceFromCrd(crd: KubeObject): ResourceDef | undefined {
  const spec = crd.spec as
    | {
        group?: string;
        scope?: string;
        versions?: CrdVersion[];
        names?: {
          kind?: string;
          listKind?: string;
          plural?: string;
          singular?: string;
          shortNames?: string[];
          categories?: string[];
        };
      }
    | undefined;
  if (!spec?.group || !spec.names?.kind || !spec.names.plural || !Array.isArray(spec.versions)) return undefined;
  const served = spec.versions.filter((v) => v.served !== false);
  if (served.length === 0) return undefined;
  const storage = spec.versions.find((v) => v.storage) ?? served[0]!;
  const schemas: Record<string, Schema | undefined> = {};
  const columns: Record<string, PrinterColumn[]> = {};
  const fluxVersion = crd.metadata.labels?.['app.kubernetes.io/version'];
  for (const v of served) {
    const declared = v.schema?.openAPIV3Schema;
    const abbreviated =
      !declared || (declared['x-kubernetes-preserve-unknown-fields'] === true && !declared.properties);
    schemas[v.name] =
      (abbreviated ? knownFluxSchema(spec.group, spec.names.kind, v.name, fluxVersion) : undefined) ?? declared;
    columns[v.name] = v.additionalPrinterColumns ?? knownFluxColumns(spec.group, spec.names.kind, v.name) ?? [];
  }
  return {
    group: spec.group,
    versions: sortVersions(served.map((v) => v.name)),
    storageVersion: storage.name,
    kind: spec.names.kind,
    listKind: spec.names.listKind ?? `${spec.names.kind}List`,
    plural: spec.names.plural,
    singular: spec.names.singular ?? spec.names.kind.toLowerCase(),
    namespaced: spec.scope !== 'Cluster',
    shortNames:
      spec.names.shortNames ??
      (spec.group.endsWith('.toolkit.fluxcd.io') ? FLUX_SHORT_NAMES[spec.names.kind] : undefined),
    categories: spec.names.categories,
    builtin: false,
    generation: true,
    statusSubresource: served.some((v) => v.subresources?.status !== undefined),
    schemas,
    columns,
    verbs: RW,
  };
}

/** Kubernetes version priority: GA > beta > alpha, higher numbers first. */
export function sortVersions(versions: string[]): string[] {
  const rank = (v: string): [number, number, number] => {
    const m = /^v(\d+)(?:(alpha|beta)(\d+))?$/.exec(v);
    if (!m) return [0, 0, 0];
    const stage = m[2] === undefined ? 3 : m[2] === 'beta' ? 2 : 1;
    return [stage, Number(m[1]), Number(m[3] ?? 0)];
  };
  return [...versions].sort((a, b) => {
    const ra = rank(a);
    const rb = rank(b);
    for (let i = 0; i < 3; i++) if (ra[i] !== rb[i]) return rb[i]! - ra[i]!;
    return a.localeCompare(b);
  });
}

/** "group/resource" as the API server names it in messages: `gitrepositories.source.toolkit.fluxcd.io`, `pods`. */
export function qualifiedResource(def: ResourceDef): string {
  return def.group ? `${def.plural}.${def.group}` : def.plural;
}

export function apiVersionOf(def: ResourceDef, version: string): string {
  return def.group ? `${def.group}/${version}` : version;
}

/** Splits an apiVersion into group and version. */
export function splitApiVersion(apiVersion: string): { group: string; version: string } {
  const i = apiVersion.lastIndexOf('/');
  return i < 0
    ? { group: '', version: apiVersion }
    : { group: apiVersion.slice(0, i), version: apiVersion.slice(i + 1) };
}

/**
 * Drops fields the schema does not declare (structural pruning, as the API server does for custom
 * resources on every write and read). metadata, apiVersion and kind are never pruned.
 */
export function prune(value: unknown, schema: Schema | undefined, top = true): unknown {
  if (!schema || schema['x-kubernetes-preserve-unknown-fields']) return value;
  if (Array.isArray(value)) return schema.items ? value.map((v) => prune(v, schema.items, false)) : value;
  if (value === null || typeof value !== 'object') return value;
  const obj = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) {
    if (top && (k === 'metadata' || k === 'apiVersion' || k === 'kind')) {
      out[k] = v;
      continue;
    }
    if (schema.properties) {
      if (k in schema.properties) out[k] = prune(v, schema.properties[k], false);
    } else if (schema.additionalProperties && typeof schema.additionalProperties === 'object') {
      out[k] = prune(v, schema.additionalProperties, false);
    } else if (schema.additionalProperties === true || schema.type !== 'object') {
      out[k] = v;
    }
  }
  return out;
}

/** Enum violations as the API server words them: `spec.provider: Unsupported value: "x": supported values: "generic", "azure"`. */
export function enumViolations(value: unknown, schema: Schema | undefined, path = ''): string[] {
  if (!schema || value === undefined || value === null) return [];
  const out: string[] = [];
  if (schema.enum && !schema.enum.includes(value)) {
    out.push(
      `${path}: Unsupported value: ${JSON.stringify(value)}: supported values: ${schema.enum.map((e) => JSON.stringify(e)).join(', ')}`,
    );
  }
  // OpenAPI `pattern` on strings, with the apiextensions validator's message
  // (https://kubernetes.io/docs/tasks/extend-kubernetes/custom-resources/custom-resource-definitions/#validation).
  if (typeof schema.pattern === 'string' && typeof value === 'string' && !new RegExp(schema.pattern, 'u').test(value)) {
    out.push(`${path}: Invalid value: ${JSON.stringify(value)}: ${path} in body should match '${schema.pattern}'`);
  }
  if (schema.properties && typeof value === 'object' && !Array.isArray(value)) {
    for (const [k, s] of Object.entries(schema.properties)) {
      if (path === '' && k === 'metadata') continue;
      out.push(...enumViolations((value as Record<string, unknown>)[k], s, path ? `${path}.${k}` : k));
    }
  }
  if (schema.items && Array.isArray(value))
    value.forEach((v, i) => out.push(...enumViolations(v, schema.items, `${path}[${i}]`)));
  return out;
}
