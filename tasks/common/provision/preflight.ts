/**
 * FluxOidcProvision preflight checks: the federated-credential budget, cluster features, explicit
 * denies and least privilege stop the run before the first write.
 */
import { needsWorkloadIdentityUpdate, type ClusterState } from '../azure/cluster';
import { checkCredentialBudget, MAX_CREDENTIALS_PER_IDENTITY } from '../azure/federated';
import { excessBits, permissionNames, planAce } from '../devops/security';
import { type Preflight } from '../plan';
import type { ProvisionInputs } from '../../FluxOidcProvision/inputs';
import { type CredentialObservation } from './model';
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

export function credentialBudgetCheck(inputs: ProvisionInputs): Preflight {
  return {
    id: 'federated-credential-budget',
    title: `Federated credentials per identity (at most ${MAX_CREDENTIALS_PER_IDENTITY})`,
    check(planned) {
      const creds = planned.filter((p) => p.step.kind === 'FederatedIdentityCredential');
      if (creds.length === 0) return { status: 'skip' };
      const existing = (creds[0].observed as CredentialObservation).existing.length;
      const newNames = creds.filter((p) => p.plan.action === 'create').map((p) => p.step.name);
      const err = checkCredentialBudget(inputs.identityName, existing, newNames);
      const evidence = `${existing} existing, ${newNames.length} to create`;
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
