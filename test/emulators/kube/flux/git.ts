/**
 * Git transport of the simulated Flux controllers, with the system `git` against the Azure DevOps
 * emulator's smart HTTP (never blocking the event loop: that server runs in this process).
 *
 * The cluster "resolves" Azure DevOps host names to the emulator: `https://dev.azure.com/{org}/…`,
 * `https://{org}.visualstudio.com/…` and the emulator's own URL all reach it; anything else is
 * unreachable, as from a cluster without Internet access.
 *
 * SSH shortcut: the emulator has no SSH server. An `ssh://git@ssh.dev.azure.com/v3/{org}/{project}/{repo}`
 * (or scp-like `git@ssh.dev.azure.com:v3/…`, `{org}@vs-ssh.visualstudio.com:v3/…`) remote with a
 * Secret holding `identity` is authorized when the cluster state says the bootstrap deploy key is
 * registered, and is then read through smart HTTP with the build identity's token.
 *
 * Errors read like go-git's: the first request (`info/refs`) decides, and its status maps to
 * "authentication required" (401), "authorization failed" (403), "repository not found" (404),
 * followed by the body Azure DevOps sent (its TF message).
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { CloudContext } from '../../core/context';
import { httpsRequest } from '../../core/context';

export interface Remote {
  /** URL of the repository on the emulator (smart HTTP). */
  httpUrl: string;
  /** The URL as written in the GitRepository. */
  url: string;
  transport: 'https' | 'ssh';
}

export class GitError extends Error {}

/** Maps a GitRepository URL to the emulator, or throws the network error a cluster would see. */
export function resolveRemote(ctx: CloudContext, url: string): Remote {
  const devops = ctx.urls.devops;
  const ssh =
    /^(?:ssh:\/\/)?[^@\s]+@(?:ssh\.dev\.azure\.com|vs-ssh\.visualstudio\.com)(?::22)?[:/]v3\/([^/]+)\/([^/]+)\/([^/]+?)(?:\.git)?\/?$/.exec(
      url,
    );
  if (ssh) return { url, transport: 'ssh', httpUrl: `${devops}/${ssh[1]}/${ssh[2]}/_git/${ssh[3]}` };
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new GitError(`failed to parse url '${url}'`);
  }
  if (u.protocol === 'http:') throw new GitError(`dial tcp ${u.host}:80: connect: connection refused`);
  const emu = new URL(devops);
  const parts = u.pathname.split('/').filter(Boolean);
  let org: string | undefined;
  let rest: string[];
  if (u.protocol === 'https:' && u.host === emu.host) {
    org = parts[0];
    rest = parts.slice(1);
  } else if (u.protocol === 'https:' && u.hostname === 'dev.azure.com') {
    org = parts[0];
    rest = parts.slice(1);
  } else if (u.protocol === 'https:' && u.hostname.endsWith('.visualstudio.com')) {
    org = u.hostname.split('.')[0];
    rest = parts;
    if (rest[0] === 'DefaultCollection') rest = rest.slice(1);
  } else if (u.protocol === 'https:') {
    throw new GitError(
      `Get "${u.origin}${u.pathname.replace(/\/$/, '')}/info/refs?service=git-upload-pack": dial tcp: lookup ${u.hostname} on 10.0.0.10:53: no such host`,
    );
  } else {
    throw new GitError(`unsupported scheme in url '${url}'`);
  }
  if (!org) throw new GitError(`repository not found: ${url}`);
  // URL.pathname is already percent-encoded (`Plattform%20%C3%96ps`): decode each segment before
  // encoding it again, or a name with spaces/non-ASCII is encoded twice and names no repository.
  const segment = (s: string) => {
    try {
      return encodeURIComponent(decodeURIComponent(s));
    } catch {
      return encodeURIComponent(s);
    }
  };
  return { url, transport: 'https', httpUrl: `${devops}/${org}/${rest.map(segment).join('/')}` };
}

export type Auth =
  { kind: 'none' } | { kind: 'bearer'; token: string } | { kind: 'basic'; username: string; password: string };

function authHeader(a: Auth): string | undefined {
  if (a.kind === 'bearer') return `Bearer ${a.token}`;
  if (a.kind === 'basic') return `Basic ${Buffer.from(`${a.username}:${a.password}`).toString('base64')}`;
  return undefined;
}

/** The message body of an error answer, as go-git keeps it (first 1024 bytes, Azure DevOps JSON reduced to its message). */
function reasonOf(body: Buffer): string {
  const text = body.subarray(0, 1024).toString('utf8').trim();
  try {
    const j = JSON.parse(body.toString('utf8')) as { message?: unknown };
    if (typeof j.message === 'string') return j.message;
  } catch {
    /* not JSON */
  }
  return text;
}

function transportError(status: number, body: Buffer): GitError {
  const reason = reasonOf(body);
  const tail = reason ? `: ${reason}` : '';
  if (status === 401) return new GitError(`authentication required${tail}`);
  if (status === 403) return new GitError(`authorization failed${tail}`);
  if (status === 404) return new GitError(`repository not found${tail}`);
  return new GitError(`unexpected client error: unexpected requesting "info/refs" status code: ${status}${tail}`);
}

