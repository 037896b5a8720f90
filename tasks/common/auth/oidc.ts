/**
 * The pipeline's OIDC token for a service connection: POST {System.OidcRequestUri}
 * ?api-version=7.1&serviceConnectionId=<id> with the job's access token. Called once per token
 * exchange (ClientAssertionCredential's callback): the token lives ~10 minutes, so it is never
 * cached. Each token is registered as a secret before it is returned.
 */
import {
  createDefaultHttpClient,
  createHttpHeaders,
  createPipelineFromOptions,
  createPipelineRequest,
  type PipelineResponse,
} from '@azure/core-rest-pipeline';
import { useRetryPolicy } from '../http/azure';
import { RetryPolicy } from '../http/retry';
import { UserError } from '../errors';
import { proxySettingsFor } from './proxy';
import type { AuthEnvironment } from './types';

/** The Azure DevOps error body's message, if any (`{"message": "...", "typeKey": "..."}`). */
function devopsMessage(body: string | undefined): string | undefined {
  if (!body) return undefined;
  try {
    const j = JSON.parse(body) as { message?: unknown };
    if (typeof j.message === 'string') return j.message;
  } catch {
    // not JSON: fall through to the raw text
  }
  const text = body.replace(/\s+/g, ' ').trim();
  return text ? text.slice(0, 300) : undefined;
}

/** What each refusal of the OIDC endpoint means for the user. */
const FAILURES: Record<number, { code: string; cause: string; fix: string }> = {
  401: {
    code: 'OidcTokenUnauthorized',
    cause:
      "the job access token (System.AccessToken) was rejected: it has expired (the job ran past its token lifetime) or is not this job's token",
    fix: 're-run the job; if the task runs late in a long job, move it earlier or raise the job timeout; do not pass a stale or personal token as SYSTEM_ACCESSTOKEN',
  },
  403: {
    code: 'OidcTokenForbidden',
    cause: 'this pipeline is not allowed to use the service connection',
    fix: 'in Project settings > Service connections > (the connection) > Security, grant this pipeline access (or approve the pending permission request on the run)',
  },
  404: {
    code: 'OidcTokenNotFound',
    cause: 'Azure DevOps does not know this service connection in this project, or the job is no longer running',
    fix: 'check that the task input names a service connection of this project (Project settings > Service connections)',
  },
  400: {
    code: 'OidcTokenBadRequest',
    cause: 'Azure DevOps refused to issue a token for this connection',
    fix: 'check that the service connection uses workload identity federation and that its verification succeeds (Service connections > Verify)',
  },
};

function failure(status: number, body: string | undefined, connectionId: string): UserError {
  const server = devopsMessage(body);
  const said = server ? ` Azure DevOps said: ${server}` : '';
  const base = `The pipeline's OIDC token request for service connection ${connectionId} failed with HTTP ${status}.${said}`;
  return new UserError(
    base,
    FAILURES[status] ?? {
      code: 'OidcTokenFailed',
      fix: 'retry the run; if it persists, check the Azure DevOps status page',
    },
  );
}

/**
 * Remembers the last error a token source threw. @azure/identity turns an assertion callback's
 * error into an AuthenticationRequiredError carrying only the message, which loses the cause and
 * fix; `FederatedCredential` rethrows the remembered UserError instead.
 */
export function withFailureMemo(source: () => Promise<string>): {
  source: () => Promise<string>;
  takeFailure: () => unknown;
} {
  let failure: unknown;
  return {
    source: async () => {
      try {
        return await source();
      } catch (err) {
        failure = err;
        throw err;
      }
    },
    takeFailure: () => {
      const f = failure;
      failure = undefined;
      return f;
    },
  };
}

/**
 * Returns a function that fetches a fresh OIDC token each time it is called. Transient failures
 * (429, 5xx, resets) are retried under the retry policy; others become a UserError that says what to check.
 */
export function fetchOidcToken(
  env: AuthEnvironment,
  connectionId: string,
  oidcRequestUri: string,
): () => Promise<string> {
  const url = new URL(oidcRequestUri);
  url.searchParams.set('api-version', '7.1');
  url.searchParams.set('serviceConnectionId', connectionId);
  const target = url.toString();
  const proxyOptions = proxySettingsFor(env.proxy, target);
  // The pipeline retries in its Retry phase with the one policy (logged, Retry-After honoured,
  // the run's clock) in the place of the SDK's: transient answers (429, 5xx, resets) are retried
  // there; what is left is an answer to read below.
  const pipeline = createPipelineFromOptions(proxyOptions ? { proxyOptions } : {});
  useRetryPolicy(pipeline, env.retry ?? new RetryPolicy({ log: env.log }));
  const client = env.httpClient ?? createDefaultHttpClient();

  return async () => {
    const token = env.systemAccessToken();
    env.log.secret(token);
    const request = createPipelineRequest({
      url: target,
      method: 'POST',
      headers: createHttpHeaders({
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
        accept: 'application/json',
      }),
      body: '{}',
    });
    const response: PipelineResponse = await pipeline
      .sendRequest(client, request)
      .then((res) => {
        // A non-2xx answer left after the retries becomes a UserError that says what to check.
        if (res.status < 200 || res.status > 299) throw failure(res.status, res.bodyAsText ?? undefined, connectionId);
        return res;
      })
      .catch((err: unknown) => {
        if (err instanceof UserError) throw err;
        throw new UserError(
          `The pipeline's OIDC token request for service connection ${connectionId} could not reach ${url.origin}: ${err instanceof Error ? err.message : String(err)}`,
          {
            code: 'OidcTokenUnreachable',
            inner: err,
            fix: "check the agent's network, proxy and TLS trust (the agent must reach the Azure DevOps organization; a TLS-inspecting proxy's CA goes in NODE_EXTRA_CA_CERTS)",
          },
        );
      });
    let oidcToken: unknown;
    try {
      oidcToken = (JSON.parse(response.bodyAsText ?? '') as { oidcToken?: unknown }).oidcToken;
    } catch {
      oidcToken = undefined;
    }
    if (typeof oidcToken !== 'string' || oidcToken === '') {
      throw new UserError(
        `The pipeline's OIDC token request for service connection ${connectionId} returned no token (HTTP ${response.status}).`,
        {
          code: 'OidcTokenMissing',
          cause: 'the response has no oidcToken field',
          fix: 'check that System.OidcRequestUri points at Azure DevOps (the agent sets it; do not override it)',
        },
      );
    }
    env.log.secret(oidcToken);
    return oidcToken;
  };
}
