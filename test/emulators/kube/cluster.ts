/**
 * One emulated AKS cluster: its storage, its service-account signing key, the workload controllers
 * (deployments, pods, the workload identity webhook), the simulated Flux controllers, and its facts
 * from the azure state (OIDC issuer, workload identity, tenant), which ARM owns.
 *
 * A cluster whose state has no objects is created the way AKS + `flux bootstrap` leave it (system
 * namespaces, built-in roles, the access grants, Flux components, the bootstrap Secret and
 * gotk-sync objects). The Flux controllers start reconciling on the cluster's first contact (first
 * API request, token request or explicit boot), when every emulated service is wired up.
 */
import * as crypto from 'node:crypto';
import type { CloudContext } from '../core/context';
import type { SigningKey } from '../core/jwt';
import { createSigningKey } from '../core/jwt';
import { clusterIssuerUrl, findCluster } from '../azure/clusters';
import { FluxControllers } from './flux/controllers';
import { fluxComponents, fluxSync } from './flux/install';
import { INTERNAL_ISSUER, mintServiceAccountToken } from './issuer';
import type { KubeAccessGrant, KubeClusterState, KubeObject } from './model';
import { serverSideApply } from './patch';
import { builtinClusterRoleBindings, builtinClusterRoles } from './rbac';
import type { Change } from './store';
import { Store } from './store';
import { Workloads } from './workloads';

export interface ClusterFacts {
  tenantId: string;
  /** The issuer URL exactly as ARM reports it, while the OIDC issuer is enabled. */
  issuerUrl?: string;
  workloadIdentity: boolean;
  resourceGroup?: string;
  azureName?: string;
  /** Managed Entra integration (absent: local accounts only); `azureRbac`: Azure RBAC authorizes too. */
  entra?: { azureRbac: boolean };
}

const SYSTEM_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];

export class KubeCluster {
  readonly store: Store;
  readonly key: SigningKey = createSigningKey();
  readonly workloads: Workloads;
  readonly flux: FluxControllers;
  private boot?: Promise<void>;

  constructor(
    readonly ctx: CloudContext,
    readonly name: string,
    readonly state: KubeClusterState,
    /** The cluster's own API server host (`https://127.0.0.1:{port}`, no path, like an AKS FQDN). */
    private readonly ownUrl?: () => string | undefined,
  ) {
    this.store = new Store(state, ctx.clock);
    this.workloads = new Workloads(
      this.store,
      {
        enabled: () => this.facts().workloadIdentity,
        tenantId: () => this.facts().tenantId,
        authorityHost: () => `${ctx.urls.entra}/`,
      },
      () => this.nowIso(),
    );
    this.flux = new FluxControllers(this);
    this.store.onChange((c) => this.systemControllers(c));
    this.store.onChange((c) => this.workloads.onChange(c));
    this.store.onChange((c) => this.flux.onChange(c));
    if (state.objects.length === 0) this.create();
  }

  nowIso(): string {
    return new Date(this.ctx.clock.now()).toISOString().replace(/\.\d{3}Z$/, 'Z');
  }

  facts(): ClusterFacts {
    const azure = this.ctx.state.azure;
    const tenantId = azure?.tenant?.id ?? '';
    const located = azure?.subscriptions ? findCluster(azure, this.state.resourceId) : undefined;
    if (!located) return { tenantId, workloadIdentity: false };
    return {
      tenantId,
      issuerUrl: clusterIssuerUrl(this.ctx, located.cluster),
      workloadIdentity: located.cluster.workloadIdentity,
      resourceGroup: located.resourceGroup.name,
      azureName: located.cluster.name,
      ...(located.cluster.aadProfile ? { entra: { azureRbac: !!located.cluster.aadProfile.enableAzureRbac } } : {}),
    };
  }

  /** The issuer of new service-account tokens. */
  issuer(): string {
    return this.facts().issuerUrl ?? INTERNAL_ISSUER;
  }

