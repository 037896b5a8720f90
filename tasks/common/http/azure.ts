/**
 * The one retry policy inside Azure SDK pipelines (@azure/core-rest-pipeline).
 *
 * An ARM client's pipeline (and the pipeline of the OIDC token request) retries in its "Retry"
 * phase: `useRetryPolicy` swaps the SDK's policy there for ours, with the same semantics (429 with
 * Retry-After, 5xx, resets; every method, as the SDK does: ARM writes are idempotent PUTs) plus a
 * log line per retry, a time budget and the injectable clock. Each attempt still passes through
 * the phases after Retry (Sign: a token that expired mid-run is fetched again). The SDK's policy
 * is not "off": it is replaced, so requests are never retried twice.
 *
 * @azure/identity's credentials do not expose their pipeline: `retryingHttpClient` runs each of
 * their HTTP calls under the policy, and their own retry is given zero retries (`credentialRetry`)
 * so that a token request is not retried by both layers (6 x 4 attempts).
 */
import {
  createDefaultHttpClient,
  RestError,
  type HttpClient,
  type Pipeline,
  type PipelinePolicy,
  type PipelineRequest,
  type PipelineResponse,
} from '@azure/core-rest-pipeline';
import type { RetryPolicy } from './retry';

/** Thrown inside the policy for a retryable answer; unwrapped to the answer when the policy gives up. */
class RetryableResponse extends RestError {
  constructor(readonly answer: PipelineResponse) {
    super(`HTTP ${answer.status}`, { statusCode: answer.status, request: answer.request, response: answer });
  }
}

/** "PUT https://host/path" without the query (api-version and friends are noise in the log). */
export function requestLabel(req: Pick<PipelineRequest, 'method' | 'url'>): string {
  const u = new URL(req.url);
  return `${req.method} ${u.origin}${u.pathname}`;
}

async function send(
  policy: RetryPolicy,
  req: PipelineRequest,
  next: (req: PipelineRequest) => Promise<PipelineResponse>,
): Promise<PipelineResponse> {
  try {
    return await policy.run(requestLabel(req), async () => {
      const res = await next(req);
      const answer = new RetryableResponse(res);
      if (policy.options.retryOn(answer)) throw answer;
      return res;
    });
  } catch (err) {
    // Out of attempts or budget on an answer: hand it back, the SDK turns it into its usual error.
    if (err instanceof RetryableResponse) return err.answer;
    throw err;
  }
}

export function retryPipelinePolicy(policy: RetryPolicy): PipelinePolicy {
  return { name: 'fluxOidcRetryPolicy', sendRequest: (req, next) => send(policy, req, next) };
}

/** Replaces the SDK's retry policies in `pipeline` by the one policy. */
export function useRetryPolicy(pipeline: Pipeline, policy: RetryPolicy): void {
  pipeline.removePolicy({ phase: 'Retry' });
  pipeline.addPolicy(retryPipelinePolicy(policy), { phase: 'Retry' });
}

/** An HttpClient whose every request runs under the policy (for clients whose pipeline is not reachable). */
export function retryingHttpClient(policy: RetryPolicy, inner: HttpClient = createDefaultHttpClient()): HttpClient {
  return { sendRequest: (req) => send(policy, req, (r) => inner.sendRequest(r)) };
}

/** The retry options for an @azure/identity credential whose HTTP client is `retryingHttpClient`. */
export const credentialRetry = { maxRetries: 0 } as const;
