/**
 * FluxOidcVerify over a fleet in one step: the clusters (a list, or every match of a pattern in the
 * resource groups given), verified at most `maxParallel` at a time with the single-cluster verifier,
 * then one report with a section per cluster, outputs per cluster, and one verdict: the gate fails
 * when any cluster fails, and its message names which.
 */
import { proxySettingsFor } from '../auth/proxy';
import { createArmClients } from '../azure/clients';
import { UserError } from '../errors';
import { ReportBuilder } from '../report/builder';
import type { ReportResource } from '../report/model';
import type { Logger } from '../log';
import type { TaskContext } from '../pipeline/task';
import {
  mapBounded,
  outputSuffix,
  resolveFleet,
  verdictOf,
  type ClusterRef,
  type FleetSpec,
  type Verdict,
} from './fleet';
import type { CheckResult, VerifyTarget } from './model';
import { logCheck, reportedCheck, verifyOptions, verifyServices, type VerifyTaskOptions } from './run';
import { runVerify, type VerifyOutcome } from './verify';
import { SharedReads } from './shared-reads';
import type { VerifyInputs } from '../../FluxOidcVerify/inputs';

export interface FleetInputs {
  spec: FleetSpec;
  maxParallel: number;
  /** Set only when given: a shared identity for every cluster. Default: `flux-<cluster>` each. */
  identityName?: string;
  /** Set only when given. Default: each cluster's resource group. */
  identityResourceGroup?: string;
}

interface ClusterOutcome {
  ref: ClusterRef;
  outcome: VerifyOutcome;
  verdict: Verdict;
  /** The cluster's own resources (reconcile requests, a retired secret), for its report section. */
  resources: ReportResource[];
}

/** Each log line of a cluster carries its name: clusters run in parallel and their lines interleave. */
function prefixed(log: Logger, name: string): Logger {
  const p = `[${name}] `;
  return {
    info: (m) => log.info(p + m),
    warn: (m) => log.warn(p + m),
    debug: (m) => log.debug(p + m),
    progress: (m, pct) => log.progress(p + m, pct),
    secret: (v) => log.secret(v),
  };
}

function targetFor(inputs: VerifyInputs, fleet: FleetInputs, ref: ClusterRef, subscriptionId: string): VerifyTarget {
  const t: VerifyTarget = {
    ...inputs.target,
    subscriptionId,
    resourceGroup: ref.resourceGroup,
    clusterName: ref.name,
    identityResourceGroup: fleet.identityResourceGroup ?? ref.resourceGroup,
  };
  delete t.identityName;
  const identityName = fleet.identityName ?? (inputs.target.clientId ? undefined : `flux-${ref.name}`);
  if (identityName) t.identityName = identityName;
  return t;
}

function summaryCheck(c: ClusterOutcome) {
  const count = (s: CheckResult['status']) => c.outcome.checks.filter((x) => x.status === s).length;
  const failed = c.outcome.checks.filter((x) => c.outcome.failedChecks.includes(x.id)).map((x) => x.title);
  const warned = c.outcome.checks.filter((x) => x.status === 'warn').map((x) => x.title);
  return {
    id: `fleet.cluster:${c.ref.name}`,
    title: `Cluster ${c.ref.name}`,
    status: c.verdict,
    evidence: `resource group ${c.ref.resourceGroup}: ${count('pass')} passed, ${count('warn')} warned, ${count('fail')} failed, ${count('skip')} skipped`,
    ...(c.verdict === 'fail' ? { cause: `failed: ${failed.join('; ')}` } : {}),
    ...(c.verdict === 'warn' ? { cause: `warned: ${warned.join('; ')}` } : {}),
    ...(c.verdict !== 'pass' ? { fix: `see the section of ${c.ref.name} below for each cause and fix` } : {}),
  };
}

