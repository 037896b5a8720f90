/**
 * The real `kubectl` against the emulated AKS API server, on the three cluster kinds' credentials:
 * get / apply (client- and server-side, with a field-manager conflict) / patch / wait / rollout
 * status / create token / auth can-i, impersonation (`--as`, `--as-group`) and its RBAC, service
 * account issuer discovery, and CRD schema patterns. Each behaviour follows the Kubernetes page
 * cited in the emulator module that implements it.
 */
import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { startCloud, type Cloud } from '../../emulators/cloud';
import { findCluster } from '../../emulators/azure/clusters';
import { decodeJwt } from '../../emulators/core/jwt';
import { FRESH } from '../../emulators/names';
import { kubeRuntime } from '../../emulators/kube/index';
import { SCENARIO_TOKENS } from '../../emulators/kube/scenario';
import { FRESH_CLUSTER_ID, kubectl, settle, type Kubectl } from '../../emulators/kube/testing';

const NS = FRESH.fluxNamespace;
let cloud: Cloud;
let admin: Kubectl;
let dir: string;

function file(name: string, text: string): string {
  const f = path.join(dir, name);
  fs.writeFileSync(f, text);
  return f;
}

before(async () => {
  cloud = await startCloud({ scenario: 'fresh' });
  await kubeRuntime(cloud.ctx).cluster(FRESH.clusterName)!.ensureBooted();
  await settle(cloud);
  admin = kubectl(cloud.ctx.kube.kubeconfig(FRESH_CLUSTER_ID, 'admin'));
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubectl-conformance-'));
});
after(async () => {
  admin?.cleanup();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
  await cloud?.stop();
});

describe('kubectl: cluster kinds', () => {
  test('an Entra-integrated cluster hands out a kubelogin user kubeconfig; without Entra it is a client certificate', () => {
    const server = (
      parseYaml(cloud.ctx.kube.kubeconfig(FRESH_CLUSTER_ID, 'admin')) as { clusters: { cluster: { server: string } }[] }
    ).clusters[0]!.cluster.server;
    assert.equal(new URL(server).pathname, '/', 'the server URL has no path (kubectl --raw resolves from the host)');
    const entra = parseYaml(cloud.ctx.kube.kubeconfig(FRESH_CLUSTER_ID, 'user')) as {
      users: { user: Record<string, unknown> }[];
    };
    assert.equal((entra.users[0]!.user.exec as { command: string }).command, 'kubelogin');
    const c = findCluster(cloud.ctx.state.azure, FRESH_CLUSTER_ID)!.cluster;
    const aad = c.aadProfile;
    delete c.aadProfile;
    try {
      const local = parseYaml(cloud.ctx.kube.kubeconfig(FRESH_CLUSTER_ID, 'user')) as {
        users: { name: string; user: Record<string, unknown> }[];
      };
      assert.equal(local.users[0]!.name, `clusterUser_${FRESH.resourceGroup}_${FRESH.clusterName}`);
      assert.ok(local.users[0]!.user['client-certificate-data'], 'a client certificate');
      assert.equal(local.users[0]!.user.exec, undefined);
    } finally {
      c.aadProfile = aad;
    }
  });
});

