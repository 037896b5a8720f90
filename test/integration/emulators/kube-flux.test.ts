/**
 * The simulated Flux controllers beyond the happy path: spec.interval on the emulated clock (no
 * real waiting), kustomize build failures with kustomize's own error, a missing path, a state
 * dumped and resumed by a later cloud, and the texts of Flux 2.6+ (fluxcd/pkg/auth), where a kept
 * secretRef no longer breaks `provider: azure` and object-level identity needs its feature gate.
 */
import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as k8s from '@kubernetes/client-node';
import { parse as parseYaml } from 'yaml';
import { startCloud, type Cloud } from '../../emulators/cloud';
import { buildScenario, HOST_NAMES } from '../../emulators/scenarios';
import type { CloudUrls } from '../../emulators/core/context';
import type { CloudState } from '../../emulators/state';
import { findCluster } from '../../emulators/azure/clusters';
import { FRESH } from '../../emulators/names';
import { gotkComponentsYaml, gotkSyncYaml } from '../../emulators/kube/flux/install';
import { FRESH_COMPONENTS } from '../../emulators/kube/scenario';
import { FRESH_CLUSTER_ID, kubeConfig, pushFiles, settle } from '../../emulators/kube/testing';

const NS = FRESH.fluxNamespace;
const KS = { group: 'kustomize.toolkit.fluxcd.io', version: 'v1', namespace: NS, plural: 'kustomizations' };
const GIT = { group: 'source.toolkit.fluxcd.io', version: 'v1', namespace: NS, plural: 'gitrepositories' };
const merge = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);

interface Condition {
  type: string;
  status: string;
  reason: string;
  message: string;
}
type Flux = {
  spec: Record<string, unknown>;
  status?: { conditions?: Condition[]; artifact?: { revision: string }; lastAppliedRevision?: string };
};

const readyOf = (o: Flux) => o.status!.conditions!.find((c) => c.type === 'Ready')!;

async function stateWith(change: (s: CloudState) => void): Promise<CloudState> {
  const s = await buildScenario('fresh', Object.fromEntries(HOST_NAMES.map((h) => [h, `\${${h}}`])) as CloudUrls);
  change(s);
  return s;
}

