/**
 * The small pieces of the manifest patcher on their own: the line diff (checked against a brute
 * force LCS), the unified diff format, the glob, Azure DevOps URL forms, versions, the
 * kustomization.yaml edits on unusual layouts, and a fleet's gotk-sync.yaml variants read exactly.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseDocument } from 'yaml';
import { diffLines, splitLines, unifiedDiff } from '../../tasks/common/flux/diff';
import { globDirs } from '../../tasks/common/flux/glob';
import { readKustomization, setOurPatches } from '../../tasks/common/flux/kustomization';
import { matchesSelector } from '../../tasks/common/flux/kustomize-sim';
import { parseAll, parseAllVariant } from '../../tasks/common/flux/manifests';
import { gitRepositoryPatch, serviceAccountPatch } from '../../tasks/common/flux/patches';
import { parseAzureDevOpsGitUrl, toAzureDevOpsHttpsUrl } from '../../tasks/common/flux/url';
import { compareSemVer, detectFluxVersion, imageTag, parseSemVer } from '../../tasks/common/flux/version';

/** A small deterministic PRNG, so failures reproduce. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32;
}

function lcsLength(a: string[], b: string[]): number {
  const dp = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++)
      dp[i][j] = a[i - 1] === b[j - 1] ? dp[i - 1][j - 1] + 1 : Math.max(dp[i - 1][j], dp[i][j - 1]);
  return dp[a.length][b.length];
}

describe('line diff', () => {
  test('random inputs: the edit script rebuilds both sides and is minimal (same length as the LCS)', () => {
    const r = rng(42);
    for (let n = 0; n < 300; n++) {
      const gen = () => Array.from({ length: Math.floor(r() * 12) }, () => `${'abcd'[Math.floor(r() * 4)]}\n`);
      const a = gen();
      const b = gen();
      const ops = diffLines(a, b);
      assert.deepEqual(
        ops.filter((o) => o.kind !== 'insert').map((o) => o.line),
        a,
      );
      assert.deepEqual(
        ops.filter((o) => o.kind !== 'delete').map((o) => o.line),
        b,
      );
      assert.equal(
        ops.filter((o) => o.kind === 'equal').length,
        lcsLength(a, b),
        `minimal for ${JSON.stringify([a, b])}`,
      );
    }
  });

  test('unified format: hunk headers, context, and the missing final newline', () => {
    const before = 'a\nb\nc\nd\ne\nf\ng\nh\ni\nj\nk';
    const after = 'a\nB\nc\nd\ne\nf\ng\nh\ni\nj\nk\nl\n';
    assert.equal(
      unifiedDiff('x.yaml', before, after),
      [
        '--- a/x.yaml',
        '+++ b/x.yaml',
        '@@ -1,5 +1,5 @@',
        ' a',
        '-b',
        '+B',
        ' c',
        ' d',
        ' e',
        '@@ -8,4 +8,5 @@',
        ' h',
        ' i',
        ' j',
        '-k',
        '\\ No newline at end of file',
        '+k',
        '+l',
        '',
      ].join('\n'),
    );
    assert.equal(unifiedDiff('x', 'same\n', 'same\n'), '');
    assert.equal(unifiedDiff('new.yaml', undefined, 'x\n'), '--- /dev/null\n+++ b/new.yaml\n@@ -0,0 +1 @@\n+x\n');
    assert.deepEqual(splitLines('a\r\nb'), ['a\r\n', 'b']);
  });
});

describe('glob over folders', () => {
  const tree: Record<string, string[]> = {
    '': ['clusters', '.git', 'apps'],
    clusters: ['prod', 'staging', 'dev-eu'],
    'clusters/prod': ['flux-system', 'apps'],
    'clusters/staging': ['flux-system'],
    'clusters/dev-eu': ['nested'],
    'clusters/dev-eu/nested': ['flux-system'],
    '.git': ['flux-system'],
    apps: [],
  };
  const list = (d: string) => tree[d] ?? [];
  test('* matches one level, ** any depth (not into hidden folders), literal segments must exist', () => {
    assert.deepEqual(globDirs('clusters/*/flux-system', list), [
      'clusters/prod/flux-system',
      'clusters/staging/flux-system',
    ]);
    assert.deepEqual(globDirs('**/flux-system', list), [
      'clusters/dev-eu/nested/flux-system',
      'clusters/prod/flux-system',
      'clusters/staging/flux-system',
    ]);
    assert.deepEqual(globDirs('clusters/dev-*/**/flux-system', list), ['clusters/dev-eu/nested/flux-system']);
    assert.deepEqual(globDirs('clusters/p?od/flux-system', list), ['clusters/prod/flux-system']);
    assert.deepEqual(globDirs('clusters/*/missing', list), []);
  });
});

