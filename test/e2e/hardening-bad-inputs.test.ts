/**
 * The bad-input catalogue: malformed GUIDs, names that break ARM, Kubernetes or federated-credential
 * rules, URLs with injection attempts and unsupported schemes, paths escaping the working
 * directory (also through a symlink), empty and huge values, wrong connection ids, pick-list values
 * that do not exist, a YAML alias bomb. Each one goes through the bundled task as the agent runs it
 * and must fail before any write, with a message that names the input and says what to do; the
 * call journal shows 0 writes and the checkout is byte-identical.
 *
 * CI: a seeded sample of 24 cases; full (HARDENING_FULL=1): every case.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { runBundledTask, type TaskRun } from '../agent/agent';
import { checkoutSelf } from '../agent/checkout';
import { E2E_TIME_SCALE, startCloud, type Cloud } from '../emulators/cloud';
import { FRESH } from '../emulators/names';
import { BASE_SEED, FULL, prng, recordFigures } from '../hardening/figures';

const root = path.resolve(import.meta.dirname, '..', '..');
const FOLDER = 'clusters/prod/flux-system';
const CLIENT = '3c2b1a09-8f7e-4d6c-9b5a-4e3d2c1b0a99';
const NO_SUCH_CONNECTION = '00000000-0000-0000-0000-000000000000';
type TaskName = 'FluxOidcProvision' | 'FluxManifestPatch' | 'FluxOidcVerify';

interface Case {
  task: TaskName;
  /** The input the message must name. */
  input: string;
  value: string;
  why: string;
  /** Other inputs this case needs. */
  with?: Record<string, string>;
  /** What the message must name instead of the input (a bad file names the file). */
  names?: RegExp;
  /** Prepares the checkout (Patch only). */
  setup?: (checkout: string) => void;
}

const long = (n: number, c = 'a') => c.repeat(n);
const ALIAS_BOMB = [
  'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
  ...Array.from({ length: 8 }, (_, i) => {
    const x = String.fromCharCode(98 + i);
    const prev = String.fromCharCode(97 + i);
    return `${x}: &${x} [*${prev},*${prev},*${prev},*${prev},*${prev},*${prev},*${prev},*${prev},*${prev}]`;
  }),
  'resources: [*i]',
  '',
].join('\n');

const P = (input: string, value: string, why: string, extra: Partial<Case> = {}): Case => ({
  task: 'FluxOidcProvision',
  input,
  value,
  why,
  ...extra,
});
const M = (input: string, value: string, why: string, extra: Partial<Case> = {}): Case => ({
  task: 'FluxManifestPatch',
  input,
  value,
  why,
  ...extra,
});
const V = (input: string, value: string, why: string, extra: Partial<Case> = {}): Case => ({
  task: 'FluxOidcVerify',
  input,
  value,
  why,
  ...extra,
});

