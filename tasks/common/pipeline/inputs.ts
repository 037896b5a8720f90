/**
 * Typed, validated task inputs. Every reader throws `InputError` naming the input (label and name)
 * and saying how to fix the value, so a bad input fails the run before any network call.
 */
import type { Platform } from './platform';

export class InputError extends Error {
  override readonly name: string = 'InputError';
  readonly code = 'InputError';
  constructor(
    /** The input's name in task.json / YAML (e.g. `clusterName`). */
    readonly input: string,
    /** The input's label as the task assistant shows it (e.g. `AKS cluster name`). */
    readonly label: string,
    /** What is wrong with the value. */
    readonly problem: string,
    /** How to fix it. */
    readonly fix: string,
  ) {
    super(`Input '${label}' (${input}): ${problem}. Fix: ${fix}`);
  }
}

export function isInputError(err: unknown): err is InputError {
  return err instanceof InputError;
}

/** Which input: its YAML name and its label (both appear in error messages). */
export interface InputRef {
  name: string;
  label: string;
}

/** Pipeline variables the tasks use as input defaults. */
export const PipelineVariables = {
  collectionUri: 'System.CollectionUri',
  teamProject: 'System.TeamProject',
  teamProjectId: 'System.TeamProjectId',
  repositoryName: 'Build.Repository.Name',
  sourcesDirectory: 'Build.SourcesDirectory',
  sourceBranch: 'Build.SourceBranch',
} as const;

export interface StringSpec extends InputRef {
  required?: boolean;
  default?: string;
  /** Used when the input is blank: the value of this pipeline variable (see PipelineVariables). */
  defaultFromVariable?: string;
  pattern?: RegExp;
  /** Describes the pattern for the fix text, e.g. "1-63 lowercase letters, digits or '-'". */
  patternHint?: string;
  maxLength?: number;
}

type Defaulted = { required: true } | { default: string };

function quote(v: string): string {
  return JSON.stringify(v.length > 80 ? `${v.slice(0, 77)}...` : v);
}

function missing(spec: InputRef & { defaultFromVariable?: string }, what = 'a value'): InputError {
  return new InputError(
    spec.name,
    spec.label,
    spec.defaultFromVariable
      ? `no value was given and the pipeline variable ${spec.defaultFromVariable} is not set`
      : 'a value is required but none was given',
    `set ${spec.name} to ${what}`,
  );
}

/** A string input. Returns undefined only when it is optional, blank and has no default. */
export function readString(p: Platform, spec: StringSpec & Defaulted): string;
export function readString(p: Platform, spec: StringSpec): string | undefined;
export function readString(p: Platform, spec: StringSpec): string | undefined {
  const raw =
    p.input(spec.name) ?? spec.default ?? (spec.defaultFromVariable ? p.variable(spec.defaultFromVariable) : undefined);
  if (raw === undefined || raw === '') {
    if (spec.required) throw missing(spec, spec.patternHint ?? 'a value');
    return undefined;
  }
  if (spec.maxLength !== undefined && raw.length > spec.maxLength) {
    throw new InputError(
      spec.name,
      spec.label,
      `${quote(raw)} is ${raw.length} characters long, more than the ${spec.maxLength} allowed`,
      `shorten it to at most ${spec.maxLength} characters`,
    );
  }
  if (spec.pattern && !spec.pattern.test(raw)) {
    throw new InputError(
      spec.name,
      spec.label,
      `${quote(raw)} is not valid`,
      `use ${spec.patternHint ?? `a value matching ${spec.pattern}`}`,
    );
  }
  return raw;
}

export interface BoolSpec extends InputRef {
  default?: boolean;
}

/** true/false (any case; also yes/no, 1/0 as the agent's own checkboxes never send those but people type them). */
export function readBool(p: Platform, spec: BoolSpec): boolean {
  const raw = p.input(spec.name);
  if (raw === undefined) return spec.default ?? false;
  const v = raw.toLowerCase();
  if (['true', 'yes', '1'].includes(v)) return true;
  if (['false', 'no', '0'].includes(v)) return false;
  throw new InputError(spec.name, spec.label, `${quote(raw)} is not a boolean`, 'use true or false');
}

export interface EnumSpec<T extends string> extends InputRef {
  values: readonly T[];
  default?: T;
  required?: boolean;
}

