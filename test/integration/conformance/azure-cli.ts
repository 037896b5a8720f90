/**
 * Runs Debian's azure-cli (`az`, a client nobody here wrote) against the emulated cloud, unmodified:
 * a temporary AZURE_CONFIG_DIR with a custom cloud registered from the emulator's ARM endpoint
 * (`az cloud register --endpoint-resource-manager`, which reads `{arm}/metadata/endpoints`), the
 * test CA in REQUESTS_CA_BUNDLE, and an HTTPS proxy that answers only for
 * login.microsoftonline.com (MSAL's instance discovery, which it asks of that host for an authority
 * it does not know) by tunnelling to the emulated Entra with a certificate of the test CA. Every
 * other request goes straight to the emulators (NO_PROXY=127.0.0.1).
 */
import { execFile, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tls from 'node:tls';
import type { Cloud } from '../../emulators/cloud';
import { issueServerCertificate } from '../../emulators/core/tls';

export const LOGIN_HOST = 'login.microsoftonline.com';

/** The az executable on PATH, or the reason it is missing (a PATH lookup: running az costs seconds). */
export function findAz(): { az?: string; reason?: string } {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter).filter(Boolean)) {
    const candidate = path.join(dir, 'az');
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return { az: candidate };
    } catch {
      /* not in this directory */
    }
  }
  return { reason: 'the Azure CLI (az) is not on PATH; install it with: apt-get install -y azure-cli' };
}

export interface LoginProxy {
  url: string;
  /** CONNECT targets seen (host:port), so a test can show what was intercepted. */
  connects: string[];
  close(): Promise<void>;
}

