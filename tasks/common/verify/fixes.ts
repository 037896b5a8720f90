/**
 * The concrete commands a failed check points to. Kept in one place so that a check and the
 * cause mapping of a Flux condition message give the same advice for the same problem.
 */
import { TOKEN_AUDIENCE, type VerifyTarget } from './model';

/** The target names a fix mentions. */
export type FixContext = Pick<
  VerifyTarget,
  | 'resourceGroup'
  | 'clusterName'
  | 'identityName'
  | 'identityResourceGroup'
  | 'clientId'
  | 'fluxNamespace'
  | 'gitRepositoryName'
  | 'organizationUrl'
  | 'project'
  | 'repository'
  | 'teamName'
>;

/** Quotes a value for a POSIX shell only when it needs it. */
export function sh(value: string): string {
  return /^[A-Za-z0-9_./:@=,+-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}

export function identityRef(c: FixContext): string {
  return c.identityName
    ? `--identity-name ${sh(c.identityName)} --resource-group ${sh(c.identityResourceGroup)}`
    : `--identity-name <identity> --resource-group ${sh(c.identityResourceGroup)}`;
}

export function fixEnableIssuer(c: FixContext, what: 'oidc' | 'wi' | 'both'): string {
  const flags =
    what === 'oidc'
      ? '--enable-oidc-issuer'
      : what === 'wi'
        ? '--enable-workload-identity'
        : '--enable-oidc-issuer --enable-workload-identity';
  return `az aks update --resource-group ${sh(c.resourceGroup)} --name ${sh(c.clusterName)} ${flags} (or run FluxOidcProvision with mode: apply)`;
}

export function fixCreateFic(
  c: FixContext,
  ficName: string,
  issuer: string,
  subject: string,
  verb: 'create' | 'update',
): string {
  return `az identity federated-credential ${verb} --name ${sh(ficName)} ${identityRef(c)} --issuer ${sh(issuer)} --subject ${sh(subject)} --audiences ${TOKEN_AUDIENCE} (or run FluxOidcProvision with mode: apply)`;
}

export function fixListFics(c: FixContext): string {
  return `compare \`az identity federated-credential list ${identityRef(c)} -o table\` with \`az aks show --resource-group ${sh(c.resourceGroup)} --name ${sh(c.clusterName)} --query oidcIssuerProfile.issuerUrl -o tsv\` (issuer byte for byte, trailing slash included; subject system:serviceaccount:<namespace>:<sa>), then run FluxOidcProvision with mode: apply`;
}

export function fixRestart(c: FixContext, deployment: string): string {
  return `kubectl -n ${sh(c.fluxNamespace)} rollout restart deployment/${sh(deployment)}`;
}

export function fixPatchManifests(what: string): string {
  return `run FluxManifestPatch (${what}), let kustomize-controller apply it (flux reconcile kustomization flux-system --with-source), then re-run this check`;
}

export function fixAddToOrg(c: FixContext): string {
  return `run FluxOidcProvision with mode: apply (adds the identity to ${c.organizationUrl} with a Basic licence), or Organization settings > Users > Add users > the managed identity's name, access level Basic`;
}

export function fixLicence(c: FixContext): string {
  return `Organization settings > Users > ${c.identityName ?? 'the identity'} > Change access level > Basic (or run FluxOidcProvision with mode: apply); Stakeholder cannot read Git`;
}

export function fixTeam(c: FixContext): string {
  return `add the identity to team '${c.teamName}' in project '${c.project}' (Project settings > Teams > ${c.teamName} > Add), or run FluxOidcProvision with mode: apply`;
}

export function fixRepoPermission(c: FixContext, permissions: string): string {
  return `Project settings > Repositories > ${c.repository} > Security > '${c.teamName}': allow ${permissions} (or run FluxOidcProvision with mode: apply)`;
}

export function fixGitRepository(c: FixContext, detail: string): string {
  return fixPatchManifests(`GitRepository ${c.fluxNamespace}/${c.gitRepositoryName}: ${detail}`);
}