/** One of `values`, matched case-insensitively, returned in its canonical spelling. */
export function readEnum<T extends string>(p: Platform, spec: EnumSpec<T> & ({ default: T } | { required: true })): T;
export function readEnum<T extends string>(p: Platform, spec: EnumSpec<T>): T | undefined;
export function readEnum<T extends string>(p: Platform, spec: EnumSpec<T>): T | undefined {
  const raw = p.input(spec.name);
  if (raw === undefined) {
    if (spec.default !== undefined) return spec.default;
    if (spec.required) throw missing(spec, `one of ${spec.values.join(', ')}`);
    return undefined;
  }
  const hit = spec.values.find((v) => v.toLowerCase() === raw.toLowerCase());
  if (hit === undefined) {
    throw new InputError(
      spec.name,
      spec.label,
      `${quote(raw)} is not one of the allowed values`,
      `use one of: ${spec.values.join(', ')}`,
    );
  }
  return hit;
}

const GUID = /^\{?([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\}?$/i;

/** The GUID in `raw` (braces allowed), lower-case without braces; undefined when it is none. */
export function parseGuid(raw: string): string | undefined {
  return GUID.exec(raw)?.[1]?.toLowerCase();
}

export interface GuidSpec extends InputRef {
  required?: boolean;
  default?: string;
  defaultFromVariable?: string;
  /** What the GUID identifies, for the fix text ("the Entra ID tenant id"). */
  what?: string;
}

/** A GUID, returned lower-case without braces. */
export function readGuid(p: Platform, spec: GuidSpec & Defaulted): string;
export function readGuid(p: Platform, spec: GuidSpec): string | undefined;
export function readGuid(p: Platform, spec: GuidSpec): string | undefined {
  const raw = readString(p, {
    ...spec,
    patternHint: `${spec.what ?? 'a GUID'} (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)`,
  });
  if (raw === undefined) return undefined;
  const guid = parseGuid(raw);
  if (!guid) {
    throw new InputError(
      spec.name,
      spec.label,
      `${quote(raw)} is not a GUID`,
      `use ${spec.what ?? 'a GUID'} in the form xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx (hex digits)`,
    );
  }
  return guid;
}

export interface UrlSpec extends InputRef {
  required?: boolean;
  default?: string;
  defaultFromVariable?: string;
  /** Allowed protocols (default https: only). */
  protocols?: readonly string[];
  /** What the URL points at, for the fix text ("the organization URL, e.g. https://dev.azure.com/contoso"). */
  example?: string;
}

/** An absolute URL, returned without a trailing slash. */
export function readUrl(p: Platform, spec: UrlSpec & Defaulted): string;
export function readUrl(p: Platform, spec: UrlSpec): string | undefined;
export function readUrl(p: Platform, spec: UrlSpec): string | undefined {
  const protocols = spec.protocols ?? ['https:'];
  const hint = `an absolute ${protocols.map((x) => x.replace(':', '')).join(' or ')} URL${spec.example ? `, e.g. ${spec.example}` : ''}`;
  const raw = readString(p, { ...spec, patternHint: hint });
  if (raw === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new InputError(spec.name, spec.label, `${quote(raw)} is not a URL`, `use ${hint}`);
  }
  if (!protocols.includes(url.protocol)) {
    throw new InputError(spec.name, spec.label, `${quote(raw)} uses ${url.protocol.replace(':', '')}`, `use ${hint}`);
  }
  if (url.username || url.password) {
    throw new InputError(
      spec.name,
      spec.label,
      'the URL contains credentials',
      'remove the user name and password from the URL; credentials come from the service connection',
    );
  }
  // A base URL: the product appends API paths to it, so a query or fragment would end up in the
  // middle of every request URL (and could smuggle parameters into it).
  if (url.search || url.hash || /[?#]/.test(raw)) {
    throw new InputError(
      spec.name,
      spec.label,
      `${quote(raw)} has a ${url.hash || raw.includes('#') ? 'fragment (#...)' : 'query (?...)'}`,
      `use ${hint}, without ? or # parts`,
    );
  }
  return raw.replace(/\/+$/, '');
}

export interface ListSpec extends InputRef {
  required?: boolean;
  default?: readonly string[];
  /** Each item must match. */
  itemPattern?: RegExp;
  itemHint?: string;
  maxItems?: number;
}

/** Comma- or newline-separated items, trimmed, blanks dropped, de-duplicated (first occurrence kept). */
export function readList(p: Platform, spec: ListSpec): string[] {
  const raw = p.input(spec.name);
  if (raw === undefined) {
    if (spec.default !== undefined) return [...spec.default];
    if (spec.required)
      throw missing(
        spec,
        `one or more items separated by commas or new lines${spec.itemHint ? ` (${spec.itemHint})` : ''}`,
      );
    return [];
  }
  const items = [
    ...new Set(
      raw
        .split(/[,\r\n]+/)
        .map((s) => s.trim())
        .filter((s) => s !== ''),
    ),
  ];
  if (items.length === 0 && spec.required) throw missing(spec, 'one or more items separated by commas or new lines');
  for (const item of items) {
    if (spec.itemPattern && !spec.itemPattern.test(item)) {
      throw new InputError(
        spec.name,
        spec.label,
        `the item ${quote(item)} is not valid`,
        `make every item ${spec.itemHint ?? `match ${spec.itemPattern}`}, separated by commas or new lines`,
      );
    }
  }
  if (spec.maxItems !== undefined && items.length > spec.maxItems) {
    throw new InputError(
      spec.name,
      spec.label,
      `has ${items.length} items, more than the ${spec.maxItems} allowed`,
      `list at most ${spec.maxItems} items`,
    );
  }
  return items;
}

export interface IntSpec extends InputRef {
  default?: number;
  required?: boolean;
  min?: number;
  max?: number;
  /** Unit for messages, e.g. "seconds". */
  unit?: string;
}

function rangeText(spec: IntSpec): string {
  const unit = spec.unit ? ` ${spec.unit}` : '';
  if (spec.min !== undefined && spec.max !== undefined) return `a whole number from ${spec.min} to ${spec.max}${unit}`;
  if (spec.min !== undefined) return `a whole number of at least ${spec.min}${unit}`;
  if (spec.max !== undefined) return `a whole number of at most ${spec.max}${unit}`;
  return `a whole number${unit}`;
}

export function readInt(p: Platform, spec: IntSpec & ({ default: number } | { required: true })): number;
export function readInt(p: Platform, spec: IntSpec): number | undefined;
export function readInt(p: Platform, spec: IntSpec): number | undefined {
  const raw = p.input(spec.name);
  if (raw === undefined) {
    if (spec.default !== undefined) return spec.default;
    if (spec.required) throw missing(spec, rangeText(spec));
    return undefined;
  }
  if (!/^[+-]?\d+$/.test(raw))
    throw new InputError(spec.name, spec.label, `${quote(raw)} is not a whole number`, `use ${rangeText(spec)}`);
  const n = Number(raw);
  if (
    !Number.isSafeInteger(n) ||
    (spec.min !== undefined && n < spec.min) ||
    (spec.max !== undefined && n > spec.max)
  ) {
    throw new InputError(spec.name, spec.label, `${raw} is out of range`, `use ${rangeText(spec)}`);
  }
  return n;
}

export interface ConnectionSpec extends InputRef {
  required?: boolean;
}

/**
 * A `connectedService:AzureRM` input: the service connection's id. The agent resolves the name
 * written in YAML to the id and exposes ENDPOINT_*_<id>; when it did not (the pipeline is not
 * authorized to use the connection, or the name is wrong), this fails with what to check.
 */
export function readConnection(p: Platform, spec: ConnectionSpec & { required: true }): string;
export function readConnection(p: Platform, spec: ConnectionSpec): string | undefined;
export function readConnection(p: Platform, spec: ConnectionSpec): string | undefined {
  const id = p.input(spec.name);
  if (id === undefined) {
    if (spec.required) throw missing(spec, 'the name of an Azure Resource Manager service connection');
    return undefined;
  }
  const ep = p.endpoint(id);
  if (!ep || (!ep.scheme && !ep.url)) {
    throw new InputError(
      spec.name,
      spec.label,
      `the service connection ${quote(id)} is not available to this job`,
      'check the service connection name in Project settings > Service connections and authorize this pipeline to use it',
    );
  }
  return id;
}

/** The mode input every task has: plan (show what would change) or apply. */
export const MODES = ['plan', 'apply'] as const;
export type TaskMode = (typeof MODES)[number];

export function readMode(
  p: Platform,
  spec: InputRef = { name: 'mode', label: 'Mode' },
  fallback: TaskMode = 'plan',
): TaskMode {
  return readEnum(p, { ...spec, values: MODES, default: fallback });
}
