/**
 * The tenant directory as Entra ID sees it: app registrations (from the state) and the service
 * principals of user-assigned managed identities (derived from the ARM resources, so an identity
 * created through ARM becomes a principal without a second copy of its data).
 */
import type { DirectoryPrincipal } from '../core/context';
import type { ApplicationState, AzureState, FederatedCredentialState, IdentityState } from './model';

export interface DirectoryEntry extends DirectoryPrincipal {
  app?: ApplicationState;
  identity?: IdentityState;
  /** Emulated-clock ms when it was created (managed identities). */
  createdAt?: number;
  federatedIdentityCredentials: FederatedCredentialState[];
}

export function identityResourceId(subscriptionId: string, resourceGroup: string, name: string): string {
  return `/subscriptions/${subscriptionId}/resourcegroups/${resourceGroup}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${name}`;
}

function* entries(azure: AzureState): Generator<DirectoryEntry> {
  const tenantId = azure.tenant.id;
  for (const app of azure.tenant.applications) {
    yield {
      tenantId,
      objectId: app.servicePrincipalObjectId,
      appId: app.appId,
      displayName: app.displayName,
      kind: 'application',
      app,
      federatedIdentityCredentials: app.federatedIdentityCredentials ?? [],
    };
  }
  for (const sub of azure.subscriptions) {
    for (const rg of sub.resourceGroups) {
      for (const identity of rg.identities) {
        yield {
          tenantId,
          objectId: identity.principalId,
          appId: identity.clientId,
          displayName: identity.name,
          kind: 'managedIdentity',
          resourceId: identityResourceId(sub.id, rg.name, identity.name),
          identity,
          createdAt: identity.createdAt,
          federatedIdentityCredentials: identity.federatedIdentityCredentials,
        };
      }
    }
  }
}

/** Is this entry visible yet (the tenant's replication delay after creation)? */
function replicated(azure: AzureState, e: DirectoryEntry, nowMs: number): boolean {
  const delay = azure.tenant.replicationDelayMs ?? 0;
  return delay <= 0 || e.createdAt === undefined || nowMs >= e.createdAt + delay;
}

/** Finds a principal by app (client) id or object id (case-insensitive GUIDs). */
export function findPrincipal(
  azure: AzureState,
  id: string,
  nowMs: number,
  by: 'appId' | 'objectId' | 'any' = 'any',
): DirectoryEntry | undefined {
  const want = id.toLowerCase();
  for (const e of entries(azure)) {
    const hit =
      (by !== 'objectId' && e.appId.toLowerCase() === want) || (by !== 'appId' && e.objectId.toLowerCase() === want);
    if (hit) return replicated(azure, e, nowMs) ? e : undefined;
  }
  return undefined;
}

/** The public view handed to other services (no secrets, no state references). */
export function publicPrincipal(e: DirectoryEntry): DirectoryPrincipal {
  const p: DirectoryPrincipal = {
    tenantId: e.tenantId,
    objectId: e.objectId,
    appId: e.appId,
    displayName: e.displayName,
    kind: e.kind,
  };
  if (e.resourceId) p.resourceId = e.resourceId;
  return p;
}
