/**
 * What the stages of a local run share: the options, the agent environment split (what tasks get,
 * what scripts get), the pipeline-level variables, the agent pool, the records written so far,
 * and the log. Types of the records the runner returns live here too.
 */
import type { ProcessRun } from './agent';
import type { Step } from './pipeline-model';
import type { Semaphore } from './scheduler';
import type { VariableStore } from './variables';
import type { TaskResult } from './vso';

/** What the runner needs from the emulated cloud (test/emulators/cloud.ts `Cloud`). */
export interface CloudLike {
  env: Record<string, string>;
  /** Service connection name -> id: YAML names a connection, the task receives its id (the server resolves it). */
  serviceConnections?: Record<string, string>;
  ctx?: { ca?: { caCertPath?: string } };
}

export interface PipelineRunOptions {
  /** The YAML file, or its text in `yaml` (then `file` only names it in messages and anchors templates). */
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
  /** Runtime parameters (`parameters:` of the pipeline), as text; object and list types are read as YAML. */
  parameters?: Record<string, string>;
  /** Agents in the pool: how many jobs run at the same time (default 1, like one parallel job). */
  parallel?: number;
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
  /** ISO timestamps of the ##[section]Starting / Finishing lines. */
  startedAt?: string;
  finishedAt?: string;
  durationMs: number;
}

export interface JobRecord {
  stage: string;
  /** `<job>` or, for a leg of a matrix or parallel strategy, `<job>_<leg>`. */
  name: string;
  /** The job's name in the YAML (the same as name unless this is a leg). */
  job: string;
  leg?: string;
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
  /** The runtime parameters the run used (defaults and given values). */
  parameters: Record<string, unknown>;
  workDir?: string;
}

export interface RunContext {
  opts: PipelineRunOptions;
  file: string;
  print: (text: string) => void;
  tasksDir: string;
  /** Agent environment for every step (CA, proxy, ...), and what only tasks get (endpoints, secure files). */
  sharedEnv: Record<string, string>;
  taskOnlyEnv: Record<string, string>;
  cloudEnv: Record<string, string>;
  token?: string;
  workRoot: string;
  root: VariableStore;
  pool: Semaphore;
  warnings: string[];
  stages: StageRecord[];
  steps: StepRecord[];
  summaries: PipelineRun['summaries'];
  counters: Map<string, number>;
  nextJobNumber(): number;
  warn(message: string, print?: (text: string) => void): void;
}

export const OK: TaskResult[] = ['Succeeded', 'SucceededWithIssues'];

export function fmtMs(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}
