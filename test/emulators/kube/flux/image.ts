/**
 * The image automation controllers, simulated:
 * - image-reflector-controller: ImageRepository scans the emulated registry (tags from the cluster
 *   state's `registry`), ImagePolicy picks the latest tag (semver / alphabetical / numerical).
 * - image-automation-controller: ImageUpdateAutomation checks out the GitRepository it references
 *   (same provider / Secret / workload identity, but its OWN pod's environment), rewrites the
 *   `# {"$imagepolicy": "ns:name[:tag|:name]"}` setters under `update.path`, commits and pushes
 *   with git smart HTTP. Without Contribute, Azure DevOps answers TF401027 and the push fails.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { KubeObject } from '../model';
import type { AuthFailure, ControllerInfo } from './auth';
import { gitAuth } from './auth';
import { finishReconcile, markFailed, markReady, markReconciling } from './conditions';
import type { FluxRuntime } from './controllers';
import type { Remote } from './git';
import { advertisedRefs, git, GitError, resolveRemote } from './git';

// ---------- image-reflector-controller ----------

export async function reconcileImageRepository(rt: FluxRuntime, obj: KubeObject): Promise<void> {
  const o = structuredClone(obj);
  const image = String((obj.spec as { image?: string } | undefined)?.image ?? '');
  const tags = rt.cluster.state.registry?.[image];
  if (!tags) {
    const host = image.split('/')[0] ?? image;
    markFailed(
      o,
      'ReconciliationFailed',
      `GET https://${host}/v2/${image.split('/').slice(1).join('/')}/tags/list: NAME_UNKNOWN: repository name not known to registry`,
      rt.now(),
    );
  } else {
    o.status ??= {};
    const st = o.status as Record<string, unknown>;
    st.canonicalImageName = image;
    st.lastScanResult = {
      scanTime: rt.now(),
      tagCount: tags.length,
      latestTags: [...tags].sort().reverse().slice(0, 10),
    };
    markReady(o, 'Succeeded', `successful scan: found ${tags.length} tags`, rt.now());
  }
  finishReconcile(o);
  rt.writeStatus(o);
  for (const p of rt.list('ImagePolicy', obj.metadata.namespace)) {
    if (
      (p.spec as { imageRepositoryRef?: { name?: string } } | undefined)?.imageRepositoryRef?.name === obj.metadata.name
    )
      rt.enqueue('ImagePolicy', p.metadata.namespace!, p.metadata.name);
  }
}

type Semver = [number, number, number];
function parseSemver(t: string): Semver | undefined {
  const m = /^v?(\d+)\.(\d+)\.(\d+)$/.exec(t);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
}
function cmp(a: Semver, b: Semver): number {
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return 0;
}

/** A small semver range evaluator: `5.0.x`, `>=1.0.0 <2.0.0`, `^1.2.0`, `~1.2.0`, `*`, comma- or space-separated. */
export function inRange(v: Semver, range: string): boolean {
  const parts = range.split(/[\s,]+/).filter(Boolean);
  return parts.every((p) => {
    if (p === '*' || p === 'x') return true;
    const m = /^(>=|<=|>|<|=|\^|~)?v?(\d+|x|\*)(?:\.(\d+|x|\*))?(?:\.(\d+|x|\*))?$/.exec(p);
    if (!m) return false;
    const op = m[1] ?? '=';
    const nums = [m[2], m[3], m[4]].map((n) => (n === undefined || n === 'x' || n === '*' ? undefined : Number(n)));
    if (op === '=' && nums.some((n) => n === undefined)) return nums.every((n, i) => n === undefined || v[i] === n);
    const base: Semver = [nums[0] ?? 0, nums[1] ?? 0, nums[2] ?? 0];
    switch (op) {
      case '>=':
        return cmp(v, base) >= 0;
      case '<=':
        return cmp(v, base) <= 0;
      case '>':
        return cmp(v, base) > 0;
      case '<':
        return cmp(v, base) < 0;
      case '^':
        return v[0] === base[0] && cmp(v, base) >= 0;
      case '~':
        return v[0] === base[0] && v[1] === base[1] && cmp(v, base) >= 0;
      default:
        return cmp(v, base) === 0;
    }
  });
}

