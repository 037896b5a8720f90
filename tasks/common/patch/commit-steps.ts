/**
 * FluxManifestPatch, write: each changed file written atomically. The commit modes (one commit
 * pushed, or a branch and a pull request) live in commit.ts.
 */
import * as path from 'node:path';
import { type Step } from '../plan';
import type { FileChange } from '../flux/folder';
import { changeDiff, countLines, readIfExists, writeFileAtomic } from './workspace';

export function fileStep(abs: string, rel: string, change: FileChange, notes: string[]): Step<string | undefined> {
  const { before, after } = change;
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
      const diff = changeDiff(rel, change).split('\n');
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
