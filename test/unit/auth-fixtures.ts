/** Shared by the auth tests: a fake Entra ID (+ OIDC endpoint), service endpoints and the auth environment. */
import {
  createHttpHeaders,
  type HttpClient,
  type PipelineRequest,
  type PipelineResponse,
} from '@azure/core-rest-pipeline';
import { MemoryLogger } from '../../tasks/common/log';
import type { AuthEnvironment, ServiceEndpoint } from '../../tasks/common/auth';
import { RetryPolicy } from '../../tasks/common/http/retry';

export const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
export const CLIENT = '11111111-2222-3333-4444-555555555555';
export const SUB = 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee';
export const SC = '9c0e1b4e-7a26-4b0a-9d3a-3c1e5d2f7a10';
export const OIDC_URI = 'https://dev.example/org/proj/_apis/distributedtask/hubs/build/plans/p1/jobs/j1/oidctoken';

export type Handler = (
  req: PipelineRequest,
  body: string,
) => { status: number; body?: unknown; headers?: Record<string, string> } | undefined;

/** A fake Entra ID (+ OIDC endpoint) behind core-rest-pipeline's HttpClient interface. */
export class FakeCloud implements HttpClient {
  readonly requests: { method: string; url: string; headers: Record<string, string>; body: string }[] = [];
  oidcStatus = 200;
  oidcCount = 0;
  constructor(private readonly extra: Handler = () => undefined) {}

  async sendRequest(req: PipelineRequest): Promise<PipelineResponse> {
    const body =
      typeof req.body === 'string' ? req.body : req.body instanceof URLSearchParams ? req.body.toString() : '';
    this.requests.push({ method: req.method, url: req.url, headers: req.headers.toJSON(), body });
    const r = this.extra(req, body) ?? this.handle(req, body);
    return {
      request: req,
      status: r.status,
      headers: createHttpHeaders({ 'content-type': 'application/json', ...r.headers }),
      bodyAsText: r.body === undefined ? '' : JSON.stringify(r.body),
    };
  }

  private handle(
    req: PipelineRequest,
    body: string,
  ): { status: number; body?: unknown; headers?: Record<string, string> } {
    const u = new URL(req.url);
    if (u.pathname.endsWith('/oidctoken')) {
      this.oidcCount++;
      if (this.oidcStatus !== 200)
        return {
          status: this.oidcStatus,
          body: { message: 'VS800075: The access token has expired.', typeKey: 'UnauthorizedRequestException' },
        };
      return { status: 200, body: { oidcToken: `oidc-jwt-${this.oidcCount}` } };
    }
    const m = /^\/([^/]+)\/v2\.0\/\.well-known\/openid-configuration$/.exec(u.pathname);
    if (m) {
      const base = `${u.origin}/${m[1]}`;
      return {
        status: 200,
        body: {
          token_endpoint: `${base}/oauth2/v2.0/token`,
          authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
          issuer: `${base}/v2.0`,
          jwks_uri: `${base}/discovery/v2.0/keys`,
          end_session_endpoint: `${base}/oauth2/v2.0/logout`,
        },
      };
    }
    if (u.pathname.endsWith('/oauth2/v2.0/token')) {
      const form = new URLSearchParams(body);
      if (form.get('client_secret') === 'wrong')
        return {
          status: 401,
          body: { error: 'invalid_client', error_description: 'AADSTS7000215: Invalid client secret provided.' },
        };
      return {
        status: 200,
        body: {
          token_type: 'Bearer',
          expires_in: 3600,
          ext_expires_in: 3600,
          access_token: `at-for-${form.get('scope')}`,
        },
      };
    }
    if (u.hostname === '169.254.169.254') {
      return {
        status: 200,
        body: {
          access_token: 'mi-token',
          expires_in: '3600',
          expires_on: String(Math.floor(Date.now() / 1000) + 3600),
          resource: u.searchParams.get('resource'),
          token_type: 'Bearer',
        },
      };
    }
    return { status: 404, body: { error: 'not_found' } };
  }

  tokenRequests(): URLSearchParams[] {
    return this.requests.filter((r) => r.url.includes('/oauth2/v2.0/token')).map((r) => new URLSearchParams(r.body));
  }
}

export function endpoint(
  scheme: string | undefined,
  auth: Record<string, string>,
  data: Record<string, string> = {},
  url?: string,
): ServiceEndpoint {
  const get = (bag: Record<string, string>) => (key: string) =>
    Object.entries(bag).find(([k]) => k.toLowerCase() === key.toLowerCase())?.[1];
  return {
    id: SC,
    ...(url ? { url } : {}),
    ...(scheme !== undefined ? { scheme } : {}),
    auth: get(auth),
    data: get({ subscriptionId: SUB, ...data }),
  };
}

export function env(http: FakeCloud, log = new MemoryLogger(), extra: Partial<AuthEnvironment> = {}): AuthEnvironment {
  return {
    log,
    httpClient: http,
    oidcRequestUri: OIDC_URI,
    systemAccessToken: () => 'job-access-token',
    retry: new RetryPolicy({ log, sleep: async () => {} }),
    ...extra,
  };
}
