/**
 * The emulated AKS API server, driven by the real clients: @kubernetes/client-node 1.4 and kubectl,
 * with the admin (client certificate) kubeconfig ARM hands out, a static token, a read-only user and
 * an Entra access token (what kubelogin / the product's converted user kubeconfig sends). Also the
 * workload identity webhook, TokenRequest + the AKS OIDC issuer, and version-dependent pruning.
 */
import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { ClientSecretCredential } from '@azure/identity';
import { parse as parseYaml } from 'yaml';
import { startCloud, type Cloud } from '../../emulators/cloud';
import { addApp, entraOptions } from '../../emulators/azure/testing';
import { findCluster } from '../../emulators/azure/clusters';
import { httpsRequest } from '../../emulators/core/context';
import { decodeJwt, verifyJwt } from '../../emulators/core/jwt';
import { aksIssuerUrl, FRESH } from '../../emulators/names';
import { kubeRuntime } from '../../emulators/kube/index';
import { SCENARIO_TOKENS } from '../../emulators/kube/scenario';
import { FRESH_CLUSTER_ID, kubeConfig, kubectl, settle, statusOf } from '../../emulators/kube/testing';

const NS = FRESH.fluxNamespace;
const GIT = { group: 'source.toolkit.fluxcd.io', namespace: NS, plural: 'gitrepositories' };

let cloud: Cloud;
let core: k8s.CoreV1Api;
let apps: k8s.AppsV1Api;
let custom: k8s.CustomObjectsApi;

const merge = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);
const strategic = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch);
const jsonPatch = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.JsonPatch);

function azureCluster() {
  return findCluster(cloud.ctx.state.azure, FRESH_CLUSTER_ID)!.cluster;
}

/** What ARM does when a PUT changes the cluster's identity settings. */
function setClusterFlags(o: { oidc?: boolean; wi?: boolean }): void {
  const c = azureCluster();
  if (o.oidc !== undefined) {
    c.oidcIssuer.enabled = o.oidc;
    c.oidcIssuer.issuerId ??= FRESH.clusterIssuerId;
  }
  if (o.wi !== undefined) c.workloadIdentity = o.wi;
  cloud.ctx.kube.clusterUpdated(FRESH_CLUSTER_ID);
}

async function podsOf(app: string): Promise<k8s.V1Pod[]> {
  return (await core.listNamespacedPod({ namespace: NS, labelSelector: `app=${app}` })).items;
}

function envOf(pod: k8s.V1Pod): Record<string, string> {
  return Object.fromEntries(
    (pod.spec?.containers[0]?.env ?? []).filter((e) => e.value !== undefined).map((e) => [e.name, e.value!]),
  );
}

before(async () => {
  cloud = await startCloud({ scenario: 'fresh', services: ['azure', 'kube'] });
  const kc = kubeConfig(cloud, { admin: true });
  core = kc.makeApiClient(k8s.CoreV1Api);
  apps = kc.makeApiClient(k8s.AppsV1Api);
  custom = kc.makeApiClient(k8s.CustomObjectsApi);
});
after(() => cloud.stop());

