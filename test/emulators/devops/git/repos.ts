/**
 * The repositories of the state on disk: created and seeded on first use (the seed commits get
 * fixed dates and author, so a scenario's commit ids are the same on every run), plus what git
 * itself does not keep: the push log and who created each ref.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DevOpsState, RepositoryState, SeedCommit } from '../model';
import { GitStore, ZERO_ID, type TreeOp } from './store';

/** Built-in seed folders (`folder: fleet` means `seed/fleet`). */
export const SEED_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'seed');

/** 2025-01-06T09:00:00Z: seed commits are dated from here, one minute apart. */
const SEED_EPOCH = 1736154000;
const SEED_AUTHOR = { name: 'Flux', email: 'flux@users.noreply.github.com' };

export interface PushRecord {
  pushId: number;
  repositoryId: string;
  date: string;
  pushedBy: string;
  refUpdates: { name: string; oldObjectId: string; newObjectId: string }[];
  commits: string[];
}

export function resolveSeedFolder(folder: string): string {
  if (path.isAbsolute(folder)) return folder;
  if (!folder.includes('/') && !folder.startsWith('.')) return path.join(SEED_DIR, folder);
  return path.resolve(folder);
}

function readFolder(dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const walk = (abs: string, rel: string): void => {
    for (const e of fs.readdirSync(abs, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      if (e.name === '.git') continue;
      const a = path.join(abs, e.name);
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(a, r);
      else if (e.isFile()) out.set(r, fs.readFileSync(a));
    }
  };
  walk(dir, '');
  return out;
}

export function seedOps(seed: SeedCommit): TreeOp[] {
  const ops: TreeOp[] = [];
  if (seed.folder) {
    const dir = resolveSeedFolder(seed.folder);
    if (!fs.existsSync(dir))
      throw new Error(
        `seed folder '${seed.folder}' (${dir}) does not exist; point devops.projects[].repositories[].seed[].folder at a folder of files`,
      );
    const include = seed.include?.map((x) => x.replace(/^\/+|\/+$/g, ''));
    for (const [p, content] of readFolder(dir)) {
      if (include && !include.some((x) => p === x || p.startsWith(`${x}/`))) continue;
      ops.push({ op: 'put', path: p, content });
    }
  }
  for (const [p, content] of Object.entries(seed.files ?? {}))
    ops.push({ op: 'put', path: p.replace(/^\/+/, ''), content: Buffer.from(content, 'utf8') });
  for (const p of seed.delete ?? []) ops.push({ op: 'delete', path: p.replace(/^\/+/, '') });
  return ops;
}

export class RepoRegistry {
  private readonly ready = new Map<string, Promise<void>>();
  readonly pushes = new Map<string, PushRecord[]>();
  private pushSeq = 0;
  /** `${repoId}|${ref}` -> storage key of the identity that created it. */
  private readonly creators = new Map<string, string>();

  constructor(
    readonly store: GitStore,
    private readonly state: () => DevOpsState,
  ) {}

  /** Creates and seeds the repository on disk the first time it is needed. */
  ensure(repo: RepositoryState): Promise<void> {
    const key = repo.id.toLowerCase();
    let p = this.ready.get(key);
    if (!p) {
      p = this.create(repo);
      this.ready.set(key, p);
      p.catch(() => this.ready.delete(key));
    }
    return p;
  }

  private async create(repo: RepositoryState): Promise<void> {
    const branch = repo.defaultBranch ?? 'main';
    if (this.store.exists(repo.id)) return;
    await this.store.init(repo.id, branch);
    if (repo.history) return this.restore(repo, branch);
    let parent: string | undefined;
    for (const [i, seed] of repo.seed.entries()) {
      const who = { ...SEED_AUTHOR, time: SEED_EPOCH + i * 60 };
      const c = await this.store.writeCommit(repo.id, {
        parent,
        message: seed.message,
        author: who,
        ops: seedOps(seed),
      });
      parent = c.commitId;
    }
    if (parent) await this.store.updateRef(repo.id, `refs/heads/${branch}`, parent, ZERO_ID);
    const owner = this.state().principals.find((p) => p.kind === 'user') ?? this.state().principals[0];
    if (owner && parent) this.creators.set(`${repo.id.toLowerCase()}|refs/heads/${branch}`, owner.id);
  }

  /** Restores every ref and commit from the state's bundle (what `bundle()` wrote). */
  private async restore(repo: RepositoryState, branch: string): Promise<void> {
    const file = path.join(this.store.root, `${repo.id.toLowerCase()}.bundle`);
    fs.writeFileSync(file, Buffer.from(repo.history!, 'base64'));
    try {
      const r = await this.store.run(repo.id, ['fetch', '--quiet', file, '+refs/*:refs/*']);
      if (r.code !== 0)
        throw new Error(
          `devops.projects[].repositories[${repo.name}].history: not a git bundle this emulator can restore (${r.stderr.trim()}); remove history to start from seed`,
        );
    } finally {
      fs.rmSync(file, { force: true });
    }
    await this.store.setHead(repo.id, branch);
  }

  /** Every ref and commit as a base64 git bundle; undefined when the repository is empty or not created. */
  bundle(repo: RepositoryState): string | undefined {
    if (!this.store.exists(repo.id)) return undefined;
    const file = path.join(this.store.root, `${repo.id.toLowerCase()}.bundle`);
    const r = spawnSync('git', [`--git-dir=${this.store.dir(repo.id)}`, 'bundle', 'create', '--quiet', file, '--all'], {
      env: { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1', LC_ALL: 'C' },
      encoding: 'utf8',
    });
    try {
      return r.status === 0 ? fs.readFileSync(file).toString('base64') : undefined;
    } finally {
      fs.rmSync(file, { force: true });
    }
  }

  creatorOf(repoId: string, ref: string): string | undefined {
    return this.creators.get(`${repoId.toLowerCase()}|${ref}`);
  }

  setCreator(repoId: string, ref: string, identityId: string): void {
    this.creators.set(`${repoId.toLowerCase()}|${ref}`, identityId);
  }

  recordPush(p: Omit<PushRecord, 'pushId'>): PushRecord {
    const rec = { ...p, pushId: ++this.pushSeq };
    const list = this.pushes.get(p.repositoryId.toLowerCase()) ?? [];
    list.push(rec);
    this.pushes.set(p.repositoryId.toLowerCase(), list);
    return rec;
  }

  pushesOf(repoId: string): PushRecord[] {
    return this.pushes.get(repoId.toLowerCase()) ?? [];
  }
}
