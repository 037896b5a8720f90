/**
 * One flux-system folder, text in -> text out: read kustomization.yaml, gotk-sync.yaml,
 * gotk-components.yaml (and patch files the kustomization references) through a reader, work out
 * which workload-identity fields the existing patches already provide, and return the new file
 * contents with our patches added or updated. Throws ManifestError for anything that cannot be
 * patched; the caller writes nothing then.
 *
 * "Already provided" is judged against what `flux bootstrap` would regenerate: fields set directly
 * in gotk-components.yaml / gotk-sync.yaml do not count, because the next bootstrap or upgrade
 * overwrites those files (it keeps kustomization.yaml). Hand-written patches do count, whatever
 * their form (inline, `path:` files, `patchesStrategicMerge`, JSON 6902).
 */
import { parseAllDocuments, isMap, type Document, type Node } from 'yaml';
import { checkObjects, type Expectations } from './checks';
import { ManifestError } from './errors';
import {
  readKustomization,
  setOurPatches,
  KUSTOMIZATION_NAMES,
  type KustomizationFile,
  type PatchEntry,
} from './kustomization';
import { applyPatch, type JsonOp, type SimPatch, type SimResource } from './kustomize-sim';
import {
  cloneJson,
  deepFreeze,
  documentValue,
  getPath,
  isRecord,
  meta,
  parseAllShared,
  parseAllVariant,
  parseKinds,
  type KubeObject,
} from './manifests';
import {
  deploymentPatch,
  gitRepositoryPatch,
  serviceAccountPatch,
  SOURCE_GROUP,
  WI_CLIENT_ID,
  WI_TENANT_ID,
  WI_USE,
  type OurPatch,
} from './patches';
import { toAzureDevOpsHttpsUrl } from './url';
import {
  compareSemVer,
  detectFluxVersion,
  formatSemVer,
  imageRegistry,
  imageTag,
  meetsMinimum,
  parseSemVer,
  type FluxVersionInfo,
  type SemVer,
} from './version';

export const COMPONENTS_FILE = 'gotk-components.yaml';
export const SYNC_FILE = 'gotk-sync.yaml';
/** Controllers `flux install` adds only with --components-extra. */
export const EXTRA_COMPONENTS = ['image-reflector-controller', 'image-automation-controller'];
const DEFAULT_COMPONENTS = ['source-controller', 'kustomize-controller', 'helm-controller', 'notification-controller'];
/** image-automation-controller gained `provider: azure` support in v0.39.0 (Flux 2.4). */
const IAC_MINIMUM: SemVer = { major: 0, minor: 39, patch: 0 };
/** Fields of GitRepository v1 spec; anything else in a v1beta* spec makes the upgrade unsafe. */
const V1_SPEC_FIELDS = new Set([
  'url',
  'secretRef',
  'provider',
  'serviceAccountName',
  'interval',
  'timeout',
  'ref',
  'verify',
  'proxySecretRef',
  'ignore',
  'suspend',
  'recurseSubmodules',
  'include',
  'sparseCheckout',
]);

export interface FolderReader {
  /** A file relative to the flux-system folder ('/'-separated, may start with '../'); undefined when absent. */
  read(relPath: string): Promise<string | undefined>;
}

export interface FolderOptions {
  /** The folder as the user sees it (e.g. `clusters/prod/flux-system`), for messages. */
  folder: string;
  clientId: string;
  tenantId?: string;
  serviceAccounts: readonly string[];
  gitRepositoryName: string;
  minimumFluxVersion: SemVer;
  /** A regenerated gotk-components.yaml to use (and write) instead of the folder's. */
  components?: string;
}

export interface FileChange {
  /** Relative to the folder. */
  path: string;
  before: string | undefined;
  after: string;
}

export interface FolderResult {
  changes: FileChange[];
  notes: string[];
  warnings: string[];
  expectations: Expectations;
  fluxVersion: string;
  namespace: string;
  /** All files the kustomization references are inside the folder (it can be rendered from a copy). */
  selfContained: boolean;
  /** `spec.path` of the Flux Kustomization in gotk-sync.yaml that syncs from the GitRepository: the cluster's folder. */
  syncPath?: string;
  /** `spec.ref.branch` of the GitRepository: the branch Flux syncs (absent: no branch ref, e.g. a tag or commit). */
  syncBranch?: string;
}

