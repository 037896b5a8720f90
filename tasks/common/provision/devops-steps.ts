/**
 * FluxOidcProvision, Azure DevOps: the identity as an organization user (licence), the team, the
 * identity in the team, and the team's Read (+ Contribute) on the repository.
 */
import type { RetryPolicy } from '../http/retry';
import { devopsTokenFor } from '../devops/connection';
import {
  addServicePrincipalEntitlement,
  getServicePrincipalEntitlement,
  licenceName,
  licenceSatisfies,
  setServicePrincipalLicence,
} from '../devops/entitlements';
import { addMember, isMember, subjectDescriptor } from '../devops/graph';
import { findServicePrincipal, identitiesByIds, type DevOpsIdentity } from '../devops/identities';
import { findProject, findRepository, type ProjectRef, type RepositoryRef } from '../devops/projects';
import type { DevOpsConnection } from '../devops/connection';
import {
  GIT_REPOSITORIES_NAMESPACE,
  mergeAllow,
  permissionNames,
  planAce,
  readAces,
  repoToken,
} from '../devops/security';
import { createTeam, findTeam, type Team } from '../devops/teams';
import type { Logger } from '../log';
import { KNOWN_AFTER_APPLY, type PlannedStep, type Step, type StepPlan } from '../plan';
import { UserError } from '../errors';
import type { ProvisionInputs } from '../../FluxOidcProvision/inputs';
import {
  principalName,
  TEAM_DESCRIPTION,
  type ProvisionContext,
  type Facts,
  type UserObservation,
  type MembershipObservation,
  type AclObservation,
  type DevOpsSession,
} from './model';

export async function openDevOps(ctx: ProvisionContext, inputs: ProvisionInputs): Promise<DevOpsSession> {
  const conn = await ctx.azureConnection(inputs.devopsConnectionInput);
  const principal = principalName(conn, inputs.devopsConnectionInput);
  const c = await ctx.devops({
    orgUrl: inputs.organizationUrl!,
    token: () => devopsTokenFor(conn, ctx.log),
    principal,
  });
  ctx.log.info(`Azure DevOps: ${c.orgUrl} as ${c.caller.displayName ?? principal}`);
  // One read names both: the repository looked up in the project by its name or id answers with
  // the project's id. Only when it is not found is the project read, to say which one is missing.
  const found = await findRepository(c, inputs.project!, inputs.repository!);
  if (found?.projectName && found.projectId) {
    return session(c, { id: found.projectId, name: found.projectName }, found);
  }
  const project = await findProject(c, inputs.project!);
  if (!project) {
    throw new UserError(`The project '${inputs.project}' was not found in ${c.orgUrl}.`, {
      code: 'ProjectNotFound',
      cause: `Azure DevOps has no project with that name or id visible to the service connection's principal (${principal}).`,
      fix: "Check the project input (default: the pipeline's project) and that the service connection's principal is a member of the project.",
    });
  }
  const repo = await findRepository(c, project.id, inputs.repository!);
  if (!repo) {
    throw new UserError(`The repository '${inputs.repository}' was not found in the project '${project.name}'.`, {
      code: 'RepositoryNotFound',
      cause: `TF401019: the project has no Git repository with that name or id readable by the service connection's principal (${principal}).`,
      fix: "Check the repository input (default: the pipeline's repository) and that the service connection's principal can read it.",
    });
  }
  return session(c, project, repo);
}

function session(c: DevOpsConnection, project: ProjectRef, repo: RepositoryRef): DevOpsSession {
  // A long cluster update can outlive the token: the connection fetches a new one when it expires within 5 minutes.
  return { c, project, repo, refresh: () => c.refresh() };
}

/** What the four Azure DevOps steps share. */
interface DevOpsStepContext {
  session: () => Promise<DevOpsSession>;
  inputs: ProvisionInputs;
  facts: Facts;
  log: Logger;
  retry: RetryPolicy;
  /** The identity's service principal in the organization (once it is known in Azure). */
  findSp: (d: DevOpsSession) => Promise<DevOpsIdentity | undefined>;
}

