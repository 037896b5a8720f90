/**
 * Runs Debian's azure-cli (`az`, a client nobody here wrote) against the emulated cloud, unmodified:
 * a temporary AZURE_CONFIG_DIR with a custom cloud registered from the emulator's ARM endpoint
 * (`az cloud register --endpoint-resource-manager`, which reads `{arm}/metadata/endpoints`), the
 * test CA in REQUESTS_CA_BUNDLE, and an HTTPS proxy that answers only for
 * login.microsoftonline.com (MSAL's instance discovery, which it asks of that host for an authority
 * it does not know) by tunnelling to the emulated Entra with a certificate of the test CA. Every
 * other request goes straight to the emulators (NO_PROXY=127.0.0.1).
 */
import { execFile } from 'node:child_process';
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
  const run = (args: string[]) =>
    new Promise<AzResult>((resolve) => {
      execFile('az', args, { env, timeout: 120_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr, json: <T>() => JSON.parse(stdout) as T });
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
