/**
 * FluxOidcVerify's core: collect facts, judge them, prove the chain end to end, reconcile, and
 * (optionally) retire the old Git secret. Returns every check; the task maps them to the report,
 * the outputs and the result. Read-only apart from the reconcile annotation and the optional
 * secret deletion, both plan steps (tasks/common/plan) that plan mode shows and does not apply.
 */
import type { RetryPolicy } from '../http/retry';
import type { ArmClients } from '../azure/clients';
import type { DevOpsConnection } from '../devops/connection';
import type { KubeClient } from '../kube/client';
import { KubeError } from '../kube/model';
import type { Logger } from '../log';
import type { ReportBuilder } from '../report/builder';
import { UserError } from '../errors';
import { azureChecks } from './azure-checks';
import { clusterChecks, expectedRepoUrl } from './cluster-checks';
import { explainAccess, type AccessContext } from './cluster-access';
import { makeConsistent } from './consistency';
import { collectAzure, collectCluster, collectDevOps } from './collect';
import { devopsChecks } from './devops-checks';
import type { AzureFacts, CheckGroup, CheckResult, ClusterFacts, DevOpsFacts, VerifyTarget } from './model';
import { reconcileAndWait } from './reconcile';
import type { SharedReads } from './shared-reads';
import { reconcileChecks } from './reconcile-checks';
import { retireStaticCredentials } from './retire';
import { tokenChecks } from './token-checks';
import { proveServiceAccount, type ProofContext } from './token-proof';

export const CHECK_GROUPS = ['azure', 'devops', 'cluster', 'token'] as const;
export type SelectableGroup = (typeof CHECK_GROUPS)[number];

export interface VerifyOptions {
  target: VerifyTarget;
  groups: ReadonlySet<SelectableGroup>;
  /** The reconcile input: request a reconcile (plan mode shows the request, does not make it). */
  reconcile: boolean;
  /** Plan mode: every check runs; the writes are planned, not applied. */
  plan: boolean;
  timeoutSeconds: number;
  failOn: 'error' | 'warning';
  retireStaticCredentials: boolean;
}

export interface VerifyServices {
  log: Logger;
  arm: ArmClients;
  /** Connects to Azure DevOps with the service connection's Entra token. */
  devops: () => Promise<DevOpsConnection>;
  /** Builds the cluster client (AKS credentials or a Kubernetes service connection). */
  kube: () => Promise<{ client: KubeClient; description: string; serviceConnection?: boolean }>;
  /** Tenant of the Azure DevOps service connection (fallback evidence for the organization's tenant). */
  connectionTenantId?: string;
  /** Entra authority host for the token exchange (the connection's cloud). */
  authorityHost: string;
  /** The agent's proxy for that exchange, when configured. */
  proxyOptions?: ProofContext['proxyOptions'];
  /** The run report: the reconcile requests and the secret deletion are recorded as resources. */
  report?: ReportBuilder;
  /** Runs a block inside a collapsible log group. */
  group?: <T>(title: string, fn: () => Promise<T>) => Promise<T>;
  /** The run's retry policy: waits, polls and raw reads run under it (tests pass one on a fake clock). */
  retry?: RetryPolicy;
  exchange?: ProofContext['exchange'];
  /** Azure DevOps reads shared by the clusters of one run (a fleet); default: per call. */
  shared?: SharedReads;
}

export interface VerifyOutcome {
  checks: CheckResult[];
  verified: boolean;
  /** Ids of failed checks (and warned ones with failOn: warning). */
  failedChecks: string[];
}

function errorCheck(id: string, group: CheckGroup, title: string, err: unknown, access?: AccessContext): CheckResult {
  const denied = access && err instanceof KubeError ? explainAccess(err.statusCode, err.message, access) : undefined;
  if (denied)
    return { id, group, title, status: 'fail', evidence: [err instanceof Error ? err.message : ''], ...denied };
  if (err instanceof UserError) {
    return {
      id,
      group,
      title,
      status: 'fail',
      evidence: [err.message],
      ...(err.cause ? { cause: err.cause } : {}),
      ...(err.fix ? { fix: err.fix } : {}),
    };
  }
  return {
    id,
    group,
    title,
    status: 'fail',
    evidence: [err instanceof Error ? err.message : String(err)],
    cause: 'the call failed',
    fix: 'see the evidence; re-run when the service is reachable',
  };
}

