import type { ProxySettings } from '@azure/core-rest-pipeline';
import type { ProxyConfig } from './types';

/**
 * The agent's proxy as Azure SDK ProxySettings, or undefined when there is none or when `url`
 * matches one of the agent's bypass patterns (regular expressions over the URL, as the agent's
 * .proxybypass file holds them).
 */
export function proxySettingsFor(proxy: ProxyConfig | undefined, url?: string): ProxySettings | undefined {
  if (!proxy?.url) return undefined;
  if (url && proxy.bypass?.some((pattern) => safeTest(pattern, url))) return undefined;
  const u = new URL(proxy.url);
  return {
    host: `${u.protocol}//${u.hostname}`,
    port: Number(u.port) || (u.protocol === 'https:' ? 443 : 80),
    ...(proxy.username ? { username: proxy.username } : {}),
    ...(proxy.password ? { password: proxy.password } : {}),
  };
}

function safeTest(pattern: string, url: string): boolean {
  try {
    return new RegExp(pattern, 'i').test(url);
  } catch {
    return false;
  }
}