const CASES: Case[] = [
  P('mode', 'destroy', 'not a mode'),
  P('azureSubscription', NO_SUCH_CONNECTION, 'a connection the job does not have'),
  P('azureSubscription', 'not-a-guid', 'malformed connection id'),
  P('resourceGroup', 'rg with spaces', 'ARM name rules'),
  P('resourceGroup', long(91), 'too long'),
  P('resourceGroup', 'rg/../../providers/x', 'path injection'),
  P('clusterName', 'aks_prod!', 'AKS name rules'),
  P('clusterName', '-aks', 'starts with a hyphen'),
  P('clusterName', long(64), 'too long'),
  P('clusterName', 'aks%2F..%2Fother', 'encoded path injection'),
  P('identityName', 'id entity', 'managed identity name rules'),
  P('identityName', long(129), 'too long'),
  P('identityResourceGroup', 'rg?api-version=1', 'query injection'),
  P('identityLocation', 'west europe!', 'not a region'),
  P('fluxNamespace', 'Flux_System', 'Kubernetes namespace rules'),
  P('fluxNamespace', long(64), 'too long for a namespace'),
  P('serviceAccounts', 'source-controller\nBad_SA', 'service account name rules'),
  P('federatedCredentialName', 'flux-{unknown}', 'unknown placeholder'),
  P('federatedCredentialName', 'x', 'too short for a federated credential'),
  P('federatedCredentialName', '{serviceAccount}!', 'federated credential name rules'),
  P('organizationUrl', 'http://dev.azure.com/contoso', 'plain http'),
  P('organizationUrl', 'ftp://dev.azure.com/contoso', 'unsupported scheme'),
  P('organizationUrl', 'javascript:alert(1)', 'script scheme'),
  P('organizationUrl', 'https://evil.example@dev.azure.com/contoso', 'credentials in the URL'),
  P('organizationUrl', 'https://dev.azure.com/contoso?x=<script>', 'query injection'),
  P('project', 'proj/../other', 'path injection'),
  P('repository', 'repo\nname', 'newline injection'),
  P('teamName', long(300), 'too long for a team'),
  P('permissions', 'read,admin', 'not a permission'),
  P('licenseType', 'gold', 'not an access level'),
  P('clusterUpdateTimeoutMinutes', 'abc', 'not a number'),
  P('clusterUpdateTimeoutMinutes', '-5', 'negative'),
  P('clusterUpdateTimeoutMinutes', '100000', 'absurdly long'),
  P('enableClusterFeatures', 'maybe', 'not a boolean'),
  P('devopsConnection', NO_SUCH_CONNECTION, 'a connection the job does not have'),
  M('fluxSystemPath', '../../etc', 'escapes the working directory'),
  M('fluxSystemPath', '/etc', 'absolute path outside the working directory'),
  M('fluxSystemPath', 'clusters/link/flux-system', 'escapes through a symlink', {
    setup: (dir) => fs.symlinkSync(os.tmpdir(), path.join(dir, 'clusters', 'link')),
  }),
  M('fluxSystemPath', 'clusters/missing/flux-system', 'does not exist'),
  M('clientId', 'not-a-guid', 'malformed GUID'),
  M('clientId', `${CLIENT}' ; rm -rf /`, 'shell injection'),
  M('clientId', long(100_000), 'huge value'),
  M('tenantId', 'contoso', 'malformed GUID'),
  M('serviceAccounts', 'source-controller,Bad!', 'service account name rules'),
  M('commitMode', 'force', 'not a commit mode'),
  M('gitAuth', 'password', 'not an auth mode', { with: { commitMode: 'push' } }),
  M('targetBranch', 'main..x', 'not a valid branch name', { with: { commitMode: 'push' } }),
  M('pullRequestBranch', 'bad branch name', 'not a valid branch name', { with: { commitMode: 'pullRequest' } }),
  M('gitRepositoryName', 'Flux System', 'Kubernetes name rules'),
  M('minimumFluxVersion', '2.x', 'not a version'),
  M('workingDirectory', '/nonexistent/dir', 'does not exist'),
  M('azureSubscription', NO_SUCH_CONNECTION, 'a connection the job does not have', {
    with: { commitMode: 'push', gitAuth: 'serviceConnection' },
  }),
  M('fluxSystemPath', FOLDER, 'a YAML alias bomb in kustomization.yaml', {
    names: /flux-system\/kustomization\.yaml/,
    setup: (dir) => fs.writeFileSync(path.join(dir, FOLDER, 'kustomization.yaml'), ALIAS_BOMB),
  }),
  V('mode', 'delete', 'not a mode'),
  V('resourceGroup', 'rg with space', 'ARM name rules'),
  V('clusterName', 'bad!name', 'AKS name rules'),
  V('clientId', 'nope', 'malformed GUID'),
  V('clusterCredentials', 'root', 'not a credential kind'),
  V('fluxNamespace', 'Flux', 'Kubernetes namespace rules'),
  V('checks', 'azure,dns', 'not a check group'),
  V('timeoutSeconds', 'x', 'not a number'),
  V('timeoutSeconds', '-1', 'negative'),
  V('failOn', 'never', 'not a failOn value'),
  V('organizationUrl', 'http://dev.azure.com/contoso', 'plain http'),
  V('kubernetesServiceConnection', NO_SUCH_CONNECTION, 'a connection the job does not have'),
  V('gitRepositoryName', 'Bad Name', 'Kubernetes name rules'),
  V('kustomizationName', long(300), 'too long for a Kubernetes name'),
  V('serviceAccounts', 'a b', 'service account name rules'),
  V('identityResourceGroup', 'rg%2F..', 'encoded path injection'),
  V('retireStaticCredentials', 'perhaps', 'not a boolean'),
];

let cloud: Cloud;
let work: string;
let pristine: string;

before(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'bad-inputs-'));
  cloud = await startCloud({ timeScale: E2E_TIME_SCALE, scenario: 'fresh' });
  pristine = path.join(work, 'pristine');
  const token = (JSON.parse(cloud.env.ENDPOINT_AUTH_SYSTEMVSSCONNECTION!) as { parameters: { AccessToken: string } })
    .parameters.AccessToken;
  const r = await checkoutSelf({
    repositoryUrl: cloud.env.BUILD_REPOSITORY_URI!,
    sourceBranch: `refs/heads/${FRESH.branch}`,
    accessToken: token,
    dir: pristine,
    caFile: cloud.env.NODE_EXTRA_CA_CERTS!,
    persistCredentials: false,
  });
  assert.ok(r.ok, r.error);
});

