/**
 * The real ReportHost: the Azure DevOps extension SDK and the Build REST client.
 *
 * Only BuildRestClient and getClient are imported (with the build service ids), so the bundle
 * carries the SDK's message channel, the REST base and the Build client, and none of the other
 * areas' clients.
 */
import * as SDK from 'azure-devops-extension-sdk';
import { BuildRestClient, BuildServiceIds, type IBuildPageDataService } from 'azure-devops-extension-api/Build';
import { getClient, type IProjectPageService } from 'azure-devops-extension-api/Common';

/** CommonServiceIds.ProjectPageService: that enum is declared `const`, which isolatedModules cannot inline. */
const PROJECT_PAGE_SERVICE = 'ms.vss-tfs-web.tfs-page-data-service';
import type { AttachmentClient, ReportHost } from './loader';

export function sdkHost(): ReportHost {
  return {
    async context() {
      const [projectService, buildService] = await Promise.all([
        SDK.getService<IProjectPageService>(PROJECT_PAGE_SERVICE),
        SDK.getService<IBuildPageDataService>(BuildServiceIds.BuildPageDataService),
      ]);
      // Both calls cross the frame boundary, so they return promises whatever their declared types say.
      const [project, pageData] = await Promise.all([
        projectService.getProject(),
        Promise.resolve(buildService.getBuildPageData()),
      ]);
      const buildId = pageData?.build?.id;
      if (!project?.id) throw new Error('the page has no project');
      if (typeof buildId !== 'number') throw new Error('the page shows no pipeline run');
      return { project: project.id, buildId };
    },
    client(): AttachmentClient {
      return getClient(BuildRestClient);
    },
  };
}
