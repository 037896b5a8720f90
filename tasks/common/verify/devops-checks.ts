/**
 * Azure DevOps checks: the organization's tenant, the identity's membership and licence, team
 * membership, effective repository rights (Read, Contribute for image automation) and excess rights.
 */
import type { CheckResult, DevOpsFacts, IdentityFacts, VerifyTarget } from './model';
import { needsContribute } from './model';
import { fixAddToOrg, fixLicence, fixRepoPermission, fixTeam } from './fixes';
import { fixContext } from './azure-checks';
import { GitPermission as GitBits, permissionNames as bitNames } from '../devops/security';
import { excessRights } from './permissions';
import { licenceName as devopsLicenceName, licenceSatisfies } from '../devops/entitlements';

/** Display name of an access level (Basic, Stakeholder, ...). */
export function licenceName(e: { accountLicenseType: string; licenseDisplayName?: string }): string {
  return e.licenseDisplayName || devopsLicenceName(e.accountLicenseType);
}

/** Basic or better reads Git; a Visual Studio subscription (licensingSource msdn) brings Basic or better. */
export function licenceCanReadGit(e: {
  accountLicenseType: string;
  licensingSource?: string;
  msdnLicenseType?: string;
}): boolean {
  if (licenceSatisfies(e.accountLicenseType, 'express')) return true;
  return (
    e.licensingSource?.toLowerCase() === 'msdn' && !!e.msdnLicenseType && e.msdnLicenseType.toLowerCase() !== 'none'
  );
}

/** What every Azure DevOps check reads: the facts, the identity, the target and the fix wording. */
interface DevOpsCheckContext {
  f: DevOpsFacts;
  identity: IdentityFacts | null;
  t: VerifyTarget;
  fc: ReturnType<typeof fixContext>;
  /** The identity as the evidence names it. */
  who: string;
}

/** The repository rights the team check and the rights checks both judge. */
interface Rights {
  contribute: boolean;
  hasRead: boolean;
  hasContribute: boolean;
  rightsOk: boolean;
}

export function devopsChecks(f: DevOpsFacts, identity: IdentityFacts | null, t: VerifyTarget): CheckResult[] {
  const who = identity
    ? `${identity.name} (principalId ${identity.principalId})`
    : t.clientId
      ? `clientId ${t.clientId}`
      : 'the identity';
  const c: DevOpsCheckContext = { f, identity, t, fc: fixContext(t, identity?.name), who };
  const out = [...tenantCheck(c), ...repositoryCheck(c), ...membershipCheck(c), ...licenceCheck(c)];
  // Rights (needed by the team check too: a missing team is only a warning when rights come from elsewhere).
  const contribute = needsContribute(t);
  const p = f.permissions;
  const hasRead = !!p && (p.effectiveAllow & GitBits.GenericRead) !== 0;
  const hasContribute = !!p && (p.effectiveAllow & GitBits.GenericContribute) !== 0;
  const rightsOk = hasRead && (!contribute || hasContribute);
  const rights: Rights = { contribute, hasRead, hasContribute, rightsOk };
  if (!f.servicePrincipal) return [...out, ...withoutServicePrincipal(c, rights)];
  return [...out, ...teamCheck(c, rights), ...rightsChecks(c, rights)];
}

/** Only identities of the tenant the organization is connected to can be added. */
function tenantCheck(c: DevOpsCheckContext): CheckResult[] {
  const { f, identity, t } = c;
  const out: CheckResult[] = [];
  // Tenant: only identities of the tenant the organization is connected to can be added.
  if (f.organizationTenantId && identity?.tenantId) {
    const same = f.organizationTenantId.toLowerCase() === identity.tenantId.toLowerCase();
    out.push({
      id: 'devops.tenant',
      group: 'devops',
      title: 'Organization tenant = identity tenant',
      status: same ? 'pass' : 'fail',
      evidence: [
        `organization ${t.organizationUrl}: tenant ${f.organizationTenantId} (${f.organizationTenantSource ?? 'observed'})`,
        `identity tenant: ${identity.tenantId}`,
      ],
      ...(same
        ? {}
        : {
            cause:
              'the organization is connected to another Entra tenant; Azure DevOps accepts only identities of its own tenant (Azure/AKS#5121)',
            fix: "create the managed identity in a subscription of the organization's tenant (FluxOidcProvision with an AzureRM connection of that tenant), or connect the organization to the identity's tenant",
          }),
    });
  } else {
    out.push({
      id: 'devops.tenant',
      group: 'devops',
      title: 'Organization tenant = identity tenant',
      status: 'skip',
      evidence: [
        f.organizationTenantId
          ? 'identity tenant unknown (identity not found)'
          : `organization tenant not observable${f.errors.tenant ? `: ${f.errors.tenant}` : ''}`,
      ],
    });
  }
  return out;
}

