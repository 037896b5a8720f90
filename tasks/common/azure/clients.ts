/**
 * The ARM clients this product uses (AKS and managed identities), configured from the resolved
 * AzureRM service connection: its cloud's Resource Manager URL and ARM scope (so sovereign and
 * custom clouds, and the emulator, work) and the SDK's own retry (429 with Retry-After, 5xx,
 * connection resets). A small per-attempt policy logs what was retried, which the SDK does not.
 */
import { ContainerServiceClient } from '@azure/arm-containerservice';
import { ManagedServiceIdentityClient } from '@azure/arm-msi';
import type { TokenCredential } from '@azure/identity';
import type { Pipeline } from '@azure/core-rest-pipeline';
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
  /** SDK retry tuning; the defaults retry 4 times with exponential backoff up to 30 s. */
  retry?: { maxRetries?: number; retryDelayInMs?: number; maxRetryDelayInMs?: number };
}

const RETRIED = new Set([408, 429, 500, 502, 503, 504]);

/**
 * Logs each attempt that came back with a status the SDK's retry policies will retry, so the run
 * log says what was retried and why. Placed after the retry phase: it sees every attempt.
 */
function addRetryLogging(pipeline: Pipeline, log: Logger): void {
  pipeline.addPolicy(
    {
      name: 'fluxOidcRetryLogging',
      async sendRequest(req, next) {
        const res = await next(req);
        if (RETRIED.has(res.status)) {
          const after = res.headers.get('retry-after');
          const path = new URL(req.url).pathname;
          log.info(
            `ARM answered ${res.status} to ${req.method} ${path}${after ? ` (Retry-After ${after} s)` : ''}; retrying.`,
          );
        }
        return res;
      },
    },
    { afterPhase: 'Retry' },
  );
}

export function createArmClients(target: ArmTarget, options: ArmClientOptions): ArmClients {
  const endpoint = target.cloud.resourceManagerUrl.replace(/\/+$/, '');
  const scope = target.cloud.armScope;
  const retryOptions = { maxRetries: 4, retryDelayInMs: 1000, maxRetryDelayInMs: 30_000, ...options.retry };
  const userAgentOptions = options.userAgent ? { userAgentPrefix: options.userAgent } : undefined;
  const aks = new ContainerServiceClient(target.credential, target.subscriptionId, {
    endpoint,
    credentials: { scopes: [scope] },
    retryOptions,
    userAgentOptions,
  });
  const msi = new ManagedServiceIdentityClient(target.credential, target.subscriptionId, {
    endpoint,
    credentialScopes: [scope],
    retryOptions,
    userAgentOptions,
  });
  addRetryLogging(aks.pipeline, options.log);
  addRetryLogging(msi.pipeline, options.log);
  return { aks, msi, subscriptionId: target.subscriptionId };
}
