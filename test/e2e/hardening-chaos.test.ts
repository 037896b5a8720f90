/**
 * Chaos (seeded, reproducible, bounded) and the secret scan, over the bundled tasks on the emulated
 * cloud:
 *  - 4 parallel FluxOidcProvision runs for 4 clusters sharing one identity, team and repository,
 *    with 30 % of requests to ARM, Entra ID and Azure DevOps failing (429 with Retry-After, 500,
 *    503, connection resets), slow and failing AKS updates, a busy cluster and access tokens that
 *    expire during the run;
 *  - 2 parallel FluxManifestPatch runs pushing the same change to one branch, under the same faults.
 * A run that fails must say why; it is re-run (same faults) up to twice and must then converge.
 * Figures: runs converged, duplicate credentials / ACEs / memberships / patches, and the writes of a
 * converged re-run (no faults).
 *
 * The secret scan collects every secret of every run (endpoint secrets, the job token, every value
 * the task masked, every JWT that crossed its output, the kubeconfig credentials) and searches for
 * each (raw, base64, base64url, URL-encoded) in what the run leaves: the log, non-secret variables,
 * issues, report attachments, summaries and every file in its temp folder and checkout.
 *
 * CI: 2 seeds; full (HARDENING_FULL=1): 8 seeds.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { runBundledTask, type TaskRun } from '../agent/agent';
import { checkoutBranch, jobAccessToken } from './checkout';
import { E2E_TIME_SCALE, startCloud, type Cloud } from '../emulators/cloud';
import type { FaultRule } from '../emulators/core/faults';
import { FRESH, GIT_SECURITY_NAMESPACE } from '../emulators/names';
import type { CloudState } from '../emulators/state';
import { BASE_SEED, FULL, prng, recordFigures } from '../hardening/figures';

const root = path.resolve(import.meta.dirname, '..', '..');
const PROVISION = path.join(root, 'dist', 'tasks', 'FluxOidcProvision');
const PATCH = path.join(root, 'dist', 'tasks', 'FluxManifestPatch');
const VERIFY = path.join(root, 'dist', 'tasks', 'FluxOidcVerify');
const SEEDS = FULL ? 8 : 2;
const CLUSTERS = [FRESH.clusterName, 'aks-west', 'aks-north', 'aks-east'];
const IDENTITY = 'flux-fleet';
const CLIENT = '3c2b1a09-8f7e-4d6c-9b5a-4e3d2c1b0a99';
const FOLDER = 'clusters/prod/flux-system';

let cloud: Cloud;
let fresh: CloudState;
let work: string;

before(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'chaos-'));
  cloud = await startCloud({ timeScale: E2E_TIME_SCALE, scenario: 'fresh' });
  fresh = structuredClone(cloud.ctx.state);
});

after(async () => {
  await cloud?.stop();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

// ------------------------------------------------------------------------------------ the cloud

const rgOf = (s: CloudState) => s.azure.subscriptions[0]!.resourceGroups.find((g) => g.name === FRESH.resourceGroup)!;

/** Fresh, with 4 clusters (slow, failing-once and busy among them) and short-lived tokens. */
function chaosState(r: () => number): CloudState {
  const s = structuredClone(fresh);
  const rg = rgOf(s);
  const base = rg.clusters.find((c) => c.name === FRESH.clusterName)!;
  for (const name of CLUSTERS.slice(1)) {
    const hex = Math.floor(r() * 0xffffffff)
      .toString(16)
      .padStart(8, '0');
    rg.clusters.push({
      ...structuredClone(base),
      name,
      oidcIssuer: { enabled: false, issuerId: `${hex}-6a4d-4f0e-9f5e-2c7d8a1b9e40` },
    });
  }
  rg.clusters[0]!.lro = { inProgressPolls: 3 }; // slow
  rg.clusters[1]!.lro = { fail: { count: 1, code: 'InternalOperationError', message: 'Upgrade failed' } };
  rg.clusters[2]!.busy = { operation: 'Upgrading', rejections: 2 };
  // Tokens that expire during the run (the clock runs 10x: 5 emulated minutes are 30 real seconds).
  s.azure.tenant.accessTokenLifetimeSeconds = 330;
  return s;
}

function load(s: CloudState): void {
  cloud.ctx.state.azure = s.azure;
  cloud.ctx.state.devops = s.devops;
  cloud.ctx.state.kube = s.kube;
  cloud.ctx.faults.clear();
}

