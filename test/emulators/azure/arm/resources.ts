/**
 * What ARM serves itself (Microsoft.Resources): tenants, subscriptions, resource groups and resource
 * providers, enough for `az login` (GET /tenants, GET /subscriptions) and the az commands that look
 * a resource group or a provider up. Shapes from the REST spec examples
 * (specification/resources/resource-manager/Microsoft.Resources/stable/2022-12-01/examples/GetTenants.json,
 * GetSubscription.json; stable/2022-09-01/examples/GetProvider.json, ResourceGroups) — copies in
 * test/fixtures/api-examples/arm-resources.
 *
 * Visibility: a caller sees a subscription when it holds a role assignment in it (at the
 * subscription, a resource group or a resource), as ARM's subscription list does
 * (learn.microsoft.com/azure/role-based-access-control/overview "scope"); resource groups need
 * Microsoft.Resources/subscriptions/resourceGroups/read there.
 */
import type { EmuResponse } from '../../core/host';
import type { AzureState, SubscriptionState } from '../model';
import { API_VERSIONS, SUPPORTED_LOCATIONS, TYPE_NAMES } from './api-versions';
import { ArmError, authorize, eqi, findResourceGroup, findSubscription, ok, type ArmCall } from './common';
import { scopeCovers } from './rbac';

function visibleSubscriptions(azure: AzureState, principalId: string): SubscriptionState[] {
  const mine = azure.roleAssignments.filter((ra) => eqi(ra.principalId, principalId));
  return azure.subscriptions.filter((s) =>
    mine.some(
      (ra) => scopeCovers(`/subscriptions/${s.id}`, ra.scope) || scopeCovers(ra.scope, `/subscriptions/${s.id}`),
    ),
  );
}

function subscriptionJson(azure: AzureState, s: SubscriptionState): Record<string, unknown> {
  return {
    id: `/subscriptions/${s.id}`,
    authorizationSource: 'RoleBased',
    managedByTenants: [],
    subscriptionId: s.id,
    tenantId: azure.tenant.id,
    displayName: s.displayName,
    state: 'Enabled',
    subscriptionPolicies: {
      locationPlacementId: 'Public_2014-09-01',
      quotaId: 'PayAsYouGo_2014-09-01',
      spendingLimit: 'Off',
    },
  };
}

function visibleSubscription(call: ArmCall): SubscriptionState {
  const sub = findSubscription(call);
  if (!visibleSubscriptions(call.azure, call.caller.oid).includes(sub)) {
    throw new ArmError(
      403,
      'AuthorizationFailed',
      `The client '${call.caller.appid}' with object id '${call.caller.oid}' does not have authorization to perform action 'Microsoft.Resources/subscriptions/read' over scope '/subscriptions/${sub.id}' or the scope is invalid. If access was recently granted, please refresh your credentials.`,
    );
  }
  return sub;
}

function providerJson(subscriptionId: string, namespace: string): Record<string, unknown> | undefined {
  const prefix = `${namespace.toLowerCase()}/`;
  const types = Object.keys(API_VERSIONS).filter((t) => t.startsWith(prefix));
  if (types.length === 0) return undefined;
  const name = TYPE_NAMES[types[0]!]!.split('/')[0]!;
  return {
    id: `/subscriptions/${subscriptionId}/providers/${name}`,
    namespace: name,
    registrationState: 'Registered',
    registrationPolicy: 'RegistrationRequired',
    resourceTypes: types.map((t) => ({
      resourceType: TYPE_NAMES[t]!.split('/').slice(1).join('/'),
      locations: name === 'Microsoft.Resources' ? [] : SUPPORTED_LOCATIONS,
      apiVersions: [...API_VERSIONS[t]!].sort().reverse(),
      capabilities: 'SupportsTags, SupportsLocation',
    })),
  };
}

function namespaces(): string[] {
  return [...new Set(Object.keys(API_VERSIONS).map((t) => t.split('/')[0]!))];
}

