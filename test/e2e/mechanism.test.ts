/**
 * The mechanism itself, end to end on the composed emulated cloud, without the product's tasks:
 * what a platform engineer does by hand (ARM through the Azure SDKs, the repository through git,
 * the Azure DevOps organization through its state) and what the simulated Flux controllers then
 * report. Each classic mistake must fail with the controller's real message.
 */
import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as k8s from '@kubernetes/client-node';
import { ClientSecretCredential } from '@azure/identity';
import { ContainerServiceClient } from '@azure/arm-containerservice';
import { ManagedServiceIdentityClient } from '@azure/arm-msi';
import { E2E_TIME_SCALE, startCloud, type Cloud } from '../emulators/cloud';
import { addApp, entraOptions } from '../emulators/azure/testing';
import { GROUP_IDS } from '../emulators/devops/ids';
import { buildScenario, HOST_NAMES } from '../emulators/scenarios';
import type { CloudUrls } from '../emulators/core/context';
import { FRESH } from '../emulators/names';
import { gotkComponentsYaml } from '../emulators/kube/flux/install';
import { FRESH_COMPONENTS } from '../emulators/kube/scenario';
import { kubeConfig, pushFiles, readRepoFile, settle, workloadIdentityKustomization } from '../emulators/kube/testing';

const NS = FRESH.fluxNamespace;
const RG = FRESH.resourceGroup;
const KUSTOMIZATION = `${FRESH.clusterPath}/flux-system/kustomization.yaml`;
const HTTPS_URL = `https://dev.azure.com/${FRESH.organization}/${FRESH.project}/_git/${FRESH.repository}`;
const merge = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);
const GIT = { group: 'source.toolkit.fluxcd.io', version: 'v1', namespace: NS, plural: 'gitrepositories' };

interface Condition {
  type: string;
  status: string;
  reason: string;
  message: string;
}
interface FluxObject {
  spec: Record<string, unknown>;
  status?: {
    conditions?: Condition[];
    artifact?: { revision: string };
    lastAppliedRevision?: string;
    lastPushCommit?: string;
  };
}

/** A cloud with clients for everything a platform engineer touches. */
class Bench {
  custom!: k8s.CustomObjectsApi;
  core!: k8s.CoreV1Api;
  aks!: ContainerServiceClient;
  msi!: ManagedServiceIdentityClient;
  identity?: { clientId: string; principalId: string };
  issuer?: string;
  private devopsKey?: string;

  constructor(readonly cloud: Cloud) {
    const app = addApp(cloud, { name: 'platform-engineer', role: 'Owner' });
    const cred = new ClientSecretCredential(FRESH.tenantId, app.appId, app.secret, entraOptions(cloud));
    this.aks = new ContainerServiceClient(cred, FRESH.subscriptionId, {
      endpoint: cloud.ctx.urls.arm,
      credentials: { scopes: ['https://management.azure.com/.default'] },
    });
    this.msi = new ManagedServiceIdentityClient(cred, FRESH.subscriptionId, {
      endpoint: cloud.ctx.urls.arm,
      credentialScopes: ['https://management.azure.com/.default'],
    });
  }

  /** First contact with the cluster: it boots (Flux reconciles from the repository). */
  async connect(): Promise<void> {
    const kc = kubeConfig(this.cloud, { admin: true });
    this.custom = kc.makeApiClient(k8s.CustomObjectsApi);
    this.core = kc.makeApiClient(k8s.CoreV1Api);
    await this.core.listNamespace();
    await settle(this.cloud);
  }

  /** `az aks update --enable-oidc-issuer --enable-workload-identity`. */
  async enableWorkloadIdentity(): Promise<void> {
    const c = await this.aks.managedClusters.get(RG, FRESH.clusterName);
    const done = await this.aks.managedClusters.beginCreateOrUpdateAndWait(RG, FRESH.clusterName, {
      ...c,
      oidcIssuerProfile: { enabled: true },
      securityProfile: { ...c.securityProfile, workloadIdentity: { enabled: true } },
    });
    this.issuer = done.oidcIssuerProfile!.issuerURL!;
    assert.ok(this.issuer.endsWith('/'));
  }

