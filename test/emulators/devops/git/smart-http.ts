/**
 * Git smart HTTP (`{org}/{project}/_git/{repo}/info/refs`, `git-upload-pack`, `git-receive-pack`)
 * through the system's `git http-backend` CGI, behind the same authentication (Bearer, or Basic
 * with the token as password) and permissions as the REST API: Read to fetch; Contribute,
 * CreateBranch / CreateTag or ForcePush (deletes, non-fast-forward updates) per pushed ref.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import type { ServerResponse } from 'node:http';
import type { EmuRequest } from '../../core/host';
import { canUseRepos, type Caller } from '../auth';
import { requiredPolicies } from '../policy';
import { TF } from '../errors';
import { GIT_BITS } from '../security';
import { findProject, type DevOpsService, type GitHttpHandler } from '../service';
import type { RouteResult } from '../http';
import { repoPermitted, type RepoRef } from './common';
import { ZERO_ID } from './store';

function text(res: ServerResponse, status: number, body: string): RouteResult {
  const buf = Buffer.from(`${body}\n`, 'utf8');
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': String(buf.length) });
  res.end(buf);
  return { raw: true, status, write: false };
}

function findRepoForHttp(svc: DevOpsService, projectKey: string | undefined, repoKey: string): RepoRef | undefined {
  const state = svc.state;
  const name = repoKey.replace(/\.git$/i, '').toLowerCase();
  const byName = (p: (typeof state.projects)[number]): RepoRef | undefined => {
    const repo = p.repositories.find((r) => r.name.toLowerCase() === name || r.id.toLowerCase() === name);
    return repo ? { project: p, repo } : undefined;
  };
  if (projectKey !== undefined) {
    const p = findProject(state, projectKey);
    return p ? byName(p) : undefined;
  }
  // `{org}/_git/{repo}`: the repository named like its project, else a unique name.
  const same = state.projects.find((p) => p.name.toLowerCase() === name);
  const hit = same ? byName(same) : undefined;
  if (hit) return hit;
  const all = state.projects.map(byName).filter((x): x is RepoRef => !!x);
  return all.length === 1 ? all[0] : undefined;
}

interface PushCommand {
  oldId: string;
  newId: string;
  ref: string;
}

/** The ref update commands at the start of a receive-pack request (pkt-lines up to the flush). */
export function receivePackCommands(body: Buffer): PushCommand[] {
  const out: PushCommand[] = [];
  let off = 0;
  while (off + 4 <= body.length) {
    const len = parseInt(body.subarray(off, off + 4).toString('ascii'), 16);
    if (!Number.isFinite(len) || len === 0) break;
    if (len < 4) break;
    const line = body.subarray(off + 4, off + len).toString('utf8');
    off += len;
    const cmd = line.split('\0')[0]!.replace(/\n$/, '');
    const m = /^([0-9a-f]{40}) ([0-9a-f]{40}) (\S+)$/.exec(cmd);
    if (m) out.push({ oldId: m[1]!, newId: m[2]!, ref: m[3]! });
  }
  return out;
}

function pkt(data: Buffer | string): Buffer {
  const b = Buffer.isBuffer(data) ? data : Buffer.from(data, 'utf8');
  return Buffer.concat([Buffer.from((b.length + 4).toString(16).padStart(4, '0'), 'ascii'), b]);
}

/**
 * Refuses every ref of a push inside the receive-pack protocol, as the service does: the client
 * prints `remote: TF401027: …` and `! [remote rejected] … (TF401027: …)`.
 */
function rejectPush(res: ServerResponse, body: Buffer, cmds: PushCommand[], message: string): RouteResult {
  const firstLen = parseInt(body.subarray(0, 4).toString('ascii'), 16) || 4;
  const firstLine = body.subarray(4, firstLen).toString('utf8');
  const caps = firstLine.split('\0')[1] ?? '';
  const report = Buffer.concat([
    pkt('unpack ok\n'),
    ...cmds.map((c) => pkt(`ng ${c.ref} ${message}\n`)),
    Buffer.from('0000'),
  ]);
  let payload = report;
  if (/\bside-band(-64k)?\b/.test(caps)) {
    payload = Buffer.concat([
      pkt(Buffer.concat([Buffer.from([2]), Buffer.from(`${message}\n`, 'utf8')])),
      pkt(Buffer.concat([Buffer.from([1]), report])),
      Buffer.from('0000'),
    ]);
  }
  res.writeHead(200, {
    'content-type': 'application/x-git-receive-pack-result',
    'cache-control': 'no-cache',
    'content-length': String(payload.length),
  });
  res.end(payload);
  return { raw: true, status: 200, write: true };
}

