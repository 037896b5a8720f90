/**
 * npm run pipeline -- <azure-pipelines.yml> [--scenario <name> | --state <cloud-state.yaml> | --no-cloud]
 *                     [--repo <dir>] [--param name=value]... [--var name=value]... [--parallel N]
 *                     [--expand] [--debug] [--keep] [--dump-state <file>]
 *
 * Runs a pipeline locally: compiles it (templates, parameters, `${{ }}`), starts the emulated
 * cloud (scenario `fresh` unless told otherwise), checks out its repository (or uses --repo), runs
 * the jobs on `--parallel` agents (default 1) through the agent emulation, prints every job's log,
 * the run summary and the tasks' markdown summaries. `--expand` prints the compiled YAML and
 * stops. Exit code: 0 when the run succeeded, 1 when it failed, 2 when the YAML, the command line
 * or the state file is not usable.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as YAML from 'yaml';
import { StateError } from '../emulators/state';
import { compile, PipelineError, runPipeline, type CloudLike } from './pipeline';

interface StartedCloud extends CloudLike {
  stop(): Promise<void>;
  dump(): string;
}
type StartCloud = (opts: { scenario?: string; stateFile?: string; caDir?: string }) => Promise<StartedCloud>;

const USAGE = `usage: npm run pipeline -- <azure-pipelines.yml> [--scenario <name> | --state <cloud-state.yaml> | --no-cloud]
                            [--repo <dir>] [--param name=value]... [--var name=value]... [--parallel N]
                            [--expand] [--debug] [--keep] [--dump-state <file>]`;

function nameValue(option: string, v: string): [string, string] {
  const eq = v.indexOf('=');
  if (eq <= 0) throw new PipelineError(`${option} ${v}: expected name=value`);
  return [v.slice(0, eq), v.slice(eq + 1)];
}

function parseArgs(argv: string[]) {
  const out = {
    file: '',
    scenario: undefined as string | undefined,
    state: undefined as string | undefined,
    noCloud: false,
    repo: undefined as string | undefined,
    vars: {} as Record<string, string>,
    params: {} as Record<string, string>,
    parallel: 1,
    expand: false,
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
      const [k, v] = nameValue(a, value());
      out.vars[k] = v;
    } else if (a === '--param') {
      const [k, v] = nameValue(a, value());
      out.params[k] = v;
    } else if (a === '--parallel') {
      const v = value();
      out.parallel = Number(v);
      if (!Number.isInteger(out.parallel) || out.parallel < 1)
        throw new PipelineError(`--parallel ${v}: expected a number of agents of at least 1`);
    } else if (a === '--expand') out.expand = true;
    else if (a === '--debug') out.debug = true;
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
  // Compile time first: a YAML, template or parameter error stops here, before any cloud starts.
  const { tree } = compile({ file: args.file, parameters: args.params, variables: args.vars });
  if (args.expand) {
    process.stdout.write(YAML.stringify(tree, { lineWidth: 0 }));
    return 0;
  }
  let cloud: StartedCloud | undefined;
  if (!args.noCloud) {
    const startCloud = await loadStartCloud();
    const scenario = args.state ? undefined : (args.scenario ?? 'fresh');
    console.log(`Starting the emulated cloud (${args.state ? `state ${args.state}` : `scenario ${scenario}`})...`);
    try {
      cloud = await startCloud({
        scenario,
        stateFile: args.state ? path.resolve(args.state) : undefined,
        caDir: process.env.FLUX_OIDC_TEST_CA_DIR,
      });
    } catch (e) {
      // Whatever a state file holds, the user gets what is wrong with it, not a stack trace.
      if (e instanceof StateError || !args.state) throw e;
      if (args.debug) console.error(e);
      throw new StateError(`--state ${args.state}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  try {
    const run = await runPipeline({
      file: args.file,
      cloud,
      repoDir: args.repo,
      debug: args.debug,
      variables: args.vars,
      parameters: args.params,
      parallel: args.parallel,
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
    if (e instanceof PipelineError || e instanceof StateError) {
      console.error(`\n##[error]${e.message}`);
      process.exitCode = 2;
    } else {
      console.error(e);
      process.exitCode = 1;
    }
  },
);
