/**
 * FluxManifestPatch on generated flux-system folders with the real programs: the patched folder
 * rendered by `kubectl kustomize` (CRLF files, another namespace, a v1beta2 GitRepository, ../ bases,
 * a folder that does not render) and gotk-components.yaml regenerated through a flux CLI.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import {
  buildComponents,
  buildSync,
  CLIENT_ID,
  DEFAULT_COMPONENTS,
  IMAGE_COMPONENTS,
  KUSTOMIZATION,
  makeFolder,
  patchesOf,
  snapshot,
} from '../unit/flux-fixtures';
import { fakeFlux, kubectlAvailable, kustomize, runCore, tools } from './flux-tools';

const hasKubectl = kubectlAvailable();

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

describe('layout and names survive the render', () => {
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
