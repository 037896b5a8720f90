/**
 * Runs a built task the way the Azure Pipelines agent runs a Node handler: `node <target>` from the
 * task folder, inputs as INPUT_<NAME>, the job's variables and endpoints as environment, a temp
 * directory, then every `##vso` line parsed. The step's result comes from `task.complete`, merged
 * with the exit code as the agent merges them; a task that never prints `task.complete` is a harness
 * error (the real agent would silently call that Succeeded, which hides bugs).
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  mergeResults,
  parseLine,
  renderLogLine,
  SecretMasker,
  secretsFromEnvironment,
  type TaskResult,
  type VsoCommand,
} from './vso';

export interface TaskRunOptions {
  /** A built task folder: task.json next to the file named by execution.Node20_1.target. */
  taskDir: string;
  /** Input values by input name (or alias), as strings; task.json defaults fill the rest, as the agent does. */
  inputs?: Record<string, string>;
  /** The job's environment on top of the agent's own: variables (SYSTEM_*, BUILD_*), ENDPOINT_*, SECRET_*. */
  env?: Record<string, string>;
  /** Working directory (System.DefaultWorkingDirectory); a fresh temp dir when not given. */
  cwd?: string;
  /** Agent.TempDirectory to use and keep (a job shares one); a fresh one, removed afterwards, when not given. */
  tempDir?: string;
  timeoutMs?: number;
  /** Values masked from the first line on (beyond the endpoint secrets and SECRET_* the agent masks itself). */
  secrets?: string[];
  /** System.Debug: show task.debug lines in the log. */
  debug?: boolean;
  /** Display name for TASK_DISPLAYNAME and messages. */
  displayName?: string;
  /** Called with each log line as the user would see it, as it happens (the run's `log` has them all too). */
  onLogLine?: (line: string) => void;
}

export interface ProcessRun {
  result: TaskResult;
  /** The message of the last task.complete (or the harness's explanation). */
  message: string;
  /** Set when the run could not be judged the way the agent judges it (no task.complete, timeout, spawn failure). */
  harnessError?: string;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  durationMs: number;
  /**
   * The task process's peak resident memory in bytes (Linux: VmHWM of /proc/<pid>/status, sampled
   * every 20 ms while it runs, so a peak in its last 20 ms can be missed); undefined elsewhere.
   */
  peakRssBytes?: number;
  /** Raw output, unmasked: for assertions only, never print it. */
  stdout: string;
  stderr: string;
  /** Every `##vso` command and formatting line, in output order. */
  commands: VsoCommand[];
  /** The log as a user sees it: commands consumed, issues rendered, secrets masked as `***`. */
  log: string;
  /** Output variables (isOutput=true) by name, as the task set them (last write wins). */
  outputs: Record<string, string>;
  /** Every variable the step set (output or not). */
  variables: Record<string, { value: string; isOutput: boolean; isSecret: boolean }>;
  issues: { type: 'error' | 'warning'; message: string }[];
  /** Every value that was masked: setsecret, secret variables, endpoint secrets. */
  secrets: string[];
  attachments: { type: string; name: string; path: string; content?: string }[];
  summaries: { path: string; content?: string }[];
}

export type TaskRun = ProcessRun;

export interface TaskJson {
  name: string;
  version: { Major: number; Minor: number; Patch: number };
  inputs?: { name: string; type?: string; aliases?: string[]; defaultValue?: string | boolean }[];
  execution?: Record<string, { target: string } | undefined>;
}

const REPO_ROOT = path.resolve(import.meta.dirname, '..', '..');
const checkedBuilds = new Set<string>();

/**
 * Why the product's bundle in `taskDir` (dist/tasks/<Task>) does not match the sources, or undefined:
 * a source it was built from (dist/build-inputs.json, written by the build) changed after it was
 * built. Running a stale bundle would test old code and pass or fail for the wrong reason.
 * Other folders (fake tasks in tests) are not checked.
 */
