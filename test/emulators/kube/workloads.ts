/**
 * The deployment controller and the kubelet, reduced to what a user observes: a Deployment has
 * `replicas` Running pods named `<deployment>-<template hash>-<suffix>`; a pod-template change
 * rolls them (new names); a deleted pod is replaced. Pods are admitted through the Azure Workload
 * Identity mutating webhook (v1.5 behaviour, see Azure/azure-workload-identity pkg/webhook): when
 * workload identity is enabled on the cluster and the POD carries `azure.workload.identity/use:
 * "true"`, its containers get AZURE_CLIENT_ID (only when the ServiceAccount has the client-id
 * annotation), AZURE_TENANT_ID, AZURE_FEDERATED_TOKEN_FILE, AZURE_AUTHORITY_HOST and the
 * projected token volume. The webhook runs at pod creation only, so ServiceAccount changes reach
 * running pods only when they are re-created.
 */
import * as crypto from 'node:crypto';
import type { KubeObject } from './model';
import { clone, isObject } from './patch';
import type { Change, Store } from './store';

export const WI_USE_LABEL = 'azure.workload.identity/use';
export const WI_CLIENT_ID = 'azure.workload.identity/client-id';
export const WI_TENANT_ID = 'azure.workload.identity/tenant-id';
export const WI_TOKEN_DIR = '/var/run/secrets/azure/tokens';
export const WI_TOKEN_FILE = `${WI_TOKEN_DIR}/azure-identity-token`;
const WI_VOLUME = 'azure-identity-token';

export interface WebhookConfig {
  /** Workload identity enabled on the cluster (the AKS add-on deploys the webhook). */
  enabled(): boolean;
  /** The webhook's AZURE_TENANT_ID (the cluster's tenant). */
  tenantId(): string;
  /** The webhook's AZURE_AUTHORITY_HOST (the emulated Entra, with a trailing slash). */
  authorityHost(): string;
}

/** Kubernetes' SafeEncodeString alphabet (no vowels, no look-alikes). */
const SAFE = 'bcdfghjklmnpqrstvwxz2456789';
function safeEncode(bytes: Buffer, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += SAFE[bytes[i]! % SAFE.length];
  return s;
}

/** The pod-template-hash: a digest of the template, independent of key order. */
export function templateHash(template: unknown): string {
  return safeEncode(
    crypto
      .createHash('sha256')
      .update(JSON.stringify(sortKeys(template ?? {})))
      .digest(),
    10,
  );
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (!isObject(v)) return v;
  return Object.fromEntries(
    Object.keys(v)
      .sort()
      .map((k) => [k, sortKeys(v[k])]),
  );
}

const NODE = 'aks-nodepool1-31718369-vmss000000';

export class Workloads {
  private counter = 0;

  constructor(
    private readonly store: Store,
    private readonly webhook: WebhookConfig,
    private readonly now: () => string,
  ) {}

  private get deployments() {
    return this.store.byKind('apps', 'Deployment')!;
  }
  private get pods() {
    return this.store.byKind('', 'Pod')!;
  }

  /** Reacts to writes (wired to Store.onChange). */
  onChange(c: Change): void {
    if (c.def.kind === 'Deployment' && c.def.group === 'apps') {
      if (c.type === 'DELETED') {
        for (const p of this.podsOf(c.obj)) this.store.delete(this.pods, p.metadata.namespace, p.metadata.name);
      } else if (c.type === 'ADDED' || specChanged(c)) {
        this.sync(c.obj);
      }
    } else if (c.def.kind === 'Pod' && c.type === 'DELETED') {
      const owner = this.ownerOf(c.obj);
      if (owner) this.sync(owner);
    } else if (c.def.kind === 'ServiceAccount' && c.type === 'ADDED') {
      // Pods that could not be admitted for lack of their ServiceAccount are created now.
      for (const d of this.store.list(this.deployments, c.obj.metadata.namespace)) {
        const sa =
          (d.spec as { template?: { spec?: { serviceAccountName?: string } } }).template?.spec?.serviceAccountName ??
          'default';
        if (sa === c.obj.metadata.name) this.sync(d);
      }
    }
  }