describe('kubectl: reads, writes, waits', () => {
  test('wait --for=condition=Ready and rollout status return at once on a ready object (the watch answers its headers)', async () => {
    const wait = await admin.run([
      'wait',
      '-n',
      NS,
      '--for=condition=Ready',
      'gitrepository/flux-system',
      '--timeout=20s',
    ]);
    assert.equal(wait.code, 0, wait.stderr);
    assert.match(wait.stdout, /gitrepository.source.toolkit.fluxcd.io\/flux-system condition met/);
    const rollout = await admin.run(['rollout', 'status', '-n', NS, 'deployment/source-controller', '--timeout=20s']);
    assert.equal(rollout.code, 0, rollout.stderr);
    assert.match(rollout.stdout, /deployment "source-controller" successfully rolled out/);
  });

  test('patch (merge) and create token', async () => {
    const p = await admin.run([
      'patch',
      '-n',
      NS,
      'serviceaccount/source-controller',
      '--type=merge',
      '-p',
      '{"metadata":{"labels":{"conformance":"yes"}}}',
    ]);
    assert.equal(p.code, 0, p.stderr);
    assert.match(p.stdout, /serviceaccount\/source-controller patched/);
    const t = await admin.run([
      'create',
      'token',
      'source-controller',
      '-n',
      NS,
      '--audience',
      'api://AzureADTokenExchange',
    ]);
    assert.equal(t.code, 0, t.stderr);
    assert.deepEqual(decodeJwt(t.stdout.trim()).claims.aud, ['api://AzureADTokenExchange']);
  });

  test('server-side apply: a second manager changing a field gets the conflict; --force-conflicts takes it over', async () => {
    const one = file(
      'cm1.yaml',
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ssa\n  namespace: default\ndata:\n  k: one\n',
    );
    const two = file(
      'cm2.yaml',
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ssa\n  namespace: default\ndata:\n  k: two\n',
    );
    assert.equal((await admin.run(['apply', '--server-side', '--field-manager=alice', '-f', one])).code, 0);
    const clash = await admin.run(['apply', '--server-side', '--field-manager=bob', '-f', two]);
    assert.notEqual(clash.code, 0);
    assert.match(clash.stderr, /Apply failed with 1 conflict: conflict with "alice"(?: using v1)?: \.data\.k/);
    const same = await admin.run(['apply', '--server-side', '--field-manager=bob', '-f', one]);
    assert.equal(same.code, 0, `the same value is no conflict: ${same.stderr}`);
    const forced = await admin.run(['apply', '--server-side', '--field-manager=bob', '--force-conflicts', '-f', two]);
    assert.equal(forced.code, 0, forced.stderr);
    const got = await admin.run(['get', 'configmap', 'ssa', '-n', 'default', '-o', 'jsonpath={.data.k}']);
    assert.equal(got.stdout, 'two');
  });

  test('a CRD schema pattern is validated: a GitRepository URL that is not http(s)/ssh is 422', async () => {
    const bad = file(
      'gr.yaml',
      'apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: bad\n  namespace: flux-system\nspec:\n  interval: 1m\n  url: ftp://example.com/repo\n',
    );
    const r = await admin.run(['apply', '-f', bad]);
    assert.notEqual(r.code, 0);
    assert.match(
      r.stderr,
      /spec\.url: Invalid value: "ftp:\/\/example\.com\/repo": spec\.url in body should match '\^\(http\|https\|ssh\):\/\/\.\*\$'/,
    );
  });

  test('service account issuer discovery is served by the API server to service accounts', async () => {
    const sa = (await admin.run(['create', 'token', 'source-controller', '-n', NS])).stdout.trim();
    const asSa = kubectl(kubeRuntime(cloud.ctx).tokenKubeconfig(FRESH.clusterName, sa));
    try {
      const conf = await asSa.run(['get', '--raw', '/.well-known/openid-configuration']);
      assert.equal(conf.code, 0, conf.stderr);
      const doc = JSON.parse(conf.stdout) as { issuer: string; jwks_uri: string };
      assert.equal(doc.issuer, decodeJwt(sa).claims.iss);
      const keys = await asSa.run(['get', '--raw', '/openid/v1/jwks']);
      assert.equal(keys.code, 0, keys.stderr);
      assert.ok((JSON.parse(keys.stdout) as { keys: unknown[] }).keys.length > 0);
    } finally {
      asSa.cleanup();
    }
    const reader = kubectl(kubeRuntime(cloud.ctx).tokenKubeconfig(FRESH.clusterName, SCENARIO_TOKENS.reader));
    try {
      const denied = await reader.run(['get', '--raw', '/openid/v1/jwks']);
      assert.notEqual(denied.code, 0, 'a user without the discovery binding is refused');
    } finally {
      reader.cleanup();
    }
  });
});

describe('kubectl: impersonation', () => {
  test('--as needs the impersonate verb; with it, requests run (and can-i answers) as the impersonated user', async () => {
    const reader = kubectl(kubeRuntime(cloud.ctx).tokenKubeconfig(FRESH.clusterName, SCENARIO_TOKENS.reader));
    try {
      const denied = await reader.run(['get', '--raw', `/api/v1/namespaces/${NS}/pods`, '--as', 'someone']);
      assert.notEqual(denied.code, 0);
      assert.match(
        denied.stderr,
        /users "someone" is forbidden: User "reader" cannot impersonate resource "users" in API group "" at the cluster scope/,
      );
    } finally {
      reader.cleanup();
    }
    // The admin (system:masters) may impersonate: as `reader` it may read but not mint tokens.
    const canRead = await admin.run(['auth', 'can-i', 'list', 'pods', '-n', NS, '--as', 'reader']);
    assert.equal(canRead.stdout.trim(), 'yes');
    const canMint = await admin.run(['auth', 'can-i', 'create', 'serviceaccounts/token', '-n', NS, '--as', 'reader']);
    assert.equal(canMint.stdout.trim(), 'no');
    const asReader = await admin.run([
      'annotate',
      '-n',
      NS,
      'serviceaccount/source-controller',
      'x=y',
      '--as',
      'reader',
    ]);
    assert.match(asReader.stderr, /User "reader" cannot patch resource "serviceaccounts"/);
    const asGroup = await admin.run([
      'auth',
      'can-i',
      'create',
      'serviceaccounts/token',
      '-n',
      NS,
      '--as',
      'nobody',
      '--as-group',
      'system:masters',
    ]);
    assert.equal(asGroup.stdout.trim(), 'yes');
    const whoami = await admin.run(['auth', 'whoami', '-o', 'jsonpath={.status.userInfo.username}', '--as', 'reader']);
    assert.equal(whoami.stdout, 'reader', whoami.stderr);
  });
});
