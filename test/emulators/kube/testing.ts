/**
 * Test helpers for the emulated clusters: client-node clients from the kubeconfigs ARM hands out
 * (or a static token), kubectl with a temporary kubeconfig, the Status body of a failed call, a
 * push to the emulated Azure DevOps repository with the system `git`, and waiting until the
 * simulated Flux controllers are idle (no real sleeping).
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import type { Cloud } from '../cloud';
import { clusterResourceId } from '../azure/clusters';
import { FRESH } from '../names';
import { kubeRuntime } from './index';

export const FRESH_CLUSTER_ID = clusterResourceId(FRESH.subscriptionId, FRESH.resourceGroup, FRESH.clusterName);

/** A KubeConfig for the fresh cluster: the admin (client certificate) kubeconfig, or a static token. */
export function kubeConfig(cloud: Cloud, who: { admin: true } | { token: string }): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  const yaml =
    'admin' in who
      ? cloud.ctx.kube.kubeconfig(FRESH_CLUSTER_ID, 'admin')
      : kubeRuntime(cloud.ctx).tokenKubeconfig(FRESH.clusterName, who.token);
  kc.loadFromString(yaml);
  return kc;
}

/** The Kubernetes Status body of a failed client-node call. */
export async function statusOf(
  p: Promise<unknown>,
): Promise<{ code: number; reason?: string; message?: string; details?: Record<string, unknown> }> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  if (!(e instanceof k8s.ApiException))
    throw new Error(`expected an ApiException, got ${e === undefined ? 'success' : String(e)}`);
  const body =
    typeof e.body === 'string'
      ? (() => {
          try {
            return JSON.parse(e.body as string) as Record<string, unknown>;
          } catch {
            return {};
          }
        })()
      : ((e.body ?? {}) as Record<string, unknown>);
  return {
    code: e.code,
    reason: body.reason as string | undefined,
    message: body.message as string | undefined,
    details: body.details as Record<string, unknown> | undefined,
  };
}

/** Waits until no simulated Flux reconcile is queued or running. */
export function settle(cloud: Cloud): Promise<void> {
  return kubeRuntime(cloud.ctx).settled();
}

export interface Kubectl {
  run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }>;
  cleanup(): void;
}

/** kubectl with its own kubeconfig file and discovery cache in a temporary directory. */
export function kubectl(kubeconfigYaml: string): Kubectl {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubectl-'));
  const file = path.join(dir, 'kubeconfig');
  fs.writeFileSync(file, kubeconfigYaml, { mode: 0o600 });
  return {
    run: (args) =>
      new Promise((resolve) => {
        execFile(
          'kubectl',
          ['--kubeconfig', file, '--cache-dir', path.join(dir, 'cache'), ...args],
          { env: { PATH: process.env.PATH ?? '', HOME: dir } },
          (err, stdout, stderr) => {
            resolve({
              code: err ? (typeof err.code === 'number' ? err.code : 1) : 0,
              stdout: String(stdout),
              stderr: String(stderr),
            });
          },
        );
      }),
    cleanup: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}

function git(args: string[], cwd: string, cloud: Cloud, token?: string): Promise<string> {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: cwd,
    GIT_TERMINAL_PROMPT: '0',
    GIT_SSL_CAINFO: cloud.ctx.ca.caCertPath,
    GIT_AUTHOR_NAME: 'Platform Engineer',
    GIT_AUTHOR_EMAIL: 'platform@contoso.com',
    GIT_COMMITTER_NAME: 'Platform Engineer',
    GIT_COMMITTER_EMAIL: 'platform@contoso.com',
  };
  if (token) {
    env.GIT_CONFIG_COUNT = '1';
    env.GIT_CONFIG_KEY_0 = 'http.extraHeader';
    env.GIT_CONFIG_VALUE_0 = `Authorization: Bearer ${token}`;
  }
  return new Promise((resolve, reject) => {
    execFile('git', args, { cwd, env }, (err, stdout, stderr) =>
      err ? reject(new Error(`git ${args[0]}: ${stderr || err.message}`)) : resolve(String(stdout)),
    );
  });
}

