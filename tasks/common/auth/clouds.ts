/**
 * Azure clouds: where Entra ID and Resource Manager are for a service connection. The
 * connection's own environment data always wins over these defaults: that is what makes
 * sovereign, Azure Stack and emulated clouds work.
 */
import { UserError } from '../errors';
import type { AzureCloud, ServiceEndpoint } from './types';

interface CloudDefaults {
  authorityHost: string;
  resourceManagerUrl: string;
  /** The ARM application id URI Entra ID issues ARM tokens for. */
  armResource: string;
}

export const KNOWN_CLOUDS: Record<string, CloudDefaults> = {
  AzureCloud: {
    authorityHost: 'https://login.microsoftonline.com',
    resourceManagerUrl: 'https://management.azure.com',
    armResource: 'https://management.azure.com',
  },
  AzureUSGovernment: {
    authorityHost: 'https://login.microsoftonline.us',
    resourceManagerUrl: 'https://management.usgovcloudapi.net',
    armResource: 'https://management.usgovcloudapi.net',
  },
  AzureChinaCloud: {
    authorityHost: 'https://login.chinacloudapi.cn',
    resourceManagerUrl: 'https://management.chinacloudapi.cn',
    armResource: 'https://management.chinacloudapi.cn',
  },
};

function trimSlash(url: string): string {
  return url.replace(/\/+$/, '');
}

/**
 * The `.default` scope of a resource. A resource URI that ends with '/' keeps it, as Entra ID
 * expects ("https://management.core.windows.net/" -> "https://management.core.windows.net//.default").
 */
export function scopeFor(resource: string): string {
  return `${resource}/.default`;
}

function validUrl(value: string, key: string, connection: string): string {
  try {
    const u = new URL(value);
    if (u.protocol !== 'https:') throw new Error('not https');
  } catch {
    throw new UserError(`Service connection ${connection}: its ${key} ${JSON.stringify(value)} is not an https URL.`, {
      code: 'BadConnectionEnvironment',
      fix: 'edit the service connection (or its environment data) so that this endpoint is an https URL',
    });
  }
  return trimSlash(value);
}

/**
 * The cloud of an AzureRM service connection: the environment name (data `environment`, default
 * AzureCloud), then each endpoint from the connection's data when present
 * (environmentAuthorityUrl / activeDirectoryAuthority, ENDPOINT_URL / resourceManagerUrl,
 * activeDirectoryServiceEndpointResourceId), else the named cloud's default.
 */
export function resolveCloud(endpoint: ServiceEndpoint, connection: string = endpoint.id): AzureCloud {
  const envName = endpoint.data('environment') || 'AzureCloud';
  const knownName = Object.keys(KNOWN_CLOUDS).find((k) => k.toLowerCase() === envName.toLowerCase());
  const defaults = knownName ? KNOWN_CLOUDS[knownName] : undefined;

  const authority = endpoint.data('environmentAuthorityUrl') || endpoint.data('activeDirectoryAuthority');
  const arm = endpoint.url || endpoint.data('resourceManagerUrl') || endpoint.data('environmentUrl');
  const armResource = endpoint.data('activeDirectoryServiceEndpointResourceId');

  if (!defaults && (!authority || !arm)) {
    throw new UserError(
      `Service connection ${connection} uses the environment '${envName}', which has no built-in endpoints, and its data does not name them.`,
      {
        code: 'UnknownAzureEnvironment',
        cause: `missing ${[!authority && 'environmentAuthorityUrl', !arm && 'the Resource Manager URL'].filter(Boolean).join(' and ')}`,
        fix: `use one of ${Object.keys(KNOWN_CLOUDS).join(', ')}, or give the connection its environment's authority and Resource Manager URLs`,
      },
    );
  }
  const resourceManagerUrl = arm ? validUrl(arm, 'Resource Manager URL', connection) : defaults!.resourceManagerUrl;
  return {
    name: knownName ?? envName,
    authorityHost: authority
      ? validUrl(authority, 'authority URL (environmentAuthorityUrl)', connection)
      : defaults!.authorityHost,
    resourceManagerUrl,
    armScope: scopeFor(armResource || defaults?.armResource || resourceManagerUrl),
  };
}