/**
 * gotk-components.yaml is too old or lacks a requested controller. `installArgs` are the `flux`
 * arguments that regenerate it (the caller runs them when regenerateComponents is set); `problem`
 * is what is wrong without the advice on how to fix it (the caller that regenerates says that).
 */
export class ComponentsError extends ManifestError {
  constructor(
    message: string,
    file: string,
    readonly reason: 'version' | 'missingController',
    readonly installArgs: string[],
    readonly problem: string = message,
  ) {
    super(message, file);
  }
}

const rel = (folder: string, file: string) => (folder ? `${folder}/${file}` : file);

/** What patchFolder collects on the way (in the order the log shows it). */
interface Outcome {
  notes: string[];
  warnings: string[];
  changes: FileChange[];
}

export async function patchFolder(reader: FolderReader, opts: FolderOptions): Promise<FolderResult> {
  const out: Outcome = { notes: [], warnings: [], changes: [] };
  // Each file is read once per folder, however many stages look at it.
  const files = onceReader(reader);
  const { k, kRaw, syncText, fileComponents } = await readFolderFiles(files, opts);
  const sync = findGitRepository(syncText, opts);
  const comps = readComponents(opts.components ?? fileComponents, opts, sync.namespace);
  out.notes.push(`${comps.file}: Flux ${comps.versionText}.`);
  const targets = serviceAccountTargets(comps, opts, sync.namespace);
  const { url, httpsUrl } = checkGitRepository(sync, syncText, comps.versionText, out);
  const selfContained = isSelfContained(k);
  const existing = await loadPatches(k, files, opts.folder);
  const needs = existingNeeds(existing, targets, comps, sync, httpsUrl, opts, rel(opts.folder, k.fileName), out);
  const newKustomization = writeOurPatches(k, kRaw, needs, sync, url, httpsUrl, opts, out);
  if (opts.components !== undefined && opts.components !== fileComponents) {
    out.changes.push({ path: COMPONENTS_FILE, before: fileComponents, after: opts.components });
  }
  const expectations: Expectations = {
    serviceAccounts: targets.map((t) => ({
      name: t.name,
      namespace: t.namespace,
      clientId: opts.clientId,
      ...(opts.tenantId ? { tenantId: opts.tenantId } : {}),
    })),
    deployments: targets.map((t) => ({ name: t.deployment, namespace: t.namespace })),
    gitRepository: { name: sync.repoName, namespace: sync.namespace, url: httpsUrl },
  };
  // Unchanged kustomization: its patches are the ones already loaded.
  const after = newKustomization === kRaw ? k : readKustomization(newKustomization, rel(opts.folder, k.fileName));
  const allPatches = after === k ? existing : await loadPatches(after, files, opts.folder);
  selfCheck(allPatches, comps, sync, expectations, rel(opts.folder, k.fileName));
  const syncPath = syncPathOf(sync);
  const syncBranch = getPath(sync.repo, 'spec', 'ref', 'branch');
  return {
    ...out,
    expectations,
    fluxVersion: comps.versionText,
    namespace: sync.namespace,
    selfContained,
    ...(syncPath !== undefined ? { syncPath } : {}),
    ...(typeof syncBranch === 'string' ? { syncBranch } : {}),
  };
}

function onceReader(reader: FolderReader): FolderReader {
  const read = new Map<string, Promise<string | undefined>>();
  return {
    read(relPath) {
      let text = read.get(relPath);
      if (!text) read.set(relPath, (text = reader.read(relPath)));
      return text;
    },
  };
}

interface FolderFiles {
  k: KustomizationFile;
  kRaw: string;
  syncText: string;
  fileComponents: string;
}

