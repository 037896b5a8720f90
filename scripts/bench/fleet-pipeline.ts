/**
 * A fleet pipeline end to end (issue 11): samples/fleet/azure-pipelines.yml (one job per cluster:
 * checkout, FluxOidcProvision, FluxManifestPatch with commitMode push, FluxOidcVerify) run by the
 * local runner (test/agent) on 10 agents (`--parallel 10`), against the emulated cloud's `fleet:50`
 * scenario (50 fresh clusters aks-gen-0001 ...), and the same pipeline for one cluster on 10
 * agents. Wall time from the run's start to its end (compile, checkouts, bundled tasks spawned as
 * the agent spawns them); each run gets a cloud of its own (every cluster fresh). The ratio is
 * reported: the ideal is 5x (50 jobs on 10 agents are 5 rounds of one job); above it are the
 * contention of 10 jobs pushing to one branch and of 10 task processes (plus the in-process
 * emulators) on the machine's CPUs. Real time (time scale 1), like the other fleet benchmark.
 *
 * BENCH_FLEET_PIPELINE_RUNS: runs per size (default 1: one 50-cluster run is 200 steps).
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { runPipeline } from '../../test/agent/pipeline';
import { startCloud } from '../../test/emulators/cloud';
import { generatedFleet } from '../../test/emulators/scenarios/fleet';
import { median, type BenchEntry, type BenchRow } from './types';

const CLUSTERS = 50;
const AGENTS = 10;

/** The `clusters` parameter of the sample for the first n generated clusters (YAML flow list). */
export function fleetParameter(n: number): string {
  const rows = generatedFleet(n).map(
    (c) => `{ name: ${c.name}, environment: ${c.env}, resourceGroup: ${c.resourceGroup}, connection: ${c.connection} }`,
  );
  return `[${rows.join(', ')}]`;
}

async function timedRun(ctx: Parameters<BenchEntry['run']>[0], n: number): Promise<number> {
  const cloud = await startCloud({ scenario: `fleet:${CLUSTERS}`, caDir: path.join(ctx.root, '.cache', 'test-ca') });
  try {
    const started = performance.now();
    const run = await runPipeline({
      file: path.join(ctx.root, 'samples', 'fleet', 'azure-pipelines.yml'),
      cloud,
      tasksDir: path.join(ctx.dist, 'tasks'),
      parallel: AGENTS,
      parameters: { clusters: fleetParameter(n), environments: '[gen]' },
    });
    const ms = performance.now() - started;
    const jobs = run.stages.flatMap((s) => s.jobs);
    const failed = jobs.filter((j) => j.result !== 'Succeeded');
    if (run.result !== 'Succeeded' || jobs.length !== n) {
      const first = failed[0]?.steps.find((s) => s.result === 'Failed');
      const error = first?.log.split('\n').find((l) => l.startsWith('##[error]')) ?? '';
      throw new Error(
        `fleet pipeline of ${n}: ${run.result}, ${failed.length} of ${jobs.length} jobs failed (${failed.map((j) => j.name).join(', ')}); first: ${first?.displayName ?? '?'}: ${error.slice(0, 300)}`,
      );
    }
    return ms;
  } finally {
    await cloud.stop();
  }
}

export const fleetPipeline: BenchEntry = {
  name: 'fleet-pipeline',
  async run(ctx) {
    const runs = Number(process.env.BENCH_FLEET_PIPELINE_RUNS ?? 1);
    const times = new Map<number, number>();
    for (const n of [1, CLUSTERS]) {
      const samples: number[] = [];
      for (let i = 0; i < runs; i++) samples.push(await timedRun(ctx, n));
      times.set(n, median(samples));
      ctx.log(`fleet pipeline of ${n}: ${samples.map((s) => s.toFixed(0)).join(', ')} ms`);
    }
    const one = times.get(1)!;
    const fifty = times.get(CLUSTERS)!;
    const how = `samples/fleet/azure-pipelines.yml, local runner, ${AGENTS} agents, fleet:${CLUSTERS}, median of ${runs}`;
    return [
      { metric: 'fleet pipeline: 1 cluster', value: one, unit: 'ms', detail: how },
      {
        metric: `fleet pipeline: ${CLUSTERS} clusters, maxParallel ${AGENTS}`,
        value: fifty,
        unit: 'ms',
        detail: `${(fifty / one).toFixed(2)}x one cluster; load average ${os.loadavg()[0]!.toFixed(1)} on ${os.cpus().length} CPUs`,
      },
      {
        metric: `fleet pipeline: ${CLUSTERS} clusters / 1 cluster`,
        value: Number((fifty / one).toFixed(2)),
        unit: 'count',
        detail: `ratio of the two wall times above (${AGENTS} agents)`,
      },
    ] satisfies BenchRow[];
  },
};
