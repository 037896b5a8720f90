/**
 * The emulated Azure: Entra ID (host `entra`) and Resource Manager (host `arm`), plus the
 * `ctx.entra` hook (access-token verification and directory lookups) other services use.
 */
import type { CloudContext } from '../core/context';
import type { ServiceSet } from '../core/service';
import { createArmHandler } from './arm';
import { findPrincipal, publicPrincipal } from './directory';
import { createEntraHandler } from './entra';
import { TokenService } from './tokens';

export { clusterIssuerUrl, clusterResourceId, findCluster, allClusters } from './clusters';
export { findPrincipal, identityResourceId } from './directory';
export { ARM_AUDIENCES, AKS_AAD_SERVER_APP_ID } from './tokens';

export function createAzureServices(ctx: CloudContext): ServiceSet {
  const tokens = new TokenService(() => ctx.urls.entra, ctx.clock);
  return {
    handlers: { entra: createEntraHandler(ctx, tokens), arm: createArmHandler(ctx) },
    hooks: {
      entra: {
        verifyAccessToken: (token, audience) => tokens.verify(token, audience, [ctx.state.azure.tenant.id]),
        principal: (id) => {
          const e = findPrincipal(ctx.state.azure, id, ctx.clock.now());
          return e ? publicPrincipal(e) : undefined;
        },
      },
    },
  };
}
