/**
 * The Kubernetes reads and the few writes Verify makes, over @kubernetes/client-node. Returns
 * plain objects (null for 404). Errors become KubeError (HTTP status + the API server's Status
 * message) so the shared retry policy can retry 429/5xx and checks can report the message.
 *
 * Writes: TokenRequest (mints a short-lived token, persists nothing), the reconcile request
 * annotation (merge patch, exactly what `flux reconcile` sets) and, on request, deleting a Secret.
 */
import {
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
  type V1Deployment,
  type V1Pod,
  type V1Secret,
  type V1ServiceAccount,
} from '@kubernetes/client-node';
import type { RetryPolicy } from '../http/retry';
import { pooledConfiguration } from './agent';

import {
  KubeError,
  RECONCILE_ANNOTATION,
  toKubeError,
  type FluxKind,
  type FluxObject,
  type TokenResult,
} from './model';
export * from './model';

export class KubeClient {
  private readonly core: CoreV1Api;
  private readonly apps: AppsV1Api;
  private readonly custom: CustomObjectsApi;
  /** Served version per kind, learnt on first read. */
  private readonly served = new Map<string, string>();

  constructor(
    kc: KubeConfig,
    private readonly retry?: RetryPolicy,
  ) {
    // One kept-alive connection per cluster instead of a TLS handshake per request (see agent.ts).
    const config = pooledConfiguration(kc);
    this.core = new CoreV1Api(config);
    this.apps = new AppsV1Api(config);
    this.custom = new CustomObjectsApi(config);
  }

  private async call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    const once = async () => {
      try {
        return await fn();
      } catch (err) {
        throw toKubeError(err, what);
      }
    };
    return this.retry ? this.retry.run(what, once) : once();
  }

  private async orNull<T>(what: string, fn: () => Promise<T>): Promise<T | null> {
    try {
      return await this.call(what, fn);
    } catch (err) {
      if (err instanceof KubeError && err.statusCode === 404) return null;
      throw err;
    }
  }

  getServiceAccount(namespace: string, name: string): Promise<V1ServiceAccount | null> {
    return this.orNull(`GET serviceaccount ${namespace}/${name}`, () =>
      this.core.readNamespacedServiceAccount({ namespace, name }),
    );
  }

  getDeployment(namespace: string, name: string): Promise<V1Deployment | null> {
    return this.orNull(`GET deployment ${namespace}/${name}`, () =>
      this.apps.readNamespacedDeployment({ namespace, name }),
    );
  }

  async listPods(namespace: string, labelSelector: string): Promise<V1Pod[]> {
    const list = await this.call(`LIST pods ${namespace} -l ${labelSelector}`, () =>
      this.core.listNamespacedPod({ namespace, labelSelector }),
    );
    return list.items;
  }

  /** Names of the ServiceAccounts in a namespace. */
  async listServiceAccountNames(namespace: string): Promise<string[]> {
    const list = await this.call(`LIST serviceaccounts ${namespace}`, () =>
      this.core.listNamespacedServiceAccount({ namespace }),
    );
    return list.items.map((a) => a.metadata?.name ?? '').filter(Boolean);
  }

  /**
   * The Flux controllers anywhere in the cluster: Deployments labelled
   * `app.kubernetes.io/part-of=flux` (as `flux install` labels them), with the ServiceAccount each runs as.
   */
  async listFluxControllers(): Promise<{ namespace: string; name: string; serviceAccount: string }[]> {
    const list = await this.call('LIST deployments -A -l app.kubernetes.io/part-of=flux', () =>
      this.apps.listDeploymentForAllNamespaces({ labelSelector: 'app.kubernetes.io/part-of=flux' }),
    );
    return list.items.map((d) => ({
      namespace: d.metadata?.namespace ?? '',
      name: d.metadata?.name ?? '',
      serviceAccount: d.spec?.template?.spec?.serviceAccountName ?? 'default',
    }));
  }

  getSecret(namespace: string, name: string): Promise<V1Secret | null> {
    return this.orNull(`GET secret ${namespace}/${name}`, () => this.core.readNamespacedSecret({ namespace, name }));
  }

  async deleteSecret(namespace: string, name: string): Promise<boolean> {
    const r = await this.orNull(`DELETE secret ${namespace}/${name}`, () =>
      this.core.deleteNamespacedSecret({ namespace, name }),
    );
    return r !== null;
  }

  /**
   * A Flux object in the first served version; null when it does not exist. A 404 on a version
   * may mean "version not served" (e.g. GitRepository v1 on Flux < 2.0) or "no such object": the
   * next version decides; the served version is remembered for later reads and patches.
   */
  async getFluxObject(k: FluxKind, namespace: string, name: string): Promise<FluxObject | null> {
    const known = this.served.get(k.kind);
    for (const version of known ? [known] : k.versions) {
      const obj = await this.orNull(
        `GET ${k.plural}.${k.group}/${version} ${namespace}/${name}`,
        () =>
          this.custom.getNamespacedCustomObject({
            group: k.group,
            version,
            namespace,
            plural: k.plural,
            name,
          }) as Promise<FluxObject>,
      );
      if (obj) {
        this.served.set(k.kind, version);
        return obj;
      }
    }
    return null;
  }

  /** Every object of a kind in a namespace; [] when the kind is not installed. */
  async listFluxObjects(k: FluxKind, namespace: string): Promise<FluxObject[]> {
    const known = this.served.get(k.kind);
    for (const version of known ? [known] : k.versions) {
      const list = await this.orNull(
        `LIST ${k.plural}.${k.group}/${version} ${namespace}`,
        () =>
          this.custom.listNamespacedCustomObject({ group: k.group, version, namespace, plural: k.plural }) as Promise<{
            items?: FluxObject[];
          }>,
      );
      if (list) {
        this.served.set(k.kind, version);
        return list.items ?? [];
      }
    }
    return [];
  }

  /** TokenRequest for a ServiceAccount (what the kubelet's projected volume gets). */
  async requestToken(
    namespace: string,
    serviceAccount: string,
    audience: string,
    expirationSeconds = 600,
  ): Promise<TokenResult> {
    const tr = await this.call(`CREATE token for serviceaccount ${namespace}/${serviceAccount}`, () =>
      this.core.createNamespacedServiceAccountToken({
        namespace,
        name: serviceAccount,
        body: {
          apiVersion: 'authentication.k8s.io/v1',
          kind: 'TokenRequest',
          spec: { audiences: [audience], expirationSeconds },
        },
      }),
    );
    const token = tr.status?.token;
    if (!token)
      throw new KubeError(500, undefined, `TokenRequest for ${namespace}/${serviceAccount} returned no token`);
    const exp = tr.status?.expirationTimestamp;
    return { token, ...(exp ? { expirationTimestamp: exp instanceof Date ? exp.toISOString() : String(exp) } : {}) };
  }

  /** Sets reconcile.fluxcd.io/requestedAt (merge patch), as `flux reconcile` does. */
  async requestReconcile(k: FluxKind, namespace: string, name: string, requestedAt: string): Promise<void> {
    const version = this.served.get(k.kind) ?? k.versions[0];
    await this.call(`PATCH ${k.plural}.${k.group}/${version} ${namespace}/${name}`, () =>
      this.custom.patchNamespacedCustomObject(
        {
          group: k.group,
          version,
          namespace,
          plural: k.plural,
          name,
          body: { metadata: { annotations: { [RECONCILE_ANNOTATION]: requestedAt } } },
        },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      ),
    );
  }
}