/** Checks a group that was not selected, so the report says so instead of staying silent. */
function notSelected(group: CheckGroup): CheckResult {
  return {
    id: `${group}.not-selected`,
    group,
    title: `${group} checks`,
    status: 'skip',
    evidence: [`not selected in the checks input`],
  };
}

export function blocking(checks: CheckResult[], failOn: 'error' | 'warning'): string[] {
  return checks.filter((c) => c.status === 'fail' || (failOn === 'warning' && c.status === 'warn')).map((c) => c.id);
}

/** One cluster's run: the options, the services, and what the stages learnt so far. */
interface Run {
  o: VerifyOptions;
  s: VerifyServices;
  t: VerifyTarget;
  log: Logger;
  inGroup: <T>(title: string, fn: () => Promise<T>) => Promise<T>;
  checks: CheckResult[];
  azure: AzureFacts;
  access: AccessContext;
  kube?: KubeClient;
  cluster?: ClusterFacts;
}

/** The identity as the federated-credential checks need it, plus the cluster's issuer. */
function ficsOf(azure: AzureFacts) {
  return {
    identity: azure.identity,
    issuerUrl: azure.cluster?.issuerUrl,
    federatedCredentials: azure.federatedCredentials,
  };
}

async function devopsStage(r: Run): Promise<void> {
  const { o, s, t } = r;
  if (!o.groups.has('devops')) {
    r.checks.push(notSelected('devops'));
    return;
  }
  await r.inGroup('Azure DevOps: membership, licence, team, permissions', async () => {
    try {
      const c = await s.devops();
      const devops: DevOpsFacts = await collectDevOps(c, t, r.azure.identity, {
        log: r.log,
        ...(s.retry ? { retry: s.retry } : {}),
        ...(s.connectionTenantId ? { connectionTenantId: s.connectionTenantId } : {}),
        ...(s.shared ? { shared: s.shared } : {}),
      });
      r.checks.push(...devopsChecks(devops, r.azure.identity, t));
    } catch (err) {
      r.checks.push(errorCheck('devops.connection', 'devops', `Azure DevOps organization ${t.organizationUrl}`, err));
    }
  });
}

async function clusterAccessStage(r: Run): Promise<void> {
  const { o, s, t } = r;
  const wantsCluster = o.groups.has('cluster') || o.groups.has('token') || o.reconcile || o.retireStaticCredentials;
  if (!wantsCluster) return;
  try {
    const k = await s.kube();
    r.kube = k.client;
    r.access.kubernetesServiceConnection = k.serviceConnection === true;
    r.log.info(`Cluster access: ${k.description}`);
  } catch (err) {
    r.checks.push(errorCheck('cluster.access', 'cluster', `Access to cluster ${t.clusterName}`, err));
  }
}

// Reconcile first: right after FluxManifestPatch the cluster has not applied the new commit
// yet, and the checks after it must judge the cluster as Flux leaves it, not as it was.
async function reconcileStage(r: Run, k: KubeClient): Promise<CheckResult[]> {
  const { o, s, t } = r;
  return r.inGroup(o.reconcile && !o.plan ? 'Reconcile and wait for Ready' : 'Flux status', async () => {
    try {
      const facts = await reconcileAndWait({
        kube: k,
        namespace: t.fluxNamespace,
        gitRepositoryName: t.gitRepositoryName,
        kustomizationName: t.kustomizationName,
        deployments: t.serviceAccounts,
        request: o.reconcile,
        mode: o.plan ? 'plan' : 'apply',
        ...(s.report ? { report: s.report } : {}),
        timeoutMs: o.timeoutSeconds * 1000,
        log: r.log,
        ...(s.retry ? { retry: s.retry } : {}),
      });
      return reconcileChecks(facts, t, { ...ficsOf(r.azure), plan: o.plan && o.reconcile });
    } catch (err) {
      return [errorCheck('reconcile.git-repository', 'reconcile', 'Reconcile', err, r.access)];
    }
  });
}

async function clusterStage(r: Run, k: KubeClient): Promise<void> {
  const { t } = r;
  await r.inGroup('Cluster: Flux, service accounts, pods, GitRepository', async () => {
    try {
      r.cluster = await collectCluster(k, t);
      r.checks.push(...clusterChecks(r.cluster, r.azure.identity, t));
    } catch (err) {
      r.checks.push(errorCheck('cluster.read', 'cluster', 'Read the Flux objects', err, r.access));
    }
  });
}

