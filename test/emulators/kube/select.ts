/**
 * Label and field selectors as list calls take them (`app=x,tier!=db,env in (a,b),!legacy,key`)
 * and a tiny JSONPath for printer columns (`.spec.url`, `.status.conditions[?(@.type=="Ready")].status`).
 */
import type { KubeObject } from './model';
import { isObject } from './patch';
import { statusError } from './status';

type Requirement = { key: string; op: 'eq' | 'neq' | 'in' | 'notin' | 'exists' | '!exists'; values: string[] };

function splitTopLevel(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      out.push(cur);
      cur = '';
      continue;
    }
    cur += ch;
  }
  if (cur.trim()) out.push(cur);
  return out.map((x) => x.trim()).filter(Boolean);
}

export function parseLabelSelector(s: string | null): Requirement[] {
  if (!s) return [];
  return splitTopLevel(s).map((part) => {
    let m = /^([^\s!=]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(part);
    if (m)
      return {
        key: m[1]!,
        op: m[2] as 'in' | 'notin',
        values: m[3]!
          .split(',')
          .map((v) => v.trim())
          .filter(Boolean),
      };
    m = /^([^\s!=]+)\s*(==|=|!=)\s*(\S*)$/.exec(part);
    if (m) return { key: m[1]!, op: m[2] === '!=' ? 'neq' : 'eq', values: [m[3]!] };
    m = /^!([^\s!=]+)$/.exec(part);
    if (m) return { key: m[1]!, op: '!exists', values: [] };
    m = /^([^\s!=(),]+)$/.exec(part);
    if (m) return { key: m[1]!, op: 'exists', values: [] };
    throw statusError(400, 'BadRequest', `unable to parse requirement: found '${part}', expected: identifier`);
  });
}

function matches(reqs: Requirement[], get: (k: string) => string | undefined): boolean {
  return reqs.every((r) => {
    const v = get(r.key);
    switch (r.op) {
      case 'eq':
        return v === r.values[0];
      case 'neq':
        return v !== r.values[0];
      case 'in':
        return v !== undefined && r.values.includes(v);
      case 'notin':
        return v === undefined || !r.values.includes(v);
      case 'exists':
        return v !== undefined;
      case '!exists':
        return v === undefined;
    }
  });
}

export function labelsMatch(obj: KubeObject, selector: Requirement[]): boolean {
  return matches(selector, (k) => obj.metadata.labels?.[k]);
}

/** Field selectors support `metadata.name`, `metadata.namespace` and any scalar path such as `status.phase`, `spec.nodeName`. */
export function fieldsMatch(obj: KubeObject, selector: string | null): boolean {
  if (!selector) return true;
  const reqs = parseLabelSelector(selector).map((r) => {
    if (r.op !== 'eq' && r.op !== 'neq') throw statusError(400, 'BadRequest', `invalid field selector: ${selector}`);
    return r;
  });
  return matches(reqs, (k) => {
    let cur: unknown = obj;
    for (const p of k.split('.')) cur = isObject(cur) ? cur[p] : undefined;
    return cur === undefined || cur === null ? '' : String(cur);
  });
}

/** Evaluates a printer-column JSONPath against an object; undefined when absent. */
export function jsonPath(obj: unknown, path: string): unknown {
  const re = /\.([A-Za-z0-9_-]+)|\[\?\(@\.([A-Za-z0-9_]+)=="([^"]*)"\)\]|\[(\d+)\]/gy;
  let cur: unknown = obj;
  let m: RegExpExecArray | null;
  re.lastIndex = 0;
  while (re.lastIndex < path.length && (m = re.exec(path))) {
    if (m[1] !== undefined) cur = isObject(cur) ? cur[m[1]] : undefined;
    else if (m[2] !== undefined)
      cur = Array.isArray(cur) ? cur.find((x) => isObject(x) && String(x[m![2]!]) === m![3]) : undefined;
    else if (m[4] !== undefined) cur = Array.isArray(cur) ? cur[Number(m[4])] : undefined;
    if (cur === undefined) return undefined;
  }
  return cur;
}
