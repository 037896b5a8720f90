/**
 * The emulated Azure Resource Manager (host `arm`): authentication with Entra access tokens, the
 * subscription lookup, api-version checks per resource type (./api-versions.ts), routing to the
 * resource providers and to what ARM serves itself (./resources.ts), and the ARM headers on every
 * answer.
 *
 * Order of the checks, as ARM's front door answers (learn.microsoft.com/azure/azure-resource-manager/
 * troubleshooting/common-deployment-errors): authentication (401), an unknown subscription (404
 * SubscriptionNotFound, before any authorization: the subscription is not there to authorize
 * against), a missing or unsupported api-version (400), an unknown resource type (404), then the
 * provider's own checks (authorization 403, validation 400, not found 404, conflicts 409/412).
 */
import type { CloudContext } from '../../core/context';
import { HttpError, type EmuResponse, type Handler } from '../../core/host';
import { ARM_AUDIENCES } from '../tokens';
import { createAksOperations } from './aks';
import { createAuthorizationOperations } from './authorization';
import { checkApiVersion, resourceTypeOf } from './api-versions';
import { ArmError, armHeaders, eqi, matchPath, type ArmCall } from './common';
import { createMsiOperations } from './msi';
import { createResourceOperations, metadataEndpoints } from './resources';

interface Route {
  method: string;
  pattern: string;
  handle: (call: ArmCall) => Promise<EmuResponse>;
}

export function createArmHandler(ctx: CloudContext): Handler {
  const msi = createMsiOperations();
  const aks = createAksOperations();
  const routes: Route[] = [
    ...createResourceOperations().routes,
    ...msi.routes,
    ...aks.routes,
    ...createAuthorizationOperations().routes,
  ];
  ctx.clock.onAdvance(() => aks.settleAll(ctx));

  /** The location an api-version error names: the body's, else the resource group's, else the first one. */
  function locationOf(req: Parameters<Handler>[0]): string {
    try {
      const body = req.body.length ? (JSON.parse(req.text()) as { location?: unknown }) : {};
      if (typeof body.location === 'string') return body.location.replace(/\s+/g, '').toLowerCase();
    } catch {
      /* not JSON: the provider's own check answers that */
    }
    const m = /\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)/i.exec(req.path);
    const sub = m ? ctx.state.azure.subscriptions.find((s) => eqi(s.id, decodeURIComponent(m[1]!))) : undefined;
    const rg = sub?.resourceGroups.find((r) => eqi(r.name, decodeURIComponent(m![2]!)));
    return rg?.location ?? 'eastus';
  }

  async function serve(req: Parameters<Handler>[0]): Promise<EmuResponse> {
    if (req.method === 'GET' && matchPath('/metadata/endpoints', req.path))
      return { status: 200, body: metadataEndpoints(ctx.urls.entra), write: false };
    const token = req.bearer();
    if (!token)
      throw new ArmError(401, 'AuthenticationFailed', "Authentication failed. The 'Authorization' header is missing.");
    const check = ctx.entra.verifyAccessToken(token, ARM_AUDIENCES);
    if (!check.ok) throw new ArmError(check.status, check.code, check.message);

    const subId = /^\/subscriptions\/([^/]+)/i.exec(req.path)?.[1];
    if (subId && !ctx.state.azure.subscriptions.some((s) => eqi(s.id, decodeURIComponent(subId)))) {
      throw new ArmError(
        404,
        'SubscriptionNotFound',
        `The subscription '${decodeURIComponent(subId)}' could not be found.`,
      );
    }

    const apiVersion = req.url.searchParams.get('api-version');
    if (!apiVersion)
      throw new ArmError(
        400,
        'MissingApiVersionParameter',
        'The api-version query parameter (?api-version=) is required for all requests.',
      );

    const candidates = routes.map((r) => ({ r, params: matchPath(r.pattern, req.path) })).filter((x) => x.params);
    if (candidates.length === 0) {
      throw new ArmError(
        404,
        'InvalidResourceType',
        `The emulated Azure Resource Manager has no resource at '${req.path}'.`,
      );
    }
    checkApiVersion(resourceTypeOf(req.path), apiVersion, () => locationOf(req));
    const hit = candidates.find((x) => x.r.method === req.method);
    if (!hit)
      throw new ArmError(
        405,
        'MethodNotAllowed',
        `The requested resource does not support http method '${req.method}'.`,
      );
    return hit.r.handle({ ctx, req, azure: ctx.state.azure, apiVersion, caller: check.claims, params: hit.params! });
  }

  return async (req) => {
    const headers = armHeaders(req, !['GET', 'HEAD', 'OPTIONS'].includes(req.method));
    try {
      const r = await serve(req);
      return { ...r, headers: { ...headers, ...(r.headers ?? {}) } };
    } catch (e) {
      if (e instanceof HttpError) throw new HttpError(e.status, e.body, { ...headers, ...e.headers });
      throw e;
    }
  };
}