/** Runs git on the repository with extra environment; resolves with the exit code. */
function git(args: string[], env: NodeJS.ProcessEnv, input?: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', args, { env: { ...process.env, ...env }, stdio: ['pipe', 'ignore', 'ignore'] });
    child.on('error', reject);
    child.on('close', (code) => resolve(code ?? 1));
    child.stdin.on('error', () => undefined);
    child.stdin.end(input);
  });
}

/**
 * Is `newId` a descendant of `oldId`? The pushed objects are not in the repository yet: the pack of
 * the request is indexed into a quarantine object directory (git's own receive-pack quarantine,
 * https://git-scm.com/docs/git-receive-pack#_quarantine_environment) that borrows the repository's
 * objects, and `git merge-base --is-ancestor` is asked there.
 */
async function fastForward(repoDir: string, body: Buffer, oldId: string, newId: string): Promise<boolean> {
  const packAt = body.indexOf('PACK');
  if (packAt < 0) return false;
  const quarantine = fs.mkdtempSync(path.join(os.tmpdir(), 'git-quarantine-'));
  try {
    fs.mkdirSync(path.join(quarantine, 'pack'));
    const env = {
      GIT_DIR: repoDir,
      GIT_OBJECT_DIRECTORY: quarantine,
      GIT_ALTERNATE_OBJECT_DIRECTORIES: path.join(repoDir, 'objects'),
      GIT_CONFIG_GLOBAL: '/dev/null',
      GIT_CONFIG_NOSYSTEM: '1',
    };
    if ((await git(['index-pack', '--stdin', '--fix-thin'], env, body.subarray(packAt))) !== 0) return false;
    return (await git(['merge-base', '--is-ancestor', oldId, newId], env)) === 0;
  } finally {
    fs.rmSync(quarantine, { recursive: true, force: true });
  }
}

/**
 * The Git permission a push lacks (https://learn.microsoft.com/azure/devops/repos/git/set-git-repository-permissions):
 * Contribute for any push, Create branch / Create tag for a new ref, Force push to rewrite history
 * (a non-fast-forward update) or to delete a ref the caller did not create.
 */
async function missingPermission(
  svc: DevOpsService,
  caller: Caller,
  ref: RepoRef,
  cmds: PushCommand[],
  body: Buffer,
): Promise<string | undefined> {
  const has = (bit: number): boolean => repoPermitted(svc.state, caller, ref, bit);
  if (!has(GIT_BITS.contribute)) return 'GenericContribute';
  for (const c of cmds) {
    const tag = c.ref.startsWith('refs/tags/');
    if (c.oldId === ZERO_ID && !has(tag ? GIT_BITS.createTag : GIT_BITS.createBranch))
      return tag ? 'CreateTag' : 'CreateBranch';
    if (has(GIT_BITS.forcePush)) continue;
    if (c.newId === ZERO_ID && svc.repos.creatorOf(ref.repo.id, c.ref) !== caller.identity.id) return 'ForcePush';
    if (c.oldId !== ZERO_ID && c.newId !== ZERO_ID) {
      const repoDir = path.join(svc.git.root, `${ref.repo.id.toLowerCase()}.git`);
      if (!(await fastForward(repoDir, body, c.oldId, c.newId))) return 'ForcePush';
    }
  }
  return undefined;
}