export async function reconcileImagePolicy(rt: FluxRuntime, obj: KubeObject): Promise<void> {
  const o = structuredClone(obj);
  const spec = (obj.spec ?? {}) as {
    imageRepositoryRef?: { name?: string };
    policy?: { semver?: { range?: string }; alphabetical?: { order?: string }; numerical?: { order?: string } };
    filterTags?: { pattern?: string; extract?: string };
  };
  const repo = rt.get('ImageRepository', obj.metadata.namespace!, spec.imageRepositoryRef?.name ?? '');
  const scan = repo?.status as { lastScanResult?: { latestTags?: string[] }; canonicalImageName?: string } | undefined;
  const image = String((repo?.spec as { image?: string } | undefined)?.image ?? '');
  let tags = repo ? (rt.cluster.state.registry?.[image] ?? []) : [];
  if (spec.filterTags?.pattern) {
    const re = new RegExp(spec.filterTags.pattern);
    tags = tags
      .filter((t) => re.test(t))
      .map((t) => (spec.filterTags?.extract ? t.replace(re, spec.filterTags.extract) : t));
  }
  let latest: string | undefined;
  if (spec.policy?.semver) {
    const range = spec.policy.semver.range ?? '*';
    latest = tags
      .map((t) => [t, parseSemver(t)] as const)
      .filter(([, v]) => v && inRange(v, range))
      .sort((a, b) => cmp(a[1]!, b[1]!))
      .pop()?.[0];
  } else if (spec.policy?.numerical) {
    const asc = spec.policy.numerical.order !== 'desc';
    latest = tags
      .filter((t) => !Number.isNaN(Number(t)))
      .sort((a, b) => (asc ? Number(a) - Number(b) : Number(b) - Number(a)))
      .pop();
  } else {
    const asc = spec.policy?.alphabetical?.order !== 'desc';
    latest = [...tags].sort((a, b) => (asc ? a.localeCompare(b) : b.localeCompare(a))).pop();
  }
  if (!repo || !scan?.lastScanResult) {
    markFailed(
      o,
      'DependencyNotReady',
      `referenced ImageRepository '${spec.imageRepositoryRef?.name ?? ''}' is not ready`,
      rt.now(),
    );
  } else if (!latest) {
    markFailed(o, 'ReconciliationFailed', 'unable to determine latest version from provided list', rt.now());
  } else {
    const st = (o.status ??= {}) as Record<string, unknown>;
    st.latestImage = `${image}:${latest}`;
    st.latestRef = { name: image, tag: latest };
    markReady(o, 'Succeeded', `Latest image tag for '${image}' resolved to ${latest}`, rt.now());
  }
  finishReconcile(o);
  rt.writeStatus(o);
}

// ---------- image-automation-controller ----------

function iacFailure(
  f: AuthFailure,
  controller: ControllerInfo,
  url: string,
): { reason: string; message: string; stalled?: boolean } {
  switch (f.stage) {
    case 'secret':
      return {
        reason: 'SourceManagerFailed',
        message: `failed configuring source manager: ${f.message.replace(/^failed to get secret/, 'failed to get auth secret')}`,
      };
    case 'stalled':
      return { reason: f.reason, message: f.message, stalled: true };
    case 'conflict':
      return { reason: 'GitOperationFailed', message: `failed to checkout source: ${f.message}` };
    case 'transport':
      return {
        reason: 'GitOperationFailed',
        message: `failed to checkout source: unable to clone '${url}': ${f.message}`,
      };
    case 'token':
      return controller.fluxMinor >= 6
        ? {
            reason: 'SourceManagerFailed',
            message: `failed configuring source manager: failed to configure authentication options: failed to get access token for Git repository: ${f.message}`,
          }
        : { reason: 'GitOperationFailed', message: `failed to checkout source: ${f.message}` };
  }
}

