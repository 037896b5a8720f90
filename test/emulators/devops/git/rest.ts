/**
 * Git REST: repositories, refs, items, commits and pushes over the real repositories. A push is
 * built with fast-import on top of the requested parent and the branch is moved with
 * compare-and-swap, so a stale `oldObjectId` is a 409 TF401028 exactly when another writer won.
 */
import { TF, vssError } from '../errors';
import { refusePushToProtectedBranch } from '../policy';
import { collection, enumValue, jsonBody, ok, prop, query, queryBool, queryInt, route } from '../http';
import { identityRefById } from '../views';
import { GIT_BITS } from '../security';
import { who, type DevOpsRoute, type Req } from '../service';
import {
  callerPerson,
  commitJson,
  defaultBranch,
  repoApiUrl,
  repoJson,
  repoOf,
  repoPermitted,
  requireRepoPermission,
  visibleRepos,
  personJson,
  type RepoRef,
} from './common';
import { ZERO_ID, type CommitInfo, type GitPerson, type TreeOp } from './store';

const SHA = /^[0-9a-f]{40}$/i;

function listRepos(r: Req) {
  return ok(collection(visibleRepos(r, r.ctx.project).map((ref) => repoJson(r, ref))));
}

async function getRepo(r: Req) {
  return ok(repoJson(r, await repoOf(r)));
}

// ---- refs ------------------------------------------------------------------------------------

