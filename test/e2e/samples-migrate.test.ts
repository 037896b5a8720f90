/**
 * samples/migrate-from-ssh.yml, run by the local pipeline runner against the emulated cloud: a
 * cluster bootstrapped with an SSH deploy key (the `fresh` scenario) or a PAT moves to workload
 * identity through a pull request. Run 1 provisions and opens the pull request (Prove is skipped,
 * Flux keeps its key); a reviewer completes the pull request; run 2 (what the merge triggers) finds
 * nothing to change, and Prove verifies the chain and deletes the old flux-system Git Secret.
 *
 * Needs the build (npm run build) and the test CA (node scripts/test.mjs sets it up).
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import * as azdev from 'azure-devops-node-api';
import { PullRequestStatus } from 'azure-devops-node-api/interfaces/GitInterfaces';
import { runPipeline, type PipelineRun } from '../agent/pipeline';
import { E2E_TIME_SCALE, startCloud, type Cloud } from '../emulators/cloud';
import { RETIRE_ROLE } from '../emulators/kube/scenario';
import { bindClusterRoleIn } from './cluster-view';
import { kubeRuntime } from '../emulators/kube/index';
import { FRESH } from '../emulators/names';
import { gotkSyncYaml } from '../emulators/kube/flux/install';
import { pushFiles } from '../emulators/kube/testing';

const root = path.resolve(import.meta.dirname, '..', '..');
const TASKS_DIR = path.join(root, 'dist', 'tasks');
const SAMPLE = path.join(root, 'samples', 'migrate-from-ssh.yml');

async function run(cloud: Cloud): Promise<{ run: PipelineRun; log: string }> {
  let log = '';
  const r = await runPipeline({ file: SAMPLE, cloud, tasksDir: TASKS_DIR, print: (t) => void (log += t) });
  if (process.env.E2E_SHOW) console.log(log);
  return { run: r, log };
}

const stage = (r: PipelineRun, name: string) => r.stages.find((s) => s.name === name)!;
const step = (r: PipelineRun, name: string) => r.steps.find((s) => s.name === name)!;

function gitSecret(cloud: Cloud) {
  return cloud.ctx.state.kube.clusters[FRESH.clusterName]!.objects.find(
    (x) =>
      x.kind === 'Secret' &&
      x.metadata.name === 'flux-system' &&
      x.metadata.namespace === FRESH.fluxNamespace &&
      !x.metadata.deletionTimestamp,
  );
}

function gitRepository(cloud: Cloud) {
  return cloud.ctx.state.kube.clusters[FRESH.clusterName]!.objects.find(
    (x) => x.kind === 'GitRepository' && x.metadata.name === 'flux-system',
  ) as { spec: { provider?: string; secretRef?: { name: string }; url: string } } | undefined;
}

/** A reviewer completes the pull request in Azure DevOps (the Git REST API, through the real client). */
async function completePullRequest(cloud: Cloud, id: number): Promise<void> {
  const auth = JSON.parse(cloud.env.ENDPOINT_AUTH_SYSTEMVSSCONNECTION!) as { parameters: { AccessToken: string } };
  const api = new azdev.WebApi(cloud.env.SYSTEM_COLLECTIONURI!, azdev.getBearerHandler(auth.parameters.AccessToken));
  const git = await api.getGitApi();
  const pr = await git.getPullRequest(FRESH.repository, id, FRESH.project);
  assert.equal(pr.status, PullRequestStatus.Active);
  const done = await git.updatePullRequest(
    { status: PullRequestStatus.Completed, lastMergeSourceCommit: pr.lastMergeSourceCommit },
    FRESH.repository,
    id,
    FRESH.project,
  );
  assert.equal(done.status, PullRequestStatus.Completed);
}

const BOOTSTRAPS: { name: string; secretKeys: string[]; mutate?: (cloud: Cloud) => Promise<void> }[] = [
  { name: 'an SSH deploy key', secretKeys: ['identity', 'identity.pub', 'known_hosts'] },
  {
    name: 'a PAT',
    secretKeys: ['password', 'username'],
    mutate: async (cloud) => {
      // `flux bootstrap git --token-auth`: an HTTPS URL in gotk-sync.yaml and a username/password Secret.
      const url = `https://dev.azure.com/${FRESH.organization}/${FRESH.project}/_git/${FRESH.repository}`;
      Object.assign(cloud.ctx.state.kube.clusters[FRESH.clusterName]!.bootstrap!, { secretType: 'basic', url });
      await pushFiles(
        cloud,
        { [`${FRESH.clusterPath}/flux-system/gotk-sync.yaml`]: gotkSyncYaml({ url, path: FRESH.clusterPath }) },
        'PAT bootstrap',
      );
    },
  },
];

describe('samples/migrate-from-ssh.yml', () => {
  for (const b of BOOTSTRAPS) {
    it(`moves a cluster bootstrapped with ${b.name} to OIDC through a pull request, then retires the old secret`, async () => {
      for (const t of ['FluxOidcProvision', 'FluxManifestPatch', 'FluxOidcVerify'])
        assert.ok(fs.existsSync(path.join(TASKS_DIR, t, 'main.js')), `run npm run build first (${t})`);
      const cloud = await startCloud({ timeScale: E2E_TIME_SCALE, scenario: 'fresh' });
      try {
        await b.mutate?.(cloud);
        const rt = kubeRuntime(cloud.ctx);
        await rt.cluster(FRESH.clusterName)!.ensureBooted();
        await rt.settled();
        // retireStaticCredentials needs the README's extra role (read and delete the Git secret).
        bindClusterRoleIn(cloud, RETIRE_ROLE.name);
        const before = gitSecret(cloud);
        assert.ok(before, 'the bootstrap left its Git secret');
        assert.deepEqual(Object.keys(before.data as object).sort(), [...b.secretKeys].sort());
        assert.equal(gitRepository(cloud)?.spec.secretRef?.name, 'flux-system');

        // Run 1, by hand: the identity and a pull request; Prove waits for the merge.
        const first = await run(cloud);
        assert.equal(first.run.result, 'Succeeded', first.log);
        assert.equal(step(first.run, 'patch').outputs['patch.changed'], 'true');
        const prId = Number(step(first.run, 'patch').outputs['patch.pullRequestId']);
        assert.ok(prId > 0, first.log);
        assert.ok(stage(first.run, 'Prove').skipped, 'Prove waits until the pull request is merged');
        assert.ok(gitSecret(cloud), 'the old secret stays while the pull request is open');
        assert.equal(gitRepository(cloud)?.spec.provider, undefined, 'Flux still uses its old key');

        await completePullRequest(cloud, prId);

        // Run 2, triggered by the merge: nothing to propose, so Prove runs.
        const second = await run(cloud);
        assert.equal(second.run.result, 'Succeeded', second.log);
        assert.equal(step(second.run, 'patch').outputs['patch.changed'], 'false', second.log);
        assert.equal(stage(second.run, 'Prove').result, 'Succeeded', second.log);
        const verify = step(second.run, 'verify');
        assert.equal(verify.outputs['verify.verified'], 'true', verify.log);
        assert.match(verify.log, /deleted secret flux-system\/flux-system/);
        assert.equal(gitSecret(cloud), undefined, 'the old secret is gone');
        const repo = gitRepository(cloud)!;
        assert.equal(repo.spec.provider, 'azure');
        assert.equal(repo.spec.secretRef, undefined);
        const summary = second.run.summaries.find((s) => s.path.endsWith('FluxOidcVerify.md'))!;
        assert.match(summary.content, /the old Git secret was deleted/);
      } finally {
        await cloud.stop();
      }
    });
  }
});
