/**
 * Microsoft.ManagedIdentity: user-assigned identities and their federated identity credentials,
 * with the validation rules of api-contracts A (name pattern, 600-char fields, exactly one
 * audience, unique issuer+subject, at most 20 per identity, parent must exist) and the 409 on
 * overlapping credential writes under one identity. All operations are synchronous.
 */
import * as crypto from 'node:crypto';
import type { EmuResponse } from '../../core/host';
import { identityResourceId } from '../directory';
import type { FederatedCredentialState, IdentityState, ResourceGroupState, SubscriptionState } from '../model';
import {
  ArmError,
  authorize,
  eqi,
  findResourceGroup,
  findSubscription,
  isObject,
  jsonBody,
  ok,
  resourceNotFound,
  tagsFrom,
  type ArmCall,
} from './common';

const IDENTITY_TYPE = 'Microsoft.ManagedIdentity/userAssignedIdentities';
const FIC_TYPE = 'Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials';
const IDENTITY_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_-]{2,127}$/;
const FIC_NAME = /^[a-zA-Z0-9]{1}[a-zA-Z0-9-_]{2,119}$/;
const MAX_FIELD = 600;

export const IDENTITY_BASE =
  '/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.ManagedIdentity/userAssignedIdentities';

function identityJson(
  sub: SubscriptionState,
  rg: ResourceGroupState,
  i: IdentityState,
  tenantId: string,
): Record<string, unknown> {
  return {
    id: identityResourceId(sub.id, rg.name, i.name),
    name: i.name,
    type: IDENTITY_TYPE,
    location: i.location,
    tags: i.tags ?? {},
    properties: {
      tenantId,
      principalId: i.principalId,
      clientId: i.clientId,
      isolationScope: i.isolationScope ?? 'None',
    },
  };
}

function ficJson(identityId: string, f: FederatedCredentialState): Record<string, unknown> {
  return {
    id: `${identityId}/federatedIdentityCredentials/${f.name}`,
    name: f.name,
    type: FIC_TYPE,
    properties: { issuer: f.issuer, subject: f.subject, audiences: [...f.audiences] },
  };
}

/** The scope string RBAC and error messages use for a resource (the path as the caller sent it, without the query). */
function scopeOf(call: ArmCall): string {
  return call.req.path.replace(/\/+$/, '');
}

function locate(call: ArmCall): { sub: SubscriptionState; rg: ResourceGroupState } {
  const sub = findSubscription(call);
  return { sub, rg: findResourceGroup(call, sub) };
}

function findIdentity(rg: ResourceGroupState, name: string): IdentityState | undefined {
  return rg.identities.find((i) => eqi(i.name, name));
}

