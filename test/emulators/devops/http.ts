/**
 * Request plumbing shared by the Azure DevOps hosts: a small case-insensitive router (Azure DevOps
 * routes, query names and JSON property names are case-insensitive), api-version negotiation as the
 * service does it (Accept header or query; `-preview` required for preview resources), `{count,value}`
 * collections and enum values that may arrive as names or numbers.
 */
import type { ServerResponse } from 'node:http';
import type { EmuRequest, EmuResponse } from '../core/host';
import { vssError } from './errors';

export type RouteResult = EmuResponse | { raw: true; status: number; write?: boolean };

export interface RouteContext<C> {
  req: EmuRequest;
  res: ServerResponse;
  params: Record<string, string>;
  /** Everything the host's dispatcher resolved (caller, project, org URL...). */
  ctx: C;
  apiVersion?: ApiVersion;
}

export interface RouteOptions {
  /** The resource is preview-only: api-version must carry `-preview`. */
  preview?: boolean;
  /** No api-version needed (connectionData, OPTIONS, git smart HTTP). */
  optional?: boolean;
  /** Where the route lives: `_apis/…` of the organization (default), `{project}/_apis/…`, or both. */
  scope?: 'org' | 'project' | 'any';
  /** Served without credentials (the location service's resource areas). */
  anonymous?: boolean;
}

export interface Route<C> {
  methods: string[];
  /** Segments: literals (case-insensitive), `:name`, or a trailing `*name` (rest, may be empty). */
  pattern: string[];
  options: RouteOptions;
  handler: (r: RouteContext<C>) => Promise<RouteResult> | RouteResult;
}

export function route<C>(
  methods: string | string[],
  pattern: string,
  options: RouteOptions,
  handler: Route<C>['handler'],
): Route<C> {
  return {
    methods: (Array.isArray(methods) ? methods : [methods]).map((m) => m.toUpperCase()),
    pattern: pattern.split('/').filter(Boolean),
    options,
    handler,
  };
}

export function matchRoute<C>(
  routes: Route<C>[],
  method: string,
  segments: string[],
  scope: 'org' | 'project',
): { route: Route<C>; params: Record<string, string> } | { methodMismatch: true } | undefined {
  let mismatch = false;
  for (const r of routes) {
    const where = r.options.scope ?? 'org';
    if (where !== 'any' && where !== scope) continue;
    const params = matchPattern(r.pattern, segments);
    if (!params) continue;
    if (!r.methods.includes(method)) {
      mismatch = true;
      continue;
    }
    return { route: r, params };
  }
  return mismatch ? { methodMismatch: true } : undefined;
}

function matchPattern(pattern: string[], segments: string[]): Record<string, string> | undefined {
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i]!;
    if (p.startsWith('*')) {
      params[p.slice(1)] = segments.slice(i).join('/');
      return params;
    }
    const s = segments[i];
    if (s === undefined) return undefined;
    if (p.startsWith(':')) params[p.slice(1)] = s;
    else if (p.toLowerCase() !== s.toLowerCase()) return undefined;
  }
  return segments.length === pattern.length ? params : undefined;
}

/** Path segments after a prefix, URL-decoded. */
export function segmentsOf(pathname: string): string[] {
  return pathname
    .split('/')
    .filter(Boolean)
    .map((s) => {
      try {
        return decodeURIComponent(s);
      } catch {
        return s;
      }
    });
}

export interface ApiVersion {
  text: string;
  major: number;
  preview: boolean;
}

const MAX_VERSION = 7.2;

