/**
 * One emulated host: an HTTPS server on 127.0.0.1 (a port of its own, like a real separate host),
 * request parsing, fault injection before the service sees the request, and the journal entry after.
 */
import * as https from 'node:https';
import * as tls from 'node:tls';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Clock } from './clock';
import type { Faults } from './faults';
import type { Journal } from './journal';
import type { TestCa } from './tls';

export interface EmuRequest {
  method: string;
  url: URL;
  path: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
  text(): string;
  /** Parses the body as JSON; throws HttpError 400 when it is not JSON. */
  json<T = unknown>(): T;
  form(): URLSearchParams;
  /** The bearer token of the Authorization header, if any. */
  bearer(): string | undefined;
  /** The TLS client certificate's subject, when one was presented and verified. */
  clientCert?: { commonName: string; organizations: string[] };
  raw: IncomingMessage;
}

export interface EmuResponse {
  status: number;
  headers?: Record<string, string | string[]>;
  /** Objects are sent as JSON; strings and Buffers as they are. */
  body?: unknown;
  /** Overrides the journal's write flag (default: any method other than GET/HEAD/OPTIONS writes). */
  write?: boolean;
}

/** A handler may also take over the raw response (streaming, e.g. git smart HTTP): return `{ raw: true }`. */
export type Handler = (
  req: EmuRequest,
  res: ServerResponse,
) => Promise<EmuResponse | { raw: true; status: number; write?: boolean } | undefined>;

/** Throw from a handler to answer with a status and body. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
    readonly headers: Record<string, string> = {},
  ) {
    super(typeof body === 'string' ? body : JSON.stringify(body));
  }
}

export interface HostOptions {
  name: string;
  ca: TestCa;
  handler: Handler;
  journal: Journal;
  faults: Faults;
  clock: Clock;
  /**
   * A second certificate, for the public names this host answers to through the cloud's edge
   * (core/edge.ts): served when the client's SNI names one of `names` (`*.` covers one label).
   */
  publicNames?: { names: readonly string[]; cert: string; key: string };
  /** Ask for (optional) TLS client certificates, verified against the CA (Kubernetes). */
  requestClientCert?: boolean;
  port?: number;
}

export interface Host {
  name: string;
  url: string;
  port: number;
  close(): Promise<void>;
}

const READS = new Set(['GET', 'HEAD', 'OPTIONS']);

function send(res: ServerResponse, r: EmuResponse): void {
  const headers: Record<string, string | string[]> = { ...(r.headers ?? {}) };
  let payload: Buffer | undefined;
  if (r.body === undefined || r.body === null) payload = undefined;
  else if (Buffer.isBuffer(r.body)) payload = r.body;
  else if (typeof r.body === 'string') payload = Buffer.from(r.body);
  else {
    payload = Buffer.from(JSON.stringify(r.body));
    if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type'))
      headers['content-type'] = 'application/json; charset=utf-8';
  }
  if (payload) headers['content-length'] = String(payload.length);
  res.writeHead(r.status, headers);
  res.end(payload);
}

export async function startHost(o: HostOptions): Promise<Host> {
  const server = hostServer(o);
  await new Promise<void>((resolve) => server.listen(o.port ?? 0, '127.0.0.1', resolve));
  return hostOf(o, server);
}