/** Within a poll's bounds: an identity just added can take a moment to appear in the identity service. */
const VISIBILITY_POLL = { intervalMs: 1000, maxIntervalMs: 4000, timeoutMs: 10_000 };

export function devopsSteps(
  session: () => Promise<DevOpsSession>,
  inputs: ProvisionInputs,
  facts: Facts,
  log: Logger,
  retry: RetryPolicy,
): Step<unknown>[] {
  const findSp = async (d: DevOpsSession) =>
    facts.identity ? findServicePrincipal(d.c, facts.identity.tenantId, facts.identity.principalId) : undefined;
  const x: DevOpsStepContext = { session, inputs, facts, log, retry, findSp };
  return [userStep(x), teamStep(x), membershipStep(x), aclStep(x)] as Step<unknown>[];
}

/** The identity as an organization user with a licence that can read Git. */
function userStep(x: DevOpsStepContext): Step<UserObservation> {
  const { session, inputs, facts, retry } = x;
  const wantedLicence = inputs.licenseType;
  return {
    id: 'devops-user',
    kind: 'OrganizationUser',
    name: inputs.identityName,
    dependsOn: ['identity'],
    async observe() {
      const d = await session();
      if (!facts.identity) return { identityKnown: false, sp: undefined, entitlement: undefined };
      const sp = await x.findSp(d);
      const entitlement = sp ? await getServicePrincipalEntitlement(d.c, sp.id) : undefined;
      return { identityKnown: true, sp, entitlement };
    },
    plan: (o) => planUser(o, wantedLicence, facts),
    async apply(o, plan) {
      const d = await session();
      await d.refresh();
      const id = facts.identity!;
      if (plan.action === 'update' && o.entitlement) {
        await setServicePrincipalLicence(d.c, o.entitlement.id, wantedLicence, inputs.identityName);
        return;
      }
      // A new identity takes a while to replicate to the directory Azure DevOps reads; until then
      // the add answers "Failed to create service principal with object ID". Wait for it, bounded.
      const notReplicated = (err: unknown) => err instanceof UserError && err.code === 'EntitlementWrongObjectId';
      await retry
        .with({ maxAttempts: 6, baseDelayMs: 2000, maxDelayMs: 30_000, retryOn: notReplicated })
        .run(`adding '${inputs.identityName}' to the organization (not replicated to Azure DevOps yet)`, () =>
          addServicePrincipalEntitlement(d.c, {
            objectId: id.principalId,
            accountLicenseType: wantedLicence,
            displayName: inputs.identityName,
          }),
        );
    },
  };
}

function planUser(o: UserObservation, wantedLicence: ProvisionInputs['licenseType'], facts: Facts): StepPlan {
  const level = licenceName(wantedLicence);
  if (!o.identityKnown || !o.sp || !o.entitlement) {
    return {
      action: 'create',
      changes: [
        { field: 'servicePrincipal.originId', to: facts.identity?.principalId ?? KNOWN_AFTER_APPLY },
        { field: 'accessLevel', to: level },
      ],
    };
  }
  const current = o.entitlement.accountLicenseType;
  if (!licenceSatisfies(current, wantedLicence)) {
    return {
      action: 'update',
      changes: [{ field: 'accessLevel', from: licenceName(current), to: level }],
      note: `${licenceName(current)} access cannot read Git repositories; raised to ${level}`,
    };
  }
  return { action: 'unchanged', changes: [], note: `access level ${licenceName(current)}` };
}