describe('Flux 2.4: intervals, build failures, resume', () => {
  let cloud: Cloud;
  let custom: k8s.CustomObjectsApi;
  const get = async (which: typeof KS | typeof GIT, name = 'flux-system') =>
    (await custom.getNamespacedCustomObject({ ...which, name })) as Flux;

  before(async () => {
    cloud = await startCloud({ scenario: 'fresh' });
    custom = kubeConfig(cloud, { admin: true }).makeApiClient(k8s.CustomObjectsApi);
    await custom.listClusterCustomObject({ group: GIT.group, version: 'v1', plural: GIT.plural });
    await settle(cloud);
  });
  after(() => cloud.stop());

  test('spec.interval runs on the emulated clock: a new commit is applied after the interval, not before', async () => {
    const sha = await pushFiles(
      cloud,
      {
        'clusters/prod/apps/settings.yaml':
          'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: fleet-settings\n  namespace: default\ndata:\n  region: westeurope\n',
      },
      'add settings',
    );
    cloud.ctx.clock.advance(30_000);
    await settle(cloud);
    assert.notEqual(
      readyOf(await get(GIT)).message,
      `stored artifact for revision 'main@sha1:${sha}'`,
      'GitRepository interval is 1m0s: not yet',
    );
    cloud.ctx.clock.advance(31_000);
    await settle(cloud);
    assert.equal(readyOf(await get(GIT)).message, `stored artifact for revision 'main@sha1:${sha}'`);
    assert.equal(
      (await get(KS)).status!.lastAppliedRevision,
      `main@sha1:${sha}`,
      'a new artifact makes the Kustomization apply at once',
    );
    const core = kubeConfig(cloud, { admin: true }).makeApiClient(k8s.CoreV1Api);
    assert.equal(
      (await core.readNamespacedConfigMap({ name: 'fleet-settings', namespace: 'default' })).data?.region,
      'westeurope',
    );
  });

  test("a manifest kustomize cannot build: BuildFailed with kustomize's error; a missing path: ArtifactFailed", async () => {
    await pushFiles(
      cloud,
      {
        'clusters/prod/apps/kustomization.yaml':
          'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- missing.yaml\n',
      },
      'broken overlay',
    );
    cloud.ctx.clock.advance(61_000);
    await settle(cloud);
    let ready = readyOf(await get(KS));
    assert.equal(ready.status, 'False');
    assert.equal(ready.reason, 'BuildFailed');
    assert.match(
      ready.message,
      /^kustomize build failed: accumulating resources: accumulation err='accumulating resources from '\.\/apps': /,
    );
    assert.match(
      ready.message,
      /open \/tmp\/kustomization-\d+\/clusters\/prod\/apps\/missing\.yaml: no such file or directory/,
    );

    await custom.patchNamespacedCustomObject(
      { ...KS, name: 'flux-system', body: { spec: { path: './clusters/staging' } } },
      merge,
    );
    await settle(cloud);
    ready = readyOf(await get(KS));
    assert.equal(ready.reason, 'ArtifactFailed');
    assert.match(
      ready.message,
      /^kustomization path not found: stat \/tmp\/kustomization-\d+\/clusters\/staging: no such file or directory$/,
    );
    await custom.patchNamespacedCustomObject(
      { ...KS, name: 'flux-system', body: { spec: { path: './clusters/prod' } } },
      merge,
    );
    await pushFiles(cloud, { 'clusters/prod/apps/kustomization.yaml': null }, 'fix overlay');
    await custom.patchNamespacedCustomObject(
      {
        ...GIT,
        name: 'flux-system',
        body: { metadata: { annotations: { 'reconcile.fluxcd.io/requestedAt': 'fix' } } },
      },
      merge,
    );
    await settle(cloud);
    assert.equal(readyOf(await get(KS)).reason, 'ReconciliationSucceeded');
  });

  test('a dumped state resumes in a new cloud: same objects, and the controllers re-fetch their lost storage', async () => {
    const dumped = parseYaml(cloud.dump()) as CloudState;
    const revision = (await get(GIT)).status!.artifact!.revision;
    assert.ok(dumped.kube.clusters[FRESH.clusterName]!.objects.length > 50);
    const next = await startCloud({ state: dumped });
    try {
      const c2 = kubeConfig(next, { admin: true }).makeApiClient(k8s.CustomObjectsApi);
      const repo = (await c2.getNamespacedCustomObject({ ...GIT, name: 'flux-system' })) as Flux;
      assert.equal(repo.status!.artifact!.revision, revision, 'resumed as dumped, no reconcile on resume');
      const cm = await kubeConfig(next, { admin: true })
        .makeApiClient(k8s.CoreV1Api)
        .readNamespacedConfigMap({ name: 'fleet-settings', namespace: 'default' });
      assert.equal(cm.data?.region, 'westeurope');
      // The new cloud's repository is rebuilt from its seed: the re-fetched artifact is its head.
      await c2.patchNamespacedCustomObject(
        {
          ...KS,
          name: 'flux-system',
          body: { metadata: { annotations: { 'reconcile.fluxcd.io/requestedAt': 'resume' } } },
        },
        merge,
      );
      await settle(next);
      const fresh = ((await c2.getNamespacedCustomObject({ ...GIT, name: 'flux-system' })) as Flux).status!.artifact!
        .revision;
      const ks = (await c2.getNamespacedCustomObject({ ...KS, name: 'flux-system' })) as Flux;
      assert.equal(readyOf(ks).message, `Applied revision: ${fresh}`);
    } finally {
      await next.stop();
    }
  });
});

