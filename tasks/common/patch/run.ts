/**
 * FluxManifestPatch, below the pipeline adapter: find the flux-system folder(s), compute the
 * patched files (tasks/common/flux, pure), show the diff, check that the result renders
 * (`kubectl kustomize`), write atomically, and commit through the Azure DevOps pushes API.
 *
 * Every folder is planned before anything is written: one bad folder in a fleet fails the run with
 * all files untouched. Plan and apply share the step list (tasks/common/plan); plan stops before
 * the first write.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { branchRef, commitFiles, type GitRepository, type RepoFile } from '../devops/git';
import { checkObjects } from '../flux/checks';
import { unifiedDiff } from '../flux/diff';
import { ManifestError } from '../flux/errors';
import { ComponentsError, patchFolder, type FolderOptions, type FolderReader, type FolderResult } from '../flux/folder';
import { globDirs, isGlob, segments } from '../flux/glob';
import { parseKinds } from '../flux/manifests';
import { formatSemVer, type SemVer } from '../flux/version';
import type { Logger } from '../log';
import { runSteps, type Preflight, type Step } from '../plan';
import type { ReportBuilder } from '../report/builder';
import { UserError } from '../errors';
import type { Tools } from './tools';

export type CommitMode = 'none' | 'push' | 'pullRequest';

export interface ManifestPatchInputs {
  workingDirectory: string;
  /** Relative to workingDirectory; may be a glob (`clusters/*\/flux-system`). */
  fluxSystemPath: string;
  clientId: string;
  tenantId?: string;
  serviceAccounts: string[];
  gitRepositoryName: string;
  minimumFluxVersion: SemVer;
  regenerateComponents: boolean;
  commitMode: CommitMode;
  /** The branch to commit to / open the pull request against (`main` or `refs/heads/main`). */
  targetBranch?: string;
  pullRequestBranch?: string;
  commitMessage?: string;
  pullRequestTitle?: string;
}

export interface CoreContext {
  mode: 'plan' | 'apply';
  log: Logger;
  report?: ReportBuilder;
  tools: Tools;
  /** Scratch space outside the checkout (renders happen in copies there). */
  tempDir: string;
  /** The repository to commit to (commit modes only). */
  openRepository?: () => Promise<GitRepository>;
  /** Root of the checkout; default: the nearest folder above the flux-system folder holding `.git`. */
  repositoryRoot?: string;
}

export interface ManifestPatchOutputs {
  changed: boolean;
  /** Relative to the working directory, '/'-separated. */
  changedFiles: string[];
  commitId: string;
  pullRequestId: string;
  pullRequestUrl: string;
}

interface Folder {
  abs: string;
  /** Relative to the working directory, '/'-separated (what the user sees). */
  rel: string;
}

interface PlannedFolder extends Folder {
  result: FolderResult;
  /** The regenerated gotk-components.yaml, when one was generated. */
  components?: string;
  options: FolderOptions;
}

const DIFF_LINE_LIMIT = 400;
const TOOL_TIMEOUT_MS = 120_000;

const posix = (p: string) => p.split(path.sep).join('/');

/** The flux-system folders `fluxSystemPath` names (a path or a glob), each checked to exist. */
export function resolveFolders(workingDirectory: string, pattern: string): Folder[] {
  const wd = path.resolve(workingDirectory);
  if (!fs.existsSync(wd) || !fs.statSync(wd).isDirectory()) {
    throw new UserError(`The working directory ${wd} does not exist.`, {
      code: 'MissingFolder',
      fix: 'set workingDirectory to the checkout (Build.SourcesDirectory by default) and check out the repository first (steps: - checkout: self)',
    });
  }
  if (!isGlob(pattern)) {
    const abs = path.resolve(wd, pattern);
    if (!fs.existsSync(abs) || !fs.statSync(abs).isDirectory()) {
      throw new UserError(`fluxSystemPath ${pattern} does not exist under ${wd}.`, {
        code: 'MissingFolder',
        fix: 'set fluxSystemPath to the folder `flux bootstrap` created (e.g. clusters/<cluster>/flux-system), relative to the working directory, and check the checkout step ran',
      });
    }
    return [{ abs, rel: posix(path.relative(wd, abs)) || '.' }];
  }
  const listDirs = (relDir: string): string[] => {
    try {
      return fs
        .readdirSync(path.join(wd, relDir), { withFileTypes: true })
        .filter((e) => e.isDirectory())
        .map((e) => e.name);
    } catch {
      return [];
    }
  };
  const matches = globDirs(segments(pattern).join('/'), listDirs);
  if (matches.length === 0) {
    throw new UserError(`fluxSystemPath ${pattern} matches no folder under ${wd}.`, {
      code: 'MissingFolder',
      fix: 'check the pattern (`*` matches one folder name, `**` any depth), e.g. clusters/*/flux-system',
    });
  }
  return matches.map((m) => ({ abs: path.join(wd, m), rel: m }));
}

