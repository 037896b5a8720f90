/**
 * A small glob over path segments, for `fluxSystemPath` (e.g. `clusters/*\/flux-system`,
 * `fleet/**\/flux-system`). `*` and `?` match within one segment, `**` matches zero or more
 * segments. No braces, no character classes: folder names in fleets do not need them and a
 * dependency (or Node 20's experimental fs.glob) is not worth it.
 *
 * The directory listing is passed in, so this module stays free of I/O.
 */

/** Lists the sub-directory names of a directory (relative path, '' = the root); [] when absent. */
export type ListDirs = (relDir: string) => string[];

export function isGlob(pattern: string): boolean {
  return /[*?]/.test(pattern);
}

/** Splits a relative path or pattern into segments ('/' or '\' separated, `.` and empty removed). */
export function segments(path: string): string[] {
  return path.split(/[\\/]+/).filter((s) => s !== '' && s !== '.');
}

/**
 * The directories (relative paths joined with '/') matching `pattern`, sorted. Hidden directories
 * (`.git`, ...) are entered only when a pattern segment names them explicitly; `**` does not
 * descend into them nor into node_modules.
 */
export function globDirs(pattern: string, listDirs: ListDirs): string[] {
  const segs = segments(pattern);
  const found = new Set<string>();
  const visited = new Set<string>();

  const walk = (dir: string, i: number) => {
    const key = `${dir}\u0000${i}`;
    if (visited.has(key)) return;
    visited.add(key);
    if (i === segs.length) {
      if (dir !== '') found.add(dir);
      return;
    }
    const seg = segs[i];
    const join = (name: string) => (dir === '' ? name : `${dir}/${name}`);
    if (seg === '**') {
      walk(dir, i + 1);
      for (const name of listDirs(dir)) {
        if (name.startsWith('.') || name === 'node_modules') continue;
        walk(join(name), i);
      }
      return;
    }
    if (seg === '..') {
      walk(join('..'), i + 1);
      return;
    }
    if (!isGlob(seg)) {
      if (listDirs(dir).includes(seg)) walk(join(seg), i + 1);
      return;
    }
    const re = segmentRegExp(seg);
    for (const name of listDirs(dir)) {
      if (name.startsWith('.') && !seg.startsWith('.')) continue;
      if (re.test(name)) walk(join(name), i + 1);
    }
  };
  walk('', 0);
  return [...found].sort();
}

function segmentRegExp(seg: string): RegExp {
  let re = '';
  for (const ch of seg) {
    if (ch === '*') re += '[^/]*';
    else if (ch === '?') re += '[^/]';
    else re += ch.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}
