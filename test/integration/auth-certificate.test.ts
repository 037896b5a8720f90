/**
 * A ServicePrincipal connection with a PEM certificate made by the real openssl: the client assertion
 * is signed and names the thumbprint, and the PEM is registered as a secret.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { MemoryLogger } from '../../tasks/common/log';
import { createAzureConnection } from '../../tasks/common/auth';
import { CLIENT, endpoint, env, FakeCloud, TENANT } from '../unit/auth-fixtures';

test('ServicePrincipal with a certificate (PEM): signs a client assertion, the PEM is registered as a secret', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'auth-cert-'));
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      'k.pem',
      '-out',
      'c.pem',
      '-days',
      '1',
      '-subj',
      '/CN=spn',
    ],
    { cwd: dir, stdio: 'ignore' },
  );
  const pem = fs.readFileSync(path.join(dir, 'c.pem'), 'utf8') + fs.readFileSync(path.join(dir, 'k.pem'), 'utf8');
  fs.rmSync(dir, { recursive: true, force: true });
  const http = new FakeCloud();
  const log = new MemoryLogger();
  const conn = await createAzureConnection(
    endpoint('ServicePrincipal', {
      serviceprincipalid: CLIENT,
      tenantid: TENANT,
      authenticationType: 'spnCertificate',
      servicePrincipalCertificate: pem,
    }),
    env(http, log),
  );
  await conn.credential.getToken(conn.cloud.armScope);
  const form = http.tokenRequests()[0];
  assert.equal(form.get('client_assertion_type'), 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer');
  const header = JSON.parse(
    Buffer.from((form.get('client_assertion') ?? '').split('.')[0], 'base64url').toString(),
  ) as { alg?: string; x5t?: string; 'x5t#S256'?: string };
  assert.ok(header.alg === 'RS256' || header.alg === 'PS256');
  assert.ok(header.x5t || header['x5t#S256'], 'the assertion names the certificate thumbprint');
  assert.ok(log.secrets.has(pem.trim()), 'the PEM is registered as a secret');
});