  private ownerOf(pod: KubeObject): KubeObject | undefined {
    const name = deploymentNameOf(pod);
    return name ? this.store.get(this.deployments, pod.metadata.namespace, name) : undefined;
  }

  podsOf(d: KubeObject): KubeObject[] {
    return this.store.list(this.pods, d.metadata.namespace).filter((p) => deploymentNameOf(p) === d.metadata.name);
  }

  /** Brings a Deployment's pods and status in line with its spec. */
  sync(d: KubeObject): void {
    const spec = (d.spec ?? {}) as {
      replicas?: number;
      template?: {
        metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
        spec?: Record<string, unknown>;
      };
      paused?: boolean;
    };
    const hash = templateHash(spec.template);
    const want = spec.replicas ?? 1;
    const pods = this.podsOf(d);
    for (const p of pods) {
      if (p.metadata.labels?.['pod-template-hash'] !== hash)
        this.store.delete(this.pods, p.metadata.namespace, p.metadata.name);
    }
    let current = this.podsOf(d);
    let admissionError: string | undefined;
    while (current.length < want) {
      const pod = this.newPod(d, hash);
      if (typeof pod === 'string') {
        admissionError = pod;
        break;
      }
      this.store.create(this.pods, pod);
      current = this.podsOf(d);
    }
    for (const extra of current.slice(want))
      this.store.delete(this.pods, extra.metadata.namespace, extra.metadata.name);
    current = this.podsOf(d);
    this.updateStatus(d, current.length, admissionError);
  }

  private updateStatus(d: KubeObject, ready: number, admissionError: string | undefined): void {
    const fresh = this.store.get(this.deployments, d.metadata.namespace, d.metadata.name);
    if (!fresh) return;
    const want = (fresh.spec as { replicas?: number }).replicas ?? 1;
    const at = this.now();
    const old = (fresh.status ?? {}) as {
      conditions?: { type: string; lastTransitionTime?: string; status?: string }[];
    };
    const cond = (type: string, status: string, reason: string, message: string) => {
      const prev = old.conditions?.find((c) => c.type === type);
      const transition = prev && prev.status === status ? prev.lastTransitionTime : at;
      return { type, status, lastUpdateTime: transition, lastTransitionTime: transition, reason, message };
    };
    const rs = `${d.metadata.name}-${templateHash((fresh.spec as { template?: unknown }).template)}`;
    const conditions = [
      cond(
        'Available',
        ready >= want ? 'True' : 'False',
        ready >= want ? 'MinimumReplicasAvailable' : 'MinimumReplicasUnavailable',
        ready >= want ? 'Deployment has minimum availability.' : 'Deployment does not have minimum availability.',
      ),
      cond('Progressing', 'True', 'NewReplicaSetAvailable', `ReplicaSet "${rs}" has successfully progressed.`),
    ];
    if (admissionError) conditions.push(cond('ReplicaFailure', 'True', 'FailedCreate', admissionError));
    const status: Record<string, unknown> = {
      observedGeneration: fresh.metadata.generation,
      replicas: ready,
      updatedReplicas: ready,
      readyReplicas: ready,
      availableReplicas: ready,
      conditions,
    };
    if (ready === 0) {
      delete status.readyReplicas;
      delete status.availableReplicas;
      status.unavailableReplicas = want;
    }
    if (JSON.stringify(stripTimes(fresh.status)) === JSON.stringify(stripTimes(status))) return;
    this.store.update(this.deployments, { ...fresh, status });
  }

  private suffix(seed: string): string {
    this.counter++;
    return safeEncode(
      crypto.createHash('sha256').update(`${seed}/${this.counter}/${this.store.resourceVersion()}`).digest(),
      5,
    );
  }