  /** The user-assigned identity and one federated credential per controller. */
  async createIdentity(): Promise<void> {
    const id = await this.msi.userAssignedIdentities.createOrUpdate(RG, FRESH.identityName, {
      location: FRESH.location,
    });
    this.identity = { clientId: id.clientId!, principalId: id.principalId! };
    for (const sa of ['source-controller', 'image-automation-controller']) await this.setFic(sa, {});
  }

  async setFic(sa: string, o: { subject?: string; issuer?: string }): Promise<void> {
    await this.msi.federatedIdentityCredentials.createOrUpdate(RG, FRESH.identityName, `flux-${sa}`, {
      issuer: o.issuer ?? this.issuer!,
      subject: o.subject ?? `system:serviceaccount:${NS}:${sa}`,
      audiences: ['api://AzureADTokenExchange'],
    });
  }

  /** Adds the identity to the organization (Basic) in a group with Git rights on the project. */
  onboard(o: { license?: 'express' | 'stakeholder'; group?: 'contributors' | 'readers' } = {}): void {
    const devops = this.cloud.ctx.state.devops;
    this.offboard();
    this.devopsKey = crypto.randomUUID();
    devops.principals.push({
      kind: 'servicePrincipal',
      id: this.devopsKey,
      displayName: FRESH.identityName,
      originId: this.identity!.principalId,
      applicationId: this.identity!.clientId,
      license: o.license ?? 'express',
      dateCreated: new Date().toISOString(),
    });
    devops.groups.find((g) => g.id === GROUP_IDS[o.group ?? 'contributors'])!.members.push(this.devopsKey);
  }

  offboard(): void {
    if (!this.devopsKey) return;
    const devops = this.cloud.ctx.state.devops;
    devops.principals = devops.principals.filter((p) => p.id !== this.devopsKey);
    for (const g of devops.groups) g.members = g.members.filter((m) => m !== this.devopsKey);
    this.devopsKey = undefined;
  }

  async get(kind: 'gitrepositories' | 'kustomizations', name = 'flux-system'): Promise<FluxObject> {
    const group =
      kind === 'gitrepositories'
        ? GIT
        : { group: 'kustomize.toolkit.fluxcd.io', version: 'v1', namespace: NS, plural: 'kustomizations' };
    return (await this.custom.getNamespacedCustomObject({ ...group, name })) as FluxObject;
  }

  /** `flux reconcile source git flux-system` (the annotation), then waits until the controllers are idle. */
  async reconcile(plural = 'gitrepositories', name = 'flux-system', group = GIT): Promise<void> {
    await this.custom.patchNamespacedCustomObject(
      {
        ...group,
        plural,
        name,
        body: {
          metadata: {
            annotations: {
              'reconcile.fluxcd.io/requestedAt':
                new Date(this.cloud.ctx.clock.now()).toISOString() + crypto.randomUUID().slice(0, 4),
            },
          },
        },
      },
      merge,
    );
    await settle(this.cloud);
  }

  async ready(kind: 'gitrepositories' | 'kustomizations' = 'gitrepositories'): Promise<Condition> {
    const o = await this.get(kind);
    return o.status!.conditions!.find((c) => c.type === 'Ready')!;
  }

  async sourcePodEnv(): Promise<Record<string, string>> {
    const pods = (await this.core.listNamespacedPod({ namespace: NS, labelSelector: 'app=source-controller' })).items;
    assert.equal(pods.length, 1);
    return Object.fromEntries(
      (pods[0]!.spec!.containers[0]!.env ?? []).filter((e) => e.value).map((e) => [e.name, e.value!]),
    );
  }
}

/** The article's setup, by hand: OIDC + WI on, identity + FICs, identity in the org, patches in the repo. */
async function convergeByHand(b: Bench): Promise<string> {
  await b.enableWorkloadIdentity();
  await b.createIdentity();
  b.onboard();
  const sha = await pushFiles(
    b.cloud,
    {
      [KUSTOMIZATION]: workloadIdentityKustomization({ clientId: b.identity!.clientId, tenantId: FRESH.tenantId }),
      'apps/podinfo/deployment.yaml':
        'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: podinfo\n  namespace: default\nspec:\n  template:\n    spec:\n      containers:\n      - name: podinfo\n        image: ghcr.io/stefanprodan/podinfo:6.7.0 # {"$imagepolicy": "flux-system:podinfo"}\n',
    },
    'Flux: authenticate to Azure DevOps with workload identity',
  );
  await b.reconcile();
  return sha;
}

