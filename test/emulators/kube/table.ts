/**
 * Server-side printing (`Accept: application/json;as=Table;v=v1;g=meta.k8s.io`), which is how
 * `kubectl get` asks for the columns it shows: the built-ins' usual columns, and for custom
 * resources the CRD's additionalPrinterColumns.
 */
import type { KubeObject } from './model';
import { isObject } from './patch';
import type { PrinterColumn, ResourceDef } from './resources';
import { jsonPath } from './select';

interface Column {
  name: string;
  type: string;
  format?: string;
  description: string;
  priority: number;
}
interface BuiltinColumn extends Column {
  cell(o: KubeObject, now: number): string | number;
}

/** Kubernetes' HumanDuration (what the AGE column shows). */
export function humanDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 10) return s % 60 === 0 ? `${m}m` : `${m}m${s % 60}s`;
  if (m < 180) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 8) return m % 60 === 0 ? `${h}h` : `${h}h${m % 60}m`;
  if (h < 48) return `${h}h`;
  const d = Math.floor(h / 24);
  if (d < 8) return h % 24 === 0 ? `${d}d` : `${d}d${h % 24}h`;
  if (d < 365 * 2) return `${d}d`;
  return `${Math.floor(d / 365)}y`;
}

const age = (o: KubeObject, now: number) =>
  o.metadata.creationTimestamp ? humanDuration(now - Date.parse(o.metadata.creationTimestamp)) : '<unknown>';

const col = (name: string, cell: BuiltinColumn['cell'], type = 'string', priority = 0): BuiltinColumn => ({
  name,
  type,
  description: name,
  priority,
  cell,
  ...(name === 'Name' ? { format: 'name' } : {}),
});

const nameCol = col('Name', (o) => o.metadata.name);
const ageCol = col('Age', age, 'date');

function get(o: unknown, ...path: string[]): unknown {
  let cur = o;
  for (const p of path) cur = isObject(cur) ? cur[p] : undefined;
  return cur;
}

const BUILTIN_COLUMNS: Record<string, BuiltinColumn[]> = {
  Namespace: [nameCol, col('Status', (o) => String(get(o, 'status', 'phase') ?? 'Active')), ageCol],
  ServiceAccount: [
    nameCol,
    col('Secrets', (o) => (get(o, 'secrets') as unknown[] | undefined)?.length ?? 0, 'integer'),
    ageCol,
  ],
  Secret: [
    nameCol,
    col('Type', (o) => String(get(o, 'type') ?? 'Opaque')),
    col('Data', (o) => Object.keys((get(o, 'data') as object | undefined) ?? {}).length, 'integer'),
    ageCol,
  ],
  ConfigMap: [
    nameCol,
    col('Data', (o) => Object.keys((get(o, 'data') as object | undefined) ?? {}).length, 'integer'),
    ageCol,
  ],
  Pod: [
    nameCol,
    col('Ready', (o) => {
      const cs = (get(o, 'status', 'containerStatuses') as { ready?: boolean }[] | undefined) ?? [];
      const total = ((get(o, 'spec', 'containers') as unknown[] | undefined) ?? []).length;
      return `${cs.filter((c) => c.ready).length}/${total}`;
    }),
    col('Status', (o) => String(get(o, 'status', 'phase') ?? 'Pending')),
    col('Restarts', () => 0, 'integer'),
    ageCol,
  ],
  Deployment: [
    nameCol,
    col('Ready', (o) => `${Number(get(o, 'status', 'readyReplicas') ?? 0)}/${Number(get(o, 'spec', 'replicas') ?? 1)}`),
    col('Up-to-date', (o) => Number(get(o, 'status', 'updatedReplicas') ?? 0), 'integer'),
    col('Available', (o) => Number(get(o, 'status', 'availableReplicas') ?? 0), 'integer'),
    ageCol,
  ],
};

function crdCells(columns: PrinterColumn[], o: KubeObject, now: number): (string | number)[] {
  return columns.map((c) => {
    const v = jsonPath(o, c.jsonPath);
    if (v === undefined || v === null) return '';
    if (c.type === 'date' && typeof v === 'string') return humanDuration(now - Date.parse(v));
    return typeof v === 'number' ? v : typeof v === 'string' ? v : JSON.stringify(v);
  });
}

/** The meta.k8s.io/v1 Table for a list of objects (served at `version`). */
export function toTable(
  def: ResourceDef,
  version: string,
  objects: KubeObject[],
  now: number,
  resourceVersion: string,
): Record<string, unknown> {
  const partial = (o: KubeObject) => ({
    kind: 'PartialObjectMetadata',
    apiVersion: 'meta.k8s.io/v1',
    metadata: o.metadata,
  });
  let columnDefinitions: Column[];
  let rows: { cells: (string | number)[]; object: unknown }[];
  const crdColumns = def.columns?.[version];
  if (crdColumns) {
    const all: PrinterColumn[] = [
      { name: 'Name', type: 'string', jsonPath: '.metadata.name', format: 'name' },
      ...crdColumns,
    ];
    if (!crdColumns.some((c) => c.jsonPath === '.metadata.creationTimestamp'))
      all.push({ name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' });
    columnDefinitions = all.map((c) => ({
      name: c.name,
      type: c.type,
      ...(c.format ? { format: c.format } : {}),
      description: c.description ?? c.name,
      priority: c.priority ?? 0,
    }));
    rows = objects.map((o) => ({ cells: crdCells(all, o, now), object: partial(o) }));
  } else {
    const cols = BUILTIN_COLUMNS[def.kind] ?? [nameCol, ageCol];
    columnDefinitions = cols.map(({ cell: _c, ...c }) => c);
    rows = objects.map((o) => ({ cells: cols.map((c) => c.cell(o, now)), object: partial(o) }));
  }
  return { kind: 'Table', apiVersion: 'meta.k8s.io/v1', metadata: { resourceVersion }, columnDefinitions, rows };
}

/** True when the Accept header asks for a Table. */
export function wantsTable(accept: string | undefined): boolean {
  return !!accept && /as=Table/.test(accept);
}
