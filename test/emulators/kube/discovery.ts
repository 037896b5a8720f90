/**
 * API discovery as kubectl and client libraries read it: /version, /api, /apis, and one
 * APIResourceList per group/version (legacy, non-aggregated discovery; kubectl falls back to it).
 */
import type { ResourceDef } from './resources';
import { sortVersions, SUBRESOURCES } from './resources';

/** Groups served without a stored resource (reviews). */
const VIRTUAL_GROUPS: Record<string, { version: string; resources: Record<string, unknown>[] }> = {
  'authentication.k8s.io': {
    version: 'v1',
    resources: [
      {
        name: 'selfsubjectreviews',
        singularName: 'selfsubjectreview',
        namespaced: false,
        kind: 'SelfSubjectReview',
        verbs: ['create'],
      },
      { name: 'tokenreviews', singularName: 'tokenreview', namespaced: false, kind: 'TokenReview', verbs: ['create'] },
    ],
  },
  'authorization.k8s.io': {
    version: 'v1',
    resources: [
      {
        name: 'selfsubjectaccessreviews',
        singularName: 'selfsubjectaccessreview',
        namespaced: false,
        kind: 'SelfSubjectAccessReview',
        verbs: ['create'],
      },
    ],
  },
};

export function versionInfo(kubernetesVersion: string): Record<string, string> {
  const [major, minor] = kubernetesVersion.replace(/^v/, '').split('.');
  return {
    major: major ?? '1',
    minor: minor ?? '32',
    gitVersion: `v${kubernetesVersion.replace(/^v/, '')}`,
    gitCommit: '5f0cf3b8e0d2a8d54f8e3c6e2b3f27a5e1e9c3a4',
    gitTreeState: 'clean',
    buildDate: '2025-04-22T16:02:13Z',
    goVersion: 'go1.23.6',
    compiler: 'gc',
    platform: 'linux/amd64',
  };
}

export function apiVersions(): Record<string, unknown> {
  return {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: '10.224.0.4:443' }],
  };
}

function groupsOf(resources: ResourceDef[]): Map<string, string[]> {
  const groups = new Map<string, Set<string>>();
  for (const d of resources) {
    if (!d.group) continue;
    const s = groups.get(d.group) ?? new Set<string>();
    d.versions.forEach((v) => s.add(v));
    groups.set(d.group, s);
  }
  for (const [g, v] of Object.entries(VIRTUAL_GROUPS)) groups.set(g, new Set([...(groups.get(g) ?? []), v.version]));
  return new Map(
    [...groups.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([g, s]) => [g, sortVersions([...s])]),
  );
}

function groupEntry(name: string, versions: string[]): Record<string, unknown> {
  const vs = versions.map((v) => ({ groupVersion: `${name}/${v}`, version: v }));
  return { name, versions: vs, preferredVersion: vs[0] };
}

export function apiGroupList(resources: ResourceDef[]): Record<string, unknown> {
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: [...groupsOf(resources)].map(([g, v]) => groupEntry(g, v)) };
}

export function apiGroup(resources: ResourceDef[], group: string): Record<string, unknown> | undefined {
  const versions = groupsOf(resources).get(group);
  return versions ? { kind: 'APIGroup', apiVersion: 'v1', ...groupEntry(group, versions) } : undefined;
}

export function apiResourceList(
  resources: ResourceDef[],
  group: string,
  version: string,
): Record<string, unknown> | undefined {
  const list: Record<string, unknown>[] = [];
  for (const d of resources) {
    if (d.group !== group || !d.versions.includes(version)) continue;
    const entry: Record<string, unknown> = {
      name: d.plural,
      singularName: d.singular,
      namespaced: d.namespaced,
      kind: d.kind,
      verbs: d.verbs,
    };
    if (d.shortNames?.length) entry.shortNames = d.shortNames;
    if (d.categories?.length) entry.categories = d.categories;
    list.push(entry);
    if (d.statusSubresource && !SUBRESOURCES[d.plural])
      list.push({
        name: `${d.plural}/status`,
        singularName: '',
        namespaced: d.namespaced,
        kind: d.kind,
        verbs: ['get', 'patch', 'update'],
      });
    for (const s of SUBRESOURCES[d.plural] ?? []) {
      list.push({
        name: `${d.plural}/${s.sub}`,
        singularName: '',
        namespaced: d.namespaced,
        ...(s.group ? { group: s.group, version: s.version } : {}),
        kind: s.kind,
        verbs: s.verbs,
      });
    }
  }
  const virtual = VIRTUAL_GROUPS[group];
  if (virtual && virtual.version === version) list.push(...virtual.resources);
  if (list.length === 0) return undefined;
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: group ? `${group}/${version}` : version,
    resources: list,
  };
}

/**
 * OpenAPI v3, reduced to what kubectl reads: the index of group-versions and, per group-version, a
 * PATCH operation per kind declaring the `fieldValidation` query parameter (so kubectl validates
 * server-side instead of downloading schemas) and the kind's x-kubernetes-group-version-kind.
 */
export function openApiV3Index(resources: ResourceDef[]): Record<string, unknown> {
  const paths: Record<string, { serverRelativeURL: string }> = {
    'api/v1': { serverRelativeURL: '/openapi/v3/api/v1?hash=emulated' },
  };
  for (const [g, versions] of groupsOf(resources)) {
    for (const v of versions)
      paths[`apis/${g}/${v}`] = { serverRelativeURL: `/openapi/v3/apis/${g}/${v}?hash=emulated` };
  }
  return { paths };
}

export function openApiV3Document(
  resources: ResourceDef[],
  group: string,
  version: string,
): Record<string, unknown> | undefined {
  const paths: Record<string, unknown> = {};
  const prefix = group ? `/apis/${group}/${version}` : `/api/${version}`;
  for (const d of resources) {
    if (d.group !== group || !d.versions.includes(version)) continue;
    const path = d.namespaced ? `${prefix}/namespaces/{namespace}/${d.plural}/{name}` : `${prefix}/${d.plural}/{name}`;
    paths[path] = {
      patch: {
        'x-kubernetes-action': 'patch',
        'x-kubernetes-group-version-kind': { group, kind: d.kind, version },
        parameters: [
          { name: 'dryRun', in: 'query', schema: { type: 'string', uniqueItems: true } },
          { name: 'fieldManager', in: 'query', schema: { type: 'string', uniqueItems: true } },
          { name: 'fieldValidation', in: 'query', schema: { type: 'string', uniqueItems: true } },
          { name: 'force', in: 'query', schema: { type: 'boolean', uniqueItems: true } },
        ],
        responses: { 200: { description: 'OK' } },
      },
    };
  }
  if (Object.keys(paths).length === 0) return undefined;
  return { openapi: '3.0.0', info: { title: 'Kubernetes', version: 'v1.32.4' }, paths, components: { schemas: {} } };
}
