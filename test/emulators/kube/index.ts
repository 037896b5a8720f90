/**
 * The kube service folder: the Kubernetes API server of every emulated AKS cluster (host `kube`),
 * the AKS OIDC issuer (host `aks-issuer`) and the KubeHooks ARM calls (kubeconfig,
 * clusterUpdated). Tests reach the live clusters through `kubeRuntime(ctx)` (e.g. to wait until
 * the simulated Flux controllers are idle).
 */
import type { CloudContext, KubeHooks } from '../core/context';
import type { ServiceSet } from '../core/service';
import { startHost, type Host } from '../core/host';
import { issueClientCertificate } from '../core/tls';
import { allClusters, findCluster } from '../azure/clusters';
import { kubeApiHandler } from './apiserver';
import { KubeCluster } from './cluster';
import { issuerHandler } from './issuer';
import { adminKubeconfig, certificateUserKubeconfig, tokenKubeconfig, userKubeconfig } from './kubeconfig';
import type { KubeClusterState } from './model';

export class KubeRuntime {
  private readonly live = new Map<string, KubeCluster>();
  private readonly hosts = new Map<string, Host>();
  private readonly starting = new Map<string, Promise<void>>();
  private adminCert?: { cert: string; key: string };

  constructor(readonly ctx: CloudContext) {
    this.ctx.state.kube ??= { clusters: {} };
    this.ctx.state.kube.clusters ??= {};
    // Every AKS cluster of the azure section has a cluster behind it (empty when the state says nothing).
    if (ctx.state.azure?.subscriptions) {
      for (const c of allClusters(ctx.state.azure)) this.ensureState(c.id, c.cluster.name, c.cluster.kubernetesVersion);
    }
  }

  private ensureState(resourceId: string, name: string, kubernetesVersion?: string): string {
    const clusters = this.ctx.state.kube.clusters;
    const existing = Object.entries(clusters).find(([, s]) => s.resourceId.toLowerCase() === resourceId.toLowerCase());
    if (existing) return existing[0];
    let key = name;
    for (let i = 2; clusters[key]; i++) key = `${name}-${i}`;
    const state: KubeClusterState = { resourceId, objects: [] };
    if (kubernetesVersion) state.kubernetesVersion = kubernetesVersion;
    clusters[key] = state;
    return key;
  }

  /** The live cluster of that name (created from the state on first use). */
  cluster(name: string): KubeCluster | undefined {
    const state = this.ctx.state.kube.clusters[name];
    if (!state) return undefined;
    let c = this.live.get(name);
    if (!c || c.state !== state) {
      void c?.flux.stop();
      c = new KubeCluster(this.ctx, name, state, () => this.hostOf(name));
      this.live.set(name, c);
    }
    return c;
  }

  clusterByResourceId(resourceId: string): KubeCluster | undefined {
    const located = this.ctx.state.azure?.subscriptions ? findCluster(this.ctx.state.azure, resourceId) : undefined;
    const known = Object.entries(this.ctx.state.kube.clusters).find(
      ([, s]) => s.resourceId.toLowerCase() === resourceId.toLowerCase(),
    );
    if (!known && !located) return undefined;
    const name = known
      ? known[0]
      : this.ensureState(resourceId, located!.cluster.name, located!.cluster.kubernetesVersion);
    return this.cluster(name);
  }

  /**
   * The API server host of one cluster (a port of its own, like an AKS FQDN), or undefined while it
   * starts: clusters of the state get theirs before the cloud is up, a cluster ARM creates later on
   * its first mention (its kubeconfig is read after the create has finished).
   */
  private hostOf(name: string): string | undefined {
    const h = this.hosts.get(name);
    if (h) return h.url;
    void this.startHost(name);
    return undefined;
  }

  private startHost(name: string): Promise<void> {
    let p = this.starting.get(name);
    if (!p) {
      const api = kubeApiHandler((n) => this.cluster(n));
      const prefix = `/clusters/${encodeURIComponent(name)}`;
      p = startHost({
        name: 'kube',
        ca: this.ctx.ca,
        journal: this.ctx.journal,
        faults: this.ctx.faults,
        clock: this.ctx.clock,
        requestClientCert: true,
        handler: (req, res) => api({ ...req, path: `${prefix}${req.path === '/' ? '' : req.path}` }, res),
      }).then((h) => {
        this.hosts.set(name, h);
      });
      this.starting.set(name, p);
    }
    return p;
  }

