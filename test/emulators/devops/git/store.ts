/**
 * Real git repositories on disk behind the emulated Azure DevOps Git: bare repositories under the
 * cloud's work directory, driven with the system `git` plumbing (fast-import for commits,
 * update-ref with the expected old value for compare-and-swap ref moves, ls-tree / cat-file / log
 * for reads). No JS git library: what the REST API writes is exactly what `git clone` sees.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Clock } from '../../core/clock';

export const ZERO_ID = '0000000000000000000000000000000000000000';

export interface GitPerson {
  name: string;
  email: string;
  /** Seconds since the epoch. */
  time: number;
}

export interface CommitInfo {
  commitId: string;
  treeId: string;
  parents: string[];
  author: GitPerson;
  committer: GitPerson;
  message: string;
}

export interface TreeEntry {
  mode: string;
  type: 'blob' | 'tree' | 'commit';
  objectId: string;
  /** Repository-relative path without a leading slash. */
  path: string;
}

export type TreeOp =
  | { op: 'put'; path: string; content: Buffer; mode?: string }
  | { op: 'delete'; path: string }
  | { op: 'rename'; from: string; to: string };

export class GitError extends Error {
  constructor(
    readonly args: string[],
    readonly code: number,
    readonly stderr: string,
  ) {
    super(`git ${args.join(' ')} failed (${code}): ${stderr.trim()}`);
  }
}