describe('Flux 2.7 (fluxcd/pkg/auth)', () => {
  let cloud: Cloud;
  let custom: k8s.CustomObjectsApi;
  after(() => cloud?.stop());

  before(async () => {
    cloud = await startCloud({
      state: await stateWith((s) => {
        s.kube.clusters[FRESH.clusterName]!.bootstrap!.version = '2.7.0';
      }),
    });
    await pushFiles(
      cloud,
      {
        [`${FRESH.clusterPath}/flux-system/gotk-components.yaml`]: gotkComponentsYaml({
          version: '2.7.0',
          components: FRESH_COMPONENTS,
        }),
      },
      'Flux 2.7',
    );
    const c = findCluster(cloud.ctx.state.azure, FRESH_CLUSTER_ID)!.cluster;
    c.oidcIssuer.enabled = true;
    c.oidcIssuer.issuerId ??= FRESH.clusterIssuerId;
    c.workloadIdentity = true;
    custom = kubeConfig(cloud, { admin: true }).makeApiClient(k8s.CustomObjectsApi);
    await custom.listClusterCustomObject({ group: GIT.group, version: 'v1', plural: GIT.plural });
    await settle(cloud);
  });

  test('provider azure without the injected environment: the IMDS fallback fails (AuthenticationFailed)', async () => {
    await custom.patchNamespacedCustomObject(
      {
        ...GIT,
        name: 'flux-system',
        body: {
          spec: {
            provider: 'azure',
            url: `https://dev.azure.com/${FRESH.organization}/${FRESH.project}/_git/${FRESH.repository}`,
          },
        },
      },
      merge,
    );
    await settle(cloud);
    const ready = readyOf((await custom.getNamespacedCustomObject({ ...GIT, name: 'flux-system' })) as Flux);
    assert.equal(ready.reason, 'AuthenticationFailed');
    assert.equal(
      ready.message,
      'failed to configure authentication options: failed to get access token for Git repository: failed to create provider access token for the controller: ManagedIdentityCredential: failed to authenticate a system assigned identity. The endpoint responded with {"error":"invalid_request","error_description":"Identity not found"}',
    );
  });

  test('spec.serviceAccountName without the ObjectLevelWorkloadIdentity gate: Stalled FeatureGateDisabled', async () => {
    await custom.patchNamespacedCustomObject(
      { ...GIT, name: 'flux-system', body: { spec: { serviceAccountName: 'fleet-reader' } } },
      merge,
    );
    await settle(cloud);
    const repo = (await custom.getNamespacedCustomObject({ ...GIT, name: 'flux-system' })) as Flux;
    assert.equal(repo.spec.serviceAccountName, 'fleet-reader', 'v1.7 knows the field');
    const stalled = repo.status!.conditions!.find((c) => c.type === 'Stalled')!;
    assert.deepEqual(
      [stalled.status, stalled.reason, stalled.message],
      [
        'True',
        'FeatureGateDisabled',
        'to use spec.serviceAccountName for provider authentication please enable the ObjectLevelWorkloadIdentity feature gate in the controller',
      ],
    );
  });
});

describe('a PAT bootstrap (flux bootstrap git --token-auth)', () => {
  let cloud: Cloud;
  after(() => cloud?.stop());

  test('boots Ready over HTTPS with the username/password Secret', async () => {
    cloud = await startCloud({
      state: await stateWith((s) => {
        Object.assign(s.kube.clusters[FRESH.clusterName]!.bootstrap!, {
          secretType: 'basic',
          url: `https://dev.azure.com/${FRESH.organization}/${FRESH.project}/_git/${FRESH.repository}`,
        });
      }),
    });
    // The repository of a PAT bootstrap has the HTTPS URL in gotk-sync.yaml.
    await pushFiles(
      cloud,
      {
        [`${FRESH.clusterPath}/flux-system/gotk-sync.yaml`]: gotkSyncYaml({
          url: `https://dev.azure.com/${FRESH.organization}/${FRESH.project}/_git/${FRESH.repository}`,
          path: FRESH.clusterPath,
        }),
      },
      'PAT bootstrap',
    );
    const custom = kubeConfig(cloud, { admin: true }).makeApiClient(k8s.CustomObjectsApi);
    const core = kubeConfig(cloud, { admin: true }).makeApiClient(k8s.CoreV1Api);
    const secret = await core.readNamespacedSecret({ name: 'flux-system', namespace: NS });
    assert.deepEqual(Object.keys(secret.data ?? {}).sort(), ['password', 'username']);
    await settle(cloud);
    const get = async () => (await custom.getNamespacedCustomObject({ ...GIT, name: 'flux-system' })) as Flux;
    const repo = await get();
    assert.equal(readyOf(repo).status, 'True', readyOf(repo).message);
    assert.deepEqual(repo.spec.secretRef, { name: 'flux-system' });
    assert.match(String(repo.spec.url), /^https:\/\/dev\.azure\.com\//);
  });
});