describe('Azure DevOps URLs', () => {
  const want = 'https://dev.azure.com/contoso/My%20Project/_git/fleet';
  const table: [string, string][] = [
    ['ssh://git@ssh.dev.azure.com/v3/contoso/My%20Project/fleet', want],
    ['ssh://git@ssh.dev.azure.com/v3/contoso/My%20Project/fleet.git', want],
    ['ssh://git@ssh.dev.azure.com:22/v3/contoso/My%20Project/fleet/', want],
    ['ssh://ssh.dev.azure.com/v3/contoso/My%20Project/fleet', want],
    ['git@ssh.dev.azure.com:v3/contoso/My%20Project/fleet', want],
    ['git@ssh.dev.azure.com:v3/contoso/My%20Project/fleet.git', want],
    ['git@ssh.dev.azure.com:v3/contoso/My%20Project/fleet/', want],
    ['contoso@vs-ssh.visualstudio.com:v3/contoso/My%20Project/fleet', want],
    ['contoso@vs-ssh.visualstudio.com:v3/contoso/My%20Project/fleet.git', want],
    ['ssh://contoso@vs-ssh.visualstudio.com/v3/contoso/My%20Project/fleet', want],
    ['ssh://contoso@vs-ssh.visualstudio.com:22/v3/contoso/My%20Project/fleet.git', want],
    ['https://contoso.visualstudio.com/My%20Project/_git/fleet', want],
    ['https://contoso.visualstudio.com/DefaultCollection/My%20Project/_git/fleet', want],
    ['https://contoso.visualstudio.com/defaultcollection/My%20Project/_git/fleet.git/', want],
    ['https://user@contoso.visualstudio.com:443/My%20Project/_git/fleet', want],
    ['https://contoso@dev.azure.com/contoso/My%20Project/_git/fleet', want],
    ['https://contoso:secret@dev.azure.com/contoso/My%20Project/_git/fleet', want],
    ['https://dev.azure.com/contoso/My%20Project/_git/fleet.git', want],
    ['https://dev.azure.com/contoso/My%20Project/_git/fleet/', want],
    ['https://dev.azure.com:443/contoso/My%20Project/_git/fleet', want],
    ['HTTPS://DEV.AZURE.COM/contoso/My%20Project/_git/fleet', want],
    ['  https://dev.azure.com/contoso/My%20Project/_git/fleet  ', want],
    [want, want],
    // The repository named like its project: Azure DevOps leaves the project out.
    ['https://dev.azure.com/contoso/_git/fleet', 'https://dev.azure.com/contoso/fleet/_git/fleet'],
    // Spaces and non-ASCII: the same bytes, however they were encoded, print the same.
    [
      'https://dev.azure.com/contoso/Plattform%20Öps/_git/flux%20fleet%20ü',
      'https://dev.azure.com/contoso/Plattform%20%C3%96ps/_git/flux%20fleet%20%C3%BC',
    ],
    [
      'git@ssh.dev.azure.com:v3/contoso/Plattform%20%C3%96ps/flux%20fleet%20%C3%BC.git',
      'https://dev.azure.com/contoso/Plattform%20%C3%96ps/_git/flux%20fleet%20%C3%BC',
    ],
    [
      'https://dev.azure.com/contoso/Plattform%20%c3%96ps/_git/flux%20fleet%20%c3%bc',
      'https://dev.azure.com/contoso/Plattform%20%C3%96ps/_git/flux%20fleet%20%C3%BC',
    ],
    // A repository whose name ends in .git-like text but is not the suffix stays.
    ['https://dev.azure.com/contoso/p/_git/fleet.gitops', 'https://dev.azure.com/contoso/p/_git/fleet.gitops'],
  ];
  for (const [input, expected] of table) {
    test(`${input.trim()} -> ${expected}`, () => {
      assert.equal(toAzureDevOpsHttpsUrl(input), expected);
      // Idempotent: the canonical form maps to itself.
      assert.equal(toAzureDevOpsHttpsUrl(expected), expected);
    });
  }
  for (const u of [
    'ssh://git@github.com/contoso/fleet',
    'git@github.com:contoso/fleet.git',
    'https://tfs.contoso.com/tfs/Default/p/_git/r',
    'https://dev.azure.com/contoso/p/r',
    'https://dev.azure.com/contoso/p/_git/',
    'https://dev.azure.com/contoso/p/_git/.git',
    'https://dev.azure.com:8443/contoso/p/_git/r',
    'ssh://git@ssh.dev.azure.com:2222/v3/contoso/p/r',
    'ssh://git@ssh.dev.azure.com/v2/contoso/p/r',
    'http://dev.azure.com/contoso/p/_git/r',
    'https://dev.azure.com/contoso/p/_git/r?path=/README.md',
    'https://vs-ssh.visualstudio.com/p/_git/r',
    'file:///srv/git/fleet.git',
    '',
  ]) {
    test(`not an Azure DevOps Git URL: ${JSON.stringify(u)}`, () => {
      assert.equal(parseAzureDevOpsGitUrl(u), undefined, u);
    });
  }
});