/** A file's text; undefined when there is no such file (a permission error is not "absent"). */
async function readIfExists(file: string): Promise<string | undefined> {
  try {
    return await fs.promises.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'EISDIR')
      return undefined;
    throw err;
  }
}

function localReader(folderAbs: string): FolderReader {
  return { read: (rel) => readIfExists(path.resolve(folderAbs, rel)) };
}

/** Writes a file atomically: a temporary file in the same folder, then a rename over the target. */
export function writeFileAtomic(file: string, content: string): void {
  const tmp = path.join(
    path.dirname(file),
    `.${path.basename(file)}.flux-oidc-${process.pid}-${Math.random().toString(36).slice(2, 8)}.tmp`,
  );
  let mode: number | undefined;
  try {
    mode = fs.statSync(file).mode;
  } catch {
    /* new file */
  }
  try {
    fs.writeFileSync(tmp, content, mode === undefined ? {} : { mode });
    fs.renameSync(tmp, file);
  } catch (err) {
    try {
      fs.rmSync(tmp, { force: true });
    } catch {
      /* best effort */
    }
    throw err;
  }
}

function findRepositoryRoot(start: string): string | undefined {
  for (let dir = path.resolve(start); ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, '.git'))) return dir;
    if (path.dirname(dir) === dir) return undefined;
  }
}

/**
 * A flux-system folder lives in the cluster folder its Flux Kustomization syncs (`spec.path`).
 * When it does not, it is usually a stray copy (an old bootstrap, a folder copied by hand) that
 * Flux never reads: patching it changes nothing on any cluster.
 */