/** The fleet repository's smart-HTTP URL on the emulator. */
export function fleetUrl(cloud: Cloud): string {
  return `${cloud.ctx.urls.devops}/${FRESH.organization}/${FRESH.project}/_git/${FRESH.repository}`;
}

/**
 * Commits files to `main` of the fleet repository and pushes with the build identity's token
 * (System.AccessToken), as a pipeline or an engineer would. `null` deletes a file. Returns the commit.
 */
export async function pushFiles(cloud: Cloud, files: Record<string, string | null>, message: string): Promise<string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fleet-'));
  const token = cloud.ctx.devops.systemAccessToken();
  try {
    await git(['clone', '--quiet', '--branch', FRESH.branch, fleetUrl(cloud), dir], dir, cloud, token);
    for (const [p, content] of Object.entries(files)) {
      const f = path.join(dir, p);
      if (content === null) fs.rmSync(f, { force: true });
      else {
        fs.mkdirSync(path.dirname(f), { recursive: true });
        fs.writeFileSync(f, content);
      }
    }
    await git(['add', '-A'], dir, cloud);
    await git(['commit', '--quiet', '-m', message], dir, cloud);
    await git(['push', '--quiet', 'origin', `HEAD:refs/heads/${FRESH.branch}`], dir, cloud, token);
    return (await git(['rev-parse', 'HEAD'], dir, cloud)).trim();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Reads a file of `main` in the fleet repository. */
export async function readRepoFile(cloud: Cloud, file: string): Promise<string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fleet-'));
  try {
    await git(
      ['clone', '--quiet', '--depth', '1', '--branch', FRESH.branch, fleetUrl(cloud), dir],
      dir,
      cloud,
      cloud.ctx.devops.systemAccessToken(),
    );
    return fs.readFileSync(path.join(dir, file), 'utf8');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export interface PatchOptions {
  clientId: string;
  tenantId?: string;
  /** Where the `azure.workload.identity/use` label goes on the Deployments (default the pod template). */
  labelOn?: 'template' | 'metadata';
  /** Remove the GitRepository's secretRef (default true). */
  removeSecretRef?: boolean;
  serviceAccounts?: string[];
  url?: string;
}

/**
 * The flux-system kustomization.yaml of the article, written by hand: ServiceAccount annotations,
 * the pod-template label, and `provider: azure` + HTTPS URL (+ no secretRef) on the GitRepository —
 * with knobs for the classic mistakes.
 */
export function workloadIdentityKustomization(o: PatchOptions): string {
  const sas = o.serviceAccounts ?? ['source-controller', 'image-automation-controller'];
  const label =
    o.labelOn === 'metadata'
      ? '    metadata:\n      name: NAME\n      namespace: flux-system\n      labels:\n        azure.workload.identity/use: "true"\n'
      : '    metadata:\n      name: NAME\n      namespace: flux-system\n    spec:\n      template:\n        metadata:\n          labels:\n            azure.workload.identity/use: "true"\n';
  const url = o.url ?? `https://dev.azure.com/${FRESH.organization}/${FRESH.project}/_git/${FRESH.repository}`;
  return [
    'apiVersion: kustomize.config.k8s.io/v1beta1',
    'kind: Kustomization',
    'resources:',
    '- gotk-components.yaml',
    '- gotk-sync.yaml',
    'patches:',
    ...sas.flatMap((sa) => [
      '- patch: |-',
      '    apiVersion: v1',
      '    kind: ServiceAccount',
      '    metadata:',
      `      name: ${sa}`,
      '      namespace: flux-system',
      '      annotations:',
      `        azure.workload.identity/client-id: ${o.clientId}`,
      ...(o.tenantId ? [`        azure.workload.identity/tenant-id: ${o.tenantId}`] : []),
      '- patch: |-',
      '    apiVersion: apps/v1',
      '    kind: Deployment',
      ...label.replace('NAME', sa).trimEnd().split('\n'),
    ]),
    '- patch: |-',
    '    apiVersion: source.toolkit.fluxcd.io/v1',
    '    kind: GitRepository',
    '    metadata:',
    '      name: flux-system',
    '      namespace: flux-system',
    '    spec:',
    '      provider: azure',
    `      url: ${url}`,
    ...((o.removeSecretRef ?? true) ? ['      secretRef: null'] : []),
    '',
  ].join('\n');
}
