/**
 * The README's "Rights the service connection needs", proved: FluxOidcVerify runs on each of the
 * three AKS cluster kinds (local accounts; Entra + Kubernetes RBAC; Entra + Azure RBAC) with
 * exactly the documented rights and passes, and with one right less fails naming the refused call
 * and the fix. FluxOidcProvision runs with the narrow Azure alternative the README documents.
 *
 * One cloud (the converged scenario); the cluster's kind (aadProfile), the Azure role assignments
 * and the cluster's RBAC objects are changed between runs, as an administrator would change them.
 * Needs the build (npm run build) and the test CA (node scripts/test.mjs sets it up).
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { runBundledTask, type TaskRun } from '../agent/agent';
import { clusterResourceId } from '../emulators/azure/clusters';
import type { ClusterState, RoleAssignmentState } from '../emulators/azure/model';
import { E2E_TIME_SCALE, startCloud, type Cloud } from '../emulators/cloud';
import { kubeRuntime } from '../emulators/kube/index';
import type { KubeObject, KubeRoleState } from '../emulators/kube/model';
import { RETIRE_ROLE, VERIFY_ROLE } from '../emulators/kube/scenario';
import { FRESH } from '../emulators/names';

const root = path.resolve(import.meta.dirname, '..', '..');
const TASK_DIR = path.join(root, 'dist', 'tasks');
const README = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
const SUB = `/subscriptions/${FRESH.subscriptionId}`;
const RG = `${SUB}/resourceGroups/${FRESH.resourceGroup}`;
const AKS_ID = clusterResourceId(FRESH.subscriptionId, FRESH.resourceGroup, FRESH.clusterName);
const SC = FRESH.serviceConnectionObjectId;
const RBAC = 'rbac.authorization.k8s.io';

let cloud: Cloud;
let tempDir: string;

before(async () => {
  assert.ok(fs.existsSync(path.join(TASK_DIR, 'FluxOidcVerify', 'main.js')), 'run npm run build first');
  tempDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rights-e2e-'));
  cloud = await startCloud({ timeScale: E2E_TIME_SCALE, scenario: 'converged' });
  const rt = kubeRuntime(cloud.ctx);
  await rt.cluster(FRESH.clusterName)!.ensureBooted();
  await rt.settled();
});

after(async () => {
  await cloud?.stop();
  if (tempDir) fs.rmSync(tempDir, { recursive: true, force: true });
});

// ------------------------------------------------------------------------ the README's documents

/** The YAML blocks of the README that are ClusterRoles, by name. */
function readmeClusterRoles(): Record<string, KubeRoleState['rules']> {
  const out: Record<string, KubeRoleState['rules']> = {};
  for (const m of README.matchAll(/```yaml\n([\s\S]*?)```/g)) {
    const doc = parseYaml(m[1]!) as { kind?: string; metadata?: { name: string }; rules?: KubeRoleState['rules'] };
    if (doc?.kind === 'ClusterRole' && doc.metadata) out[doc.metadata.name] = doc.rules ?? [];
  }
  return out;
}

/** The README's `az role definition create --role-definition '{…}'` document. */
function readmeCustomRole(): { Name: string; Actions: string[]; DataActions: string[] } {
  const m = /az role definition create --role-definition '(\{[\s\S]*?\})'/.exec(README);
  assert.ok(m, 'the README shows the custom role definition');
  return JSON.parse(m[1]!) as { Name: string; Actions: string[]; DataActions: string[] };
}

/** The README's `az role assignment create … --role "X" --scope "Y"` lines, as (role, scope) with our ids. */
function readmeAssignments(): { role: string; scope: string }[] {
  const text = README.replace(/\\\n\s*/g, '');
  return [...text.matchAll(/az role assignment create [^\n]*--role "([^"]+)" --scope "([^"]+)"/g)].map((m) => ({
    role: m[1]!,
    scope: m[2]!
      .replace('$AKS_ID', AKS_ID)
      .replace('<subscription id>', FRESH.subscriptionId)
      .replace('<identity resource group>', FRESH.resourceGroup),
  }));
}

// ------------------------------------------------------------------------ the cloud, changed

function clusterState(): ClusterState {
  return cloud.ctx.state.azure.subscriptions[0]!.resourceGroups[0]!.clusters.find((c) => c.name === FRESH.clusterName)!;
}

type Kind = 'local' | 'kubernetes-rbac' | 'azure-rbac';

