/**
 * FluxManifestPatch on a fleet: the time the task core takes to patch 1,000 cluster folders in one
 * run (`fluxSystemPath: clusters/*\/flux-system`, apply), the time of the no-op re-run, and what
 * `kubectl kustomize` validation adds per folder when kubectl is on PATH.
 *
 * Every folder is a copy of the emulated repository's bootstrap output (seed `fleet`: a
 * 1,500-line gotk-components.yaml, gotk-sync.yaml with an SSH URL, the bootstrap
 * kustomization.yaml). The 1,000-folder rows run without kubectl (it would dominate: see the
 * per-folder row); each timed run starts from fresh, unpatched copies.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { silentLogger } from '../../tasks/common/log';
import { patchManifests, type ManifestPatchInputs } from '../../tasks/common/patch/run';
import { systemTools, type Tools } from '../../tasks/common/patch/tools';
import { median, type BenchContext, type BenchEntry, type BenchRow } from './types';

const FOLDERS = 1000;
const RENDERED_FOLDERS = 20;

function seedFolder(root: string): string {
  return path.join(root, 'test', 'emulators', 'devops', 'seed', 'fleet', 'clusters', 'prod', 'flux-system');
}

/** `count` cluster folders under <dir>/clusters, each a copy of the seed's flux-system. */
function makeFleet(root: string, dir: string, count: number): void {
  const seed = seedFolder(root);
  const files = fs.readdirSync(seed).map((f) => [f, fs.readFileSync(path.join(seed, f), 'utf8')] as const);
  for (let i = 0; i < count; i++) {
    const folder = path.join(dir, 'clusters', `aks-${String(i).padStart(4, '0')}`, 'flux-system');
    fs.mkdirSync(folder, { recursive: true });
    for (const [name, text] of files) {
      fs.writeFileSync(
        path.join(folder, name),
        name === 'gotk-sync.yaml' ? text.replace('./clusters/prod', `./clusters/aks-${i}`) : text,
      );
    }
  }
}

const withoutKubectl: Tools = {
  which: (name) => (name === 'kubectl' ? undefined : systemTools.which(name)),
  exec: systemTools.exec,
};

function inputs(dir: string): ManifestPatchInputs {
  return {
    workingDirectory: dir,
    fluxSystemPath: 'clusters/*/flux-system',
    clientId: '9a7d1c3e-2b4f-4e6a-8c1d-5f3b2a9e7c40',
    serviceAccounts: ['source-controller', 'image-automation-controller'],
    gitRepositoryName: 'flux-system',
    minimumFluxVersion: { major: 2, minor: 4, patch: 0 },
    regenerateComponents: false,
    commitMode: 'none',
  };
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

export const manifestPatch: BenchEntry = {
  name: 'manifest-patch',
  async run(ctx: BenchContext): Promise<BenchRow[]> {
    if (!fs.existsSync(seedFolder(ctx.root))) throw new Error(`${seedFolder(ctx.root)} is missing`);
    const base = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-manifest-patch-'));
    const tempDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-manifest-patch-tmp-'));
    try {
      const apply: number[] = [];
      const rerun: number[] = [];
      for (let r = 0; r < ctx.runs; r++) {
        const dir = path.join(base, `run-${r}`);
        makeFleet(ctx.root, dir, FOLDERS);
        const core = { mode: 'apply' as const, log: silentLogger, tools: withoutKubectl, tempDir };
        let changed = 0;
        apply.push(
          await timed(async () => {
            changed = (await patchManifests(inputs(dir), core)).changedFiles.length;
          }),
        );
        if (changed !== FOLDERS) throw new Error(`patched ${changed} of ${FOLDERS} folders`);
        rerun.push(
          await timed(async () => {
            if ((await patchManifests(inputs(dir), core)).changed) throw new Error('the re-run changed files');
          }),
        );
        fs.rmSync(dir, { recursive: true, force: true });
        ctx.log(`run ${r + 1}/${ctx.runs}: ${apply[r].toFixed(0)} ms, re-run ${rerun[r].toFixed(0)} ms`);
      }
      const rows: BenchRow[] = [
        {
          metric: `manifest patch: ${FOLDERS} cluster folders (apply)`,
          value: median(apply),
          unit: 'ms',
          detail: `one run, glob clusters/*/flux-system, no kubectl; min ${Math.min(...apply).toFixed(0)}, max ${Math.max(...apply).toFixed(0)}`,
        },
        {
          metric: `manifest patch: ${FOLDERS} folders re-run (no-op)`,
          value: median(rerun),
          unit: 'ms',
          detail: 'already patched: nothing written',
        },
      ];
      if (systemTools.which('kubectl')) {
        const dir = path.join(base, 'rendered');
        makeFleet(ctx.root, dir, RENDERED_FOLDERS);
        const t = await timed(() =>
          patchManifests(inputs(dir), { mode: 'plan', log: silentLogger, tools: systemTools, tempDir }),
        );
        rows.push({
          metric: 'manifest patch: kubectl kustomize check, per folder',
          value: t / RENDERED_FOLDERS,
          unit: 'ms',
          detail: `${RENDERED_FOLDERS} folders in one plan run (one render per core, at most 4); add this per folder when kubectl is on PATH`,
        });
      }
      return rows;
    } finally {
      fs.rmSync(base, { recursive: true, force: true });
      fs.rmSync(tempDir, { recursive: true, force: true });
    }
  },
};
