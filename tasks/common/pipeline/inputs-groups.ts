/**
 * Input groups more than one task reads the same way (the Azure connection, the Flux service
 * accounts and namespace, the Azure DevOps repository and team), so each group has one spelling of
 * its names, labels, defaults and rules. Each reader throws `InputError` naming the input and the fix.
 */
import { PipelineVariables, readConnection, readList, readString, readUrl } from './inputs';
import { NAME_RULES, SERVICE_ACCOUNT_ITEMS } from './names';
import type { Platform } from './platform';

export const DEFAULT_SERVICE_ACCOUNTS = ['source-controller', 'image-automation-controller'] as const;
export const DEFAULT_TEAM = 'AKS Managed Identities Team';

/** `azureSubscription`: the Azure Resource Manager service connection (required). */
export function readAzureSubscription(p: Platform): string {
  return readConnection(p, { name: 'azureSubscription', label: 'Azure Resource Manager connection', required: true });
}

/** `fluxNamespace` (default flux-system) and `serviceAccounts` (required), in that order. */
export function readFluxAccounts(p: Platform): { fluxNamespace: string; serviceAccounts: string[] } {
  const fluxNamespace = readString(p, {
    name: 'fluxNamespace',
    label: 'Flux namespace',
    default: 'flux-system',
    ...NAME_RULES.namespace,
  });
  return { fluxNamespace, serviceAccounts: readServiceAccounts(p, true) };
}

/** `serviceAccounts`: Flux's controllers' service accounts (at most 20), default source- and image-automation-controller. */
export function readServiceAccounts(p: Platform, required: boolean): string[] {
  return readList(p, {
    name: 'serviceAccounts',
    label: 'Flux service accounts',
    default: DEFAULT_SERVICE_ACCOUNTS,
    ...(required ? { required } : {}),
    maxItems: 20,
    ...SERVICE_ACCOUNT_ITEMS,
  });
}

/** The Azure DevOps repository Flux reads, and the connection that reaches it. */
export interface DevOpsRepositoryInputs {
  /** The input whose connection is used for Azure DevOps (devopsConnection, or azureSubscription). */
  devopsConnectionInput: string;
  organizationUrl: string;
  project: string;
  repository: string;
}

/** devopsConnection, organizationUrl, project and repository; the last three default to the pipeline's own. */
export function readDevOpsRepository(p: Platform): DevOpsRepositoryInputs {
  const devopsConnection = readConnection(p, { name: 'devopsConnection', label: 'Azure DevOps connection' });
  const organizationUrl = readUrl(p, {
    name: 'organizationUrl',
    label: 'Organization URL',
    defaultFromVariable: PipelineVariables.collectionUri,
    required: true,
    example: 'https://dev.azure.com/contoso',
  });
  const project = readString(p, {
    name: 'project',
    label: 'Project',
    defaultFromVariable: PipelineVariables.teamProject,
    required: true,
    maxLength: 64,
  });
  const repository = readString(p, {
    name: 'repository',
    label: 'Repository',
    defaultFromVariable: PipelineVariables.repositoryName,
    required: true,
    maxLength: 256,
  });
  return {
    devopsConnectionInput: devopsConnection ? 'devopsConnection' : 'azureSubscription',
    organizationUrl,
    project,
    repository,
  };
}

/** `teamName`: the Azure DevOps team the identity joins, default AKS Managed Identities Team. */
export function readTeamName(p: Platform): string {
  return readString(p, { name: 'teamName', label: 'Team', default: DEFAULT_TEAM, ...NAME_RULES.team });
}