describe('Flux 2.4 on AKS, from an SSH bootstrap to workload identity', () => {
  let cloud: Cloud;
  let b: Bench;
  let head: string;

  before(async () => {
    cloud = await startCloud({ timeScale: E2E_TIME_SCALE, scenario: 'fresh' });
    b = new Bench(cloud);
  });
  after(() => cloud.stop());

  test('a bootstrapped cluster is Ready with SSH', async () => {
    await b.connect();
    const repo = await b.get('gitrepositories');
    const ready = await b.ready();
    assert.equal(ready.status, 'True');
    assert.equal(ready.reason, 'Succeeded');
    assert.match(ready.message, /^stored artifact for revision 'main@sha1:[0-9a-f]{40}'$/);
    assert.match(String(repo.spec.url), /^ssh:\/\/git@ssh\.dev\.azure\.com\/v3\//);
    const ks = await b.ready('kustomizations');
    assert.equal(ks.reason, 'ReconciliationSucceeded');
    assert.equal(ks.message, `Applied revision: ${repo.status!.artifact!.revision}`);
  });

  test('hand-applied patches + OIDC/WI + federated credentials: GitRepository Ready with provider azure', async () => {
    head = await convergeByHand(b);
    const repo = await b.get('gitrepositories');
    assert.equal(repo.spec.provider, 'azure');
    assert.equal(repo.spec.url, HTTPS_URL);
    assert.equal(repo.spec.secretRef, undefined);
    const ready = await b.ready();
    assert.deepEqual(
      [ready.status, ready.reason, ready.message],
      ['True', 'Succeeded', `stored artifact for revision 'main@sha1:${head}'`],
    );
    assert.equal((await b.ready('kustomizations')).message, `Applied revision: main@sha1:${head}`);
    const env = await b.sourcePodEnv();
    assert.equal(env.AZURE_CLIENT_ID, b.identity!.clientId);
    assert.equal(env.AZURE_TENANT_ID, FRESH.tenantId);
    assert.ok(
      cloud.ctx.journal.count({ service: 'entra', path: '/oauth2/v2.0/token' }) > 0,
      'the controller exchanged its token at Entra',
    );
  });

  test('FIC subject typo: AADSTS700213 wrapped like source-controller 1.4', async () => {
    await b.setFic('source-controller', { subject: `system:serviceaccount:${NS}:source-controler` });
    await b.reconcile();
    const ready = await b.ready();
    assert.equal(ready.status, 'False');
    assert.equal(ready.reason, 'GitOperationFailed');
    assert.match(
      ready.message,
      /^failed to checkout and determine revision: DefaultAzureCredential: failed to acquire a token\./,
    );
    assert.match(ready.message, /WorkloadIdentityCredential authentication failed/);
    assert.match(
      ready.message,
      /AADSTS70021[0-9]*: No matching federated identity record found for presented assertion/,
    );
    await b.setFic('source-controller', {});
    await b.reconcile();
    assert.equal((await b.ready()).status, 'True');
  });

  test('issuer without trailing slash in the federated credential: AADSTS700211 / 70021', async () => {
    await b.setFic('source-controller', { issuer: b.issuer!.replace(/\/$/, '') });
    await b.reconcile();
    const ready = await b.ready();
    assert.equal(ready.status, 'False');
    assert.match(
      ready.message,
      /AADSTS(700211|70021): No matching federated identity record found for presented assertion/,
    );
    await b.setFic('source-controller', {});
    await b.reconcile();
    assert.equal((await b.ready()).status, 'True');
  });

  test('identity not in the Azure DevOps organization: TF401444', async () => {
    b.offboard();
    await b.reconcile();
    const ready = await b.ready();
    assert.equal(ready.reason, 'GitOperationFailed');
    assert.match(
      ready.message,
      new RegExp(
        `^failed to checkout and determine revision: unable to clone '${HTTPS_URL}': authentication required: TF401444: Please sign-in at least once as ${FRESH.tenantId}\\\\${FRESH.tenantId}\\\\${b.identity!.principalId}`,
      ),
    );
  });

  test('Stakeholder licence: TF401019, the repository is not visible', async () => {
    b.onboard({ license: 'stakeholder' });
    await b.reconcile();
    const ready = await b.ready();
    assert.equal(ready.status, 'False');
    assert.match(
      ready.message,
      /TF401019: The Git repository with name or identifier fleet does not exist or you do not have permissions/,
    );
    b.onboard();
    await b.reconcile();
    assert.equal((await b.ready()).status, 'True');
  });

  test('image automation without Contribute: TF401027 on push; with Contribute the commit lands', async () => {
    b.onboard({ group: 'readers' });
    const image = { group: 'image.toolkit.fluxcd.io', version: 'v1beta2', namespace: NS };
    await b.custom.createNamespacedCustomObject({
      ...image,
      plural: 'imagerepositories',
      body: {
        apiVersion: 'image.toolkit.fluxcd.io/v1beta2',
        kind: 'ImageRepository',
        metadata: { name: 'podinfo' },
        spec: { image: 'ghcr.io/stefanprodan/podinfo', interval: '5m' },
      },
    });
    await b.custom.createNamespacedCustomObject({
      ...image,
      plural: 'imagepolicies',
      body: {
        apiVersion: 'image.toolkit.fluxcd.io/v1beta2',
        kind: 'ImagePolicy',
        metadata: { name: 'podinfo' },
        spec: { imageRepositoryRef: { name: 'podinfo' }, policy: { semver: { range: '6.x' } } },
      },
    });
    await b.custom.createNamespacedCustomObject({
      ...image,
      plural: 'imageupdateautomations',
      body: {
        apiVersion: 'image.toolkit.fluxcd.io/v1beta2',
        kind: 'ImageUpdateAutomation',
        metadata: { name: 'fleet' },
        spec: {
          interval: '30m',
          sourceRef: { kind: 'GitRepository', name: 'flux-system' },
          git: {
            checkout: { ref: { branch: 'main' } },
            commit: {
              author: { name: 'fluxcdbot', email: 'fluxcdbot@users.noreply.github.com' },
              messageTemplate: 'chore: update images',
            },
            push: { branch: 'main' },
          },
          update: { path: './apps', strategy: 'Setters' },
        },
      },
    });
    await settle(cloud);
    const iua = () =>
      b.custom.getNamespacedCustomObject({
        ...image,
        plural: 'imageupdateautomations',
        name: 'fleet',
      }) as Promise<FluxObject>;
    let ready = (await iua()).status!.conditions!.find((c) => c.type === 'Ready')!;
    assert.equal(ready.status, 'False');
    assert.equal(ready.reason, 'GitOperationFailed');
    assert.match(
      ready.message,
      /^failed to update source: command error on refs\/heads\/main: TF401027: You need the Git 'GenericContribute' permission to perform this action/,
    );

    b.onboard({ group: 'contributors' });
    await b.reconcile('imageupdateautomations', 'fleet', { ...image, plural: 'imageupdateautomations' });
    const done = await iua();
    ready = done.status!.conditions!.find((c) => c.type === 'Ready')!;
    assert.deepEqual([ready.status, ready.message], ['True', 'repository up-to-date']);
    assert.match(
      await readRepoFile(cloud, 'apps/podinfo/deployment.yaml'),
      /image: ghcr\.io\/stefanprodan\/podinfo:6\.8\.0 # \{"\$imagepolicy": "flux-system:podinfo"\}/,
    );
    assert.match(done.status!.lastPushCommit!, /^[0-9a-f]{40}$/);
  });

  test('secretRef kept with a PAT Secret (Flux 2.4): basic auth and bearer token cannot be set at the same time', async () => {
    await b.core.replaceNamespacedSecret({
      name: 'flux-system',
      namespace: NS,
      body: { metadata: { name: 'flux-system' }, type: 'Opaque', stringData: { username: 'git', password: 'a-pat' } },
    });
    await pushFiles(
      cloud,
      {
        [KUSTOMIZATION]: workloadIdentityKustomization({
          clientId: b.identity!.clientId,
          tenantId: FRESH.tenantId,
          removeSecretRef: false,
        }),
      },
      'keep secretRef',
    );
    await b.reconcile();
    const repo = await b.get('gitrepositories');
    assert.deepEqual(repo.spec.secretRef, { name: 'flux-system' });
    const ready = await b.ready();
    assert.deepEqual(
      [ready.reason, ready.message],
      [
        'GitOperationFailed',
        'failed to checkout and determine revision: basic auth and bearer token cannot be set at the same time',
      ],
    );
  });

  test('label only on the Deployment metadata: no injected environment, the credential chain fails', async () => {
    // Out of band, as one would: a Secret without username/password no longer conflicts with the token.
    await b.core.replaceNamespacedSecret({
      name: 'flux-system',
      namespace: NS,
      body: { metadata: { name: 'flux-system' }, type: 'Opaque', stringData: { note: 'retired' } },
    });
    await b.reconcile();
    assert.equal((await b.ready()).status, 'True');
    await pushFiles(
      cloud,
      {
        [KUSTOMIZATION]: workloadIdentityKustomization({
          clientId: b.identity!.clientId,
          tenantId: FRESH.tenantId,
          labelOn: 'metadata',
        }),
      },
      'label on the Deployment',
    );
    await b.reconcile();
    const env = await b.sourcePodEnv();
    assert.equal(env.AZURE_CLIENT_ID, undefined, 'the rolled pod was not mutated');
    const ready = await b.ready();
    assert.equal(ready.status, 'False');
    assert.match(
      ready.message,
      /^failed to checkout and determine revision: DefaultAzureCredential: failed to acquire a token\.\nAttempted credentials:\n\tEnvironmentCredential: missing environment variable AZURE_TENANT_ID\n\tWorkloadIdentityCredential: no client ID specified\. Check pod configuration or set ClientID in the options\n\tManagedIdentityCredential: /,
    );
  });
});

/** The fresh scenario with URLs as placeholders (startCloud fills them in) and a hook to change it. */
async function freshState(change: (s: Awaited<ReturnType<typeof buildScenario>>) => void) {
  const placeholders = Object.fromEntries(HOST_NAMES.map((h) => [h, `\${${h}}`])) as CloudUrls;
  const s = await buildScenario('fresh', placeholders);
  change(s);
  return s;
}

describe('Flux 2.3: source-controller 1.3 does not know provider', () => {
  let cloud: Cloud;
  after(() => cloud?.stop());

  test('the CRD prunes provider: the repository is read anonymously and Azure DevOps refuses', async () => {
    cloud = await startCloud({
      timeScale: E2E_TIME_SCALE,
      state: await freshState((s) => {
        s.kube.clusters[FRESH.clusterName]!.bootstrap!.version = '2.3.0';
      }),
    });
    const b = new Bench(cloud);
    await b.enableWorkloadIdentity();
    await b.createIdentity();
    b.onboard();
    await pushFiles(
      cloud,
      {
        [`${FRESH.clusterPath}/flux-system/gotk-components.yaml`]: gotkComponentsYaml({
          version: '2.3.0',
          components: FRESH_COMPONENTS,
        }),
        [KUSTOMIZATION]: workloadIdentityKustomization({ clientId: b.identity!.clientId, tenantId: FRESH.tenantId }),
      },
      'Flux 2.3 with workload identity patches',
    );
    await b.connect();
    const repo = await b.get('gitrepositories');
    assert.equal(repo.spec.provider, undefined, 'pruned by the v2.3 CRD');
    assert.equal(repo.spec.url, HTTPS_URL);
    const ready = await b.ready();
    assert.equal(ready.status, 'False');
    assert.match(
      ready.message,
      new RegExp(
        `^failed to checkout and determine revision: unable to clone '${HTTPS_URL}': authentication required: TF400813`,
      ),
    );
  });
});
