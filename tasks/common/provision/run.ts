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
import { createArmClients } from '../azure/clients';
import { type ClusterRef } from '../azure/cluster';
import { type IdentityRef } from '../azure/identity';
import { runSteps, type Preflight, type Step } from '../plan';
import type { ProvisionInputs } from '../../FluxOidcProvision/inputs';
import { principalName, started, type ProvisionContext, type ProvisionOptions, type Facts } from './model';
import { clusterStep, identityStep, credentialSteps } from './azure-steps';
import { openDevOps, devopsSteps } from './devops-steps';
import {
  clusterFeaturesCheck,
  credentialBudgetCheck,
  denyCheck,
  fluxInputsCheck,
  leastPrivilegeCheck,
} from './preflight';
export { TEAM_DESCRIPTION, type ProvisionContext, type ProvisionOptions } from './model';

export async function provision(
  ctx: ProvisionContext,
  inputs: ProvisionInputs,
  options: ProvisionOptions = {},
): Promise<void> {
  const { log } = ctx;
  const retry = ctx.retry;
  const azure = await ctx.azureConnection('azureSubscription');
  const armPrincipal = principalName(azure, 'azureSubscription');
  const clients = createArmClients(azure, { log, userAgent: options.userAgent, retry });
  const facts: Facts = { credentialNames: new Map() };
  const clusterRef: ClusterRef = { resourceGroup: inputs.resourceGroup, name: inputs.clusterName };
  const identityRef: IdentityRef = { resourceGroup: inputs.identityResourceGroup, name: inputs.identityName };

  const steps: Step<unknown>[] = [
    clusterStep(clients, clusterRef, inputs, facts, { log, principal: armPrincipal, retry }),
    identityStep(clients, identityRef, inputs, facts, { log, principal: armPrincipal, retry }),
    ...credentialSteps(clients, identityRef, inputs, facts, {
      log,
      principal: armPrincipal,
      retry,
    }),
  ] as Step<unknown>[];
  const preflight: Preflight[] = [
    clusterFeaturesCheck(inputs),
    credentialBudgetCheck(inputs),
    fluxInputsCheck(clients, azure, inputs, log),
  ];

  if (inputs.configureDevOps) {
    // Independent of the Azure steps: opened while they observe (a failure surfaces at the first Azure DevOps step).
    const session = started(() => openDevOps(ctx, inputs));
    steps.push(...(devopsSteps(session, inputs, facts, log, retry) as Step<unknown>[]));
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

// ------------------------------------------------------------------------------------ Azure DevOps
