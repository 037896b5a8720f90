/**
 * FluxOidcProvision: everything outside the Git repository that Flux needs to authenticate to
 * Azure DevOps with AKS workload identity, as one list of steps in dependency order:
 *
 *   AKS cluster (OIDC issuer + workload identity) -> managed identity -> one federated credential
 *   per Flux service account -> Azure DevOps: the identity as an organization user (licence),
 *   the team, the identity in the team, the team's Read (+ Contribute) on the repository.
 *
 * Every step is observed before anything is written; the plan (plan mode) and apply share that
 * one path (common/plan). Preflight checks (the federated-credential budget, cluster features,
 * explicit denies) stop the run before the first write.
 */
import type { AzureConnection } from '../auth/types';
import { createArmClients, type ArmClients } from '../azure/clients';
import {
  enableWorkloadIdentity,
  isClusterBusy,
  needsWorkloadIdentityUpdate,
  readCluster,
  requireIssuer,
  type ClusterRef,
  type ClusterState,
} from '../azure/cluster';
import {
  checkCredentialBudget,
  desiredCredentials,
  listCredentials,
  MAX_CREDENTIALS_PER_IDENTITY,
  planCredentials,
  TOKEN_EXCHANGE_AUDIENCE,
  writeCredential,
  type Credential,
  type CredentialPlan,
} from '../azure/federated';
import { createIdentity, readIdentity, type IdentityRef, type IdentityState } from '../azure/identity';
import { type Sleep, realSleep } from '../azure/wait';
import { excessBits, GIT_REPOSITORIES_NAMESPACE, permissionNames, planAce, repoToken } from '../devops/acl';
import { connectDevOps, devopsTokenFor, type DevOpsConnection } from '../devops/connection';
import {
  addServicePrincipalEntitlement,
  getServicePrincipalEntitlement,
  licenceName,
  licenceSatisfies,
  setServicePrincipalLicence,
  type Entitlement,
} from '../devops/entitlements';
import { addMember, isMember, subjectDescriptor } from '../devops/graph';
import { findServicePrincipal, identitiesByIds, type DevOpsIdentity } from '../devops/identities';
import { findProject, findRepository, type ProjectRef, type RepositoryRef } from '../devops/projects';
import { mergeAllow, readAces } from '../devops/security';
import { createTeam, findTeam, type Team } from '../devops/teams';
import type { RetryPolicy } from '../http/retry';
import type { Logger } from '../log';
import { KNOWN_AFTER_APPLY, runSteps, type Change, type PlannedStep, type Preflight, type Step } from '../plan';
import type { ReportBuilder } from '../report/builder';
import { UserError } from '../errors';
import type { ProvisionInputs } from '../../FluxOidcProvision/inputs';

/** What the core needs from the pipeline (TaskContext provides it). */
export interface ProvisionContext {
  log: Logger;
  mode: 'plan' | 'apply';
  report: ReportBuilder;
  retry: RetryPolicy;
  azureConnection(inputName: string): Promise<AzureConnection>;
  setOutput(name: string, value: string): void;
}

export interface ProvisionOptions {
  userAgent?: string;
  sleep?: Sleep;
  random?: () => number;
}

export const TEAM_DESCRIPTION =
  "Managed identities of AKS clusters that Flux uses to read this project's repositories (workload identity). Managed by FluxOidcProvision.";

/** Values learnt while observing and applying, shared by later steps. */
interface Facts {
  cluster?: ClusterState;
  identity?: IdentityState;
  team?: Team;
  /** Credential name actually used per service account. */
  credentialNames: Map<string, string>;
}

interface CredentialObservation {
  existing: Credential[];
  issuer: string | undefined;
  identityExists: boolean;
}

interface UserObservation {
  identityKnown: boolean;
  sp: DevOpsIdentity | undefined;
  entitlement: Entitlement | undefined;
}

interface MembershipObservation {
  member: boolean;
  spSubject: string | undefined;
  teamSubject: string | undefined;
}

interface AclObservation {
  teamDescriptor: string | undefined;
  spDescriptor: string | undefined;
  teamAce: { allow: number; deny: number } | undefined;
  spAce: { allow: number; deny: number; effectiveAllow?: number; effectiveDeny?: number } | undefined;
}

