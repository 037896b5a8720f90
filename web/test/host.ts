/**
 * A stand-in for the Azure DevOps page that hosts the results tab (not shipped; used by
 * test/web/). It embeds the built tab (index.html + main.js, unmodified) in an iframe and answers
 * the extension SDK over its real message channel (the SDK's own XDM module): the initial
 * handshake (with theme variables), the project and build page-data services, the location
 * service that tells the Build REST client where the organization is, and access tokens. The REST
 * calls themselves go to the test's HTTP server, which plays the Build attachments API.
 */
import { channelManager } from '../../node_modules/azure-devops-extension-sdk/esm/XDM.js';

export interface HostConfig {
  /** URL of the tab's index.html. */
  tabUrl: string;
  projectId: string;
  projectName: string;
  /** The run the page shows; undefined plays a page without a run. */
  buildId?: number;
  /** What the location service answers for the Build area (the organization URL, with a trailing slash). */
  apiRoot: string;
  token: string;
  /** Theme variables as Azure DevOps sends them (name without the leading --). */
  themeData?: Record<string, string>;
}

/** What the tab asked the host for, in order (e.g. "getService ms.vss-build-web.build-page-data-service"). */
const calls: string[] = [];

function start(config: HostConfig): void {
  const frame = document.createElement('iframe');
  frame.title = 'Flux OIDC results tab';
  frame.style.cssText = 'width:100%;height:100%;border:0';
  document.body.appendChild(frame);
  const channel = channelManager.addChannel(frame.contentWindow!, new URL(config.tabUrl, location.href).origin);
  const registry = channel.getObjectRegistry();

  registry.register('DevOps.HostControl', {
    initialHandshake(options: { sdkVersion?: number }) {
      calls.push(`initialHandshake sdk ${options?.sdkVersion}`);
      return {
        contributionId: 'flux-oidc-devops.flux-oidc.flux-oidc-results-tab',
        initialConfig: {},
        themeData: config.themeData,
        context: {
          extension: {
            publisherId: 'flux-oidc-devops',
            extensionId: 'flux-oidc',
            id: 'flux-oidc-devops.flux-oidc',
            version: '1.0.0',
          },
          user: { id: 'u1', name: 'dev@contoso.com', displayName: 'Dev', descriptor: 'aad.x', imageUrl: '' },
          host: { id: 'h1', name: 'contoso', serviceVersion: 'test', type: 4, isHosted: true },
          pageContext: {
            webContext: {
              project: { id: config.projectId, name: config.projectName },
              team: { id: 't1', name: 'platform Team' },
            },
            globalization: {
              culture: 'en-US',
              explicitTheme: '',
              theme: 'ms.vss-web.vsts-theme',
              timeZoneId: 'UTC',
              timezoneOffset: 0,
              typeAheadDisabled: false,
            },
          },
        },
      };
    },
    getAccessToken() {
      calls.push('getAccessToken');
      return { token: config.token };
    },
    notifyLoadSucceeded() {
      calls.push('notifyLoadSucceeded');
    },
    notifyLoadFailed() {
      calls.push('notifyLoadFailed');
    },
    resize() {
      calls.push('resize');
    },
  });

  const services: Record<string, object> = {
    'ms.vss-tfs-web.tfs-page-data-service': {
      getProject: () => ({ id: config.projectId, name: config.projectName }),
    },
    'ms.vss-build-web.build-page-data-service': {
      getBuildPageData: () =>
        config.buildId === undefined
          ? {}
          : { build: { id: config.buildId, buildNumber: '20261128.1' }, definition: { id: 7, name: 'fleet' } },
    },
    'ms.vss-features.location-service': {
      getResourceAreaLocation: (areaId: string) => {
        calls.push(`resourceArea ${areaId}`);
        return config.apiRoot;
      },
      getServiceLocation: () => config.apiRoot,
    },
  };
  registry.register('DevOps.ServiceManager', {
    getService(id: string) {
      calls.push(`getService ${id}`);
      const service = services[id];
      if (!service) throw new Error(`no service ${id}`);
      return service;
    },
  });

  frame.src = config.tabUrl;
}

(window as unknown as { fakeHost: { start(c: HostConfig): void; calls(): string[] } }).fakeHost = {
  start,
  calls: () => [...calls],
};
