/**
 * Calls each bundled task makes on the emulated cloud, counted from the emulator's call journal
 * (token requests counted apart: Entra and the pipeline's OIDC token change nothing; the emulated
 * cloud's own requests, such as Flux fetching Git after a reconcile, not counted), and each
 * run's task time: a fresh Provision, its converged re-run (calls / writes), and Verify on the
 * converged scenario. One run each (counts are deterministic; the times are single samples).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { runBundledTask } from '../../test/agent/agent';
import { startCloud, type Cloud } from '../../test/emulators/cloud';
import type { JournalEntry } from '../../test/emulators/core/journal';
import { FRESH } from '../../test/emulators/names';
import type { BenchContext, BenchEntry, BenchRow } from './types';

function isTokenCall(e: JournalEntry): boolean {
  return /\/oauth2\/v2\.0\/token$|\/oidctoken$/i.test(e.path);
}

/**
 * Requests the emulated cloud makes itself, not the task: the emulated Flux controllers' Git
 * fetches (smart HTTP `info/refs` and `git-upload-pack`, started by the reconcile the task requests,
 * as a real source-controller fetches; the product reads Git only through the REST API), Entra's
 * reads of an issuer's discovery document and keys while it checks a client assertion (the
 * `devops-issuer` and `aks-issuer` hosts, which no task calls), and the controllers' own token
 * exchanges (MSAL, the only client the product exchanges with, always sends client-request-id).
 * The journal does not record who called, so the rule is by path; counted and shown apart.
 */
function isEmulatedCloudCall(e: JournalEntry): boolean {
  if (/\/_git\/[^/]+\/(info\/refs|git-upload-pack|git-receive-pack)$/.test(e.path)) return true;
  if (e.service === 'devops-issuer' || e.service === 'aks-issuer') return true;
  return /\/oauth2\/v2\.0\/token$/i.test(e.path) && !/(^|&)client-request-id=/.test(e.query);
}

interface Counted {
  calls: number;
  tokens: number;
  /** The emulated cloud's own requests during the run (Flux's Git fetches, Entra's issuer reads). */
  cloud: number;
  writeKinds: string;
  writes: number;
  ms: number;
  repeats: string;
}

async function runTask(ctx: BenchContext, cloud: Cloud, task: string, extra: Record<string, string>): Promise<Counted> {
  const tempDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-calls-'));
  const mark = cloud.ctx.journal.mark();
  const started = performance.now();
  try {
    const run = await runBundledTask({
      taskDir: path.join(ctx.dist, 'tasks', task),
      inputs: {
        mode: 'apply',
        azureSubscription: cloud.serviceConnections[FRESH.serviceConnectionName]!,
        resourceGroup: FRESH.resourceGroup,
        clusterName: FRESH.clusterName,
        ...extra,
      },
      env: cloud.env,
      tempDir,
      timeoutMs: 180_000,
    });
    const ms = performance.now() - started;
    if (run.result !== 'Succeeded' && run.result !== 'SucceededWithIssues')
      throw new Error(`${task} ${run.result}: ${run.message}`);
    const journal = cloud.ctx.journal.entries({ since: mark });
    const all = journal.filter((e) => !isEmulatedCloudCall(e));
    const calls = all.filter((e) => !isTokenCall(e));
    const writes = calls.filter((e) => e.write && e.status < 400);
    const kinds = new Map<string, number>();
    for (const e of writes) {
      const seg = e.path.split('/');
      const k = `${e.method} ${seg.at(-1) === 'token' ? `${seg.at(-3)}/token` : seg.at(-2)}`;
      kinds.set(k, (kinds.get(k) ?? 0) + 1);
    }
    const seen = new Map<string, number>();
    for (const e of calls) seen.set(`${e.method} ${e.path}`, (seen.get(`${e.method} ${e.path}`) ?? 0) + 1);
    const repeats = [...seen]
      .filter(([, n]) => n > 1)
      .map(([k, n]) => `${n}x ${k.replace(/^(\w+) .*\/(_apis\/[^/]+).*$/, '$1 $2')}`);
    return {
      calls: calls.length,
      tokens: all.length - calls.length,
      cloud: journal.length - all.length,
      writeKinds: [...kinds].map(([k, n]) => `${n}x ${k}`).join(', '),
      writes: writes.length,
      ms,
      repeats: repeats.length ? `repeats: ${repeats.join(', ')}` : 'no repeated call',
    };
  } finally {
    fs.rmSync(tempDir, { recursive: true, force: true });
  }
}

function rows(label: string, c: Counted): BenchRow[] {
  return [
    {
      metric: `${label}: calls`,
      value: c.calls,
      unit: 'count',
      detail: `+${c.tokens} token requests, ${c.writes} writes; not counted: ${c.cloud} requests of the emulated cloud itself (Flux's Git fetches, Entra's issuer reads); ${c.repeats}`,
    },
    { metric: `${label}: writes`, value: c.writes, unit: 'count', ...(c.writeKinds ? { detail: c.writeKinds } : {}) },
    { metric: `${label}: task time`, value: c.ms, unit: 'ms', detail: 'one run, process start to exit' },
  ];
}

export const calls: BenchEntry = {
  name: 'calls',
  async run(ctx) {
    const out: BenchRow[] = [];
    const fresh = await startCloud({ scenario: 'fresh' });
    try {
      out.push(...rows('fresh Provision', await runTask(ctx, fresh, 'FluxOidcProvision', {})));
      out.push(...rows('converged Provision re-run', await runTask(ctx, fresh, 'FluxOidcProvision', {})));
    } finally {
      await fresh.stop();
    }
    const converged = await startCloud({ scenario: 'converged' });
    try {
      out.push(...rows('converged Verify', await runTask(ctx, converged, 'FluxOidcVerify', { timeoutSeconds: '60' })));
    } finally {
      await converged.stop();
    }
    return out;
  },
};
