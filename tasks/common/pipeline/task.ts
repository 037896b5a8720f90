/**
 * The one task result path. A task's main.ts is:
 *
 *   import { runTask } from '../common/pipeline/task';
 *   void runTask({ name: 'FluxOidcProvision', version: '1.0.3', readInputs, run });
 *
 * runTask reads the inputs (a bad one fails the run with the InputError text, before any network
 * call), runs the task, maps any thrown error to a message a platform engineer can act on, always
 * writes the report (JSON attachment + markdown summary) and calls setResult exactly once. The
 * report's path is chosen before run() (ctx.reportPath), so a task can name it in an output.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Logger } from '../log';
import type { AzureConnection } from '../auth/types';
import type { DevOpsConnector } from '../devops/connection';
import { parseTimeScale, scaledClock, TIME_SCALE_VARIABLE } from '../http/clock';
import { RetryPolicy, type RetryOptions } from '../http/retry';
import { ReportBuilder } from '../report/builder';
import { UserError } from '../errors';
import { renderMarkdown, toJson } from '../report/markdown';
import { outcomeSentence } from '../report/summary';
import { REPORT_ATTACHMENT_TYPE, type TaskResultKind } from '../report/model';
import { describeError } from './errors';
import { readConnection, readMode, type TaskMode } from './inputs';
import { PlatformLogger } from './logger';
import type { Platform } from './platform';

export interface TaskContext {
  log: Logger;
  platform: Platform;
  mode: TaskMode;
  report: ReportBuilder;
  /** The retry policy for calls the SDKs do not retry (logs through `log`). */
  retry: RetryPolicy;
  /** Resolves the AzureRM service connection named by this input (validated, credential built). */
  azureConnection(inputName: string): Promise<AzureConnection>;
  /**
   * The Azure DevOps connection factory: one connection per organization and token holder per run
   * (with the retry policy, the agent's proxy and token refresh). Connects on first use.
   */
  devops: DevOpsConnector;
  /** System.AccessToken: the SYSTEMVSSCONNECTION endpoint's AccessToken (SYSTEM_ACCESSTOKEN as fallback). Registered as a secret. */
  systemAccessToken(): string;
  /** Sets an output variable and records it in the report (secret ones are masked and never recorded). */
  setOutput(name: string, value: string, opts?: { secret?: boolean }): void;
  /** Runs `fn` inside a collapsible log group (`##[group]title` … `##[endgroup]`). */
  group<T>(title: string, fn: () => Promise<T>): Promise<T>;
  /** A highlighted log line (`##[section]title`). */
  section(title: string): void;
  /** A scratch directory (Agent.TempDirectory). Never write secrets there. */
  tempDir: string;
  /**
   * Where the run's JSON report (the `fluxoidc-report` attachment) is written when the run ends,
   * failed or not. The file does not exist during run(); a task may name the path in an output.
   */
  reportPath: string;
}

export interface TaskDefinition<I> {
  /** The task's name (task.json `name`), used for the report attachment name. */
  name: string;
  /** The task's version, e.g. "1.0.3" (see versionOf). */
  version?: string;
  /** Reads and validates every input; throw InputError (through the readers) for a bad value. */
  readInputs(p: Platform): I;
  /** plan or apply; default: the `mode` input (default plan). */
  mode?(inputs: I, p: Platform): TaskMode;
  run(ctx: TaskContext, inputs: I): Promise<void>;
  /** Retry policy options (tests pass a fake sleep). */
  retry?: RetryOptions;
}

/** "1.0.3" from task.json's `version: { Major, Minor, Patch }`. */
export function versionOf(taskJson: {
  version?: { Major: number | string; Minor: number | string; Patch: number | string };
}): string {
  const v = taskJson.version;
  return v ? `${v.Major}.${v.Minor}.${v.Patch}` : '0.0.0';
}

function resultOf(failed: boolean, report: ReportBuilder): TaskResultKind {
  if (failed || report.hasFailedChecks()) return 'Failed';
  return report.hasWarnings() ? 'SucceededWithIssues' : 'Succeeded';
}

/** A run that only warned says what it warned about (the first warnings, then how many more). */
function warningSummary(report: ReportBuilder): string {
  const built = report.build();
  const items = [
    ...built.warnings,
    ...built.checks.filter((c) => c.status === 'warn').map((c) => `${c.title}${c.cause ? `: ${c.cause}` : ''}`),
  ];
  const head = report.mode === 'plan' ? 'plan complete, nothing was changed, with' : 'done with';
  const shown = items.slice(0, 3).map((w) => (w.length > 300 ? `${w.slice(0, 297)}...` : w));
  const more = items.length > shown.length ? ` (and ${items.length - shown.length} more; see the log)` : '';
  return `${head} ${items.length} warning${items.length === 1 ? '' : 's'}: ${shown.join(' | ')}${more}`;
}