describe('API server with @kubernetes/client-node (admin client certificate)', () => {
  test('the admin kubeconfig is AKS-shaped and reads the bootstrapped Flux installation', async () => {
    const kc = parseYaml(cloud.ctx.kube.kubeconfig(FRESH_CLUSTER_ID, 'admin')) as {
      users: { name: string; user: Record<string, string> }[];
      clusters: { cluster: { server: string } }[];
    };
    assert.equal(kc.users[0]!.name, `clusterAdmin_${FRESH.resourceGroup}_${FRESH.clusterName}`);
    assert.ok(kc.users[0]!.user['client-certificate-data'] && kc.users[0]!.user['client-key-data']);
    // A host of its own without a path, as AKS's https://{fqdn}:443.
    assert.match(kc.clusters[0]!.cluster.server, /^https:\/\/127\.0\.0\.1:\d+$/);

    const namespaces = (await core.listNamespace()).items.map((n) => n.metadata!.name);
    assert.ok(namespaces.includes(NS) && namespaces.includes('kube-system'));
    const sa = await core.readNamespacedServiceAccount({ name: 'source-controller', namespace: NS });
    assert.equal(sa.metadata?.annotations?.['azure.workload.identity/client-id'], undefined);
    const deploy = await apps.readNamespacedDeployment({ name: 'source-controller', namespace: NS });
    assert.match(deploy.spec!.template.spec!.containers[0]!.image!, /^ghcr\.io\/fluxcd\/source-controller:v1\.4\.1$/);
    assert.equal(deploy.status?.readyReplicas, 1);
    assert.equal(deploy.status?.conditions?.find((c) => c.type === 'Available')?.status, 'True');
    const pods = await podsOf('source-controller');
    assert.equal(pods.length, 1);
    assert.equal(pods[0]!.status?.phase, 'Running');
    const repo = (await custom.getNamespacedCustomObject({ ...GIT, version: 'v1', name: 'flux-system' })) as {
      spec: { url: string; secretRef?: { name: string } };
    };
    assert.equal(
      repo.spec.url,
      `ssh://git@ssh.dev.azure.com/v3/${FRESH.organization}/${FRESH.project}/${FRESH.repository}`,
    );
    assert.deepEqual(repo.spec.secretRef, { name: 'flux-system' });
  });

  test('errors are the API server Status bodies: 404, 409 AlreadyExists, 409 Conflict, 422, 415', async () => {
    const missing = await statusOf(core.readNamespacedServiceAccount({ name: 'nope', namespace: NS }));
    assert.deepEqual(
      [missing.code, missing.reason, missing.message],
      [404, 'NotFound', 'serviceaccounts "nope" not found'],
    );
    assert.deepEqual(missing.details, { name: 'nope', kind: 'serviceaccounts' });

    const exists = await statusOf(
      core.createNamespacedServiceAccount({ namespace: NS, body: { metadata: { name: 'source-controller' } } }),
    );
    assert.deepEqual(
      [exists.code, exists.reason, exists.message],
      [409, 'AlreadyExists', 'serviceaccounts "source-controller" already exists'],
    );

    const sa = await core.readNamespacedServiceAccount({ name: 'source-controller', namespace: NS });
    await core.patchNamespacedServiceAccount(
      { name: 'source-controller', namespace: NS, body: { metadata: { labels: { touched: 'yes' } } } },
      merge,
    );
    const stale = await statusOf(
      core.replaceNamespacedServiceAccount({ name: 'source-controller', namespace: NS, body: sa }),
    );
    assert.deepEqual([stale.code, stale.reason], [409, 'Conflict']);
    assert.equal(
      stale.message,
      'Operation cannot be fulfilled on serviceaccounts "source-controller": the object has been modified; please apply your changes to the latest version and try again',
    );

    const invalid = await statusOf(
      custom.createNamespacedCustomObject({
        ...GIT,
        version: 'v1',
        body: {
          apiVersion: 'source.toolkit.fluxcd.io/v1',
          kind: 'GitRepository',
          metadata: { name: 'bad' },
          spec: { url: 'https://dev.azure.com/contoso/platform/_git/fleet', interval: '1m', provider: 'gitlab' },
        },
      }),
    );
    assert.equal(invalid.code, 422);
    assert.equal(invalid.reason, 'Invalid');
    assert.equal(
      invalid.message,
      'GitRepository.source.toolkit.fluxcd.io "bad" is invalid: spec.provider: Unsupported value: "gitlab": supported values: "generic", "azure"',
    );

    const smp = await statusOf(
      custom.patchNamespacedCustomObject(
        { ...GIT, version: 'v1', name: 'flux-system', body: { spec: { interval: '2m' } } },
        strategic,
      ),
    );
    assert.equal(smp.code, 415);

    const gone = await statusOf(custom.getNamespacedCustomObject({ ...GIT, version: 'v1', name: 'nope' }));
    assert.equal(gone.message, 'gitrepositories.source.toolkit.fluxcd.io "nope" not found');
  });

  test('merge, JSON and strategic merge patches; resourceVersion and generation move as on a real cluster', async () => {
    const before = await core.readNamespacedServiceAccount({ name: 'image-reflector-controller', namespace: NS });
    const patched = await core.patchNamespacedServiceAccount(
      {
        name: 'image-reflector-controller',
        namespace: NS,
        body: {
          metadata: { annotations: { 'azure.workload.identity/client-id': '11111111-1111-1111-1111-111111111111' } },
        },
      },
      merge,
    );
    assert.notEqual(patched.metadata!.resourceVersion, before.metadata!.resourceVersion);
    assert.equal(
      patched.metadata!.annotations!['azure.workload.identity/client-id'],
      '11111111-1111-1111-1111-111111111111',
    );
    const same = await core.patchNamespacedServiceAccount(
      {
        name: 'image-reflector-controller',
        namespace: NS,
        body: {
          metadata: { annotations: { 'azure.workload.identity/client-id': '11111111-1111-1111-1111-111111111111' } },
        },
      },
      merge,
    );
    assert.equal(
      same.metadata!.resourceVersion,
      patched.metadata!.resourceVersion,
      'a no-op patch does not bump resourceVersion',
    );
    const removed = await core.patchNamespacedServiceAccount(
      {
        name: 'image-reflector-controller',
        namespace: NS,
        body: [{ op: 'remove', path: '/metadata/annotations/azure.workload.identity~1client-id' }],
      },
      jsonPatch,
    );
    assert.equal(removed.metadata!.annotations?.['azure.workload.identity/client-id'], undefined);

    const d0 = await apps.readNamespacedDeployment({ name: 'helm-controller', namespace: NS });
    const d1 = await apps.patchNamespacedDeployment(
      {
        name: 'helm-controller',
        namespace: NS,
        body: { spec: { template: { metadata: { labels: { tier: 'gitops' } } } } },
      },
      strategic,
    );
    assert.deepEqual(
      d1.spec!.template.metadata!.labels,
      { app: 'helm-controller', tier: 'gitops' },
      'the label merges with app',
    );
    assert.equal(d1.spec!.template.spec!.containers.length, 1, 'containers untouched');
    assert.equal(d1.metadata!.generation, d0.metadata!.generation! + 1);
  });

  test('server-side apply creates, then removes what the manager stops applying', async () => {
    const apply = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.ServerSideApply);
    const created = await core.patchNamespacedConfigMap(
      {
        name: 'settings',
        namespace: 'default',
        fieldManager: 'tests',
        body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings' }, data: { a: '1', b: '2' } },
      },
      apply,
    );
    assert.deepEqual(created.data, { a: '1', b: '2' });
    const again = await core.patchNamespacedConfigMap(
      {
        name: 'settings',
        namespace: 'default',
        fieldManager: 'tests',
        body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings' }, data: { a: '3' } },
      },
      apply,
    );
    assert.deepEqual(again.data, { a: '3' });
    const noManager = await statusOf(
      core.patchNamespacedConfigMap(
        {
          name: 'settings',
          namespace: 'default',
          body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings' } },
        },
        apply,
      ),
    );
    assert.equal(noManager.code, 400);
  });

  test('GitRepository v1beta2 has no provider: reading hides it, writing drops it', async () => {
    const body = {
      apiVersion: 'source.toolkit.fluxcd.io/v1',
      kind: 'GitRepository',
      metadata: { name: 'apps' },
      spec: {
        interval: '5m',
        url: 'https://dev.azure.com/contoso/platform/_git/apps',
        provider: 'azure',
        ref: { branch: 'main' },
      },
    };
    await custom.createNamespacedCustomObject({ ...GIT, version: 'v1', body });
    const beta = (await custom.getNamespacedCustomObject({ ...GIT, version: 'v1beta2', name: 'apps' })) as {
      apiVersion: string;
      spec: Record<string, unknown>;
    };
    assert.equal(beta.apiVersion, 'source.toolkit.fluxcd.io/v1beta2');
    assert.equal(beta.spec.provider, undefined);
    await custom.replaceNamespacedCustomObject({
      ...GIT,
      version: 'v1beta2',
      name: 'apps',
      body: { ...beta, spec: { ...beta.spec, interval: '10m' } },
    });
    const v1 = (await custom.getNamespacedCustomObject({ ...GIT, version: 'v1', name: 'apps' })) as {
      spec: Record<string, unknown>;
      metadata: { generation: number };
    };
    assert.equal(v1.spec.interval, '10m');
    assert.equal(v1.spec.provider, undefined, 'the v1beta2 write pruned provider');
    assert.equal(v1.metadata.generation, 2);
  });
});