function setKind(kind: Kind): void {
  const c = clusterState();
  if (kind === 'local') delete c.aadProfile;
  else c.aadProfile = { managed: true, enableAzureRbac: kind === 'azure-rbac' };
}

function setAssignments(list: { role: string; scope: string }[]): void {
  cloud.ctx.state.azure.roleAssignments = list.map((a): RoleAssignmentState => ({ principalId: SC, ...a }));
}

const store = () => kubeRuntime(cloud.ctx).cluster(FRESH.clusterName)!.store;

/** Replaces the rules of the cluster's flux-oidc-verify ClusterRole. */
function setVerifyRules(rules: KubeRoleState['rules']): void {
  const def = store().byKind(RBAC, 'ClusterRole')!;
  const live = store().get(def, undefined, VERIFY_ROLE.name)!;
  store().update(def, { ...live, rules: structuredClone(rules) });
}

/** Binds (or unbinds) flux-oidc-verify to the service connection in flux-system. */
function bindVerify(on: boolean): void {
  const def = store().byKind(RBAC, 'RoleBinding')!;
  for (const b of store().list(def, FRESH.fluxNamespace))
    if ((b.roleRef as { name?: string }).name === VERIFY_ROLE.name)
      store().delete(def, FRESH.fluxNamespace, b.metadata.name);
  if (!on) return;
  const binding: KubeObject = {
    apiVersion: `${RBAC}/v1`,
    kind: 'RoleBinding',
    metadata: { name: VERIFY_ROLE.name, namespace: FRESH.fluxNamespace },
    roleRef: { apiGroup: RBAC, kind: 'ClusterRole', name: VERIFY_ROLE.name },
    subjects: [{ apiGroup: RBAC, kind: 'User', name: SC }],
  };
  store().create(def, binding);
}

function setCustomRole(dataActions: string[]): void {
  const r = readmeCustomRole();
  cloud.ctx.state.azure.roleDefinitions = [
    {
      id: '5d1c3a9e-8f2b-4e7a-9c6d-1b0a2f3e4d5c',
      roleName: r.Name,
      assignableScopes: [SUB],
      permissions: [{ actions: r.Actions, notActions: [], dataActions, notDataActions: [] }],
    },
  ];
}

// ------------------------------------------------------------------------ runs

interface Check {
  id: string;
  status: string;
  evidence?: string;
  cause?: string;
  fix?: string;
}

async function verify(inputs: Record<string, string> = {}): Promise<{ run: TaskRun; checks: Check[] }> {
  const run = await runBundledTask({
    taskDir: path.join(TASK_DIR, 'FluxOidcVerify'),
    inputs: {
      azureSubscription: cloud.serviceConnections[FRESH.serviceConnectionName]!,
      resourceGroup: FRESH.resourceGroup,
      clusterName: FRESH.clusterName,
      timeoutSeconds: '60',
      ...inputs,
    },
    env: cloud.env,
    tempDir,
    timeoutMs: 180_000,
  });
  const att = run.attachments.find((a) => a.type === 'fluxoidc-report');
  return { run, checks: att?.content ? (JSON.parse(att.content) as { checks: Check[] }).checks : [] };
}

const why = (o: { run: TaskRun }) => `\n=> ${o.run.result}: ${o.run.message}\n${o.run.log}`;

function failed(o: { run: TaskRun; checks: Check[] }): Check[] {
  assert.equal(o.run.result, 'Failed', why(o));
  return o.checks.filter((c) => c.status === 'fail');
}

/** Verify's Azure rights, as the README's az lines give them (Cluster User Role + Reader). */
const azureVerifyRights = () => readmeAssignments().filter((a) => a.role !== readmeCustomRole().Name);

// ------------------------------------------------------------------------ tests

describe("the README's documents are the ones the tests grant", () => {
  test('the ClusterRoles equal the rules bound in the emulated cluster', () => {
    const roles = readmeClusterRoles();
    assert.deepEqual(roles[VERIFY_ROLE.name], VERIFY_ROLE.rules);
    assert.deepEqual(roles[RETIRE_ROLE.name], RETIRE_ROLE.rules);
  });

  test('the az lines assign the Cluster User Role, Reader and the custom role at the Flux namespace', () => {
    assert.deepEqual(readmeAssignments(), [
      { role: 'Azure Kubernetes Service Cluster User Role', scope: AKS_ID },
      { role: 'Reader', scope: RG },
      { role: 'Flux OIDC Verify', scope: `${AKS_ID}/namespaces/flux-system` },
    ]);
  });
});

