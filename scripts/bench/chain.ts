/**
 * The full chain as a user first runs it (issue 15): samples/azure-pipelines.yml (checkout,
 * FluxOidcProvision, FluxManifestPatch with a push, FluxOidcVerify) through the local runner on a
 * fresh emulated cloud, each run on a cloud of its own. Figures: the three tasks' time (each task
 * process from spawn to exit, summed; the checkout and the runner's own work apart), and each
 * task's peak resident memory (the agent's VmHWM sample, test/agent/agent.ts). Real time (time
 * scale 1): Verify's wait for Flux to reconcile the pushed commit is part of the chain.
 */
import * as path from 'node:path';
import { runPipeline } from '../../test/agent/pipeline';
import { startCloud } from '../../test/emulators/cloud';
import { median, type BenchContext, type BenchEntry, type BenchRow } from './types';

const TASKS = ['FluxOidcProvision', 'FluxManifestPatch', 'FluxOidcVerify'];
/** The sample's step names (`name:`) and the task each runs. */
const STEP_TASK: Record<string, string> = {
  provision: 'FluxOidcProvision',
  patch: 'FluxManifestPatch',
  verify: 'FluxOidcVerify',
};

interface ChainRun {
  ms: Map<string, number>;
  rss: Map<string, number>;
}

async function chainOnce(ctx: BenchContext): Promise<ChainRun> {
  const cloud = await startCloud({ scenario: 'fresh', caDir: path.join(ctx.root, '.cache', 'test-ca') });
  try {
    const run = await runPipeline({
      file: path.join(ctx.root, 'samples', 'azure-pipelines.yml'),
      cloud,
      tasksDir: path.join(ctx.dist, 'tasks'),
    });
    if (run.result !== 'Succeeded') throw new Error(`samples/azure-pipelines.yml on fresh: ${run.result}`);
    const out: ChainRun = { ms: new Map(), rss: new Map() };
    for (const step of run.stages.flatMap((s) => s.jobs).flatMap((j) => j.steps)) {
      const name = step.name ? STEP_TASK[step.name] : undefined;
      if (!name || !step.run) continue;
      out.ms.set(name, (out.ms.get(name) ?? 0) + step.run.durationMs);
      if (step.run.peakRssBytes) out.rss.set(name, Math.max(out.rss.get(name) ?? 0, step.run.peakRssBytes));
    }
    const missing = TASKS.filter((t) => !out.ms.has(t));
    if (missing.length) throw new Error(`the sample pipeline ran no step of ${missing.join(', ')}`);
    return out;
  } finally {
    await cloud.stop();
  }
}

export const chain: BenchEntry = {
  name: 'chain',
  async run(ctx) {
    const runs = Math.min(ctx.runs, 3);
    const samples: ChainRun[] = [];
    for (let i = 0; i < runs; i++) samples.push(await chainOnce(ctx));
    const totals = samples.map((s) => TASKS.reduce((sum, t) => sum + s.ms.get(t)!, 0));
    ctx.log(`full chain: ${totals.map((t) => t.toFixed(0)).join(', ')} ms`);
    const per = TASKS.map((t) => `${t} ${median(samples.map((s) => s.ms.get(t)!)).toFixed(0)} ms`).join(', ');
    const rows: BenchRow[] = [
      {
        metric: 'full chain (3 tasks) task time',
        value: median(totals),
        unit: 'ms',
        detail: `samples/azure-pipelines.yml on fresh, median of ${runs}: ${per}`,
      },
    ];
    for (const t of TASKS) {
      const peaks = samples.map((s) => s.rss.get(t)).filter((v): v is number => v !== undefined);
      if (!peaks.length) continue;
      rows.push({
        metric: `${t} peak RSS`,
        value: Math.max(...peaks),
        unit: 'bytes',
        detail: `highest of ${peaks.length} chain runs (VmHWM sampled every 20 ms)`,
      });
    }
    return rows;
  },
};