interface DevOpsSession {
  /** Its holder names the devopsConnection's principal in error texts. */
  c: DevOpsConnection;
  project: ProjectRef;
  repo: RepositoryRef;
  /** Puts a fresh token into every client when the current one is close to expiry. */
  refresh(): Promise<void>;
}

/** How messages name a service connection's principal: "client id …, service connection of input …". */
function principalName(conn: AzureConnection, input: string): string {
  return `client id ${conn.clientId}, service connection ${conn.name ? `'${conn.name}' ` : ''}of input ${input}`;
}

function memo<T>(fn: () => Promise<T>): () => Promise<T> {
  let p: Promise<T> | undefined;
  return () => {
    if (!p) {
      p = fn();
      // A failed attempt is not cached: the error surfaces once, and a later call may retry.
      p.catch(() => {
        p = undefined;
      });
    }
    return p;
  };
}

export async function provision(
  ctx: ProvisionContext,
  inputs: ProvisionInputs,
  options: ProvisionOptions = {},
): Promise<void> {
  const { log } = ctx;
  const sleep = options.sleep ?? realSleep;
  const azure = await ctx.azureConnection('azureSubscription');
  const armPrincipal = principalName(azure, 'azureSubscription');
  const clients = createArmClients(azure, { log, userAgent: options.userAgent });
  const facts: Facts = { credentialNames: new Map() };
  const clusterRef: ClusterRef = { resourceGroup: inputs.resourceGroup, name: inputs.clusterName };
  const identityRef: IdentityRef = { resourceGroup: inputs.identityResourceGroup, name: inputs.identityName };

  const steps: Step<unknown>[] = [
    clusterStep(clients, clusterRef, inputs, facts, { log, principal: armPrincipal, sleep }),
    identityStep(clients, identityRef, inputs, facts, { log, principal: armPrincipal, sleep }),
    ...credentialSteps(clients, identityRef, inputs, facts, {
      log,
      principal: armPrincipal,
      sleep,
      random: options.random,
    }),
  ] as Step<unknown>[];
  const preflight: Preflight[] = [clusterFeaturesCheck(inputs), credentialBudgetCheck(inputs)];

  if (inputs.configureDevOps) {
    const session = memo(() => openDevOps(ctx, inputs));
    steps.push(...(devopsSteps(session, inputs, facts, log, sleep) as Step<unknown>[]));
    preflight.push(denyCheck(inputs), leastPrivilegeCheck(inputs));
  }

  await runSteps(steps, { mode: ctx.mode, log, report: ctx.report, preflight });
  setOutputs(ctx, inputs, facts, azure);
}

function setOutputs(ctx: ProvisionContext, inputs: ProvisionInputs, facts: Facts, azure: AzureConnection): void {
  const id = facts.identity;
  if (id) {
    ctx.setOutput('clientId', id.clientId);
    ctx.setOutput('principalId', id.principalId);
    ctx.setOutput('tenantId', id.tenantId || azure.tenantId);
    ctx.setOutput('identityResourceId', id.id);
  } else {
    ctx.setOutput('tenantId', azure.tenantId);
  }
  if (facts.cluster?.issuerUrl) ctx.setOutput('oidcIssuerUrl', facts.cluster.issuerUrl);
  const names = inputs.serviceAccounts.map((sa) => facts.credentialNames.get(sa)).filter((n): n is string => !!n);
  if (names.length === inputs.serviceAccounts.length) ctx.setOutput('federatedCredentialNames', names.join(','));
  if (facts.team) ctx.setOutput('teamId', facts.team.id);
}

// ------------------------------------------------------------------------------------------ Azure

interface AzureStepContext {
  log: Logger;
  principal: string;
  sleep: Sleep;
  random?: () => number;
}

