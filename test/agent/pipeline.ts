/**
 * The local pipeline runner: executes an azure-pipelines.yml the way Azure Pipelines would, one
 * agent, stages and jobs in dependency order, steps in order, against the emulated cloud (or a
 * local repo). Tasks run as built bundles through the agent emulation; scripts run with bash.
 * Variables, `$(macro)` expansion, output variables (`$(step.var)` in the job,
 * `dependencies.J.outputs['step.var']` / `stageDependencies.S.J.outputs['step.var']` in job
 * conditions and `$[ ]` variables, `dependencies.S.outputs['J.step.var']` in stage conditions),
 * conditions and continueOnError follow the documented semantics.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readTaskJson, resolveInputs, runBundledTask, runStepProcess, type ProcessRun } from './agent';
import { checkoutSelf } from './checkout';
import {
  evaluateCondition,
  evaluateExpression,
  ExpressionError,
  type ExpressionContext,
  type ExpressionValue,
} from './expressions';
import { parsePipeline, PipelineError, type Job, type Stage, type Step, type VariableDecl } from './pipeline-model';
import { VariableStore } from './variables';
import { mergeResults, SecretMasker, type TaskResult } from './vso';

export { PipelineError } from './pipeline-model';

const REPO_ROOT = path.resolve(import.meta.dirname, '..', '..');

/** What the runner needs from the emulated cloud (test/emulators/cloud.ts `Cloud`). */
export interface CloudLike {
  env: Record<string, string>;
  /** Service connection name -> id: YAML names a connection, the task receives its id (the server resolves it). */
  serviceConnections?: Record<string, string>;
  ctx?: { ca?: { caCertPath?: string } };
}

export interface PipelineRunOptions {
  /** The YAML file, or its text in `yaml` (then `file` only names it in messages). */
  file?: string;
  yaml?: string;
  /** The emulated cloud the tasks talk to; without one, no endpoints and no checkout (unless repoDir). */
  cloud?: CloudLike;
  /** Use this directory as Build.SourcesDirectory instead of checking out the cloud's repository. */
  repoDir?: string;
  /** Where `<TaskName>/task.json` of the built tasks are (default dist/tasks). */
  tasksDir?: string;
  /** Where the log goes as it happens (default: nowhere; the CLI passes stdout). */
  print?: (text: string) => void;
  debug?: boolean;
  /** Queue-time variables. */
  variables?: Record<string, string>;
  /** Keep the agent work folder (checkouts, temp dirs) for inspection. */
  keepWorkDir?: boolean;
  /** Per-step timeout when the step sets none (default 10 minutes). */
  stepTimeoutMs?: number;
}

export interface StepRecord {
  stage: string;
  job: string;
  name?: string;
  displayName: string;
  kind: Step['kind'];
  path: string;
  result: TaskResult;
  /** Why the step was skipped (condition false, disabled). */
  skipped?: string;
  run?: ProcessRun;
  /** The step's log as the user sees it (masked). */
  log: string;
  /** Output variables it set, keyed `<step>.<var>`. */
  outputs: Record<string, string>;
  durationMs: number;
}

export interface JobRecord {
  stage: string;
  name: string;
  displayName: string;
  result: TaskResult;
  skipped?: string;
  steps: StepRecord[];
  outputs: Record<string, string>;
}
export interface StageRecord {
  name: string;
  displayName: string;
  result: TaskResult;
  skipped?: string;
  jobs: JobRecord[];
}

export interface PipelineRun {
  result: 'Succeeded' | 'SucceededWithIssues' | 'Failed';
  stages: StageRecord[];
  steps: StepRecord[];
  summaries: { step: string; path: string; content: string }[];
  warnings: string[];
  workDir?: string;
}

const OK: TaskResult[] = ['Succeeded', 'SucceededWithIssues'];

/** Cloud environment entries that are agent environment, not pipeline variables. */
const isProcessOnly = (k: string): boolean =>
  k.startsWith('ENDPOINT_') || k.startsWith('NODE_') || k.startsWith('FLUX_OIDC_') || k.startsWith('SECURE');

