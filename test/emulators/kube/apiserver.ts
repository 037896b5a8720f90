/**
 * The Kubernetes API server of the emulated clusters (host `kube`), one per cluster under
 * `/clusters/{name}` (the kubeconfig `server`). Discovery, get/list/watch/create/update/patch/delete
 * with resourceVersion and generation, status subresources, the four patch types, server-side
 * apply, TokenRequest, SelfSubjectAccessReview / SelfSubjectReview, server-side Table printing,
 * authentication (certificates, tokens, Entra) and RBAC — with the real Status bodies.
 */
import * as crypto from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { parse as parseYaml } from 'yaml';
import type { EmuRequest, EmuResponse, Handler } from '../core/host';
import { jwks } from '../core/jwt';
import { admit, viewAt } from './admission';
import { authenticate } from './authn';
import type { KubeCluster } from './cluster';
import {
  apiGroup,
  apiGroupList,
  apiResourceList,
  apiVersions,
  openApiV3Document,
  openApiV3Index,
  versionInfo,
} from './discovery';
import type { KubeObject } from './model';
import {
  applyConflicts,
  clone,
  isObject,
  jsonPatch,
  mergePatch,
  PatchError,
  releaseFields,
  serverSideApply,
  strategicMergePatch,
  type ApplyConflict,
} from './patch';
import { azureRbacAllows } from './azure-rbac';
import { impersonate } from './impersonation';
import type { Attributes, UserInfo } from './rbac';
import { authorize, forbidden, resourceAttributes } from './rbac';
import { decodeProtobuf, isProtobuf } from './protobuf';
import type { ResourceDef } from './resources';
import { apiVersionOf } from './resources';
import { fieldsMatch, labelsMatch, parseLabelSelector } from './select';
import { errors, statusError } from './status';
import { toTable, wantsTable } from './table';

type Result = EmuResponse | { raw: true; status: number; write?: boolean };

const ok = (body: unknown, status = 200): EmuResponse => ({ status, body });

interface Target {
  def: ResourceDef;
  version: string;
  namespace?: string;
  name?: string;
  subresource?: string;
}

function readBody(req: EmuRequest): unknown {
  if (isProtobuf(String(req.headers['content-type'] ?? ''))) return decodeProtobuf(req.body);
  const text = req.text();
  if (!text.trim()) throw errors.badRequest('the request body is empty');
  const ct = String(req.headers['content-type'] ?? '');
  try {
    return /yaml/.test(ct) ? parseYaml(text) : JSON.parse(text);
  } catch (e) {
    throw errors.badRequest(
      `the object provided is unrecognized (must be of type ${/yaml/.test(ct) ? 'YAML' : 'JSON'}): ${e instanceof Error ? e.message : String(e)}`,
    );
  }
}

function asObject(v: unknown): KubeObject {
  if (!isObject(v)) throw errors.badRequest('the object provided is not a JSON object');
  const o = v as KubeObject;
  o.metadata = (isObject(o.metadata) ? o.metadata : {}) as KubeObject['metadata'];
  return o;
}

function randomSuffix(): string {
  const SAFE = 'bcdfghjklmnpqrstvwxz2456789';
  return Array.from(crypto.randomBytes(5), (b) => SAFE[b % SAFE.length]).join('');
}

export function kubeApiHandler(clusterByName: (name: string) => KubeCluster | undefined): Handler {
  return async (req, res) => {
    const segs = req.path
      .split('/')
      .filter(Boolean)
      .map((s) => decodeURIComponent(s));
    if (segs[0] !== 'clusters' || !segs[1]) throw errors.pathNotFound();
    const cluster = clusterByName(segs[1]);
    if (!cluster) throw errors.pathNotFound();
    await cluster.ensureBooted();
    const user = authenticate(
      {
        ctx: cluster.ctx,
        state: cluster.state,
        key: cluster.key,
        issuers: () => [...new Set([cluster.issuer(), 'https://kubernetes.default.svc.cluster.local'])],
        audiences: () => cluster.apiAudiences(),
        entra: () => !!cluster.facts().entra,
        serviceAccountExists: (ns, name, uid) => {
          const sa = cluster.store.get(cluster.store.byKind('', 'ServiceAccount')!, ns, name);
          return !!sa && (uid === undefined || sa.metadata.uid === uid);
        },
      },
      req,
    );
    const access = accessOf(cluster);
    return serve(
      cluster,
      access,
      impersonate(req, user, (a) => access.allowed(user, a)),
      req,
      res,
      segs.slice(2),
    );
  };
}

