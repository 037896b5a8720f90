/**
 * The emulated Azure Resource Manager (host `arm`): authentication with Entra access tokens,
 * api-version checks, routing to the resource providers, and the ARM headers on every answer.
 */
import type { CloudContext } from '../../core/context';
import { HttpError, type EmuResponse, type Handler } from '../../core/host';
import { ARM_AUDIENCES } from '../tokens';
import { createAksOperations } from './aks';
import { ArmError, armHeaders, matchPath, type ArmCall } from './common';
import { createMsiOperations } from './msi';

interface Route {
  method: string;
  pattern: string;
  handle: (call: ArmCall) => Promise<EmuResponse>;
}

const API_VERSION = /^\d{4}-\d{2}-\d{2}(-preview)?$/;

export function createArmHandler(ctx: CloudContext): Handler {
  const msi = createMsiOperations();
  const aks = createAksOperations();
  const routes: Route[] = [...msi.routes, ...aks.routes];
  ctx.clock.onAdvance(() => aks.settleAll(ctx));

  async function serve(req: Parameters<Handler>[0]): Promise<EmuResponse> {
    const token = req.bearer();
    if (!token)
      throw new ArmError(401, 'AuthenticationFailed', "Authentication failed. The 'Authorization' header is missing.");
    const check = ctx.entra.verifyAccessToken(token, ARM_AUDIENCES);
    if (!check.ok) throw new ArmError(check.status, check.code, check.message);

    const candidates = routes.map((r) => ({ r, params: matchPath(r.pattern, req.path) })).filter((x) => x.params);
    if (candidates.length === 0) {
      throw new ArmError(
        404,
        'InvalidResourceType',
        `The emulated Azure Resource Manager has no resource at '${req.path}'.`,
      );
    }
    const hit = candidates.find((x) => x.r.method === req.method);
    if (!hit)
      throw new ArmError(
        405,
        'MethodNotAllowed',
        `The requested resource does not support http method '${req.method}'.`,
      );

    const apiVersion = req.url.searchParams.get('api-version');
    if (!apiVersion)
      throw new ArmError(
        400,
        'MissingApiVersionParameter',
        'The api-version query parameter (?api-version=) is required for all requests.',
      );
    if (!API_VERSION.test(apiVersion)) {
      throw new ArmError(
        400,
        'InvalidApiVersionParameter',
        `The api-version '${apiVersion}' is invalid. The supported versions have the form 'YYYY-MM-DD' or 'YYYY-MM-DD-preview'.`,
      );
    }
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
