/**
 * The one narrow interface between the tasks and the pipeline. `TaskLibPlatform` implements it over
 * azure-pipelines-task-lib (the only module that imports task-lib); `MemoryPlatform` implements it
 * in memory for tests. Everything else in the product gets plain values from here.
 */
import type { ProxyConfig, ServiceEndpoint } from '../auth/types';

export type PlatformResult = 'Succeeded' | 'SucceededWithIssues' | 'Failed';

export interface Platform {
  /** A task input, trimmed; undefined when unset or blank. */
  input(name: string): string | undefined;
  /** A pipeline variable (System.CollectionUri, Build.SourcesDirectory, ...); undefined when unset or blank. */
  variable(name: string): string | undefined;
  /** A service connection by id; undefined when the job has no such endpoint. */
  endpoint(id: string): ServiceEndpoint | undefined;
  /** The agent's proxy, when one is configured. */
  proxy(): ProxyConfig | undefined;
  /** Sets an output variable (`isOutput=true`), so later steps can read `$(step.name)`. */
  setOutput(name: string, value: string, secret: boolean): void;
  /** Masks a value in every later log line (`##vso[task.setsecret]`). */
  setSecret(value: string): void;

  /** A plain log line. */
  info(message: string): void;
  debug(message: string): void;
  /** A warning issue (`##vso[task.logissue type=warning]`). */
  warning(message: string): void;
  /** An error issue (`##vso[task.logissue type=error]`). */
  error(message: string): void;
  /** `##[section]title`: a highlighted line. */
  section(title: string): void;
  /** `##[group]title` ... `##[endgroup]`: a collapsible block. */
  beginGroup(title: string): void;
  endGroup(): void;
  /** `##vso[task.setprogress value=N]message`. */
  progress(percent: number, message: string): void;

  /** `##vso[task.addattachment type=…;name=…]path`. */
  addAttachment(type: string, name: string, path: string): void;
  /** `##vso[task.uploadsummary]path`: the markdown shown on the run summary. */
  uploadSummary(path: string): void;
  /** `##vso[task.complete result=…]`: called exactly once per run, by runTask. */
  setResult(result: PlatformResult, message: string): void;
  /** A directory the task may write scratch files to (Agent.TempDirectory). */
  tempDir(): string;
}