function clusterStep(
  clients: ArmClients,
  ref: ClusterRef,
  inputs: ProvisionInputs,
  facts: Facts,
  c: AzureStepContext,
): Step<ClusterState> {
  return {
    id: 'cluster',
    kind: 'ManagedCluster',
    name: `${ref.resourceGroup}/${ref.name}`,
    async observe() {
      const state = await readCluster(clients, ref, c);
      facts.cluster = state;
      return state;
    },
    plan(s) {
      if (!needsWorkloadIdentityUpdate(s)) {
        return {
          action: 'unchanged',
          changes: [],
          note: `OIDC issuer and workload identity are on; issuer ${s.issuerUrl ?? '(none reported)'}`,
        };
      }
      const changes: Change[] = [];
      if (!s.oidcIssuerEnabled) {
        changes.push({ field: 'oidcIssuerProfile.enabled', from: false, to: true });
        changes.push({ field: 'oidcIssuerProfile.issuerURL', from: s.issuerUrl, to: KNOWN_AFTER_APPLY });
      }
      if (!s.workloadIdentityEnabled)
        changes.push({ field: 'securityProfile.workloadIdentity.enabled', from: false, to: true });
      if (!inputs.enableClusterFeatures) {
        return {
          action: 'skip',
          changes,
          note: 'enableClusterFeatures is false: the task does not change the cluster',
        };
      }
      const busy = isClusterBusy(s) ? `; the cluster is ${s.provisioningState}, apply waits for it` : '';
      return {
        action: 'update',
        changes,
        note: `read-modify-write PUT of the cluster (long-running; enabling the OIDC issuer restarts the API server)${busy}`,
      };
    },
    async apply() {
      facts.cluster = await enableWorkloadIdentity(clients, ref, {
        log: c.log,
        principal: c.principal,
        sleep: c.sleep,
        timeoutMs: inputs.clusterUpdateTimeoutMinutes * 60_000,
      });
      return { note: `issuer ${facts.cluster.issuerUrl}` };
    },
  };
}

function identityStep(
  clients: ArmClients,
  ref: IdentityRef,
  inputs: ProvisionInputs,
  facts: Facts,
  c: AzureStepContext,
): Step<IdentityState | undefined> {
  const location = () => inputs.identityLocation ?? facts.cluster?.location;
  return {
    id: 'identity',
    kind: 'UserAssignedIdentity',
    name: `${ref.resourceGroup}/${ref.name}`,
    async observe() {
      const found = await readIdentity(clients, ref, c);
      facts.identity = found;
      return found;
    },
    plan(found) {
      if (found) {
        const moved =
          inputs.identityLocation && found.location.toLowerCase() !== inputs.identityLocation.toLowerCase()
            ? `; it is in ${found.location}, not ${inputs.identityLocation} (an identity cannot move; kept)`
            : '';
        return {
          action: 'unchanged',
          changes: [],
          note: `client id ${found.clientId}, principal id ${found.principalId}${moved}`,
        };
      }
      return {
        action: 'create',
        changes: [
          { field: 'location', to: location() ?? KNOWN_AFTER_APPLY },
          { field: 'clientId', to: KNOWN_AFTER_APPLY },
          { field: 'principalId', to: KNOWN_AFTER_APPLY },
        ],
      };
    },
    async apply() {
      const loc = location();
      if (!loc) throw new Error('the cluster location is unknown (the cluster step did not run)');
      facts.identity = await createIdentity(clients, ref, {
        log: c.log,
        principal: c.principal,
        sleep: c.sleep,
        location: loc,
        tags: { 'managed-by': 'FluxOidcProvision', 'flux-cluster': inputs.clusterName },
      });
      return { note: `client id ${facts.identity.clientId}, principal id ${facts.identity.principalId}` };
    },
  };
}