  /** Starts the API server host of every cluster of the state. */
  async startHosts(): Promise<void> {
    await Promise.all(this.names().map((n) => this.startHost(n)));
  }

  names(): string[] {
    return Object.keys(this.ctx.state.kube.clusters);
  }

  /** Resolves when no cluster has a reconcile queued or running. */
  async settled(): Promise<void> {
    for (const c of this.live.values()) await c.settled();
  }

  readonly hooks: KubeHooks = {
    kubeconfig: (resourceId, kind) => {
      const c = this.clusterByResourceId(resourceId);
      if (!c) throw new Error(`no emulated cluster for ${resourceId}`);
      const facts = c.facts();
      const base = {
        clusterName: c.facts().azureName ?? c.name,
        server: c.serverUrl(),
        caCert: this.ctx.ca.caCert,
        resourceGroup: facts.resourceGroup ?? 'rg',
      };
      // Local accounts (a cluster without Entra integration, or the admin credentials of any
      // cluster): a client certificate for masterclient / system:masters. On a cluster without
      // Entra integration the user credentials are that certificate too (control-kubeconfig-access.md:
      // without Entra, both roles download a cluster-admin kubeconfig).
      this.adminCert ??= issueClientCertificate(this.ctx.ca, 'masterclient', 'system:masters');
      const cert = { clientCert: this.adminCert.cert, clientKey: this.adminCert.key };
      if (kind === 'admin') return adminKubeconfig({ ...base, ...cert });
      if (!facts.entra) return certificateUserKubeconfig({ ...base, ...cert });
      return userKubeconfig({ ...base, tenantId: facts.tenantId });
    },
    clusterUpdated: (resourceId) => {
      // Facts (issuer, workload identity) are read live from the azure state; make sure a new cluster exists.
      this.clusterByResourceId(resourceId)?.serverUrl();
    },
  };

  /** A kubeconfig with a static bearer token (tests, Kubernetes service connections). */
  tokenKubeconfig(clusterName: string, token: string): string {
    const c = this.cluster(clusterName);
    if (!c) throw new Error(`no emulated cluster '${clusterName}'`);
    return tokenKubeconfig({ clusterName, server: c.serverUrl(), caCert: this.ctx.ca.caCert, token });
  }

  async stop(): Promise<void> {
    await Promise.all([...this.live.values()].map((c) => c.flux.stop()));
    await Promise.all([...this.starting.values()]);
    await Promise.all([...this.hosts.values()].map((h) => h.close()));
  }
}

/**
 * One registry per process, not per module instance: the cloud loads this folder through a dynamic
 * import, and a test importing it again (another loader, another instance) must still find it.
 */
const REGISTRY = Symbol.for('flux-oidc.emulators.kubeRuntimes');
const runtimes: WeakMap<CloudContext, KubeRuntime> = ((globalThis as Record<symbol, unknown>)[REGISTRY] ??=
  new WeakMap()) as WeakMap<CloudContext, KubeRuntime>;

/** The kube runtime of a cloud (tests: settle reconciles, static-token kubeconfigs, direct cluster access). */
export function kubeRuntime(ctx: CloudContext): KubeRuntime {
  const r = runtimes.get(ctx);
  if (!r) throw new Error('the kube services of this cloud were not created (createKubeServices)');
  return r;
}

export async function createKubeServices(ctx: CloudContext): Promise<ServiceSet> {
  const rt = new KubeRuntime(ctx);
  runtimes.set(ctx, rt);
  await rt.startHosts();
  return {
    handlers: {
      kube: kubeApiHandler((name) => rt.cluster(name)),
      'aks-issuer': issuerHandler(() =>
        rt.names().flatMap((n) => {
          const c = rt.cluster(n);
          const url = c?.facts().issuerUrl;
          return c && url ? [{ url, key: c.key }] : [];
        }),
      ),
    },
    hooks: { kube: rt.hooks },
    stop: () => rt.stop(),
  };
}