/** Reads and checks api-version (query first, then the Accept header), as the service does. */
export function negotiateVersion(req: EmuRequest, rule: RouteOptions): ApiVersion | undefined {
  let text = query(req, 'api-version');
  if (!text) {
    const accept = String(req.headers.accept ?? '');
    const m = /api-version=([^;,\s]+)/i.exec(accept);
    if (m) text = m[1];
  }
  if (!text) {
    if (rule.optional || req.method === 'GET' || req.method === 'HEAD' || req.method === 'OPTIONS') return undefined;
    throw vssError(
      400,
      'VssVersionNotSpecifiedException',
      `No api-version was supplied for the ${req.method} request. The version must be supplied either as part of the Accept header (e.g. "application/json; api-version=1.0") or as a query parameter (e.g. '?api-version=1.0').`,
      'WebApi',
    );
  }
  const m = /^(\d+(?:\.\d+)?)(-preview(?:\.(\d+))?)?$/i.exec(text.trim());
  if (!m)
    throw vssError(
      400,
      'VssInvalidApiVersionException',
      `The api-version '${text}' is not valid. Use a version such as 7.1 or 7.1-preview.1.`,
      'WebApi',
    );
  const major = Number(m[1]);
  const preview = m[2] !== undefined;
  if (major > MAX_VERSION) {
    throw vssError(
      400,
      'VssVersionOutOfRangeException',
      `The requested REST API version of ${m[1]} is out of range for this server. The latest REST API version this server supports is ${MAX_VERSION}.`,
      'WebApi',
    );
  }
  // 7.2 is preview for every resource; preview-only resources need -preview at any version.
  if (!preview && (rule.preview || major > 7.1) && !rule.optional) {
    throw vssError(
      400,
      'VssInvalidPreviewVersionException',
      `The requested version "${m[1]}" of the resource is under preview. The -preview flag must be supplied in the api-version for such requests. For example: "${m[1]}-preview"`,
      'WebApi',
    );
  }
  return { text, major, preview };
}

/** Case-insensitive query parameter. */
export function query(req: EmuRequest, name: string): string | undefined {
  const want = name.toLowerCase();
  for (const [k, v] of req.url.searchParams) if (k.toLowerCase() === want) return v;
  return undefined;
}

export function queryBool(req: EmuRequest, name: string): boolean | undefined {
  const v = query(req, name);
  if (v === undefined || v === '') return undefined;
  return v.toLowerCase() === 'true' || v === '1';
}

export function queryInt(req: EmuRequest, name: string): number | undefined {
  const v = query(req, name);
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n))
    throw vssError(
      400,
      'InvalidArgumentValueException',
      `The value '${v}' of the query parameter '${name}' is not an integer.`,
    );
  return n;
}

/** Comma separated list parameter. */
export function queryList(req: EmuRequest, name: string): string[] {
  return (query(req, name) ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/** Case-insensitive property of a JSON object (Newtonsoft deserializes case-insensitively). */
export function prop<T = unknown>(obj: unknown, name: string): T | undefined {
  if (!obj || typeof obj !== 'object') return undefined;
  const want = name.toLowerCase();
  for (const [k, v] of Object.entries(obj as Record<string, unknown>)) if (k.toLowerCase() === want) return v as T;
  return undefined;
}

/** Parses a JSON body; an invalid or missing body is a 400 naming the fix. */
export function jsonBody(req: EmuRequest, what: string): unknown {
  const text = req.text().trim();
  if (!text)
    throw vssError(
      400,
      'ArgumentNullException',
      `Value cannot be null. Parameter name: ${what}. Send the ${what} as a JSON body.`,
    );
  try {
    return JSON.parse(text);
  } catch {
    throw vssError(
      400,
      'VssRequestContentException',
      `The request body is not valid JSON (expected ${what}).`,
      'WebApi',
    );
  }
}

/** An enum value sent as its name (any case) or its number. */
export function enumValue<T extends string>(v: unknown, names: Record<T, number>, what: string): T | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v === 'number') {
    const hit = (Object.entries(names) as [T, number][]).find(([, n]) => n === v);
    if (hit) return hit[0];
  } else if (typeof v === 'string') {
    const hit = (Object.keys(names) as T[]).find((k) => k.toLowerCase() === v.trim().toLowerCase());
    if (hit) return hit;
    if (/^\d+$/.test(v.trim())) return enumValue(Number(v), names, what);
  }
  throw vssError(
    400,
    'InvalidArgumentValueException',
    `The value '${String(v)}' is not a valid ${what}. Valid values: ${Object.keys(names).join(', ')}.`,
  );
}

export function collection<T>(value: T[]): { count: number; value: T[] } {
  return { count: value.length, value };
}

export function ok(body: unknown, status = 200, write?: boolean): EmuResponse {
  const r: EmuResponse = {
    status,
    body,
    headers: { 'content-type': 'application/json; charset=utf-8; api-version=7.1' },
  };
  if (write !== undefined) r.write = write;
  return r;
}

export function isGuid(s: string | undefined): boolean {
  return !!s && /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(s);
}
