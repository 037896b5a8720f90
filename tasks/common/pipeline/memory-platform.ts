/**
 * An in-memory Platform for tests: inputs, variables and endpoints from plain objects; everything
 * the task "prints" is recorded, both as structured records and as the `##vso` lines the agent
 * would see (secrets already masked, as the agent masks them).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ProxyConfig, ServiceEndpoint } from '../auth/types';
import { maskSecrets } from '../report/builder';
import type { Platform, PlatformResult } from './platform';

export interface MemoryEndpoint {
  url?: string;
  scheme?: string;
  /** Authorization parameters (keys are case-insensitive). */
  auth?: Record<string, string>;
  /** Data parameters (keys are case-insensitive). */
  data?: Record<string, string>;
}

export interface MemoryPlatformOptions {
  inputs?: Record<string, string>;
  /** Pipeline variables by their dotted names (System.CollectionUri) or env names (SYSTEM_COLLECTIONURI). */
  variables?: Record<string, string>;
  endpoints?: Record<string, MemoryEndpoint>;
  proxy?: ProxyConfig;
  tempDir?: string;
}

function lookup(bag: Record<string, string> | undefined, key: string): string | undefined {
  if (!bag) return undefined;
  const hit = Object.keys(bag).find((k) => k.toLowerCase() === key.toLowerCase());
  const v = hit === undefined ? undefined : bag[hit].trim();
  return v ? v : undefined;
}

/** System.CollectionUri -> SYSTEM_COLLECTIONURI, as the agent maps variables to the environment. */
const envName = (name: string): string => name.replace(/\./g, '_').toUpperCase();

export class MemoryPlatform implements Platform {
  readonly inputs: Record<string, string>;
  readonly variables: Record<string, string>;
  readonly endpoints: Record<string, MemoryEndpoint>;
  /** Every line as the agent would see it (##vso commands and plain text), secrets masked. */
  readonly lines: string[] = [];
  readonly outputs: Record<string, { value: string; secret: boolean }> = {};
  readonly secrets: string[] = [];
  readonly warnings: string[] = [];
  readonly errors: string[] = [];
  readonly attachments: { type: string; name: string; path: string }[] = [];
  readonly summaries: string[] = [];
  readonly results: { result: PlatformResult; message: string }[] = [];
  private dir: string | undefined;
  private readonly proxyConfig: ProxyConfig | undefined;

  constructor(opts: MemoryPlatformOptions = {}) {
    this.inputs = { ...opts.inputs };
    this.variables = {};
    for (const [k, v] of Object.entries(opts.variables ?? {})) this.variables[envName(k)] = v;
    this.endpoints = { ...opts.endpoints };
    this.dir = opts.tempDir;
    this.proxyConfig = opts.proxy;
  }

  /** The single result, or undefined if setResult was not called; throws if it was called more than once. */
  get result(): { result: PlatformResult; message: string } | undefined {
    if (this.results.length > 1) throw new Error(`setResult was called ${this.results.length} times`);
    return this.results[0];
  }

  /** All the plain text lines printed (without ##vso commands). */
  text(): string {
    return this.lines.filter((l) => !l.startsWith('##vso[')).join('\n');
  }

  input(name: string): string | undefined {
    return lookup(this.inputs, name);
  }

  variable(name: string): string | undefined {
    return lookup(this.variables, envName(name));
  }

  endpoint(id: string): ServiceEndpoint | undefined {
    const e = Object.entries(this.endpoints).find(([k]) => k.toLowerCase() === id.toLowerCase())?.[1];
    if (!e) return undefined;
    return {
      id,
      ...(e.url ? { url: e.url } : {}),
      ...(e.scheme ? { scheme: e.scheme } : {}),
      auth: (key) => lookup(e.auth, key),
      data: (key) => lookup(e.data, key),
    };
  }

  proxy(): ProxyConfig | undefined {
    return this.proxyConfig;
  }

  private print(line: string): void {
    this.lines.push(maskSecrets(line, this.secrets));
  }

  setOutput(name: string, value: string, secret: boolean): void {
    this.outputs[name] = { value, secret };
    this.print(`##vso[task.setvariable variable=${name};isOutput=true;issecret=${secret}]${value}`);
  }

  setSecret(value: string): void {
    // As task-lib: the agent cannot mask a multi-line value.
    if (/[\r\n]/.test(value)) throw new Error('Secrets cannot contain multiple lines');
    this.print(`##vso[task.setsecret]${value}`); // printed before registering: the agent sees the raw value once, on this line only
    this.secrets.push(value);
  }

  info(message: string): void {
    this.print(message);
  }

  debug(message: string): void {
    this.print(`##vso[task.debug]${message}`);
  }

  warning(message: string): void {
    this.warnings.push(message);
    this.print(`##vso[task.logissue type=warning]${message}`);
  }

  error(message: string): void {
    this.errors.push(message);
    this.print(`##vso[task.logissue type=error]${message}`);
  }

  section(title: string): void {
    this.print(`##[section]${title}`);
  }

  beginGroup(title: string): void {
    this.print(`##[group]${title}`);
  }

  endGroup(): void {
    this.print('##[endgroup]');
  }

  progress(percent: number, message: string): void {
    this.print(`##vso[task.setprogress value=${percent}]${message}`);
  }

  addAttachment(type: string, name: string, p: string): void {
    this.attachments.push({ type, name, path: p });
    this.print(`##vso[task.addattachment type=${type};name=${name}]${p}`);
  }

  uploadSummary(p: string): void {
    this.summaries.push(p);
    this.print(`##vso[task.uploadsummary]${p}`);
  }

  setResult(result: PlatformResult, message: string): void {
    this.results.push({ result, message });
    if (result === 'Failed') this.errors.push(message);
    if (result === 'SucceededWithIssues') this.warnings.push(message);
    this.print(`##vso[task.complete result=${result}]${message}`);
  }

  tempDir(): string {
    this.dir ??= this.variable('Agent.TempDirectory') ?? fs.mkdtempSync(path.join(os.tmpdir(), 'fluxoidc-task-'));
    return this.dir;
  }
}