function hostOf(o: HostOptions, server: https.Server): Host {
  const port = (server.address() as AddressInfo).port;
  return {
    name: o.name,
    url: `https://127.0.0.1:${port}`,
    port,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The host name of a Host header when it is a name (not 127.0.0.1 / localhost), lower case, without the port. */
export function publicHostName(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const name = header.replace(/:\d+$/, '').toLowerCase();
  return name === '127.0.0.1' || name === 'localhost' || name.startsWith('[') ? undefined : name;
}

/** Whether a DNS name matches a certificate name (`*.` stands for exactly one label, RFC 6125 6.4.3). */
export function dnsNameMatches(pattern: string, name: string): boolean {
  const p = pattern.toLowerCase();
  const n = name.toLowerCase().replace(/\.$/, '');
  if (!p.startsWith('*.')) return p === n;
  const dot = n.indexOf('.');
  return dot > 0 && n.slice(dot + 1) === p.slice(2);
}

function sniCallback(ca: TestCa, pub: NonNullable<HostOptions['publicNames']>) {
  const own = tls.createSecureContext({ key: ca.serverKey, cert: ca.serverCert, ca: ca.caCert });
  const named = tls.createSecureContext({ key: pub.key, cert: pub.cert, ca: ca.caCert });
  return (servername: string, cb: (err: Error | null, ctx?: tls.SecureContext) => void): void =>
    cb(null, pub.names.some((p) => dnsNameMatches(p, servername)) ? named : own);
}

function hostServer(o: HostOptions): https.Server {
  const server = https.createServer(
    {
      key: o.ca.serverKey,
      cert: o.ca.serverCert,
      ca: o.ca.caCert,
      requestCert: o.requestClientCert ?? false,
      rejectUnauthorized: false,
      ...(o.publicNames ? { SNICallback: sniCallback(o.ca, o.publicNames) } : {}),
    },
    (raw, res) => void serve(raw, res),
  );

  async function serve(raw: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = Date.now();
    const chunks: Buffer[] = [];
    for await (const c of raw) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    const url = new URL(raw.url ?? '/', `https://127.0.0.1`);
    const method = (raw.method ?? 'GET').toUpperCase();
    const req: EmuRequest = {
      method,
      url,
      path: url.pathname,
      headers: raw.headers,
      body,
      raw,
      text: () => body.toString('utf8'),
      json: <T>() => {
        try {
          return JSON.parse(body.toString('utf8')) as T;
        } catch {
          throw new HttpError(400, { message: 'The request body is not valid JSON.' });
        }
      },
      form: () => new URLSearchParams(body.toString('utf8')),
      bearer: () => {
        const h = raw.headers.authorization;
        const m = /^bearer\s+(.+)$/i.exec(h ?? '');
        return m ? m[1]!.trim() : undefined;
      },
    };
    const sock = raw.socket as import('node:tls').TLSSocket;
    if (o.requestClientCert && sock.authorized) {
      const peer = sock.getPeerCertificate();
      if (peer && peer.subject) {
        const org = peer.subject.O;
        req.clientCert = {
          commonName: String(peer.subject.CN ?? ''),
          organizations: Array.isArray(org) ? org : org ? [org] : [],
        };
      }
    }
    const publicName = publicHostName(raw.headers.host);
    const record = (status: number, write: boolean, fault?: string) =>
      o.journal.record({
        ...(publicName ? { host: publicName } : {}),
        at: o.clock.now(),
        service: o.name,
        method,
        path: url.pathname,
        query: url.search.slice(1),
        status,
        write,
        fault,
        durationMs: Date.now() - started,
      });
    const defaultWrite = !READS.has(method);

    const fault = o.faults.match(o.name, method, url.pathname);
    if (fault) {
      if (fault.kind === 'reset') {
        record(0, defaultWrite, 'reset');
        raw.socket.destroy();
        return;
      }
      if (fault.kind === 'slow') await new Promise((r) => setTimeout(r, fault.delayMs ?? 1000));
      else {
        const status = fault.kind === 'status' ? (fault.status ?? 500) : Number(fault.kind);
        const code = fault.code ?? (status === 429 ? 'TooManyRequests' : 'InternalServerError');
        const message = fault.message ?? `Injected fault ${status}.`;
        const headers: Record<string, string> = {};
        if (fault.retryAfter !== undefined) headers['retry-after'] = String(fault.retryAfter);
        // ARM reads error.code/message; Azure DevOps clients read the top-level message.
        send(res, { status, headers, body: { error: { code, message }, message } });
        record(status, defaultWrite, fault.kind);
        return;
      }
    }
    try {
      const r = await o.handler(req, res);
      if (r === undefined) {
        send(res, { status: 404, body: { message: `No emulated route for ${method} ${url.pathname} on ${o.name}.` } });
        record(404, false);
      } else if ('raw' in r) {
        record(r.status, r.write ?? defaultWrite);
      } else {
        send(res, r);
        record(r.status, r.write ?? defaultWrite);
      }
    } catch (e) {
      if (e instanceof HttpError) {
        send(res, { status: e.status, headers: e.headers, body: e.body });
        record(e.status, defaultWrite);
      } else {
        const msg = e instanceof Error ? (e.stack ?? e.message) : String(e);
        process.stderr.write(`[emulator ${o.name}] ${method} ${url.pathname}: ${msg}\n`);
        if (!res.headersSent)
          send(res, { status: 500, body: { message: `Emulator bug: ${e instanceof Error ? e.message : String(e)}` } });
        else res.end();
        record(500, defaultWrite);
      }
    }
  }

  return server;
}