function credentialSteps(
  clients: ArmClients,
  identity: IdentityRef,
  inputs: ProvisionInputs,
  facts: Facts,
  c: AzureStepContext,
): Step<CredentialObservation>[] {
  // One list per observation round, shared by the credential steps (they observe back to back).
  let cache: { identityId: string; issuer: string | undefined; list: Promise<Credential[]> } | undefined;
  const existing = (): Promise<Credential[]> => {
    const id = facts.identity;
    if (!id) return Promise.resolve([]);
    if (!cache || cache.identityId !== id.id || cache.issuer !== facts.cluster?.issuerUrl) {
      cache = { identityId: id.id, issuer: facts.cluster?.issuerUrl, list: listCredentials(clients, identity, c) };
    }
    return cache.list;
  };
  const desiredFor = (sa: string, issuer: string | undefined) => {
    const r = desiredCredentials({
      pattern: inputs.federatedCredentialName,
      serviceAccounts: [sa],
      clusterName: inputs.clusterName,
      namespace: inputs.fluxNamespace,
      issuer,
    });
    // The pattern was validated with the inputs; an error here is a bug.
    if ('error' in r) throw new Error(r.error);
    return r.credentials[0];
  };
  const planOne = (sa: string, o: CredentialObservation): CredentialPlan =>
    planCredentials(o.existing, [desiredFor(sa, o.issuer)])[0];

  return inputs.serviceAccounts.map((sa): Step<CredentialObservation> => ({
    id: `credential:${sa}`,
    kind: 'FederatedIdentityCredential',
    name: desiredFor(sa, undefined).name,
    dependsOn: ['cluster', 'identity'],
    async observe() {
      const list = await existing();
      const cl = facts.cluster;
      return {
        existing: list,
        issuer: cl?.oidcIssuerEnabled ? cl.issuerUrl : undefined,
        identityExists: !!facts.identity,
      };
    },
    plan(o) {
      const p = planOne(sa, o);
      facts.credentialNames.set(sa, p.name);
      return { action: p.action, changes: p.changes, ...(p.note ? { note: p.note } : {}) };
    },
    async apply(o) {
      const cl = facts.cluster;
      if (!cl || !facts.identity)
        throw new Error('the cluster or the identity is unknown (an earlier step did not run)');
      const issuer = requireIssuer(cl, { resourceGroup: inputs.resourceGroup, name: inputs.clusterName }).issuerUrl!;
      const p = planOne(sa, { ...o, issuer });
      if (p.action === 'unchanged') return { note: 'already present' };
      await writeCredential(
        clients,
        identity,
        { name: p.name, issuer, subject: p.desired.subject, audiences: [TOKEN_EXCHANGE_AUDIENCE] },
        {
          log: c.log,
          principal: c.principal,
          sleep: c.sleep,
          ...(c.random ? { random: c.random } : {}),
        },
      );
      cache = undefined;
      facts.credentialNames.set(sa, p.name);
      return {
        note:
          p.action === 'update' ? `updated in place: ${p.changes.map((x) => x.field).join(', ')} corrected` : undefined,
      };
    },
  }));
}