async function getRefs(r: Req) {
  const ref = await repoOf(r);
  const store = r.ctx.svc.git;
  const filter = query(r.req, 'filter');
  const contains = query(r.req, 'filterContains');
  let refs = await store.refs(ref.repo.id);
  if (filter) refs = refs.filter((x) => x.name.slice('refs/'.length).startsWith(filter.replace(/^refs\//, '')));
  if (contains) refs = refs.filter((x) => x.name.toLowerCase().includes(contains.toLowerCase()));
  const top = queryInt(r.req, '$top');
  if (top !== undefined) refs = refs.slice(0, top);
  const url = repoApiUrl(r.ctx.urls, ref);
  return ok(
    collection(
      refs.map((x) => {
        const creator = r.ctx.svc.repos.creatorOf(ref.repo.id, x.name);
        const json: Record<string, unknown> = { name: x.name, objectId: x.objectId };
        if (creator) json.creator = identityRefById(r.ctx.urls, r.ctx.state, creator);
        json.url = `${url}/refs?filter=${encodeURIComponent(x.name.slice('refs/'.length))}`;
        return json;
      }),
    ),
  );
}

type RefStatus =
  | 'succeeded'
  | 'staleOldObjectId'
  | 'invalidRefName'
  | 'unresolvableToCommit'
  | 'writePermissionRequired'
  | 'createBranchPermissionRequired'
  | 'createTagPermissionRequired'
  | 'forcePushRequired';

async function updateRefs(r: Req) {
  const ref = await repoOf(r);
  const caller = who(r);
  const body = jsonBody(r.req, 'ref updates');
  if (!Array.isArray(body))
    throw vssError(
      400,
      'InvalidArgumentValueException',
      'The body must be an array of {name, oldObjectId, newObjectId}.',
      'Git',
    );
  const store = r.ctx.svc.git;
  const results = await store.exclusive(ref.repo.id, async () => {
    const out: Record<string, unknown>[] = [];
    for (const [i, u] of body.entries()) {
      const name = prop<string>(u, 'name');
      const oldId = String(prop<string>(u, 'oldObjectId') ?? ZERO_ID).toLowerCase();
      const newId = String(prop<string>(u, 'newObjectId') ?? ZERO_ID).toLowerCase();
      if (typeof name !== 'string' || !name.startsWith('refs/') || !SHA.test(oldId) || !SHA.test(newId)) {
        throw vssError(
          400,
          'InvalidArgumentValueException',
          `Ref update ${i} needs name (refs/…), oldObjectId and newObjectId (40 hex digits; zeros to create or delete).`,
          'Git',
        );
      }
      let status: RefStatus = 'succeeded';
      const current = await store.refTip(ref.repo.id, name);
      const isTag = name.startsWith('refs/tags/');
      if (newId !== ZERO_ID && !(await store.objectType(ref.repo.id, newId))) status = 'unresolvableToCommit';
      else if (!current && oldId === ZERO_ID) {
        if (!repoPermitted(r.ctx.state, caller, ref, isTag ? GIT_BITS.createTag : GIT_BITS.createBranch))
          status = isTag ? 'createTagPermissionRequired' : 'createBranchPermissionRequired';
      } else if (newId === ZERO_ID) {
        if (
          !repoPermitted(r.ctx.state, caller, ref, GIT_BITS.forcePush) &&
          r.ctx.svc.repos.creatorOf(ref.repo.id, name) !== caller.identity.id
        )
          status = 'forcePushRequired';
      } else if (!repoPermitted(r.ctx.state, caller, ref, GIT_BITS.contribute)) status = 'writePermissionRequired';
      else if (
        current &&
        current !== newId &&
        !(await store.isAncestor(ref.repo.id, current, newId)) &&
        !repoPermitted(r.ctx.state, caller, ref, GIT_BITS.forcePush)
      )
        status = 'forcePushRequired';
      if (status === 'succeeded' && (current ?? ZERO_ID) !== oldId) status = 'staleOldObjectId';
      if (status === 'succeeded' && !(await store.updateRef(ref.repo.id, name, newId, oldId)))
        status = 'staleOldObjectId';
      if (status === 'succeeded' && oldId === ZERO_ID)
        r.ctx.svc.repos.setCreator(ref.repo.id, name, caller.identity.id);
      out.push({
        repositoryId: ref.repo.id,
        name,
        oldObjectId: oldId,
        newObjectId: newId,
        isLocked: false,
        updateStatus: status,
        success: status === 'succeeded',
        customMessage: null,
      });
    }
    return out;
  });
  return ok(collection(results));
}

// ---- versions and items ------------------------------------------------------------------------

const VERSION_TYPES = { branch: 0, tag: 1, commit: 2 } as const;

interface Resolved {
  commit: string;
  label: string;
}

async function resolveVersion(r: Req, ref: RepoRef, prefix: string): Promise<Resolved | undefined> {
  const version = query(r.req, `${prefix}.version`) ?? query(r.req, 'version');
  const type =
    enumValue(query(r.req, `${prefix}.versionType`) ?? query(r.req, 'versionType'), VERSION_TYPES, 'versionType') ??
    'branch';
  const store = r.ctx.svc.git;
  const name = version ?? defaultBranch(ref.repo);
  const label = `${type === 'branch' ? 'Branch' : type === 'tag' ? 'Tag' : 'Commit'}: ${name} `;
  let commit: string | undefined;
  if (type === 'commit') commit = SHA.test(name) ? await store.resolveCommit(ref.repo.id, name) : undefined;
  else
    commit = await store.refTip(
      ref.repo.id,
      `refs/${type === 'branch' ? 'heads' : 'tags'}/${name.replace(/^refs\/(heads|tags)\//, '')}`,
    );
  if (!commit) {
    if (version === undefined) return undefined;
    throw vssError(404, 'GitUnresolvableToCommitException', TF.versionNotFound(label), 'Git');
  }
  return { commit, label };
}

function normalizePath(p: string | undefined): string {
  return (p ?? '/').replace(/\\/g, '/').replace(/^\/+/, '').replace(/\/+$/, '');
}

const RECURSION = { none: 0, oneLevel: 1, oneLevelPlusNestedEmptyFolders: 4, full: 120 } as const;

function wantsRaw(r: Req): boolean {
  const accept = String(r.req.headers.accept ?? '').toLowerCase();
  const format = (query(r.req, '$format') ?? '').toLowerCase();
  return (
    accept.startsWith('application/octet-stream') ||
    accept.startsWith('text/plain') ||
    format === 'octetstream' ||
    format === 'text' ||
    queryBool(r.req, 'download') === true
  );
}

async function getItems(r: Req) {
  const ref = await repoOf(r);
  const store = r.ctx.svc.git;
  const repoUrl = repoApiUrl(r.ctx.urls, ref);
  const pathParam = query(r.req, 'path');
  const scopePath = query(r.req, 'scopePath');
  const recursion = enumValue(query(r.req, 'recursionLevel'), RECURSION, 'recursionLevel');
  const version = await resolveVersion(r, ref, 'versionDescriptor');
  const target = normalizePath(pathParam ?? scopePath);
  const displayPath = `/${target}`;
  if (!version)
    throw vssError(
      404,
      'GitItemNotFoundException',
      TF.itemNotFound(displayPath, ref.repo.name, `Branch: ${defaultBranch(ref.repo)} `, ZERO_ID),
      'Git',
    );
  const type = target ? await store.objectType(ref.repo.id, `${version.commit}:${target}`) : 'tree';
  if (type !== 'blob' && type !== 'tree') {
    throw vssError(
      404,
      'GitItemNotFoundException',
      TF.itemNotFound(displayPath, ref.repo.name, version.label, version.commit),
      'Git',
    );
  }
  const itemUrl = (p: string): string =>
    `${repoUrl}/items?path=${encodeURIComponent(p)}&versionType=Branch&versionOptions=None`;
  const item = (p: string, t: 'blob' | 'tree' | 'commit', objectId: string): Record<string, unknown> => {
    const json: Record<string, unknown> = { objectId, gitObjectType: t, commitId: version.commit, path: p };
    if (t === 'tree') json.isFolder = true;
    json.url = itemUrl(p);
    return json;
  };
  const objectId = target
    ? (await store.objectId(ref.repo.id, `${version.commit}:${target}`))!
    : (await store.objectId(ref.repo.id, `${version.commit}^{tree}`))!;

  const listing = pathParam === undefined || (recursion !== undefined && recursion !== 'none');
  if (type === 'blob' && (!listing || pathParam !== undefined)) {
    const content = (await store.readBlob(ref.repo.id, version.commit, target))!;
    if (wantsRaw(r)) return { status: 200, headers: { 'content-type': 'application/octet-stream' }, body: content };
    const json = item(displayPath, 'blob', objectId);
    if (queryBool(r.req, 'includeContentMetadata')) {
      const name = target.split('/').pop() ?? target;
      json.contentMetadata = {
        encoding: 65001,
        contentType: 'text/plain',
        fileName: name,
        extension: name.includes('.') ? `.${name.split('.').pop()}` : '',
      };
    }
    if (queryBool(r.req, 'includeContent')) json.content = content.toString('utf8');
    return ok(json);
  }
  if (!listing) return ok(item(displayPath, 'tree', objectId));
  const values = [item(target ? displayPath : '/', type, objectId)];
  if (type === 'tree' && recursion !== undefined && recursion !== 'none') {
    const entries = await store.listTree(ref.repo.id, version.commit, target, recursion === 'full');
    for (const e of entries) values.push(item(`/${e.path}`, e.type, e.objectId));
  }
  return ok(collection(values));
}

// ---- commits -----------------------------------------------------------------------------------

async function getCommits(r: Req) {
  const ref = await repoOf(r);
  const store = r.ctx.svc.git;
  const version = await resolveVersion(r, ref, 'searchCriteria.itemVersion');
  if (!version) return ok(collection([]));
  const itemPath = query(r.req, 'searchCriteria.itemPath');
  const top = queryInt(r.req, 'searchCriteria.$top') ?? queryInt(r.req, '$top') ?? 100;
  const skip = queryInt(r.req, 'searchCriteria.$skip') ?? queryInt(r.req, '$skip') ?? 0;
  const opts: { path?: string; top: number; skip: number } = { top, skip };
  if (itemPath) opts.path = normalizePath(itemPath) || '.';
  const commits = await store.log(ref.repo.id, version.commit, opts);
  return ok(collection(commits.map((c) => commitJson(r, ref, c))));
}

async function getCommit(r: Req) {
  const ref = await repoOf(r);
  const id = r.params.commitId ?? '';
  const c = SHA.test(id) ? await r.ctx.svc.git.commit(ref.repo.id, id) : undefined;
  if (!c)
    throw vssError(
      404,
      'GitCommitDoesNotExistException',
      `The commit '${id}' does not exist in repository '${ref.repo.name}'.`,
      'Git',
    );
  return ok(commitJson(r, ref, c, true));
}

// ---- pushes ------------------------------------------------------------------------------------

const CHANGE_TYPES = { add: 1, edit: 2, rename: 8, delete: 16 } as const;
const CONTENT_TYPES = { rawText: 0, base64Encoded: 1 } as const;

type ChangeKind = 'add' | 'edit' | 'rename' | 'delete' | 'renameEdit';

function changeKind(v: unknown, where: string): ChangeKind {
  if (typeof v === 'number') {
    if (v === 10) return 'renameEdit';
  } else if (typeof v === 'string' && v.includes(',')) {
    const parts = v
      .split(',')
      .map((x) => x.trim().toLowerCase())
      .sort();
    if (parts.join(',') === 'edit,rename') return 'renameEdit';
  }
  const k = enumValue(v, CHANGE_TYPES, `${where}.changeType (add, edit, rename, delete)`);
  if (!k)
    throw vssError(
      400,
      'InvalidArgumentValueException',
      `${where}.changeType is missing: add, edit, rename or delete.`,
      'Git',
    );
  return k;
}

function validPath(p: unknown, where: string): string {
  if (typeof p !== 'string' || !p.trim())
    throw vssError(
      400,
      'InvalidArgumentValueException',
      `${where} is missing: give the file path, e.g. /clusters/prod/flux-system/kustomization.yaml.`,
      'Git',
    );
  const n = normalizePath(p);
  if (!n || n.split('/').some((s) => s === '' || s === '.' || s === '..'))
    throw vssError(400, 'InvalidArgumentValueException', `${where} '${p}' is not a valid file path.`, 'Git');
  return n;
}

function contentOf(change: unknown, where: string): Buffer {
  const nc = prop(change, 'newContent');
  const content = prop<string>(nc, 'content');
  if (typeof content !== 'string')
    throw vssError(
      400,
      'InvalidArgumentValueException',
      `${where}.newContent.content is missing: add and edit need the new file content.`,
      'Git',
    );
  const ct =
    enumValue(prop(nc, 'contentType'), CONTENT_TYPES, `${where}.newContent.contentType (rawtext or base64encoded)`) ??
    'rawText';
  return ct === 'base64Encoded' ? Buffer.from(content, 'base64') : Buffer.from(content, 'utf8');
}

/** Validates a commit's changes against the parent's files and turns them into tree operations. */
function commitOps(changes: unknown, files: Map<string, { mode: string }>, parent: string, where: string): TreeOp[] {
  if (!Array.isArray(changes) || changes.length === 0)
    throw vssError(400, 'InvalidArgumentValueException', `${where}.changes must list at least one change.`, 'Git');
  const isDir = (p: string): boolean => {
    for (const k of files.keys()) if (k.startsWith(`${p}/`)) return true;
    return false;
  };
  const parentIsFile = (p: string): boolean => {
    const parts = p.split('/');
    for (let i = 1; i < parts.length; i++) if (files.has(parts.slice(0, i).join('/'))) return true;
    return false;
  };
  const ops: TreeOp[] = [];
  changes.forEach((change, i) => {
    const w = `${where}.changes[${i}]`;
    const kind = changeKind(prop(change, 'changeType'), w);
    const p = validPath(prop(prop(change, 'item'), 'path'), `${w}.item.path`);
    if (kind === 'add') {
      if (files.has(p) || isDir(p) || parentIsFile(p))
        throw vssError(400, 'GitInvalidChangeException', TF.addExists(`/${p}`), 'Git');
      ops.push({ op: 'put', path: p, content: contentOf(change, w) });
      files.set(p, { mode: '100644' });
    } else if (kind === 'edit') {
      const f = files.get(p);
      if (!f) throw vssError(400, 'GitInvalidChangeException', TF.editMissing(`/${p}`, parent), 'Git');
      ops.push({ op: 'put', path: p, content: contentOf(change, w), mode: f.mode });
    } else if (kind === 'delete') {
      if (!files.has(p) && !isDir(p))
        throw vssError(
          400,
          'GitInvalidChangeException',
          `The path '/${p}' specified in the delete operation does not exist at commit '${parent}'.`,
          'Git',
        );
      ops.push({ op: 'delete', path: p });
      for (const k of [...files.keys()]) if (k === p || k.startsWith(`${p}/`)) files.delete(k);
    } else {
      const from = validPath(prop(change, 'sourceServerItem'), `${w}.sourceServerItem`);
      const f = files.get(from);
      if (!f)
        throw vssError(
          400,
          'GitInvalidChangeException',
          `The rename source '/${from}' does not exist at commit '${parent}'.`,
          'Git',
        );
      if (files.has(p) || isDir(p)) throw vssError(400, 'GitInvalidChangeException', TF.addExists(`/${p}`), 'Git');
      ops.push({ op: 'rename', from, to: p });
      files.delete(from);
      files.set(p, f);
      if (kind === 'renameEdit') ops.push({ op: 'put', path: p, content: contentOf(change, w), mode: f.mode });
    }
  });
  return ops;
}

function personOf(v: unknown, fallback: GitPerson): GitPerson {
  const name = prop<string>(v, 'name');
  const email = prop<string>(v, 'email');
  const date = prop<string>(v, 'date');
  const t = date ? Math.floor(Date.parse(date) / 1000) : NaN;
  return {
    name: typeof name === 'string' && name ? name : fallback.name,
    email: typeof email === 'string' && email ? email : fallback.email,
    time: Number.isFinite(t) ? t : fallback.time,
  };
}

async function createPush(r: Req) {
  const ref = await repoOf(r);
  const caller = who(r);
  const body = jsonBody(r.req, 'push');
  const refUpdates = prop<unknown[]>(body, 'refUpdates');
  const commits = prop<unknown[]>(body, 'commits');
  if (!Array.isArray(refUpdates) || refUpdates.length !== 1) {
    throw vssError(
      400,
      'InvalidArgumentValueException',
      'refUpdates must hold exactly one {name, oldObjectId}: the branch this push moves.',
      'Git',
    );
  }
  if (!Array.isArray(commits) || commits.length === 0)
    throw vssError(400, 'InvalidArgumentValueException', 'commits must hold at least one commit with changes.', 'Git');
  const name = prop<string>(refUpdates[0], 'name');
  const oldObjectId = String(prop<string>(refUpdates[0], 'oldObjectId') ?? '').toLowerCase();
  if (typeof name !== 'string' || !/^refs\/heads\/./.test(name))
    throw vssError(
      400,
      'InvalidArgumentValueException',
      `refUpdates[0].name '${String(name)}' must be a branch (refs/heads/…).`,
      'Git',
    );
  if (!SHA.test(oldObjectId))
    throw vssError(
      400,
      'InvalidArgumentValueException',
      `refUpdates[0].oldObjectId must be 40 hex digits: the branch tip you built on, the commit to branch from, or zeros for a first commit.`,
      'Git',
    );

  const store = r.ctx.svc.git;
  const repos = r.ctx.svc.repos;
  requireRepoPermission(r, ref, GIT_BITS.contribute);
  return store.exclusive(ref.repo.id, async () => {
    const current = await store.refTip(ref.repo.id, name);
    let base: string | undefined;
    if (current) {
      if (current !== oldObjectId) throw vssError(409, 'GitReferenceStaleException', TF.staleRef(name), 'Git');
      refusePushToProtectedBranch(ref.project, ref.repo.id, name);
      base = current;
    } else {
      requireRepoPermission(r, ref, GIT_BITS.createBranch);
      if (oldObjectId !== ZERO_ID) {
        base = await store.resolveCommit(ref.repo.id, oldObjectId);
        if (!base)
          throw vssError(
            400,
            'GitUnresolvableToCommitException',
            `The commit '${oldObjectId}' to create branch '${name}' from does not exist in repository '${ref.repo.name}'.`,
            'Git',
          );
      }
    }
    const now = store.now();
    const pusher = callerPerson(caller, now);
    const written: CommitInfo[] = [];
    let parent = base;
    for (const [i, c] of commits.entries()) {
      const files = parent
        ? await store.files(ref.repo.id, parent)
        : new Map<string, { mode: string; objectId: string }>();
      const ops = commitOps(prop(c, 'changes'), files, parent ?? ZERO_ID, `commits[${i}]`);
      const comment = prop<string>(c, 'comment');
      if (typeof comment !== 'string' || !comment.trim())
        throw vssError(
          400,
          'InvalidArgumentValueException',
          `commits[${i}].comment is missing: every commit needs a message.`,
          'Git',
        );
      const author = personOf(prop(c, 'author'), pusher);
      const committer = personOf(prop(c, 'committer'), pusher);
      const w = await store.writeCommit(ref.repo.id, { parent, message: comment, author, committer, ops });
      written.push(w);
      parent = w.commitId;
    }
    const newId = parent!;
    if (!(await store.updateRef(ref.repo.id, name, newId, current ?? ZERO_ID)))
      throw vssError(409, 'GitReferenceStaleException', TF.staleRef(name), 'Git');
    if (!current) repos.setCreator(ref.repo.id, name, caller.identity.id);
    const date = r.ctx.svc.cloud.clock.iso();
    const rec = repos.recordPush({
      repositoryId: ref.repo.id,
      date,
      pushedBy: caller.identity.id,
      refUpdates: [{ name, oldObjectId: current ?? ZERO_ID, newObjectId: newId }],
      commits: written.map((c) => c.commitId),
    });
    return ok(pushJson(r, ref, rec.pushId, date, caller.identity.id, rec.refUpdates, written), 201);
  });
}

function pushJson(
  r: Req,
  ref: RepoRef,
  pushId: number,
  date: string,
  pushedBy: string,
  refUpdates: { name: string; oldObjectId: string; newObjectId: string }[],
  commits?: CommitInfo[],
) {
  const repoUrl = repoApiUrl(r.ctx.urls, ref);
  const url = `${repoUrl}/pushes/${pushId}`;
  const json: Record<string, unknown> = {};
  if (commits)
    json.commits = commits.map((c) => ({
      treeId: c.treeId,
      commitId: c.commitId,
      author: personJson(c.author),
      committer: personJson(c.committer),
      comment: c.message,
      parents: c.parents,
      url: `${repoUrl}/commits/${c.commitId}`,
    }));
  json.refUpdates = refUpdates.map((u) => ({ repositoryId: ref.repo.id, ...u }));
  json.repository = repoJson(r, ref);
  json.pushedBy = identityRefById(r.ctx.urls, r.ctx.state, pushedBy);
  json.pushId = pushId;
  json.date = date;
  json.url = url;
  json._links = {
    self: { href: url },
    repository: { href: repoUrl },
    commits: { href: `${url}/commits` },
    pusher: { href: `${r.ctx.urls.vssps}/_apis/Identities/${pushedBy}` },
    refs: { href: `${repoUrl}/refs/${refUpdates[0]?.name ?? ''}` },
  };
  return json;
}

async function listPushes(r: Req) {
  const ref = await repoOf(r);
  const list = r.ctx.svc.repos.pushesOf(ref.repo.id).slice().reverse();
  return ok(collection(list.map((p) => pushJson(r, ref, p.pushId, p.date, p.pushedBy, p.refUpdates))));
}

async function getPush(r: Req) {
  const ref = await repoOf(r);
  const id = Number(r.params.pushId);
  const p = r.ctx.svc.repos.pushesOf(ref.repo.id).find((x) => x.pushId === id);
  if (!p) throw vssError(404, 'GitPushNotFoundException', `The push ${r.params.pushId} could not be found.`, 'Git');
  const commits: CommitInfo[] = [];
  for (const c of p.commits) {
    const info = await r.ctx.svc.git.commit(ref.repo.id, c);
    if (info) commits.push(info);
  }
  return ok(pushJson(r, ref, p.pushId, p.date, p.pushedBy, p.refUpdates, commits));
}

export const gitRoutes: DevOpsRoute[] = [
  route('GET', '_apis/git/repositories', { scope: 'any' }, listRepos),
  route('GET', '_apis/git/repositories/:repo', { scope: 'any' }, getRepo),
  route('GET', '_apis/git/repositories/:repo/refs', { scope: 'any' }, getRefs),
  route('POST', '_apis/git/repositories/:repo/refs', { scope: 'any' }, updateRefs),
  route('GET', '_apis/git/repositories/:repo/items', { scope: 'any' }, getItems),
  route('GET', '_apis/git/repositories/:repo/commits', { scope: 'any' }, getCommits),
  route('GET', '_apis/git/repositories/:repo/commits/:commitId', { scope: 'any' }, getCommit),
  route('GET', '_apis/git/repositories/:repo/pushes', { scope: 'any' }, listPushes),
  route('POST', '_apis/git/repositories/:repo/pushes', { scope: 'any' }, createPush),
  route('GET', '_apis/git/repositories/:repo/pushes/:pushId', { scope: 'any' }, getPush),
];
