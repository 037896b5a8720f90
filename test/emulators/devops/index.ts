/**
 * The Azure DevOps part of the emulated cloud: the organization host (`devops`: Location, Core,
 * Git REST + smart HTTP, Security, the pipeline OIDC token), `vssps` (Graph, Identities), `vsaex`
 * (member entitlements) and `devops-issuer` (the service connection OIDC issuer), plus the
 * `systemAccessToken` hook and the pipeline variables of the emulated job.
 */
import type { CloudContext } from '../core/context';
import type { ServiceSet } from '../core/service';
import { coreRoutes, locationRoutes } from './core';
import { entitlementRoutes } from './entitlements';
import { remoteUrl, findRepo } from './git/common';
import { pullRequestRoutes } from './git/pulls';
import { gitRoutes } from './git/rest';
import { gitSmartHttp } from './git/smart-http';
import { graphRoutes } from './graph';
import { oidcRoutes } from './oidc';
import { policyRoutes } from './policy';
import { securityRoutes } from './security';
import { DevOpsService, findProject } from './service';
import { orgUrls } from './views';

export { DevOpsService } from './service';
export { devopsScenario, validateDevOps } from './scenario';

export async function createDevOpsServices(ctx: CloudContext): Promise<ServiceSet & { service: DevOpsService }> {
  const svc = new DevOpsService(
    ctx,
    {
      devops: [
        ...locationRoutes,
        ...coreRoutes,
        ...gitRoutes,
        ...pullRequestRoutes,
        ...policyRoutes,
        ...securityRoutes,
        ...oidcRoutes,
      ],
      vssps: [...locationRoutes, ...graphRoutes],
      vsaex: [...locationRoutes, ...entitlementRoutes],
    },
    gitSmartHttp,
  );
  // Seed every repository now: a broken seed fails the start, not the first request.
  for (const p of ctx.state.devops.projects) for (const r of p.repositories) await svc.repos.ensure(r);
  const pl = ctx.state.devops.pipeline;
  const sourceRepo = findRepo(ctx.state.devops, undefined, pl.repositoryId);
  const sourceVersion = sourceRepo ? await svc.git.refTip(sourceRepo.repo.id, pl.sourceBranch) : undefined;
  return {
    service: svc,
    handlers: {
      devops: svc.handler('devops'),
      vssps: svc.handler('vssps'),
      vsaex: svc.handler('vsaex'),
      'devops-issuer': svc.issuer.handler(),
    },
    hooks: { devops: { systemAccessToken: () => svc.auth.issueSystemToken() } },
    env: () => pipelineEnv(svc, sourceVersion),
    snapshot: () => {
      for (const p of ctx.state.devops.projects)
        for (const r of p.repositories) {
          const bundle = svc.repos.bundle(r);
          if (bundle !== undefined) r.history = bundle;
        }
    },
  };
}

/**
 * The job variables of the emulated pipeline run that concern Azure DevOps (the agent's
 * SYSTEM_*, the SystemVssConnection endpoint with a fresh System.AccessToken, BUILD_REPOSITORY_*).
 * The AzureRM service connection's ENDPOINT_* variables come from the azure section.
 */
export function pipelineEnv(svc: DevOpsService, sourceVersion?: string): Record<string, string> {
  const s = svc.state;
  const pl = s.pipeline;
  // The organization's primary URL (model.ts primaryUrl) is the one pipeline variables carry.
  const urls = orgUrls(svc.cloud.urls, s.organization.name, s.organization.primaryUrl ?? 'emulator');
  const collection = `${urls.devops}/`;
  const project = findProject(s, pl.projectId);
  const repo = findRepo(s, undefined, pl.repositoryId);
  const token = svc.auth.issueSystemToken();
  const env: Record<string, string> = {
    SYSTEM_COLLECTIONURI: collection,
    SYSTEM_TEAMFOUNDATIONCOLLECTIONURI: collection,
    SYSTEM_TEAMFOUNDATIONSERVERURI: collection,
    SYSTEM_COLLECTIONID: s.organization.id,
    SYSTEM_TEAMPROJECT: project?.name ?? '',
    SYSTEM_TEAMPROJECTID: pl.projectId,
    SYSTEM_HOSTTYPE: 'build',
    SYSTEM_PLANID: pl.planId,
    SYSTEM_JOBID: pl.jobId,
    SYSTEM_OIDCREQUESTURI: `${collection}${pl.projectId}/_apis/distributedtask/hubs/${pl.hubName}/plans/${pl.planId}/jobs/${pl.jobId}/oidctoken`,
    BUILD_BUILDID: String(pl.buildId),
    ENDPOINT_URL_SYSTEMVSSCONNECTION: collection,
    ENDPOINT_AUTH_SYSTEMVSSCONNECTION: JSON.stringify({ parameters: { AccessToken: token }, scheme: 'OAuth' }),
    ENDPOINT_AUTH_SCHEME_SYSTEMVSSCONNECTION: 'OAuth',
    ENDPOINT_AUTH_PARAMETER_SYSTEMVSSCONNECTION_ACCESSTOKEN: token,
    BUILD_SOURCEBRANCH: pl.sourceBranch,
    BUILD_SOURCEBRANCHNAME: pl.sourceBranch.split('/').pop() ?? pl.sourceBranch,
  };
  if (repo) {
    env.BUILD_REPOSITORY_NAME = repo.repo.name;
    env.BUILD_REPOSITORY_ID = repo.repo.id;
    env.BUILD_REPOSITORY_URI = remoteUrl(urls, repo);
    env.BUILD_REPOSITORY_PROVIDER = 'TfsGit';
  }
  if (sourceVersion) env.BUILD_SOURCEVERSION = sourceVersion;
  return env;
}