/** The project and repository exist (and the connection's identity sees them). */
function repositoryCheck(c: DevOpsCheckContext): CheckResult[] {
  const { f, t } = c;
  const out: CheckResult[] = [];
  if (!f.repository) {
    out.push({
      id: 'devops.repository',
      group: 'devops',
      title: 'Repository exists',
      status: 'fail',
      evidence: [`${t.organizationUrl}/${t.project}/_git/${t.repository}: ${f.errors.repository ?? 'not found'}`],
      cause: "the project or repository does not exist, or the service connection's identity cannot see it",
      fix: 'check the organizationUrl, project and repository inputs',
    });
  }
  return out;
}

/** The identity is a member (service principal) of the organization. */
function membershipCheck(c: DevOpsCheckContext): CheckResult[] {
  const { f, identity, t, fc, who } = c;
  const out: CheckResult[] = [];
  // Membership in the organization.
  if (!identity && !f.servicePrincipal) {
    out.push({
      id: 'devops.identity-in-org',
      group: 'devops',
      title: 'Identity is a member of the organization',
      status: 'skip',
      evidence: ['the managed identity was not found in Azure (see azure.identity), so its principal id is unknown'],
    });
  } else if (!f.servicePrincipal) {
    out.push({
      id: 'devops.identity-in-org',
      group: 'devops',
      title: 'Identity is a member of the organization',
      status: 'fail',
      evidence: [
        `${who}: no service principal in ${t.organizationUrl}${f.errors.servicePrincipal ? ` (${f.errors.servicePrincipal})` : ''}`,
      ],
      cause: 'the managed identity was never added to the organization; Flux gets TF401444 / TF400813',
      fix: fixAddToOrg(fc),
    });
  } else {
    out.push({
      id: 'devops.identity-in-org',
      group: 'devops',
      title: 'Identity is a member of the organization',
      status: 'pass',
      evidence: [
        `service principal ${f.servicePrincipal.displayName ?? ''} ${f.servicePrincipal.descriptor}`
          .replace(/\s+/g, ' ')
          .trim(),
      ],
    });
  }
  return out;
}

/** The identity's access level includes Azure Repos. */
function licenceCheck(c: DevOpsCheckContext): CheckResult[] {
  const { f, fc } = c;
  const out: CheckResult[] = [];
  // Licence.
  const e = f.entitlement;
  if (!e) {
    out.push({
      id: 'devops.licence',
      group: 'devops',
      title: 'Licence can read Git',
      status: f.servicePrincipal ? 'fail' : 'skip',
      evidence: [
        f.servicePrincipal
          ? `no entitlement found${f.errors.entitlement ? ` (${f.errors.entitlement})` : ''}`
          : 'not a member of the organization',
      ],
      ...(f.servicePrincipal
        ? { cause: 'the identity has no access level in the organization', fix: fixLicence(fc) }
        : {}),
    });
  } else if (!licenceCanReadGit(e)) {
    out.push({
      id: 'devops.licence',
      group: 'devops',
      title: 'Licence can read Git',
      status: 'fail',
      evidence: [
        `access level: ${licenceName(e)} (accountLicenseType ${e.accountLicenseType}${e.licensingSource ? `, source ${e.licensingSource}` : ''})`,
      ],
      cause: `${licenceName(e)} does not include Azure Repos; Flux gets TF401019 "does not exist or you do not have permissions"`,
      fix: fixLicence(fc),
    });
  } else {
    // pending: added but not used yet (it turns active on the identity's first call); fine.
    const status = (e.status ?? 'active').toLowerCase();
    const blocked = ['disabled', 'deleted', 'expired', 'pendingdisable'].includes(status);
    out.push({
      id: 'devops.licence',
      group: 'devops',
      title: 'Licence can read Git',
      status: blocked ? 'fail' : 'pass',
      evidence: [
        `access level: ${licenceName(e)} (accountLicenseType ${e.accountLicenseType}${e.status ? `, status ${e.status}` : ''})`,
        ...(status === 'pending' ? ["pending until the identity's first call to Azure DevOps"] : []),
      ],
      ...(blocked ? { cause: `the identity's access is ${e.status}`, fix: fixLicence(fc) } : {}),
    });
  }
  return out;
}

/** Team and rights hang off the organization identity: nothing to judge until it exists. */
function withoutServicePrincipal(c: DevOpsCheckContext, r: Rights): CheckResult[] {
  const { f, t } = c;
  const out: CheckResult[] = [];
  const { contribute } = r;
  if (!f.servicePrincipal) {
    // Team and rights hang off the organization identity: nothing to judge until it exists.
    const evidence = ['the identity is not a member of the organization (see above)'];
    out.push({ id: 'devops.team', group: 'devops', title: `Member of team '${t.teamName}'`, status: 'skip', evidence });
    out.push(...skippedRights(contribute, evidence));
  }
  return out;
}