/** The team that holds the identities of the project's clusters. */
function teamStep(x: DevOpsStepContext): Step<Team | undefined> {
  const { session, inputs, facts } = x;
  return {
    id: 'devops-team',
    kind: 'Team',
    name: inputs.teamName,
    async observe() {
      const d = await session();
      const t = await findTeam(d.c, d.project.id, inputs.teamName, undefined, { expandIdentity: true });
      facts.team = t;
      return t;
    },
    plan(t) {
      if (t) return { action: 'unchanged', changes: [], note: `team id ${t.id}` };
      return { action: 'create', changes: [{ field: 'project', to: inputs.project }] };
    },
    async apply() {
      const d = await session();
      await d.refresh();
      facts.team = await createTeam(d.c, d.project.id, inputs.teamName, TEAM_DESCRIPTION);
      return { note: `team id ${facts.team.id}` };
    },
  };
}

/** The identity as a member of the team. */
function membershipStep(x: DevOpsStepContext): Step<MembershipObservation> {
  const { session, inputs, facts, retry } = x;
  return {
    id: 'devops-team-member',
    kind: 'TeamMembership',
    name: `${inputs.identityName} in ${inputs.teamName}`,
    dependsOn: ['identity', 'devops-user', 'devops-team'],
    async observe() {
      const d = await session();
      return observeMembership(d, facts.team, x.findSp);
    },
    plan(o) {
      if (o.member) return { action: 'unchanged', changes: [] };
      return { action: 'create', changes: [{ field: 'member', to: inputs.identityName }] };
    },
    async apply(o) {
      const d = await session();
      await d.refresh();
      let { spSubject, teamSubject } = o;
      // A service principal just added can take a moment to appear in the identity service.
      if (!spSubject || !teamSubject) {
        await retry.poll(async () => {
          const team = facts.team ?? (await findTeam(d.c, d.project.id, inputs.teamName));
          ({ spSubject, teamSubject } = await observeMembership(d, team, x.findSp));
          return spSubject && teamSubject ? true : undefined;
        }, VISIBILITY_POLL);
      }
      if (!spSubject || !teamSubject) {
        throw new UserError(
          `Could not find the ${!spSubject ? `managed identity '${inputs.identityName}'` : `team '${inputs.teamName}'`} in Azure DevOps to add it to the team.`,
          {
            code: 'DevOpsIdentityNotVisible',
            cause: 'It was just added and Azure DevOps does not list it yet.',
            fix: 'Re-run the task in a minute; it continues where it stopped.',
          },
        );
      }
      await addMember(
        d.c,
        spSubject,
        teamSubject,
        `the managed identity '${inputs.identityName}' to the team '${inputs.teamName}'`,
      );
    },
  };
}

/** The team's Read (+ Contribute) on the repository: an ACE merged in, never a permission removed. */
function aclStep(x: DevOpsStepContext): Step<AclObservation> {
  const { session, inputs, facts, log } = x;
  const wanted = inputs.permissionBits;
  return {
    id: 'devops-repo-permissions',
    kind: 'RepositoryPermission',
    name: `${inputs.teamName} on ${inputs.repository}`,
    dependsOn: ['identity', 'devops-user', 'devops-team'],
    async observe() {
      const d = await session();
      // The team step (always before this one) observed or created it.
      const t = facts.team;
      const [sp, teamIdentity] = await Promise.all([x.findSp(d), t ? teamIdentityOf(d, t) : undefined]);
      const descriptors = [teamIdentity?.descriptor, sp?.descriptor].filter((s): s is string => !!s);
      const aces =
        descriptors.length > 0
          ? await readAces(d.c, GIT_REPOSITORIES_NAMESPACE, repoToken(d.project.id, d.repo.id), descriptors)
          : [];
      const of = (desc: string | undefined) =>
        desc ? aces.find((a) => a.descriptor.toLowerCase() === desc.toLowerCase()) : undefined;
      return {
        teamDescriptor: teamIdentity?.descriptor,
        spDescriptor: sp?.descriptor,
        teamAce: of(teamIdentity?.descriptor),
        spAce: of(sp?.descriptor),
      };
    },
    plan: (o) => planAcl(o, inputs),
    async apply(o) {
      const d = await session();
      await d.refresh();
      const teamDescriptor = o.teamDescriptor ?? (await waitForTeamDescriptor(x, d));
      const token = repoToken(d.project.id, d.repo.id);
      const merged = await mergeAllow(d.c, GIT_REPOSITORIES_NAMESPACE, token, teamDescriptor, wanted);
      if (merged && (merged.allow & wanted) !== wanted) {
        log.warn(
          `Azure DevOps answered the permission update with allow ${permissionNames(merged.allow).join(', ') || '(none)'} for the team; expected ${permissionNames(wanted).join(', ')}.`,
        );
      }
    },
  };
}