  /**
   * The kubeconfig `server`: a host of its own without a path, as AKS's `https://{fqdn}:443`
   * (kubectl `--raw` and discovery resolve paths from the host). The shared kube host still serves
   * the cluster under `/clusters/{name}` (older dumps and tests).
   */
  serverUrl(): string {
    return this.ownUrl?.() ?? this.pathUrl();
  }

  private pathUrl(): string {
    return `${this.ctx.urls.kube}/clusters/${encodeURIComponent(this.name)}`;
  }

  /** Audiences the API server accepts in service-account tokens (and the TokenRequest default). */
  apiAudiences(): string[] {
    return [...new Set([INTERNAL_ISSUER, this.serverUrl(), this.pathUrl()])];
  }

  mintToken(
    serviceAccount: KubeObject,
    audiences: string[],
    expirationSeconds: number,
    pod?: KubeObject,
  ): { token: string; exp: number } {
    return mintServiceAccountToken(this.key, {
      issuer: this.issuer(),
      serviceAccount,
      audiences,
      expirationSeconds,
      nowSeconds: this.ctx.clock.nowSeconds(),
      pod,
    });
  }

  /** Starts the controllers on first contact and waits until the first reconciles are done. */
  ensureBooted(): Promise<void> {
    this.boot ??= this.flux.start();
    return this.boot;
  }

  /** Resolves when no reconcile is queued or running. */
  settled(): Promise<void> {
    return this.flux.idle();
  }

  // ---- creation ----

  private create(): void {
    const ns = this.store.byKind('', 'Namespace')!;
    for (const n of SYSTEM_NAMESPACES)
      this.store.create(ns, {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name: n, labels: { 'kubernetes.io/metadata.name': n } },
      });
    const cr = this.store.byKind('rbac.authorization.k8s.io', 'ClusterRole')!;
    for (const r of builtinClusterRoles()) this.store.create(cr, r);
    const crb = this.store.byKind('rbac.authorization.k8s.io', 'ClusterRoleBinding')!;
    for (const b of builtinClusterRoleBindings()) this.store.create(crb, b);
    for (const r of this.state.roles ?? [])
      this.store.create(cr, {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRole',
        metadata: { name: r.name },
        rules: r.rules,
      });
    (this.state.access ?? []).forEach((g, i) => this.grant(g, i));
    if (this.state.bootstrap) this.installFlux();
  }

  private grant(g: KubeAccessGrant, i: number): void {
    const subjects = [
      ...(g.user ? [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: g.user }] : []),
      ...(g.group ? [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: g.group }] : []),
      ...(g.serviceAccount
        ? [{ kind: 'ServiceAccount', namespace: g.serviceAccount.split(':')[0], name: g.serviceAccount.split(':')[1] }]
        : []),
    ];
    const name = `emulator-access-${i}-${g.role}`;
    const roleRef = { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: g.role };
    if (g.namespace) {
      this.ensureNamespace(g.namespace);
      this.store.create(this.store.byKind('rbac.authorization.k8s.io', 'RoleBinding')!, {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'RoleBinding',
        metadata: { name, namespace: g.namespace },
        roleRef,
        subjects,
      });
    } else {
      this.store.create(this.store.byKind('rbac.authorization.k8s.io', 'ClusterRoleBinding')!, {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRoleBinding',
        metadata: { name },
        roleRef,
        subjects,
      });
    }
  }

  ensureNamespace(name: string): void {
    const ns = this.store.byKind('', 'Namespace')!;
    if (!this.store.get(ns, undefined, name))
      this.store.create(ns, {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name, labels: { 'kubernetes.io/metadata.name': name } },
      });
  }

  /** What `flux bootstrap` does to a cluster: install the components, write the Git Secret, apply gotk-sync. */
  private installFlux(): void {
    const b = this.state.bootstrap!;
    const objects = [...fluxComponents({ version: b.version, namespace: b.namespace, components: b.components })];
    for (const o of objects) this.putObject(o, 'flux');
    // A PAT bootstrap without an explicit password gets a token the Azure DevOps emulator accepts (the build identity's).
    const password = b.secretType === 'basic' ? (b.password ?? this.ctx.devops.systemAccessToken()) : undefined;
    this.putObject(bootstrapSecret(b.namespace, b.secretName, b.secretType, password), 'flux');
    for (const o of fluxSync({
      namespace: b.namespace,
      url: b.url,
      branch: b.branch,
      path: b.path,
      secretName: b.secretName,
    }))
      this.putObject(o, 'flux');
  }

  /** Server-side applies an object in-process as `manager` (the flux CLI's install / bootstrap writes). */
  putObject(o: KubeObject, manager: string): KubeObject {
    const def = this.store.forObject(o.apiVersion, o.kind);
    if (!def) throw new Error(`the cluster does not serve ${o.apiVersion} ${o.kind}`);
    if (def.namespaced && o.metadata.namespace) this.ensureNamespace(o.metadata.namespace);
    const live = this.store.get(def, o.metadata.namespace, o.metadata.name);
    const merged = serverSideApply(live, o, manager, this.nowIso());
    if (!live) return this.store.create(def, merged);
    merged.status = live.status;
    return this.store.update(def, merged);
  }

  /** The namespace controller's side effects: a `default` ServiceAccount and the root CA ConfigMap per namespace. */
  private systemControllers(c: Change): void {
    if (c.def.kind !== 'Namespace' || c.type !== 'ADDED') return;
    const n = c.obj.metadata.name;
    const sa = this.store.byKind('', 'ServiceAccount')!;
    if (!this.store.get(sa, n, 'default'))
      this.store.create(sa, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default', namespace: n } });
    const cm = this.store.byKind('', 'ConfigMap')!;
    if (!this.store.get(cm, n, 'kube-root-ca.crt'))
      this.store.create(cm, {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'kube-root-ca.crt', namespace: n },
        data: { 'ca.crt': this.ctx.ca.caCert },
      });
  }
}