export function staleBuild(taskDir: string, root: string = REPO_ROOT): string | undefined {
  const name = path.basename(taskDir);
  if (path.resolve(taskDir) !== path.join(root, 'dist', 'tasks', name)) return undefined;
  const target = readTaskJsonFile(taskDir).execution?.Node20_1?.target ?? 'main.js';
  const bundle = path.join(taskDir, target);
  if (!fs.existsSync(bundle)) return undefined; // runBundledTask says it is missing
  const inputsFile = path.join(root, 'dist', 'build-inputs.json');
  const sources = fs.existsSync(inputsFile)
    ? (JSON.parse(fs.readFileSync(inputsFile, 'utf8')) as Record<string, string[]>)[name]
    : undefined;
  if (!sources) return `dist/build-inputs.json does not list ${name} (it was built by an older build script)`;
  const builtAt = fs.statSync(bundle).mtimeMs;
  const changed = sources.filter((f) => {
    try {
      return fs.statSync(path.join(root, f)).mtimeMs > builtAt;
    } catch {
      return true;
    }
  });
  return changed.length
    ? `${changed.slice(0, 3).join(', ')}${changed.length > 3 ? ` and ${changed.length - 3} more` : ''} changed after dist/tasks/${name}/${target} was built`
    : undefined;
}

function readTaskJsonFile(taskDir: string): TaskJson {
  const file = path.join(taskDir, 'task.json');
  if (!fs.existsSync(file)) throw new Error(`${file} does not exist: build the tasks first (npm run build)`);
  return JSON.parse(fs.readFileSync(file, 'utf8')) as TaskJson;
}

/** task.json of a built task; for the product's own bundles, only when they are as new as their sources. */
export function readTaskJson(taskDir: string): TaskJson {
  const task = readTaskJsonFile(taskDir);
  const key = path.resolve(taskDir);
  if (!checkedBuilds.has(key)) {
    const stale = staleBuild(taskDir);
    if (stale)
      throw new Error(
        `The build is out of date: ${stale}. Rebuild first: npm run build (npm test builds before it tests).`,
      );
    checkedBuilds.add(key);
  }
  return task;
}

/** INPUT_<NAME>: upper-cased, dots and spaces to `_` (task-lib getInput / the agent). */
export function inputEnvName(name: string): string {
  return `INPUT_${name.replace(/[.\s]/g, '_').toUpperCase()}`;
}

/** A variable's environment name: upper-cased, dots and spaces to `_`. */
export function variableEnvName(name: string): string {
  return name.replace(/[.\s]/g, '_').toUpperCase();
}

/**
 * Resolves aliases to input names and fills task.json defaults, as the server and agent do.
 * `defaulted` lists the inputs that took their default: the agent expands `$(variable)` macros in
 * those at run time (e.g. a default of `$(Build.SourcesDirectory)`).
 */
export function resolveInputs(
  task: TaskJson,
  given: Record<string, string>,
): { inputs: Record<string, string>; explicit: Record<string, string>; defaulted: string[]; unknown: string[] } {
  const byName = new Map<string, string>();
  for (const input of task.inputs ?? []) {
    byName.set(input.name.toLowerCase(), input.name);
    for (const alias of input.aliases ?? []) byName.set(alias.toLowerCase(), input.name);
  }
  const explicit: Record<string, string> = {};
  const unknown: string[] = [];
  for (const [name, value] of Object.entries(given)) {
    const canonical = byName.get(name.toLowerCase());
    if (!canonical) unknown.push(name);
    explicit[canonical ?? name] = value;
  }
  const inputs: Record<string, string> = {};
  const defaulted: string[] = [];
  for (const input of task.inputs ?? []) {
    if (input.name in explicit || input.defaultValue === undefined || input.defaultValue === '') continue;
    inputs[input.name] = String(input.defaultValue);
    defaulted.push(input.name);
  }
  Object.assign(inputs, explicit);
  return { inputs, explicit, defaulted, unknown };
}