function planAcl(o: AclObservation, inputs: ProvisionInputs): StepPlan {
  const wanted = inputs.permissionBits;
  const p = planAce(o.teamAce, wanted);
  const token = `repository ${inputs.repository}`;
  if (p.missing === 0)
    return {
      action: 'unchanged',
      changes: [],
      note: `team allowed ${permissionNames(o.teamAce?.allow ?? 0).join(', ')} on the ${token}`,
    };
  const from = o.teamAce ? permissionNames(o.teamAce.allow).join(', ') || '(none)' : undefined;
  const to = permissionNames((o.teamAce?.allow ?? 0) | wanted).join(', ');
  return {
    action: o.teamAce ? 'update' : 'create',
    changes: [{ field: 'allow', ...(from !== undefined ? { from } : {}), to }],
    note: `merge ACE on ${token} for the team (adds ${permissionNames(p.missing).join(', ')}; never removes a permission)`,
  };
}

/** The descriptor of a team just created, once the identity service lists its group (bounded). */
async function waitForTeamDescriptor(x: DevOpsStepContext, d: DevOpsSession): Promise<string> {
  const { inputs, facts, retry } = x;
  const teamDescriptor = await retry.poll(async () => {
    const t = facts.team ?? (await findTeam(d.c, d.project.id, inputs.teamName));
    return t ? (await identitiesByIds(d.c, [t.id]))[0]?.descriptor : undefined;
  }, VISIBILITY_POLL);
  if (!teamDescriptor) {
    throw new UserError(
      `Could not find the team '${inputs.teamName}' in the identity service to grant it permissions.`,
      {
        code: 'DevOpsIdentityNotVisible',
        cause: 'The team was just created and Azure DevOps does not list its group yet.',
        fix: 'Re-run the task in a minute; it continues where it stopped.',
      },
    );
  }
  return teamDescriptor;
}

/** `team`: as the team step observed or created it (that step always runs first). */
export async function observeMembership(
  d: DevOpsSession,
  t: Team | undefined,
  findSp: (d: DevOpsSession) => Promise<DevOpsIdentity | undefined>,
): Promise<MembershipObservation> {
  const [sp, teamIdentity] = await Promise.all([findSp(d), t ? teamIdentityOf(d, t) : undefined]);
  const [spSubject, teamSubject] = await Promise.all([
    sp ? (sp.subjectDescriptor ?? subjectDescriptor(d.c, sp.id)) : undefined,
    t ? (teamIdentity?.subjectDescriptor ?? subjectDescriptor(d.c, t.id)) : undefined,
  ]);
  const member = spSubject && teamSubject ? await isMember(d.c, spSubject, teamSubject) : false;
  return { member, spSubject, teamSubject };
}

/**
 * The team's group in the identity service (its ACE descriptor and Graph subject descriptor): as
 * the team read expanded it, else read once per run once found (a team this run just created),
 * shared by the membership and permission steps.
 */
async function teamIdentityOf(
  d: DevOpsSession,
  t: Team,
): Promise<{ descriptor: string; subjectDescriptor: string | undefined } | undefined> {
  if (t.identity?.subjectDescriptor) return t.identity;
  return (await identitiesByIds(d.c, [t.id]))[0];
}

export function aclOf(planned: readonly PlannedStep[]): AclObservation | undefined {
  return planned.find((p) => p.step.id === 'devops-repo-permissions')?.observed as AclObservation | undefined;
}
