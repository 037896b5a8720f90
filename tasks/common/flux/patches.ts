/**
 * The patches this task owns: their content (deterministic text, so a re-run produces the same
 * bytes and a lost push race re-applies identically), and how to recognise them again.
 *
 * Three inline `patches:` entries, each a strategic-merge patch with a `target`:
 *  - ServiceAccounts: `azure.workload.identity/client-id` (+ `tenant-id`) annotations and the
 *    `azure.workload.identity/use: "true"` label;
 *  - Deployments: the label on the POD TEMPLATE (the webhook only looks at pods);
 *  - GitRepository: `provider: azure`, `secretRef: null` (removes it, and is a no-op when it is
 *    already gone, unlike a JSON 6902 remove) and, when bootstrap used SSH or visualstudio.com, the
 *    `https://dev.azure.com/...` url. A patch, not an edit of gotk-sync.yaml: bootstrap rewrites
 *    that file but keeps kustomization.yaml.
 * The first line of each patch is a marker comment; it is how a re-run finds and updates them.
 */
import type { Selector } from './kustomize-sim';

export const WI_CLIENT_ID = 'azure.workload.identity/client-id';
export const WI_TENANT_ID = 'azure.workload.identity/tenant-id';
export const WI_USE = 'azure.workload.identity/use';
export const SOURCE_GROUP = 'source.toolkit.fluxcd.io';

export const MARKER =
  '# Managed by the FluxManifestPatch task (Flux OIDC for Azure DevOps); re-runs update this patch.';
const MARKER_RE = /^[ \t]*#.*\bFluxManifestPatch\b/m;

export type PatchRole = 'serviceAccounts' | 'deployments' | 'gitRepository';

export interface OurPatch {
  role: PatchRole;
  target: Selector;
  /** The patch document, marker comment first, lines joined with '\n', no trailing newline. */
  text: string;
}

/** Whether a patch's text carries our marker. */
export function isOurs(patchText: string): boolean {
  return MARKER_RE.test(patchText);
}

/** A kustomize name regex for a set of names (kustomize anchors it). */
export function nameSelector(names: readonly string[]): string {
  // Object names are DNS-1123 ([a-z0-9.-]); a '.' would be a regex wildcard, so bracket it.
  const esc = names.map((n) => n.replace(/\./g, '[.]'));
  return esc.length === 1 ? esc[0] : `(${esc.join('|')})`;
}

export function serviceAccountPatch(
  names: readonly string[],
  namespace: string,
  clientId: string,
  tenantId: string | undefined,
): OurPatch {
  const lines = [
    MARKER,
    'apiVersion: v1',
    'kind: ServiceAccount',
    'metadata:',
    `  name: ${names.length === 1 ? names[0] : 'flux-controllers'}`,
    '  annotations:',
    `    ${WI_CLIENT_ID}: ${clientId}`,
    ...(tenantId ? [`    ${WI_TENANT_ID}: ${tenantId}`] : []),
    '  labels:',
    `    ${WI_USE}: "true"`,
  ];
  return {
    role: 'serviceAccounts',
    target: { kind: 'ServiceAccount', name: nameSelector(names), namespace },
    text: lines.join('\n'),
  };
}

export function deploymentPatch(names: readonly string[], namespace: string): OurPatch {
  const lines = [
    MARKER,
    'apiVersion: apps/v1',
    'kind: Deployment',
    'metadata:',
    `  name: ${names.length === 1 ? names[0] : 'flux-controllers'}`,
    'spec:',
    '  template:',
    '    metadata:',
    '      labels:',
    `        ${WI_USE}: "true"`,
  ];
  return {
    role: 'deployments',
    target: { kind: 'Deployment', name: nameSelector(names), namespace },
    text: lines.join('\n'),
  };
}

export function gitRepositoryPatch(name: string, namespace: string, url: string | undefined): OurPatch {
  const lines = [
    MARKER,
    `apiVersion: ${SOURCE_GROUP}/v1`,
    'kind: GitRepository',
    'metadata:',
    `  name: ${name}`,
    'spec:',
    '  provider: azure',
    '  secretRef: null',
    ...(url ? [`  url: ${url}`] : []),
  ];
  return {
    role: 'gitRepository',
    target: { group: SOURCE_GROUP, kind: 'GitRepository', name: nameSelector([name]), namespace },
    text: lines.join('\n'),
  };
}

/** The role of one of our patches, from the kind it patches. */
export function roleOfKind(kind: unknown): PatchRole | undefined {
  if (kind === 'ServiceAccount') return 'serviceAccounts';
  if (kind === 'Deployment') return 'deployments';
  if (kind === 'GitRepository') return 'gitRepository';
  return undefined;
}
