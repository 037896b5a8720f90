/**
 * FluxManifestPatch@1: inputs -> common/patch/run.ts -> outputs (manifest logic in common/flux).
 */
import type { DevOpsConnectRequest } from '../common/devops/connection';
import { JOB_TOKEN_HOLDER, serviceConnectionHolder, type TokenHolder } from '../common/devops/errors';
import { GitRepository } from '../common/devops/git';
import { readMode } from '../common/pipeline/inputs';
import { runTask, versionOf, type TaskContext } from '../common/pipeline/task';
import { patchManifests } from '../common/patch/run';
import { readManifestPatchInputs, type ManifestPatchTaskInputs } from './inputs';
import taskJson from './task.json';
import { systemTools } from '../common/patch/tools';

const version = versionOf(taskJson);

/**
 * A bearer token for Azure DevOps and who holds it: the job's token, or an Entra token of the
 * AzureRM connection (refreshed by the connection). Error texts offer the other gitAuth as the way out.
 */
async function devopsToken(
  ctx: TaskContext,
  inputs: ManifestPatchTaskInputs,
): Promise<{ token: DevOpsConnectRequest['token']; holder: TokenHolder }> {
  if (inputs.gitAuth === 'systemAccessToken') {
    const job = JOB_TOKEN_HOLDER;
    return {
      token: ctx.systemAccessToken(),
      holder: {
        ...job,
        unauthorized: { ...job.unauthorized, fix: `${job.unauthorized.fix}, or use gitAuth: serviceConnection` },
        alternative: 'use gitAuth: serviceConnection with a service connection whose principal has it',
      },
    };
  }
  const connection = await ctx.azureConnection('azureSubscription');
  const { devopsTokenFor } = await import('../common/devops/connection');
  const token = () => devopsTokenFor(connection, ctx.log);
  const holder = serviceConnectionHolder(`client id ${connection.clientId}`, 'azureSubscription');
  return { token, holder: { ...holder, alternative: `${holder.alternative}, or use gitAuth: systemAccessToken` } };
}

async function run(ctx: TaskContext, inputs: ManifestPatchTaskInputs): Promise<void> {
  const outputs = await patchManifests(inputs, {
    mode: ctx.mode,
    log: ctx.log,
    report: ctx.report,
    tools: systemTools,
    tempDir: ctx.tempDir,
    retry: ctx.retry,
    ...(inputs.commitMode !== 'none'
      ? {
          openRepository: async () => {
            const { token, holder } = await devopsToken(ctx, inputs);
            const connection = await ctx.devops({
              orgUrl: inputs.organizationUrl!,
              token,
              holder,
              urlSource: "System.CollectionUri (the build repository's organization)",
            });
            const git = await connection.git();
            return new GitRepository(
              git,
              { project: inputs.project!, repository: inputs.repository! },
              ctx.log,
              holder,
            );
          },
        }
      : {}),
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
