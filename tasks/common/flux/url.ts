/**
 * Azure DevOps Git URLs: the one normaliser FluxManifestPatch (what it writes) and FluxOidcVerify
 * (what it accepts) share, so the two can never disagree about a URL.
 *
 * `GitRepository.spec.provider: azure` only works over HTTPS with the
 * `https://dev.azure.com/{org}/{project}/_git/{repo}` form (Flux docs, source-controller
 * gitrepositories.md §Azure); bootstraps often used SSH (`ssh://git@ssh.dev.azure.com/v3/…`, the
 * scp-like `git@ssh.dev.azure.com:v3/…`, `vs-ssh.visualstudio.com`) or the legacy
 * `{org}.visualstudio.com[/DefaultCollection]` host, often with `.git`, user info, a port or a
 * trailing slash (Azure DevOps docs, "Use SSH key authentication" and "Azure DevOps URL changes").
 *
 * Project and repository names are kept percent-encoded in one canonical way: decoded, then encoded
 * with encodeURIComponent (spaces as %20, non-ASCII as UTF-8 %XX), so `My Project`, `My%20Project`
 * and `my%20project`-style inputs with the same bytes compare equal and print the same.
 */

export interface AzureDevOpsRepoRef {
  organization: string;
  /** Canonically percent-encoded (e.g. `Plattform%20%C3%96ps`). */
  project: string;
  /** Canonically percent-encoded, without a `.git` suffix. */
  repository: string;
}

/** Decodes what decodes (a stray `%` stays) and encodes it again the one canonical way. */
export function canonicalSegment(segment: string): string {
  let decoded = segment;
  try {
    decoded = decodeURIComponent(segment);
  } catch {
    /* a literal % that is not an escape: keep the text as it is */
  }
  return encodeURIComponent(decoded);
}

const ORG = /^[A-Za-z0-9][A-Za-z0-9-]*$/;

function ref(org: string, project: string, repo: string): AzureDevOpsRepoRef | undefined {
  const repository = repo.replace(/\.git$/i, '');
  if (!ORG.test(org) || !project || !repository) return undefined;
  return { organization: org, project: canonicalSegment(project), repository: canonicalSegment(repository) };
}

/** Path segments without empty ones (a trailing slash, a doubled slash). */
const segs = (p: string): string[] => p.split('/').filter(Boolean);

function fromHttps(u: URL): AzureDevOpsRepoRef | undefined {
  if (u.port && u.port !== '443') return undefined;
  if (u.search || u.hash) return undefined;
  const host = u.hostname.toLowerCase();
  let s = segs(u.pathname);
  let org: string | undefined;
  if (host === 'dev.azure.com') {
    org = s.shift();
  } else {
    const vs = /^([a-z0-9][a-z0-9-]*)\.visualstudio\.com$/.exec(host);
    if (!vs || vs[1] === 'vs-ssh' || vs[1] === 'app') return undefined;
    org = vs[1];
  }
  if (s[0]?.toLowerCase() === 'defaultcollection') s = s.slice(1);
  // {project}/_git/{repo}, or _git/{repo} when the repository has the project's name.
  if (s.length === 3 && s[1] === '_git') return org ? ref(org, s[0], s[2]) : undefined;
  if (s.length === 2 && s[0] === '_git') return org ? ref(org, s[1], s[1]) : undefined;
  return undefined;
}

function fromSsh(host: string, port: string, path: string): AzureDevOpsRepoRef | undefined {
  const h = host.toLowerCase();
  if (h !== 'ssh.dev.azure.com' && h !== 'vs-ssh.visualstudio.com') return undefined;
  if (port && port !== '22') return undefined;
  const s = segs(path);
  if (s.length !== 4 || s[0].toLowerCase() !== 'v3') return undefined;
  return ref(s[1], s[2], s[3]);
}

/** Parses every Azure DevOps Git URL form; undefined for anything else. */
export function parseAzureDevOpsGitUrl(url: string): AzureDevOpsRepoRef | undefined {
  const u = url.trim();
  if (!u || /\s/.test(u)) return undefined;
  // scp-like: [user@]host:path (no scheme; the path does not start with //)
  const scp = /^(?:[^@/:]+@)?([^@/:]+):(?!\/\/)([^:]+)$/.exec(u);
  if (scp && !/^[a-z][a-z0-9+.-]*:\/\//i.test(u)) return fromSsh(scp[1], '', scp[2]);
  let parsed: URL;
  try {
    parsed = new URL(u);
  } catch {
    return undefined;
  }
  if (parsed.protocol === 'https:') return fromHttps(parsed);
  if (parsed.protocol === 'ssh:') return fromSsh(parsed.hostname, parsed.port, parsed.pathname);
  return undefined;
}

export function azureDevOpsHttpsUrl(r: AzureDevOpsRepoRef): string {
  return `https://dev.azure.com/${r.organization}/${r.project}/_git/${r.repository}`;
}

/** The canonical HTTPS URL `provider: azure` needs, or undefined when `url` is not an Azure DevOps URL. */
export function toAzureDevOpsHttpsUrl(url: string): string | undefined {
  const r = parseAzureDevOpsGitUrl(url);
  return r && azureDevOpsHttpsUrl(r);
}

/** Same repository? Organization, project and repository names compare case-insensitively, as Azure DevOps does. */
export function sameRepository(a: AzureDevOpsRepoRef, b: AzureDevOpsRepoRef): boolean {
  const eq = (x: string, y: string) => decodeURIComponent(x).toLowerCase() === decodeURIComponent(y).toLowerCase();
  return eq(a.organization, b.organization) && eq(a.project, b.project) && eq(a.repository, b.repository);
}
