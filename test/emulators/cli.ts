/**
 * `npm run cloud -- [--scenario fresh|converged|fleet|fleet:N | --state <file>] [--dump <file>] [--seed <n>]`
 *
 * Starts the emulated cloud standalone. The first line on stdout is one JSON object:
 * `{ urls, caFile, serviceConnectionId, serviceConnections, env }` (env: every variable a task
 * process needs to run against the cloud as in a pipeline). Then it runs until SIGINT/SIGTERM;
 * with --dump, the live state is written to that file (YAML, loadable with --state) on exit.
 * Diagnostics go to stderr.
 */
import * as fs from 'node:fs';
import { startCloud, type StartCloudOptions } from './cloud';

const USAGE =
  'usage: npm run cloud -- [--scenario fresh|converged|fleet|fleet:N | --state <file>] [--dump <file>] [--seed <n>]';

function parseArgs(argv: string[]): { opts: StartCloudOptions; dump?: string } {
  const opts: StartCloudOptions = {};
  let dump: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined || v.startsWith('--')) throw new Error(`${a} needs a value. ${USAGE}`);
      return v;
    };
    if (a === '--scenario') opts.scenario = value();
    else if (a === '--state') opts.stateFile = value();
    else if (a === '--dump') dump = value();
    else if (a === '--seed') {
      const v = value();
      opts.seed = Number(v);
      if (!Number.isInteger(opts.seed)) throw new Error(`--seed '${v}' is not an integer. ${USAGE}`);
    } else if (a === '--help' || a === '-h') {
      process.stderr.write(`${USAGE}\n`);
      process.exit(0);
    } else throw new Error(`unknown argument '${a}'. ${USAGE}`);
  }
  if (opts.scenario && opts.stateFile) throw new Error(`give --scenario or --state, not both. ${USAGE}`);
  return dump === undefined ? { opts } : { opts, dump };
}

async function main(): Promise<void> {
  const { opts, dump } = parseArgs(process.argv.slice(2));
  const cloud = await startCloud(opts);
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    try {
      if (dump) {
        fs.writeFileSync(dump, cloud.dump());
        process.stderr.write(`state written to ${dump}\n`);
      }
      await cloud.stop();
      process.stderr.write(`emulated cloud stopped (${signal})\n`);
      process.exit(0);
    } catch (e) {
      process.stderr.write(`error while stopping: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exit(1);
    }
  };
  // Handlers first: whoever reads the first line may stop the cloud right away.
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  const connections = cloud.serviceConnections;
  process.stdout.write(
    `${JSON.stringify({
      urls: cloud.ctx.urls,
      caFile: cloud.ctx.ca.caCertPath,
      serviceConnectionId: Object.values(connections)[0] ?? null,
      serviceConnections: connections,
      env: cloud.env,
    })}\n`,
  );
  process.stderr.write(`emulated cloud running (${opts.stateFile ?? opts.scenario ?? 'fresh'}); stop with Ctrl+C\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