/** Who may do what: Kubernetes RBAC, then (Azure RBAC clusters) the Entra principal's Azure role assignments. */
interface Access {
  allowed(user: UserInfo, a: Attributes): boolean;
  /** The Forbidden error (Azure RBAC clusters add the webhook's reason). */
  denied(user: UserInfo, a: Attributes): Error;
}

function accessOf(cluster: KubeCluster): Access {
  const azureRbac = !!cluster.facts().entra?.azureRbac;
  return {
    allowed: (user, a) =>
      authorize(cluster.store, user, a) ||
      (azureRbac &&
        !!cluster.ctx.state.azure &&
        azureRbacAllows(cluster.ctx.state.azure, cluster.state.resourceId, user, a)),
    denied: (user, a) =>
      forbidden(
        user,
        a,
        azureRbac
          ? 'User does not have access to the resource in Azure. Update role assignment to allow access.'
          : undefined,
      ),
  };
}

async function serve(
  cluster: KubeCluster,
  access: Access,
  user: UserInfo,
  req: EmuRequest,
  res: ServerResponse,
  rest: string[],
): Promise<Result> {
  const store = cluster.store;
  const resources = store.resources();
  const get = req.method === 'GET' || req.method === 'HEAD';
  // ---- non-resource paths ----
  if (rest.length === 0)
    return ok({ paths: ['/api', '/api/v1', '/apis', '/healthz', '/livez', '/readyz', '/version'] });
  if (rest.length === 1 && ['healthz', 'livez', 'readyz'].includes(rest[0]!))
    return { status: 200, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: 'ok' };
  if (rest[0] === 'version' && rest.length === 1) return ok(versionInfo(cluster.state.kubernetesVersion ?? '1.32.4'));
  if (get && (rest.join('/') === '.well-known/openid-configuration' || rest.join('/') === 'openid/v1/jwks'))
    return issuerDiscovery(cluster, access, user, `/${rest.join('/')}`);
  if (rest[0] === 'openapi') {
    // v2 is not served (kubectl then uses its built-in types for strategic merge); v3 tells it to validate server-side.
    if (rest[1] === 'v3' && rest.length === 2) return ok(openApiV3Index(resources));
    if (rest[1] === 'v3' && rest[2] === 'api' && rest.length === 4)
      return ok(
        openApiV3Document(resources, '', rest[3]!) ??
          (() => {
            throw errors.pathNotFound();
          })(),
      );
    if (rest[1] === 'v3' && rest[2] === 'apis' && rest.length === 5)
      return ok(
        openApiV3Document(resources, rest[3]!, rest[4]!) ??
          (() => {
            throw errors.pathNotFound();
          })(),
      );
    throw errors.pathNotFound();
  }
  if (get && rest[0] === 'api' && rest.length === 1) return ok(apiVersions());
  if (get && rest[0] === 'api' && rest.length === 2)
    return ok(
      apiResourceList(resources, '', rest[1]!) ??
        (() => {
          throw errors.pathNotFound();
        })(),
    );
  if (get && rest[0] === 'apis' && rest.length === 1) return ok(apiGroupList(resources));
  if (get && rest[0] === 'apis' && rest.length === 2)
    return ok(
      apiGroup(resources, rest[1]!) ??
        (() => {
          throw errors.pathNotFound();
        })(),
    );
  if (get && rest[0] === 'apis' && rest.length === 3)
    return ok(
      apiResourceList(resources, rest[1]!, rest[2]!) ??
        (() => {
          throw errors.pathNotFound();
        })(),
    );

  // ---- reviews ----
  if (
    rest[0] === 'apis' &&
    rest[1] === 'authorization.k8s.io' &&
    rest[2] === 'v1' &&
    rest[3] === 'selfsubjectaccessreviews' &&
    rest.length === 4 &&
    req.method === 'POST'
  ) {
    return selfSubjectAccessReview(access, user, asObject(readBody(req)));
  }
  if (
    rest[0] === 'apis' &&
    rest[1] === 'authentication.k8s.io' &&
    rest[2] === 'v1' &&
    rest[3] === 'selfsubjectreviews' &&
    rest.length === 4 &&
    req.method === 'POST'
  ) {
    return ok(
      {
        kind: 'SelfSubjectReview',
        apiVersion: 'authentication.k8s.io/v1',
        metadata: { creationTimestamp: null },
        status: { userInfo: { username: user.name, groups: user.groups } },
      },
      201,
    );
  }

  // ---- resources ----
  const t = resolveTarget(store.resources(), rest);
  if (!t) throw errors.pathNotFound();
  const q = req.url.searchParams;
  const verb = verbOf(req.method, t, q);
  const attrs = resourceAttributes(verb, t.def, t);
  if (!access.allowed(user, attrs)) throw access.denied(user, attrs);

  if (t.subresource === 'token' && t.def.plural === 'serviceaccounts')
    return tokenRequest(cluster, t, asObject(readBody(req)));
  if (t.subresource === 'log' && t.def.plural === 'pods' && verb === 'get') {
    // The simulated controllers write no container logs.
    if (!cluster.store.get(t.def, t.namespace, t.name!)) throw errors.notFound(t.def, t.name!);
    return { status: 200, headers: { 'content-type': 'text/plain' }, body: '' };
  }
  if (t.subresource && t.subresource !== 'status') throw errors.pathNotFound();

  const dryRun = q.getAll('dryRun').includes('All');
  switch (verb) {
    case 'get':
      return getOne(cluster, t, req);
    case 'list':
      return list(cluster, t, req);
    case 'watch':
      return watch(cluster, t, req, res);
    case 'create':
      return create(cluster, t, asObject(readBody(req)), dryRun);
    case 'update':
      return update(cluster, t, asObject(readBody(req)), dryRun);
    case 'patch':
      return patch(cluster, t, req, dryRun);
    case 'delete':
      return remove(cluster, t, dryRun);
    default:
      throw errors.methodNotAllowed(`the server does not allow this method on the requested resource`);
  }
}

