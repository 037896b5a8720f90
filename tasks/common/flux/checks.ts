/**
 * What the rendered flux-system folder must contain after patching, and the check itself. Used
 * on `kubectl kustomize` output and on our own simulation of the patches (when kubectl is absent,
 * and always as a pre-write self-check).
 */
import { getPath, isRecord, meta, type KubeObject } from './manifests';
import { WI_CLIENT_ID, WI_TENANT_ID, WI_USE } from './patches';

export interface Expectations {
  serviceAccounts: { name: string; namespace: string; clientId: string; tenantId?: string }[];
  deployments: { name: string; namespace: string }[];
  gitRepository: { name: string; namespace: string; url: string };
}

function find(objects: readonly KubeObject[], kind: string, name: string, namespace: string): KubeObject | undefined {
  const named = objects.filter((o) => o.kind === kind && meta(o).name === name);
  // A namespace transformer in the kustomization may have moved them; the name is what counts then.
  return named.find((o) => meta(o).namespace === namespace) ?? (named.length === 1 ? named[0] : undefined);
}

/** Problems found, one sentence each; [] when everything carries the intended fields. */
export function checkObjects(objects: readonly KubeObject[], expect: Expectations): string[] {
  const problems: string[] = [];
  for (const sa of expect.serviceAccounts) {
    const obj = find(objects, 'ServiceAccount', sa.name, sa.namespace);
    if (!obj) {
      problems.push(`ServiceAccount ${sa.namespace}/${sa.name} is missing from the output`);
      continue;
    }
    const { annotations } = meta(obj);
    if (annotations[WI_CLIENT_ID] !== sa.clientId) {
      problems.push(
        `ServiceAccount ${sa.name} has ${WI_CLIENT_ID}=${String(annotations[WI_CLIENT_ID] ?? '(none)')}, expected ${sa.clientId}`,
      );
    }
    if (sa.tenantId && annotations[WI_TENANT_ID] !== sa.tenantId) {
      problems.push(
        `ServiceAccount ${sa.name} has ${WI_TENANT_ID}=${String(annotations[WI_TENANT_ID] ?? '(none)')}, expected ${sa.tenantId}`,
      );
    }
  }
  for (const d of expect.deployments) {
    const obj = find(objects, 'Deployment', d.name, d.namespace);
    if (!obj) {
      problems.push(`Deployment ${d.namespace}/${d.name} is missing from the output`);
      continue;
    }
    const labels = getPath(obj, 'spec', 'template', 'metadata', 'labels');
    const value = isRecord(labels) ? labels[WI_USE] : undefined;
    if (value !== 'true') problems.push(`Deployment ${d.name}'s pod template has no ${WI_USE}: "true" label`);
  }
  const g = expect.gitRepository;
  const repo = find(objects, 'GitRepository', g.name, g.namespace);
  if (!repo) problems.push(`GitRepository ${g.namespace}/${g.name} is missing from the output`);
  else {
    if (getPath(repo, 'spec', 'provider') !== 'azure')
      problems.push(
        `GitRepository ${g.name} has spec.provider ${String(getPath(repo, 'spec', 'provider') ?? '(none)')}, expected azure`,
      );
    if (getPath(repo, 'spec', 'secretRef') !== undefined)
      problems.push(
        `GitRepository ${g.name} still has spec.secretRef (Flux refuses a secret together with provider azure)`,
      );
    if (getPath(repo, 'spec', 'url') !== g.url)
      problems.push(`GitRepository ${g.name} has url ${String(getPath(repo, 'spec', 'url'))}, expected ${g.url}`);
    if (repo.apiVersion !== 'source.toolkit.fluxcd.io/v1')
      problems.push(
        `GitRepository ${g.name} is ${String(repo.apiVersion)}; spec.provider exists only in source.toolkit.fluxcd.io/v1`,
      );
  }
  return problems;
}