export function createResourceOperations() {
  async function listTenants(call: ArmCall): Promise<EmuResponse> {
    const t = call.azure.tenant;
    const value = [
      {
        id: `/tenants/${t.id}`,
        tenantId: t.id,
        countryCode: 'US',
        displayName: t.displayName ?? t.domain,
        domains: [t.domain],
        tenantCategory: 'Home',
        defaultDomain: t.domain,
        tenantType: 'AAD',
      },
    ];
    return ok(200, { value });
  }

  async function listSubscriptions(call: ArmCall): Promise<EmuResponse> {
    const value = visibleSubscriptions(call.azure, call.caller.oid).map((s) => subscriptionJson(call.azure, s));
    return ok(200, { value, count: { type: 'Total', value: value.length } });
  }

  async function getSubscription(call: ArmCall): Promise<EmuResponse> {
    return ok(200, subscriptionJson(call.azure, visibleSubscription(call)));
  }

  function groupJson(sub: SubscriptionState, rg: { name: string; location: string }): Record<string, unknown> {
    return {
      id: `/subscriptions/${sub.id}/resourceGroups/${rg.name}`,
      name: rg.name,
      type: 'Microsoft.Resources/resourceGroups',
      location: rg.location,
      properties: { provisioningState: 'Succeeded' },
    };
  }

  async function getGroup(call: ArmCall): Promise<EmuResponse> {
    const sub = findSubscription(call);
    const rg = findResourceGroup(call, sub);
    authorize(
      call,
      'Microsoft.Resources/subscriptions/resourceGroups/read',
      `/subscriptions/${sub.id}/resourceGroups/${rg.name}`,
    );
    return ok(200, groupJson(sub, rg));
  }

  /** HEAD: 204 when the group exists, 404 otherwise, no body (ResourceGroups_CheckExistence). */
  async function headGroup(call: ArmCall): Promise<EmuResponse> {
    const sub = findSubscription(call);
    const found = sub.resourceGroups.some((r) => eqi(r.name, call.params.resourceGroupName!));
    return ok(found ? 204 : 404);
  }

  async function listGroups(call: ArmCall): Promise<EmuResponse> {
    const sub = visibleSubscription(call);
    const value = sub.resourceGroups
      .filter((rg) =>
        call.azure.roleAssignments.some(
          (ra) =>
            eqi(ra.principalId, call.caller.oid) &&
            (scopeCovers(ra.scope, `/subscriptions/${sub.id}/resourceGroups/${rg.name}`) ||
              scopeCovers(`/subscriptions/${sub.id}/resourceGroups/${rg.name}`, ra.scope)),
        ),
      )
      .map((rg) => groupJson(sub, rg));
    return ok(200, { value });
  }

  async function listProviders(call: ArmCall): Promise<EmuResponse> {
    const sub = visibleSubscription(call);
    return ok(200, { value: namespaces().map((n) => providerJson(sub.id, n)) });
  }

  async function getProvider(call: ArmCall): Promise<EmuResponse> {
    const sub = visibleSubscription(call);
    const p = providerJson(sub.id, call.params.namespace!);
    if (!p) {
      throw new ArmError(
        404,
        'InvalidResourceNamespace',
        `The resource namespace '${call.params.namespace}' is invalid.`,
      );
    }
    return ok(200, p);
  }

  return {
    routes: [
      { method: 'GET', pattern: '/tenants', handle: listTenants },
      { method: 'GET', pattern: '/subscriptions', handle: listSubscriptions },
      { method: 'GET', pattern: '/subscriptions/{subscriptionId}', handle: getSubscription },
      { method: 'GET', pattern: '/subscriptions/{subscriptionId}/resourcegroups', handle: listGroups },
      {
        method: 'GET',
        pattern: '/subscriptions/{subscriptionId}/resourcegroups/{resourceGroupName}',
        handle: getGroup,
      },
      {
        method: 'HEAD',
        pattern: '/subscriptions/{subscriptionId}/resourcegroups/{resourceGroupName}',
        handle: headGroup,
      },
      { method: 'GET', pattern: '/subscriptions/{subscriptionId}/providers', handle: listProviders },
      { method: 'GET', pattern: '/subscriptions/{subscriptionId}/providers/{namespace}', handle: getProvider },
    ],
  };
}

/**
 * `GET {arm}/metadata/endpoints?api-version=2015-01-01`, unauthenticated: the cloud's endpoints, as
 * Azure Stack Hub and the public cloud serve them (az cloud register reads it to fill the endpoints
 * not given: msrestazure.azure_cloud._populate_from_metadata_endpoint;
 * learn.microsoft.com/azure-stack/user/azure-stack-version-profiles-azurecli2 "metadata/endpoints").
 */
export function metadataEndpoints(entraUrl: string): Record<string, unknown> {
  return {
    galleryEndpoint: '',
    graphEndpoint: 'https://graph.windows.net/',
    portalEndpoint: 'https://portal.azure.com/',
    authentication: {
      loginEndpoint: `${entraUrl}/`,
      audiences: ['https://management.core.windows.net/', 'https://management.azure.com/'],
    },
  };
}
