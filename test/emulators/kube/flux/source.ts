/**
 * source-controller's GitRepository reconcile, as a user observes it: resolve credentials (Secret,
 * `provider: azure` through workload identity, the SSH shortcut), ask the remote for the branch
 * tip, fetch it, store the artifact (`<branch>@sha1:<sha>`), and report Ready / FetchFailed /
 * ArtifactInStorage with the controller's texts for the installed Flux version.
 */
import * as crypto from 'node:crypto';
import type { KubeObject } from '../model';
import type { AuthFailure, ControllerInfo } from './auth';
import { gitAuth } from './auth';
import { deleteCondition, finishReconcile, markFailed, markReady, markReconciling, setCondition } from './conditions';
import type { FluxRuntime } from './controllers';
import type { Auth, Remote } from './git';
import { advertisedRefs, GitError, resolveRemote } from './git';

interface GitRepositorySpec {
  url?: string;
  ref?: { branch?: string; tag?: string; commit?: string; name?: string };
  secretRef?: { name?: string };
  provider?: string;
  serviceAccountName?: string;
  suspend?: boolean;
}

export interface Artifact {
  revision: string;
  digest: string;
  path: string;
  url: string;
  size: number;
  lastUpdateTime: string;
}

/** The commit sha of an artifact revision (`main@sha1:<sha>`, `sha1:<sha>`). */
export function shaOfRevision(revision: string | undefined): string | undefined {
  return /sha1:([0-9a-f]{40})$/.exec(revision ?? '')?.[1];
}

/** Wraps an auth failure the way source-controller words it for this Flux version. */
function sourceFailure(
  f: AuthFailure,
  controller: ControllerInfo,
  url: string,
): { reason: string; message: string; stalled?: boolean } {
  const modern = controller.fluxMinor >= 6;
  switch (f.stage) {
    case 'secret':
      return { reason: 'AuthenticationFailed', message: f.message };
    case 'stalled':
      return { reason: f.reason, message: f.message, stalled: true };
    case 'conflict':
      return { reason: 'GitOperationFailed', message: `failed to checkout and determine revision: ${f.message}` };
    case 'transport':
      return {
        reason: 'GitOperationFailed',
        message: `failed to checkout and determine revision: unable to clone '${url}': ${f.message}`,
      };
    case 'token':
      return modern
        ? {
            reason: 'AuthenticationFailed',
            message: `failed to configure authentication options: failed to get access token for Git repository: ${f.message}`,
          }
        : { reason: 'GitOperationFailed', message: `failed to checkout and determine revision: ${f.message}` };
  }
}

function refOf(spec: GitRepositorySpec): { ref: string; label: string; commit?: string } {
  const r = spec.ref ?? {};
  if (r.name) return { ref: r.name, label: r.name };
  if (r.tag) return { ref: `refs/tags/${r.tag}`, label: r.tag };
  if (r.branch) return { ref: `refs/heads/${r.branch}`, label: r.branch, commit: r.commit };
  if (r.commit) return { ref: 'HEAD', label: 'HEAD', commit: r.commit };
  return { ref: 'refs/heads/master', label: 'master' };
}

export async function reconcileGitRepository(
  rt: FluxRuntime,
  obj: KubeObject,
  controller: ControllerInfo,
): Promise<void> {
  const spec = (obj.spec ?? {}) as GitRepositorySpec;
  const ns = obj.metadata.namespace!;
  const o = structuredClone(obj);
  markReconciling(o, rt.now());
  rt.writeStatus(o);

  const fail = (reason: string, message: string, stalled = false) => {
    setCondition(o, 'FetchFailed', 'True', reason, message, rt.now());
    markFailed(o, reason, message, rt.now(), stalled);
    finishReconcile(o);
    rt.writeStatus(o);
  };

  const url = spec.url ?? '';
  let remote: Remote;
  try {
    remote = resolveRemote(rt.cluster.ctx, url);
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    if (/^failed to parse url/.test(msg)) return fail('URLInvalid', msg, true);
    return fail('GitOperationFailed', `failed to checkout and determine revision: unable to clone '${url}': ${msg}`);
  }

  const auth = await gitAuth(rt.cluster, controller, {
    namespace: ns,
    spec,
    transport: remote.transport,
    sshKeyRegistered: rt.cluster.state.bootstrap?.sshKeyRegistered === true,
  });
  if (!auth.ok) {
    const f = sourceFailure(auth.failure, controller, url);
    return fail(f.reason, f.message, f.stalled);
  }

  const { ref, label, commit } = refOf(spec);
  let sha: string;
  let refetched = false;
  try {
    const refs = await advertisedRefs(rt.cluster.ctx, remote, auth.auth, 'git-upload-pack');
    const tip = refs.get(ref) ?? (ref.startsWith('refs/tags/') ? refs.get(`${ref}^{}`) : undefined);
    if (!tip) throw new GitError(`couldn't find remote ref "${ref}"`);
    sha = commit ?? tip;
    if (!(await rt.cache.has(sha))) {
      refetched = true;
      const fetched = await rt.cache.fetch(
        remote,
        auth.auth as Auth,
        ref.replace(/^refs\/heads\//, ''),
        `refs/flux/${ns}/${obj.metadata.name}`,
      );
      if (!commit) sha = fetched;
    }
  } catch (e) {
    return fail(
      'GitOperationFailed',
      `failed to checkout and determine revision: unable to clone '${url}': ${e instanceof Error ? e.message : String(e)}`,
    );
  }

  const revision = `${label}@sha1:${sha}`;
  const st = (o.status ??= {}) as { artifact?: Artifact };
  if (st.artifact?.revision !== revision) {
    const tar = await rt.cache.archive(sha);
    const digest = crypto.createHash('sha256').update(tar).digest('hex');
    st.artifact = {
      digest: `sha256:${digest}`,
      lastUpdateTime: rt.now(),
      path: `gitrepository/${ns}/${obj.metadata.name}/${sha}.tar.gz`,
      revision,
      size: tar.length,
      url: `http://source-controller.${controller.pod.metadata.namespace}.svc.cluster.local./gitrepository/${ns}/${obj.metadata.name}/${sha}.tar.gz`,
    };
  }
  const message = `stored artifact for revision '${revision}'`;
  deleteCondition(o, 'FetchFailed');
  markReady(o, 'Succeeded', message, rt.now());
  setCondition(o, 'ArtifactInStorage', 'True', 'Succeeded', message, rt.now());
  finishReconcile(o);
  // kustomize-controller follows artifact revision changes (its SourceRevisionChangePredicate).
  const before = (obj.status as { artifact?: Artifact } | undefined)?.artifact?.revision;
  rt.writeStatus(o);
  if (before !== revision || refetched) rt.sourceChanged(o);
}