/** 30 % of the requests to each service fail, one of four ways. */
function chaosFaults(seed: number): void {
  cloud.ctx.faults.seed(seed);
  const services = ['arm', 'entra', 'devops', 'vsaex', 'vssps'];
  const kinds: FaultRule[] = [
    { service: '*', kind: '429', retryAfter: 1 },
    { service: '*', kind: '500' },
    { service: '*', kind: '503', retryAfter: 1 },
    { service: '*', kind: 'reset' },
  ];
  // A request meets the rules in turn: 1 - (1 - p)^4 = 0.3 for p = 0.0853.
  for (const service of services) for (const k of kinds) cloud.ctx.faults.add({ ...k, service, probability: 0.0853 });
}

// ------------------------------------------------------------------------------------ runs

/** Every System.AccessToken a run got (jobEnv), for the secret scan. */
const jobTokens: string[] = [];

/**
 * cloud.env with a System.AccessToken of its own, as each pipeline job gets one: the cloud's clock
 * runs 10x, so the token minted when the cloud started (3900 emulated s) would expire in the full set.
 */
function jobEnv(): Record<string, string> {
  const token = cloud.ctx.devops.systemAccessToken();
  jobTokens.push(token);
  return {
    ...cloud.env,
    ENDPOINT_AUTH_SYSTEMVSSCONNECTION: JSON.stringify({ parameters: { AccessToken: token }, scheme: 'OAuth' }),
    ENDPOINT_AUTH_PARAMETER_SYSTEMVSSCONNECTION_ACCESSTOKEN: token,
  };
}

interface Run {
  run: TaskRun;
  tempDir: string;
  cwd?: string;
}

async function provision(cluster: string): Promise<Run> {
  const tempDir = fs.mkdtempSync(path.join(work, 'temp-'));
  const run = await runBundledTask({
    taskDir: PROVISION,
    tempDir,
    env: jobEnv(),
    timeoutMs: 240_000,
    inputs: {
      mode: 'apply',
      azureSubscription: cloud.serviceConnections[FRESH.serviceConnectionName]!,
      resourceGroup: FRESH.resourceGroup,
      clusterName: cluster,
      identityName: IDENTITY,
    },
  });
  return { run, tempDir };
}

function checkout(): Promise<string> {
  return checkoutBranch(cloud, work, `refs/heads/${FRESH.branch}`, jobAccessToken(jobEnv()));
}

async function patch(cwd: string): Promise<Run> {
  const tempDir = fs.mkdtempSync(path.join(work, 'temp-'));
  const run = await runBundledTask({
    taskDir: PATCH,
    cwd,
    tempDir,
    env: jobEnv(),
    timeoutMs: 240_000,
    inputs: { mode: 'apply', fluxSystemPath: FOLDER, clientId: CLIENT, tenantId: FRESH.tenantId, commitMode: 'push' },
  });
  return { run, tempDir, cwd };
}

/** Verify (read-only, for the secret scan: kubeconfig, service-account tokens, the token exchange). */
async function verify(): Promise<Run> {
  const tempDir = fs.mkdtempSync(path.join(work, 'temp-'));
  const run = await runBundledTask({
    taskDir: VERIFY,
    tempDir,
    env: jobEnv(),
    timeoutMs: 240_000,
    inputs: {
      mode: 'apply',
      azureSubscription: cloud.serviceConnections[FRESH.serviceConnectionName]!,
      resourceGroup: FRESH.resourceGroup,
      clusterName: FRESH.clusterName,
      identityName: IDENTITY,
      reconcile: 'false',
      timeoutSeconds: '30',
    },
  });
  return { run, tempDir };
}

const isTokenCall = (p: string) => /\/oauth2\/v2\.0\/token$|\/oidctoken$/i.test(p);

// ------------------------------------------------------------------------------------ duplicates

function duplicates(): { credentials: number; aces: number; memberships: number; principals: number; teams: number } {
  const s = cloud.ctx.state;
  const id = rgOf(s).identities.find((i) => i.name === IDENTITY);
  const fics = id?.federatedIdentityCredentials ?? [];
  const keys = fics.map((f) => `${f.issuer}|${f.subject}`);
  const credentials = keys.length - new Set(keys).size;
  const acl = s.devops.acls.find(
    (a) =>
      a.namespaceId === GIT_SECURITY_NAMESPACE &&
      a.token.toLowerCase() === `repov2/${FRESH.projectId}/${FRESH.repositoryId}`,
  );
  const descriptors = (acl?.aces ?? []).map((a) => a.descriptor.toLowerCase());
  const aces = descriptors.length - new Set(descriptors).size;
  const teams = s.devops.groups.filter((g) => g.kind === 'team' && g.displayName === FRESH.teamName);
  const members = teams.flatMap((t) => t.members);
  const memberships = members.length - new Set(members).size;
  const origins = s.devops.principals.map((p) => p.originId).filter(Boolean);
  return {
    credentials,
    aces,
    memberships,
    principals: origins.length - new Set(origins).size,
    teams: Math.max(0, teams.length - 1),
  };
}

