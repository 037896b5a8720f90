/**
 * kustomize-controller's Kustomization reconcile: take the source's artifact (the fetched commit's
 * tree), generate a kustomization.yaml when the path has none (as Flux does), render it with the
 * REAL `kubectl kustomize`, apply the objects server-side as `kustomize-controller` (fields it
 * stops applying are removed, so the repository's patches are what shape the cluster), prune what
 * left the inventory, and report Ready with the controller's reasons and messages.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { admit, viewAt } from '../admission';
import { HttpError } from '../../core/host';
import type { KubeObject } from '../model';
import { clone, serverSideApply } from '../patch';
import { splitApiVersion } from '../resources';
import type { ControllerInfo } from './auth';
import { finishReconcile, markFailed, markReady, markReconciling } from './conditions';
import type { FluxRuntime } from './controllers';
import type { Artifact } from './source';
import { shaOfRevision } from './source';

interface KustomizationSpec {
  path?: string;
  prune?: boolean;
  sourceRef?: { kind?: string; name?: string; namespace?: string };
  targetNamespace?: string;
  suspend?: boolean;
  timeout?: string;
  interval?: string;
}

interface InventoryEntry {
  id: string;
  v: string;
}

const FIELD_MANAGER = 'kustomize-controller';
/** Managers whose fields kustomize-controller takes over on apply (its SSA cleanup), so drift from them is undone. */
const TAKE_OVER = ['flux', 'kubectl', 'kubectl-client-side-apply', 'before-first-apply'];

/**
 * Rendered output per (commit, path): the same revision always renders the same objects, and
 * kubectl kustomize of a full gotk-components.yaml costs a second on a busy machine.
 */
const buildCache = new Map<string, string>();

/** kustomize's error, from kubectl's stderr (`error: …` or klog's `"command failed" err="…"`). */
export function kustomizeError(stderr: string): string {
  const klog = /"command failed" err="((?:[^"\\]|\\.)*)"/.exec(stderr);
  if (klog) {
    try {
      return JSON.parse(`"${klog[1]}"`) as string;
    } catch {
      return klog[1]!;
    }
  }
  return stderr.trim().replace(/^error: /, '');
}

function kustomizeBuild(dir: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      'kubectl',
      ['kustomize', '--load-restrictor', 'LoadRestrictionsNone', dir],
      {
        maxBuffer: 128 * 1024 * 1024,
        env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', KUBECONFIG: '/dev/null' },
      },
      (err, stdout, stderr) => {
        if (err) reject(new Error(kustomizeError(String(stderr || err.message))));
        else resolve(String(stdout));
      },
    );
  });
}

/** Flux's generator: with no kustomization file, every manifest file and every sub-folder that has one. */
function generateKustomization(dirPath: string): void {
  for (const f of ['kustomization.yaml', 'kustomization.yml', 'Kustomization'])
    if (fs.existsSync(path.join(dirPath, f))) return;
  const resources: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) {
        if (['kustomization.yaml', 'kustomization.yml', 'Kustomization'].some((f) => fs.existsSync(path.join(p, f))))
          resources.push(p);
        else walk(p);
      } else if (/\.ya?ml$/.test(e.name)) {
        const docs = parseAllDocuments(fs.readFileSync(p, 'utf8'));
        if (
          docs.some((doc) => {
            const j = doc.toJS() as { apiVersion?: unknown; kind?: unknown } | null;
            return !!j && typeof j === 'object' && !!j.apiVersion && !!j.kind;
          })
        )
          resources.push(p);
      }
    }
  };
  walk(dirPath);
  const rel = resources.map((r) => `./${path.relative(dirPath, r)}`);
  const body = rel.length ? `resources:\n${rel.map((r) => `- ${r}`).join('\n')}\n` : 'namespace: _placeholder\n';
  fs.writeFileSync(
    path.join(dirPath, 'kustomization.yaml'),
    `apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n${body}`,
  );
}

function inventoryId(o: KubeObject): string {
  const { group } = splitApiVersion(o.apiVersion);
  return `${o.metadata.namespace ?? ''}_${o.metadata.name}_${group}_${o.kind}`;
}

/** Apply order of kustomize-controller: CRDs and Namespaces, then cluster roles and the rest. */
function stage(o: KubeObject): number {
  if (o.kind === 'CustomResourceDefinition' || o.kind === 'Namespace') return 0;
  if (o.kind === 'ClusterRole' || o.kind === 'ClusterRoleBinding') return 1;
  return 2;
}