function verbOf(method: string, t: Target, q: URLSearchParams): string {
  const watching = q.get('watch') === 'true' || q.get('watch') === '1';
  switch (method) {
    case 'GET':
    case 'HEAD':
      return t.name ? (watching ? 'watch' : 'get') : watching ? 'watch' : 'list';
    case 'POST':
      return 'create';
    case 'PUT':
      return 'update';
    case 'PATCH':
      return 'patch';
    case 'DELETE':
      return t.name ? 'delete' : 'deletecollection';
    default:
      return method.toLowerCase();
  }
}

/** Parses `/api/v1/...` or `/apis/{g}/{v}/...` into the addressed resource. */
function resolveTarget(resources: ResourceDef[], rest: string[]): Target | undefined {
  let group: string;
  let version: string;
  let r: string[];
  if (rest[0] === 'api' && rest[1]) {
    group = '';
    version = rest[1];
    r = rest.slice(2);
  } else if (rest[0] === 'apis' && rest[1] && rest[2]) {
    group = rest[1];
    version = rest[2];
    r = rest.slice(3);
  } else return undefined;
  const find = (plural: string) =>
    resources.find((d) => d.group === group && d.plural === plural && d.versions.includes(version));
  let namespace: string | undefined;
  if (r[0] === 'namespaces' && r.length >= 3) {
    const nsDef = group === '' ? find('namespaces') : undefined;
    // `/api/v1/namespaces/{name}/status` addresses the Namespace itself.
    if (nsDef && r.length === 3 && (r[2] === 'status' || r[2] === 'finalize'))
      return { def: nsDef, version, name: r[1], subresource: r[2] };
    namespace = r[1];
    r = r.slice(2);
    const def = find(r[0]!);
    if (!def || !def.namespaced) return undefined;
    return { def, version, namespace, name: r[1], subresource: r[2] };
  }
  const def = find(r[0] ?? '');
  if (!def || r.length > 3) return undefined;
  if (def.namespaced && r.length > 1) return undefined;
  return { def, version, name: r[1], subresource: r[2] };
}

function view(t: Target, o: KubeObject): KubeObject {
  return viewAt(t.def, o, t.version);
}

function getOne(cluster: KubeCluster, t: Target, req: EmuRequest): Result {
  const o = cluster.store.get(t.def, t.namespace, t.name!);
  if (!o) throw errors.notFound(t.def, t.name!);
  if (wantsTable(String(req.headers.accept ?? '')))
    return ok(toTable(t.def, t.version, [view(t, o)], cluster.ctx.clock.now(), cluster.store.resourceVersion()));
  return ok(view(t, o));
}

