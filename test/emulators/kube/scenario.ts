/**
 * The kube section of the built-in scenarios.
 *
 * `fresh`: cluster aks-prod, Flux 2.4.0 (with the image automation controllers) bootstrapped over
 * SSH from `ssh://git@ssh.dev.azure.com/v3/contoso/platform/fleet`, path `clusters/prod`, Secret
 * `flux-system` (its deploy key registered in Azure DevOps). Nobody is cluster-admin: the AzureRM
 * service connection's principal has exactly the README's least-privilege role (flux-oidc-verify,
 * bound in flux-system); a static `reader` token has the view role.
 *
 * `converged`: the same cluster description. What makes it converged is the rest of the state
 * (the repository carries the workload identity patches, OIDC issuer + workload identity are on,
 * the federated credentials and Azure DevOps rights exist): on first contact the simulated Flux
 * applies the repository (patched ServiceAccounts and Deployments, pods rolled with the injected
 * environment, GitRepository `provider: azure` without `secretRef`) and the GitRepository becomes
 * Ready through workload identity — the article's end state, reached by the mechanism itself.
 */
import type { ScenarioSection } from '../core/service';
import type { CloudState } from '../state';
import { clusterResourceId, findCluster } from '../azure/clusters';
import { FRESH } from '../names';
import { compareVersions, CONTROLLERS, DEFAULT_COMPONENTS, EXTRA_COMPONENTS, fluxComponents } from './flux/install';
import type { KubeRoleState, KubeState } from './model';

/**
 * FluxOidcVerify's least-privilege ClusterRole, exactly as the README's "Rights" section shows it
 * (test/e2e/rights.test.ts holds the two equal). Bound with a RoleBinding in the Flux namespace
 * to the service connection's object id (how AKS names an Entra service principal).
 */
export const VERIFY_ROLE: KubeRoleState = {
  name: 'flux-oidc-verify',
  rules: [
    { apiGroups: [''], resources: ['serviceaccounts'], verbs: ['get'] },
    { apiGroups: [''], resources: ['serviceaccounts/token'], verbs: ['create'] },
    { apiGroups: [''], resources: ['pods'], verbs: ['list'] },
    { apiGroups: ['apps'], resources: ['deployments'], verbs: ['get'] },
    {
      apiGroups: ['source.toolkit.fluxcd.io', 'kustomize.toolkit.fluxcd.io'],
      resources: ['gitrepositories', 'kustomizations'],
      verbs: ['get', 'patch'],
    },
    { apiGroups: ['image.toolkit.fluxcd.io'], resources: ['imageupdateautomations'], verbs: ['get', 'list', 'patch'] },
  ],
};

/** The README's extra rules for `retireStaticCredentials: true` (created unbound; tests bind it when they retire). */
export const RETIRE_ROLE: KubeRoleState = {
  name: 'flux-oidc-verify-retire',
  rules: [
    { apiGroups: [''], resources: ['secrets'], verbs: ['get', 'delete'] },
    {
      apiGroups: [
        'source.toolkit.fluxcd.io',
        'kustomize.toolkit.fluxcd.io',
        'helm.toolkit.fluxcd.io',
        'notification.toolkit.fluxcd.io',
        'image.toolkit.fluxcd.io',
      ],
      resources: ['*'],
      verbs: ['list'],
    },
  ],
};

/** Static tokens of the built-in scenarios (test fixtures, not secrets of anything real). */
export const SCENARIO_TOKENS = {
  reader: 'emulated-kube-reader-token',
} as const;

export const FRESH_BOOTSTRAP_URL = `ssh://git@ssh.dev.azure.com/v3/${FRESH.organization}/${FRESH.project}/${FRESH.repository}`;
/** The components `flux bootstrap --components-extra=image-reflector-controller,image-automation-controller` installs. */
export const FRESH_COMPONENTS = [...DEFAULT_COMPONENTS, ...EXTRA_COMPONENTS];