/** Our patch entries in kustomization.yaml: one per target, never two. */
function duplicatePatches(text: string): number {
  const count = (re: RegExp) => (text.match(re) ?? []).length;
  return Math.max(0, count(/azure\.workload\.identity\/client-id:/g) - 1);
}

// ------------------------------------------------------------------------------------ secret scan

const JWT = /eyJ[\w-]{8,}\.eyJ[\w-]{8,}\.[\w-]{8,}/g;

/** Every secret of a run: what the agent masked, endpoint secrets, JWTs in its raw output. */
function secretsOf(r: Run): Set<string> {
  const out = new Set<string>();
  for (const s of r.run.secrets) if (s.length >= 8) out.add(s);
  for (const m of `${r.run.stdout}\n${r.run.stderr}`.matchAll(JWT)) out.add(m[0]);
  for (const t of jobTokens) out.add(t);
  for (const [k, v] of Object.entries(cloud.env)) {
    if (!k.startsWith('ENDPOINT_AUTH_') || !v.startsWith('{')) continue;
    const params = (JSON.parse(v) as { parameters?: Record<string, string> }).parameters ?? {};
    for (const [name, value] of Object.entries(params))
      if (/key|secret|token|certificate|password/i.test(name) && value.length >= 8) out.add(value);
  }
  return out;
}

/** The kubeconfig credentials of the clusters (client keys, tokens), as a run that used them would hold them. */
function kubeSecrets(): Set<string> {
  const out = new Set<string>();
  const s = cloud.ctx.state;
  const sub = s.azure.subscriptions[0]!;
  for (const c of rgOf(s).clusters) {
    const id = `/subscriptions/${sub.id}/resourceGroups/${FRESH.resourceGroup}/providers/Microsoft.ContainerService/managedClusters/${c.name}`;
    let kc: string;
    try {
      kc = cloud.ctx.kube.kubeconfig(id, 'user');
    } catch {
      continue;
    }
    for (const m of kc.matchAll(/(?:client-key-data|client-certificate-data|token|password):\s*(\S{8,})/g))
      out.add(m[1]!);
  }
  return out;
}

function encodings(secret: string): string[] {
  const b = Buffer.from(secret);
  return [...new Set([secret, b.toString('base64'), b.toString('base64url'), encodeURIComponent(secret)])].filter(
    (e) => e.length >= 8,
  );
}

/** Where a run's leftovers are: name -> text. */
function surfaces(r: Run): Map<string, string> {
  const m = new Map<string, string>();
  m.set('log', r.run.log);
  m.set('issues', r.run.issues.map((i) => i.message).join('\n'));
  m.set(
    'variables',
    Object.entries(r.run.variables)
      .filter(([, v]) => !v.isSecret)
      .map(([k, v]) => `${k}=${v.value}`)
      .join('\n'),
  );
  for (const a of r.run.attachments) m.set(`attachment ${a.name}`, a.content ?? '');
  for (const s of r.run.summaries) m.set(`summary ${s.path}`, s.content ?? '');
  for (const dir of [r.tempDir, ...(r.cwd ? [r.cwd] : [])]) {
    for (const e of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
      const abs = path.join(e.parentPath, e.name);
      if (e.isFile() && !abs.includes(`${path.sep}.git${path.sep}`))
        m.set(`file ${abs}`, fs.readFileSync(abs, 'latin1'));
    }
  }
  return m;
}

function leaks(r: Run, extra: Set<string>): string[] {
  const found: string[] = [];
  const secrets = new Set([...secretsOf(r), ...extra]);
  for (const [where, text] of surfaces(r)) {
    for (const s of secrets)
      for (const e of encodings(s))
        if (text.includes(e)) found.push(`${where}: a secret (${s.slice(0, 4)}…, ${s.length} chars)`);
    for (const m of text.matchAll(JWT)) found.push(`${where}: a JWT (${m[0].slice(0, 12)}…)`);
  }
  return found;
}

// ------------------------------------------------------------------------------------ the suite