function selected(cluster: KubeCluster, t: Target, q: URLSearchParams): KubeObject[] {
  const ls = parseLabelSelector(q.get('labelSelector'));
  const fs = q.get('fieldSelector');
  return cluster.store.list(t.def, t.namespace).filter((o) => labelsMatch(o, ls) && fieldsMatch(o, fs));
}

function list(cluster: KubeCluster, t: Target, req: EmuRequest): Result {
  const items = selected(cluster, t, req.url.searchParams).map((o) => view(t, o));
  if (wantsTable(String(req.headers.accept ?? '')))
    return ok(toTable(t.def, t.version, items, cluster.ctx.clock.now(), cluster.store.resourceVersion()));
  return ok({
    apiVersion: apiVersionOf(t.def, t.version),
    kind: t.def.listKind,
    metadata: { resourceVersion: cluster.store.resourceVersion() },
    items,
  });
}

/** A watch: the current objects as ADDED, then changes, until the client leaves or timeoutSeconds pass. */
function watch(cluster: KubeCluster, t: Target, req: EmuRequest, res: ServerResponse): Result {
  const q = req.url.searchParams;
  const ls = parseLabelSelector(q.get('labelSelector'));
  const fs = q.get('fieldSelector');
  const match = (o: KubeObject) =>
    (!t.namespace || o.metadata.namespace === t.namespace) &&
    (!t.name || o.metadata.name === t.name) &&
    labelsMatch(o, ls) &&
    fieldsMatch(o, fs);
  res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
  // The headers go out now, not with the first event: a watch from the current resourceVersion may
  // see no event for a long time, and clients (kubectl wait / rollout status) wait for the response.
  res.flushHeaders();
  const send = (type: string, o: KubeObject) => res.write(`${JSON.stringify({ type, object: view(t, o) })}\n`);
  const since = q.get('resourceVersion');
  for (const o of cluster.store.list(t.def, t.namespace)) {
    if (match(o) && (!since || since === '0' || Number(o.metadata.resourceVersion) > Number(since))) send('ADDED', o);
  }
  const off = cluster.store.onChange((c) => {
    if (c.def !== t.def && !(c.def.group === t.def.group && c.def.kind === t.def.kind)) return;
    if (match(c.obj)) send(c.type, c.obj);
  });
  const timeout = Number(q.get('timeoutSeconds') ?? '1800');
  const timer = setTimeout(() => res.end(), Math.max(1, timeout) * 1000);
  timer.unref();
  res.on('close', () => {
    off();
    clearTimeout(timer);
  });
  return { raw: true, status: 200, write: false };
}

function checkIdentity(t: Target, body: KubeObject): void {
  const expected = apiVersionOf(t.def, t.version);
  if (body.apiVersion && body.apiVersion !== expected) {
    throw errors.badRequest(
      `the API version in the data (${body.apiVersion}) does not match the expected API version (${expected})`,
    );
  }
  if (body.kind && body.kind !== t.def.kind)
    throw errors.badRequest(`the kind in the data (${body.kind}) does not match the expected kind (${t.def.kind})`);
  if (t.def.namespaced && body.metadata.namespace && t.namespace && body.metadata.namespace !== t.namespace) {
    throw errors.badRequest('the namespace of the provided object does not match the namespace sent on the request');
  }
}

function requireNamespace(cluster: KubeCluster, t: Target): void {
  if (!t.def.namespaced || !t.namespace) return;
  const nsDef = cluster.store.byKind('', 'Namespace')!;
  if (!cluster.store.get(nsDef, undefined, t.namespace)) throw errors.notFound(nsDef, t.namespace);
}