/** kustomization.yaml, gotk-sync.yaml and gotk-components.yaml: present, and the gotk files listed in resources. */
async function readFolderFiles(reader: FolderReader, opts: FolderOptions): Promise<FolderFiles> {
  let kfile: KustomizationFile | undefined;
  let kRaw = '';
  for (const name of KUSTOMIZATION_NAMES) {
    const text = await reader.read(name);
    if (text !== undefined) {
      kfile = readKustomization(text, rel(opts.folder, name));
      kfile.fileName = name;
      kRaw = text;
      break;
    }
  }
  if (!kfile) {
    throw new ManifestError(
      `${opts.folder} has no kustomization.yaml. fluxSystemPath must point at the folder \`flux bootstrap\` created (it holds kustomization.yaml, gotk-components.yaml and gotk-sync.yaml).`,
      opts.folder,
    );
  }
  const k = kfile;
  const syncText = await reader.read(SYNC_FILE);
  const fileComponents = await reader.read(COMPONENTS_FILE);
  const missing = [fileComponents === undefined && COMPONENTS_FILE, syncText === undefined && SYNC_FILE].filter(
    Boolean,
  );
  if (missing.length > 0 || syncText === undefined || fileComponents === undefined) {
    throw new ManifestError(
      `${opts.folder} has no ${missing.join(' and ')}: it is not a bootstrapped flux-system folder. Run \`flux bootstrap\` (or point fluxSystemPath at the folder it created).`,
      opts.folder,
    );
  }
  const listed = new Set(k.resources.map((r) => r.replace(/^\.\//, '')));
  for (const f of [COMPONENTS_FILE, SYNC_FILE]) {
    if (!listed.has(f))
      throw new ManifestError(
        `${rel(opts.folder, k.fileName)} does not list ${f} in resources, so patches on its objects would not apply. Add \`- ${f}\` to resources.`,
        rel(opts.folder, k.fileName),
      );
  }
  return { k, kRaw, syncText, fileComponents };
}

interface SyncInfo {
  file: string;
  objects: KubeObject[];
  /** The GitRepository named by gitRepositoryName. */
  repo: KubeObject;
  repoName: string;
  namespace: string;
}

/** gotk-sync.yaml: the GitRepository (name from the input, namespace from the file). */
function findGitRepository(syncText: string, opts: FolderOptions): SyncInfo {
  const file = rel(opts.folder, SYNC_FILE);
  // A fleet's gotk-sync.yaml files differ only in the cluster's path: read as a variant of the last one.
  const objects = parseAllVariant(syncText, file).filter(isRecord) as KubeObject[];
  const repos = objects.filter((o) => o.kind === 'GitRepository');
  const repo = repos.find((o) => meta(o).name === opts.gitRepositoryName);
  if (!repo) {
    if (repos.length === 0) {
      throw new ManifestError(
        `${file} has no GitRepository (it looks like a placeholder). Bootstrap Flux first (\`flux bootstrap git --url=https://dev.azure.com/<org>/<project>/_git/<repo> ...\`), then run this task.`,
        file,
      );
    }
    throw new ManifestError(
      `${file} has no GitRepository named "${opts.gitRepositoryName}" (found: ${repos.map((r) => meta(r).name).join(', ')}). Set gitRepositoryName to the one Flux syncs from.`,
      file,
    );
  }
  return { file, objects, repo, repoName: opts.gitRepositoryName, namespace: meta(repo).namespace ?? 'default' };
}

interface Components {
  file: string;
  /** The parsed ServiceAccounts and Deployments (frozen, shared by every folder with the same text). */
  objects: readonly KubeObject[];
  serviceAccounts: readonly KubeObject[];
  deployments: readonly KubeObject[];
  tags: Record<string, string>;
  /** The controllers' objects as a re-bootstrap writes them (frozen, shared). */
  durable: readonly KubeObject[];
  version: FluxVersionInfo;
  versionText: string;
  installArgs: string[];
  regenerateHint: string;
}

/** gotk-components.yaml: its controllers and Flux version, which must meet the minimum. */
function readComponents(text: string, opts: FolderOptions, namespace: string): Components {
  const file = rel(opts.folder, COMPONENTS_FILE);
  const objects = parseKinds(text, file, ['ServiceAccount', 'Deployment']);
  const { deployments, serviceAccounts, tags, images, networkPolicy, durable } = componentFacts(objects, text);
  const version = detectFluxVersion(text, tags);
  if (deployments.length === 0 && version.source !== 'header') {
    throw new ManifestError(
      `${file} contains no Flux controllers (it looks like a placeholder). Bootstrap Flux first, or set regenerateComponents: true to generate it with the flux CLI.`,
      file,
    );
  }
  const installed =
    deployments.length > 0 ? deployments.map((d) => meta(d).name ?? '').filter(Boolean) : version.headerComponents;
  const installArgs = fluxInstallArgs(installed, opts.serviceAccounts, namespace, images, networkPolicy);
  const regenerateHint = `regenerate it: \`flux ${installArgs.join(' ')} > ${file}\` with a flux CLI >= ${formatSemVer(opts.minimumFluxVersion)} (or re-run \`flux bootstrap\` with it), or set regenerateComponents: true`;
  const versionText = describeVersion(version);
  if (!meetsMinimum(version, opts.minimumFluxVersion)) {
    const why = version.version
      ? `is Flux ${versionText}; ${formatSemVer(opts.minimumFluxVersion)} or later is required (GitRepository provider: azure arrived in Flux 2.4)`
      : 'does not say which Flux version it is (no "# Flux Version:" header, no tagged source-controller image)';
    throw new ComponentsError(
      `${file} ${why}. Upgrade Flux: ${regenerateHint}.`,
      file,
      'version',
      installArgs,
      `${file} ${why}`,
    );
  }
  return {
    file,
    objects,
    serviceAccounts,
    deployments,
    tags,
    durable,
    version,
    versionText,
    installArgs,
    regenerateHint,
  };
}

interface ComponentFacts {
  deployments: readonly KubeObject[];
  serviceAccounts: readonly KubeObject[];
  tags: Record<string, string>;
  images: string[];
  networkPolicy: boolean;
  /** The objects as a re-bootstrap writes them: without workload identity fields (frozen). */
  durable: readonly KubeObject[];
}

/** Per parsed gotk-components.yaml (parseKinds returns the same array for the same text). */
const factsOf = new WeakMap<readonly KubeObject[], ComponentFacts>();

function componentFacts(objects: readonly KubeObject[], text: string): ComponentFacts {
  const known = factsOf.get(objects);
  if (known) return known;
  const deployments = objects.filter((o) => o.kind === 'Deployment');
  const serviceAccounts = objects.filter((o) => o.kind === 'ServiceAccount');
  const tags: Record<string, string> = {};
  const images: string[] = [];
  for (const d of deployments) {
    const containers = getPath(d, 'spec', 'template', 'spec', 'containers');
    const image =
      Array.isArray(containers) && isRecord(containers[0]) && typeof containers[0].image === 'string'
        ? containers[0].image
        : undefined;
    const name = meta(d).name;
    if (image && name) {
      images.push(image);
      const t = imageTag(image);
      if (t) tags[name] = t;
    }
  }
  const networkPolicy = /^kind:\s*NetworkPolicy\s*$/m.test(text);
  const durable = deepFreeze([...serviceAccounts, ...deployments].map(withoutWorkloadIdentity));
  const facts = { deployments, serviceAccounts, tags, images, networkPolicy, durable };
  factsOf.set(objects, facts);
  return facts;
}

function withoutWorkloadIdentity(o: KubeObject): KubeObject {
  const c = cloneJson(o);
  const m = isRecord(c.metadata) ? c.metadata : {};
  if (c.kind === 'ServiceAccount') {
    if (isRecord(m.annotations)) {
      delete m.annotations[WI_CLIENT_ID];
      delete m.annotations[WI_TENANT_ID];
    }
    if (isRecord(m.labels)) delete m.labels[WI_USE];
  } else {
    const labels = getPath(c, 'spec', 'template', 'metadata', 'labels');
    if (isRecord(labels)) delete labels[WI_USE];
  }
  return c;
}

type Target = { name: string; namespace: string; deployment: string };

/** The requested service accounts and the Deployment that runs as each. */
function serviceAccountTargets(c: Components, opts: FolderOptions, namespace: string): Target[] {
  const targets: Target[] = [];
  for (const name of opts.serviceAccounts) {
    const candidates = c.serviceAccounts.filter((o) => meta(o).name === name);
    const sa =
      candidates.find((o) => meta(o).namespace === namespace) ?? (candidates.length === 1 ? candidates[0] : undefined);
    if (!sa) {
      const found = c.serviceAccounts.map((o) => meta(o).name).join(', ') || c.version.headerComponents.join(', ');
      if (EXTRA_COMPONENTS.includes(name)) {
        throw new ComponentsError(
          `${c.file} has no ${name} (installed: ${found}). Either remove ${name} from serviceAccounts (image automation is not installed on this cluster), or add image automation: ${c.regenerateHint}.`,
          c.file,
          'missingController',
          c.installArgs,
          `${c.file} has no ${name} (installed: ${found})`,
        );
      }
      throw new ManifestError(
        `${c.file} has no ServiceAccount "${name}" (found: ${found}). Check the serviceAccounts input.`,
        c.file,
      );
    }
    const saNs = meta(sa).namespace ?? namespace;
    const dep =
      c.deployments.find(
        (d) => meta(d).namespace === saNs && getPath(d, 'spec', 'template', 'spec', 'serviceAccountName') === name,
      ) ?? c.deployments.find((d) => meta(d).namespace === saNs && meta(d).name === name);
    if (!dep)
      throw new ManifestError(
        `${c.file} has a ServiceAccount "${name}" but no Deployment that runs as it, so there is no pod to label.`,
        c.file,
      );
    targets.push({ name, namespace: saNs, deployment: meta(dep).name as string });
    if (name === 'image-automation-controller' && c.version.source !== 'header') {
      const tag = c.tags[meta(dep).name as string];
      const iac = parseSemVer(tag ?? '');
      if (!iac || compareSemVer(iac, IAC_MINIMUM) < 0) {
        const problem = `${c.file} runs image-automation-controller ${tag ?? '(untagged)'}; v0.39.0 (Flux 2.4) or later is needed for provider: azure`;
        throw new ComponentsError(
          `${problem}. Upgrade Flux: ${c.regenerateHint}.`,
          c.file,
          'version',
          c.installArgs,
          problem,
        );
      }
    }
  }
  return targets;
}

/** The GitRepository's API version (converted to v1 when safe) and URL (must be Azure DevOps). */
function checkGitRepository(
  sync: SyncInfo,
  syncText: string,
  versionText: string,
  out: Outcome,
): { url: string; httpsUrl: string } {
  const { repo, repoName, file } = sync;
  const repoApi = typeof repo.apiVersion === 'string' ? repo.apiVersion : '';
  if (repoApi !== `${SOURCE_GROUP}/v1`) {
    const spec = isRecord(repo.spec) ? repo.spec : {};
    const unsafe = Object.keys(spec).filter((f) => !V1_SPEC_FIELDS.has(f));
    const explain = `GitRepository ${repoName} in ${file} is ${repoApi}; spec.provider exists only in ${SOURCE_GROUP}/v1 (in older versions the API server drops the field, so Flux would keep using the secret)`;
    if (!/^source\.toolkit\.fluxcd\.io\/v1beta[12]$/.test(repoApi) || unsafe.length > 0) {
      throw new ManifestError(
        `${explain}. It cannot be converted automatically (fields not in v1: ${unsafe.join(', ') || 'unknown version'}); change it to ${SOURCE_GROUP}/v1 by hand, or re-run \`flux bootstrap\` with Flux >= 2.4, which writes v1.`,
        file,
      );
    }
    const newSync = setGitRepositoryApiVersion(syncText, file, repoName);
    out.notes.push(
      `${file}: ${explain}; changed it to v1 (the spec has only v1 fields; Flux ${versionText} serves v1, and \`flux bootstrap\` writes v1 too).`,
    );
    out.changes.push({ path: SYNC_FILE, before: syncText, after: newSync });
  }
  const url = typeof getPath(repo, 'spec', 'url') === 'string' ? (getPath(repo, 'spec', 'url') as string) : '';
  const httpsUrl = toAzureDevOpsHttpsUrl(url);
  if (!httpsUrl) {
    throw new ManifestError(
      `GitRepository ${repoName} in ${file} points at ${url || '(no url)'}, which is not an Azure DevOps Git repository. provider: azure authenticates only to Azure DevOps (https://dev.azure.com/{org}/{project}/_git/{repo}); bootstrap Flux from the Azure DevOps repository first.`,
      file,
    );
  }
  if (getPath(repo, 'spec', 'serviceAccountName') !== undefined) {
    out.warnings.push(
      `GitRepository ${repoName} sets spec.serviceAccountName (object-level workload identity); this task sets up controller-level identity, which Flux uses only without spec.serviceAccountName.`,
    );
  }
  return { url, httpsUrl };
}

/** All files the kustomization references are inside the folder (it can be rendered from a copy). */
function isSelfContained(k: KustomizationFile): boolean {
  return [...k.resources, ...k.entries.flatMap((e) => (e.path ? [e.path] : []))].every(
    (p) =>
      !p.startsWith('/') &&
      !p.startsWith('..') &&
      !/^[a-z][a-z0-9+.-]*:\/\//i.test(p) &&
      !/^[\w.-]+\.[a-z]{2,}\//i.test(p) &&
      !/^[A-Za-z]:/.test(p),
  );
}

/**
 * The objects as a re-bootstrap would write them: without any workload identity fields. The
 * controllers' objects are shared (copied when a patch changes them); the GitRepository is the folder's.
 */
function durableBase(c: Components, sync: SyncInfo): SimResource[] {
  const list: SimResource[] = c.durable.map((obj) => ({ obj, shared: true }));
  const r = cloneJson(sync.repo);
  const spec = isRecord(r.spec) ? r.spec : (r.spec = {});
  delete spec.provider;
  if (spec.secretRef === undefined) spec.secretRef = { name: sync.repoName };
  r.apiVersion = `${SOURCE_GROUP}/v1`;
  list.push({ obj: r });
  return list;
}

/** The objects as the folder's files hold them (the GitRepository read as v1). */
function actualBase(c: Components, sync: SyncInfo): SimResource[] {
  return [
    ...[...c.serviceAccounts, ...c.deployments].map((obj) => ({ obj, shared: true })),
    { obj: { ...cloneJson(sync.repo), apiVersion: `${SOURCE_GROUP}/v1` } },
  ];
}

interface Needs {
  saNeeded: string[];
  depNeeded: string[];
  repoOk: boolean;
  /** Where our ServiceAccount and Deployment patches point. */
  targetNamespace: string;
}

/** Which of our patches are still needed once the hand-written patches have been applied. */
function existingNeeds(
  existing: readonly SimPatch[],
  targets: readonly Target[],
  c: Components,
  sync: SyncInfo,
  httpsUrl: string,
  opts: FolderOptions,
  kFile: string,
  out: Outcome,
): Needs {
  const resources = durableBase(c, sync);
  const saNeeded = serviceAccountNeeds(existing, resources, targets, opts, kFile, out);
  const depNeeded: string[] = [];
  for (const t of targets) {
    const dep = resources.find(
      (r) =>
        !r.deleted &&
        r.obj.kind === 'Deployment' &&
        meta(r.obj).name === t.deployment &&
        meta(r.obj).namespace === t.namespace,
    )?.obj;
    const labels = getPath(dep, 'spec', 'template', 'metadata', 'labels');
    if (isRecord(labels) && labels[WI_USE] === 'true') {
      out.notes.push(`Deployment ${t.deployment}: the pod template label is already set by an existing patch.`);
      continue;
    }
    if (!depNeeded.includes(t.deployment)) depNeeded.push(t.deployment);
  }
  const effRepo = resources.find((r) => r.obj.kind === 'GitRepository')?.obj;
  const repoOk =
    !!effRepo &&
    getPath(effRepo, 'spec', 'provider') === 'azure' &&
    getPath(effRepo, 'spec', 'secretRef') === undefined &&
    getPath(effRepo, 'spec', 'url') === httpsUrl;
  if (repoOk)
    out.notes.push(
      `GitRepository ${sync.repoName}: provider azure, no secretRef and the HTTPS url are already set by an existing patch.`,
    );
  return { saNeeded, depNeeded, repoOk, targetNamespace: targets[0]?.namespace ?? sync.namespace };
}

/** Applies the hand-written patches to `resources`; the ServiceAccounts that still need our annotation. */
function serviceAccountNeeds(
  existing: readonly SimPatch[],
  resources: SimResource[],
  targets: readonly Target[],
  opts: FolderOptions,
  kFile: string,
  out: Outcome,
): string[] {
  // Remember who set the client-id annotations.
  const setBy = new Map<string, string>();
  const saObj = (name: string, ns: string) =>
    resources.find(
      (r) => !r.deleted && r.obj.kind === 'ServiceAccount' && meta(r.obj).name === name && meta(r.obj).namespace === ns,
    )?.obj;
  for (const p of existing.filter((e) => !e.ours)) {
    const before = targets.map((t) => JSON.stringify(meta(saObj(t.name, t.namespace) ?? {}).annotations));
    applyPatch(p, resources);
    targets.forEach((t, i) => {
      if (JSON.stringify(meta(saObj(t.name, t.namespace) ?? {}).annotations) !== before[i]) setBy.set(t.name, p.label);
    });
  }
  const saNeeded: string[] = [];
  for (const t of targets) {
    const obj = saObj(t.name, t.namespace);
    if (!obj)
      throw new ManifestError(
        `A patch in ${kFile} deletes ServiceAccount ${t.name}; it cannot get a workload identity.`,
        kFile,
      );
    const ann = meta(obj).annotations;
    const clientOk = ann[WI_CLIENT_ID] === opts.clientId;
    const tenantOk = !opts.tenantId || ann[WI_TENANT_ID] === opts.tenantId;
    const by = setBy.get(t.name) ?? 'an existing patch';
    if (clientOk && tenantOk) {
      out.notes.push(`ServiceAccount ${t.name}: the client-id annotation is already set by ${by}; left as it is.`);
      continue;
    }
    for (const [key, want] of [
      [WI_CLIENT_ID, opts.clientId],
      [WI_TENANT_ID, opts.tenantId],
    ] as const) {
      if (want && ann[key] !== undefined && ann[key] !== want) {
        throw new ManifestError(
          `${kFile}: ${by} already sets ${key}: ${String(ann[key])} on ServiceAccount ${t.name}, but this run asks for ${want}. A ServiceAccount has one identity: remove or change that patch (or use that identity), then run again.`,
          kFile,
        );
      }
    }
    saNeeded.push(t.name);
  }
  return saNeeded;
}

/** The kustomization with our patches set to what is needed; the notes say what changed. */
function writeOurPatches(
  k: KustomizationFile,
  kRaw: string,
  needs: Needs,
  sync: SyncInfo,
  url: string,
  httpsUrl: string,
  opts: FolderOptions,
  out: Outcome,
): string {
  const { saNeeded, depNeeded, repoOk } = needs;
  const { repo, repoName, namespace } = sync;
  const desired: OurPatch[] = [];
  const saNs = needs.targetNamespace;
  if (saNeeded.length > 0) desired.push(serviceAccountPatch(saNeeded, saNs, opts.clientId, opts.tenantId));
  if (depNeeded.length > 0) desired.push(deploymentPatch(depNeeded, saNs));
  if (!repoOk) desired.push(gitRepositoryPatch(repoName, namespace, url === httpsUrl ? undefined : httpsUrl));
  const { text: newKustomization, change } = setOurPatches(k, desired);
  const kFile = rel(opts.folder, k.fileName);
  if (newKustomization !== kRaw) {
    out.changes.unshift({ path: k.fileName, before: kRaw, after: newKustomization });
    const what = (roles: string[]) =>
      roles
        .map(
          (r) =>
            ({
              serviceAccounts: `ServiceAccounts (${saNeeded.join(', ')})`,
              deployments: `Deployment pod templates (${depNeeded.join(', ')})`,
              gitRepository: `GitRepository ${repoName}`,
            })[r as 'serviceAccounts'],
        )
        .join(', ');
    if (change.added.length) out.notes.push(`${kFile}: added patches for ${what(change.added)}.`);
    if (change.updated.length) out.notes.push(`${kFile}: updated patches for ${what(change.updated)}.`);
    if (change.removed)
      out.notes.push(`${kFile}: removed ${change.removed} patch(es) of ours that hand-written patches make redundant.`);
  }
  if (!repoOk && url !== httpsUrl)
    out.notes.push(`GitRepository ${repoName}: url ${url} -> ${httpsUrl} (provider azure needs the HTTPS form).`);
  if (!repoOk && getPath(repo, 'spec', 'secretRef') !== undefined) {
    const secret = getPath(repo, 'spec', 'secretRef', 'name');
    out.notes.push(
      `GitRepository ${repoName}: secretRef removed. Once Flux has reconciled, the Secret ${namespace}/${String(secret)} (the bootstrap key or PAT) is unused and can be deleted.`,
    );
  }
  return newKustomization;
}

/** The patches as written give the intended objects, now and after a re-bootstrap. */
function selfCheck(
  patches: readonly SimPatch[],
  c: Components,
  sync: SyncInfo,
  expectations: Expectations,
  kFile: string,
): void {
  for (const [label, base] of [
    ['after a re-bootstrap', durableBase(c, sync)],
    ['as committed', actualBase(c, sync)],
  ] as const) {
    for (const p of patches) applyPatch(p, base);
    const problems = checkObjects(
      base.filter((r) => !r.deleted).map((r) => r.obj),
      expectations,
    );
    if (problems.length > 0) {
      throw new ManifestError(
        `${kFile}: with the patches added, the result would still be wrong ${label}: ${problems.join('; ')}. Another patch probably overrides these fields (JSON 6902 patches and patchesJson6902 run after ours); fix it and run again.`,
        kFile,
      );
    }
  }
}

/** `spec.path` of the Flux Kustomization in gotk-sync.yaml that syncs from the GitRepository. */
function syncPathOf(sync: SyncInfo): string | undefined {
  const ks = sync.objects.find(
    (o) =>
      o.kind === 'Kustomization' &&
      getPath(o, 'spec', 'sourceRef', 'name') === sync.repoName &&
      typeof getPath(o, 'spec', 'path') === 'string',
  );
  return ks ? (getPath(ks, 'spec', 'path') as string) : undefined;
}

function describeVersion(v: FluxVersionInfo): string {
  if (!v.version) return 'unknown';
  return v.minorOnly
    ? `${v.version.major}.${v.version.minor}.x (from the source-controller image tag)`
    : formatSemVer(v.version);
}

/** `flux install --export ...` arguments that reproduce this installation plus what is requested. */
export function fluxInstallArgs(
  installed: readonly string[],
  requestedServiceAccounts: readonly string[],
  namespace: string,
  images: readonly string[],
  networkPolicy: boolean,
): string[] {
  const all = new Set(installed.length > 0 ? installed : DEFAULT_COMPONENTS);
  if (requestedServiceAccounts.some((s) => EXTRA_COMPONENTS.includes(s))) EXTRA_COMPONENTS.forEach((c) => all.add(c));
  const base = DEFAULT_COMPONENTS.filter((c) => all.has(c));
  const extra = [...all].filter((c) => !DEFAULT_COMPONENTS.includes(c));
  const args = ['install', '--export'];
  if (namespace !== 'flux-system') args.push(`--namespace=${namespace}`);
  if (base.join(',') !== DEFAULT_COMPONENTS.join(',')) args.push(`--components=${base.join(',')}`);
  if (extra.length > 0) args.push(`--components-extra=${extra.join(',')}`);
  const registry = images.length > 0 ? imageRegistry(images[0]) : '';
  if (registry && registry !== 'ghcr.io/fluxcd') args.push(`--registry=${registry}`);
  if (images.length > 0 && !networkPolicy) args.push('--network-policy=false');
  return args;
}

/** Loads every patch of a kustomization (reading `path:` files) in kustomize's order. */
async function loadPatches(k: KustomizationFile, reader: FolderReader, folder: string): Promise<SimPatch[]> {
  const order: Record<PatchEntry['field'], number> = { patchesStrategicMerge: 0, patches: 1, patchesJson6902: 2 };
  const entries = [...k.entries].sort((a, b) => order[a.field] - order[b.field] || a.index - b.index);
  const out: SimPatch[] = [];
  for (const e of entries) {
    let text = e.inline;
    let file = `${rel(folder, k.fileName)} ${e.label}`;
    if (e.path !== undefined) {
      const p = e.path.replace(/^\.\//, '');
      text = await reader.read(p);
      file = rel(folder, p);
      if (text === undefined)
        throw new ManifestError(
          `${rel(folder, k.fileName)} ${e.label} refers to ${p}, which does not exist. Fix the path (kustomize fails on it too).`,
          rel(folder, k.fileName),
        );
    }
    const values = parseAllShared(text ?? '', file);
    const base = { label: e.label, ours: e.ours, ...(e.target ? { target: e.target } : {}) };
    if (e.field === 'patchesJson6902' || Array.isArray(values[0])) {
      const ops = (Array.isArray(values[0]) ? values[0] : []).filter(isRecord) as JsonOp[];
      out.push({ ...base, ops });
    } else {
      out.push({ ...base, smp: values.filter(isRecord) as KubeObject[] });
    }
  }
  return out;
}

/** gotk-sync.yaml with the named GitRepository's apiVersion set to v1 (only that scalar changes). */
function setGitRepositoryApiVersion(raw: string, file: string, name: string): string {
  // The parser's offsets do not count a byte order mark.
  const bom = raw.startsWith('\uFEFF') ? '\uFEFF' : '';
  const text = raw.slice(bom.length);
  for (const doc of parseAllDocuments(text) as Document[]) {
    const v = documentValue(doc, file);
    if (!isRecord(v) || v.kind !== 'GitRepository' || meta(v).name !== name || !isMap(doc.contents)) continue;
    const node = doc.contents.get('apiVersion', true) as Node | undefined;
    if (!node?.range) break;
    const [start, end] = node.range;
    const quote = /^["']/.test(text[start]) ? text[start] : '';
    return bom + text.slice(0, start) + `${quote}${SOURCE_GROUP}/v1${quote}` + text.slice(end);
  }
  throw new ManifestError(`${file}: could not locate the GitRepository apiVersion to update.`, file);
}