  /** A new pod for the Deployment, admitted (and mutated) as the API server would; a string is an admission error. */
  private newPod(d: KubeObject, hash: string): KubeObject | string {
    const ns = d.metadata.namespace!;
    const tpl = clone(
      (
        d.spec as {
          template?: {
            metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
            spec?: Record<string, unknown>;
          };
        }
      ).template ?? {},
    );
    const podSpec = (tpl.spec ?? {}) as Record<string, unknown> & {
      containers?: Record<string, unknown>[];
      volumes?: Record<string, unknown>[];
      serviceAccountName?: string;
    };
    const saName = podSpec.serviceAccountName ?? 'default';
    const sa = this.store.get(this.store.byKind('', 'ServiceAccount')!, ns, saName);
    const rsName = `${d.metadata.name}-${hash}`;
    if (!sa)
      return `pods "${rsName}-" is forbidden: error looking up service account ${ns}/${saName}: serviceaccount "${saName}" not found`;
    const name = `${rsName}-${this.suffix(rsName)}`;
    const labels = { ...(tpl.metadata?.labels ?? {}), 'pod-template-hash': hash };
    podSpec.serviceAccountName = saName;
    podSpec.serviceAccount = saName;
    podSpec.nodeName = NODE;
    const containers = (podSpec.containers ?? []).map((c) => clone(c));
    // ServiceAccount admission: the kube-api-access projected volume.
    const apiVolume = `kube-api-access-${this.suffix(name)}`;
    podSpec.volumes = [
      ...(podSpec.volumes ?? []),
      {
        name: apiVolume,
        projected: {
          defaultMode: 420,
          sources: [
            { serviceAccountToken: { expirationSeconds: 3607, path: 'token' } },
            { configMap: { items: [{ key: 'ca.crt', path: 'ca.crt' }], name: 'kube-root-ca.crt' } },
            {
              downwardAPI: {
                items: [{ fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' }, path: 'namespace' }],
              },
            },
          ],
        },
      },
    ];
    for (const c of containers) {
      c.volumeMounts = [
        ...((c.volumeMounts as unknown[]) ?? []),
        { mountPath: '/var/run/secrets/kubernetes.io/serviceaccount', name: apiVolume, readOnly: true },
      ];
    }
    podSpec.containers = containers;
    const pod: KubeObject = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name,
        namespace: ns,
        labels,
        ...(tpl.metadata?.annotations ? { annotations: tpl.metadata.annotations } : {}),
        generateName: `${rsName}-`,
        ownerReferences: [
          {
            apiVersion: 'apps/v1',
            kind: 'ReplicaSet',
            name: rsName,
            uid: uuidFrom(`${d.metadata.uid}/${hash}`),
            controller: true,
          },
        ],
      },
      spec: podSpec,
    };
    const webhookError = this.mutateForWorkloadIdentity(pod, sa);
    if (webhookError) return webhookError;
    const at = this.now();
    pod.status = {
      phase: 'Running',
      conditions: ['PodReadyToStartContainers', 'Initialized', 'Ready', 'ContainersReady', 'PodScheduled'].map(
        (type) => ({ type, status: 'True', lastProbeTime: null, lastTransitionTime: at }),
      ),
      hostIP: '10.224.0.4',
      podIP: `10.244.0.${(this.counter % 250) + 2}`,
      startTime: at,
      qosClass: 'Burstable',
      containerStatuses: (pod.spec as { containers: { name: string; image?: string }[] }).containers.map((c) => ({
        name: c.name,
        image: c.image,
        imageID: `${c.image ?? ''}@sha256:${crypto
          .createHash('sha256')
          .update(c.image ?? '')
          .digest('hex')}`,
        ready: true,
        started: true,
        restartCount: 0,
        state: { running: { startedAt: at } },
      })),
    };
    return pod;
  }