describe('workload identity webhook', () => {
  test('without workload identity on the cluster, a labelled pod template gets nothing', async () => {
    await core.patchNamespacedServiceAccount(
      {
        name: 'source-controller',
        namespace: NS,
        body: {
          metadata: { annotations: { 'azure.workload.identity/client-id': 'aaaaaaaa-0000-0000-0000-000000000001' } },
        },
      },
      merge,
    );
    await apps.patchNamespacedDeployment(
      {
        name: 'source-controller',
        namespace: NS,
        body: { spec: { template: { metadata: { labels: { 'azure.workload.identity/use': 'true' } } } } },
      },
      strategic,
    );
    const [pod] = await podsOf('source-controller');
    assert.equal(envOf(pod!).AZURE_CLIENT_ID, undefined);
  });

  test('a label on the Deployment metadata alone does nothing; on the pod template it injects env and the token volume', async () => {
    setClusterFlags({ wi: true });
    await core.patchNamespacedServiceAccount(
      {
        name: 'image-automation-controller',
        namespace: NS,
        body: {
          metadata: { annotations: { 'azure.workload.identity/client-id': 'aaaaaaaa-0000-0000-0000-000000000002' } },
        },
      },
      merge,
    );
    const oldPod = (await podsOf('image-automation-controller'))[0]!.metadata!.name;
    await apps.patchNamespacedDeployment(
      {
        name: 'image-automation-controller',
        namespace: NS,
        body: { metadata: { labels: { 'azure.workload.identity/use': 'true' } } },
      },
      strategic,
    );
    const [same] = await podsOf('image-automation-controller');
    assert.equal(same!.metadata!.name, oldPod, 'a metadata-only change does not roll pods');
    assert.equal(envOf(same!).AZURE_CLIENT_ID, undefined);

    await apps.patchNamespacedDeployment(
      {
        name: 'image-automation-controller',
        namespace: NS,
        body: { spec: { template: { metadata: { labels: { 'azure.workload.identity/use': 'true' } } } } },
      },
      strategic,
    );
    const pods = await podsOf('image-automation-controller');
    assert.equal(pods.length, 1);
    assert.notEqual(pods[0]!.metadata!.name, oldPod, 'a pod template change rolls the pod');
    assert.deepEqual(envOf(pods[0]!), {
      AZURE_CLIENT_ID: 'aaaaaaaa-0000-0000-0000-000000000002',
      AZURE_TENANT_ID: FRESH.tenantId,
      AZURE_FEDERATED_TOKEN_FILE: '/var/run/secrets/azure/tokens/azure-identity-token',
      AZURE_AUTHORITY_HOST: `${cloud.ctx.urls.entra}/`,
    });
    const volume = pods[0]!.spec!.volumes!.find((v) => v.name === 'azure-identity-token');
    assert.deepEqual(
      { ...volume?.projected?.sources?.[0]?.serviceAccountToken },
      { audience: 'api://AzureADTokenExchange', expirationSeconds: 3600, path: 'azure-identity-token' },
    );
  });

  test('a ServiceAccount change reaches pods only when they are re-created', async () => {
    await core.patchNamespacedServiceAccount(
      {
        name: 'image-automation-controller',
        namespace: NS,
        body: {
          metadata: {
            annotations: {
              'azure.workload.identity/client-id': 'aaaaaaaa-0000-0000-0000-000000000003',
              'azure.workload.identity/tenant-id': '00000000-0000-0000-0000-0000000000aa',
            },
          },
        },
      },
      merge,
    );
    const [running] = await podsOf('image-automation-controller');
    assert.equal(envOf(running!).AZURE_CLIENT_ID, 'aaaaaaaa-0000-0000-0000-000000000002');
    await core.deleteNamespacedPod({ name: running!.metadata!.name!, namespace: NS });
    const [replacement] = await podsOf('image-automation-controller');
    assert.notEqual(replacement!.metadata!.name, running!.metadata!.name);
    assert.equal(envOf(replacement!).AZURE_CLIENT_ID, 'aaaaaaaa-0000-0000-0000-000000000003');
    assert.equal(envOf(replacement!).AZURE_TENANT_ID, '00000000-0000-0000-0000-0000000000aa');
  });
});