/** Reads the refs a smart-HTTP server advertises (protocol v0/v1). */
function parseAdvertisement(body: Buffer): Map<string, string> {
  const refs = new Map<string, string>();
  let i = 0;
  while (i + 4 <= body.length) {
    const len = parseInt(body.subarray(i, i + 4).toString('ascii'), 16);
    if (Number.isNaN(len)) break;
    if (len === 0) {
      i += 4;
      continue;
    }
    const line = body
      .subarray(i + 4, i + len)
      .toString('utf8')
      .replace(/\n$/, '');
    i += len;
    if (line.startsWith('#')) continue;
    const [refPart] = line.split('\0');
    const m = /^([0-9a-f]{40}) (.+)$/.exec(refPart ?? '');
    if (m) refs.set(m[2]!, m[1]!);
  }
  return refs;
}

/** The first request of every fetch / push; returns the advertised refs or throws the go-git-like error. */
export async function advertisedRefs(
  ctx: CloudContext,
  remote: Remote,
  auth: Auth,
  service: 'git-upload-pack' | 'git-receive-pack',
): Promise<Map<string, string>> {
  const headers: Record<string, string> = { 'user-agent': 'git/2.0 (flux)' };
  const h = authHeader(auth);
  if (h) headers.authorization = h;
  let res;
  try {
    res = await httpsRequest(ctx.ca, `${remote.httpUrl}/info/refs?service=${service}`, { headers });
  } catch (e) {
    throw new GitError(
      `Get "${remote.httpUrl}/info/refs?service=${service}": ${e instanceof Error ? e.message : String(e)}`,
    );
  }
  if (res.status !== 200) throw transportError(res.status, res.body);
  return parseAdvertisement(res.body);
}

export interface GitRun {
  stdout: string;
  stderr: string;
}

/** Runs the system git asynchronously; the auth header travels in the environment, never on the command line. */
export function git(
  ctx: CloudContext,
  args: string[],
  o: { cwd?: string; auth?: Auth; env?: Record<string, string> } = {},
): Promise<GitRun> {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: ctx.workDir,
    GIT_TERMINAL_PROMPT: '0',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_SSL_CAINFO: ctx.ca.caCertPath,
    ...(o.env ?? {}),
  };
  const h = o.auth ? authHeader(o.auth) : undefined;
  if (h) {
    env.GIT_CONFIG_COUNT = '1';
    env.GIT_CONFIG_KEY_0 = 'http.extraHeader';
    env.GIT_CONFIG_VALUE_0 = `Authorization: ${h}`;
  }
  return new Promise((resolve, reject) => {
    execFile('git', args, { cwd: o.cwd, env, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new GitError(String(stderr || err.message).trim()));
      else resolve({ stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

/** A per-cluster bare repository holding everything the controllers fetched (the source-controller's storage). */
export class GitCache {
  constructor(
    private readonly ctx: CloudContext,
    readonly dir: string,
  ) {}

  private async ensure(): Promise<void> {
    if (fs.existsSync(path.join(this.dir, 'HEAD'))) return;
    fs.mkdirSync(this.dir, { recursive: true });
    await git(this.ctx, ['init', '--quiet', '--bare', this.dir]);
  }

  async has(sha: string): Promise<boolean> {
    await this.ensure();
    try {
      await git(this.ctx, ['--git-dir', this.dir, 'cat-file', '-e', `${sha}^{commit}`]);
      return true;
    } catch {
      return false;
    }
  }

  /** Fetches `branch` from the remote into a private ref; returns the commit. */
  async fetch(remote: Remote, auth: Auth, branch: string, refName: string): Promise<string> {
    await this.ensure();
    try {
      await git(
        this.ctx,
        ['--git-dir', this.dir, 'fetch', '--quiet', '--no-tags', remote.httpUrl, `+refs/heads/${branch}:${refName}`],
        { auth },
      );
    } catch (e) {
      throw new GitError(
        e instanceof Error
          ? e.message
              .split('\n')
              .filter((l) => !l.startsWith('remote:'))
              .join('\n') || e.message
          : String(e),
      );
    }
    return (await git(this.ctx, ['--git-dir', this.dir, 'rev-parse', refName])).stdout.trim();
  }

  /** The commit's tree as a tar archive. */
  async archive(sha: string): Promise<Buffer> {
    await this.ensure();
    return new Promise((resolve, reject) => {
      execFile(
        'git',
        ['--git-dir', this.dir, 'archive', '--format=tar', sha],
        {
          encoding: 'buffer',
          maxBuffer: 256 * 1024 * 1024,
          env: { PATH: process.env.PATH ?? '', HOME: this.ctx.workDir },
        },
        (err, stdout) => {
          if (err) reject(new GitError(err.message));
          else resolve(stdout);
        },
      );
    });
  }

  /** Extracts the commit's tree into `dir`. */
  async checkout(sha: string, dir: string): Promise<void> {
    fs.mkdirSync(dir, { recursive: true });
    const tar = await this.archive(sha);
    await new Promise<void>((resolve, reject) => {
      const p = execFile('tar', ['-x', '-C', dir], (err) => (err ? reject(err) : resolve()));
      p.stdin!.end(tar);
    });
  }

  async commitMessage(sha: string): Promise<string> {
    return (await git(this.ctx, ['--git-dir', this.dir, 'log', '-1', '--format=%s', sha])).stdout.trim();
  }
}