/** An HTTP CONNECT proxy that tunnels login.microsoftonline.com:443 to the emulated Entra and refuses anything else. */
export async function startLoginProxy(cloud: Cloud): Promise<LoginProxy> {
  const cert = issueServerCertificate(cloud.ctx.ca, [LOGIN_HOST]);
  const entra = new URL(cloud.ctx.urls.entra);
  const connects: string[] = [];
  const server = http.createServer((_req, res) => {
    res.writeHead(405).end();
  });
  server.on('connect', (req: http.IncomingMessage, socket: import('node:net').Socket) => {
    const target = req.url ?? '';
    connects.push(target);
    if (target !== `${LOGIN_HOST}:443`) {
      socket.end('HTTP/1.1 403 Forbidden\r\n\r\n');
      return;
    }
    socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    const inbound = new tls.TLSSocket(socket, { isServer: true, cert: cert.cert, key: cert.key });
    const upstream = tls.connect({ host: entra.hostname, port: Number(entra.port), ca: cloud.ctx.ca.caCert });
    const drop = () => {
      inbound.destroy();
      upstream.destroy();
    };
    inbound.on('error', drop);
    upstream.on('error', drop);
    inbound.pipe(upstream).pipe(inbound);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    connects,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface AzResult {
  code: number;
  stdout: string;
  stderr: string;
  json<T>(): T;
}

export interface AzSession {
  run(args: string[]): Promise<AzResult>;
  /** Runs and fails with az's own stderr unless it exits 0. */
  ok<T = unknown>(args: string[]): Promise<T>;
  configDir: string;
  close(): Promise<void>;
}

function azResult(code: number, stdout: string, stderr: string): AzResult {
  return { code, stdout, stderr, json: <T>() => JSON.parse(stdout) as T };
}

/** The Python that runs `az` (its #! line), when az is the Python script Debian's package installs. */
function azPython(): string | undefined {
  const az = findAz().az;
  if (!az) return undefined;
  const head = fs.readFileSync(az).subarray(0, 200).toString('utf8').split('\n')[0];
  return /^#!\s*(\/\S*python3?[\d.]*)\s*$/.exec(head)?.[1];
}

/**
 * The az commands of a session, run one after another by one Python process (az-batch.py: the CLI's
 * own entry point, a new CLI object per command), so each command costs its work and not a Python
 * start and the CLI's imports (seconds each). Undefined when az is not Debian's Python script: then
 * each command runs `az` (FLUX_OIDC_AZ_BATCH=0 forces that).
 */
function startBatch(
  env: NodeJS.ProcessEnv,
): { run(args: string[]): Promise<AzResult>; close(): Promise<void> } | undefined {
  const python = process.env.FLUX_OIDC_AZ_BATCH === '0' ? undefined : azPython();
  if (!python) return undefined;
  const child = spawn(python, [path.join(import.meta.dirname, 'az-batch.py')], {
    env,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => {
    stderr += c.toString('utf8');
  });
  const waiting: ((line: string | undefined) => void)[] = [];
  let pending = '';
  child.stdout.on('data', (c: Buffer) => {
    pending += c.toString('utf8');
    for (let i = pending.indexOf('\n'); i >= 0; i = pending.indexOf('\n')) {
      const line = pending.slice(0, i);
      pending = pending.slice(i + 1);
      waiting.shift()?.(line);
    }
  });
  const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
  void exited.then(() => waiting.splice(0).forEach((w) => w(undefined)));
  let queue = Promise.resolve();
  const one = async (args: string[]): Promise<AzResult> => {
    let timer: NodeJS.Timeout | undefined;
    const line = await new Promise<string | undefined>((resolve) => {
      waiting.push(resolve);
      child.stdin.write(`${JSON.stringify(args)}\n`);
      // As execFile's timeout: a command that hangs ends the session instead of the test run.
      timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    }).finally(() => clearTimeout(timer));
    if (line === undefined) return azResult(1, '', `az-batch.py exited: ${stderr}`);
    const r = JSON.parse(line) as { code: number; stdout: string; stderr: string };
    return azResult(r.code, r.stdout, r.stderr);
  };
  return {
    run: (args) => {
      const r = queue.then(() => one(args));
      queue = r.then(
        () => undefined,
        () => undefined,
      );
      return r;
    },
    close: async () => {
      child.stdin.end();
      await exited;
    },
  };
}

/** A fresh az configuration pointed at the emulated cloud (registered and selected as `Emulated`). */
export async function startAz(cloud: Cloud): Promise<AzSession> {
  const proxy = await startLoginProxy(cloud);
  const configDir = fs.mkdtempSync(path.join(os.tmpdir(), 'az-config-'));
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: configDir,
    AZURE_CONFIG_DIR: configDir,
    REQUESTS_CA_BUNDLE: cloud.ctx.ca.caCertPath,
    HTTPS_PROXY: proxy.url,
    NO_PROXY: '127.0.0.1,localhost',
    AZURE_CORE_COLLECT_TELEMETRY: 'false',
    AZURE_CORE_SURVEY_MESSAGE: 'false',
    AZURE_CORE_NO_COLOR: 'true',
    AZURE_CORE_ONLY_SHOW_ERRORS: 'true',
    AZURE_EXTENSION_USE_DYNAMIC_INSTALL: 'no',
    // The active cloud (knack reads config `[cloud] name` from AZURE_CLOUD_NAME): saves an `az cloud set`.
    AZURE_CLOUD_NAME: 'Emulated',
  };
  const batch = startBatch(env);
  const run = (args: string[]) =>
    batch
      ? batch.run(args)
      : new Promise<AzResult>((resolve) => {
          execFile('az', args, { env, timeout: 120_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
            const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
            resolve(azResult(code, stdout, stderr));
          });
        });
  const ok = async <T>(args: string[]): Promise<T> => {
    const r = await run([...args, '--output', 'json']);
    if (r.code !== 0) throw new Error(`az ${args.join(' ')} exited ${r.code}:\n${r.stderr}`);
    return (r.stdout.trim() ? r.json<T>() : undefined) as T;
  };
  const session: AzSession = {
    run,
    ok,
    configDir,
    close: async () => {
      await batch?.close();
      await proxy.close();
      fs.rmSync(configDir, { recursive: true, force: true });
    },
  };
  try {
    // Only the ARM endpoint: az reads the rest from {arm}/metadata/endpoints (it appends the path to
    // the value as given, so no trailing slash).
    await ok(['cloud', 'register', '--name', 'Emulated', '--endpoint-resource-manager', cloud.ctx.urls.arm]);
  } catch (e) {
    await session.close();
    throw e;
  }
  return session;
}
