/**
 * FluxManifestPatch core behaviour on generated flux-system folders: plan mode, idempotence, CRLF,
 * in-place updates, hand-written equivalents, API version and URL handling, every bad input (with
 * the files untouched), regeneration through the flux CLI, and a 50-cluster fleet glob.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { parseAllDocuments, parseDocument } from 'yaml';
import {
  ADO_HTTPS_URL,
  buildComponents,
  buildSync,
  CLIENT_ID,
  DEFAULT_COMPONENTS,
  fakeFlux,
  IMAGE_COMPONENTS,
  kubectlAvailable,
  kustomize,
  runCore,
  snapshot,
  TENANT_ID,
  tempDir,
  tools,
} from './flux-fixtures';

const KUSTOMIZATION =
  'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- gotk-components.yaml\n- gotk-sync.yaml\n';
const OTHER_ID = '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';
const hasKubectl = kubectlAvailable();

function makeFolder(
  opts: {
    kustomization?: string;
    components?: string;
    sync?: string;
    files?: Record<string, string>;
    at?: string;
  } = {},
): { wd: string; folder: string; rel: string } {
  const wd = tempDir();
  const rel = opts.at ?? 'clusters/prod/flux-system';
  const folder = path.join(wd, rel);
  fs.mkdirSync(folder, { recursive: true });
  fs.writeFileSync(path.join(folder, 'kustomization.yaml'), opts.kustomization ?? KUSTOMIZATION);
  fs.writeFileSync(path.join(folder, 'gotk-components.yaml'), opts.components ?? buildComponents({}));
  fs.writeFileSync(path.join(folder, 'gotk-sync.yaml'), opts.sync ?? buildSync());
  for (const [name, text] of Object.entries(opts.files ?? {})) {
    fs.mkdirSync(path.dirname(path.join(folder, name)), { recursive: true });
    fs.writeFileSync(path.join(folder, name), text);
  }
  return { wd, folder, rel };
}

function patchesOf(folder: string): { patch?: string; path?: string; target?: Record<string, string> }[] {
  return (
    (parseDocument(fs.readFileSync(path.join(folder, 'kustomization.yaml'), 'utf8')).toJS() as { patches?: [] })
      .patches ?? []
  );
}

type Obj = {
  kind?: string;
  metadata?: { name?: string; annotations?: Record<string, string> };
  spec?: Record<string, unknown>;
};
function renderedObj(folder: string, kind: string, name: string): Obj {
  const o = parseAllDocuments(kustomize(folder))
    .map((d) => d.toJS() as Obj)
    .find((x) => x.kind === kind && x.metadata?.name === name);
  assert.ok(o, `${kind}/${name} rendered`);
  return o;
}

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

  test('CRLF line endings (and a byte order mark) stay, and a second run is a no-op', async () => {
    const s = makeFolder({ kustomization: `\uFEFF# fleet: prod\r\n${KUSTOMIZATION.replace(/\n/g, '\r\n')}` });
    const r = await runCore({ workingDirectory: s.wd, fluxSystemPath: s.rel });
    assert.ifError(r.error);
    const text = fs.readFileSync(path.join(s.folder, 'kustomization.yaml'), 'utf8');
    assert.ok(text.startsWith('\uFEFF# fleet: prod\r\napiVersion'));
    assert.equal(text.replace(/\r\n/g, '').includes('\n'), false, 'no bare LF');
    assert.match(text, /\r\n {8}azure\.workload\.identity\/client-id/);
    assert.equal((await runCore({ workingDirectory: s.wd, fluxSystemPath: s.rel })).outputs?.changed, false);
    if (hasKubectl) assert.equal(renderedObj(s.folder, 'GitRepository', 'flux-system').spec?.provider, 'azure');
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
  test('a namespace other than flux-system and a GitRepository name from the input', async () => {
    const s = makeFolder({
      components: buildComponents({ namespace: 'gitops' }),
      sync: buildSync({ namespace: 'gitops', name: 'fleet' }),
    });
    const r = await runCore({ workingDirectory: s.wd, fluxSystemPath: s.rel, gitRepositoryName: 'fleet' });
    assert.ifError(r.error);
    for (const p of patchesOf(s.folder)) assert.equal(p.target?.namespace, 'gitops');
    if (hasKubectl) {
      const repo = renderedObj(s.folder, 'GitRepository', 'fleet');
      assert.equal(repo.spec?.provider, 'azure');
      assert.equal(
        renderedObj(s.folder, 'ServiceAccount', 'source-controller').metadata?.annotations?.[
          'azure.workload.identity/client-id'
        ],
        CLIENT_ID,
      );
    }
  });

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

  test('a GitRepository in v1beta2 with only v1 fields is moved to v1 (and says so)', async () => {
    const s = makeFolder({ sync: buildSync({ apiVersion: 'source.toolkit.fluxcd.io/v1beta2' }) });
    const r = await runCore({ workingDirectory: s.wd, fluxSystemPath: s.rel });
    assert.ifError(r.error);
    assert.ok(r.outputs?.changedFiles.includes('clusters/prod/flux-system/gotk-sync.yaml'));
    assert.match(r.log.text(), /spec\.provider exists only in source\.toolkit\.fluxcd\.io\/v1.*changed it to v1/);
    const sync = fs.readFileSync(path.join(s.folder, 'gotk-sync.yaml'), 'utf8');
    assert.equal(sync, buildSync(), 'only the apiVersion changed');
    if (hasKubectl) assert.equal(renderedObj(s.folder, 'GitRepository', 'flux-system').spec?.provider, 'azure');
  });

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
      /fluxSystemPath clusters\/staging\/flux-system does not exist/,
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

describe('regenerating gotk-components.yaml', () => {
  test('with a flux CLI: runs `flux install --export` with the installed and requested components, then patches', async () => {
    const s = makeFolder({ components: buildComponents({ flux: 'v2.3.0' }) });
    const fresh = buildComponents({ flux: 'v2.6.0', components: [...DEFAULT_COMPONENTS, ...IMAGE_COMPONENTS] });
    const flux = fakeFlux(path.join(s.wd, '..', `${path.basename(s.wd)}-bin`), fresh);
    const r = await runCore(
      {
        workingDirectory: s.wd,
        fluxSystemPath: s.rel,
        regenerateComponents: true,
        serviceAccounts: ['source-controller', 'image-automation-controller'],
      },
      { tools: tools({ fluxPath: flux.path }) },
    );
    assert.ifError(r.error);
    assert.equal(
      fs.readFileSync(flux.argsFile, 'utf8').trim(),
      'install --export --components-extra=image-reflector-controller,image-automation-controller --network-policy=false',
    );
    assert.equal(fs.readFileSync(path.join(s.folder, 'gotk-components.yaml'), 'utf8'), fresh);
    assert.deepEqual(r.outputs?.changedFiles.sort(), [
      'clusters/prod/flux-system/gotk-components.yaml',
      'clusters/prod/flux-system/kustomization.yaml',
    ]);
    if (hasKubectl) {
      assert.equal(
        renderedObj(s.folder, 'ServiceAccount', 'image-automation-controller').metadata?.annotations?.[
          'azure.workload.identity/client-id'
        ],
        CLIENT_ID,
      );
    }
  });

  test('a missing controller: the log says what is missing and that it regenerates, not how to regenerate by hand', async () => {
    const s = makeFolder({ components: buildComponents({ flux: 'v2.6.0' }) });
    const fresh = buildComponents({ flux: 'v2.6.0', components: [...DEFAULT_COMPONENTS, ...IMAGE_COMPONENTS] });
    const flux = fakeFlux(path.join(s.wd, '..', `${path.basename(s.wd)}-bin`), fresh);
    const r = await runCore(
      {
        workingDirectory: s.wd,
        fluxSystemPath: s.rel,
        regenerateComponents: true,
        serviceAccounts: ['source-controller', 'image-automation-controller'],
      },
      { tools: tools({ fluxPath: flux.path }) },
    );
    assert.ifError(r.error);
    const line = r.log.lines.map((l) => l.message).find((m) => m.includes('regenerating gotk-components.yaml'));
    assert.equal(
      line,
      `${s.rel}: ${s.rel}/gotk-components.yaml has no image-automation-controller (installed: ${DEFAULT_COMPONENTS.join(', ')}); regenerating gotk-components.yaml with the flux CLI (regenerateComponents: true).`,
    );
  });

  test('a flux CLI that is too old is reported as such', async () => {
    const s = makeFolder({ components: buildComponents({ flux: 'v2.2.0' }) });
    const flux = fakeFlux(path.join(s.wd, '..', `${path.basename(s.wd)}-bin`), buildComponents({ flux: 'v2.3.1' }));
    await expectFailure(
      s,
      { regenerateComponents: true },
      /flux CLI on PATH generated a gotk-components\.yaml that still does not qualify: .*Flux 2\.3\.1/,
      { tools: tools({ fluxPath: flux.path }) },
    );
  });
});

test('kubectl is on PATH: the render checks below need it (hosted agents and the build machine have it)', () => {
  assert.ok(
    kubectlAvailable(),
    'kubectl was not found on PATH: install it (apt-get install -y kubectl) so that the rendered manifests are checked',
  );
});

describe('rendering', { skip: !hasKubectl && 'kubectl is not on PATH' }, () => {
  test('a folder that references ../ bases renders from a sibling copy in apply mode, which is removed afterwards', async () => {
    const s = makeFolder({
      kustomization: KUSTOMIZATION.replace('- gotk-sync.yaml\n', '- gotk-sync.yaml\n- ../base\n'),
    });
    const base = path.join(path.dirname(s.folder), 'base');
    fs.mkdirSync(base);
    fs.writeFileSync(path.join(base, 'kustomization.yaml'), 'resources:\n- cm.yaml\n');
    fs.writeFileSync(
      path.join(base, 'cm.yaml'),
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: shared\n  namespace: flux-system\n',
    );
    const plan = await runCore({ workingDirectory: s.wd, fluxSystemPath: s.rel }, { mode: 'plan' });
    assert.ifError(plan.error);
    const r = await runCore({ workingDirectory: s.wd, fluxSystemPath: s.rel });
    assert.ifError(r.error);
    assert.deepEqual(
      fs.readdirSync(path.dirname(s.folder)).sort(),
      ['base', 'flux-system'],
      'no render copy left behind',
    );
    assert.equal(renderedObj(s.folder, 'GitRepository', 'flux-system').spec?.provider, 'azure');
  });

  test('a folder that does not render is not written, and the error says it fails without the patches too', async () => {
    const s = makeFolder({
      kustomization: KUSTOMIZATION.replace('- gotk-sync.yaml\n', '- gotk-sync.yaml\n- missing.yaml\n'),
    });
    await expectFailure(
      s,
      {},
      /kubectl kustomize failed: .*missing\.yaml.*\(it fails without the patches too: fix the folder first\)/,
    );
  });
});

describe('fleets', () => {
  test('a stray copy of flux-system (its Kustomization syncs another folder) is reported', async () => {
    const s = makeFolder({ sync: buildSync({ path: './clusters/prod' }) });
    fs.mkdirSync(path.join(s.wd, '.git'));
    fs.cpSync(s.folder, path.join(s.wd, 'Users/me/old/clusters/prod/flux-system'), { recursive: true });
    const r = await runCore(
      { workingDirectory: s.wd, fluxSystemPath: '**/flux-system' },
      { tools: tools({ kubectl: false }) },
    );
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
    // kubectl is hidden here to keep this test fast; rendering is covered above.
    const r = await runCore(
      { workingDirectory: wd, fluxSystemPath: 'clusters/*/flux-system' },
      { tools: tools({ kubectl: false }) },
    );
    assert.ifError(r.error);
    assert.equal(r.outputs?.changedFiles.length, 50);
    for (let i = 1; i <= 50; i++) {
      const text = fs.readFileSync(
        path.join(wd, 'clusters', `aks-${String(i).padStart(2, '0')}`, 'flux-system', 'kustomization.yaml'),
        'utf8',
      );
      assert.match(text, /provider: azure/);
    }
    const again = await runCore(
      { workingDirectory: wd, fluxSystemPath: 'clusters/**/flux-system' },
      { tools: tools({ kubectl: false }) },
    );
    assert.ifError(again.error);
    assert.equal(again.outputs?.changed, false);
  });
});