function create(cluster: KubeCluster, t: Target, body: KubeObject, dryRun: boolean): Result {
  if (t.name) throw errors.methodNotAllowed('the server does not allow this method on the requested resource');
  checkIdentity(t, body);
  if (t.def.namespaced && !t.namespace) throw errors.pathNotFound();
  const o = admit(t.def, t.version, body);
  if (!o.metadata.name && o.metadata.generateName) o.metadata.name = `${o.metadata.generateName}${randomSuffix()}`;
  if (t.def.namespaced) o.metadata.namespace = t.namespace;
  requireNamespace(cluster, t);
  if (cluster.store.get(t.def, t.namespace, o.metadata.name)) throw errors.alreadyExists(t.def, o.metadata.name);
  for (const k of ['uid', 'resourceVersion', 'creationTimestamp', 'generation', 'deletionTimestamp'] as const)
    delete o.metadata[k];
  if (t.def.statusSubresource) delete o.status;
  if (dryRun)
    return ok(
      view(t, { ...o, metadata: { ...o.metadata, uid: crypto.randomUUID(), creationTimestamp: cluster.nowIso() } }),
      201,
    );
  const stored = cluster.store.create(t.def, toStorage(t, o));
  return ok(view(t, stored), 201);
}

/** The object to store: same content, the storage version's apiVersion (CRD conversion "None"). */
function toStorage(t: Target, o: KubeObject): KubeObject {
  return { ...o, apiVersion: apiVersionOf(t.def, t.def.storageVersion) };
}

function update(cluster: KubeCluster, t: Target, body: KubeObject, dryRun: boolean): Result {
  if (!t.name) throw errors.methodNotAllowed('the server does not allow this method on the requested resource');
  checkIdentity(t, body);
  const live = cluster.store.get(t.def, t.namespace, t.name);
  if (!live) throw errors.notFound(t.def, t.name);
  if (body.metadata.name && body.metadata.name !== t.name)
    throw errors.badRequest(
      `the name of the object (${body.metadata.name}) does not match the name on the URL (${t.name})`,
    );
  body.metadata.name = t.name;
  const rv = body.metadata.resourceVersion;
  if (rv !== undefined && rv !== '' && rv !== live.metadata.resourceVersion) throw errors.conflict(t.def, t.name);
  if ((rv === undefined || rv === '') && !t.def.builtin) {
    throw errors.invalid(t.def.kind, t.def.group, t.name, [
      { field: 'metadata.resourceVersion', message: 'Invalid value: 0x0: must be specified for an update' },
    ]);
  }
  const admitted = admit(t.def, t.version, body);
  return write(cluster, t, live, admitted, dryRun);
}

/** Stores the new content of an existing object, honouring the status subresource split. */
function write(cluster: KubeCluster, t: Target, live: KubeObject, next: KubeObject, dryRun: boolean): Result {
  const liveView = view(t, live);
  let result: KubeObject;
  if (t.subresource === 'status') {
    result = { ...liveView, status: next.status };
  } else {
    result = { ...next };
    if (t.def.statusSubresource) result.status = clone(liveView.status);
    if (result.status === undefined) delete result.status;
    result.metadata = {
      ...next.metadata,
      uid: live.metadata.uid,
      creationTimestamp: live.metadata.creationTimestamp,
      resourceVersion: live.metadata.resourceVersion,
      managedFields: next.metadata.managedFields ?? live.metadata.managedFields,
    };
    if (!result.metadata.managedFields) delete result.metadata.managedFields;
    if (t.def.namespaced) result.metadata.namespace = live.metadata.namespace;
  }
  if (dryRun) return ok(view(t, result));
  // Fields the version read cannot see (a v1-only field read through v1beta2) are lost, as with a real CRD.
  const stored = cluster.store.update(t.def, toStorage(t, result));
  return ok(view(t, stored));
}

