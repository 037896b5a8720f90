/** FluxManifestPatch render check: every patched folder must render with `kubectl kustomize` before any write. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { checkObjects } from '../flux/checks';
import { ManifestError } from '../flux/errors';
import { parseKinds } from '../flux/manifests';
import { type Preflight } from '../plan';
import { TOOL_TIMEOUT_MS, type CoreContext, type PlannedFolder } from './model';

export function renderPreflight(planned: PlannedFolder[], ctx: CoreContext): Preflight {
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
export async function renderFolder(kubectl: string, f: PlannedFolder, ctx: CoreContext): Promise<string[] | 'skipped'> {
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
