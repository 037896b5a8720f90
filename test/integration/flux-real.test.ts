/**
 * Every real flux-system folder in test/fixtures/flux-real, patched by the task core and rendered
 * with the real `kubectl kustomize`: the rendered objects carry the workload identity fields, the
 * existing patches still apply, a second run changes nothing, and the diff only adds lines.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { splitLines } from '../../tasks/common/flux/diff';
import {
  ADO_HTTPS_URL,
  buildComponents,
  CLIENT_ID,
  FIXTURES,
  fixtureHeader,
  IMAGE_COMPONENTS,
  materialiseFixture,
  snapshot,
  tempDir,
} from '../unit/flux-fixtures';
import { fakeFlux, kubectlAvailable, kustomize, runCore, tools } from './flux-tools';

type Obj = {
  kind?: string;
  apiVersion?: string;
  metadata?: {
    name?: string;
    namespace?: string;
    annotations?: Record<string, string>;
    labels?: Record<string, string>;
  };
  spec?: Record<string, unknown>;
};

function rendered(dir: string): Obj[] {
  return parseAllDocuments(kustomize(dir)).map((d) => d.toJS() as Obj);
}
function find(objs: Obj[], kind: string, name: string): Obj {
  const o = objs.find((x) => x.kind === kind && x.metadata?.name === name);
  assert.ok(o, `${kind} ${name} rendered`);
  return o;
}
function podLabels(d: Obj): Record<string, string> {
  return (d.spec?.template as { metadata?: { labels?: Record<string, string> } })?.metadata?.labels ?? {};
}

/** The lines of `before` appear in `after` in order (the last one possibly gaining a newline). */
function onlyAdditions(before: string, after: string): boolean {
  const a = splitLines(before.endsWith('\n') ? before : `${before}\n`);
  const b = splitLines(after.endsWith('\n') ? after : `${after}\n`);
  let j = 0;
  for (const line of a) {
    while (j < b.length && b[j] !== line) j++;
    if (j === b.length) return false;
    j++;
  }
  return true;
}

/** The version a fixture's header says, and whether it has the image controllers. */
function fixtureInfo(fixture: string): { version?: string; images: boolean } {
  const header = fixtureHeader(fixture);
  const version = header ? /# Flux Version: v(\S+)/.exec(header)?.[1] : undefined;
  return { ...(version ? { version } : {}), images: !!header && header.includes('image-automation-controller') };
}

const belowMinimum = (v: string | undefined) =>
  v !== undefined && (Number(v.split('.')[0]) < 2 || (Number(v.split('.')[0]) === 2 && Number(v.split('.')[1]) < 4));

test('kubectl is on PATH: the render checks below need it (hosted agents and the build machine have it)', () => {
  assert.ok(
    kubectlAvailable(),
    'kubectl was not found on PATH: install it (apt-get install -y kubectl) so that the rendered manifests are checked',
  );
});

