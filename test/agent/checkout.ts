/**
 * `checkout: self` as the agent does it on Linux: init, fetch the build's branch over HTTPS with the
 * job's access token passed as an `http.extraheader` on the command line (never written to
 * .git/config unless persistCredentials), then a detached checkout of the fetched commit. Tasks
 * therefore see what they see on a real agent: a detached HEAD at Build.SourceVersion.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import { SecretMasker } from './vso';

export interface CheckoutOptions {
  repositoryUrl: string;
  /** refs/heads/<branch> */
  sourceBranch: string;
  accessToken: string;
  dir: string;
  caFile?: string;
  fetchDepth?: number;
  persistCredentials: boolean;
  /**
   * The agent's proxy (Agent.ProxyUrl) and bypass patterns (Agent.ProxyBypassList): as the agent's
   * git source provider does, the fetch gets `-c http.proxy=<url>` unless the repository URL
   * matches a bypass pattern.
   */
  proxy?: { url: string; bypass: string[] };
}

export interface CheckoutResult {
  ok: boolean;
  log: string;
  commit?: string;
  error?: string;
}

function git(args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile('git', args, { cwd, env, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err
        ? typeof (err as { code?: unknown }).code === 'number'
          ? (err as { code: number }).code
          : 1
        : 0;
      resolve({ code, out: `${stdout}${stderr}`.trimEnd() });
    });
  });
}

function proxyConfig(opts: CheckoutOptions): string[] {
  if (!opts.proxy?.url) return [];
  const bypassed = opts.proxy.bypass.some((p) => {
    try {
      return new RegExp(p, 'i').test(opts.repositoryUrl);
    } catch {
      return false;
    }
  });
  return bypassed ? [] : ['-c', `http.proxy=${opts.proxy.url}`];
}

export async function checkoutSelf(opts: CheckoutOptions): Promise<CheckoutResult> {
  const masker = new SecretMasker();
  masker.add(opts.accessToken);
  const lines: string[] = [];
  const header = `AUTHORIZATION: bearer ${opts.accessToken}`;
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    GIT_TERMINAL_PROMPT: '0',
    GIT_CONFIG_NOSYSTEM: '1',
    ...(opts.caFile ? { GIT_SSL_CAINFO: opts.caFile } : {}),
  };
  fs.mkdirSync(opts.dir, { recursive: true });
  const branch = opts.sourceBranch.replace(/^refs\/heads\//, '');
  const depth = opts.fetchDepth && opts.fetchDepth > 0 ? [`--depth=${opts.fetchDepth}`] : [];
  const steps: string[][] = [
    ['init', '--quiet'],
    ['remote', 'add', 'origin', opts.repositoryUrl],
    [
      ...proxyConfig(opts),
      '-c',
      `http.extraheader=${header}`,
      'fetch',
      '--force',
      '--tags',
      '--prune',
      '--no-recurse-submodules',
      ...depth,
      'origin',
      `+refs/heads/${branch}:refs/remotes/origin/${branch}`,
    ],
    ['checkout', '--quiet', '--force', `refs/remotes/origin/${branch}`],
  ];
  if (opts.persistCredentials) steps.push(['config', 'http.extraheader', header]);
  for (const args of steps) {
    lines.push(masker.mask(`##[command]git ${args.join(' ')}`));
    const { code, out } = await git(args, opts.dir, env);
    if (out) lines.push(...masker.mask(out).split('\n'));
    if (code !== 0) {
      const error = `git ${args.find((a) => !a.startsWith('-') && !a.includes('=')) ?? ''} failed with exit code ${code}`;
      lines.push(`##[error]${error}`);
      return { ok: false, log: lines.join('\n'), error };
    }
  }
  const head = await git(['rev-parse', 'HEAD'], opts.dir, env);
  lines.push(`HEAD is now at ${head.out.slice(0, 8)} (detached, ${opts.sourceBranch})`);
  return { ok: true, log: lines.join('\n'), commit: head.out.trim() };
}