export async function runTask<I>(def: TaskDefinition<I>, platform?: Platform): Promise<void> {
  // Imported lazily so tests (and the in-memory platform) never load task-lib.
  const p = platform ?? new (await import('./tasklib-platform')).TaskLibPlatform();
  const report = new ReportBuilder(def.name, def.version ?? '0.0.0');
  const log = new PlatformLogger(p, report);
  // Every wait of the run goes through this policy's clock. The internal time scale shortens them
  // in the local emulated agent's runs only (http/clock.ts); unset, waits are real.
  const scale = parseTimeScale(p.variable(TIME_SCALE_VARIABLE));
  const retry = new RetryPolicy({ clock: scaledClock(scale), ...def.retry, log });
  if (scale !== 1) log.debug(`${TIME_SCALE_VARIABLE} = ${scale}: waits are scaled (local emulated agent).`);
  let failure: string | undefined;
  let files: ReportFiles | undefined;

  try {
    const inputs = def.readInputs(p);
    const mode = def.mode ? def.mode(inputs, p) : readMode(p);
    report.setMode(mode);
    files = reportFiles(p, def.name);
    const ctx = createContext(p, log, report, retry, mode, files.json);
    await def.run(ctx, inputs);
  } catch (err) {
    const d = describeError(err);
    failure = log.mask(d.text);
    report.error(failure);
    for (const line of d.debug) log.debug(line);
  }

  const result = resultOf(failure !== undefined, report);
  let summary: string;
  if (failure !== undefined) summary = failure;
  else if (result === 'Failed') {
    const failed = report.build().checks.filter((c) => c.status === 'fail');
    summary = `${failed.length} required check${failed.length === 1 ? '' : 's'} failed: ${failed.map((c) => c.title).join('; ')}`;
  } else if (result === 'SucceededWithIssues')
    // What it warned about first (the result line is short in the UI), then what happened.
    summary = `${warningSummary(report)}. ${outcomeSentence(report.build())}`;
  else summary = outcomeSentence(report.build());
  report.finish(result, log.mask(summary));

  try {
    writeReport(p, def.name, report, files ?? reportFiles(p, def.name));
  } catch (err) {
    // The report is a by-product: failing to write it must not hide the run's own result.
    p.warning(`could not write the run report: ${err instanceof Error ? err.message : String(err)}`);
  }
  // setResult also raises the error (Failed) or warning (SucceededWithIssues) issue for the message.
  p.setResult(result, log.mask(summary));
}

/** The job's access token (System.AccessToken), masked from here on; an error saying how to provide it. */
function jobAccessToken(p: Platform, log: PlatformLogger): string {
  const token = p.endpoint('SYSTEMVSSCONNECTION')?.auth('AccessToken') ?? p.variable('System.AccessToken');
  if (!token) {
    throw new UserError('The job access token (System.AccessToken) is not available to the task.', {
      code: 'NoSystemAccessToken',
      cause: 'the SYSTEMVSSCONNECTION endpoint has no AccessToken and SYSTEM_ACCESSTOKEN is not set',
      fix: 'run the task in an Azure Pipelines job (the agent provides the token), or map it: env: { SYSTEM_ACCESSTOKEN: $(System.AccessToken) }',
    });
  }
  log.secret(token);
  return token;
}

function createContext(
  p: Platform,
  log: PlatformLogger,
  report: ReportBuilder,
  retry: RetryPolicy,
  mode: TaskMode,
  reportPath: string,
): TaskContext {
  const systemAccessToken = () => jobAccessToken(p, log);
  const connections = new Map<string, Promise<AzureConnection>>();
  const proxy = p.proxy();
  // The Azure DevOps and Azure identity SDKs load on first use, not at start (cold start, issue 15).
  let connector: Promise<DevOpsConnector> | undefined;
  return {
    log,
    platform: p,
    devops: async (request) => {
      connector ??= import('../devops/connection').then((m) =>
        m.devopsConnector({ log, retry, ...(proxy ? { proxy } : {}) }),
      );
      return (await connector)(request);
    },
    mode,
    report,
    retry,
    tempDir: p.tempDir(),
    reportPath,
    systemAccessToken,
    async azureConnection(inputName: string): Promise<AzureConnection> {
      let c = connections.get(inputName);
      if (!c) {
        const id = readConnection(p, { name: inputName, label: inputName, required: true });
        const endpoint = p.endpoint(id)!;
        const proxy = p.proxy();
        const oidcRequestUri = p.variable('System.OidcRequestUri');
        c = import('../auth/connection').then((m) =>
          m.createAzureConnection(
            endpoint,
            {
              log,
              systemAccessToken,
              retry,
              ...(proxy ? { proxy } : {}),
              ...(oidcRequestUri ? { oidcRequestUri } : {}),
            },
            { input: inputName },
          ),
        );
        connections.set(inputName, c);
      }
      return c;
    },
    setOutput(name: string, value: string, opts?: { secret?: boolean }): void {
      const secret = opts?.secret ?? false;
      if (secret) log.secret(value);
      p.setOutput(name, value, secret);
      if (!secret) report.output(name, value);
    },
    async group<T>(title: string, fn: () => Promise<T>): Promise<T> {
      p.beginGroup(log.mask(title));
      try {
        return await fn();
      } finally {
        p.endGroup();
      }
    },
    section(title: string): void {
      p.section(log.mask(title));
    },
  };
}

interface ReportFiles {
  /** <task>.report.json: the fluxoidc-report attachment. */
  json: string;
  /** <task>.md: the build summary. */
  md: string;
}

/** A fresh directory in the temp dir for this run's report files (several runs of a task share the temp dir). */
function reportFiles(p: Platform, taskName: string): ReportFiles {
  const dir = fs.mkdtempSync(path.join(p.tempDir(), `${taskName}-report-`));
  return { json: path.join(dir, `${taskName}.report.json`), md: path.join(dir, `${taskName}.md`) };
}

/** Writes the report JSON and the markdown summary and attaches them. */
function writeReport(p: Platform, taskName: string, report: ReportBuilder, files: ReportFiles): void {
  const built = report.build();
  fs.writeFileSync(files.json, toJson(built));
  fs.writeFileSync(files.md, renderMarkdown(built));
  p.addAttachment(REPORT_ATTACHMENT_TYPE, taskName, files.json);
  p.uploadSummary(files.md);
}