export const kubeScenario: ScenarioSection<KubeState> = {
  build() {
    return {
      clusters: {
        [FRESH.clusterName]: {
          resourceId: clusterResourceId(FRESH.subscriptionId, FRESH.resourceGroup, FRESH.clusterName),
          kubernetesVersion: FRESH.kubernetesVersion,
          // No cluster-admin for anybody: the service connection gets exactly the README's rights.
          roles: [VERIFY_ROLE, RETIRE_ROLE],
          access: [
            { user: FRESH.serviceConnectionObjectId, role: VERIFY_ROLE.name, namespace: FRESH.fluxNamespace },
            { user: 'reader', role: 'view' },
          ],
          staticTokens: [{ token: SCENARIO_TOKENS.reader, user: 'reader' }],
          bootstrap: {
            version: FRESH.fluxVersion,
            namespace: FRESH.fluxNamespace,
            components: [...FRESH_COMPONENTS],
            url: FRESH_BOOTSTRAP_URL,
            branch: FRESH.branch,
            path: FRESH.clusterPath,
            secretName: 'flux-system',
            secretType: 'ssh',
            sshKeyRegistered: true,
          },
          registry: { 'ghcr.io/stefanprodan/podinfo': ['6.7.0', '6.7.1', '6.8.0'] },
          objects: [],
        },
      },
    };
  },

  validate(section: KubeState, root: CloudState): string[] {
    const out: string[] = [];
    if (!section || typeof section !== 'object' || !section.clusters || typeof section.clusters !== 'object') {
      return ['kube.clusters: missing; give a map of cluster name -> { resourceId, bootstrap?, objects: [] }'];
    }
    for (const [name, c] of Object.entries(section.clusters)) {
      const at = `kube.clusters.${name}`;
      if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(name))
        out.push(`${at}: the cluster name must be a DNS label (lower case letters, digits, '-')`);
      if (!c.resourceId)
        out.push(`${at}.resourceId: missing; give the ARM id of the managed cluster in the azure section`);
      else if (root.azure?.subscriptions && !findCluster(root.azure, c.resourceId))
        out.push(
          `${at}.resourceId: '${c.resourceId}' is not a cluster of the azure section; add it there or fix the id`,
        );
      if (!Array.isArray(c.objects))
        out.push(`${at}.objects: missing; use [] for a cluster that boots from its bootstrap description`);
      for (const [i, g] of (c.access ?? []).entries()) {
        if (!g.user && !g.group && !g.serviceAccount)
          out.push(`${at}.access[${i}]: name a user, group or serviceAccount ("namespace:name")`);
        const roles = ['cluster-admin', 'admin', 'edit', 'view', ...(c.roles ?? []).map((r) => r.name)];
        if (!roles.includes(g.role))
          out.push(`${at}.access[${i}].role: '${String(g.role)}' is not one of ${roles.join(', ')}`);
      }
      const b = c.bootstrap;
      if (b) {
        try {
          fluxComponents({ version: b.version, components: b.components });
        } catch (e) {
          out.push(`${at}.bootstrap: ${e instanceof Error ? e.message : String(e)}`);
        }
        if (compareVersions(b.version || '0.0.0', '2.2.0') < 0)
          out.push(`${at}.bootstrap.version: Flux ${b.version} is older than the oldest modelled version (2.2)`);
        for (const comp of b.components ?? [])
          if (!(CONTROLLERS as readonly string[]).includes(comp))
            out.push(`${at}.bootstrap.components: unknown component '${comp}'`);
        for (const k of ['namespace', 'url', 'branch', 'path', 'secretName'] as const)
          if (!b[k]) out.push(`${at}.bootstrap.${k}: missing`);
        if (b.secretType !== 'ssh' && b.secretType !== 'basic')
          out.push(`${at}.bootstrap.secretType: use 'ssh' or 'basic'`);
        if (b.secretType === 'basic' && /^ssh:|@[^/]*:/.test(b.url ?? ''))
          out.push(
            `${at}.bootstrap.url: a 'basic' (PAT) bootstrap needs an HTTPS URL such as https://dev.azure.com/{org}/{project}/_git/{repo}`,
          );
        if (b.secretType === 'ssh' && /^https?:/.test(b.url ?? ''))
          out.push(
            `${at}.bootstrap.url: an 'ssh' bootstrap needs an SSH URL such as ssh://git@ssh.dev.azure.com/v3/{org}/{project}/{repo}`,
          );
      }
    }
    return out;
  },
};