describe('FluxOidcVerify on a cluster with local accounts only', () => {
  before(() => {
    setKind('local');
    bindVerify(false);
    setAssignments(azureVerifyRights());
  });

  test('passes with Reader + Cluster User Role (the user kubeconfig is a cluster-admin certificate)', async () => {
    const o = await verify();
    assert.equal(o.run.result, 'Succeeded', why(o));
    assert.match(o.run.log, /Cluster access: .* with kubeconfig client certificate \(AKS user credentials/);
  });

  test('without the Cluster User Role: no credentials, and the fix names the role', async () => {
    setAssignments(azureVerifyRights().filter((a) => !a.role.includes('Cluster User')));
    const access = failed(await verify()).find((c) => c.id === 'cluster.access');
    assert.ok(access, 'the cluster access check fails');
    assert.match(`${access.evidence} ${access.cause} ${access.fix}`, /Azure Kubernetes Service Cluster User Role/);
    setAssignments(azureVerifyRights());
  });

  test('without Reader on the identity resource group: the identity cannot be read, and the fix says so', async () => {
    setAssignments(azureVerifyRights().filter((a) => a.role !== 'Reader'));
    const o = await verify();
    assert.equal(o.run.result, 'Failed', why(o));
    assert.match(`${o.run.message} ${o.run.log}`, /Reader|Managed Identity/);
    setAssignments(azureVerifyRights());
  });
});

/** An ImageUpdateAutomation (nothing to update: Ready "repository up-to-date"), so Verify's rules on it are exercised. */
async function addImageUpdateAutomation(): Promise<void> {
  kubeRuntime(cloud.ctx)
    .cluster(FRESH.clusterName)!
    .putObject(
      {
        apiVersion: 'image.toolkit.fluxcd.io/v1beta2',
        kind: 'ImageUpdateAutomation',
        metadata: { name: 'fleet', namespace: FRESH.fluxNamespace },
        spec: {
          interval: '30m',
          sourceRef: { kind: 'GitRepository', name: 'flux-system' },
          git: {
            checkout: { ref: { branch: FRESH.branch } },
            commit: { author: { name: 'fluxcdbot', email: 'fluxcdbot@users.noreply.github.com' } },
            push: { branch: FRESH.branch },
          },
          update: { path: './apps', strategy: 'Setters' },
        },
      },
      'kubectl',
    );
  await kubeRuntime(cloud.ctx).settled();
}

describe('FluxOidcVerify on an Entra-integrated cluster with Kubernetes RBAC', () => {
  before(async () => {
    await addImageUpdateAutomation();
    setKind('kubernetes-rbac');
    setAssignments(azureVerifyRights());
    setVerifyRules(VERIFY_ROLE.rules);
    bindVerify(true);
  });

  test('passes with the flux-oidc-verify ClusterRole bound in flux-system', async () => {
    const o = await verify();
    assert.equal(o.run.result, 'Succeeded', why(o));
    assert.match(o.run.log, /Entra token for server id 6dae42f8/);
  });

  test('without any binding: every cluster call is refused and the fix is the RoleBinding', async () => {
    bindVerify(false);
    const fails = failed(await verify());
    bindVerify(true);
    assert.ok(fails.length > 0);
    for (const c of fails) {
      assert.match(c.cause!, new RegExp(`does not let the service connection \\(Entra object id ${SC}\\)`), c.id);
      assert.match(c.fix!, /kubectl create rolebinding flux-oidc-verify -n flux-system --clusterrole flux-oidc-verify/);
    }
  });

  // One right below: each rule's verbs, one at a time.
  for (const [i, rule] of VERIFY_ROLE.rules.entries()) {
    for (const verb of rule.verbs) {
      test(`without ${verb} on ${rule.resources!.join(',')}: fails naming that call`, async () => {
        const rules = structuredClone(VERIFY_ROLE.rules);
        rules[i]!.verbs = rule.verbs.filter((v) => v !== verb);
        setVerifyRules(rules);
        const fails = failed(await verify()).filter((c) => /does not let/.test(c.cause ?? ''));
        setVerifyRules(VERIFY_ROLE.rules);
        assert.ok(fails.length > 0, 'a check names the refused call');
        const text = fails.map((c) => c.cause).join('\n');
        assert.match(text, new RegExp(`${verb} (${rule.resources!.map((r) => r.replace('/', '\\/')).join('|')})`));
      });
    }
  }
});

describe('FluxOidcVerify on an Entra-integrated cluster with Azure RBAC', () => {
  const data = () => readmeCustomRole().DataActions;
  before(() => {
    setKind('azure-rbac');
    bindVerify(false);
    setCustomRole(data());
    setAssignments(readmeAssignments());
  });

  test('passes with the README role assignments and reconcile: false (no Kubernetes binding)', async () => {
    const o = await verify({ reconcile: 'false' });
    assert.equal(o.run.result, 'Succeeded', why(o));
  });

  test('reconcile: true needs patch on the Flux objects: the failure names it and both fixes', async () => {
    const fails = failed(await verify());
    const c = fails.find((x) => x.id === 'reconcile.git-repository');
    assert.ok(c, 'the reconcile check fails');
    assert.match(
      c.cause!,
      /neither Azure RBAC nor Kubernetes RBAC lets .* patch gitrepositories\.source\.toolkit\.fluxcd\.io/,
    );
    assert.match(c.fix!, /az role assignment create .*--role 'Flux OIDC Verify' --scope .*\/namespaces\/flux-system/);
    assert.match(c.fix!, /kubectl create rolebinding flux-oidc-verify/);
  });

  test('with the ClusterRole bound as well, reconcile: true passes (Kubernetes RBAC applies too)', async () => {
    bindVerify(true);
    const o = await verify();
    bindVerify(false);
    assert.equal(o.run.result, 'Succeeded', why(o));
  });

  test('without serviceaccounts/write in the custom role: the token proof fails naming the TokenRequest', async () => {
    setCustomRole(data().filter((a) => !a.endsWith('serviceaccounts/write')));
    const fails = failed(await verify({ reconcile: 'false' }));
    setCustomRole(data());
    const proof = fails.find((c) => c.id === 'token.proof:source-controller');
    assert.ok(proof, 'the token proof fails');
    assert.match(proof.cause!, /create serviceaccounts\/token/);
  });

  test('the custom role at another namespace does not reach flux-system', async () => {
    setAssignments(readmeAssignments().map((a) => ({ ...a, scope: a.scope.replace(/flux-system$/, 'default') })));
    const fails = failed(await verify({ reconcile: 'false' }));
    setAssignments(readmeAssignments());
    assert.ok(fails.some((c) => /neither Azure RBAC nor Kubernetes RBAC/.test(c.cause ?? '')));
  });
});

describe("FluxOidcProvision with the README's narrow Azure alternative", () => {
  let fresh: Cloud;
  const narrow = [
    { role: 'Azure Kubernetes Service Contributor Role', scope: AKS_ID },
    { role: 'Managed Identity Contributor', scope: RG },
  ];
  const provision = (c: Cloud) =>
    runBundledTask({
      taskDir: path.join(TASK_DIR, 'FluxOidcProvision'),
      inputs: {
        mode: 'apply',
        azureSubscription: c.serviceConnections[FRESH.serviceConnectionName]!,
        resourceGroup: FRESH.resourceGroup,
        clusterName: FRESH.clusterName,
      },
      env: c.env,
      tempDir,
      timeoutMs: 120_000,
    });
  before(async () => {
    fresh = await startCloud({ timeScale: E2E_TIME_SCALE, scenario: 'fresh' });
  });
  after(async () => {
    await fresh?.stop();
  });

  test('without Managed Identity Contributor it stops before any write and names the role', async () => {
    fresh.ctx.state.azure.roleAssignments = narrow
      .filter((a) => a.role !== 'Managed Identity Contributor')
      .map((a) => ({ principalId: SC, ...a }));
    const mark = fresh.ctx.journal.mark();
    const run = await provision(fresh);
    assert.equal(run.result, 'Failed', run.log);
    assert.match(run.message + run.log, /Managed Identity Contributor/);
    assert.deepEqual(
      fresh.ctx.journal.writes({ since: mark, service: 'arm' }).map((e) => `${e.method} ${e.path}`),
      [],
    );
  });

  test('with Azure Kubernetes Service Contributor Role + Managed Identity Contributor it converges', async () => {
    fresh.ctx.state.azure.roleAssignments = narrow.map((a) => ({ principalId: SC, ...a }));
    const run = await provision(fresh);
    assert.equal(run.result, 'Succeeded', `${run.message}\n${run.log}`);
    assert.match(run.outputs.clientId ?? '', /^[0-9a-f-]{36}$/);
  });
});
