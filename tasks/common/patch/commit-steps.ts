/**
 * FluxManifestPatch, write: each changed file written atomically. The commit modes (one commit
 * pushed, or a branch and a pull request) live in commit.ts.
 */
import * as path from 'node:path';
import { unifiedDiff } from '../flux/diff';
import { type Step } from '../plan';
import { countLines, readIfExists, writeFileAtomic } from './workspace';

export function fileStep(
  abs: string,
  rel: string,
  before: string | undefined,
  after: string,
  notes: string[],
): Step<string | undefined> {
  return {
    id: `file:${rel}`,
    kind: 'File',
    name: rel,
    observe: () => readIfExists(abs),
    plan(current) {
      if (current === after) return { action: 'unchanged', changes: [] };
      if (current !== before) {
        return { action: 'skip', changes: [], note: 'the file changed while the task ran; re-run the task' };
      }
      const diff = unifiedDiff(rel, before, after).split('\n');
      const added = diff.filter((l) => l.startsWith('+') && !l.startsWith('+++')).length;
      const removed = diff.filter((l) => l.startsWith('-') && !l.startsWith('---')).length;
      const note = notes.find((n) => n.includes(path.posix.basename(rel)) && /patches|changed it/.test(n));
      return {
        action: before === undefined ? 'create' : 'update',
        changes: [{ field: 'lines', from: countLines(before), to: `${countLines(after)} (+${added} -${removed})` }],
        ...(note ? { note } : {}),
      };
    },
    async apply() {
      writeFileAtomic(abs, after);
    },
  };
}
