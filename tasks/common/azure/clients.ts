/**
 * The ARM clients this product uses (AKS and managed identities), configured from the resolved
 * AzureRM service connection: its cloud's Resource Manager URL and ARM scope (so sovereign and
 * custom clouds, and the emulator, work) and the one retry policy in the place of the SDK's own
 * (http/azure.ts): 429 with Retry-After, 5xx, connection resets, one log line per retry.
 */
import { ContainerServiceClient } from '@azure/arm-containerservice';
import { ManagedServiceIdentityClient } from '@azure/arm-msi';
import type { TokenCredential } from '@azure/identity';
import { useRetryPolicy } from '../http/azure';
import { RetryPolicy } from '../http/retry';
import type { AzureCloud } from '../auth/types';
import type { Logger } from '../log';

/** What the ARM clients need from an AzureConnection (auth/types.ts). */
export interface ArmTarget {
  credential: TokenCredential;
  subscriptionId: string;
  cloud: Pick<AzureCloud, 'resourceManagerUrl' | 'armScope'>;
}

export interface ArmClients {
  aks: ContainerServiceClient;
  msi: ManagedServiceIdentityClient;
  subscriptionId: string;
}

export interface ArmClientOptions {
  log: Logger;
  /** Prefix for the User-Agent header (e.g. "FluxOidcProvision/1.0.0"). */
  userAgent?: string;
  /** The run's retry policy; it takes the place of the SDK's retry in both clients' pipelines. */
  retry?: RetryPolicy;
}

export function createArmClients(target: ArmTarget, options: ArmClientOptions): ArmClients {
  const endpoint = target.cloud.resourceManagerUrl.replace(/\/+$/, '');
  const scope = target.cloud.armScope;
  const userAgentOptions = options.userAgent ? { userAgentPrefix: options.userAgent } : undefined;
  const aks = new ContainerServiceClient(target.credential, target.subscriptionId, {
    endpoint,
    credentials: { scopes: [scope] },
    userAgentOptions,
  });
  const msi = new ManagedServiceIdentityClient(target.credential, target.subscriptionId, {
    endpoint,
    credentialScopes: [scope],
    userAgentOptions,
  });
  const policy = options.retry ?? new RetryPolicy({ log: options.log });
  useRetryPolicy(aks.pipeline, policy);
  useRetryPolicy(msi.pipeline, policy);
  return { aks, msi, subscriptionId: target.subscriptionId };
}
