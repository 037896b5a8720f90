// The release record and the version guard's logic (pure: no file system, no esbuild).
//
// release.json records, per task, the version last released and a fingerprint of everything its
// bundle is built from (the repository's sources by file, the dependencies as one hash, task.json
// without its version). Agents cache a task by id + version, so shipped code that changed under
// the same version would never reach pipelines that already ran the old one.

export type VersionLike = string | { Major: number | string; Minor: number | string; Patch: number | string };

/** What a release records, and what the tree holds now, for one task. */
export interface TaskPrint {
  version: string;
  /** repository sources bundled into the task: path -> sha256 */
  files: Record<string, string>;
  /** one hash over the bundled dependency files */
  dependencies: string;
  /** task.json without its version */
  manifest: string;
}
export interface ReleaseRecord {
  extension: string;
  tasks: Record<string, TaskPrint>;
}
export interface TreeState {
  extension: string;
  packageJson: string;
  tasks: Record<string, TaskPrint>;
}
export type BumpLevel = 'patch' | 'minor' | 'major';

/** "1.2.3" or {Major, Minor, Patch} -> [1, 2, 3] */
export function parseVersion(v: VersionLike): [number, number, number] {
  if (typeof v === 'string') {
    const m = /^(\d+)\.(\d+)\.(\d+)$/.exec(v);
    if (!m) throw new Error(`not a version: ${v}`);
    return [Number(m[1]), Number(m[2]), Number(m[3])];
  }
  return [Number(v.Major), Number(v.Minor), Number(v.Patch)];
}

export const formatVersion = (v: VersionLike): string => parseVersion(v).join('.');

export function compareVersions(a: VersionLike, b: VersionLike): -1 | 0 | 1 {
  const [x, y] = [parseVersion(a), parseVersion(b)];
  for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return x[i] < y[i] ? -1 : 1;
  return 0;
}

export function bumpVersion(v: VersionLike, level: string): string {
  const [major, minor, patch] = parseVersion(v);
  if (level === 'major') return `${major + 1}.0.0`;
  if (level === 'minor') return `${major}.${minor + 1}.0`;
  if (level === 'patch') return `${major}.${minor}.${patch + 1}`;
  throw new Error(`bump level must be patch, minor or major, got ${level}`);
}

/** The files whose hash differs between two {file: hash} maps (added, removed or changed). */
export function changedFiles(
  before: Record<string, string> | undefined,
  after: Record<string, string> | undefined,
): string[] {
  const names = new Set([...Object.keys(before ?? {}), ...Object.keys(after ?? {})]);
  return [...names].filter((n) => before?.[n] !== after?.[n]).sort();
}

/**
 * Problems with the current tree against the release record:
 *  - a task whose fingerprint changed but whose version is not above the released one;
 *  - a task version below the released one;
 *  - the extension version not above the released one when any task moved, or below a task's version;
 *  - package.json's version different from the extension's.
 * current = { extension, packageJson, tasks: { Name: { version, files, dependencies, manifest } } }
 */
export function checkRelease(record: ReleaseRecord, current: TreeState): string[] {
  const problems: string[] = [];
  let anyTaskAhead = false;
  for (const [name, now] of Object.entries(current.tasks)) {
    const released = record.tasks?.[name];
    if (!released) {
      problems.push(`tasks/${name}: not in release.json; run npm run version:bump to record it`);
      continue;
    }
    const cmp = compareVersions(now.version, released.version);
    if (cmp < 0) problems.push(`tasks/${name}: version ${now.version} is below the released ${released.version}`);
    if (cmp > 0) anyTaskAhead = true;
    const files = changedFiles(released.files, now.files);
    const what = [
      ...files,
      ...(released.dependencies !== now.dependencies ? ['(bundled dependencies)'] : []),
      ...(released.manifest !== now.manifest ? ['task.json'] : []),
    ];
    if (what.length && cmp <= 0) {
      const shown = what.slice(0, 5).join(', ') + (what.length > 5 ? `, … (${what.length} in all)` : '');
      problems.push(
        `tasks/${name}: its bundle changed since version ${released.version} was recorded (${shown}), ` +
          `but task.json still says ${now.version}; run npm run version:bump (agents cache tasks by version)`,
      );
    }
  }
  if (compareVersions(current.extension, record.extension) < 0)
    problems.push(`vss-extension.json: version ${current.extension} is below the released ${record.extension}`);
  if (anyTaskAhead && compareVersions(current.extension, record.extension) <= 0)
    problems.push(
      `vss-extension.json: a task version moved, so the extension version must move above ${record.extension}`,
    );
  for (const [name, now] of Object.entries(current.tasks))
    if (compareVersions(current.extension, now.version) < 0)
      problems.push(`vss-extension.json: version ${current.extension} is below tasks/${name}'s ${now.version}`);
  if (current.packageJson !== current.extension)
    problems.push(
      `package.json: version ${current.packageJson} differs from vss-extension.json's ${current.extension}`,
    );
  return problems;
}

/**
 * What `version:bump` does: every task whose bundle changed (and is not already ahead) moves by
 * `level`; the extension moves by patch when any task moved (or by `level` when asked for it);
 * returns the new versions and the new record.
 */
export function planBump(
  record: ReleaseRecord,
  current: TreeState,
  level: string = 'patch',
): { extension: string; tasks: Record<string, TaskPrint>; record: ReleaseRecord } {
  const tasks: Record<string, TaskPrint> = {};
  let moved = false;
  for (const [name, now] of Object.entries(current.tasks)) {
    const released = record.tasks?.[name];
    const changed =
      !released ||
      changedFiles(released.files, now.files).length > 0 ||
      released.dependencies !== now.dependencies ||
      released.manifest !== now.manifest;
    let version = formatVersion(now.version);
    if (released && changed && compareVersions(now.version, released.version) <= 0)
      version = bumpVersion(released.version, level);
    if (!released || version !== released.version) moved = true;
    tasks[name] = { ...now, version };
  }
  let extension = current.extension;
  if (moved && compareVersions(extension, record.extension ?? '0.0.0') <= 0)
    extension = bumpVersion(record.extension, level);
  for (const t of Object.values(tasks)) if (compareVersions(extension, t.version) < 0) extension = t.version;
  return { extension, tasks, record: { extension, tasks } };
}