describe('versions', () => {
  test('semver order, pre-releases, image tags, header and image detection', () => {
    const v = (s: string) => parseSemVer(s)!;
    assert.ok(compareSemVer(v('2.4.0-rc.1'), v('2.4.0')) < 0);
    assert.ok(compareSemVer(v('v2.10.0'), v('2.9.4')) > 0);
    assert.equal(imageTag('ghcr.io/fluxcd/source-controller:v1.4.1@sha256:abc'), 'v1.4.1');
    assert.equal(imageTag('localhost:5000/fluxcd/source-controller'), undefined);
    assert.equal(detectFluxVersion('---\n# Flux Version: v2.8.3\n# Components: a,b\n', {}).version?.minor, 8);
    const est = detectFluxVersion('---\napiVersion: v1\n', { 'source-controller': 'v1.6.2' });
    assert.equal(est.source, 'image');
    assert.deepEqual([est.version?.major, est.version?.minor], [2, 6]);
  });
  test('label selectors', () => {
    const labels = { app: 'source-controller', tier: 'flux' };
    assert.ok(matchesSelector('app=source-controller,tier', labels));
    assert.ok(matchesSelector('app in (a, source-controller),!missing', labels));
    assert.ok(!matchesSelector('app!=source-controller', labels));
    assert.ok(!matchesSelector('tier notin (flux)', labels));
  });
});