  /** The azure-workload-identity webhook; returns an admission error text or undefined. */
  private mutateForWorkloadIdentity(pod: KubeObject, sa: KubeObject): string | undefined {
    if (!this.webhook.enabled()) return undefined;
    if (pod.metadata.labels?.[WI_USE_LABEL] !== 'true') return undefined;
    if (pod.metadata.namespace === 'kube-system') return undefined;
    const ann = sa.metadata.annotations ?? {};
    let expiration = 3600;
    const exp =
      ann['azure.workload.identity/service-account-token-expiration'] ??
      pod.metadata.annotations?.['azure.workload.identity/service-account-token-expiration'];
    if (exp !== undefined) {
      expiration = Number(exp);
      if (!Number.isInteger(expiration) || expiration < 3600 || expiration > 86400) {
        return `admission webhook "mutation.azure-workload-identity.io" denied the request: token expiration ${exp} not in range [3600, 86400]`;
      }
    }
    const clientId = ann[WI_CLIENT_ID] ?? '';
    const tenantId = ann[WI_TENANT_ID] ?? this.webhook.tenantId();
    const skip = new Set(
      (pod.metadata.annotations?.['azure.workload.identity/skip-containers'] ?? '')
        .split(';')
        .map((s) => s.trim())
        .filter(Boolean),
    );
    const spec = pod.spec as { containers: Record<string, unknown>[]; volumes?: Record<string, unknown>[] };
    for (const c of spec.containers) {
      if (skip.has(String(c.name))) continue;
      const env = (c.env as { name: string; value?: string }[] | undefined) ?? [];
      const have = new Set(env.map((e) => e.name));
      for (const [n, v] of [
        ['AZURE_CLIENT_ID', clientId],
        ['AZURE_TENANT_ID', tenantId],
        ['AZURE_FEDERATED_TOKEN_FILE', WI_TOKEN_FILE],
        ['AZURE_AUTHORITY_HOST', this.webhook.authorityHost()],
      ] as const) {
        if (!have.has(n) && v !== '') env.push({ name: n, value: v });
      }
      c.env = env;
      const mounts = (c.volumeMounts as { name: string }[] | undefined) ?? [];
      if (!mounts.some((m) => m.name === WI_VOLUME))
        mounts.push({ mountPath: WI_TOKEN_DIR, name: WI_VOLUME, readOnly: true } as { name: string });
      c.volumeMounts = mounts;
    }
    spec.volumes = [
      ...(spec.volumes ?? []),
      {
        name: WI_VOLUME,
        projected: {
          defaultMode: 420,
          sources: [
            {
              serviceAccountToken: {
                audience: 'api://AzureADTokenExchange',
                expirationSeconds: expiration,
                path: WI_VOLUME,
              },
            },
          ],
        },
      },
    ];
    return undefined;
  }
}

/** The Deployment a pod belongs to: its owner ReplicaSet is `<deployment>-<10-char template hash>`. */
function deploymentNameOf(pod: KubeObject): string | undefined {
  const owner = pod.metadata.ownerReferences?.find((o) => o.kind === 'ReplicaSet' && o.controller);
  return owner && owner.name.length > 11 ? owner.name.slice(0, -11) : undefined;
}

function specChanged(c: Change): boolean {
  if (!c.old) return true;
  return JSON.stringify(c.old.spec) !== JSON.stringify(c.obj.spec);
}

function stripTimes(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(stripTimes);
  if (!isObject(v)) return v;
  return Object.fromEntries(
    Object.entries(v)
      .filter(([k]) => k !== 'lastUpdateTime' && k !== 'lastTransitionTime')
      .map(([k, x]) => [k, stripTimes(x)]),
  );
}

function uuidFrom(seed: string): string {
  const h = crypto.createHash('sha256').update(seed).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** The environment a container of a pod runs with (plain values only). */
export function containerEnv(pod: KubeObject, container?: string): Record<string, string> {
  const cs =
    (pod.spec as { containers?: { name: string; env?: { name: string; value?: string }[] }[] } | undefined)
      ?.containers ?? [];
  const c = container ? cs.find((x) => x.name === container) : cs[0];
  const out: Record<string, string> = {};
  for (const e of c?.env ?? []) if (typeof e.value === 'string') out[e.name] = e.value;
  return out;
}
