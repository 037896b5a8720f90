/**
 * FluxManifestPatch core behaviour on generated flux-system folders, in-process (no kubectl, no flux
 * CLI): plan mode, idempotence, in-place updates, hand-written equivalents, API version and URL
 * handling, every bad input (with the files untouched), and a 50-cluster fleet glob. The cases that
 * render with kubectl or run a flux CLI are in test/integration/flux-patch-render.test.ts.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import {
  ADO_HTTPS_URL,
  buildComponents,
  buildSync,
  CLIENT_ID,
  KUSTOMIZATION,
  makeFolder,
  OTHER_ID,
  patchesOf,
  runCore,
  snapshot,
  TENANT_ID,
  tempDir,
} from './flux-fixtures';

async function expectFailure(
  setup: ReturnType<typeof makeFolder>,
  inputs: Record<string, unknown>,
  pattern: RegExp,
  ctx = {},
): Promise<void> {
  const before = snapshot(setup.wd);
  const r = await runCore({ workingDirectory: setup.wd, fluxSystemPath: setup.rel, ...inputs }, ctx);
  assert.ok(r.error, 'the run fails');
  assert.match(r.error.message, pattern);
  assert.deepEqual(snapshot(setup.wd), before, 'no file was written');
}

describe('plan mode and re-runs', () => {
  test('plan prints a unified diff, reports changed=true and writes nothing', async () => {
    const s = makeFolder();
    const before = snapshot(s.wd);
    const r = await runCore({ workingDirectory: s.wd, fluxSystemPath: s.rel }, { mode: 'plan' });
    assert.ifError(r.error);
    assert.equal(r.outputs?.changed, true);
    assert.deepEqual(r.outputs?.changedFiles, ['clusters/prod/flux-system/kustomization.yaml']);
    const text = r.log.text();
    assert.match(text, /^--- a\/clusters\/prod\/flux-system\/kustomization\.yaml$/m);
    assert.match(text, /^\+\+\+ b\/clusters\/prod\/flux-system\/kustomization\.yaml$/m);
    assert.match(text, /^@@ -3,3 \+3,\d+ @@$/m);
    assert.match(text, /^\+ {8}azure\.workload\.identity\/client-id: 6f1c2d3e/m);
    assert.deepEqual(snapshot(s.wd), before);
  });

  test('a new client id (and a tenant id) updates our patch in place; a third run is a no-op', async () => {
    const s = makeFolder();
    assert.ifError((await runCore({ workingDirectory: s.wd, fluxSystemPath: s.rel })).error);
    const first = patchesOf(s.folder);
    const r = await runCore({ workingDirectory: s.wd, fluxSystemPath: s.rel, clientId: OTHER_ID, tenantId: TENANT_ID });
    assert.ifError(r.error);
    assert.equal(r.outputs?.changed, true);
    const second = patchesOf(s.folder);
    assert.equal(second.length, first.length, 'no duplicate patches');
    assert.match(second[0].patch!, new RegExp(`client-id: ${OTHER_ID}`));
    assert.match(second[0].patch!, new RegExp(`tenant-id: ${TENANT_ID}`));
    assert.doesNotMatch(fs.readFileSync(path.join(s.folder, 'kustomization.yaml'), 'utf8'), new RegExp(CLIENT_ID));
    const diff = r.log.lines.map((l) => l.message).filter((l) => /^[-+] /.test(l) || /^[-+]\s/.test(l));
    assert.deepEqual(
      diff.filter((l) => l.startsWith('-')),
      [`-        azure.workload.identity/client-id: ${CLIENT_ID}`],
    );
    const third = await runCore({
      workingDirectory: s.wd,
      fluxSystemPath: s.rel,
      clientId: OTHER_ID,
      tenantId: TENANT_ID,
    });
    assert.equal(third.outputs?.changed, false);
  });

  test('a file without a final newline keeps its layout (and still has none)', async () => {
    const s = makeFolder({ kustomization: KUSTOMIZATION.trimEnd() });
    assert.ifError((await runCore({ workingDirectory: s.wd, fluxSystemPath: s.rel })).error);
    const text = fs.readFileSync(path.join(s.folder, 'kustomization.yaml'), 'utf8');
    assert.ok(text.startsWith(KUSTOMIZATION.trimEnd() + '\npatches:\n- patch: |-\n'));
    assert.equal(text.endsWith('\n'), false);
  });
});

describe('recognising patches that are already there', () => {
  // The Flux documentation's workload identity patches (SA annotation by regex, Deployment labels).
  const FLUX_DOCS = `${KUSTOMIZATION}patches:
  - patch: |-
      apiVersion: v1
      kind: ServiceAccount
      metadata:
        name: controller
        annotations:
          azure.workload.identity/client-id: ${CLIENT_ID}
    target:
      kind: ServiceAccount
      name: "(source-controller|image-reflector-controller)"
  - patch: |-
      apiVersion: apps/v1
      kind: Deployment
      metadata:
        name: controller
        labels:
          azure.workload.identity/use: "true"
      spec:
        template:
          metadata:
            labels:
              azure.workload.identity/use: "true"
    target:
      kind: Deployment
      name: "(source-controller|image-reflector-controller)"
`;

  test("the Flux docs' inline patches count: only the GitRepository patch is added", async () => {
    const s = makeFolder({ kustomization: FLUX_DOCS });
    const r = await runCore({ workingDirectory: s.wd, fluxSystemPath: s.rel });
    assert.ifError(r.error);
    const patches = patchesOf(s.folder);
    assert.equal(patches.length, 3);
    assert.match(patches[2].patch!, /kind: GitRepository/);
    assert.match(
      r.log.text(),
      /ServiceAccount source-controller: the client-id annotation is already set by patches\[0\]/,
    );
  });

  test('patch files referenced by path: and patchesStrategicMerge count too', async () => {
    const sa = `apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: source-controller\n  namespace: flux-system\n  annotations:\n    azure.workload.identity/client-id: ${CLIENT_ID}\n`;
    const dep =
      'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: source-controller\n  namespace: flux-system\nspec:\n  template:\n    metadata:\n      labels:\n        azure.workload.identity/use: "true"';
    const repo =
      'apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: flux-system\n  namespace: flux-system\nspec:\n  provider: azure\n  secretRef: null\n  url: ' +
      ADO_HTTPS_URL +
      '\n';
    const s = makeFolder({
      kustomization: `${KUSTOMIZATION}patches:\n  - path: patches/sa.yaml\n  - path: patches/dep.yaml\npatchesStrategicMerge:\n  - repo-patch.yaml\n`,
      files: { 'patches/sa.yaml': sa, 'patches/dep.yaml': dep, 'repo-patch.yaml': repo },
    });
    const before = snapshot(s.wd);
    const r = await runCore({ workingDirectory: s.wd, fluxSystemPath: s.rel });
    assert.ifError(r.error);
    assert.equal(r.outputs?.changed, false, 'everything is already there');
    assert.deepEqual(snapshot(s.wd), before);
  });

  test('a hand-written patch giving the service account another identity is refused', async () => {
    const s = makeFolder({ kustomization: FLUX_DOCS.replace(CLIENT_ID, OTHER_ID) });
    await expectFailure(
      s,
      {},
      new RegExp(
        `patches\\[0\\] already sets azure.workload.identity/client-id: ${OTHER_ID} on ServiceAccount source-controller`,
      ),
    );
  });

  test('a later JSON 6902 patch that undoes provider: azure is detected before writing', async () => {
    const s = makeFolder({
      kustomization: `${KUSTOMIZATION}patchesJson6902:\n- target:\n    group: source.toolkit.fluxcd.io\n    version: v1\n    kind: GitRepository\n    name: flux-system\n  patch: |\n    - op: add\n      path: /spec/provider\n      value: generic\n`,
    });
    await expectFailure(s, {}, /has spec\.provider generic, expected azure/);
  });

  test('fields set directly in gotk-sync.yaml do not count (flux bootstrap rewrites that file)', async () => {
    const sync = buildSync({ url: ADO_HTTPS_URL }).replace(
      '  secretRef:\n    name: flux-system\n',
      '  provider: azure\n',
    );
    const s = makeFolder({ sync });
    const r = await runCore({ workingDirectory: s.wd, fluxSystemPath: s.rel });
    assert.ifError(r.error);
    const repoPatch = patchesOf(s.folder).find((p) => /kind: GitRepository/.test(p.patch ?? ''));
    assert.ok(repoPatch, 'the GitRepository patch is added anyway');
    assert.doesNotMatch(repoPatch.patch!, /url:/, 'the url is already the HTTPS form');
  });
});

describe('names, versions and URLs come from the manifests', () => {
  test('without a header the version comes from the controller image tags', async () => {
    const ok = makeFolder({ components: buildComponents({ flux: 'v2.5.0', withHeader: false }) });
    const r = await runCore({ workingDirectory: ok.wd, fluxSystemPath: ok.rel });
    assert.ifError(r.error);
    assert.match(r.log.text(), /Flux 2\.5\.x \(from the source-controller image tag\)/);
    await expectFailure(
      makeFolder({ components: buildComponents({ flux: 'v2.3.0', withHeader: false }) }),
      {},
      /is Flux 2\.3\.x .*2\.4\.0 or later is required/,
    );
  });

  for (const [label, url] of [
    ['ssh://git@ssh.dev.azure.com/v3/...', 'ssh://git@ssh.dev.azure.com/v3/contoso/platform/fleet'],
    ['git@ssh.dev.azure.com:v3/...', 'git@ssh.dev.azure.com:v3/contoso/platform/fleet'],
    ['{org}@vs-ssh.visualstudio.com:v3/...', 'contoso@vs-ssh.visualstudio.com:v3/contoso/platform/fleet'],
    ['https://{org}.visualstudio.com/...', 'https://contoso.visualstudio.com/DefaultCollection/platform/_git/fleet'],
    ['https://user@dev.azure.com/...', 'https://contoso@dev.azure.com/contoso/platform/_git/fleet'],
  ] as const) {
    test(`the url ${label} becomes ${ADO_HTTPS_URL}`, async () => {
      const s = makeFolder({ sync: buildSync({ url }) });
      assert.ifError((await runCore({ workingDirectory: s.wd, fluxSystemPath: s.rel })).error);
      const repoPatch = patchesOf(s.folder).find((p) => /kind: GitRepository/.test(p.patch ?? ''));
      assert.match(repoPatch!.patch!, new RegExp(`url: ${ADO_HTTPS_URL}$`, 'm'));
    });
  }

  test('a v1beta2 GitRepository with fields v1 does not have is refused with the explanation', async () => {
    const sync = buildSync({ apiVersion: 'source.toolkit.fluxcd.io/v1beta2' }).replace(
      '  interval: 1m0s\n',
      '  interval: 1m0s\n  gitImplementation: go-git\n',
    );
    await expectFailure(
      makeFolder({ sync }),
      {},
      /v1beta2; spec\.provider exists only in source\.toolkit\.fluxcd\.io\/v1.*fields not in v1: gitImplementation/,
    );
  });
});

describe('bad input: a clear error and no file written', () => {
  test('missing folder', async () => {
    const s = makeFolder();
    await expectFailure(
      s,
      { fluxSystemPath: 'clusters/staging/flux-system' },
      /fluxSystemPath "clusters\/staging\/flux-system" does not exist/,
    );
    await expectFailure(s, { fluxSystemPath: 'clusters/*/flux-sys' }, /matches no folder/);
  });
  test('invalid YAML names the file and line', async () => {
    await expectFailure(
      makeFolder({ kustomization: `${KUSTOMIZATION}patches:\n  - patch: |\n    bad\n  target: [\n` }),
      {},
      /kustomization\.yaml is not valid YAML: .*\(line \d+, column \d+\)/,
    );
  });
  test('missing gotk files', async () => {
    const s = makeFolder();
    fs.rmSync(path.join(s.folder, 'gotk-sync.yaml'));
    await expectFailure(s, {}, /has no gotk-sync\.yaml: it is not a bootstrapped flux-system folder/);
  });
  test('a placeholder gotk-sync.yaml (not bootstrapped yet)', async () => {
    await expectFailure(
      makeFolder({ sync: '# This file will be generated automatically by flux boostrap.\n' }),
      {},
      /has no GitRepository \(it looks like a placeholder\)/,
    );
  });
  test('a Flux Kustomization instead of a kustomize one', async () => {
    const k =
      'apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: apps\nspec:\n  path: ./apps\n';
    await expectFailure(
      makeFolder({ kustomization: k }),
      {},
      /is a Flux Kustomization \(kustomize\.toolkit\.fluxcd\.io\/v1\), not a kustomize one/,
    );
  });
  test('a YAML alias bomb', async () => {
    const bomb = [
      'a: &a ["x","x","x","x","x","x","x","x","x","x"]',
      'b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]',
      'c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]',
      'd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]',
      'e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]',
      'f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]',
    ].join('\n');
    await expectFailure(
      makeFolder({ kustomization: `${KUSTOMIZATION}${bomb}\n` }),
      {},
      /expands YAML aliases excessively/,
    );
  });
  test('a GitHub URL cannot use provider: azure', async () => {
    await expectFailure(
      makeFolder({ sync: buildSync({ url: 'ssh://git@github.com/contoso/fleet' }) }),
      {},
      /points at ssh:\/\/git@github\.com\/contoso\/fleet, which is not an Azure DevOps Git repository/,
    );
  });
  test('image-automation-controller requested but not installed', async () => {
    await expectFailure(
      makeFolder(),
      { serviceAccounts: ['source-controller', 'image-automation-controller'] },
      /has no image-automation-controller .*remove image-automation-controller from serviceAccounts.*--components-extra=image-reflector-controller,image-automation-controller/,
    );
  });
  test('an unknown service account', async () => {
    await expectFailure(
      makeFolder(),
      { serviceAccounts: ['sorce-controller'] },
      /has no ServiceAccount "sorce-controller" \(found: source-controller, kustomize-controller/,
    );
  });
  test('regenerateComponents without a flux CLI on PATH', async () => {
    await expectFailure(
      makeFolder({ components: buildComponents({ flux: 'v2.3.0' }) }),
      { regenerateComponents: true },
      /flux CLI is not on PATH/,
    );
  });
  test('one bad folder in a fleet fails the run before any folder is written', async () => {
    const s = makeFolder();
    fs.cpSync(path.join(s.wd, 'clusters/prod'), path.join(s.wd, 'clusters/dev'), { recursive: true });
    fs.writeFileSync(
      path.join(s.wd, 'clusters/dev/flux-system/gotk-sync.yaml'),
      buildSync({ url: 'https://github.com/contoso/fleet' }),
    );
    await expectFailure(
      s,
      { fluxSystemPath: 'clusters/*/flux-system' },
      /1 of 2 flux-system folders cannot be patched; nothing was changed:\n- GitRepository flux-system in clusters\/dev\/flux-system\/gotk-sync\.yaml/,
    );
  });
});