function misplacedCopy(root: string, folderAbs: string, syncPath: string): string | undefined {
  const expected = path.posix.normalize(syncPath.replace(/^\.?\//, '')).replace(/\/$/, '');
  const actual = posix(path.relative(root, path.dirname(folderAbs)));
  if (expected === actual || (expected === '.' && actual === '')) return undefined;
  return `its Flux Kustomization syncs ./${expected}, but the folder is under ./${actual || '.'}; if it is a stray copy, Flux does not read it and patching it changes nothing on the cluster (check fluxSystemPath).`;
}

function printDiff(log: Logger, diff: string): void {
  const lines = diff.replace(/\n$/, '').split('\n');
  for (const line of lines.slice(0, DIFF_LINE_LIMIT)) log.info(line);
  if (lines.length > DIFF_LINE_LIMIT) log.info(`... (${lines.length - DIFF_LINE_LIMIT} more diff lines not shown)`);
}

function countLines(text: string | undefined): number {
  if (!text) return 0;
  return text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
}

export async function patchManifests(inputs: ManifestPatchInputs, ctx: CoreContext): Promise<ManifestPatchOutputs> {
  const { log } = ctx;
  const folders = resolveFolders(inputs.workingDirectory, inputs.fluxSystemPath);
  log.info(
    `${folders.length} flux-system folder${folders.length === 1 ? '' : 's'}: ${folders
      .slice(0, 10)
      .map((f) => f.rel)
      .join(', ')}${folders.length > 10 ? ', ...' : ''}`,
  );

  // 1. Plan every folder (no writes). Collect every folder's problem, then fail before writing.
  const regenerated = new Map<string, Promise<string>>();
  const planned: PlannedFolder[] = [];
  const problems: string[] = [];
  for (const folder of folders) {
    try {
      planned.push(await planFolder(folder, inputs, ctx, regenerated));
    } catch (err) {
      if (!(err instanceof UserError) || folders.length === 1) throw err;
      problems.push(err.message + (err.fix ? ` Fix: ${err.fix}` : ''));
    }
  }
  if (problems.length > 0) {
    const shown = problems.slice(0, 20);
    const more = problems.length > shown.length ? `\n- ... and ${problems.length - shown.length} more` : '';
    throw new UserError(
      `${problems.length} of ${folders.length} flux-system folders cannot be patched; nothing was changed:\n- ${shown.join('\n- ')}${more}`,
      { code: 'ManifestError' },
    );
  }

  // 2. Show what changes.
  for (const f of planned) {
    log.info(`${f.rel}: Flux ${f.result.fluxVersion}, namespace ${f.result.namespace}`);
    const root = ctx.repositoryRoot ?? findRepositoryRoot(f.abs);
    const misplaced =
      root && f.result.syncPath !== undefined ? misplacedCopy(root, f.abs, f.result.syncPath) : undefined;
    if (misplaced) log.warn(`${f.rel}: ${misplaced}`);
    for (const n of f.result.notes) log.info(`  ${n}`);
    for (const w of f.result.warnings) log.warn(`${f.rel}: ${w}`);
    if (f.result.changes.length === 0) log.info(`  ${f.rel}: already patched, nothing to change.`);
    for (const c of f.result.changes) printDiff(log, unifiedDiff(posix(path.join(f.rel, c.path)), c.before, c.after));
  }

  // 3. Steps: one per changed file, then the commit.
  const outputs: ManifestPatchOutputs = {
    changed: false,
    changedFiles: [],
    commitId: '',
    pullRequestId: '',
    pullRequestUrl: '',
  };
  const steps: Step<unknown>[] = [];
  for (const f of planned) {
    for (const c of f.result.changes) {
      const abs = path.join(f.abs, c.path);
      const rel = posix(path.join(f.rel, c.path));
      outputs.changedFiles.push(rel);
      steps.push(fileStep(abs, rel, c.before, c.after, f.result.notes));
    }
  }
  outputs.changed = outputs.changedFiles.length > 0;
  if (inputs.commitMode !== 'none') steps.push(...commitSteps(planned, inputs, ctx, outputs));

  await runSteps(steps, {
    mode: ctx.mode,
    log,
    ...(ctx.report ? { report: ctx.report } : {}),
    preflight: [renderPreflight(planned, ctx)],
  });
  return outputs;
}

async function planFolder(
  folder: Folder,
  inputs: ManifestPatchInputs,
  ctx: CoreContext,
  regenerated: Map<string, Promise<string>>,
): Promise<PlannedFolder> {
  const options: FolderOptions = {
    folder: folder.rel,
    clientId: inputs.clientId,
    serviceAccounts: inputs.serviceAccounts,
    gitRepositoryName: inputs.gitRepositoryName,
    minimumFluxVersion: inputs.minimumFluxVersion,
    ...(inputs.tenantId ? { tenantId: inputs.tenantId } : {}),
  };
  const reader = localReader(folder.abs);
  try {
    return { ...folder, options, result: await patchFolder(reader, options) };
  } catch (err) {
    if (!(err instanceof ComponentsError) || !inputs.regenerateComponents) throw err;
    ctx.log.info(
      `${folder.rel}: ${err.problem}; regenerating gotk-components.yaml with the flux CLI (regenerateComponents: true).`,
    );
    const key = err.installArgs.join(' ');
    let pending = regenerated.get(key);
    if (!pending) {
      pending = runFluxInstall(err.installArgs, folder.abs, ctx);
      regenerated.set(key, pending);
    }
    const components = await pending;
    try {
      const result = await patchFolder(reader, { ...options, components });
      return { ...folder, options: { ...options, components }, components, result };
    } catch (again) {
      if (again instanceof ComponentsError) {
        throw new UserError(
          `The flux CLI on PATH generated a gotk-components.yaml that still does not qualify: ${again.problem}.`,
          {
            code: 'FluxCliTooOld',
            fix: `install a flux CLI >= ${formatSemVer(inputs.minimumFluxVersion)} on the agent before this task`,
          },
        );
      }
      throw again;
    }
  }
}

async function runFluxInstall(args: string[], cwd: string, ctx: CoreContext): Promise<string> {
  const flux = ctx.tools.which('flux');
  if (!flux) {
    throw new UserError('regenerateComponents is true, but the flux CLI is not on PATH.', {
      code: 'FluxCliMissing',
      fix: 'install it in an earlier step (for example `curl -s https://fluxcd.io/install.sh | bash`, or a Flux installer task), or regenerate gotk-components.yaml yourself and set regenerateComponents: false',
    });
  }
  ctx.log.info(`Running ${flux} ${args.join(' ')}`);
  const r = await ctx.tools.exec(flux, args, { cwd, timeoutMs: TOOL_TIMEOUT_MS });
  if (r.code !== 0 || !/^kind:/m.test(r.stdout)) {
    throw new UserError(
      `\`flux ${args.join(' ')}\` failed (exit code ${r.code}): ${(r.stderr || r.stdout).trim().split('\n').slice(-5).join(' ')}`,
      {
        code: 'FluxInstallFailed',
        fix: 'check the flux CLI on the agent (run the same command in a script step to see its output)',
      },
    );
  }
  return r.stdout;
}

function fileStep(
  abs: string,
  rel: string,
  before: string | undefined,
  after: string,
  notes: string[],
): Step<string | undefined> {
  return {
    id: `file:${rel}`,
    kind: 'File',
    name: rel,
    observe: () => readIfExists(abs),
    plan(current) {
      if (current === after) return { action: 'unchanged', changes: [] };
      if (current !== before) {
        return { action: 'skip', changes: [], note: 'the file changed while the task ran; re-run the task' };
      }
      const diff = unifiedDiff(rel, before, after).split('\n');
      const added = diff.filter((l) => l.startsWith('+') && !l.startsWith('+++')).length;
      const removed = diff.filter((l) => l.startsWith('-') && !l.startsWith('---')).length;
      const note = notes.find((n) => n.includes(path.posix.basename(rel)) && /patches|changed it/.test(n));
      return {
        action: before === undefined ? 'create' : 'update',
        changes: [{ field: 'lines', from: countLines(before), to: `${countLines(after)} (+${added} -${removed})` }],
        ...(note ? { note } : {}),
      };
    },
    async apply() {
      writeFileAtomic(abs, after);
    },
  };
}

// --- render check -----------------------------------------------------------------------------

function renderPreflight(planned: PlannedFolder[], ctx: CoreContext): Preflight {
  return {
    id: 'kustomize-render',
    title: 'The patched flux-system folders render with kubectl kustomize',
    async check() {
      const changed = planned.filter((f) => f.result.changes.length > 0);
      if (changed.length === 0) return { status: 'skip', evidence: 'nothing to change' };
      const kubectl = ctx.tools.which('kubectl');
      if (!kubectl) {
        return {
          status: 'skip',
          evidence: 'kubectl is not on PATH; the patches were checked against a simulation of kustomize instead',
        };
      }
      const failures: string[] = [];
      const skipped: string[] = [];
      let next = 0;
      const worker = async () => {
        while (next < changed.length) {
          const f = changed[next++];
          const r = await renderFolder(kubectl, f, ctx);
          if (r === 'skipped') skipped.push(f.rel);
          else if (r.length > 0) failures.push(`${f.rel}: ${r.join('; ')}`);
        }
      };
      // kubectl is CPU-bound: one render per core (at most 4).
      await Promise.all(
        Array.from({ length: Math.max(1, Math.min(4, os.availableParallelism(), changed.length)) }, worker),
      );
      if (failures.length > 0) {
        return {
          status: 'fail',
          evidence: failures.join('\n'),
          cause: failures.slice(0, 5).join(' | '),
          fix: 'fix the folder so that `kubectl kustomize <folder>` succeeds, then re-run; nothing was written',
        };
      }
      const rendered = changed.length - skipped.length;
      return {
        status: 'pass',
        evidence:
          `${rendered} folder${rendered === 1 ? '' : 's'} rendered; the ServiceAccounts, Deployments and GitRepository carry the workload identity fields` +
          (skipped.length
            ? `; not rendered in plan mode (they reference files outside the folder): ${skipped.join(', ')}`
            : ''),
      };
    },
  };
}

/** Renders a copy of the folder with the new contents; problems ([] = fine) or 'skipped'. */
async function renderFolder(kubectl: string, f: PlannedFolder, ctx: CoreContext): Promise<string[] | 'skipped'> {
  let dir: string;
  let cleanup: string;
  if (f.result.selfContained) {
    cleanup = fs.mkdtempSync(path.join(ctx.tempDir, 'flux-render-'));
    dir = path.join(cleanup, path.basename(f.abs));
  } else {
    // Paths like ../base must resolve as they do from the real folder: use a sibling copy. It is
    // a write in the checkout, so only in apply mode (and removed right after).
    if (ctx.mode === 'plan') return 'skipped';
    dir = path.join(path.dirname(f.abs), `.${path.basename(f.abs)}.flux-oidc-render-${process.pid}`);
    cleanup = dir;
  }
  try {
    fs.cpSync(f.abs, dir, { recursive: true, filter: (src) => path.basename(src) !== '.git' });
    for (const c of f.result.changes) fs.writeFileSync(path.join(dir, c.path), c.after);
    const r = await ctx.tools.exec(kubectl, ['kustomize', dir], { timeoutMs: TOOL_TIMEOUT_MS });
    if (r.code !== 0) {
      const err = (r.stderr || r.stdout)
        .trim()
        .split('\n')
        .filter((l) => !/^#?\s*Warning:/.test(l))
        .slice(-3)
        .join(' ')
        .split(dir)
        .join(f.rel);
      const original = await ctx.tools.exec(kubectl, ['kustomize', f.abs], { timeoutMs: TOOL_TIMEOUT_MS });
      return [
        `kubectl kustomize failed: ${err}${original.code !== 0 ? ' (it fails without the patches too: fix the folder first)' : ''}`,
      ];
    }
    const objects = parseKinds(r.stdout, `kubectl kustomize ${f.rel}`, [
      'ServiceAccount',
      'Deployment',
      'GitRepository',
    ]);
    return checkObjects(objects, f.result.expectations);
  } catch (err) {
    if (err instanceof ManifestError) return [err.message];
    throw err;
  } finally {
    fs.rmSync(cleanup, { recursive: true, force: true });
  }
}

// --- commit -------------------------------------------------------------------------------------

function clusterName(folderRel: string): string {
  const parts = folderRel.split('/').filter((p) => p && p !== '.');
  return parts.length >= 2 ? parts[parts.length - 2] : (parts[0] ?? 'flux-system');
}

function safeBranch(name: string): string {
  return (
    name
      .replace(/[^A-Za-z0-9._/-]+/g, '-')
      .replace(/\/{2,}/g, '/')
      .replace(/^[-/.]+|[-/.]+$/g, '') || 'flux-oidc'
  );
}

interface CommitObservation {
  targetTip: string;
  targetFiles: RepoFile[];
  branchTip?: string;
  branchFiles?: RepoFile[];
  pullRequest?: { id: number; title?: string; description?: string };
}

function commitSteps(
  planned: PlannedFolder[],
  inputs: ManifestPatchInputs,
  ctx: CoreContext,
  outputs: ManifestPatchOutputs,
): Step<unknown>[] {
  if (!ctx.openRepository) throw new Error('commit modes need a repository');
  // The checkout the folders are in (with several repositories checked out, the one holding them).
  const root =
    ctx.repositoryRoot ??
    findRepositoryRoot(planned[0]?.abs ?? inputs.workingDirectory) ??
    path.resolve(inputs.workingDirectory);
  const repoPaths = planned.map((f) => {
    const rel = posix(path.relative(root, f.abs));
    if (rel.startsWith('..') || path.isAbsolute(rel)) {
      throw new UserError(`${f.rel} is outside the repository checkout (${root}).`, {
        code: 'OutsideRepository',
        fix: 'commit modes patch folders of the build repository: point workingDirectory/fluxSystemPath into its checkout',
      });
    }
    return rel;
  });
  // The inputs require a branch (refs/heads/… or a bare name) for the commit modes.
  if (!inputs.targetBranch) throw new Error('commit modes need targetBranch');
  const target = branchRef(inputs.targetBranch);
  const clusters = [...new Set(planned.map((f) => clusterName(f.rel)))];
  const message =
    inputs.commitMessage ||
    `Flux: authenticate to Azure DevOps with workload identity (${clusters.length === 1 ? clusters[0] : `${clusters.length} clusters`})`;

  let repoPromise: Promise<GitRepository> | undefined;
  const repo = () => (repoPromise ??= ctx.openRepository!());
  const tipOfTarget = async (): Promise<string> => {
    const tip = await (await repo()).tip(target);
    if (!tip)
      throw new UserError(`The branch ${target} does not exist in the repository.`, {
        code: 'BranchNotFound',
        fix: 'set targetBranch to an existing branch',
      });
    return tip;
  };

  /** The files to commit, computed from the repository's contents at `commitId` (once per commit). */
  const computed = new Map<string, Promise<RepoFile[]>>();
  const compute = (commitId: string): Promise<RepoFile[]> => {
    let p = computed.get(commitId);
    if (!p) {
      p = computeAt(commitId);
      computed.set(commitId, p);
    }
    return p;
  };
  const computeAt = async (commitId: string): Promise<RepoFile[]> => {
    const r = await repo();
    const files: RepoFile[] = [];
    for (const [i, f] of planned.entries()) {
      const base = repoPaths[i];
      const reader: FolderReader = {
        read: (rel) => {
          const p = path.posix.normalize(path.posix.join('/', base, rel));
          return r.readFile(p, commitId);
        },
      };
      let result: FolderResult;
      try {
        result = await patchFolder(reader, { ...f.options, folder: base });
      } catch (err) {
        if (err instanceof UserError) {
          throw new UserError(`In the repository at ${commitId.slice(0, 8)}: ${err.message}`, {
            code: err.code,
            fix: 'commit modes patch what is in the repository: make sure the folder is committed to the branch (the checkout may differ from the branch tip)',
            inner: err,
          });
        }
        throw err;
      }
      for (const c of result.changes)
        files.push({ path: `/${path.posix.join(base, c.path)}`, content: c.after, exists: c.before !== undefined });
    }
    return files;
  };
  const fileChanges = (files: RepoFile[]) =>
    files.map((f) => ({ field: f.path, from: f.exists ? 'current' : undefined, to: 'patched' }));

  if (inputs.commitMode === 'push') {
    const step: Step<CommitObservation> = {
      id: 'commit',
      kind: 'GitPush',
      name: target,
      async observe() {
        const tip = await tipOfTarget();
        return { targetTip: tip, targetFiles: await compute(tip) };
      },
      plan(o) {
        if (o.targetFiles.length === 0)
          return { action: 'unchanged', changes: [], note: `${target} already has the patches: nothing to commit` };
        return {
          action: 'create',
          changes: fileChanges(o.targetFiles),
          note: `one commit on ${target} (on top of ${o.targetTip.slice(0, 8)})`,
        };
      },
      async apply() {
        const result = await commitFiles(await repo(), { branch: target, message, compute });
        if (result.commitId) outputs.commitId = result.commitId;
        return {
          note: result.commitId
            ? `commit ${result.commitId}${result.attempts > 1 ? ` (after ${result.attempts - 1} lost race${result.attempts > 2 ? 's' : ''})` : ''}`
            : 'nothing to commit on the new tip',
        };
      },
    };
    return [step as Step<unknown>];
  }

  // pullRequest
  const prBranch = branchRef(
    safeBranch(inputs.pullRequestBranch || `flux-oidc/${clusters.length === 1 ? clusters[0] : 'fleet'}`),
  );
  const title =
    inputs.pullRequestTitle ||
    `Flux OIDC: authenticate ${clusters.length === 1 ? clusters[0] : `${clusters.length} clusters`} to Azure DevOps with workload identity`;
  const describe = (files: RepoFile[]) =>
    [
      'Kustomize patches added by the FluxManifestPatch task so Flux authenticates to Azure DevOps with AKS workload identity (no SSH key or PAT):',
      '',
      `- client id: ${inputs.clientId}`,
      ...files.map((f) => `- ${f.path}`),
      '',
      'The patches survive `flux bootstrap` (it rewrites gotk-*.yaml but keeps kustomization.yaml). After merging and reconciling, the flux-system Secret is no longer used.',
    ].join('\n');
  const setPr = async (id: number) => {
    outputs.pullRequestId = String(id);
    outputs.pullRequestUrl = await (await repo()).pullRequestUrl(id);
  };
  const step: Step<CommitObservation> = {
    id: 'pullRequest',
    kind: 'PullRequest',
    name: `${prBranch} -> ${target}`,
    async observe() {
      const r = await repo();
      const targetTip = await tipOfTarget();
      const targetFiles = await compute(targetTip);
      if (targetFiles.length === 0) return { targetTip, targetFiles };
      const branchTip = await r.tip(prBranch);
      const branchFiles = branchTip ? await compute(branchTip) : targetFiles;
      const pr = await r.activePullRequest(prBranch, target);
      const o: CommitObservation = { targetTip, targetFiles, branchFiles, ...(branchTip ? { branchTip } : {}) };
      if (pr?.pullRequestId) {
        o.pullRequest = {
          id: pr.pullRequestId,
          ...(pr.title ? { title: pr.title } : {}),
          ...(pr.description ? { description: pr.description } : {}),
        };
        await setPr(pr.pullRequestId);
      }
      return o;
    },
    plan(o) {
      if (o.targetFiles.length === 0)
        return { action: 'unchanged', changes: [], note: `${target} already has the patches: no pull request needed` };
      const branchChanges = o.branchFiles ?? [];
      if (o.pullRequest && branchChanges.length === 0 && o.pullRequest.title === title) {
        return {
          action: 'unchanged',
          changes: [],
          note: `pull request ${o.pullRequest.id} already carries the patches`,
        };
      }
      return {
        action: o.pullRequest ? 'update' : 'create',
        changes: fileChanges(branchChanges.length ? branchChanges : o.targetFiles),
        note: `${o.branchTip ? `commit on ${prBranch}` : `new branch ${prBranch} from ${o.targetTip.slice(0, 8)}`}; ${o.pullRequest ? `update pull request ${o.pullRequest.id}` : 'open a pull request'}`,
      };
    },
    async apply(o) {
      const r = await repo();
      const result = await commitFiles(r, { branch: prBranch, startFrom: o.targetTip, message, compute });
      if (result.commitId) outputs.commitId = result.commitId;
      const description = describe(result.files.length ? result.files : o.targetFiles);
      const existing = await r.activePullRequest(prBranch, target);
      let id: number;
      if (existing?.pullRequestId) {
        id = existing.pullRequestId;
        if (existing.title !== title || existing.description !== description)
          await r.updatePullRequest(id, title, description);
      } else {
        const created = await r.createPullRequest(prBranch, target, title, description);
        if (!created.pullRequestId) throw new Error('Azure DevOps created the pull request but returned no id');
        id = created.pullRequestId;
      }
      await setPr(id);
      return { note: `pull request ${id}${result.commitId ? `, commit ${result.commitId}` : ''}` };
    },
  };
  return [step as Step<unknown>];
}