function patch(cluster: KubeCluster, t: Target, req: EmuRequest, dryRun: boolean): Result {
  if (!t.name) throw errors.methodNotAllowed('the server does not allow this method on the requested resource');
  const ct = String(req.headers['content-type'] ?? '')
    .split(';')[0]!
    .trim();
  const live = cluster.store.get(t.def, t.namespace, t.name);
  const q = req.url.searchParams;
  if (ct === 'application/apply-patch+yaml') {
    const manager = q.get('fieldManager');
    if (!manager) throw errors.badRequest('fieldManager is required for apply requests');
    const body = asObject(readBody(req));
    checkIdentity(t, body);
    if (body.metadata.name && body.metadata.name !== t.name)
      throw errors.badRequest(
        `the name of the object (${body.metadata.name}) does not match the name on the URL (${t.name})`,
      );
    body.metadata.name = t.name;
    if (t.def.namespaced) body.metadata.namespace = t.namespace;
    const applied = admit(t.def, t.version, body);
    if (!live) {
      requireNamespace(cluster, t);
      const created = serverSideApply(undefined, applied, manager, cluster.nowIso());
      if (t.def.statusSubresource) delete created.status;
      if (dryRun) return ok(view(t, created), 201);
      return ok(view(t, cluster.store.create(t.def, toStorage(t, created))), 201);
    }
    const current = view(t, live);
    const conflicts = applyConflicts(current, applied, manager);
    const force = q.get('force') === 'true';
    if (conflicts.length && !force) throw applyConflict(conflicts);
    if (force) releaseFields(current, conflicts);
    const merged = serverSideApply(current, applied, manager, cluster.nowIso());
    return write(cluster, t, live, merged, dryRun);
  }
  if (!live) throw errors.notFound(t.def, t.name);
  const base = view(t, live);
  const body = readBody(req);
  let patched: unknown;
  try {
    switch (ct) {
      case 'application/json-patch+json':
        patched = jsonPatch(base, body);
        break;
      case 'application/merge-patch+json':
        patched = mergePatch(base, body);
        break;
      case 'application/strategic-merge-patch+json':
        if (!t.def.builtin) throw errors.unsupportedPatch();
        patched = strategicMergePatch(base, body);
        break;
      default:
        throw errors.unsupportedPatch();
    }
  } catch (e) {
    if (e instanceof PatchError) {
      throw statusError(422, 'Invalid', 'the server rejected our request due to an error in our request', {
        causes: [{ reason: 'FieldValueInvalid', message: e.message }],
      });
    }
    throw e;
  }
  const p = asObject(patched);
  const rv = p.metadata.resourceVersion;
  if (rv !== undefined && rv !== live.metadata.resourceVersion) throw errors.conflict(t.def, t.name);
  p.metadata.name = t.name;
  const admitted = admit(t.def, t.version, p);
  return write(cluster, t, live, admitted, dryRun);
}

function remove(cluster: KubeCluster, t: Target, dryRun: boolean): Result {
  const live = cluster.store.get(t.def, t.namespace, t.name!);
  if (!live) throw errors.notFound(t.def, t.name!);
  if (dryRun) return ok(view(t, live));
  if (t.def.kind === 'Namespace' && !t.def.group) {
    // The namespace controller empties the namespace (immediately here).
    for (const d of cluster.store.resources()) {
      if (!d.namespaced) continue;
      for (const o of cluster.store.list(d, t.name)) cluster.store.delete(d, t.name, o.metadata.name);
    }
  }
  const gone = cluster.store.delete(t.def, t.namespace, t.name!)!;
  if (t.def.kind === 'Pod' || t.def.kind === 'Namespace') return ok(view(t, gone));
  return ok({
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Success',
    details: {
      name: t.name,
      ...(t.def.group ? { group: t.def.group } : {}),
      kind: t.def.plural,
      uid: gone.metadata.uid,
    },
  });
}

