/**
 * What Verify knows about Kubernetes and Flux objects without the client: the Flux kinds, the
 * object shape, the reconcile annotation and KubeError. Kept apart from client.ts so the checks
 * that only need these do not load @kubernetes/client-node (Verify loads it when it first talks
 * to the cluster: a shorter cold start).
 */
export class KubeError extends Error {
  override readonly name = 'KubeError';
  constructor(
    /** HTTP status (0 for a network failure). */
    readonly statusCode: number,
    /** The API server's Status.reason (NotFound, Forbidden, ...). */
    readonly reason: string | undefined,
    message: string,
    readonly responseHeaders: Record<string, string> = {},
    readonly code?: string,
  ) {
    super(message);
  }
}

interface ApiExceptionLike {
  code?: unknown;
  body?: unknown;
  headers?: unknown;
  message?: unknown;
  cause?: unknown;
}

/** Turns a client-node ApiException (or a network error) into a KubeError. */
export function toKubeError(err: unknown, what: string): KubeError {
  if (err instanceof KubeError) return err;
  const e = (err && typeof err === 'object' ? err : {}) as ApiExceptionLike;
  if (typeof e.code === 'number') {
    let reason: string | undefined;
    let message: string;
    try {
      const body = (typeof e.body === 'string' ? JSON.parse(e.body) : e.body) as
        { reason?: string; message?: string } | undefined;
      reason = body?.reason;
      message = body?.message ?? '';
    } catch {
      message = typeof e.body === 'string' ? e.body.slice(0, 300) : '';
    }
    const headers = (e.headers && typeof e.headers === 'object' ? e.headers : {}) as Record<string, string>;
    return new KubeError(
      e.code,
      reason,
      `${what}: HTTP ${e.code}${reason ? ` ${reason}` : ''}${message ? `: ${message}` : ''}`,
      headers,
    );
  }
  const cause = (e.cause && typeof e.cause === 'object' ? e.cause : {}) as { code?: unknown };
  const code =
    typeof cause.code === 'string'
      ? cause.code
      : typeof (e as { code?: unknown }).code === 'string'
        ? String((e as { code?: unknown }).code)
        : undefined;
  return new KubeError(0, undefined, `${what}: ${typeof e.message === 'string' ? e.message : String(err)}`, {}, code);
}

export interface FluxKind {
  kind: string;
  group: string;
  plural: string;
  /** Versions to try, preferred first. */
  versions: string[];
}

export const FLUX_KINDS = {
  GitRepository: {
    kind: 'GitRepository',
    group: 'source.toolkit.fluxcd.io',
    plural: 'gitrepositories',
    versions: ['v1', 'v1beta2'],
  },
  Kustomization: {
    kind: 'Kustomization',
    group: 'kustomize.toolkit.fluxcd.io',
    plural: 'kustomizations',
    versions: ['v1', 'v1beta2'],
  },
  ImageUpdateAutomation: {
    kind: 'ImageUpdateAutomation',
    group: 'image.toolkit.fluxcd.io',
    plural: 'imageupdateautomations',
    versions: ['v1', 'v1beta2', 'v1beta1'],
  },
  HelmRepository: {
    kind: 'HelmRepository',
    group: 'source.toolkit.fluxcd.io',
    plural: 'helmrepositories',
    versions: ['v1', 'v1beta2'],
  },
  OCIRepository: {
    kind: 'OCIRepository',
    group: 'source.toolkit.fluxcd.io',
    plural: 'ocirepositories',
    versions: ['v1', 'v1beta2'],
  },
  Bucket: { kind: 'Bucket', group: 'source.toolkit.fluxcd.io', plural: 'buckets', versions: ['v1', 'v1beta2'] },
  HelmRelease: {
    kind: 'HelmRelease',
    group: 'helm.toolkit.fluxcd.io',
    plural: 'helmreleases',
    versions: ['v2', 'v2beta2'],
  },
  Provider: {
    kind: 'Provider',
    group: 'notification.toolkit.fluxcd.io',
    plural: 'providers',
    versions: ['v1beta3', 'v1beta2'],
  },
  Receiver: {
    kind: 'Receiver',
    group: 'notification.toolkit.fluxcd.io',
    plural: 'receivers',
    versions: ['v1', 'v1beta2'],
  },
} as const satisfies Record<string, FluxKind>;

/** A Flux custom object as returned by the API (plain JSON). */
export interface FluxObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    generation?: number;
    annotations?: Record<string, string>;
    labels?: Record<string, string>;
    resourceVersion?: string;
  };
  spec?: Record<string, unknown>;
  status?: {
    observedGeneration?: number;
    lastHandledReconcileAt?: string;
    conditions?: { type: string; status: string; reason?: string; message?: string; lastTransitionTime?: string }[];
    artifact?: { revision?: string };
    lastAppliedRevision?: string;
    lastAttemptedRevision?: string;
    lastPushCommit?: string;
    lastPushTime?: string;
    observedSourceRevision?: string;
    [k: string]: unknown;
  };
}

export const RECONCILE_ANNOTATION = 'reconcile.fluxcd.io/requestedAt';

export interface TokenResult {
  token: string;
  expirationTimestamp?: string;
}