describe('TokenRequest and the AKS OIDC issuer', () => {
  const request = (expirationSeconds?: number) =>
    core.createNamespacedServiceAccountToken({
      name: 'source-controller',
      namespace: NS,
      body: {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'TokenRequest',
        spec: { audiences: ['api://AzureADTokenExchange'], ...(expirationSeconds ? { expirationSeconds } : {}) },
      },
    });

  test('without the OIDC issuer the token comes from the cluster-internal issuer; under 600 s is 422', async () => {
    const r = await request(3600);
    const claims = decodeJwt(r.status!.token).claims;
    assert.equal(claims.iss, 'https://kubernetes.default.svc.cluster.local');
    const short = await statusOf(request(599));
    assert.equal(short.code, 422);
    assert.equal(
      short.message,
      'TokenRequest.authentication.k8s.io "source-controller" is invalid: spec.expirationSeconds: Invalid value: 599: may not specify a duration less than 10 minutes',
    );
  });

  test('with the issuer enabled the token is signed for the issuer URL, discoverable and verifiable', async () => {
    setClusterFlags({ oidc: true });
    const issuer = aksIssuerUrl(cloud.ctx.urls['aks-issuer'], FRESH.tenantId, FRESH.clusterIssuerId);
    const r = await request(3600);
    const { claims } = decodeJwt(r.status!.token);
    assert.equal(claims.iss, issuer);
    assert.ok(String(claims.iss).endsWith('/'));
    assert.equal(claims.sub, 'system:serviceaccount:flux-system:source-controller');
    assert.deepEqual(claims.aud, ['api://AzureADTokenExchange']);
    assert.equal(Number(claims.exp) - Number(claims.iat), 3600);
    assert.equal(new Date(r.status!.expirationTimestamp!).getTime() / 1000, claims.exp);

    const discovery = (await httpsRequest(cloud.ctx.ca, `${issuer}.well-known/openid-configuration`)).json<{
      issuer: string;
      jwks_uri: string;
    }>();
    assert.equal(discovery.issuer, issuer);
    assert.equal(discovery.jwks_uri, `${issuer}openid/v1/jwks`);
    const keys = (await httpsRequest(cloud.ctx.ca, discovery.jwks_uri)).json<{
      keys: import('node:crypto').JsonWebKey[];
    }>();
    assert.doesNotThrow(() =>
      verifyJwt(r.status!.token, keys, {
        now: cloud.ctx.clock.nowSeconds(),
        issuer,
        audience: 'api://AzureADTokenExchange',
      }),
    );
    const other = await httpsRequest(
      cloud.ctx.ca,
      `${cloud.ctx.urls['aks-issuer']}/${FRESH.tenantId}/00000000-0000-0000-0000-000000000000/.well-known/openid-configuration`,
    );
    assert.equal(other.status, 404);
  });
});

