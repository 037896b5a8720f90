/**
 * The emulated cloud's edge: how a process on the agent reaches the cloud by its public host
 * names. Every emulated host listens on 127.0.0.1 at a port of its own, which is all a task needs
 * when the URLs it is given name those ports; but a user's Azure DevOps organization URL names a
 * host (`https://contoso.visualstudio.com/`), port 443. The edge is an HTTP CONNECT proxy (RFC
 * 9110 9.3.6) that resolves those names to the emulated hosts and refuses every other name, as a
 * DNS lookup would fail; the agent hands it to tasks as its proxy (Agent.ProxyUrl, with
 * 127.0.0.1 in Agent.ProxyBypassList, learn.microsoft.com/azure/devops/pipelines/agents/proxy).
 * TLS is end to end: the emulated host presents a certificate for the name (core/tls.ts
 * PUBLIC_DNS_NAMES) and routes on the Host header.
 *
 * Names (Azure DevOps release notes 2018-09-10 "Azure DevOps launch", Administration: the new
 * URL form; learn.microsoft.com/azure/devops/extend/develop/work-with-urls: both forms serve
 * every organization):
 *   dev.azure.com, {org}.visualstudio.com               -> devops (the organization host)
 *   vssps.dev.azure.com, {org}.vssps.visualstudio.com   -> vssps (Graph, Identities)
 *   vsaex.dev.azure.com, {org}.vsaex.visualstudio.com   -> vsaex (member entitlements)
 */
import * as http from 'node:http';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import type { CloudUrls, HostName } from './context';

export interface Edge {
  /** http://127.0.0.1:PORT (the proxy URL). */
  url: string;
  close(): Promise<void>;
}

const LABEL = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?';
const NAMES: [RegExp, HostName][] = [
  [/^dev\.azure\.com$/, 'devops'],
  [/^vssps\.dev\.azure\.com$/, 'vssps'],
  [/^vsaex\.dev\.azure\.com$/, 'vsaex'],
  [new RegExp(`^${LABEL}\\.vssps\\.visualstudio\\.com$`), 'vssps'],
  [new RegExp(`^${LABEL}\\.vsaex\\.visualstudio\\.com$`), 'vsaex'],
  [new RegExp(`^${LABEL}\\.visualstudio\\.com$`), 'devops'],
];

/** The emulated host a public host name resolves to, if any. */
export function publicHostTarget(hostname: string): HostName | undefined {
  const n = hostname.toLowerCase().replace(/\.$/, '');
  return NAMES.find(([re]) => re.test(n))?.[1];
}

function refuse(socket: net.Socket, status: string, message: string): void {
  socket.end(
    `HTTP/1.1 ${status}\r\ncontent-type: text/plain\r\ncontent-length: ${Buffer.byteLength(message)}\r\nconnection: close\r\n\r\n${message}`,
  );
}

export async function startEdge(urls: CloudUrls): Promise<Edge> {
  const sockets = new Set<net.Socket>();
  const server = http.createServer((_req, res) => {
    res.writeHead(405, { 'content-type': 'text/plain' });
    res.end('The emulated cloud edge only tunnels HTTPS: CONNECT <host>:443.\n');
  });
  server.on('connect', (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => client.destroy());
    const m = /^([^:[\]]+):(\d+)$/.exec(req.url ?? '');
    const target = m && m[2] === '443' ? publicHostTarget(m[1]!) : undefined;
    if (!m || !target) {
      // What a proxy answers when the name does not resolve (the agent sees a failed tunnel).
      refuse(client, '502 Bad Gateway', `getaddrinfo ENOTFOUND ${m?.[1] ?? req.url}\n`);
      return;
    }
    const upstream = net.connect(Number(new URL(urls[target]).port), '127.0.0.1', () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    sockets.add(upstream);
    upstream.on('close', () => {
      sockets.delete(upstream);
      client.destroy();
    });
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