/** Rewrites the image policy setters of one file; returns the new text or undefined when unchanged. */
function applySetters(text: string, policies: Map<string, { image: string; tag: string }>): string | undefined {
  let changed = false;
  const out = text.split('\n').map((line) => {
    const m = /^(\s*(?:-\s+)?[^:#]+:\s*)("?)([^"#\s]*)\2(\s*#\s*\{"\$imagepolicy":\s*"([^"]+)"\}.*)$/.exec(line);
    if (!m) return line;
    const [, head, quote, value, tail, ref] = m;
    const parts = ref!.split(':');
    const p = policies.get(`${parts[0]}:${parts[1]}`);
    if (!p) return line;
    const field = parts[2];
    const next = field === 'tag' ? p.tag : field === 'name' ? p.image : `${p.image}:${p.tag}`;
    if (next === value) return line;
    changed = true;
    return `${head}${quote}${next}${quote}${tail}`;
  });
  return changed ? out.join('\n') : undefined;
}

export async function reconcileImageUpdateAutomation(
  rt: FluxRuntime,
  obj: KubeObject,
  controller: ControllerInfo,
): Promise<void> {
  const ns = obj.metadata.namespace!;
  const spec = (obj.spec ?? {}) as {
    sourceRef?: { kind?: string; name?: string; namespace?: string };
    git?: {
      checkout?: { ref?: { branch?: string } };
      commit?: { author?: { name?: string; email?: string }; messageTemplate?: string };
      push?: { branch?: string };
    };
    update?: { path?: string; strategy?: string };
    suspend?: boolean;
  };
  const o = structuredClone(obj);
  markReconciling(o, rt.now());
  rt.writeStatus(o);
  const fail = (reason: string, message: string, stalled = false) => {
    markFailed(o, reason, message, rt.now(), stalled);
    finishReconcile(o);
    rt.writeStatus(o);
  };

  const srcName = spec.sourceRef?.name ?? '';
  const srcNs = spec.sourceRef?.namespace ?? ns;
  const source = rt.get('GitRepository', srcNs, srcName);
  if (!source)
    return fail(
      'SourceManagerFailed',
      `failed configuring source manager: referenced git repository does not exist: gitrepositories.source.toolkit.fluxcd.io "${srcName}" not found`,
    );
  if (!spec.git)
    return fail(
      'InvalidSourceConfiguration',
      "source kind 'GitRepository' necessitates field .spec.git: invalid source configuration",
      true,
    );
  const srcSpec = (source.spec ?? {}) as {
    url?: string;
    ref?: { branch?: string };
    provider?: string;
    secretRef?: { name?: string };
    serviceAccountName?: string;
  };
  const url = srcSpec.url ?? '';
  let remote: Remote;
  try {
    remote = resolveRemote(rt.cluster.ctx, url);
  } catch (e) {
    return fail(
      'GitOperationFailed',
      `failed to checkout source: unable to clone '${url}': ${e instanceof Error ? e.message : String(e)}`,
    );
  }
  const auth = await gitAuth(rt.cluster, controller, {
    namespace: srcNs,
    spec: srcSpec,
    transport: remote.transport,
    sshKeyRegistered: rt.cluster.state.bootstrap?.sshKeyRegistered === true,
  });
  if (!auth.ok) {
    const f = iacFailure(auth.failure, controller, url);
    return fail(f.reason, f.message, f.stalled);
  }
  const branch = spec.git.checkout?.ref?.branch ?? srcSpec.ref?.branch ?? 'master';
  const pushBranch = spec.git.push?.branch ?? branch;

  let sha: string;
  try {
    const refs = await advertisedRefs(rt.cluster.ctx, remote, auth.auth, 'git-upload-pack');
    if (!refs.get(`refs/heads/${branch}`)) throw new GitError(`couldn't find remote ref "refs/heads/${branch}"`);
    sha = await rt.cache.fetch(remote, auth.auth, branch, `refs/iac/${ns}/${obj.metadata.name}`);
  } catch (e) {
    return fail(
      'GitOperationFailed',
      `failed to checkout source: unable to clone '${url}': ${e instanceof Error ? e.message : String(e)}`,
    );
  }

  const policies = new Map<string, { image: string; tag: string }>();
  for (const p of rt.list('ImagePolicy', ns)) {
    const st = p.status as { latestRef?: { name?: string; tag?: string } } | undefined;
    if (st?.latestRef?.name && st.latestRef.tag)
      policies.set(`${ns}:${p.metadata.name}`, { image: st.latestRef.name, tag: st.latestRef.tag });
  }

  const work = rt.tmpDir('iac');
  try {
    await git(rt.cluster.ctx, ['clone', '--quiet', '--no-checkout', rt.cache.dir, work]);
    await git(rt.cluster.ctx, ['checkout', '--quiet', '-B', pushBranch, sha], { cwd: work });
    const root = path.join(work, spec.update?.path ?? './');
    const files: string[] = [];
    const walk = (d: string) => {
      if (!fs.existsSync(d)) return;
      for (const e of fs.readdirSync(d, { withFileTypes: true })) {
        if (e.name === '.git') continue;
        const p = path.join(d, e.name);
        if (e.isDirectory()) walk(p);
        else if (/\.ya?ml$/.test(e.name)) files.push(p);
      }
    };
    walk(root);
    const changed: string[] = [];
    for (const f of files) {
      const next = applySetters(fs.readFileSync(f, 'utf8'), policies);
      if (next !== undefined) {
        fs.writeFileSync(f, next);
        changed.push(path.relative(work, f));
      }
    }
    const st = (o.status ??= {}) as Record<string, unknown>;
    st.lastAutomationRunTime = rt.now();
    if (changed.length === 0) {
      st.observedSourceRevision = `${branch}@sha1:${sha}`;
      markReady(o, 'Succeeded', 'repository up-to-date', rt.now());
      finishReconcile(o);
      rt.writeStatus(o);
      return;
    }
    const author = spec.git.commit?.author ?? {};
    const date = new Date(rt.cluster.ctx.clock.now()).toISOString();
    const message = spec.git.commit?.messageTemplate?.trim() || 'Update from image update automation';
    await git(rt.cluster.ctx, ['add', '-A'], { cwd: work });
    await git(
      rt.cluster.ctx,
      [
        '-c',
        `user.name=${author.name ?? 'fluxcdbot'}`,
        '-c',
        `user.email=${author.email ?? 'fluxcdbot@users.noreply.github.com'}`,
        'commit',
        '--quiet',
        '-m',
        message,
      ],
      {
        cwd: work,
        env: { GIT_AUTHOR_DATE: date, GIT_COMMITTER_DATE: date },
      },
    );
    const newSha = (await git(rt.cluster.ctx, ['rev-parse', 'HEAD'], { cwd: work })).stdout.trim();
    try {
      await advertisedRefs(rt.cluster.ctx, remote, auth.auth, 'git-receive-pack');
      await git(rt.cluster.ctx, ['push', '--quiet', remote.httpUrl, `HEAD:refs/heads/${pushBranch}`], {
        cwd: work,
        auth: auth.auth,
      });
    } catch (e) {
      // go-git reports a ref the server refused as `command error on <ref>: <status>`.
      const msg = e instanceof Error ? e.message : String(e);
      const rejected = /! \[remote rejected\] \S+ -> (\S+) \((.*)\)\s*$/m.exec(msg);
      const detail = rejected ? `command error on refs/heads/${rejected[1]}: ${rejected[2]}` : msg;
      return fail('GitOperationFailed', `failed to update source: ${detail}`);
    }
    st.lastPushCommit = newSha;
    st.lastPushTime = rt.now();
    st.observedSourceRevision = `${pushBranch}@sha1:${newSha}`;
    markReady(o, 'Succeeded', 'repository up-to-date', rt.now());
    finishReconcile(o);
    rt.writeStatus(o);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}
