/**
 * A line diff (Myers' O(ND) algorithm) and its unified-diff rendering, for plan mode.
 *
 * Lines keep their terminator, so a last line without a newline differs from the same line with
 * one and is rendered with the usual "\ No newline at end of file" marker. CRLF files compare line
 * by line exactly like LF files; the `\r` is dropped only when printing.
 */

export type DiffOp = { kind: 'equal' | 'delete' | 'insert'; line: string };

/** Beyond this many differences Myers' trace gets large; the middle is then shown as replaced. */
const MAX_EDIT_DISTANCE = 4000;

/** Splits text into lines that keep their `\n` (the last one may have none). */
export function splitLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split('\n').map((l) => l + '\n');
  const last = lines.length - 1;
  lines[last] = lines[last].slice(0, -1);
  if (lines[last] === '') lines.pop();
  return lines;
}

/** The shortest edit script turning `a` into `b`. */
export function diffLines(a: readonly string[], b: readonly string[]): DiffOp[] {
  // Common prefix and suffix cost nothing and keep the Myers part small for typical edits.
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA--;
    endB--;
  }

  const ops: DiffOp[] = [];
  for (let i = 0; i < start; i++) ops.push({ kind: 'equal', line: a[i] });
  ops.push(...myers(a.slice(start, endA), b.slice(start, endB)));
  for (let i = endA; i < a.length; i++) ops.push({ kind: 'equal', line: a[i] });
  return ops;
}

function myers(a: readonly string[], b: readonly string[]): DiffOp[] {
  const n = a.length;
  const m = b.length;
  if (n === 0) return b.map((line) => ({ kind: 'insert' as const, line }));
  if (m === 0) return a.map((line) => ({ kind: 'delete' as const, line }));
  const max = Math.min(n + m, MAX_EDIT_DISTANCE);
  const offset = max + 1;
  const v = new Int32Array(2 * max + 3);
  // trace[d] holds the furthest x for each diagonal k in [-d, d] before step d+1.
  const trace: Int32Array[] = [];
  let found = -1;
  for (let d = 0; d <= max; d++) {
    for (let k = -d; k <= d; k += 2) {
      let x: number;
      if (k === -d || (k !== d && v[offset + k - 1] < v[offset + k + 1])) x = v[offset + k + 1];
      else x = v[offset + k - 1] + 1;
      let y = x - k;
      while (x < n && y < m && a[x] === b[y]) {
        x++;
        y++;
      }
      v[offset + k] = x;
      if (x >= n && y >= m) {
        found = d;
        break;
      }
    }
    trace.push(v.slice(offset - d, offset + d + 1));
    if (found >= 0) break;
  }
  if (found < 0) {
    // Too different to diff cheaply (e.g. a regenerated gotk-components.yaml): show a replacement.
    return [
      ...a.map((line) => ({ kind: 'delete' as const, line })),
      ...b.map((line) => ({ kind: 'insert' as const, line })),
    ];
  }

  // Walk the trace backwards from (n, m).
  const reversed: DiffOp[] = [];
  let x = n;
  let y = m;
  for (let d = found; d > 0; d--) {
    const prev = trace[d - 1];
    const at = (k: number) => prev[k + (d - 1)];
    const k = x - y;
    const prevK = k === -d || (k !== d && at(k - 1) < at(k + 1)) ? k + 1 : k - 1;
    const prevX = at(prevK);
    const prevY = prevX - prevK;
    while (x > prevX && y > prevY) {
      reversed.push({ kind: 'equal', line: a[x - 1] });
      x--;
      y--;
    }
    if (x === prevX) reversed.push({ kind: 'insert', line: b[prevY] });
    else reversed.push({ kind: 'delete', line: a[prevX] });
    x = prevX;
    y = prevY;
  }
  while (x > 0 && y > 0) {
    reversed.push({ kind: 'equal', line: a[x - 1] });
    x--;
    y--;
  }
  return reversed.reverse();
}

/**
 * A unified diff (`diff -u` format, 3 lines of context by default) of two texts; '' when equal.
 * `before` undefined means the file is new, `after` undefined that it is deleted.
 */
export function unifiedDiff(path: string, before: string | undefined, after: string | undefined, context = 3): string {
  if (before === after) return '';
  const ops = diffLines(splitLines(before ?? ''), splitLines(after ?? ''));
  const out: string[] = [
    before === undefined ? '--- /dev/null' : `--- a/${path}`,
    after === undefined ? '+++ /dev/null' : `+++ b/${path}`,
  ];

  // Group changes that are at most 2*context equal lines apart into one hunk.
  const changes: number[] = [];
  ops.forEach((op, i) => {
    if (op.kind !== 'equal') changes.push(i);
  });
  let h = 0;
  while (h < changes.length) {
    let last = h;
    while (last + 1 < changes.length && changes[last + 1] - changes[last] <= 2 * context + 1) last++;
    const from = Math.max(0, changes[h] - context);
    const to = Math.min(ops.length, changes[last] + context + 1);
    out.push(...renderHunk(ops, from, to));
    h = last + 1;
  }
  return out.join('\n') + '\n';
}

function renderHunk(ops: readonly DiffOp[], from: number, to: number): string[] {
  // Line numbers (1-based) of the hunk's first old/new line.
  let oldLine = 1;
  let newLine = 1;
  for (let i = 0; i < from; i++) {
    if (ops[i].kind !== 'insert') oldLine++;
    if (ops[i].kind !== 'delete') newLine++;
  }
  let oldCount = 0;
  let newCount = 0;
  const body: string[] = [];
  for (let i = from; i < to; i++) {
    const op = ops[i];
    const prefix = op.kind === 'equal' ? ' ' : op.kind === 'delete' ? '-' : '+';
    if (op.kind !== 'insert') oldCount++;
    if (op.kind !== 'delete') newCount++;
    const hasNewline = op.line.endsWith('\n');
    body.push(prefix + op.line.replace(/\r?\n$/, ''));
    if (!hasNewline) body.push('\\ No newline at end of file');
  }
  return [`@@ -${range(oldLine, oldCount)} +${range(newLine, newCount)} @@`, ...body];
}

/** GNU diff's range notation: an empty range names the line before it; ",1" is implied. */
function range(start: number, count: number): string {
  if (count === 0) return `${start - 1},0`;
  return count === 1 ? `${start}` : `${start},${count}`;
}