describe('real flux-system folders', { skip: !kubectlAvailable() && 'kubectl is not on PATH' }, () => {
  for (const fixture of FIXTURES) {
    const info = fixtureInfo(fixture);
    const serviceAccounts = info.images ? ['source-controller', 'image-automation-controller'] : ['source-controller'];
    test(`${fixture}: patched, renders, idempotent, only additions`, async () => {
      const wd = tempDir();
      const folder = path.join(wd, 'clusters', 'prod', 'flux-system');
      materialiseFixture(fixture, folder);
      const kFile = path.join(folder, 'kustomization.yaml');
      const before = fs.readFileSync(kFile, 'utf8');
      const beforeObjects = rendered(folder);
      let regenerate = false;
      let fluxPath: string | undefined;

      if (belowMinimum(info.version)) {
        // Without regeneration: the upgrade command, and nothing written.
        const snap = snapshot(wd);
        const r = await runCore({ workingDirectory: wd, fluxSystemPath: 'clusters/prod/flux-system', serviceAccounts });
        assert.ok(r.error, 'fails below the minimum version');
        assert.match(
          r.error.message,
          new RegExp(`Flux ${info.version!.replace(/\./g, '\\.')}; 2\\.4\\.0 or later is required`),
        );
        assert.match(r.error.message, /flux install --export/);
        assert.deepEqual(snapshot(wd), snap, 'files untouched');
        // With regeneration (a fake flux CLI standing in for `flux install --export`).
        const components = info.images
          ? [
              'source-controller',
              'kustomize-controller',
              'helm-controller',
              'notification-controller',
              ...IMAGE_COMPONENTS,
            ]
          : undefined;
        fluxPath = fakeFlux(
          path.join(wd, '..', `${path.basename(wd)}-bin`),
          buildComponents({ flux: 'v2.4.0', ...(components ? { components } : {}) }),
        ).path;
        regenerate = true;
      }

      const first = await runCore(
        {
          workingDirectory: wd,
          fluxSystemPath: 'clusters/prod/flux-system',
          serviceAccounts,
          regenerateComponents: regenerate,
        },
        { tools: tools({ ...(fluxPath ? { fluxPath } : {}) }) },
      );
      assert.ifError(first.error);
      assert.equal(first.outputs?.changed, true);
      assert.ok(first.outputs?.changedFiles.includes('clusters/prod/flux-system/kustomization.yaml'));
      assert.match(first.log.text(), /\+\s*- patch: \|-/, 'the diff is printed');

      const after = fs.readFileSync(kFile, 'utf8');
      assert.ok(onlyAdditions(before, after), 'kustomization.yaml: every original line is kept, in order');
      for (const comment of before.split('\n').filter((l) => l.trim().startsWith('#')))
        assert.ok(after.includes(comment), `comment kept: ${comment}`);

      const objs = rendered(folder);
      for (const sa of serviceAccounts) {
        const o = find(objs, 'ServiceAccount', sa);
        assert.equal(o.metadata?.annotations?.['azure.workload.identity/client-id'], CLIENT_ID);
        assert.equal(o.metadata?.labels?.['azure.workload.identity/use'], 'true');
        const d = find(objs, 'Deployment', sa);
        assert.equal(podLabels(d)['azure.workload.identity/use'], 'true', 'label on the pod template');
        assert.equal(podLabels(d).app, sa, 'existing pod labels kept');
      }
      const repo = find(objs, 'GitRepository', 'flux-system');
      assert.equal(repo.apiVersion, 'source.toolkit.fluxcd.io/v1');
      assert.equal(repo.spec?.provider, 'azure');
      assert.equal(repo.spec?.secretRef, undefined);
      assert.equal(repo.spec?.url, ADO_HTTPS_URL);

      // Everything else renders as before (the existing patches still apply).
      const key = (o: Obj) => `${o.kind}/${o.metadata?.namespace}/${o.metadata?.name}`;
      const touched = new Set([
        ...serviceAccounts.flatMap((s) => [`ServiceAccount/flux-system/${s}`, `Deployment/flux-system/${s}`]),
        'GitRepository/flux-system/flux-system',
      ]);
      if (!regenerate) {
        for (const o of beforeObjects) {
          if (touched.has(key(o))) continue;
          assert.deepEqual(
            objs.find((x) => key(x) === key(o)),
            o,
            `${key(o)} unchanged`,
          );
        }
      }

      const snap = snapshot(wd);
      const second = await runCore(
        {
          workingDirectory: wd,
          fluxSystemPath: 'clusters/prod/flux-system',
          serviceAccounts,
          regenerateComponents: regenerate,
        },
        { tools: tools({ ...(fluxPath ? { fluxPath } : {}) }) },
      );
      assert.ifError(second.error);
      assert.equal(second.outputs?.changed, false, 'second run is a no-op');
      assert.deepEqual(second.outputs?.changedFiles, []);
      assert.deepEqual(snapshot(wd), snap);
    });
  }

  test('existing workload identity patches of other controllers keep working', async () => {
    // davidelettieri (path: files) and mysteq (inline) patch kustomize-controller for SOPS/Key Vault.
    for (const [fixture, clientId] of [
      ['davidelettieri__flux-sops-workload-identity__aks', '8245a0a5-6b4f-48af-9a7c-c99b1db3cde3'],
      ['mysteq__demo-terraform-aks-fluxcd-opencti___prod-opencti', 'eefb77e4-3bec-4c5d-be25-eebeb242c6a0'],
    ] as const) {
      const wd = tempDir();
      const folder = path.join(wd, 'flux-system');
      materialiseFixture(fixture, folder, { flux: 'v2.4.0' });
      const r = await runCore({ workingDirectory: wd, fluxSystemPath: 'flux-system' });
      assert.ifError(r.error);
      const objs = rendered(folder);
      assert.equal(
        find(objs, 'ServiceAccount', 'kustomize-controller').metadata?.annotations?.[
          'azure.workload.identity/client-id'
        ],
        clientId,
      );
      assert.equal(
        find(objs, 'ServiceAccount', 'source-controller').metadata?.annotations?.['azure.workload.identity/client-id'],
        CLIENT_ID,
      );
    }
  });
});