/** `$(Build.SourcesDirectory)` -> env BUILD_SOURCESDIRECTORY (variables are the environment); unknown macros stay. */
export function expandEnvMacros(text: string, env: Record<string, string | undefined>): string {
  return text.replace(
    /\$\(([A-Za-z0-9_.\- ]+)\)/g,
    (whole, name: string) => env[variableEnvName(name.trim())] ?? whole,
  );
}

/** The environment the agent gives every step, before the job's variables. */
export function agentBaseEnv(opts: {
  workDir: string;
  tempDir: string;
  debug?: boolean;
  displayName?: string;
}): Record<string, string> {
  const keep = [
    'PATH',
    'HOME',
    'USER',
    'LANG',
    'LC_ALL',
    'TZ',
    'TMPDIR',
    'NODE_EXTRA_CA_CERTS',
    'FLUX_OIDC_TEST_CA_DIR',
  ];
  const env: Record<string, string> = {};
  for (const k of keep) if (process.env[k] !== undefined) env[k] = process.env[k] as string;
  Object.assign(env, {
    TF_BUILD: 'True',
    AGENT_VERSION: '4.258.1',
    AGENT_OS: 'Linux',
    AGENT_OSARCHITECTURE: 'X64',
    AGENT_NAME: 'local-emulated-agent',
    AGENT_JOBSTATUS: 'Succeeded',
    AGENT_TEMPDIRECTORY: opts.tempDir,
    AGENT_WORKFOLDER: path.dirname(opts.workDir),
    AGENT_BUILDDIRECTORY: path.dirname(opts.workDir),
    AGENT_ROOTDIRECTORY: path.dirname(opts.workDir),
    SYSTEM_HOSTTYPE: 'build',
    SYSTEM_CULTURE: 'en-US',
    SYSTEM_DEFAULTWORKINGDIRECTORY: opts.workDir,
    BUILD_SOURCESDIRECTORY: opts.workDir,
    BUILD_REPOSITORY_LOCALPATH: opts.workDir,
    SYSTEM_DEBUG: opts.debug ? 'true' : 'false',
  });
  if (opts.displayName) env.TASK_DISPLAYNAME = opts.displayName;
  return env;
}

/** Runs a bundled task as the agent's Node handler does. */
export async function runBundledTask(opts: TaskRunOptions): Promise<TaskRun> {
  const taskDir = path.resolve(opts.taskDir);
  const task = readTaskJson(taskDir);
  const target = task.execution?.Node20_1?.target ?? task.execution?.Node24?.target;
  if (!target) throw new Error(`${taskDir}/task.json has no execution.Node20_1.target`);
  const targetPath = path.join(taskDir, target);
  if (!fs.existsSync(targetPath))
    throw new Error(`${targetPath} does not exist: build the tasks first (npm run build)`);

  const { inputs, defaulted } = resolveInputs(task, opts.inputs ?? {});
  const inputEnv: Record<string, string> = {};
  for (const [name, value] of Object.entries(inputs)) inputEnv[inputEnvName(name)] = value;
  return runStepProcess({
    command: process.execPath,
    args: [targetPath],
    cwd: opts.cwd,
    tempDir: opts.tempDir,
    env: { ...opts.env, ...inputEnv },
    timeoutMs: opts.timeoutMs,
    secrets: opts.secrets,
    debug: opts.debug,
    displayName: opts.displayName ?? task.name,
    onLogLine: opts.onLogLine,
    expandMacrosIn: defaulted.map(inputEnvName),
    judge: 'task.complete',
  });
}

export interface StepProcessOptions {
  command: string;
  args: string[];
  cwd?: string;
  tempDir?: string;
  env?: Record<string, string>;
  timeoutMs?: number;
  secrets?: string[];
  debug?: boolean;
  displayName?: string;
  /** How the result is judged: a task by task.complete (+ exit code), a script by its exit code (+ task.complete). */
  judge: 'task.complete' | 'exit-code';
  /** For scripts: stderr output fails the step (Bash@3 failOnStderr). */
  failOnStderr?: boolean;
  onLogLine?: (line: string) => void;
  /** Environment entries whose `$(variable)` macros are expanded against the final environment. */
  expandMacrosIn?: string[];
}