export function createMsiOperations() {
  /** Identities with a federated-credential write in flight (lower-cased resource ids). */
  const writing = new Set<string>();

  async function getIdentity(call: ArmCall): Promise<EmuResponse> {
    authorize(call, `${IDENTITY_TYPE}/read`, scopeOf(call));
    const { sub, rg } = locate(call);
    const i = findIdentity(rg, call.params.resourceName!);
    if (!i) throw resourceNotFound(IDENTITY_TYPE, call.params.resourceName!, rg.name);
    return ok(200, identityJson(sub, rg, i, call.azure.tenant.id));
  }

  async function putIdentity(call: ArmCall): Promise<EmuResponse> {
    const name = call.params.resourceName!;
    authorize(call, `${IDENTITY_TYPE}/write`, scopeOf(call));
    const { sub, rg } = locate(call);
    if (!IDENTITY_NAME.test(name)) {
      throw new ArmError(
        400,
        'InvalidResourceName',
        `Resource name '${name}' is invalid. The name can contain only letters, numbers, underscores and hyphens. The name must start with a letter or number. The name must be between 3 and 128 characters long.`,
      );
    }
    const body = jsonBody<Record<string, unknown>>(call);
    const location = typeof body.location === 'string' ? body.location.replace(/\s+/g, '').toLowerCase() : '';
    if (!location)
      throw new ArmError(400, 'LocationRequired', 'The location property is required for this definition.');
    const tags = tagsFrom(body.tags);
    const props = isObject(body.properties) ? body.properties : {};
    const isolation = props.isolationScope;
    if (isolation !== undefined && isolation !== 'None' && isolation !== 'Regional') {
      throw new ArmError(
        400,
        'InvalidRequestContent',
        `The value '${String(isolation)}' of properties.isolationScope is invalid; use 'None' or 'Regional'.`,
      );
    }
    const existing = findIdentity(rg, name);
    if (existing) {
      if (existing.location !== location) {
        throw new ArmError(
          400,
          'InvalidResourceLocation',
          `The resource '${name}' already exists in location '${existing.location}' in resource group '${rg.name}'. A resource with the same name cannot be created in location '${location}'. Please select a new resource name.`,
        );
      }
      existing.tags = tags;
      if (isolation) existing.isolationScope = isolation;
      return ok(200, identityJson(sub, rg, existing, call.azure.tenant.id));
    }
    const created: IdentityState = {
      name,
      location,
      clientId: crypto.randomUUID(),
      principalId: crypto.randomUUID(),
      createdAt: call.ctx.clock.now(),
      federatedIdentityCredentials: [],
    };
    if (tags) created.tags = tags;
    if (isolation) created.isolationScope = isolation;
    rg.identities.push(created);
    return ok(201, identityJson(sub, rg, created, call.azure.tenant.id));
  }

  async function patchIdentity(call: ArmCall): Promise<EmuResponse> {
    authorize(call, `${IDENTITY_TYPE}/write`, scopeOf(call));
    const { sub, rg } = locate(call);
    const i = findIdentity(rg, call.params.resourceName!);
    if (!i) throw resourceNotFound(IDENTITY_TYPE, call.params.resourceName!, rg.name);
    const body = jsonBody<Record<string, unknown>>(call);
    if (body.tags !== undefined) i.tags = tagsFrom(body.tags);
    const props = isObject(body.properties) ? body.properties : {};
    if (props.isolationScope === 'None' || props.isolationScope === 'Regional') i.isolationScope = props.isolationScope;
    return ok(200, identityJson(sub, rg, i, call.azure.tenant.id));
  }

  async function deleteIdentity(call: ArmCall): Promise<EmuResponse> {
    authorize(call, `${IDENTITY_TYPE}/delete`, scopeOf(call));
    const { rg } = locate(call);
    const idx = rg.identities.findIndex((i) => eqi(i.name, call.params.resourceName!));
    if (idx < 0) return ok(204, undefined, { write: false });
    rg.identities.splice(idx, 1);
    return ok(200);
  }

  async function listIdentities(call: ArmCall): Promise<EmuResponse> {
    authorize(call, `${IDENTITY_TYPE}/read`, scopeOf(call).replace(/\/providers\/.*$/i, ''));
    const sub = findSubscription(call);
    const rgs = call.params.resourceGroupName ? [findResourceGroup(call, sub)] : sub.resourceGroups;
    const value = rgs.flatMap((rg) => rg.identities.map((i) => identityJson(sub, rg, i, call.azure.tenant.id)));
    return ok(200, { value });
  }

  // ---- federated identity credentials ----

  function parentOf(call: ArmCall): {
    sub: SubscriptionState;
    rg: ResourceGroupState;
    identity: IdentityState;
    identityId: string;
  } {
    const { sub, rg } = locate(call);
    const identity = findIdentity(rg, call.params.resourceName!);
    if (!identity)
      throw new ArmError(404, 'ParentResourceNotFound', "The parent user-assigned identity doesn't exist.");
    return { sub, rg, identity, identityId: identityResourceId(sub.id, rg.name, identity.name) };
  }

  function validateFicName(name: string): void {
    if (!FIC_NAME.test(name))
      throw new ArmError(400, 'BadRequest', `Federated Identity Credential name '${name}' is invalid.`);
  }

  function parseFic(call: ArmCall): { issuer: string; subject: string; audiences: string[]; description?: string } {
    const body = jsonBody<Record<string, unknown>>(call);
    const p = body.properties;
    if (!isObject(p) || Object.keys(p).length === 0)
      throw new ArmError(400, 'BadRequest', 'Federated Identity Credential from HTTP body has empty properties');
    const { issuer, subject, audiences } = p;
    if (
      typeof issuer !== 'string' ||
      !issuer ||
      typeof subject !== 'string' ||
      !subject ||
      audiences === undefined ||
      audiences === null
    ) {
      throw new ArmError(400, 'BadRequest', 'Federated Identity Credential from HTTP body has empty properties');
    }
    if (!Array.isArray(audiences) || audiences.length !== 1 || typeof audiences[0] !== 'string' || !audiences[0]) {
      throw new ArmError(400, 'BadRequest', 'Federated identity credentials must have exactly one audience.');
    }
    for (const [field, v] of [
      ['issuer', issuer],
      ['subject', subject],
      ['audience', audiences[0]],
    ] as const) {
      // The documented limit; the exact service text is not published, so this names the field and the limit.
      if (v.length > MAX_FIELD)
        throw new ArmError(
          400,
          'BadRequest',
          `Federated Identity Credential ${field} is too long: ${v.length} characters, the maximum is ${MAX_FIELD}.`,
        );
    }
    let url: URL | undefined;
    try {
      url = new URL(issuer);
    } catch {
      url = undefined;
    }
    if (!url || url.protocol !== 'https:')
      throw new ArmError(
        400,
        'BadRequest',
        `Federated Identity Credential issuer '${issuer}' is not a valid https URL.`,
      );
    const out: { issuer: string; subject: string; audiences: string[]; description?: string } = {
      issuer,
      subject,
      audiences: [audiences[0]],
    };
    if (typeof p.description === 'string') out.description = p.description;
    return out;
  }

  /** Holds the identity for the write's duration; a second write meanwhile is the documented 409. */
  async function exclusive<T>(call: ArmCall, identityId: string, work: () => T): Promise<T> {
    const key = identityId.toLowerCase();
    if (writing.has(key)) {
      throw new ArmError(
        409,
        'ConcurrentFederatedIdentityCredentialsWritesForSingleManagedIdentity',
        `Too many Federated Identity Credentials are written concurrently for the managed identity '${key}'. Concurrent Federated Identity Credentials writes under the same managed identity are not supported.`,
      );
    }
    writing.add(key);
    try {
      await call.ctx.clock.sleep(call.azure.arm?.ficWriteMs ?? 40);
      return work();
    } finally {
      writing.delete(key);
    }
  }

  async function getFic(call: ArmCall): Promise<EmuResponse> {
    authorize(call, `${FIC_TYPE}/read`, scopeOf(call));
    const { identity, identityId, rg } = parentOf(call);
    const f = identity.federatedIdentityCredentials.find((x) => eqi(x.name, call.params.ficName!));
    if (!f)
      throw resourceNotFound(
        `${IDENTITY_TYPE}/${identity.name}/federatedIdentityCredentials`,
        call.params.ficName!,
        rg.name,
      );
    return ok(200, ficJson(identityId, f));
  }

  async function putFic(call: ArmCall): Promise<EmuResponse> {
    const name = call.params.ficName!;
    authorize(call, `${FIC_TYPE}/write`, scopeOf(call));
    validateFicName(name);
    const fields = parseFic(call);
    const { identityId } = parentOf(call);
    return exclusive(call, identityId, () => {
      const { identity } = parentOf(call); // it may have been deleted while the write was held
      const list = identity.federatedIdentityCredentials;
      const existing = list.find((x) => eqi(x.name, name));
      if (list.some((x) => x !== existing && x.issuer === fields.issuer && x.subject === fields.subject)) {
        throw new ArmError(
          400,
          'BadRequest',
          'Issuer and subject combination already exists for this Managed Identity.',
        );
      }
      const max = call.azure.arm?.maxFicsPerIdentity ?? 20;
      if (!existing && list.length >= max) {
        // The service's code and text for this case are not documented (api-contracts A: UNVERIFIED); tests assert the status only.
        throw new ArmError(
          400,
          'BadRequest',
          `Too many Federated Identity Credentials: the managed identity '${identityId.toLowerCase()}' already has ${list.length}; the maximum is ${max}.`,
        );
      }
      const now = call.ctx.clock.now();
      if (existing) {
        const changed =
          existing.issuer !== fields.issuer ||
          existing.subject !== fields.subject ||
          existing.audiences[0] !== fields.audiences[0];
        Object.assign(existing, fields);
        if (changed) existing.createdAt = now;
        return ok(200, ficJson(identityId, existing));
      }
      const created: FederatedCredentialState = { name, ...fields, createdAt: now };
      list.push(created);
      return ok(201, ficJson(identityId, created));
    });
  }

  async function deleteFic(call: ArmCall): Promise<EmuResponse> {
    authorize(call, `${FIC_TYPE}/delete`, scopeOf(call));
    const { identityId } = parentOf(call);
    return exclusive(call, identityId, () => {
      const { identity } = parentOf(call);
      const idx = identity.federatedIdentityCredentials.findIndex((x) => eqi(x.name, call.params.ficName!));
      if (idx < 0) return ok(204, undefined, { write: false });
      identity.federatedIdentityCredentials.splice(idx, 1);
      return ok(200);
    });
  }

  async function listFics(call: ArmCall): Promise<EmuResponse> {
    authorize(call, `${FIC_TYPE}/read`, scopeOf(call));
    const { identity, identityId } = parentOf(call);
    const q = call.req.url.searchParams;
    const topRaw = q.get('$top');
    const skipRaw = [...q.entries()].find(([k]) => k.toLowerCase() === '$skiptoken')?.[1];
    let top = Infinity;
    if (topRaw !== null) {
      top = Number(topRaw);
      if (!Number.isInteger(top) || top < 1)
        throw new ArmError(
          400,
          'InvalidParameter',
          `The value '${topRaw}' of $top is invalid; it must be an integer of at least 1.`,
        );
    }
    const start = skipRaw !== undefined ? Number(skipRaw) : 0;
    if (!Number.isInteger(start) || start < 0)
      throw new ArmError(
        400,
        'InvalidParameter',
        `The $skiptoken '${skipRaw}' is invalid; use the nextLink of the previous page.`,
      );
    const all = identity.federatedIdentityCredentials;
    const page = all.slice(start, start + top);
    const body: Record<string, unknown> = { value: page.map((f) => ficJson(identityId, f)) };
    if (start + page.length < all.length) {
      const next = new URL(`${call.ctx.urls.arm}${call.req.path}`);
      next.searchParams.set('api-version', call.apiVersion);
      next.searchParams.set('$top', String(top));
      next.searchParams.set('$skiptoken', String(start + page.length));
      body.nextLink = next.toString();
    }
    return ok(200, body);
  }

  return {
    routes: [
      { method: 'GET', pattern: `${IDENTITY_BASE}/{resourceName}`, handle: getIdentity },
      { method: 'PUT', pattern: `${IDENTITY_BASE}/{resourceName}`, handle: putIdentity },
      { method: 'PATCH', pattern: `${IDENTITY_BASE}/{resourceName}`, handle: patchIdentity },
      { method: 'DELETE', pattern: `${IDENTITY_BASE}/{resourceName}`, handle: deleteIdentity },
      { method: 'GET', pattern: IDENTITY_BASE, handle: listIdentities },
      {
        method: 'GET',
        pattern: '/subscriptions/{subscriptionId}/providers/Microsoft.ManagedIdentity/userAssignedIdentities',
        handle: listIdentities,
      },
      { method: 'GET', pattern: `${IDENTITY_BASE}/{resourceName}/federatedIdentityCredentials`, handle: listFics },
      {
        method: 'GET',
        pattern: `${IDENTITY_BASE}/{resourceName}/federatedIdentityCredentials/{ficName}`,
        handle: getFic,
      },
      {
        method: 'PUT',
        pattern: `${IDENTITY_BASE}/{resourceName}/federatedIdentityCredentials/{ficName}`,
        handle: putFic,
      },
      {
        method: 'DELETE',
        pattern: `${IDENTITY_BASE}/{resourceName}/federatedIdentityCredentials/{ficName}`,
        handle: deleteFic,
      },
    ],
  };
}