function runBackend(
  svc: DevOpsService,
  req: EmuRequest,
  pathInfo: string,
  caller: Caller,
): Promise<{ status: number; headers: Record<string, string>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      GIT_CONFIG_GLOBAL: '/dev/null',
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_PROJECT_ROOT: svc.git.root,
      GIT_HTTP_EXPORT_ALL: '1',
      PATH_INFO: pathInfo,
      REQUEST_METHOD: req.method,
      QUERY_STRING: req.url.search.replace(/^\?/, ''),
      CONTENT_TYPE: String(req.headers['content-type'] ?? ''),
      REMOTE_USER: caller.identity.uniqueName,
      REMOTE_ADDR: '127.0.0.1',
    };
    if (req.method === 'POST') env.CONTENT_LENGTH = String(req.body.length);
    if (req.headers['git-protocol']) env.GIT_PROTOCOL = String(req.headers['git-protocol']);
    if (req.headers['content-encoding']) env.HTTP_CONTENT_ENCODING = String(req.headers['content-encoding']);
    const child = spawn('git', ['http-backend'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => {
      err += c.toString('utf8');
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const all = Buffer.concat(out);
      let split = all.indexOf('\r\n\r\n');
      let sepLen = 4;
      if (split < 0) {
        split = all.indexOf('\n\n');
        sepLen = 2;
      }
      if (split < 0) {
        reject(new Error(`git http-backend exited ${code} without headers: ${err.trim()}`));
        return;
      }
      const headers: Record<string, string> = {};
      let status = 200;
      for (const line of all.subarray(0, split).toString('utf8').split(/\r?\n/)) {
        const i = line.indexOf(':');
        if (i < 0) continue;
        const k = line.slice(0, i).trim();
        const v = line.slice(i + 1).trim();
        if (k.toLowerCase() === 'status') status = Number(v.split(' ')[0]) || 200;
        else headers[k.toLowerCase()] = v;
      }
      resolve({ status, headers, body: all.subarray(split + sepLen) });
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(req.method === 'POST' ? req.body : undefined);
  });
}

export const gitSmartHttp: GitHttpHandler = async (svc, req, res, rest) => {
  const gi = rest.findIndex((x) => x.toLowerCase() === '_git');
  const projectKey = gi === 1 ? rest[0] : undefined;
  const repoKey = rest[gi + 1] ?? '';
  const tail = rest.slice(gi + 2).join('/');
  const hostUrl = svc.cloud.urls.devops;
  const orgUrl = `${hostUrl}/${svc.state.organization.name}`;
  const caller = svc.auth.authenticate(req, orgUrl, hostUrl)!;
  const ref = findRepoForHttp(svc, projectKey, repoKey);
  if (!ref || !canUseRepos(caller) || !repoPermitted(svc.state, caller, ref, GIT_BITS.read)) {
    return text(res, 404, TF.repoNotFound(repoKey.replace(/\.git$/i, '')));
  }
  await svc.repos.ensure(ref.repo);
  const service = req.url.searchParams.get('service');
  const isReceive = tail === 'git-receive-pack' || (tail === 'info/refs' && service === 'git-receive-pack');
  const allowed =
    (req.method === 'GET' &&
      tail === 'info/refs' &&
      (service === 'git-upload-pack' || service === 'git-receive-pack')) ||
    (req.method === 'POST' && (tail === 'git-upload-pack' || tail === 'git-receive-pack'));
  if (!allowed)
    return text(
      res,
      404,
      `Only smart HTTP (info/refs?service=…, git-upload-pack, git-receive-pack) is served; got ${req.method} ${tail || '/'}.`,
    );

  let cmds: PushCommand[] = [];
  if (isReceive && req.method === 'POST') {
    const raw =
      String(req.headers['content-encoding'] ?? '').toLowerCase() === 'gzip' ? zlib.gunzipSync(req.body) : req.body;
    cmds = receivePackCommands(raw);
    const missing = await missingPermission(svc, caller, ref, cmds, raw);
    if (missing) return rejectPush(res, raw, cmds, TF.needsPermission(missing, caller.identity.displayName));
    // A branch with required policies takes changes only through pull requests (policy.ts).
    if (cmds.some((c) => c.oldId !== ZERO_ID && requiredPolicies(ref.project, ref.repo.id, c.ref).length > 0))
      return rejectPush(res, raw, cmds, TF.branchPolicy());
  }
  const run = () => runBackend(svc, req, `/${ref.repo.id.toLowerCase()}.git/${tail}`, caller);
  const out = isReceive && req.method === 'POST' ? await svc.git.exclusive(ref.repo.id, run) : await run();
  if (isReceive && req.method === 'POST') {
    for (const c of cmds) {
      if (c.oldId === ZERO_ID && (await svc.git.refTip(ref.repo.id, c.ref)) === c.newId)
        svc.repos.setCreator(ref.repo.id, c.ref, caller.identity.id);
    }
  }
  res.writeHead(out.status, { ...out.headers, 'content-length': String(out.body.length) });
  res.end(out.body);
  return { raw: true, status: out.status, write: isReceive && req.method === 'POST' };
};