/** C-style quoted path for fast-import. */
function quote(p: string): string {
  return `"${p.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
}

function personLine(kind: 'author' | 'committer', p: GitPerson): string {
  const clean = (s: string): string => s.replace(/[<>\n]/g, '').trim() || 'unknown';
  return `${kind} ${clean(p.name)} <${clean(p.email)}> ${p.time} +0000\n`;
}

function parsePerson(line: string): GitPerson {
  const m = /^(.*) <(.*)> (\d+) [+-]\d{4}$/.exec(line);
  return m ? { name: m[1]!, email: m[2]!, time: Number(m[3]) } : { name: line, email: '', time: 0 };
}

export class GitStore {
  private readonly locks = new Map<string, Promise<unknown>>();
  private tmp = 0;

  constructor(
    readonly root: string,
    private readonly clock: Clock,
  ) {
    fs.mkdirSync(root, { recursive: true });
  }

  dir(repoId: string): string {
    return path.join(this.root, `${repoId.toLowerCase()}.git`);
  }

  exists(repoId: string): boolean {
    return fs.existsSync(path.join(this.dir(repoId), 'HEAD'));
  }

  /** Runs git against a repository; resolves with the exit code (no throw). */
  run(
    repoId: string,
    args: string[],
    input?: Buffer | string,
  ): Promise<{ code: number; stdout: Buffer; stderr: string }> {
    return new Promise((resolve, reject) => {
      const child = spawn('git', [`--git-dir=${this.dir(repoId)}`, ...args], {
        env: {
          ...process.env,
          GIT_CONFIG_GLOBAL: '/dev/null',
          GIT_CONFIG_NOSYSTEM: '1',
          GIT_TERMINAL_PROMPT: '0',
          LC_ALL: 'C',
        },
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      child.stdout.on('data', (c: Buffer) => out.push(c));
      child.stderr.on('data', (c: Buffer) => err.push(c));
      child.on('error', reject);
      child.on('close', (code) =>
        resolve({ code: code ?? -1, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString('utf8') }),
      );
      child.stdin.on('error', () => undefined);
      child.stdin.end(input);
    });
  }

  /** Runs git and returns stdout as text; throws GitError on a non-zero exit. */
  async git(repoId: string, args: string[], input?: Buffer | string): Promise<string> {
    const r = await this.run(repoId, args, input);
    if (r.code !== 0) throw new GitError(args, r.code, r.stderr);
    return r.stdout.toString('utf8');
  }

  /** Serializes state-changing work on one repository. */
  exclusive<T>(repoId: string, fn: () => Promise<T>): Promise<T> {
    const key = repoId.toLowerCase();
    const prev = this.locks.get(key) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    this.locks.set(
      key,
      next.catch(() => undefined),
    );
    return next;
  }

  async init(repoId: string, defaultBranch: string): Promise<void> {
    fs.mkdirSync(this.dir(repoId), { recursive: true });
    await this.git(repoId, ['init', '--bare', '--quiet', `--initial-branch=${defaultBranch}`]);
    await this.git(repoId, ['config', 'http.receivepack', 'true']);
    await this.git(repoId, ['config', 'core.logAllRefUpdates', 'false']);
  }

  async setHead(repoId: string, branch: string): Promise<void> {
    await this.git(repoId, ['symbolic-ref', 'HEAD', `refs/heads/${branch}`]);
  }

  async refs(repoId: string): Promise<{ name: string; objectId: string }[]> {
    const out = await this.git(repoId, [
      'for-each-ref',
      '--format=%(objectname) %(refname)',
      'refs/heads',
      'refs/tags',
      'refs/notes',
    ]);
    return out
      .split('\n')
      .filter(Boolean)
      .map((l) => {
        const i = l.indexOf(' ');
        return { objectId: l.slice(0, i), name: l.slice(i + 1) };
      });
  }

  async refTip(repoId: string, ref: string): Promise<string | undefined> {
    const r = await this.run(repoId, ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`]);
    return r.code === 0 ? r.stdout.toString('utf8').trim() : undefined;
  }

  /** A commit id for a revision (full sha, ref, branch), or undefined. */
  async resolveCommit(repoId: string, rev: string): Promise<string | undefined> {
    if (!rev || rev.startsWith('-')) return undefined;
    return this.refTip(repoId, rev);
  }

  async objectType(repoId: string, spec: string): Promise<'blob' | 'tree' | 'commit' | undefined> {
    const r = await this.run(repoId, ['cat-file', '-t', spec]);
    if (r.code !== 0) return undefined;
    const t = r.stdout.toString('utf8').trim();
    return t === 'blob' || t === 'tree' || t === 'commit' ? t : undefined;
  }

  async objectId(repoId: string, spec: string): Promise<string | undefined> {
    const r = await this.run(repoId, ['rev-parse', '--verify', '--quiet', spec]);
    return r.code === 0 ? r.stdout.toString('utf8').trim() : undefined;
  }

  async readBlob(repoId: string, commit: string, filePath: string): Promise<Buffer | undefined> {
    const spec = `${commit}:${filePath}`;
    if ((await this.objectType(repoId, spec)) !== 'blob') return undefined;
    const r = await this.run(repoId, ['cat-file', 'blob', spec]);
    return r.code === 0 ? r.stdout : undefined;
  }

  /** Tree entries under `dir` ('' = root): children only, or the whole subtree (trees included). */
  async listTree(repoId: string, commit: string, dir: string, recursive: boolean): Promise<TreeEntry[]> {
    const args = ['ls-tree', '-z', '--full-tree'];
    if (recursive) args.push('-r', '-t');
    args.push(commit);
    if (dir) args.push('--', `${dir}/`);
    const out = await this.git(repoId, args);
    // -t also lists the trees on the way to `dir`; keep what is below it.
    return out
      .split('\0')
      .filter(Boolean)
      .map((l) => {
        const tab = l.indexOf('\t');
        const [mode, type, objectId] = l.slice(0, tab).split(' ') as [string, TreeEntry['type'], string];
        return { mode, type, objectId, path: l.slice(tab + 1) };
      })
      .filter((e) => !dir || e.path.startsWith(`${dir}/`));
  }

  /** Every file of a commit: path -> mode and blob id. */
  async files(repoId: string, commit: string): Promise<Map<string, { mode: string; objectId: string }>> {
    const out = await this.git(repoId, ['ls-tree', '-r', '-z', '--full-tree', commit]);
    const m = new Map<string, { mode: string; objectId: string }>();
    for (const l of out.split('\0').filter(Boolean)) {
      const tab = l.indexOf('\t');
      const [mode, , objectId] = l.slice(0, tab).split(' ');
      m.set(l.slice(tab + 1), { mode: mode!, objectId: objectId! });
    }
    return m;
  }

  async commit(repoId: string, sha: string): Promise<CommitInfo | undefined> {
    const r = await this.run(repoId, ['cat-file', 'commit', sha]);
    if (r.code !== 0) return undefined;
    const text = r.stdout.toString('utf8');
    const split = text.indexOf('\n\n');
    const header = split >= 0 ? text.slice(0, split) : text;
    const message = split >= 0 ? text.slice(split + 2) : '';
    const commitId = /^[0-9a-f]{40}$/.test(sha) ? sha : ((await this.objectId(repoId, `${sha}^{commit}`)) ?? sha);
    const info: CommitInfo = {
      commitId,
      treeId: '',
      parents: [],
      author: parsePerson(''),
      committer: parsePerson(''),
      message,
    };
    for (const line of header.split('\n')) {
      const sp = line.indexOf(' ');
      const key = line.slice(0, sp);
      const val = line.slice(sp + 1);
      if (key === 'tree') info.treeId = val;
      else if (key === 'parent') info.parents.push(val);
      else if (key === 'author') info.author = parsePerson(val);
      else if (key === 'committer') info.committer = parsePerson(val);
    }
    return info;
  }

  /** History from `rev` (newest first), optionally touching `filePath`. */
  async log(
    repoId: string,
    rev: string,
    opts: { path?: string; top?: number; skip?: number } = {},
  ): Promise<CommitInfo[]> {
    const args = [
      'log',
      '-z',
      '--format=%H%x1f%T%x1f%P%x1f%an%x1f%ae%x1f%at%x1f%cn%x1f%ce%x1f%ct%x1f%B',
      `--max-count=${opts.top ?? 100}`,
    ];
    if (opts.skip) args.push(`--skip=${opts.skip}`);
    args.push(rev);
    if (opts.path) args.push('--', opts.path);
    return (await this.git(repoId, args))
      .split('\0')
      .filter(Boolean)
      .map((rec) => {
        const [commitId, treeId, parents, an, ae, at, cn, ce, ct, message] = rec.split('\x1f') as string[];
        return {
          commitId: commitId!,
          treeId: treeId!,
          parents: parents ? parents.split(' ') : [],
          author: { name: an!, email: ae!, time: Number(at) },
          committer: { name: cn!, email: ce!, time: Number(ct) },
          message: message ?? '',
        };
      });
  }

  async isAncestor(repoId: string, ancestor: string, descendant: string): Promise<boolean> {
    return (await this.run(repoId, ['merge-base', '--is-ancestor', ancestor, descendant])).code === 0;
  }

  /**
   * Writes one commit on top of `parent` (a root commit when absent) with fast-import and returns
   * its id; no ref is moved (the caller does that with compare-and-swap).
   */
  async writeCommit(
    repoId: string,
    c: { parent?: string; message: string; author: GitPerson; committer?: GitPerson; ops: TreeOp[] },
  ): Promise<CommitInfo> {
    const tmpRef = `refs/emulator/tmp/${process.pid}-${++this.tmp}`;
    const parts: Buffer[] = [];
    const text = (s: string): void => {
      parts.push(Buffer.from(s, 'utf8'));
    };
    const msg = Buffer.from(c.message.endsWith('\n') ? c.message : `${c.message}\n`, 'utf8');
    text(`commit ${tmpRef}\nmark :1\n`);
    text(personLine('author', c.author));
    text(personLine('committer', c.committer ?? c.author));
    text(`data ${msg.length}\n`);
    parts.push(msg);
    text('\n');
    if (c.parent) text(`from ${c.parent}\n`);
    for (const op of c.ops) {
      if (op.op === 'put') {
        text(`M ${op.mode ?? '100644'} inline ${quote(op.path)}\ndata ${op.content.length}\n`);
        parts.push(op.content);
        text('\n');
      } else if (op.op === 'delete') text(`D ${quote(op.path)}\n`);
      else text(`R ${quote(op.from)} ${quote(op.to)}\n`);
    }
    text('\n');
    const marks = path.join(this.dir(repoId), `emulator-marks-${this.tmp}`);
    try {
      await this.git(
        repoId,
        ['fast-import', '--quiet', '--date-format=raw', `--export-marks=${marks}`],
        Buffer.concat(parts),
      );
      const commitId = /^:1 ([0-9a-f]{40})$/m.exec(fs.readFileSync(marks, 'utf8'))?.[1];
      if (!commitId) throw new Error(`git fast-import wrote no commit for ${repoId}`);
      await this.git(repoId, ['update-ref', '-d', tmpRef]);
      return (await this.commit(repoId, commitId))!;
    } finally {
      fs.rmSync(marks, { force: true });
    }
  }

  /**
   * Moves a ref only if it still points at `oldId` (ZERO_ID: only if it does not exist yet);
   * `newId` ZERO_ID deletes it. False when the ref moved meanwhile.
   */
  async updateRef(repoId: string, ref: string, newId: string, oldId: string): Promise<boolean> {
    const args = newId === ZERO_ID ? ['update-ref', '-d', ref, oldId] : ['update-ref', ref, newId, oldId];
    return (await this.run(repoId, args)).code === 0;
  }

  /** Three-way merge of two commits into a tree (git merge-tree --write-tree). */
  async mergeTree(repoId: string, ours: string, theirs: string): Promise<{ treeId: string } | { conflicts: string[] }> {
    const r = await this.run(repoId, ['merge-tree', '--write-tree', '--name-only', '-z', ours, theirs]);
    const parts = r.stdout.toString('utf8').split('\0').filter(Boolean);
    if (r.code === 0) return { treeId: parts[0]!.trim() };
    if (r.code === 1) return { conflicts: parts.slice(1).filter((p) => !p.includes('\n')) };
    throw new GitError(['merge-tree'], r.code, r.stderr);
  }

  async commitTree(
    repoId: string,
    treeId: string,
    parents: string[],
    message: string,
    who: GitPerson,
  ): Promise<string> {
    const args = ['commit-tree', treeId];
    for (const p of parents) args.push('-p', p);
    const r = await new Promise<string>((resolve, reject) => {
      const child = spawn('git', [`--git-dir=${this.dir(repoId)}`, ...args], {
        env: {
          ...process.env,
          GIT_CONFIG_GLOBAL: '/dev/null',
          GIT_CONFIG_NOSYSTEM: '1',
          GIT_AUTHOR_NAME: who.name,
          GIT_AUTHOR_EMAIL: who.email,
          GIT_AUTHOR_DATE: `${who.time} +0000`,
          GIT_COMMITTER_NAME: who.name,
          GIT_COMMITTER_EMAIL: who.email,
          GIT_COMMITTER_DATE: `${who.time} +0000`,
        },
      });
      let out = '';
      let err = '';
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString('utf8');
      });
      child.stderr.on('data', (c: Buffer) => {
        err += c.toString('utf8');
      });
      child.on('error', reject);
      child.on('close', (code) => (code === 0 ? resolve(out.trim()) : reject(new GitError(args, code ?? -1, err))));
      child.stdin.end(message.endsWith('\n') ? message : `${message}\n`);
    });
    return r;
  }

  now(): number {
    return this.clock.nowSeconds();
  }
}