async function tokenStage(r: Run, k: KubeClient): Promise<void> {
  const { o, s, t } = r;
  await r.inGroup('Token proof: service-account token -> Entra -> Azure DevOps', async () => {
    const proofs = [];
    for (const sa of t.serviceAccounts) {
      // A correct credential written minutes ago may not have reached Entra yet: retry those only.
      const ficOk = r.checks.some((c) => c.id === `azure.federated-credential:${sa}` && c.status === 'pass');
      proofs.push(
        await proveServiceAccount(sa, {
          kube: k,
          namespace: t.fluxNamespace,
          identity: r.azure.identity,
          authorityHost: s.authorityHost,
          ...(s.proxyOptions ? { proxyOptions: s.proxyOptions } : {}),
          organizationUrl: t.organizationUrl,
          project: t.project,
          repository: t.repository,
          log: r.log,
          propagationRetryMs: ficOk ? Math.min(120_000, o.timeoutSeconds * 1000) : 0,
          ...(s.exchange ? { exchange: s.exchange } : {}),
          ...(s.retry ? { retry: s.retry } : {}),
        }),
      );
    }
    r.checks.push(...tokenChecks(proofs, t, { ...ficsOf(r.azure), access: r.access }));
  });
}

async function retireStage(r: Run, k: KubeClient): Promise<CheckResult> {
  const { o, s, t } = r;
  return r.inGroup('Retire static credentials', async () => {
    try {
      return await retireStaticCredentials({
        kube: k,
        namespace: t.fluxNamespace,
        gitRepositoryName: t.gitRepositoryName,
        blockingChecks: blocking(r.checks, o.failOn),
        mode: o.plan ? 'plan' : 'apply',
        log: r.log,
        ...(s.report ? { report: s.report } : {}),
      });
    } catch (err) {
      return errorCheck('cleanup.retire-static-credentials', 'cleanup', 'Retire the static Git secret', err, r.access);
    }
  });
}

/** Conclusions held against each other and the cluster, in a stable order (Azure, Azure DevOps, cluster, token, reconcile, cleanup). */
function conclude(r: Run): VerifyOutcome {
  // No fix may make things worse.
  const consistent = makeConsistent(r.checks, r.t, {
    ...(r.cluster?.reality ? { reality: r.cluster.reality } : {}),
    ...(r.cluster ? { gitRepository: r.cluster.gitRepository } : {}),
    federatedCredentials: r.azure.federatedCredentials,
    expectedRepoUrl: expectedRepoUrl(r.t),
  });
  const order: CheckGroup[] = ['azure', 'devops', 'cluster', 'token', 'reconcile', 'cleanup'];
  const checks = consistent.sort((a, b) => order.indexOf(a.group) - order.indexOf(b.group));
  const failedChecks = blocking(checks, r.o.failOn);
  return { checks, verified: failedChecks.length === 0, failedChecks };
}

export async function runVerify(o: VerifyOptions, s: VerifyServices): Promise<VerifyOutcome> {
  const t = o.target;
  const log = s.log;
  const inGroup = s.group ?? (<T>(_title: string, fn: () => Promise<T>) => fn());
  const checks: CheckResult[] = [];

  // The identity (clientId, principalId, tenant) is needed by every group, so Azure is always read.
  const azure: AzureFacts = await inGroup('Azure: cluster, identity, federated credentials', () =>
    collectAzure(s.arm, t, log),
  );
  if (o.groups.has('azure')) checks.push(...azureChecks(azure, t));
  else checks.push(notSelected('azure'));
  const access: AccessContext = {
    fluxNamespace: t.fluxNamespace,
    ...(azure.cluster?.authorization ? { authorization: azure.cluster.authorization } : {}),
    ...(azure.cluster?.id ? { clusterId: azure.cluster.id } : {}),
  };
  const r: Run = { o, s, t, log, inGroup, checks, azure, access };

  await devopsStage(r);
  await clusterAccessStage(r);
  const k = r.kube;
  const reconciled = k ? await reconcileStage(r, k) : [];
  if (o.groups.has('cluster') && k) await clusterStage(r, k);
  else if (!o.groups.has('cluster')) checks.push(notSelected('cluster'));
  if (o.groups.has('token') && k) await tokenStage(r, k);
  else if (!o.groups.has('token')) checks.push(notSelected('token'));
  checks.push(...reconciled);
  if (o.retireStaticCredentials && k) checks.push(await retireStage(r, k));
  return conclude(r);
}