/** The Read (and, for image automation, Contribute) checks, skipped with the reason why. */
function skippedRights(contribute: boolean, evidence: string[]): CheckResult[] {
  const read: CheckResult = {
    id: 'devops.read',
    group: 'devops',
    title: 'Effective Read on the repository',
    status: 'skip',
    evidence,
  };
  if (!contribute) return [read];
  return [
    read,
    {
      id: 'devops.contribute',
      group: 'devops',
      title: 'Effective Contribute on the repository',
      status: 'skip',
      evidence,
    },
  ];
}

/** Membership of the team that holds the repository rights (a warning when the rights come from elsewhere). */
function teamCheck(c: DevOpsCheckContext, r: Rights): CheckResult[] {
  const { f, t, fc, who } = c;
  const out: CheckResult[] = [];
  const { rightsOk } = r;
  if (!f.team) {
    out.push({
      id: 'devops.team',
      group: 'devops',
      title: `Member of team '${t.teamName}'`,
      status: rightsOk ? 'warn' : 'fail',
      evidence: [`team '${t.teamName}' in project ${t.project}: ${f.errors.team ?? 'not found'}`],
      cause: 'the team does not exist',
      fix: fixTeam(fc),
    });
  } else if (!f.teamMember) {
    out.push({
      id: 'devops.team',
      group: 'devops',
      title: `Member of team '${t.teamName}'`,
      status: rightsOk ? 'warn' : 'fail',
      evidence: [`team ${f.team.name} (${f.team.id}): ${who} is not a direct member`],
      cause: rightsOk
        ? 'the identity is not in the team; its repository rights come from elsewhere'
        : 'the identity is not in the team that holds the repository rights',
      fix: fixTeam(fc),
    });
  } else {
    out.push({
      id: 'devops.team',
      group: 'devops',
      title: `Member of team '${t.teamName}'`,
      status: 'pass',
      evidence: [`${who} is a member of ${f.team.name}`],
    });
  }
  return out;
}

/** Effective Read (and Contribute for image automation) on the repository, and no more than needed. */
function rightsChecks(c: DevOpsCheckContext, r: Rights): CheckResult[] {
  const { f, t, fc } = c;
  const out: CheckResult[] = [];
  const { contribute, hasRead, hasContribute } = r;
  const p = f.permissions;
  if (!p) {
    const evidence = [f.errors.permissions ?? (f.repository ? 'permissions not readable' : 'no repository')];
    out.push(...skippedRights(contribute, evidence));
    return out;
  }
  const permEvidence = [
    `effective allow on repoV2/${f.repository?.projectId}/${f.repository?.id}: ${bitNames(p.effectiveAllow).join(', ') || 'none'}`,
    ...(p.effectiveDeny ? [`effective deny: ${bitNames(p.effectiveDeny).join(', ')}`] : []),
    `from ${p.source}${p.via.length ? ` via ${p.via.join(', ')}` : ''}`,
  ];
  out.push(
    hasRead
      ? {
          id: 'devops.read',
          group: 'devops',
          title: 'Effective Read on the repository',
          status: 'pass',
          evidence: permEvidence,
        }
      : {
          id: 'devops.read',
          group: 'devops',
          title: 'Effective Read on the repository',
          status: 'fail',
          evidence: permEvidence,
          cause:
            p.effectiveDeny & GitBits.GenericRead
              ? 'Read is denied for the identity or one of its groups'
              : 'the identity has no Read permission on the repository',
          fix: fixRepoPermission(fc, 'Read'),
        },
  );
  if (contribute) {
    out.push(
      hasContribute
        ? {
            id: 'devops.contribute',
            group: 'devops',
            title: 'Effective Contribute on the repository',
            status: 'pass',
            evidence: permEvidence,
          }
        : {
            id: 'devops.contribute',
            group: 'devops',
            title: 'Effective Contribute on the repository',
            status: 'fail',
            evidence: permEvidence,
            cause:
              'image-automation-controller pushes commits and needs Contribute; without it the push fails with TF401027',
            fix: fixRepoPermission(fc, 'Contribute'),
          },
    );
  }
  out.push(leastPrivilegeCheck(t, p.effectiveAllow));
  return out;
}

/** No rights beyond Read, Contribute and the everyday branch/tag/pull-request rights. */
function leastPrivilegeCheck(t: VerifyTarget, effectiveAllow: number): CheckResult {
  const excess = excessRights(effectiveAllow);
  return excess
    ? {
        id: 'devops.excess-rights',
        group: 'devops',
        title: 'Least privilege',
        status: 'warn',
        evidence: [`more than Read/Contribute: ${bitNames(excess).join(', ')}`],
        cause: 'the identity holds rights Flux does not need',
        fix: `remove ${bitNames(excess).join(', ')} from the identity and its groups on ${t.repository} (Project settings > Repositories > ${t.repository} > Security)`,
      }
    : {
        id: 'devops.excess-rights',
        group: 'devops',
        title: 'Least privilege',
        status: 'pass',
        evidence: ['no rights beyond Read, Contribute and everyday branch/tag/pull-request rights'],
      };
}
