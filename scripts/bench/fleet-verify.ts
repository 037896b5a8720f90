/**
 * FluxOidcVerify of 1, 10 and 50 clusters in one step (`clusters` input), against the emulated
 * cloud's `fleet:50:oidc` scenario (50 clusters already on OIDC, so every check and the token proof
 * run and pass). Wall time of the bundled task from spawn to exit, as the agent runs it; the target
 * is 50 clusters <= 3x one cluster. The clusters are booted (Flux applied, Ready) by one untimed
 * Verify of all 50 first, as real clusters are already running. Median of min(BENCH_RUNS, 3) runs.
 * BENCH_FLEET_PARALLEL sets maxParallel (default 25).
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { runBundledTask } from '../../test/agent/agent';
import { startCloud } from '../../test/emulators/cloud';
import { generatedFleet } from '../../test/emulators/scenarios/fleet';
import { median, type BenchEntry, type BenchRow } from './types';

const SIZES = [1, 10, 50] as const;

export const fleetVerify: BenchEntry = {
  name: 'fleet-verify',
  async run(ctx) {
    const parallel = Number(process.env.BENCH_FLEET_PARALLEL ?? 25);
    const caDir = path.join(ctx.root, '.cache', 'test-ca');
    const cloud = await startCloud({ scenario: 'fleet:50:oidc', caDir });
    const fleet = generatedFleet(50, 'oidc');
    const taskDir = path.join(ctx.dist, 'tasks', 'FluxOidcVerify');
    const verify = async (n: number): Promise<number> => {
      const started = performance.now();
      const r = await runBundledTask({
        taskDir,
        env: cloud.env,
        timeoutMs: 600_000,
        inputs: {
          azureSubscription: cloud.serviceConnections['azure-nonprod']!,
          clusters: fleet
            .slice(0, n)
            .map((c) => `${c.resourceGroup}/${c.name}`)
            .join('\n'),
          maxParallel: String(parallel),
          timeoutSeconds: '120',
        },
      });
      const ms = performance.now() - started;
      if (r.result !== 'Succeeded') throw new Error(`Verify of ${n} clusters: ${r.result}: ${r.message}`);
      return ms;
    };
    try {
      ctx.log(`booting the 50 clusters (one untimed Verify of all)`);
      await verify(50);
      const runs = Math.min(ctx.runs, 3);
      const times = new Map<number, number>();
      for (const n of SIZES) {
        const samples: number[] = [];
        for (let i = 0; i < runs; i++) samples.push(await verify(n));
        times.set(n, median(samples));
        ctx.log(`Verify of ${n}: ${samples.map((s) => s.toFixed(0)).join(', ')} ms`);
      }
      const one = times.get(1)!;
      return SIZES.map((n): BenchRow => ({
        metric: `verify ${n} cluster${n === 1 ? '' : 's'} in one step`,
        value: times.get(n)!,
        unit: 'ms',
        detail:
          n === 1
            ? `bundled task, spawn to exit, fleet:50:oidc, median of ${runs}`
            : `${(times.get(n)! / one).toFixed(2)}x one cluster (target for 50: <= 3x), maxParallel ${parallel}; load average ${os.loadavg()[0]!.toFixed(1)} on ${os.cpus().length} CPUs`,
      }));
    } finally {
      await cloud.stop();
    }
  },
};
