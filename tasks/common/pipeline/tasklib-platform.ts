/**
 * Platform over azure-pipelines-task-lib: the only module in the product that imports it.
 * Note: importing task-lib moves INPUT_*, ENDPOINT_AUTH_* and SECRET_* out of process.env into its
 * vault, so this module is imported lazily by runTask.
 */
import * as os from 'node:os';
import * as tl from 'azure-pipelines-task-lib/task';
import type { ProxyConfig, ServiceEndpoint } from '../auth/types';
import type { Platform, PlatformResult } from './platform';

/**
 * A log line must not be able to issue agent commands: text from outside (server messages,
 * manifest content) could contain "##vso[" or start with "##[". Break those markers.
 */
export function neutralize(line: string): string {
  return line.replace(/##vso\[/gi, '##vso [').replace(/^##\[/gm, '## [');
}

export class TaskLibPlatform implements Platform {
  input(name: string): string | undefined {
    const v = tl.getInput(name, false)?.trim();
    return v ? v : undefined;
  }

  variable(name: string): string | undefined {
    const v = tl.getVariable(name)?.trim();
    return v ? v : undefined;
  }

  endpoint(id: string): ServiceEndpoint | undefined {
    // Always optional=true: with optional=false task-lib calls setResult(Failed) itself and does not throw.
    const url = tl.getEndpointUrl(id, true);
    const authorization = tl.getEndpointAuthorization(id, true);
    const scheme = tl.getEndpointAuthorizationScheme(id, true) ?? authorization?.scheme;
    if (!url && !authorization && !scheme) return undefined;
    const params = authorization?.parameters ?? {};
    return {
      id,
      ...(url ? { url } : {}),
      ...(scheme ? { scheme } : {}),
      auth: (key: string) => {
        const direct = tl.getEndpointAuthorizationParameter(id, key, true);
        if (direct) return direct;
        const hit = Object.keys(params).find((k) => k.toLowerCase() === key.toLowerCase());
        return hit ? params[hit] || undefined : undefined;
      },
      data: (key: string) => tl.getEndpointDataParameter(id, key, true) || undefined,
    };
  }

  proxy(): ProxyConfig | undefined {
    const c = tl.getHttpProxyConfiguration();
    if (!c?.proxyUrl) return undefined;
    return {
      url: c.proxyUrl,
      ...(c.proxyUsername ? { username: c.proxyUsername } : {}),
      ...(c.proxyPassword ? { password: c.proxyPassword } : {}),
      ...(c.proxyBypassHosts?.length ? { bypass: c.proxyBypassHosts } : {}),
    };
  }

  setOutput(name: string, value: string, secret: boolean): void {
    tl.setVariable(name, value, secret, true);
  }

  setSecret(value: string): void {
    tl.setSecret(value);
  }

  info(message: string): void {
    console.log(neutralize(message));
  }

  debug(message: string): void {
    tl.debug(message);
  }

  warning(message: string): void {
    tl.command('task.logissue', { type: 'warning' }, message);
  }

  error(message: string): void {
    tl.command('task.logissue', { type: 'error' }, message);
  }

  section(title: string): void {
    console.log(`##[section]${neutralize(title).replace(/\r?\n/g, ' ')}`);
  }

  beginGroup(title: string): void {
    console.log(`##[group]${neutralize(title).replace(/\r?\n/g, ' ')}`);
  }

  endGroup(): void {
    console.log('##[endgroup]');
  }

  progress(percent: number, message: string): void {
    tl.setProgress(percent, message);
  }

  addAttachment(type: string, name: string, path: string): void {
    tl.addAttachment(type, name, path);
  }

  uploadSummary(path: string): void {
    tl.uploadSummary(path);
  }

  setResult(result: PlatformResult, message: string): void {
    tl.setResult(tl.TaskResult[result], message);
  }

  tempDir(): string {
    return this.variable('Agent.TempDirectory') ?? os.tmpdir();
  }
}
