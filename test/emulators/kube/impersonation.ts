/**
 * User impersonation (`kubectl --as`, `--as-group`): the `Impersonate-User`, `Impersonate-Group`,
 * `Impersonate-Uid` and `Impersonate-Extra-*` headers. Each impersonated attribute needs the
 * `impersonate` verb on `users` / `groups` / `serviceaccounts` (core group) or `uids` /
 * `userextras/{key}` (authentication.k8s.io); the request then runs as the impersonated user
 * with `system:authenticated` added
 * (https://kubernetes.io/docs/reference/access-authn-authz/authentication/#user-impersonation).
 */
import type { EmuRequest } from '../core/host';
import type { Attributes, UserInfo } from './rbac';
import { forbidden } from './rbac';
import { statusError } from './status';

function values(req: EmuRequest, name: string): string[] {
  const distinct = req.raw.headersDistinct?.[name];
  if (distinct) return distinct.map((v) => v.trim()).filter(Boolean);
  const v = req.headers[name];
  return (Array.isArray(v) ? v : v ? [v] : []).map((x) => x.trim()).filter(Boolean);
}

/** The caller, or the impersonated user when the request asks for one and the caller may. */
export function impersonate(req: EmuRequest, user: UserInfo, allowed: (a: Attributes) => boolean): UserInfo {
  const name = values(req, 'impersonate-user')[0];
  const groups = values(req, 'impersonate-group');
  const uid = values(req, 'impersonate-uid')[0];
  const extras = Object.keys(req.headers).filter((h) => h.startsWith('impersonate-extra-'));
  if (!name) {
    if (groups.length || uid || extras.length)
      throw statusError(
        500,
        'InternalError',
        `Internal error occurred: requested [${[...groups.map((g) => `{Group ${g}}`), ...(uid ? [`{UID ${uid}}`] : [])].join(' ')}] without impersonating a user`,
      );
    return user;
  }
  const checks: Attributes[] = [];
  const sa = /^system:serviceaccount:([^:]+):([^:]+)$/.exec(name);
  checks.push(
    sa
      ? { verb: 'impersonate', group: '', resource: 'serviceaccounts', namespace: sa[1]!, name: sa[2]! }
      : { verb: 'impersonate', group: '', resource: 'users', name },
  );
  for (const g of groups) checks.push({ verb: 'impersonate', group: '', resource: 'groups', name: g });
  if (uid) checks.push({ verb: 'impersonate', group: 'authentication.k8s.io', resource: 'uids', name: uid });
  for (const h of extras) {
    const key = decodeURIComponent(h.slice('impersonate-extra-'.length));
    for (const v of values(req, h))
      checks.push({
        verb: 'impersonate',
        group: 'authentication.k8s.io',
        resource: 'userextras',
        subresource: key,
        name: v,
      });
  }
  for (const a of checks) if (!allowed(a)) throw forbidden(user, a);
  const implied = sa ? ['system:serviceaccounts', `system:serviceaccounts:${sa[1]}`] : [];
  return { name, groups: [...new Set([...groups, ...implied, 'system:authenticated'])] };
}