describe('authentication and RBAC', () => {
  test('a read-only user reads but cannot patch; no credentials is 401', async () => {
    const reader = kubeConfig(cloud, { token: SCENARIO_TOKENS.reader }).makeApiClient(k8s.CoreV1Api);
    assert.ok((await reader.listNamespacedPod({ namespace: NS })).items.length > 0);
    const denied = await statusOf(
      reader.patchNamespacedServiceAccount(
        { name: 'source-controller', namespace: NS, body: { metadata: { labels: { x: 'y' } } } },
        merge,
      ),
    );
    assert.equal(denied.code, 403);
    assert.equal(denied.reason, 'Forbidden');
    assert.equal(
      denied.message,
      'serviceaccounts "source-controller" is forbidden: User "reader" cannot patch resource "serviceaccounts" in API group "" in the namespace "flux-system"',
    );
    const secrets = await statusOf(reader.listNamespacedSecret({ namespace: NS }));
    assert.equal(
      secrets.message,
      'secrets is forbidden: User "reader" cannot list resource "secrets" in API group "" in the namespace "flux-system"',
    );
    const nobody = await statusOf(
      kubeConfig(cloud, { token: 'not-a-token' }).makeApiClient(k8s.CoreV1Api).listNamespace(),
    );
    assert.equal(nobody.code, 401);
  });

  test('Entra access tokens for the AKS server app authenticate as the principal object id', async () => {
    const user = parseYaml(cloud.ctx.kube.kubeconfig(FRESH_CLUSTER_ID, 'user')) as {
      users: { user: { exec: { command: string; args: string[] } } }[];
    };
    assert.equal(user.users[0]!.user.exec.command, 'kubelogin');
    assert.deepEqual(
      user.users[0]!.user.exec.args.slice(
        user.users[0]!.user.exec.args.indexOf('--server-id'),
        user.users[0]!.user.exec.args.indexOf('--server-id') + 2,
      ),
      ['--server-id', '6dae42f8-4368-4678-94ff-3960e28e3630'],
    );

    const app = addApp(cloud, { name: 'cluster-operator' });
    const cred = new ClientSecretCredential(FRESH.tenantId, app.appId, app.secret, entraOptions(cloud));
    const token = (await cred.getToken('6dae42f8-4368-4678-94ff-3960e28e3630/.default'))!.token;
    const asApp = kubeConfig(cloud, { token }).makeApiClient(k8s.CoreV1Api);
    const denied = await statusOf(asApp.listNamespace());
    assert.equal(
      denied.message,
      `namespaces is forbidden: User "${app.objectId}" cannot list resource "namespaces" in API group "" at the cluster scope`,
    );
    const rbac = kubeConfig(cloud, { admin: true }).makeApiClient(k8s.RbacAuthorizationV1Api);
    await rbac.createClusterRoleBinding({
      body: {
        metadata: { name: 'operator-view' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' },
        subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: app.objectId }],
      },
    });
    assert.ok((await asApp.listNamespace()).items.length > 0);
    const armToken = (await cred.getToken('https://management.azure.com/.default'))!.token;
    assert.equal(
      (await statusOf(kubeConfig(cloud, { token: armToken }).makeApiClient(k8s.CoreV1Api).listNamespace())).code,
      401,
      'a token for another audience is refused',
    );
  });
});