/** POST serviceaccounts/{name}/token. */
function tokenRequest(cluster: KubeCluster, t: Target, body: KubeObject): Result {
  const sa = cluster.store.get(t.def, t.namespace, t.name!);
  if (!sa) throw errors.notFound(t.def, t.name!);
  const spec = (isObject(body.spec) ? body.spec : {}) as {
    audiences?: unknown;
    expirationSeconds?: unknown;
    boundObjectRef?: { kind?: string; name?: string; uid?: string; apiVersion?: string } | null;
  };
  const exp =
    spec.expirationSeconds === undefined || spec.expirationSeconds === null ? 3600 : Number(spec.expirationSeconds);
  if (!Number.isInteger(exp) || exp < 600) {
    throw errors.invalid('TokenRequest', 'authentication.k8s.io', t.name!, [
      {
        field: 'spec.expirationSeconds',
        message: `Invalid value: ${String(spec.expirationSeconds)}: may not specify a duration less than 10 minutes`,
      },
    ]);
  }
  if (exp > 2 ** 32) {
    throw errors.invalid('TokenRequest', 'authentication.k8s.io', t.name!, [
      {
        field: 'spec.expirationSeconds',
        message: `Invalid value: ${exp}: may not specify a duration larger than 2^32 seconds`,
      },
    ]);
  }
  const audiences =
    Array.isArray(spec.audiences) && spec.audiences.length > 0 ? spec.audiences.map(String) : cluster.apiAudiences();
  let pod: KubeObject | undefined;
  const bound = spec.boundObjectRef;
  if (bound && bound.kind === 'Pod') {
    const podDef = cluster.store.byKind('', 'Pod')!;
    pod = cluster.store.get(podDef, t.namespace, bound.name ?? '');
    if (!pod) throw errors.notFound(podDef, bound.name ?? '');
  }
  const { token, exp: expAt } = cluster.mintToken(sa, audiences, exp, pod);
  return ok(
    {
      kind: 'TokenRequest',
      apiVersion: 'authentication.k8s.io/v1',
      metadata: { name: t.name, namespace: t.namespace, creationTimestamp: null },
      spec: { audiences, expirationSeconds: exp, boundObjectRef: bound ?? null },
      status: { token, expirationTimestamp: new Date(expAt * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z') },
    },
    201,
  );
}

function selfSubjectAccessReview(access: Access, user: UserInfo, body: KubeObject): Result {
  const ra =
    (
      body.spec as
        | {
            resourceAttributes?: {
              namespace?: string;
              verb?: string;
              group?: string;
              resource?: string;
              subresource?: string;
              name?: string;
            };
          }
        | undefined
    )?.resourceAttributes ?? {};
  // Any resource, served or not (`kubectl auth can-i impersonate users`), as the authorizer sees it.
  const allowed = access.allowed(user, {
    verb: ra.verb ?? 'get',
    group: ra.group ?? '',
    resource: ra.resource ?? '',
    ...(ra.subresource ? { subresource: ra.subresource } : {}),
    ...(ra.namespace ? { namespace: ra.namespace } : {}),
    ...(ra.name ? { name: ra.name } : {}),
  });
  return ok(
    {
      kind: 'SelfSubjectAccessReview',
      apiVersion: 'authorization.k8s.io/v1',
      metadata: { creationTimestamp: null },
      spec: body.spec ?? {},
      status: allowed ? { allowed: true, reason: 'RBAC: allowed by emulated RBAC' } : { allowed: false },
    },
    201,
  );
}

/**
 * Service account issuer discovery (https://kubernetes.io/docs/tasks/configure-pod-container/configure-service-account/#service-account-issuer-discovery):
 * the OpenID configuration and the key set of the cluster's service-account issuer, for callers the
 * `system:service-account-issuer-discovery` ClusterRole (non-resource URLs) is bound to.
 */
function issuerDiscovery(cluster: KubeCluster, access: Access, user: UserInfo, path: string): Result {
  const a: Attributes = { verb: 'get', group: '', resource: '', path };
  if (!access.allowed(user, a)) {
    throw statusError(403, 'Forbidden', `forbidden: User "${user.name}" cannot get path "${path}"`, {});
  }
  if (path === '/openid/v1/jwks')
    return {
      status: 200,
      headers: { 'content-type': 'application/jwk-set+json' },
      body: JSON.stringify(jwks(cluster.key)),
    };
  return ok({
    issuer: cluster.issuer(),
    jwks_uri: `${cluster.serverUrl()}/openid/v1/jwks`,
    response_types_supported: ['id_token'],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: ['RS256'],
  });
}

/**
 * 409 Conflict of a server-side apply without force, in the API server's words
 * (https://kubernetes.io/docs/reference/using-api/server-side-apply/#conflicts).
 */
function applyConflict(conflicts: ApplyConflict[]) {
  const byManager = new Map<string, ApplyConflict[]>();
  for (const c of conflicts)
    byManager.set(`${c.manager}\0${c.apiVersion}`, [...(byManager.get(`${c.manager}\0${c.apiVersion}`) ?? []), c]);
  const parts = [...byManager.values()].map((list) => {
    const head = `conflict${list.length > 1 ? 's' : ''} with "${list[0]!.manager}" using ${list[0]!.apiVersion}`;
    return list.length === 1 ? `${head}: ${list[0]!.field}` : `${head}:\n${list.map((c) => `- ${c.field}`).join('\n')}`;
  });
  const n = conflicts.length;
  return statusError(409, 'Conflict', `Apply failed with ${n} conflict${n > 1 ? 's' : ''}: ${parts.join('\n')}`, {
    causes: conflicts.map((c) => ({
      reason: 'FieldManagerConflict',
      message: `conflict with "${c.manager}" using ${c.apiVersion}`,
      field: c.field,
    })),
  });
}