function accessTokenOf(env: Record<string, string>): string | undefined {
  if (env.SYSTEM_ACCESSTOKEN) return env.SYSTEM_ACCESSTOKEN;
  try {
    const auth = JSON.parse(env.ENDPOINT_AUTH_SYSTEMVSSCONNECTION ?? '') as { parameters?: { AccessToken?: string } };
    return auth.parameters?.AccessToken;
  } catch {
    return undefined;
  }
}

function fmtMs(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

export async function runPipeline(opts: PipelineRunOptions): Promise<PipelineRun> {
  const file = opts.file ?? 'azure-pipelines.yml';
  const text = opts.yaml ?? fs.readFileSync(file, 'utf8');
  const pipeline = parsePipeline(text, path.basename(file));
  const print = opts.print ?? (() => {});
  const tasksDir = opts.tasksDir ?? path.join(REPO_ROOT, 'dist', 'tasks');
  const cloudEnv = opts.cloud?.env ?? {};
  const processEnv: Record<string, string> = Object.fromEntries(
    Object.entries(cloudEnv).filter(([k]) => isProcessOnly(k)),
  );
  const taskOnlyEnv = Object.fromEntries(
    Object.entries(processEnv).filter(([k]) => k.startsWith('ENDPOINT_') || k.startsWith('SECURE')),
  );
  const sharedEnv = Object.fromEntries(Object.entries(processEnv).filter(([k]) => !(k in taskOnlyEnv)));
  const workRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'pipeline-'));
  const warnings: string[] = [];
  let jobCounter = 0;
  const warn = (message: string): void => {
    warnings.push(message);
    print(`##[warning]${message}\n`);
  };

  // Pipeline-level variables: predefined (from the cloud's agent environment) then the YAML's.
  const root = new VariableStore();
  for (const [k, v] of Object.entries(cloudEnv)) if (!isProcessOnly(k) && k !== 'SYSTEM_ACCESSTOKEN') root.set(k, v);
  const token = accessTokenOf(cloudEnv);
  if (token) root.set('System.AccessToken', token, { secret: true });
  root.set('System.Debug', opts.debug ? 'true' : 'false');
  if (!root.get('Build.BuildId')) root.set('Build.BuildId', '1');
  if (!root.get('Build.BuildNumber')) root.set('Build.BuildNumber', '1');
  if (!root.get('System.TeamFoundationCollectionUri') && root.get('System.CollectionUri'))
    root.set('System.TeamFoundationCollectionUri', root.get('System.CollectionUri')!.value);

  const stages: StageRecord[] = [];
  const allSteps: StepRecord[] = [];
  const summaries: PipelineRun['summaries'] = [];
  const failWith = (e: unknown, where: string): never => {
    if (e instanceof ExpressionError) throw new PipelineError(`${where}: ${e.message}`);
    throw e;
  };

  const applyDecls = (
    store: VariableStore,
    decls: VariableDecl[],
    ctx: () => ExpressionContext,
    where: string,
  ): void => {
    for (const d of decls) {
      const m = /^\$\[(.*)\]$/s.exec(d.value.trim());
      let value = d.value;
      if (m) {
        try {
          value = evaluateExpression(m[1], ctx());
        } catch (e) {
          failWith(e, `${where}.${d.name}`);
        }
      }
      store.set(d.name, value, { readonly: d.readonly });
    }
  };

  try {
    applyDecls(
      root,
      pipeline.variables,
      () => ({ variable: (n) => root.get(n)?.value, status: () => true }),
      `${path.basename(file)}.variables`,
    );
    for (const [k, v] of Object.entries(opts.variables ?? {})) root.set(k, v);

    for (const stage of pipeline.stages) {
      const record = await runStage(stage);
      stages.push(record);
    }
  } finally {
    if (!opts.keepWorkDir) fs.rmSync(workRoot, { recursive: true, force: true });
  }

  const ran = stages.filter((s) => s.result !== 'Skipped');
  const overall = ran.reduce<TaskResult>((acc, s) => mergeResults(acc, s.result), 'Succeeded');
  const result: PipelineRun['result'] =
    overall === 'Succeeded' || overall === 'SucceededWithIssues' ? overall : 'Failed';
  printSummary(result);
  return { result, stages, steps: allSteps, summaries, warnings, workDir: opts.keepWorkDir ? workRoot : undefined };

  // ---------------------------------------------------------------------------------------------

  function statusOver(results: Map<string, TaskResult>, deps: string[], where: string) {
    return (fn: string, args: string[]): boolean => {
      const names = args.length ? args : deps;
      for (const a of args)
        if (!deps.some((d) => d.toLowerCase() === a.toLowerCase()))
          throw new ExpressionError(
            `${fn}('${a}'): '${a}' is not a dependency of ${where} (dependsOn: ${deps.join(', ') || 'none'})`,
          );
      const rs = names.map(
        (n) => results.get([...results.keys()].find((k) => k.toLowerCase() === n.toLowerCase()) ?? n) ?? 'Skipped',
      );
      switch (fn) {
        case 'succeeded':
          return rs.every((r) => OK.includes(r));
        case 'failed':
          return rs.some((r) => r === 'Failed');
        case 'succeededOrFailed':
          return true;
        case 'always':
          return true;
        default:
          return false; // canceled(): the local runner is never canceled
      }
    };
  }

  async function runStage(stage: Stage): Promise<StageRecord> {
    const display = stage.displayName ?? stage.name;
    const stageResults = new Map(stages.map((s) => [s.name, s.result]));
    const stageDeps: Record<string, ExpressionValue> = {};
    for (const d of stage.dependsOn) {
      const s = stages.find((x) => x.name === d)!;
      const outputs: Record<string, ExpressionValue> = {};
      for (const j of s.jobs) for (const [k, v] of Object.entries(j.outputs)) outputs[`${j.name}.${k}`] = v;
      stageDeps[d] = { result: s.result, outputs };
    }
    const condition = stage.condition ?? 'succeeded()';
    if (!stage.implicit) print(`\n════ Stage: ${display} ════\n`);
    let run = true;
    try {
      run = evaluateCondition(condition, {
        variable: (n) => root.get(n) && root.expand(root.get(n)!.value),
        status: statusOver(stageResults, stage.dependsOn, `stage ${stage.name}`) as ExpressionContext['status'],
        roots: { dependencies: stageDeps },
      });
    } catch (e) {
      failWith(e, `${stage.path}.condition`);
    }
    if (!run) {
      const why = `condition is false: ${condition}`;
      print(`Skipping stage ${display}: ${why}\n`);
      return { name: stage.name, displayName: display, result: 'Skipped', skipped: why, jobs: [] };
    }
    const stageStore = new VariableStore(root);
    stageStore.set('System.StageName', stage.implicit ? '__default' : stage.name);
    stageStore.set('System.StageDisplayName', display);
    applyDecls(
      stageStore,
      stage.variables,
      () => ({ variable: (n) => stageStore.get(n)?.value, status: () => true }),
      `${stage.path}.variables`,
    );

    const jobs: JobRecord[] = [];
    for (const job of stage.jobs) jobs.push(await runJob(stage, job, stageStore, jobs));
    const ranJobs = jobs.filter((j) => j.result !== 'Skipped');
    const result = ranJobs.length
      ? ranJobs.reduce<TaskResult>((acc, j) => mergeResults(acc, j.result), 'Succeeded')
      : 'Skipped';
    return { name: stage.name, displayName: display, result, jobs };
  }

  function jobContext(stage: Stage, job: Job, store: VariableStore, done: JobRecord[]): ExpressionContext {
    const deps: Record<string, ExpressionValue> = {};
    for (const d of job.dependsOn) {
      const j = done.find((x) => x.name === d)!;
      deps[d] = { result: j.result, outputs: { ...j.outputs } };
    }
    const stageDeps: Record<string, ExpressionValue> = {};
    for (const s of stage.dependsOn) {
      const rec = stages.find((x) => x.name === s)!;
      const jobsOf: Record<string, ExpressionValue> = {};
      for (const j of rec.jobs) jobsOf[j.name] = { result: j.result, outputs: { ...j.outputs } };
      stageDeps[s] = jobsOf;
    }
    return {
      variable: (n) => store.get(n) && store.expand(store.get(n)!.value),
      status: statusOver(
        new Map(done.map((j) => [j.name, j.result])),
        job.dependsOn,
        `job ${job.name}`,
      ) as ExpressionContext['status'],
      roots: { dependencies: deps, stageDependencies: stageDeps },
    };
  }

  async function runJob(stage: Stage, job: Job, stageStore: VariableStore, done: JobRecord[]): Promise<JobRecord> {
    const display = job.displayName ?? job.name;
    const stageName = stage.implicit ? '' : stage.name;
    const condition = job.condition ?? 'succeeded()';
    if (!(stage.implicit && stage.jobs.length === 1 && job.name === 'Job'))
      print(`\n──── Job: ${display}${job.environment ? ` (environment ${job.environment})` : ''} ────\n`);
    let run = true;
    try {
      run = evaluateCondition(condition, jobContext(stage, job, stageStore, done));
    } catch (e) {
      failWith(e, `${job.path}.condition`);
    }
    if (!run) {
      const why = `condition is false: ${condition}`;
      print(`Skipping job ${display}: ${why}\n`);
      return {
        stage: stageName,
        name: job.name,
        displayName: display,
        result: 'Skipped',
        skipped: why,
        steps: [],
        outputs: {},
      };
    }

    // The agent's folders for this job: s (sources), a (artifact staging), b (binaries), _temp.
    const jobRoot = path.join(workRoot, String(++jobCounter));
    const sources = opts.repoDir ? path.resolve(opts.repoDir) : path.join(jobRoot, 's');
    const tempDir = path.join(jobRoot, '_temp');
    for (const d of [sources, tempDir, path.join(jobRoot, 'a'), path.join(jobRoot, 'b')])
      fs.mkdirSync(d, { recursive: true });

    const store = new VariableStore(stageStore);
    const predefined: Record<string, string> = {
      'Build.SourcesDirectory': sources,
      'Build.Repository.LocalPath': sources,
      'System.DefaultWorkingDirectory': sources,
      'Build.ArtifactStagingDirectory': path.join(jobRoot, 'a'),
      'Build.StagingDirectory': path.join(jobRoot, 'a'),
      'Build.BinariesDirectory': path.join(jobRoot, 'b'),
      'Agent.BuildDirectory': jobRoot,
      'Pipeline.Workspace': jobRoot,
      'Agent.TempDirectory': tempDir,
      'Agent.WorkFolder': workRoot,
      'System.JobName': job.name,
      'System.JobDisplayName': display,
      'System.PhaseName': job.name,
      'Agent.JobName': display,
      'Agent.JobStatus': 'Succeeded',
    };
    for (const [k, v] of Object.entries(predefined)) store.set(k, v);
    applyDecls(store, job.variables, () => jobContext(stage, job, store, done), `${job.path}.variables`);

    // `checkout: none` only suppresses the implicit checkout; the agent shows no step for it.
    const steps: Step[] = job.steps.filter((s) => !(s.kind === 'checkout' && s.repository === 'none'));
    if (!job.deployment && !job.steps.some((s) => s.kind === 'checkout')) {
      steps.unshift({
        kind: 'checkout',
        repository: 'self',
        persistCredentials: false,
        path: `${job.path}.steps(implicit checkout)`,
        continueOnError: false,
        enabled: true,
        env: {},
        retryCountOnTaskFailure: 0,
      });
    }

    let status: TaskResult = 'Succeeded';
    const deadline = job.timeoutInMinutes ? performance.now() + job.timeoutInMinutes * 60_000 : undefined;
    const records: StepRecord[] = [];
    const outputs: Record<string, string> = {};
    for (const step of steps) {
      store.set('Agent.JobStatus', status);
      const rec = await runStep(step, {
        stageName,
        job,
        store,
        sources,
        tempDir,
        status: () => status,
        outputs,
        deadline,
      });
      records.push(rec);
      allSteps.push(rec);
      if (rec.result !== 'Skipped') status = mergeResults(status, rec.result);
    }
    let result = status;
    if (result === 'Failed' && job.continueOnError) result = 'SucceededWithIssues';
    return { stage: stageName, name: job.name, displayName: display, result, steps: records, outputs };
  }

  interface StepScope {
    /** The job's timeoutInMinutes as a performance.now() deadline: it bounds every step's timeout. */
    deadline?: number;
    stageName: string;
    job: Job;
    store: VariableStore;
    sources: string;
    tempDir: string;
    status: () => TaskResult;
    outputs: Record<string, string>;
  }

  async function runStep(step: Step, scope: StepScope): Promise<StepRecord> {
    const { store, job } = scope;
    const unknown = new Set<string>();
    const expand = (s: string): string => store.expand(s, (n) => unknown.add(n));
    const base = {
      stage: scope.stageName,
      job: job.name,
      name: step.name,
      kind: step.kind,
      path: step.path,
      outputs: {} as Record<string, string>,
    };
    let display: string;
    let taskDir: string | undefined;
    let inputs: Record<string, string> = {};
    let script = '';
    let workingDirectory = scope.sources;
    if (step.kind === 'task') {
      taskDir = path.join(tasksDir, step.taskName);
      if (!fs.existsSync(path.join(taskDir, 'task.json'))) {
        const known = fs.existsSync(tasksDir)
          ? fs.readdirSync(tasksDir).filter((d) => fs.existsSync(path.join(tasksDir, d, 'task.json')))
          : [];
        throw new PipelineError(
          `${step.path}.task: ${step.task} is not a built task of this extension (${tasksDir} has ${known.join(', ') || 'none: run npm run build'}); the local runner runs these tasks and script/bash steps only`,
        );
      }
      const tj = readTaskJson(taskDir);
      if (tj.version.Major !== step.major)
        throw new PipelineError(
          `${step.path}.task: ${step.task} asks for major version ${step.major}, the built task is ${tj.version.Major}.${tj.version.Minor}.${tj.version.Patch}`,
        );
      for (const [k, v] of Object.entries(step.inputs)) inputs[k] = expand(v);
      const resolved = resolveInputs(tj, inputs);
      for (const u of resolved.unknown)
        warn(
          `${step.path}.inputs.${u}: ${step.taskName}@${step.major} has no input '${u}' (Azure Pipelines ignores it)`,
        );
      // Explicit inputs only: the agent emulation fills the defaults and expands their macros.
      inputs = resolved.explicit;
      for (const input of tj.inputs ?? []) {
        const value = inputs[input.name];
        if (!input.type?.startsWith('connectedService:') || !value || !opts.cloud?.serviceConnections) continue;
        const conns = opts.cloud.serviceConnections;
        const byName = Object.keys(conns).find((n) => n.toLowerCase() === value.toLowerCase());
        if (byName) inputs[input.name] = conns[byName];
        else if (!Object.values(conns).includes(value)) {
          throw new PipelineError(
            `${step.path}.inputs.${input.name}: service connection '${value}' does not exist (the emulated project has ${Object.keys(conns).join(', ') || 'none'})`,
          );
        }
      }
      const format = (tj as { instanceNameFormat?: string }).instanceNameFormat ?? step.taskName;
      const withDefaults = resolveInputs(tj, inputs).inputs;
      display = step.displayName
        ? expand(step.displayName)
        : format.replace(/\$\(([^)]+)\)/g, (w, n: string) => withDefaults[n] ?? w);
    } else if (step.kind === 'script') {
      display = step.displayName ? expand(step.displayName) : step.shortcut === 'bash' ? 'Bash' : 'Script';
      // The server expands macros in the script text before the agent runs it.
      script = expand(step.script);
      if (step.workingDirectory) workingDirectory = path.resolve(scope.sources, expand(step.workingDirectory));
    } else {
      const repo = store.get('Build.Repository.Name')?.value ?? 'self';
      const branch = (store.get('Build.SourceBranch')?.value ?? 'refs/heads/main').replace(/^refs\/heads\//, '');
      display = step.displayName
        ? expand(step.displayName)
        : step.repository === 'none'
          ? 'Checkout: none'
          : `Checkout ${repo}@${branch} to s`;
    }

    const stepEnv: Record<string, string> = {};
    for (const [k, v] of Object.entries(step.env)) stepEnv[k] = expand(v);

    const masker = new SecretMasker();
    for (const s of store.secrets()) masker.add(s);
    print(`\n##[section]Starting: ${masker.mask(display)}\n`);

    const condition = step.condition ?? 'succeeded()';
    let run = step.enabled;
    let skipped = step.enabled ? undefined : 'the step is disabled (enabled: false)';
    if (run) {
      try {
        run = evaluateCondition(condition, {
          variable: (n) => store.get(n) && store.expand(store.get(n)!.value),
          status: (fn, args) => {
            if (args.length) throw new ExpressionError(`${fn}() takes no arguments in a step condition`);
            const s = scope.status();
            return fn === 'succeeded' ? OK.includes(s) : fn === 'failed' ? s === 'Failed' : fn !== 'canceled';
          },
        });
      } catch (e) {
        failWith(e, `${step.path}.condition`);
      }
      if (!run) skipped = `condition is false: ${condition}`;
    }
    if (!run) {
      print(`Skipping: ${skipped}\n##[section]Finishing: ${masker.mask(display)} (Skipped)\n`);
      return { ...base, displayName: display, result: 'Skipped', skipped, log: '', durationMs: 0 };
    }
    for (const n of unknown) {
      const hint =
        n.split('.').length >= 3
          ? " Outputs of other jobs and stages are not macros: map them with variables: { x: $[ dependencies.<job>.outputs['<step>.<var>'] ] } or stageDependencies.<stage>.<job>.outputs[...]"
          : n.includes('.')
            ? ` If it is an output variable, the step that sets it must have name: ${n.split('.')[0]} and run earlier in this job.`
            : '';
      warn(`${step.path}: $(${n}) is not defined, left as is (as Azure Pipelines does).${hint}`);
    }

    const started = performance.now();
    let timeoutMs = step.timeoutInMinutes ? step.timeoutInMinutes * 60_000 : (opts.stepTimeoutMs ?? 600_000);
    if (scope.deadline !== undefined) timeoutMs = Math.max(1, Math.min(timeoutMs, scope.deadline - performance.now()));

    let runRecord: ProcessRun | undefined;
    let result: TaskResult;
    let log: string;
    if (step.kind === 'checkout') {
      ({ result, log } = await checkout(step, scope));
    } else {
      for (let attempt = 0; ; attempt++) {
        if (step.kind === 'task') {
          const tj = readTaskJson(taskDir!);
          print(
            `${'='.repeat(79)}\nTask         : ${(tj as { friendlyName?: string }).friendlyName ?? tj.name}\nVersion      : ${tj.version.Major}.${tj.version.Minor}.${tj.version.Patch}\n${'='.repeat(79)}\n`,
          );
          runRecord = await runBundledTask({
            taskDir: taskDir!,
            inputs,
            cwd: scope.sources,
            tempDir: scope.tempDir,
            timeoutMs,
            debug: opts.debug,
            displayName: display,
            env: { ...sharedEnv, ...taskOnlyEnv, ...store.env({ secretsAsSecretEnv: true }), ...stepEnv },
            secrets: store.secrets(),
            onLogLine: (l) => print(`${l}\n`),
          });
        } else {
          const scriptFile = path.join(scope.tempDir, `${crypto.randomUUID()}.sh`);
          fs.writeFileSync(scriptFile, script);
          const cwd = workingDirectory;
          print(`##[command]/usr/bin/bash --noprofile --norc ${scriptFile}\n`);
          runRecord = await runStepProcess({
            command: 'bash',
            args: ['--noprofile', '--norc', scriptFile],
            cwd,
            tempDir: scope.tempDir,
            timeoutMs,
            debug: opts.debug,
            env: { ...sharedEnv, ...store.env({ secretsAsSecretEnv: false }), ...stepEnv },
            secrets: store.secrets(),
            judge: 'exit-code',
            failOnStderr: step.failOnStderr,
            displayName: display,
            onLogLine: (l) => print(`${l}\n`),
          });
          fs.rmSync(scriptFile, { force: true });
        }
        if (runRecord.result !== 'Failed' || attempt >= step.retryCountOnTaskFailure) break;
        print(`##[warning]Retrying ${display} (attempt ${attempt + 2} of ${step.retryCountOnTaskFailure + 1})\n`);
      }
      result = runRecord.result;
      log = runRecord.log;
      collectVariables(step, runRecord, scope);
      for (const s of runRecord.summaries)
        summaries.push({ step: display, path: s.path, content: s.content ?? `(summary file ${s.path} was not found)` });
    }
    if (result === 'Failed' && step.continueOnError) result = 'SucceededWithIssues';

    const outputs: Record<string, string> = {};
    for (const [k, v] of Object.entries(runRecord?.outputs ?? {})) if (step.name) outputs[`${step.name}.${k}`] = v;
    const allMasker = new SecretMasker();
    for (const s of [...store.secrets(), ...(runRecord?.secrets ?? [])]) allMasker.add(s);
    const outText = Object.entries(outputs)
      .map(([k, v]) => `${k}=${v}`)
      .join(', ');
    print(
      `##[section]Finishing: ${allMasker.mask(display)} — ${result}${runRecord?.message && result !== 'Succeeded' ? `: ${allMasker.mask(runRecord.message)}` : ''} (${fmtMs(performance.now() - started)})\n`,
    );
    if (outText) print(`  outputs: ${allMasker.mask(outText)}\n`);
    return {
      ...base,
      displayName: display,
      result,
      run: runRecord,
      log,
      outputs,
      durationMs: performance.now() - started,
    };
  }

  /** setvariable from a step: outputs become `<step>.<var>` for later steps and `dependencies` for later jobs. */
  function collectVariables(step: Step, run: ProcessRun, scope: StepScope): void {
    for (const c of run.commands) {
      if (c.kind !== 'setvariable' || !c.name) continue;
      try {
        if (c.isOutput) {
          if (!step.name) {
            warn(
              `${step.path}: output variable '${c.name}' was set by a step without name: add name: to the step to use it`,
            );
            continue;
          }
          scope.store.set(`${step.name}.${c.name}`, c.value, { secret: c.isSecret });
          const key = scope.job.deployment ? `${scope.job.name}.${step.name}.${c.name}` : `${step.name}.${c.name}`;
          scope.outputs[key] = c.value;
        } else {
          scope.store.set(c.name, c.value, { secret: c.isSecret });
        }
      } catch (e) {
        warn(`${step.path}: ${(e as Error).message}`);
      }
    }
  }

  async function checkout(
    step: Extract<Step, { kind: 'checkout' }>,
    scope: StepScope,
  ): Promise<{ result: TaskResult; log: string }> {
    if (step.repository === 'none') return { result: 'Succeeded', log: 'checkout: none' };
    if (opts.repoDir) {
      const log = `Using the local repository ${scope.sources} as Build.SourcesDirectory (--repo): nothing to check out`;
      print(`${log}\n`);
      return { result: 'Succeeded', log };
    }
    const env = cloudEnv;
    const collection = env.SYSTEM_COLLECTIONURI;
    if (!opts.cloud || !collection || !env.BUILD_REPOSITORY_NAME) {
      const log =
        'No emulated cloud repository (run with --scenario, --state or --repo): Build.SourcesDirectory is empty';
      print(`${log}\n`);
      return { result: 'Succeeded', log };
    }
    const url =
      env.BUILD_REPOSITORY_URI ??
      `${collection.replace(/\/?$/, '/')}${encodeURIComponent(env.SYSTEM_TEAMPROJECT ?? '')}/_git/${encodeURIComponent(env.BUILD_REPOSITORY_NAME)}`;
    const res = await checkoutSelf({
      repositoryUrl: url,
      sourceBranch: env.BUILD_SOURCEBRANCH ?? 'refs/heads/main',
      accessToken: token ?? '',
      dir: scope.sources,
      caFile: opts.cloud.ctx?.ca?.caCertPath ?? env.NODE_EXTRA_CA_CERTS,
      fetchDepth: step.fetchDepth,
      persistCredentials: step.persistCredentials,
    });
    print(`${res.log}\n`);
    if (res.commit) scope.store.set('Build.SourceVersion', res.commit);
    return { result: res.ok ? 'Succeeded' : 'Failed', log: res.log };
  }

  function printSummary(result: string): void {
    const rows = allSteps.map((s) => [
      [s.stage, s.job].filter((x) => x && x !== 'Job').join('/') || '-',
      s.displayName,
      s.result + (s.skipped ? ` (${s.skipped})` : ''),
      s.result === 'Skipped' ? '' : fmtMs(s.durationMs),
    ]);
    const head = ['stage/job', 'step', 'result', 'time'];
    const widths = head.map((h, i) => Math.min(60, Math.max(h.length, ...rows.map((r) => r[i].length))));
    const line = (r: string[]): string =>
      r
        .map((c, i) => c.padEnd(widths[i]))
        .join('  ')
        .trimEnd();
    print(
      `\n════ Run summary ════\n${line(head)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}\n${rows.map(line).join('\n')}\n\nResult: ${result}\n`,
    );
    for (const s of summaries)
      print(`\n════ Summary: ${s.step} (${path.basename(s.path)}) ════\n${s.content.trimEnd()}\n`);
  }
}