describe('kubectl', () => {
  test('admin kubeconfig: get with server-side columns, -o yaml, annotate (a reconcile request), apply --server-side', async () => {
    const k = kubectl(cloud.ctx.kube.kubeconfig(FRESH_CLUSTER_ID, 'admin'));
    try {
      const list = await k.run(['get', 'gitrepositories', '-n', NS]);
      assert.equal(list.code, 0, list.stderr);
      assert.match(list.stdout, /^NAME\s+URL\s+AGE\s+READY\s+STATUS/m);
      assert.match(list.stdout, /^flux-system\s+ssh:\/\/git@ssh\.dev\.azure\.com\/v3\/contoso\/platform\/fleet/m);
      const pods = await k.run(['get', 'pods', '-n', NS, '-l', 'app=kustomize-controller']);
      assert.match(pods.stdout, /kustomize-controller-\w{10}-\w{5}\s+1\/1\s+Running/);

      const annotate = await k.run([
        'annotate',
        '--overwrite',
        '-n',
        NS,
        'gitrepository/flux-system',
        'reconcile.fluxcd.io/requestedAt=2026-01-01T00:00:00Z',
      ]);
      assert.equal(annotate.code, 0, annotate.stderr);
      assert.match(annotate.stdout, /gitrepository.source.toolkit.fluxcd.io\/flux-system annotated/);
      await settle(cloud);
      const yaml = await k.run(['get', 'gitrepository', 'flux-system', '-n', NS, '-o', 'yaml']);
      const repo = parseYaml(yaml.stdout) as {
        status: { lastHandledReconcileAt?: string; conditions: { type: string }[] };
      };
      assert.equal(repo.status.lastHandledReconcileAt, '2026-01-01T00:00:00Z');
      assert.equal(repo.status.conditions[0]!.type, 'Ready');

      const cm =
        'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-kubectl\n  namespace: default\ndata:\n  k: v\n';
      const file = path.join(os.tmpdir(), `kube-api-test-cm-${process.pid}.yaml`);
      fs.writeFileSync(file, cm);
      try {
        const ssa = await k.run(['apply', '--server-side', '-f', file]);
        assert.equal(ssa.code, 0, ssa.stderr);
        assert.match(ssa.stdout, /configmap\/from-kubectl serverside-applied/);
        const csa = await k.run(['apply', '-f', file]);
        assert.equal(csa.code, 0, csa.stderr);
      } finally {
        fs.rmSync(file, { force: true });
      }
      const token = await k.run([
        'create',
        'token',
        'source-controller',
        '-n',
        NS,
        '--audience',
        'api://AzureADTokenExchange',
      ]);
      assert.equal(token.code, 0, token.stderr);
      assert.equal(decodeJwt(token.stdout.trim()).claims.sub, 'system:serviceaccount:flux-system:source-controller');
    } finally {
      k.cleanup();
    }
  });

  test('static-token kubeconfig of a read-only user: get works, annotate is forbidden with the real message', async () => {
    const k = kubectl(kubeRuntime(cloud.ctx).tokenKubeconfig(FRESH.clusterName, SCENARIO_TOKENS.reader));
    try {
      const get = await k.run(['get', 'deployments', '-n', NS]);
      assert.equal(get.code, 0, get.stderr);
      assert.match(get.stdout, /^source-controller\s+1\/1\s+1\s+1\s+/m);
      const denied = await k.run(['annotate', '-n', NS, 'serviceaccount/source-controller', 'a=b']);
      assert.notEqual(denied.code, 0);
      assert.match(
        denied.stderr,
        /serviceaccounts "source-controller" is forbidden: User "reader" cannot patch resource "serviceaccounts" in API group "" in the namespace "flux-system"/,
      );
      const canI = await k.run(['auth', 'can-i', 'create', 'serviceaccounts/token', '-n', NS]);
      assert.equal(canI.stdout.trim(), 'no');
    } finally {
      k.cleanup();
    }
  });
});