export async function verifyFleet(
  ctx: TaskContext,
  inputs: VerifyInputs,
  fleet: FleetInputs,
  options: VerifyTaskOptions,
): Promise<VerifyOutcome> {
  const plan = ctx.mode === 'plan';
  const azure = await ctx.azureConnection('azureSubscription');
  const arm = createArmClients(azure, { log: ctx.log, userAgent: options.userAgent, retry: ctx.retry });
  const services = verifyServices(ctx, inputs, azure, arm);
  const refs = await resolveFleet(arm, fleet.spec);
  const parallel = Math.min(fleet.maxParallel, refs.length);
  ctx.log.info(
    `Verifying ${refs.length} cluster${refs.length === 1 ? '' : 's'}, ${parallel} at a time: ${refs.map((r) => r.name).join(', ')}`,
  );
  if (plan) ctx.log.info('Plan mode: every check runs; no reconcile is requested and nothing is deleted.');
  const proxyOptions = proxySettingsFor(ctx.platform.proxy(), azure.cloud.authorityHost);
  // The organization's tenant, project, repository and team are read once for the whole fleet.
  const shared = new SharedReads();

  const results = await mapBounded(refs, fleet.maxParallel, async (ref): Promise<ClusterOutcome> => {
    const target = targetFor(inputs, fleet, ref, azure.subscriptionId);
    // Each cluster records into its own section: the same kinds and names recur on every cluster.
    const section = new ReportBuilder('FluxOidcVerify', '', ctx.report.mode);
    const outcome = await runVerify(verifyOptions(inputs, target, plan), {
      log: prefixed(ctx.log, ref.name),
      report: section,
      arm,
      devops: services.devops,
      kube: () => services.kube(target),
      authorityHost: azure.cloud.authorityHost,
      retry: ctx.retry,
      connectionTenantId: azure.tenantId,
      shared,
      ...(proxyOptions ? { proxyOptions } : {}),
    }).catch((err: unknown): VerifyOutcome => {
      // One cluster that cannot be read at all (not found, no access) fails alone, not the whole fleet.
      const e = err instanceof UserError ? err : undefined;
      const check: CheckResult = {
        id: 'azure.cluster',
        group: 'azure',
        title: `AKS cluster ${ref.name}`,
        status: 'fail',
        evidence: [err instanceof Error ? err.message : String(err)],
        ...(e?.cause ? { cause: e.cause } : { cause: 'the cluster could not be read' }),
        ...(e?.fix ? { fix: e.fix } : {}),
      };
      return { checks: [check], verified: false, failedChecks: [check.id] };
    });
    const resources = section.build().resources;
    return { ref, outcome, verdict: verdictOf(outcome.checks, outcome.failedChecks), resources };
  });

  return report(ctx, results);
}

function report(ctx: TaskContext, results: ClusterOutcome[]): VerifyOutcome {
  for (const r of results) {
    ctx.section(`Verification results: ${r.ref.name} (${r.verdict})`);
    for (const c of r.outcome.checks) logCheck(ctx, c, `[${r.ref.name}] `);
    ctx.report.cluster({
      name: r.ref.name,
      resourceGroup: r.ref.resourceGroup,
      verdict: r.verdict,
      checks: r.outcome.checks.map(reportedCheck),
      ...(r.resources.length ? { resources: r.resources } : {}),
    });
  }
  // The run's own checks: one per cluster, so the summary and the result name the clusters.
  for (const r of results) ctx.report.check(summaryCheck(r));

  const failed = results.filter((r) => r.verdict === 'fail');
  const passed = results.filter((r) => r.verdict !== 'fail');
  const failedChecks = failed.flatMap((r) => r.outcome.failedChecks.map((id) => `${r.ref.name}/${id}`));
  ctx.setOutput('verified', String(failed.length === 0));
  ctx.setOutput('failedChecks', failedChecks.join(','));
  ctx.setOutput('failedClusters', failed.map((r) => r.ref.name).join(','));
  ctx.setOutput('verifiedClusters', passed.map((r) => r.ref.name).join(','));
  ctx.setOutput('clusterResults', JSON.stringify(Object.fromEntries(results.map((r) => [r.ref.name, r.verdict]))));
  for (const r of results) ctx.setOutput(`verified_${outputSuffix(r.ref.name)}`, String(r.verdict !== 'fail'));
  ctx.setOutput('reportPath', ctx.reportPath);

  ctx.section('Fleet');
  for (const r of results) ctx.log.info(`${r.verdict.toUpperCase().padEnd(4)} ${r.ref.name} (${r.ref.resourceGroup})`);
  if (failed.length > 0) {
    const named = failed.map((r) => {
      const titles = r.outcome.checks.filter((c) => r.outcome.failedChecks.includes(c.id)).map((c) => c.title);
      return `${r.ref.name} (${titles.slice(0, 4).join('; ')}${titles.length > 4 ? `; ${titles.length - 4} more` : ''})`;
    });
    throw new UserError(
      `${failed.length} of ${results.length} clusters failed verification: ${named.join(', ')}. Verified: ${passed.map((r) => r.ref.name).join(', ') || 'none'}.`,
      {
        code: 'FleetVerifyFailed',
        fix: "see each failed cluster's section of the report for the cause and the fix",
      },
    );
  }
  const checks = results.flatMap((r) => r.outcome.checks);
  return { checks, verified: true, failedChecks: [] };
}
