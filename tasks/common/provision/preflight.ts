/**
 * FluxOidcProvision preflight checks: the federated-credential budget, cluster features, explicit
 * denies and least privilege stop the run before the first write.
 */
import { needsWorkloadIdentityUpdate, type ClusterState } from '../azure/cluster';
import { checkCredentialBudget, clustersOnIdentity, MAX_CREDENTIALS_PER_IDENTITY } from '../azure/federated';
import { excessBits, permissionNames, planAce } from '../devops/security';
import { type Preflight } from '../plan';
import type { AzureConnection } from '../auth/types';
import type { ArmClients } from '../azure/clients';
import { clusterKubeconfig } from '../azure/kubeconfig';
import {
  closest,
  controllerServiceAccounts,
  otherFluxNamespaces,
  readFluxReality,
  type FluxReality,
} from '../kube/flux-reality';
import type { Logger } from '../log';
import type { ProvisionInputs } from '../../FluxOidcProvision/inputs';
import { started, type CredentialObservation } from './model';
import { aclOf } from './devops-steps';

export function clusterFeaturesCheck(inputs: ProvisionInputs): Preflight {
  return {
    id: 'cluster-features',
    title: 'AKS OIDC issuer and workload identity',
    check(planned) {
      const p = planned.find((x) => x.step.id === 'cluster');
      const s = p?.observed as ClusterState | undefined;
      if (!s) return { status: 'skip' };
      if (!needsWorkloadIdentityUpdate(s)) return { status: 'pass', evidence: `issuer ${s.issuerUrl ?? '(none)'}` };
      if (inputs.enableClusterFeatures) return { status: 'pass', evidence: 'off; this run enables them' };
      const off = [!s.oidcIssuerEnabled ? 'the OIDC issuer' : '', !s.workloadIdentityEnabled ? 'workload identity' : '']
        .filter(Boolean)
        .join(' and ');
      return {
        status: 'fail',
        evidence: `oidcIssuerProfile.enabled=${s.oidcIssuerEnabled}, securityProfile.workloadIdentity.enabled=${s.workloadIdentityEnabled}`,
        cause: `${off} ${off.includes(' and ') ? 'are' : 'is'} off on the cluster '${inputs.clusterName}' and enableClusterFeatures is false`,
        fix: `set enableClusterFeatures: true, or run az aks update -g ${inputs.resourceGroup} -n ${inputs.clusterName} --enable-oidc-issuer --enable-workload-identity, then re-run`,
      };
    },
  };
}

/**
 * The credentials' subjects name the Flux namespace and service accounts: checked against what
 * the cluster runs (when the connection can read it). A namespace where no Flux runs while Flux
 * runs elsewhere is refused: every credential would name the wrong subject. A service account no
 * Flux controller runs as only warns: object-level workload identity (GitRepository
 * spec.serviceAccountName) uses ServiceAccounts of one's own, and Flux may be installed later.
 */
export function fluxInputsCheck(
  clients: ArmClients,
  azure: AzureConnection,
  inputs: ProvisionInputs,
  log: Logger,
): Preflight {
  // Read while the steps observe: it depends on none of them (the check only compares).
  const read = started(() => readClusterFlux(clients, azure, inputs, log));
  return {
    id: 'flux-inputs-match-cluster',
    title: 'fluxNamespace and serviceAccounts match the Flux controllers on the cluster',
    async check() {
      let reality: FluxReality;
      try {
        reality = await read();
      } catch (err) {
        return {
          status: 'skip',
          evidence: `could not read the cluster to compare (${err instanceof Error ? err.message.split('\n')[0] : String(err)})`,
        };
      }
      if (!reality.controllers) return { status: 'skip', evidence: reality.problems.join('; ') };
      if (reality.controllers.length === 0)
        return { status: 'skip', evidence: 'Flux is not installed on the cluster yet: nothing to compare' };
      const evidence = reality.controllers
        .map((c) => `${c.namespace}/${c.name} runs as ${c.serviceAccount}`)
        .join('; ');
      const others = otherFluxNamespaces(reality);
      if (others) {
        return {
          status: 'fail',
          evidence,
          cause: `fluxNamespace is ${inputs.fluxNamespace}, but no Flux controller runs there; Flux runs in ${others.join(', ')}, so the credentials' subjects (system:serviceaccount:${inputs.fluxNamespace}:…) would match no controller`,
          fix: `set fluxNamespace: ${others[0]} (on FluxOidcProvision and FluxOidcVerify), then re-run`,
        };
      }
      const runs = controllerServiceAccounts(reality);
      const unknown = inputs.serviceAccounts.filter((sa) => !runs.includes(sa));
      if (unknown.length === 0) return { status: 'pass', evidence };
      const guesses = unknown.map((sa) => {
        const g = closest(sa, runs);
        return `'${sa}'${g ? ` (did you mean '${g}'?)` : ''}`;
      });
      return {
        status: 'warn',
        evidence,
        cause: `serviceAccounts names ${guesses.join(', ')}, which no Flux controller in ${inputs.fluxNamespace} runs as (they run as ${runs.join(', ')}); a credential for it only serves a GitRepository with spec.serviceAccountName`,
        fix: `correct the serviceAccounts input unless you use object-level workload identity with that ServiceAccount`,
      };
    },
  };
}