export async function reconcileKustomization(
  rt: FluxRuntime,
  obj: KubeObject,
  _controller: ControllerInfo,
): Promise<void> {
  const spec = (obj.spec ?? {}) as KustomizationSpec;
  const ns = obj.metadata.namespace!;
  const o = structuredClone(obj);
  const done = (reason: string, message: string, ok: boolean) => {
    if (ok) markReady(o, reason, message, rt.now());
    else markFailed(o, reason, message, rt.now());
    finishReconcile(o);
    rt.writeStatus(o);
  };

  const srcNs = spec.sourceRef?.namespace ?? ns;
  const srcKind = spec.sourceRef?.kind ?? 'GitRepository';
  const srcName = spec.sourceRef?.name ?? '';
  const source = srcKind === 'GitRepository' ? rt.get('GitRepository', srcNs, srcName) : undefined;
  if (!source) return done('ArtifactFailed', `Source '${srcKind}/${srcNs}/${srcName}' not found`, false);
  const artifact = (source.status as { artifact?: Artifact } | undefined)?.artifact;
  const sha = shaOfRevision(artifact?.revision);
  if (!artifact || !sha) return done('ArtifactFailed', 'Source artifact not found, retrying in 30s', false);
  const revision = artifact.revision;

  markReconciling(
    o,
    rt.now(),
    `Fetching manifests for revision ${revision} with a timeout of ${spec.timeout ?? spec.interval ?? '10m0s'}`,
  );
  rt.writeStatus(o);

  (o.status as Record<string, unknown>).lastAttemptedRevision = revision;
  const cacheKey = `${sha}:${path.normalize(spec.path ?? './')}`;
  let rendered = buildCache.get(cacheKey);
  if (rendered === undefined) {
    const tmpDir = rt.tmpDir('kustomization');
    try {
      if (!(await rt.cache.has(sha))) {
        // The source-controller's storage lost the artifact (its pod restarted, or a state was resumed): it re-fetches.
        rt.enqueue('GitRepository', srcNs, srcName);
        return done('ArtifactFailed', 'Source is not ready, artifact not found, retrying in 30s', false);
      }
      // Messages name the controller's own extraction directory, not the emulator's work dir.
      const shownDir = `/tmp/kustomization-${String(Date.now() % 1e9).padStart(9, '0')}`;
      try {
        await rt.cache.checkout(sha, tmpDir);
      } catch (e) {
        return done(
          'ArtifactFailed',
          `failed to extract artifact: ${e instanceof Error ? e.message : String(e)}`,
          false,
        );
      }
      const dirPath = path.join(tmpDir, spec.path ?? './');
      if (!dirPath.startsWith(tmpDir) || !fs.existsSync(dirPath)) {
        return done(
          'ArtifactFailed',
          `kustomization path not found: stat ${path.join(shownDir, spec.path ?? './')}: no such file or directory`,
          false,
        );
      }
      try {
        generateKustomization(dirPath);
        rendered = await kustomizeBuild(dirPath);
      } catch (e) {
        const msg = (e instanceof Error ? e.message : String(e)).split(tmpDir).join(shownDir);
        return done('BuildFailed', `kustomize build failed: ${msg}`, false);
      }
    } finally {
      fs.rmSync(tmpDir, { recursive: true, force: true });
    }
    if (buildCache.size > 200) buildCache.clear();
    buildCache.set(cacheKey, rendered);
  }
  const objects = parseAllDocuments(rendered)
    .map((d) => d.toJS() as KubeObject)
    .filter((x) => x && typeof x === 'object' && x.kind);
  for (const x of objects) {
    if (spec.targetNamespace && x.metadata) x.metadata.namespace = spec.targetNamespace;
  }
  const error = applyAll(rt, objects, ns);
  if (error) return done('ReconciliationFailed', error, false);

  const entries: InventoryEntry[] = objects.map((x) => ({
    id: inventoryId(x),
    v: splitApiVersion(x.apiVersion).version,
  }));
  const old = (obj.status as { inventory?: { entries?: InventoryEntry[] } } | undefined)?.inventory?.entries ?? [];
  if (spec.prune) {
    const keep = new Set(entries.map((e) => e.id));
    for (const e of old) if (!keep.has(e.id)) rt.deleteById(e.id);
  }
  const st = o.status as Record<string, unknown>;
  st.inventory = { entries: entries.sort((a, b) => a.id.localeCompare(b.id)) };
  st.lastAppliedRevision = revision;
  return done('ReconciliationSucceeded', `Applied revision: ${revision}`, true);
}

/** Server-side apply of every object, in kustomize-controller's stages; returns the failure text or undefined. */
function applyAll(rt: FluxRuntime, objects: KubeObject[], defaultNamespace: string): string | undefined {
  const store = rt.cluster.store;
  const sorted = [...objects].sort((a, b) => stage(a) - stage(b));
  for (const x of sorted) {
    const id = `${x.kind}/${x.metadata?.namespace ? `${x.metadata.namespace}/` : ''}${x.metadata?.name}`;
    const def = store.forObject(String(x.apiVersion), String(x.kind));
    if (!def) return `${id} dry-run failed: no matches for kind "${x.kind}" in version "${x.apiVersion}"`;
    if (def.namespaced && !x.metadata.namespace) x.metadata.namespace = defaultNamespace;
    if (def.namespaced) {
      const nsDef = store.byKind('', 'Namespace')!;
      if (!store.get(nsDef, undefined, x.metadata.namespace!))
        return `${id} namespace not specified: the server could not find the requested resource`;
    }
    const version = splitApiVersion(x.apiVersion).version;
    let admitted: KubeObject;
    try {
      admitted = admit(def, version, x);
    } catch (e) {
      if (e instanceof HttpError)
        return `${id} dry-run failed (Invalid): ${(e.body as { message?: string }).message ?? e.message}`;
      throw e;
    }
    const live = store.get(def, x.metadata.namespace, x.metadata.name);
    const liveView = live ? viewAt(def, live, version) : undefined;
    const merged = serverSideApply(liveView, admitted, FIELD_MANAGER, rt.now(), TAKE_OVER);
    if (live) {
      merged.status = clone(live.status);
      merged.metadata.resourceVersion = live.metadata.resourceVersion;
      store.update(def, merged);
    } else {
      delete merged.status;
      store.create(def, merged);
    }
  }
  return undefined;
}
