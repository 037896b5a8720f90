/**
 * FluxManifestPatch@1: inputs -> core -> outputs. The logic lives in core.ts and tasks/common/flux.
 */
import { connectDevOps } from '../common/devops/connection';
import { GitRepository } from '../common/devops/git';
import { DEVOPS_SCOPE } from '../common/auth/types';
import { readMode } from '../common/pipeline/inputs';
import { runTask, versionOf, type TaskContext } from '../common/pipeline/task';
import { UserError } from '../common/report/errors';
import { patchManifests } from './core';
import { readManifestPatchInputs, type ManifestPatchTaskInputs } from './inputs';
import taskJson from './task.json';
import { systemTools } from './tools';

const version = versionOf(taskJson);

/** A bearer token for Azure DevOps: the job's token, or an Entra token of the AzureRM connection. */
async function devopsToken(ctx: TaskContext, inputs: ManifestPatchTaskInputs): Promise<{ token: string; who: string; clientId?: string }> {
  if (inputs.gitAuth === 'systemAccessToken') return { token: ctx.systemAccessToken(), who: "the project's build service identity (the job access token)" };
  const connection = await ctx.azureConnection('azureSubscription');
  const token = await connection.credential.getToken(DEVOPS_SCOPE);
  if (!token?.token) throw new UserError('No Azure DevOps token was issued for the service connection.', { code: 'NoDevOpsToken', fix: 'check the service connection (Project settings > Service connections > Verify)' });
  ctx.log.secret(token.token);
  return { token: token.token, who: `the service connection's principal (${connection.clientId})`, clientId: connection.clientId };
}

async function run(ctx: TaskContext, inputs: ManifestPatchTaskInputs): Promise<void> {
  const outputs = await patchManifests(inputs, {
    mode: ctx.mode,
    log: ctx.log,
    report: ctx.report,
    tools: systemTools,
    tempDir: ctx.tempDir,
    ...(inputs.commitMode !== 'none' ? {
      openRepository: async () => {
        const { token, who, clientId } = await devopsToken(ctx, inputs);
        const connection = await connectDevOps({ orgUrl: inputs.organizationUrl!, token, log: ctx.log, retry: ctx.retry, ...(clientId ? { principal: clientId } : {}) });
        const git = await connection.web.getGitApi();
        return new GitRepository(git, { project: inputs.project!, repository: inputs.repository! }, ctx.log, who);
      },
    } : {}),
  });
  ctx.setOutput('changed', String(outputs.changed));
  ctx.setOutput('changedFiles', outputs.changedFiles.join(','));
  ctx.setOutput('commitId', outputs.commitId);
  ctx.setOutput('pullRequestId', outputs.pullRequestId);
  ctx.setOutput('pullRequestUrl', outputs.pullRequestUrl);
}

void runTask({
  name: 'FluxManifestPatch',
  version,
  readInputs: readManifestPatchInputs,
  // The task's own default is apply (task.json); a misspelt mode is an input error, not a silent apply.
  mode: (_inputs, p) => readMode(p, { name: 'mode', label: 'Mode' }, 'apply'),
  run,
});