describe('fleets', () => {
  test('a stray copy of flux-system (its Kustomization syncs another folder) is reported', async () => {
    const s = makeFolder({ sync: buildSync({ path: './clusters/prod' }) });
    fs.mkdirSync(path.join(s.wd, '.git'));
    fs.cpSync(s.folder, path.join(s.wd, 'Users/me/old/clusters/prod/flux-system'), { recursive: true });
    const r = await runCore({ workingDirectory: s.wd, fluxSystemPath: '**/flux-system' });
    assert.ifError(r.error);
    const warnings = r.log.lines.filter((l) => l.level === 'warn').map((l) => l.message);
    assert.equal(warnings.length, 1);
    assert.match(
      warnings[0]!,
      /^Users\/me\/old\/clusters\/prod\/flux-system: its Flux Kustomization syncs \.\/clusters\/prod, but the folder is under \.\/Users\/me\/old\/clusters\/prod; if it is a stray copy/,
    );
  });

  test('a glob over 50 cluster folders patches all of them in one run; the second run changes nothing', async () => {
    const wd = tempDir();
    for (let i = 1; i <= 50; i++) {
      const folder = path.join(wd, 'clusters', `aks-${String(i).padStart(2, '0')}`, 'flux-system');
      fs.mkdirSync(folder, { recursive: true });
      fs.writeFileSync(path.join(folder, 'kustomization.yaml'), KUSTOMIZATION);
      fs.writeFileSync(path.join(folder, 'gotk-components.yaml'), buildComponents({}));
      fs.writeFileSync(path.join(folder, 'gotk-sync.yaml'), buildSync({ path: `./clusters/aks-${i}` }));
    }
    fs.mkdirSync(path.join(wd, 'clusters', 'README-not-a-cluster'));
    const r = await runCore({ workingDirectory: wd, fluxSystemPath: 'clusters/*/flux-system' });
    assert.ifError(r.error);
    assert.equal(r.outputs?.changedFiles.length, 50);
    for (let i = 1; i <= 50; i++) {
      const text = fs.readFileSync(
        path.join(wd, 'clusters', `aks-${String(i).padStart(2, '0')}`, 'flux-system', 'kustomization.yaml'),
        'utf8',
      );
      assert.match(text, /provider: azure/);
    }
    const again = await runCore({ workingDirectory: wd, fluxSystemPath: 'clusters/**/flux-system' });
    assert.ifError(again.error);
    assert.equal(again.outputs?.changed, false);
  });
});
