/**
 * FluxOidcVerify: wires the service connections to the verifier in common/verify, then turns its
 * checks into the report, the log, the output variables and the result.
 */
import { proxySettingsFor } from '../auth/proxy';
import type { AzureConnection } from '../auth/types';
import { createArmClients } from '../azure/clients';
import { clusterKubeconfig } from '../azure/kubeconfig';
import { devopsTokenFor } from '../devops/connection';
import { useProxy } from '../devops/raw';
import { serviceConnectionHolder } from '../devops/errors';
import type { KubeSource } from '../kube/connection';
import type { TaskContext } from '../pipeline/task';
import { UserError } from '../errors';
import type { ReportCheck } from '../report/model';
import type { CheckResult, VerifyTarget } from './model';
import { verifyFleet } from './run-fleet';
import { runVerify, type VerifyOptions, type VerifyOutcome } from './verify';
import type { ArmClients } from '../azure/clients';
import type { DevOpsConnection } from '../devops/connection';
import type { VerifyInputs } from '../../FluxOidcVerify/inputs';

export interface VerifyTaskOptions {
  userAgent: string;
}

export function principalOf(c: AzureConnection): string {
  return c.name ? `${c.name} (${c.clientId})` : c.clientId;
}

/** A check as the report records it (evidence lines joined; cause and fix only when there are some). */
export function reportedCheck(c: CheckResult): ReportCheck {
  return {
    id: c.id,
    title: c.title,
    status: c.status,
    evidence: c.evidence.join('\n'),
    ...(c.cause ? { cause: c.cause } : {}),
    ...(c.fix ? { fix: c.fix } : {}),
  };
}

/** runVerify's options for one cluster, from the task's inputs (single cluster and fleet alike). */
export function verifyOptions(inputs: VerifyInputs, target: VerifyTarget, plan: boolean): VerifyOptions {
  return {
    target,
    groups: inputs.groups,
    reconcile: inputs.reconcile,
    plan,
    timeoutSeconds: inputs.timeoutSeconds,
    failOn: inputs.failOn,
    retireStaticCredentials: inputs.retireStaticCredentials,
  };
}

export const MARK: Record<CheckResult['status'], string> = { pass: 'PASS', warn: 'WARN', fail: 'FAIL', skip: 'SKIP' };

export function logCheck(ctx: Pick<TaskContext, 'log'>, c: CheckResult, prefix = ''): void {
  ctx.log.info(`${prefix}[${MARK[c.status]}] ${c.title}: ${c.evidence.join('; ')}`);
  if (c.cause) ctx.log.info(`${prefix}       cause: ${c.cause}`);
  if (c.fix) ctx.log.info(`${prefix}       fix: ${c.fix}`);
}

/** How one cluster is reached: the Azure DevOps connection (shared) and the cluster's API server. */
export function verifyServices(
  ctx: TaskContext,
  inputs: VerifyInputs,
  azure: AzureConnection,
  arm: ArmClients,
): { devops: () => Promise<DevOpsConnection>; kube: (target: VerifyTarget) => Promise<KubeAccess> } {
  // The task context's connector keeps one connection per organization and holder for the run.
  const devops = async (): Promise<DevOpsConnection> => {
    const conn =
      inputs.devopsConnectionInput === 'azureSubscription'
        ? azure
        : await ctx.azureConnection(inputs.devopsConnectionInput);
    // Errors name the connection's principal and the input that chose it (devopsConnection or azureSubscription).
    const holder = serviceConnectionHolder(principalOf(conn), inputs.devopsConnectionInput);
    useProxy(ctx.platform.proxy());
    return ctx.devops({ orgUrl: inputs.target.organizationUrl, token: () => devopsTokenFor(conn, ctx.log), holder });
  };

  const kube = async (target: VerifyTarget): Promise<KubeAccess> => {
    // Loaded here, not at start: @kubernetes/client-node is most of the bundle's start-up work.
    const [{ KubeClient }, { buildKubeConfig, kubeSourceFromEndpoint }] = await Promise.all([
      import('../kube/client'),
      import('../kube/connection'),
    ]);
    let source: KubeSource;
    if (inputs.kubernetesServiceConnection) {
      const ep = ctx.platform.endpoint(inputs.kubernetesServiceConnection);
      if (!ep)
        throw new UserError('The Kubernetes service connection is not available to this job.', {
          code: 'KubeEndpoint',
          fix: 'authorize the pipeline to use it',
        });
      source = kubeSourceFromEndpoint(ep);
    } else {
      const kubeconfig = await clusterKubeconfig(
        arm,
        target.resourceGroup,
        target.clusterName,
        inputs.clusterCredentials,
      );
      source = {
        kind: 'kubeconfig',
        kubeconfig,
        origin: `AKS ${inputs.clusterCredentials} credentials of ${target.clusterName}`,
      };
    }
    const built = await buildKubeConfig(source, { log: ctx.log, credential: azure.credential });
    return {
      client: new KubeClient(built.kc, ctx.retry),
      description: `${built.server} with ${built.auth}`,
      serviceConnection: !!inputs.kubernetesServiceConnection,
    };
  };
  return { devops, kube };
}

export interface KubeAccess {
  client: import('../kube/client').KubeClient;
  description: string;
  /** Reached through a Kubernetes service connection (not the AKS credentials). */
  serviceConnection: boolean;
}

export async function verifyTask(
  ctx: TaskContext,
  inputs: VerifyInputs,
  options: VerifyTaskOptions,
): Promise<VerifyOutcome> {
  if (inputs.fleet) return verifyFleet(ctx, inputs, inputs.fleet, options);
  const plan = ctx.mode === 'plan';
  const azure = await ctx.azureConnection('azureSubscription');
  const target = { ...inputs.target, subscriptionId: azure.subscriptionId };
  const arm = createArmClients(azure, { log: ctx.log, userAgent: options.userAgent, retry: ctx.retry });
  const services = verifyServices(ctx, inputs, azure, arm);
  const devops = services.devops;
  const kube = () => services.kube(target);

  if (plan) ctx.log.info('Plan mode: every check runs; no reconcile is requested and nothing is deleted.');
  const proxyOptions = proxySettingsFor(ctx.platform.proxy(), azure.cloud.authorityHost);
  const outcome = await runVerify(verifyOptions(inputs, target, plan), {
    log: ctx.log,
    report: ctx.report,
    arm,
    devops,
    kube,
    authorityHost: azure.cloud.authorityHost,
    retry: ctx.retry,
    connectionTenantId: azure.tenantId,
    ...(proxyOptions ? { proxyOptions } : {}),
    group: (title, fn) => ctx.group(title, fn),
  });

  ctx.section('Verification results');
  for (const c of outcome.checks) {
    logCheck(ctx, c);
    ctx.report.check(reportedCheck(c));
  }

  ctx.setOutput('verified', String(outcome.verified));
  ctx.setOutput('failedChecks', outcome.failedChecks.join(','));
  // The run report (the fluxoidc-report attachment), written by runTask once the run ends.
  ctx.setOutput('reportPath', ctx.reportPath);

  const warned = outcome.checks.filter((c) => c.status === 'warn');
  if (!outcome.verified && inputs.failOn === 'warning' && outcome.checks.every((c) => c.status !== 'fail')) {
    throw new UserError(
      `${warned.length} check${warned.length === 1 ? '' : 's'} warned and failOn is warning: ${warned.map((c) => c.title).join('; ')}.`,
      {
        code: 'VerifyWarnings',
        fix: 'fix the warnings (see the report), or set failOn: error',
      },
    );
  }
  return outcome;
}