/** Starts one step's process with the agent's environment and turns its output into a ProcessRun. */
export async function runStepProcess(opts: StepProcessOptions): Promise<ProcessRun> {
  const ownTemp = !opts.tempDir;
  const tempDir = opts.tempDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'agent-temp-'));
  const ownCwd = !opts.cwd;
  const cwd = opts.cwd ?? fs.mkdtempSync(path.join(os.tmpdir(), 'agent-work-'));
  const env = {
    ...agentBaseEnv({ workDir: cwd, tempDir, debug: opts.debug, displayName: opts.displayName }),
    ...opts.env,
  };
  for (const key of opts.expandMacrosIn ?? []) if (env[key] !== undefined) env[key] = expandEnvMacros(env[key], env);

  const masker = new SecretMasker();
  for (const s of [...secretsFromEnvironment(env), ...(opts.secrets ?? [])]) masker.add(s);

  const commands: VsoCommand[] = [];
  const logLines: string[] = [];
  const pushLog = (line: string): void => {
    logLines.push(line);
    opts.onLogLine?.(line);
  };
  const onLine = (line: string): void => {
    const command = parseLine(line);
    if (command) {
      commands.push(command);
      // Registered before the line is rendered: the agent masks from this command on.
      if (command.kind === 'setsecret') masker.add(command.value);
      if (command.kind === 'setvariable' && command.isSecret) masker.add(command.value);
    }
    const rendered = renderLogLine(line, command, masker, opts.debug ?? false);
    if (rendered !== undefined) pushLog(rendered);
  };

  const started = performance.now();
  let peakRssBytes: number | undefined;
  let stdout = '';
  let stderr = '';
  let timedOut = false;
  let spawnError: Error | undefined;
  const { exitCode, signal } = await new Promise<{ exitCode: number | null; signal: NodeJS.Signals | null }>(
    (resolve) => {
      const child = spawn(opts.command, opts.args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
      const sampler = child.pid ? sampleRss(child.pid, (bytes) => (peakRssBytes = bytes)) : undefined;
      // stdout and stderr go into one log in arrival order, line by line, as the agent does.
      const splitter = (append: (s: string) => void) => {
        let pending = '';
        return {
          push(chunk: Buffer) {
            const text = chunk.toString('utf8');
            append(text);
            pending += text;
            const lines = pending.split('\n');
            pending = lines.pop() ?? '';
            for (const l of lines) onLine(l.replace(/\r$/, ''));
          },
          flush() {
            if (pending) onLine(pending.replace(/\r$/, ''));
            pending = '';
          },
        };
      };
      const out = splitter((s) => {
        stdout += s;
      });
      const err = splitter((s) => {
        stderr += s;
      });
      child.stdout.on('data', (c: Buffer) => out.push(c));
      child.stderr.on('data', (c: Buffer) => err.push(c));
      const timer = opts.timeoutMs
        ? setTimeout(() => {
            timedOut = true;
            try {
              if (child.pid) process.kill(-child.pid, 'SIGKILL');
            } catch {
              /* already gone */
            }
          }, opts.timeoutMs)
        : undefined;
      child.on('error', (e) => {
        spawnError = e;
        if (timer) clearTimeout(timer);
        resolve({ exitCode: null, signal: null });
      });
      child.on('close', (code, sig) => {
        if (timer) clearTimeout(timer);
        if (sampler) clearInterval(sampler);
        out.flush();
        err.flush();
        resolve({ exitCode: code, signal: sig });
      });
    },
  );
  const durationMs = performance.now() - started;

  // Outcome, as the agent decides it.
  const completes = commands.filter((c): c is Extract<VsoCommand, { kind: 'complete' }> => c.kind === 'complete');
  const last = completes.at(-1);
  const exitResult: TaskResult = exitCode === 0 ? 'Succeeded' : 'Failed';
  let result: TaskResult;
  let message = last?.message ?? '';
  let harnessError: string | undefined;
  if (spawnError) {
    result = 'Failed';
    harnessError = `could not start ${opts.command}: ${spawnError.message}`;
  } else if (timedOut) {
    result = 'Failed';
    harnessError = `timed out after ${opts.timeoutMs} ms and was killed`;
  } else if (opts.judge === 'task.complete') {
    if (!last) {
      result = 'Failed';
      harnessError =
        exitCode === 0
          ? 'the task exited (code 0) without printing ##vso[task.complete]: a task must end through setResult (the real agent would have reported this run as Succeeded and hidden the problem)'
          : `the task exited with code ${exitCode}${signal ? ` (signal ${signal})` : ''} without printing ##vso[task.complete]: it crashed before setResult`;
    } else {
      result = mergeResults(last.result, exitResult);
      if (exitCode !== 0 && last.result !== 'Failed') message = `${message} (exit code ${exitCode})`.trim();
    }
  } else {
    result = last ? mergeResults(last.result, exitResult) : exitResult;
    if (exitCode !== 0) message = `Bash exited with code '${exitCode}'.`;
    if (opts.failOnStderr && stderr.trim()) {
      result = mergeResults(result, 'Failed');
      message = 'Bash wrote one or more lines to the standard error stream.';
    }
  }
  if (harnessError) {
    message = harnessError;
    pushLog(`##[error]Harness: ${harnessError}`);
  } else if (result === 'Failed' && opts.judge === 'exit-code' && message) {
    pushLog(`##[error]${message}`);
  }

  const outputs: Record<string, string> = {};
  const variables: ProcessRun['variables'] = {};
  const issues: ProcessRun['issues'] = [];
  const attachments: ProcessRun['attachments'] = [];
  const summaries: ProcessRun['summaries'] = [];
  const readIfThere = (p: string): string | undefined => {
    const abs = path.resolve(cwd, p);
    try {
      return fs.readFileSync(abs, 'utf8');
    } catch {
      return undefined;
    }
  };
  for (const c of commands) {
    if (c.kind === 'setvariable' && c.name) {
      variables[c.name] = { value: c.value, isOutput: c.isOutput, isSecret: c.isSecret };
      if (c.isOutput) outputs[c.name] = c.value;
    } else if (c.kind === 'logissue') issues.push({ type: c.type, message: c.message });
    else if (c.kind === 'addattachment')
      attachments.push({ type: c.type, name: c.name, path: c.path, content: readIfThere(c.path) });
    else if (c.kind === 'uploadsummary') summaries.push({ path: c.path, content: readIfThere(c.path) });
  }
  const secrets = [
    ...new Set(
      [
        ...secretsFromEnvironment(env),
        ...(opts.secrets ?? []),
        ...commands.flatMap((c) =>
          c.kind === 'setsecret' ? [c.value] : c.kind === 'setvariable' && c.isSecret ? [c.value] : [],
        ),
      ].filter(Boolean),
    ),
  ];

  if (ownTemp) fs.rmSync(tempDir, { recursive: true, force: true });
  if (ownCwd) fs.rmSync(cwd, { recursive: true, force: true });

  return {
    result,
    message,
    harnessError,
    exitCode,
    signal,
    timedOut,
    durationMs,
    peakRssBytes,
    stdout,
    stderr,
    commands,
    log: logLines.join('\n'),
    outputs,
    variables,
    issues,
    secrets,
    attachments,
    summaries,
  };
}

/** Reports the process's high-water resident set (VmHWM) every 20 ms while /proc has it (Linux only). */
function sampleRss(pid: number, report: (bytes: number) => void): NodeJS.Timeout | undefined {
  const file = `/proc/${pid}/status`;
  if (!fs.existsSync(file)) return undefined;
  const read = () => {
    try {
      const kb = /^VmHWM:\s+(\d+) kB/m.exec(fs.readFileSync(file, 'utf8'))?.[1];
      if (kb) report(Number(kb) * 1024);
    } catch {
      /* the process has ended */
    }
  };
  read();
  const timer = setInterval(read, 20);
  timer.unref();
  return timer;
}
