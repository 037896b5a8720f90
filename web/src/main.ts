/**
 * Entry of the build-results tab (contribution `ms.vss-build-web.build-results-tab`): connects to
 * the Azure DevOps host frame, then loads and shows the run's Flux OIDC reports.
 */
import * as SDK from 'azure-devops-extension-sdk';
import { startApp, renderError } from './app';
import { loadReports } from './loader';
import { sdkHost } from './sdk-host';
import { followHostTheme } from './theme';

const root = document.getElementById('app');
if (!root) throw new Error('index.html has no #app element');
followHostTheme(document);

if (window.parent === window) {
  // Opened on its own (not in Azure DevOps' frame): the SDK handshake would wait forever.
  root.replaceChildren(
    renderError(
      document,
      'This page is the Flux OIDC tab of a pipeline run. Open a run of a pipeline that uses the Flux OIDC tasks in Azure DevOps and select its "Flux OIDC" tab.',
    ),
  );
} else {
  // One handshake per page (a retry only reloads the data); init() applies the host's theme
  // (CSS variables) before it resolves.
  const ready = SDK.init();
  const host = sdkHost();
  void startApp(root, async () => {
    await ready;
    return loadReports(host);
  });
}