test(`chaos: ${SEEDS} seeds of 4 parallel Provision runs sharing an identity and 2 parallel Patch runs on one branch, 30 % faults`, async () => {
  let runs = 0;
  let firstTry = 0;
  let converged = 0;
  let gaveUpSilently = 0;
  let scanned = 0;
  const dup = { credentials: 0, aces: 0, memberships: 0, principals: 0, teams: 0, patches: 0 };
  const rerunWrites: string[] = [];
  const leaked: string[] = [];
  const problems: string[] = [];
  const kube = kubeSecrets();

  for (let i = 0; i < SEEDS; i++) {
    const seed = BASE_SEED + i;
    load(chaosState(prng(seed)));
    // The agent's checkouts happen before the faults (they are the agent's, not the tasks').
    const dirs = await Promise.all([checkout(), checkout()]);
    chaosFaults(seed);

    // Provision: 4 clusters at once, one identity; failed runs re-run (same faults) up to twice.
    let batch = await Promise.all(CLUSTERS.map((c) => provision(c)));
    const all: Run[] = [...batch];
    runs += CLUSTERS.length;
    firstTry += batch.filter((b) => b.run.result !== 'Failed').length;
    let pending = CLUSTERS.filter((_, k) => batch[k]!.run.result === 'Failed');
    for (const b of batch)
      if (b.run.result === 'Failed' && !/Fix:|fix|re-run|check/i.test(b.run.message)) {
        gaveUpSilently++;
        problems.push(`seed ${seed}: a failed run does not say what to do: ${b.run.message}`);
      }
    for (let attempt = 0; attempt < 2 && pending.length > 0; attempt++) {
      batch = await Promise.all(pending.map((c) => provision(c)));
      all.push(...batch);
      pending = pending.filter((_, k) => batch[k]!.run.result === 'Failed');
    }
    converged += CLUSTERS.length - pending.length;
    for (const c of pending) problems.push(`seed ${seed}: ${c} did not converge: ${all.at(-1)!.run.message}`);

    // Patch: two runs push the same change to main at once.
    let patches = await Promise.all(dirs.map((d) => patch(d)));
    all.push(...patches);
    runs += 2;
    firstTry += patches.filter((p) => p.run.result !== 'Failed').length;
    for (let attempt = 0; attempt < 2 && patches.some((p) => p.run.result === 'Failed'); attempt++) {
      patches = await Promise.all(patches.map((p) => (p.run.result === 'Failed' ? patch(p.cwd!) : Promise.resolve(p))));
      all.push(...patches);
    }
    converged += patches.filter((p) => p.run.result !== 'Failed').length;
    for (const p of patches)
      if (p.run.result === 'Failed') problems.push(`seed ${seed}: a Patch run did not converge: ${p.run.message}`);

    const d = duplicates();
    cloud.ctx.faults.clear();
    const final = fs.readFileSync(path.join(await checkout(), FOLDER, 'kustomization.yaml'), 'utf8');
    for (const k of Object.keys(d) as (keyof typeof d)[]) dup[k] += d[k];
    dup.patches += duplicatePatches(final);

    // The converged re-run, without faults: no writes.
    const mark = cloud.ctx.journal.mark();
    const again = await Promise.all([...CLUSTERS.map((c) => provision(c)), patch(await checkout())]);
    all.push(...again);
    for (const a of again)
      if (a.run.result === 'Failed') problems.push(`seed ${seed}: converged re-run failed: ${a.run.message}`);
    rerunWrites.push(
      ...cloud.ctx.journal
        .writes({ since: mark })
        .filter((e) => !isTokenCall(e.path))
        .map((e) => `seed ${seed}: ${e.service} ${e.method} ${e.path}`),
    );

    all.push(await verify());
    for (const r of all) {
      scanned++;
      leaked.push(...leaks(r, kube));
    }
  }

  const dupTotal = Object.values(dup).reduce((a, b) => a + b, 0);
  recordFigures('chaos', [
    {
      figure: 'runs (seeds x 6) succeeding at once under 30 % faults',
      value: `${firstTry}/${runs}`,
      goal: '-',
      met: true,
    },
    {
      figure: 'runs converged (after <= 2 re-runs, same faults)',
      value: `${converged}/${runs}`,
      goal: '100 %',
      met: converged === runs,
    },
    { figure: 'failed runs that do not say why', value: String(gaveUpSilently), goal: '0', met: gaveUpSilently === 0 },
    {
      figure: 'duplicate credentials / ACEs / memberships / principals / teams / patches',
      value: `${dup.credentials} / ${dup.aces} / ${dup.memberships} / ${dup.principals} / ${dup.teams} / ${dup.patches}`,
      goal: '0',
      met: dupTotal === 0,
    },
    {
      figure: 'writes on the converged re-run',
      value: String(rerunWrites.length),
      goal: '0',
      met: rerunWrites.length === 0,
    },
  ]);
  recordFigures('secrets', [
    {
      figure: 'runs scanned (log, variables, issues, reports, summaries, temp files)',
      value: String(scanned),
      goal: '-',
      met: true,
    },
    {
      figure: 'leaks (raw, base64, base64url, URL-encoded; any JWT)',
      value: String(leaked.length),
      goal: '0',
      met: leaked.length === 0,
    },
  ]);
  assert.deepEqual(problems, []);
  assert.deepEqual(rerunWrites, []);
  assert.equal(dupTotal, 0, JSON.stringify(dup));
  assert.deepEqual([...new Set(leaked)], []);
});