/** The Flux controllers the cluster runs, read with the connection's AKS user credentials. */
async function readClusterFlux(
  clients: ArmClients,
  azure: AzureConnection,
  inputs: ProvisionInputs,
  log: Logger,
): Promise<FluxReality> {
  const kubeconfig = await clusterKubeconfig(clients, inputs.resourceGroup, inputs.clusterName, 'user');
  // Loaded only here: @kubernetes/client-node is most of a bundle's start-up work.
  const [{ KubeClient }, { buildKubeConfig }] = await Promise.all([
    import('../kube/client'),
    import('../kube/connection'),
  ]);
  const built = await buildKubeConfig(
    { kind: 'kubeconfig', kubeconfig, origin: `AKS user credentials of ${inputs.clusterName}` },
    { log, credential: azure.credential },
  );
  return readFluxReality(new KubeClient(built.kc), inputs.fluxNamespace);
}

export function credentialBudgetCheck(inputs: ProvisionInputs): Preflight {
  return {
    id: 'federated-credential-budget',
    title: `Federated credentials per identity (at most ${MAX_CREDENTIALS_PER_IDENTITY})`,
    check(planned) {
      const creds = planned.filter((p) => p.step.kind === 'FederatedIdentityCredential');
      if (creds.length === 0) return { status: 'skip' };
      const existing = (creds[0].observed as CredentialObservation).existing;
      const newNames = creds.filter((p) => p.plan.action === 'create').map((p) => p.step.name);
      const err = checkCredentialBudget({
        identityName: inputs.identityName,
        scope: inputs.identityScope,
        clusterName: inputs.clusterName,
        existing,
        newNames,
        perCluster: inputs.serviceAccounts.length,
      });
      const shared =
        inputs.identityScope === 'shared' ? ` (shared: ${clustersOnIdentity(existing)} cluster(s) use it now)` : '';
      const evidence = `${existing.length} existing${shared}, ${newNames.length} to create`;
      const after = existing.length + newNames.length;
      if (!err && MAX_CREDENTIALS_PER_IDENTITY - after < inputs.serviceAccounts.length)
        return {
          status: 'warn',
          evidence,
          cause: `the identity ${inputs.identityName} ${after === MAX_CREDENTIALS_PER_IDENTITY ? 'is full' : 'is nearly full'} with this cluster: ${after} of ${MAX_CREDENTIALS_PER_IDENTITY} federated credentials; the next cluster (${inputs.serviceAccounts.length} credentials) will not fit`,
          fix: 'give the next cluster another identity (the identityName input, or identityScope: cluster), or delete credentials of retired clusters (az identity federated-credential delete)',
        };
      if (!err) return { status: 'pass', evidence };
      return { status: 'fail', evidence, cause: err.message, ...(err.fix ? { fix: err.fix } : {}) };
    },
  };
}

export function denyCheck(inputs: ProvisionInputs): Preflight {
  return {
    id: 'repository-deny',
    title: 'No explicit Deny on the repository',
    check(planned) {
      const o = aclOf(planned);
      if (!o) return { status: 'skip' };
      const problems: string[] = [];
      const teamDeny = planAce(o.teamAce, inputs.permissionBits).denied;
      if (teamDeny) problems.push(`the team '${inputs.teamName}' is denied ${permissionNames(teamDeny).join(', ')}`);
      const spDeny = (o.spAce?.deny ?? 0) & inputs.permissionBits;
      if (spDeny)
        problems.push(`the identity '${inputs.identityName}' is denied ${permissionNames(spDeny).join(', ')}`);
      if (problems.length === 0) return { status: 'pass' };
      return {
        status: 'fail',
        evidence: problems.join('; '),
        cause: `On the repository '${inputs.repository}' ${problems.join(' and ')}; a Deny wins over the Allow this task grants, so Flux could not use it`,
        fix: `remove the Deny (Project settings > Repositories > ${inputs.repository} > Security), then re-run`,
      };
    },
  };
}

export function leastPrivilegeCheck(inputs: ProvisionInputs): Preflight {
  return {
    id: 'least-privilege',
    title: 'Least privilege on the repository',
    check(planned) {
      const o = aclOf(planned);
      if (!o) return { status: 'skip' };
      const found: string[] = [];
      const teamExtra = excessBits(o.teamAce?.allow ?? 0, inputs.permissionBits);
      if (teamExtra) found.push(`the team '${inputs.teamName}' holds ${permissionNames(teamExtra).join(', ')}`);
      const spHeld = (o.spAce?.allow ?? 0) | (o.spAce?.effectiveAllow ?? 0);
      const spExtra = excessBits(spHeld, inputs.permissionBits);
      if (spExtra) found.push(`the identity '${inputs.identityName}' holds ${permissionNames(spExtra).join(', ')}`);
      if (found.length === 0)
        return { status: 'pass', evidence: `requested ${permissionNames(inputs.permissionBits).join(', ')}` };
      return {
        status: 'warn',
        evidence: found.join('; '),
        cause: `On the repository '${inputs.repository}' ${found.join(' and ')}: more than Flux needs (${permissionNames(inputs.permissionBits).join(', ')}). The task never removes permissions`,
        fix: `Remove the extra permissions in Project settings > Repositories > ${inputs.repository} > Security if nothing else needs them.`,
      };
    },
  };
}
