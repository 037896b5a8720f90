/**
 * Azure DevOps Git URLs. `GitRepository.spec.provider: azure` only works over HTTPS with the
 * `https://dev.azure.com/{org}/{project}/_git/{repo}` form (Flux docs, source-controller
 * gitrepositories.md §Azure); bootstraps often used SSH or the legacy visualstudio.com host.
 */

export interface AzureDevOpsRepoRef {
  organization: string;
  /** As it appears in the URL (percent-encoding kept, e.g. `My%20Project`). */
  project: string;
  repository: string;
}

const SEG = '([^/?#\\s]+)';

/** Parses every Azure DevOps Git URL form; undefined for anything else. */
export function parseAzureDevOpsGitUrl(url: string): AzureDevOpsRepoRef | undefined {
  const u = url.trim();
  const forms: RegExp[] = [
    // https://dev.azure.com/{org}/{project}/_git/{repo} (optionally user@, trailing slash)
    new RegExp(`^https://(?:[^@/]+@)?dev\\.azure\\.com/${SEG}/${SEG}/_git/${SEG}/?$`, 'i'),
    // ssh://git@ssh.dev.azure.com/v3/{org}/{project}/{repo}
    new RegExp(`^ssh://[^@/]+@ssh\\.dev\\.azure\\.com(?::22)?/v3/${SEG}/${SEG}/${SEG}/?$`, 'i'),
    // git@ssh.dev.azure.com:v3/{org}/{project}/{repo} (scp-like)
    new RegExp(`^[^@/]+@ssh\\.dev\\.azure\\.com:v3/${SEG}/${SEG}/${SEG}/?$`, 'i'),
  ];
  for (const re of forms) {
    const m = re.exec(u);
    if (m) return { organization: m[1], project: m[2], repository: m[3] };
  }
  // {org}@vs-ssh.visualstudio.com:v3/{org}/{project}/{repo} and ssh://{org}@vs-ssh.visualstudio.com/v3/...
  const vsSsh = new RegExp(
    `^(?:ssh://)?[^@/]+@vs-ssh\\.visualstudio\\.com(?::22)?[:/]v3/${SEG}/${SEG}/${SEG}/?$`,
    'i',
  ).exec(u);
  if (vsSsh) return { organization: vsSsh[1], project: vsSsh[2], repository: vsSsh[3] };
  // https://{org}.visualstudio.com[/DefaultCollection]/{project}/_git/{repo}
  const vs = new RegExp(
    `^https://(?:[^@/]+@)?([a-z0-9][a-z0-9-]*)\\.visualstudio\\.com(?:/DefaultCollection)?/${SEG}/_git/${SEG}/?$`,
    'i',
  ).exec(u);
  if (vs) return { organization: vs[1], project: vs[2], repository: vs[3] };
  return undefined;
}

export function azureDevOpsHttpsUrl(ref: AzureDevOpsRepoRef): string {
  return `https://dev.azure.com/${ref.organization}/${ref.project}/_git/${ref.repository}`;
}

/** The HTTPS URL `provider: azure` needs, or undefined when `url` is not an Azure DevOps URL. */
export function toAzureDevOpsHttpsUrl(url: string): string | undefined {
  const ref = parseAzureDevOpsGitUrl(url);
  return ref && azureDevOpsHttpsUrl(ref);
}