function clusterFeaturesCheck(inputs: ProvisionInputs): Preflight {
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

function credentialBudgetCheck(inputs: ProvisionInputs): Preflight {
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

// ------------------------------------------------------------------------------------ Azure DevOps

async function openDevOps(ctx: ProvisionContext, inputs: ProvisionInputs): Promise<DevOpsSession> {
  const conn = await ctx.azureConnection(inputs.devopsConnectionInput);
  const principal = principalName(conn, inputs.devopsConnectionInput);
  let expiresOn = 0;
  const getToken = async (): Promise<string> => {
    const t = await devopsTokenFor(conn, ctx.log);
    expiresOn = t.expiresOnTimestamp;
    return t.token;
  };
  const c = await connectDevOps({
    orgUrl: inputs.organizationUrl!,
    token: await getToken(),
    log: ctx.log,
    retry: ctx.retry,
    principal,
  });
  ctx.log.info(`Azure DevOps: ${c.orgUrl} as ${c.caller.displayName ?? principal}`);
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
  // A long cluster update can outlive the token: fetch a new one when it expires within 5 minutes.
  const refresh = async () => {
    if (Date.now() > expiresOn - 5 * 60_000) c.setToken(await getToken());
  };
  return { c, project, repo, refresh };
}

function devopsSteps(
  session: () => Promise<DevOpsSession>,
  inputs: ProvisionInputs,
  facts: Facts,
  log: Logger,
  sleep: Sleep,
): Step<unknown>[] {
  const wantedLicence = inputs.licenseType;
  const wanted = inputs.permissionBits;
  const findSp = async (d: DevOpsSession) =>
    facts.identity ? findServicePrincipal(d.c, facts.identity.tenantId, facts.identity.principalId) : undefined;

  const user: Step<UserObservation> = {
    id: 'devops-user',
    kind: 'OrganizationUser',
    name: inputs.identityName,
    dependsOn: ['identity'],
    async observe() {
      const d = await session();
      if (!facts.identity) return { identityKnown: false, sp: undefined, entitlement: undefined };
      const sp = await findSp(d);
      const entitlement = sp ? await getServicePrincipalEntitlement(d.c, sp.id) : undefined;
      return { identityKnown: true, sp, entitlement };
    },
    plan(o) {
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
    },
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
      for (let attempt = 1, wait = 2000; ; attempt++, wait = Math.min(wait * 2, 30_000)) {
        try {
          await addServicePrincipalEntitlement(d.c, {
            objectId: id.principalId,
            accountLicenseType: wantedLicence,
            displayName: inputs.identityName,
          });
          return;
        } catch (err) {
          if (!(err instanceof UserError) || err.code !== 'EntitlementWrongObjectId' || attempt >= 6) throw err;
          log.info(
            `Azure DevOps does not see the managed identity '${inputs.identityName}' in Entra ID yet (replication); trying again in ${wait / 1000} s.`,
          );
          await sleep(wait);
        }
      }
    },
  };

  const team: Step<Team | undefined> = {
    id: 'devops-team',
    kind: 'Team',
    name: inputs.teamName,
    async observe() {
      const d = await session();
      const t = await findTeam(d.c, d.project.id, inputs.teamName);
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

  const membership: Step<MembershipObservation> = {
    id: 'devops-team-member',
    kind: 'TeamMembership',
    name: `${inputs.identityName} in ${inputs.teamName}`,
    dependsOn: ['identity', 'devops-user', 'devops-team'],
    async observe() {
      const d = await session();
      return observeMembership(d, facts.team, findSp);
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
      for (let i = 0; (!spSubject || !teamSubject) && i < 5; i++) {
        if (i > 0) await sleep(1000 * i);
        const team = facts.team ?? (await findTeam(d.c, d.project.id, inputs.teamName));
        ({ spSubject, teamSubject } = await observeMembership(d, team, findSp));
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

  const acl: Step<AclObservation> = {
    id: 'devops-repo-permissions',
    kind: 'RepositoryPermission',
    name: `${inputs.teamName} on ${inputs.repository}`,
    dependsOn: ['identity', 'devops-user', 'devops-team'],
    async observe() {
      const d = await session();
      // The team step (always before this one) observed or created it.
      const t = facts.team;
      const sp = await findSp(d);
      const [teamIdentity] = t ? await identitiesByIds(d.c, [t.id]) : [undefined];
      const descriptors = [teamIdentity?.descriptor, sp?.descriptor].filter((x): x is string => !!x);
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
    plan(o) {
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
    },
    async apply(o) {
      const d = await session();
      await d.refresh();
      let teamDescriptor = o.teamDescriptor;
      for (let i = 0; !teamDescriptor && i < 5; i++) {
        if (i > 0) await sleep(1000 * i);
        const t = facts.team ?? (await findTeam(d.c, d.project.id, inputs.teamName));
        teamDescriptor = t ? (await identitiesByIds(d.c, [t.id]))[0]?.descriptor : undefined;
      }
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
      const token = repoToken(d.project.id, d.repo.id);
      const merged = await mergeAllow(d.c, GIT_REPOSITORIES_NAMESPACE, token, teamDescriptor, wanted);
      if (merged && (merged.allow & wanted) !== wanted) {
        log.warn(
          `Azure DevOps answered the permission update with allow ${permissionNames(merged.allow).join(', ') || '(none)'} for the team; expected ${permissionNames(wanted).join(', ')}.`,
        );
      }
    },
  };

  return [user, team, membership, acl] as Step<unknown>[];
}

/** `team`: as the team step observed or created it (that step always runs first). */
async function observeMembership(
  d: DevOpsSession,
  t: Team | undefined,
  findSp: (d: DevOpsSession) => Promise<DevOpsIdentity | undefined>,
): Promise<MembershipObservation> {
  const sp = await findSp(d);
  const spSubject = sp ? (sp.subjectDescriptor ?? (await subjectDescriptor(d.c, sp.id))) : undefined;
  const teamSubject = t ? await subjectDescriptor(d.c, t.id) : undefined;
  const member = spSubject && teamSubject ? await isMember(d.c, spSubject, teamSubject) : false;
  return { member, spSubject, teamSubject };
}

function aclOf(planned: readonly PlannedStep[]): AclObservation | undefined {
  return planned.find((p) => p.step.id === 'devops-repo-permissions')?.observed as AclObservation | undefined;
}

function denyCheck(inputs: ProvisionInputs): Preflight {
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

function leastPrivilegeCheck(inputs: ProvisionInputs): Preflight {
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