after(async () => {
  await cloud?.stop();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

function baseInputs(task: TaskName): Record<string, string> {
  const conn = cloud.serviceConnections[FRESH.serviceConnectionName]!;
  if (task === 'FluxManifestPatch')
    return { mode: 'apply', fluxSystemPath: FOLDER, clientId: CLIENT, tenantId: FRESH.tenantId, commitMode: 'none' };
  return { mode: 'apply', azureSubscription: conn, resourceGroup: FRESH.resourceGroup, clusterName: FRESH.clusterName };
}

/** Every file under a directory (not following symlinks), for "byte-identical". */
function tree(dir: string): string {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
    const abs = path.join(e.parentPath, e.name);
    if (abs.includes(`${path.sep}.git${path.sep}`)) continue;
    if (e.isFile()) out.push(`${path.relative(dir, abs)}:${fs.readFileSync(abs).toString('base64')}`);
  }
  return out.sort().join('\n');
}

interface Verdict {
  ok: boolean;
  problems: string[];
  run: TaskRun;
}

async function runCase(c: Case, index: number): Promise<Verdict> {
  const taskDir = path.join(root, 'dist', 'tasks', c.task);
  const json = JSON.parse(fs.readFileSync(path.join(taskDir, 'task.json'), 'utf8')) as {
    inputs: { name: string; label?: string }[];
  };
  const label = json.inputs.find((i) => i.name === c.input)?.label ?? c.input;
  let cwd: string | undefined;
  if (c.task === 'FluxManifestPatch') {
    cwd = path.join(work, `case-${index}`);
    fs.cpSync(pristine, cwd, { recursive: true });
    c.setup?.(cwd);
  }
  const before = cwd ? tree(cwd) : '';
  const mark = cloud.ctx.journal.mark();
  const run = await runBundledTask({
    taskDir,
    ...(cwd ? { cwd } : {}),
    env: cloud.env,
    timeoutMs: 60_000,
    inputs: { ...baseInputs(c.task), ...c.with, [c.input]: c.value },
  });
  const writes = cloud.ctx.journal
    .writes({ since: mark })
    .filter((e) => !/\/oauth2\/v2\.0\/token$|\/oidctoken$/i.test(e.path));
  const problems: string[] = [];
  if (run.result !== 'Failed') problems.push(`result ${run.result}`);
  const msg = run.message.toLowerCase();
  const named = c.names
    ? c.names.test(run.message)
    : msg.includes(c.input.toLowerCase()) || msg.includes(label.toLowerCase());
  if (!named) problems.push(`the message does not name ${c.input} ('${label}'): ${run.message.slice(0, 300)}`);
  if (
    !/fix|use |set |must|expected|check|give|choose|one of|between|at most|at least|allowed|remove|replace/i.test(
      run.message,
    )
  )
    problems.push(`the message does not say what to do: ${run.message.slice(0, 300)}`);
  if (writes.length > 0) problems.push(`writes: ${writes.map((w) => `${w.method} ${w.path}`).join(', ')}`);
  if (cwd && tree(cwd) !== before) problems.push('the checkout changed');
  if (cwd) fs.rmSync(cwd, { recursive: true, force: true });
  return { ok: problems.length === 0, problems, run };
}

/** The cases of this run: all of them (full), or a seeded sample that keeps each task represented. */
function selected(): Case[] {
  if (FULL) return CASES;
  const r = prng(BASE_SEED);
  const shuffled = CASES.map((c) => ({ c, k: r() })).sort((a, b) => a.k - b.k);
  const out: Case[] = [];
  for (const task of ['FluxOidcProvision', 'FluxManifestPatch', 'FluxOidcVerify'] as const)
    out.push(
      ...shuffled
        .filter((x) => x.c.task === task)
        .slice(0, 8)
        .map((x) => x.c),
    );
  return out;
}

test(`bad-input catalogue (${CASES.length} cases): each fails before any write, naming the input and the fix`, async () => {
  const cases = selected();
  const failures: string[] = [];
  let next = 0;
  const worker = async () => {
    while (next < cases.length) {
      const i = next++;
      const c = cases[i]!;
      const v = await runCase(c, i);
      if (!v.ok)
        failures.push(
          `${c.task} ${c.input}=${JSON.stringify(c.value.slice(0, 60))} (${c.why}): ${v.problems.join('; ')}`,
        );
    }
  };
  await Promise.all([worker(), worker(), worker()]);
  const writes = failures.filter((f) => f.includes('writes:') || f.includes('checkout changed')).length;
  recordFigures('bad-inputs', [
    {
      figure: 'catalogue size (cases run)',
      value: `${CASES.length} (${cases.length})`,
      goal: '>= 60',
      met: CASES.length >= 60,
    },
    {
      figure: 'failed before any write, naming input and fix',
      value: `${cases.length - failures.length}/${cases.length}`,
      goal: 'all',
      met: failures.length === 0,
    },
    { figure: 'runs with a write or a changed checkout', value: String(writes), goal: '0', met: writes === 0 },
  ]);
  assert.deepEqual(failures, []);
});