/** The Secret `flux bootstrap` writes: SSH (identity, identity.pub, known_hosts) or basic auth (a PAT). */
function bootstrapSecret(namespace: string, name: string, type: 'ssh' | 'basic', password?: string): KubeObject {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  if (type === 'basic') {
    return {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name, namespace },
      type: 'Opaque',
      data: { username: b64('git'), password: b64(password ?? 'emulated-pat') },
    };
  }
  const { privateKey, publicKey } = crypto.generateKeyPairSync('ed25519');
  const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
  const str = (b: Buffer) => {
    const l = Buffer.alloc(4);
    l.writeUInt32BE(b.length);
    return Buffer.concat([l, b]);
  };
  const pub = `ssh-ed25519 ${Buffer.concat([str(Buffer.from('ssh-ed25519')), str(raw)]).toString('base64')}`;
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, namespace },
    type: 'Opaque',
    data: {
      identity: b64(privateKey.export({ format: 'pem', type: 'pkcs8' }).toString()),
      'identity.pub': b64(`${pub}\n`),
      known_hosts: b64(
        'ssh.dev.azure.com ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7Hr1oTWqNqOlzGJOfGJ4NakVyIzf1rXYd4d7wo6jBlkLvCA4odBlL0mDUyZ0/QUfTTqeu+tm22gOsv+VrVTMk6vwRU75gY/y9ut5Mb3bR5BV58dKXyq9A9UeB5Cakehn5Zgm6x1mKoVyf+FFn26iYqXJRgzIZZcZ5V6hrE0Qg39kZm4az48o0AUbf6Sp4SLdvnuMa2sVNwHBboS7EJkm57XQPVU3/QpyNLHbWDdzwtrlS+ez30S3AdYhLKEOxAG8weOnyrtLJAUen9mTkol8oII1edf7mWWbWVf0nBmly21+nZcmCTISQBtdcyPaEno7fFQMDD26/s0lfKob4Kw8H\n',
      ),
    },
  };
}
