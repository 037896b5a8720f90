/**
 * npm run pipeline -- <azure-pipelines.yml> [--scenario <name> | --state <cloud-state.yaml> | --no-cloud]
 *                     [--repo <dir>] [--var name=value]... [--debug] [--keep]
 *
 * Runs a pipeline locally: starts the emulated cloud (scenario `fresh` unless told otherwise),
 * checks out its repository (or uses --repo), runs the steps through the agent emulation, prints
 * every step's log, the run summary and the tasks' markdown summaries. Exit code: 0 when the run
 * succeeded, 1 when it failed, 2 when the YAML or the command line is not usable.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PipelineError, runPipeline, type CloudLike } from './pipeline';

interface StartedCloud extends CloudLike {
  stop(): Promise<void>;
  dump(): string;
}
type StartCloud = (opts: { scenario?: string; stateFile?: string; caDir?: string }) => Promise<StartedCloud>;

const USAGE = `usage: npm run pipeline -- <azure-pipelines.yml> [--scenario <name> | --state <cloud-state.yaml> | --no-cloud]
                            [--repo <dir>] [--var name=value]... [--debug] [--keep] [--dump-state <file>]`;

function parseArgs(argv: string[]) {
  const out = {
    file: '',
    scenario: undefined as string | undefined,
    state: undefined as string | undefined,
    noCloud: false,
    repo: undefined as string | undefined,
    vars: {} as Record<string, string>,
    debug: false,
    keep: false,
    dumpState: undefined as string | undefined,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined || v.startsWith('--')) throw new PipelineError(`${a} needs a value\n${USAGE}`);
      return v;
    };
    if (a === '--scenario') out.scenario = value();
    else if (a === '--state') out.state = value();
    else if (a === '--no-cloud') out.noCloud = true;
    else if (a === '--repo') out.repo = value();
    else if (a === '--dump-state') out.dumpState = value();
    else if (a === '--var') {
      const v = value();
      const eq = v.indexOf('=');
      if (eq <= 0) throw new PipelineError(`--var ${v}: expected name=value`);
      out.vars[v.slice(0, eq)] = v.slice(eq + 1);
    } else if (a === '--debug') out.debug = true;
    else if (a === '--keep') out.keep = true;
    else if (a === '--help' || a === '-h') {
      console.log(USAGE);
      process.exit(0);
    } else if (a.startsWith('--')) throw new PipelineError(`unknown option ${a}\n${USAGE}`);
    else if (!out.file) out.file = a;
    else throw new PipelineError(`unexpected argument ${a}\n${USAGE}`);
  }
  if (!out.file) throw new PipelineError(USAGE);
  if ([out.scenario, out.state, out.noCloud || undefined].filter(Boolean).length > 1)
    throw new PipelineError(`use one of --scenario, --state, --no-cloud\n${USAGE}`);
  if (!fs.existsSync(out.file)) throw new PipelineError(`${out.file} does not exist`);
  if (out.repo && !fs.statSync(out.repo, { throwIfNoEntry: false })?.isDirectory())
    throw new PipelineError(`--repo ${out.repo} is not a directory`);
  if (out.state && !fs.existsSync(out.state)) throw new PipelineError(`--state ${out.state} does not exist`);
  return out;
}

async function loadStartCloud(): Promise<StartCloud> {
  // Loaded lazily: --no-cloud runs need nothing from the emulators.
  const { startCloud } = await import('../emulators/cloud');
  return startCloud;
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  let cloud: StartedCloud | undefined;
  if (!args.noCloud) {
    const startCloud = await loadStartCloud();
    const scenario = args.state ? undefined : (args.scenario ?? 'fresh');
    console.log(`Starting the emulated cloud (${args.state ? `state ${args.state}` : `scenario ${scenario}`})...`);
    cloud = await startCloud({
      scenario,
      stateFile: args.state ? path.resolve(args.state) : undefined,
      caDir: process.env.FLUX_OIDC_TEST_CA_DIR,
    });
  }
  try {
    const run = await runPipeline({
      file: args.file,
      cloud,
      repoDir: args.repo,
      debug: args.debug,
      variables: args.vars,
      keepWorkDir: args.keep,
      print: (t) => process.stdout.write(t),
    });
    if (run.workDir) console.log(`\nAgent work folder kept at ${run.workDir}`);
    if (cloud && args.dumpState) {
      fs.writeFileSync(args.dumpState, cloud.dump());
      console.log(`Cloud state written to ${args.dumpState}`);
    }
    return run.result === 'Failed' ? 1 : 0;
  } finally {
    await cloud?.stop();
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    if (e instanceof PipelineError) {
      console.error(`\n##[error]${e.message}`);
      process.exitCode = 2;
    } else {
      console.error(e);
      process.exitCode = 1;
    }
  },
);
