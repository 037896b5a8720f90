/**
 * The emulated cloud's certificate authority: generated with the system `openssl` (preinstalled on
 * the build machine and on hosted agents), one CA per cloud start, one server certificate for
 * 127.0.0.1/localhost shared by every emulated host, and client certificates on demand (Kubernetes
 * client-certificate auth). Task processes trust the CA through NODE_EXTRA_CA_CERTS.
 */
import { execFileSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export interface TestCa {
  dir: string;
  caCertPath: string;
  caCert: string;
  caKeyPath: string;
  serverCert: string;
  serverKey: string;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Creates a CA and a 127.0.0.1 server certificate in `dir` (a new temp dir by default). */
export function createTestCa(dir: string = fs.mkdtempSync(path.join(os.tmpdir(), 'flux-oidc-ca-'))): TestCa {
  fs.mkdirSync(dir, { recursive: true });
  openssl(
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      'ca.key',
      '-out',
      'ca.crt',
      '-days',
      '30',
      '-subj',
      '/CN=flux-oidc emulated cloud CA',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ],
    dir,
  );
  openssl(
    ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost'],
    dir,
  );
  fs.writeFileSync(
    path.join(dir, 'server.ext'),
    'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n',
  );
  openssl(
    [
      'x509',
      '-req',
      '-in',
      'server.csr',
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      'server.crt',
      '-days',
      '30',
      '-extfile',
      'server.ext',
    ],
    dir,
  );
  return loadTestCa(dir);
}

export function loadTestCa(relativeOrAbsoluteDir: string): TestCa {
  // Absolute, because client certificates are made with openssl in another working directory.
  const dir = path.resolve(relativeOrAbsoluteDir);
  const caCertPath = path.join(dir, 'ca.crt');
  return {
    dir,
    caCertPath,
    caCert: fs.readFileSync(caCertPath, 'utf8'),
    caKeyPath: path.join(dir, 'ca.key'),
    serverCert: fs.readFileSync(path.join(dir, 'server.crt'), 'utf8'),
    serverKey: fs.readFileSync(path.join(dir, 'server.key'), 'utf8'),
  };
}

/** Reuses the CA in `dir` when it is complete, creates it otherwise. */
export function loadOrCreateTestCa(dir: string): TestCa {
  if (fs.existsSync(path.join(dir, 'server.crt')) && fs.existsSync(path.join(dir, 'ca.key'))) return loadTestCa(dir);
  return createTestCa(dir);
}

/** A client certificate signed by the CA (Kubernetes: CN = user name, O = group). */
export function issueClientCertificate(
  ca: TestCa,
  commonName: string,
  organization?: string,
): { cert: string; key: string } {
  const work = fs.mkdtempSync(path.join(ca.dir, 'client-'));
  const subj = `/CN=${commonName}${organization ? `/O=${organization}` : ''}`;
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'client.key', '-out', 'client.csr', '-subj', subj], work);
  fs.writeFileSync(path.join(work, 'client.ext'), 'extendedKeyUsage=clientAuth\n');
  openssl(
    [
      'x509',
      '-req',
      '-in',
      'client.csr',
      '-CA',
      path.join(ca.dir, 'ca.crt'),
      '-CAkey',
      ca.caKeyPath,
      '-CAcreateserial',
      '-out',
      'client.crt',
      '-days',
      '30',
      '-extfile',
      'client.ext',
    ],
    work,
  );
  const out = {
    cert: fs.readFileSync(path.join(work, 'client.crt'), 'utf8'),
    key: fs.readFileSync(path.join(work, 'client.key'), 'utf8'),
  };
  fs.rmSync(work, { recursive: true, force: true });
  return out;
}

/**
 * A server certificate signed by the CA for the given DNS names: stands in for a public host the
 * emulated cloud answers for (e.g. login.microsoftonline.com's instance discovery, reached through
 * a test proxy), so a client that trusts the test CA accepts it.
 */
export function issueServerCertificate(ca: TestCa, dnsNames: string[]): { cert: string; key: string } {
  const work = fs.mkdtempSync(path.join(ca.dir, 'server-'));
  openssl(
    ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 's.key', '-out', 's.csr', '-subj', `/CN=${dnsNames[0]}`],
    work,
  );
  fs.writeFileSync(
    path.join(work, 's.ext'),
    `subjectAltName=${dnsNames.map((d) => `DNS:${d}`).join(',')}\nextendedKeyUsage=serverAuth\n`,
  );
  openssl(
    [
      'x509',
      '-req',
      '-in',
      's.csr',
      '-CA',
      path.join(ca.dir, 'ca.crt'),
      '-CAkey',
      ca.caKeyPath,
      '-CAcreateserial',
      '-out',
      's.crt',
      '-days',
      '30',
      '-extfile',
      's.ext',
    ],
    work,
  );
  const out = {
    cert: fs.readFileSync(path.join(work, 's.crt'), 'utf8'),
    key: fs.readFileSync(path.join(work, 's.key'), 'utf8'),
  };
  fs.rmSync(work, { recursive: true, force: true });
  return out;
}

/**
 * The public host names the emulated cloud answers for (through its edge, core/edge.ts), as
 * wildcard DNS names of one server certificate: Azure DevOps' organization hosts in both URL forms
 * (`dev.azure.com/{org}` and the legacy `{org}.visualstudio.com`, with Graph and entitlements on
 * `vssps.dev.azure.com` / `{org}.vssps.visualstudio.com` and `vsaex.dev.azure.com` /
 * `{org}.vsaex.visualstudio.com`; Azure DevOps release notes 2018-09-10 "Administration", and
 * learn.microsoft.com/azure/devops/extend/develop/work-with-urls). A wildcard covers one label, so
 * the vssps/vsaex names need their own.
 */
export const PUBLIC_DNS_NAMES = [
  'dev.azure.com',
  'vssps.dev.azure.com',
  'vsaex.dev.azure.com',
  '*.visualstudio.com',
  '*.vssps.visualstudio.com',
  '*.vsaex.visualstudio.com',
] as const;

/**
 * The server certificate of the public names (PUBLIC_DNS_NAMES), signed by the CA and kept in its
 * directory (edge.json: names, cert, key) so a shared CA issues it once; written under a temporary
 * name and renamed, so clouds starting at the same time never read half a file.
 */
export function publicNamesCertificate(ca: TestCa): { cert: string; key: string } {
  const file = path.join(ca.dir, 'edge.json');
  const names = [...PUBLIC_DNS_NAMES];
  // Issued by this CA (a CA made again in the same folder invalidates it) and valid for a day more.
  const caId = crypto.createHash('sha256').update(ca.caCert).digest('hex');
  try {
    const kept = JSON.parse(fs.readFileSync(file, 'utf8')) as {
      names?: string[];
      caId?: string;
      cert?: string;
      key?: string;
    };
    if (kept.cert && kept.key && kept.caId === caId && kept.names?.join() === names.join()) {
      const validTo = new Date(new crypto.X509Certificate(kept.cert).validTo).getTime();
      if (validTo - Date.now() > 24 * 3600 * 1000) return { cert: kept.cert, key: kept.key };
    }
  } catch {
    // Not there yet (or unreadable): issue it.
  }
  const issued = issueServerCertificate(ca, names);
  const tmp = `${file}.${process.pid}-${Date.now()}`;
  fs.writeFileSync(tmp, JSON.stringify({ names, caId, ...issued }));
  fs.renameSync(tmp, file);
  return issued;
}