describe('kustomization.yaml edits on unusual layouts', () => {
  const ours = [
    serviceAccountPatch(['source-controller'], 'flux-system', '11111111-2222-4333-8444-555555555555', undefined),
    gitRepositoryPatch('flux-system', 'flux-system', undefined),
  ];
  const edit = (text: string) => setOurPatches(readKustomization(text, 'kustomization.yaml'), ours).text;
  const patchesAfter = (text: string) =>
    (parseDocument(edit(text)).toJS() as { patches: { patch?: string; path?: string }[] }).patches;

  test('empty or null `patches`, a flow list with items, comments after the last entry, 4-space indentation', () => {
    for (const text of [
      'resources:\n- a.yaml\npatches: []\n',
      'resources:\n- a.yaml\npatches:\n',
      'resources:\n- a.yaml\npatches: ~\n',
    ]) {
      const out = edit(text);
      assert.ok(out.startsWith('resources:\n- a.yaml\npatches:\n- patch: |-\n'), out);
      assert.equal(patchesAfter(text).length, 2);
    }
    const flow = 'resources: [a.yaml]\npatches: [{path: x.yaml}]\n';
    assert.deepEqual(
      patchesAfter(flow).map((p) => p.path ?? 'ours'),
      ['x.yaml', 'ours', 'ours'],
    );
    const commented = 'patches:\n    - path: x.yaml   # keep\n    # - path: disabled.yaml\nresources:\n    - a.yaml\n';
    const out = edit(commented);
    assert.ok(out.startsWith('patches:\n    - path: x.yaml   # keep\n    - patch: |-\n        # Managed by'), out);
    assert.ok(
      out.endsWith('        namespace: flux-system\n    # - path: disabled.yaml\nresources:\n    - a.yaml\n'),
      out,
    );
  });

  test('a second edit with the same patches changes nothing; another client id rewrites only our entry', () => {
    const once = edit('resources:\n- a.yaml\n# trailing comment\n');
    assert.equal(setOurPatches(readKustomization(once, 'k'), ours).text, once);
    const other = [
      serviceAccountPatch(['source-controller'], 'flux-system', '99999999-2222-4333-8444-555555555555', undefined),
      ours[1],
    ];
    const twice = setOurPatches(readKustomization(once, 'k'), other).text;
    assert.equal(twice, once.replace('11111111-2222', '99999999-2222'));
  });
});

describe("a fleet's gotk-sync.yaml variants", () => {
  const base = [
    '# This manifest was generated by flux. DO NOT EDIT.',
    '---',
    'apiVersion: source.toolkit.fluxcd.io/v1',
    'kind: GitRepository',
    'metadata:',
    '  name: flux-system',
    '  namespace: flux-system',
    'spec:',
    '  interval: 1m0s',
    '  ref:',
    '    branch: main',
    '  url: ssh://git@ssh.dev.azure.com/v3/contoso/platform/fleet',
    '---',
    'apiVersion: kustomize.toolkit.fluxcd.io/v1',
    'kind: Kustomization',
    'metadata:',
    '  name: flux-system',
    '  namespace: flux-system',
    'spec:',
    '  path: ./clusters/prod',
    '  sourceRef: {kind: GitRepository, name: flux-system, path: ./x}',
    '',
  ].join('\n');
  const path = (to: string) => base.replace('./clusters/prod', to);
  const url = (to: string) => base.replace('ssh://git@ssh.dev.azure.com/v3/contoso/platform/fleet', to);
  const read = (f: () => unknown) => {
    try {
      return JSON.stringify(f());
    } catch (err) {
      return `error: ${(err as Error).message}`;
    }
  };

  test('a text differing from the one read before in one value reads exactly as YAML reads it', () => {
    const variants = [
      base,
      path('./clusters/aks-1'),
      path('./clusters/aks-10'),
      path('clusters/prod/'),
      path('./clusters/prod:'),
      path('./clusters/prod #comment'),
      path("'./clusters/prod'"),
      path('./clusters/x\n  prune: false'),
      path('./c,d'),
      path('./x: y'),
      path('&a ./x'),
      path('*a'),
      path('./x]'),
      path(''),
      path('[./x]'),
      path('~/x'),
      path('-/x'),
      path('1/2'),
      path('./clusters/prod\n---\nkind: X'),
      path('./clusters/prod\r'),
      base.replace('path: ./clusters/prod', 'path2: ./clusters/prod'),
      base.replace('path: ./x}', 'path: ./y}'),
      base.replace('path: ./x}', 'path: ./y, z: 1}'),
      url('https://dev.azure.com/contoso/platform/_git/fleet'),
      url('ssh://git@ssh.dev.azure.com/v3/contoso/platform/fleet:'),
      url('ssh://git@ssh.dev.azure.com/v3/contoso/platform/fleet # old'),
      `%YAML 1.1\n${path('./clusters/a')}`,
    ];
    for (const v of variants) {
      parseAllVariant(base, 'gotk-sync.yaml');
      assert.equal(
        read(() => parseAllVariant(v, 'gotk-sync.yaml')),
        read(() => parseAll(v, 'gotk-sync.yaml')),
        v,
      );
    }
  });
});
