/**
 * Manifest fuzzing: seeded variants of a flux-system folder (kustomization.yaml and gotk-sync.yaml
 * with every key order, comment placement, quoting style, flow or block lists, CRLF, BOM, anchors
 * and aliases, existing patches of every form, hand-written workload-identity patches as the public
 * guides write them, several documents, unrelated resources, invalid YAML, wrong kinds, huge
 * files) plus the real folders of test/fixtures/flux-real. Each one is either
 *   - patched correctly: a second run changes nothing and, for the rendered sample, `kubectl
 *     kustomize` renders it and the objects carry the workload identity fields; or
 *   - refused with an error that names the file, and every file byte-identical.
 * Anything else is a corrupted file (goal 0).
 *
 * CI: 100 variants, 15 of them (and every real folder) rendered with kubectl. Full
 * (HARDENING_FULL=1): 1,200 variants, all rendered.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { BASE_SEED, FULL, pick, prng, recordFigures } from '../hardening/figures';
import {
  ADO_SSH_URL,
  buildComponents,
  CLIENT_ID,
  DEFAULT_COMPONENTS,
  FIXTURES,
  IMAGE_COMPONENTS,
  materialiseFixture,
  snapshot,
  tempDir,
} from '../unit/flux-fixtures';
import { kubectlAvailable, kustomize, runCore, tools } from './flux-tools';

const CASES = FULL ? 1200 : 100;
const RENDERED = FULL ? CASES : 15;
const FOLDER = 'clusters/prod/flux-system';

interface Variant {
  id: string;
  files: Record<string, string>;
  serviceAccounts: string[];
  /** What the generator put in, for failure messages. */
  traits: string[];
}

type Obj = {
  kind?: string;
  metadata?: { name?: string; annotations?: Record<string, string>; labels?: Record<string, string> };
  spec?: Record<string, unknown> & { template?: { metadata?: { labels?: Record<string, string> } } };
};

// ------------------------------------------------------------------------------------ generator

function quote(r: () => number, s: string): string {
  return pick(r, [s, `'${s}'`, `"${s}"`]);
}

function list(r: () => number, key: string, items: string[], comments: boolean): string {
  if (items.length > 0 && r() < 0.3) return `${key}: [${items.map((i) => quote(r, i)).join(', ')}]\n`;
  const lines = items.map((i) => `- ${quote(r, i)}${comments && r() < 0.3 ? ' # keep' : ''}`);
  const indent = r() < 0.5 ? '' : '  ';
  return `${key}:\n${lines.map((l) => indent + l).join('\n')}\n`;
}

const SMP_LIMITS = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: kustomize-controller
  namespace: flux-system
spec:
  template:
    spec:
      containers:
        - name: manager
          resources:
            limits:
              memory: 1Gi
`;

/** Existing patches, each form kustomize knows; returns the kustomization text and the files they use. */
function existingPatches(r: () => number, traits: string[]): { text: string; files: Record<string, string> } {
  const kind = pick(r, ['none', 'inline', 'path', 'smp', 'json6902', 'guide-wi', 'guide-wi-other-id', 'anchors']);
  traits.push(`patches:${kind}`);
  const indentBlock = (s: string, n: number) =>
    s
      .split('\n')
      .map((l) => (l ? ' '.repeat(n) + l : l))
      .join('\n');
  switch (kind) {
    case 'none':
      return { text: '', files: {} };
    case 'inline':
      return {
        text: `patches:\n  - patch: |\n${indentBlock(SMP_LIMITS, 6)}    target:\n      kind: Deployment\n      name: kustomize-controller\n`,
        files: {},
      };
    case 'path':
      return { text: `patches:\n- path: limits.yaml\n`, files: { 'limits.yaml': SMP_LIMITS } };
    case 'smp':
      return { text: `patchesStrategicMerge:\n- limits.yaml\n`, files: { 'limits.yaml': SMP_LIMITS } };
    case 'json6902':
      return {
        text: `patchesJson6902:\n- target:\n    group: apps\n    version: v1\n    kind: Deployment\n    name: kustomize-controller\n  path: args.yaml\n`,
        files: {
          'args.yaml': `- op: add\n  path: /spec/template/spec/containers/0/args/-\n  value: --concurrent=20\n`,
        },
      };
    case 'guide-wi':
    case 'guide-wi-other-id': {
      // As the Flux and AKS guides write it by hand: annotation and label on the ServiceAccount,
      // label on the pod template.
      const id = kind === 'guide-wi' ? CLIENT_ID : '00000000-1111-2222-3333-444444444444';
      return {
        text: `patches:
  - patch: |-
      apiVersion: v1
      kind: ServiceAccount
      metadata:
        name: source-controller
        namespace: flux-system
        annotations:
          azure.workload.identity/client-id: ${id}
        labels:
          azure.workload.identity/use: "true"
  - patch: |-
      apiVersion: apps/v1
      kind: Deployment
      metadata:
        name: source-controller
        namespace: flux-system
      spec:
        template:
          metadata:
            labels:
              azure.workload.identity/use: "true"
`,
        files: {},
      };
    }
    default:
      return {
        text: `patches:
  - target: &kc
      kind: Deployment
      name: kustomize-controller
    patch: |
      - op: add
        path: /spec/template/spec/containers/0/args/-
        value: --concurrent=20
  - target: *kc
    patch: |
      - op: add
        path: /spec/template/metadata/annotations/fuzz
        value: "yes"
`,
        files: {},
      };
  }
}

function syncFile(r: () => number, traits: string[]): string {
  const url = pick(r, [ADO_SSH_URL, 'https://dev.azure.com/contoso/platform/_git/fleet']);
  const secret = r() < 0.8;
  const provider = r() < 0.1;
  const api = pick(r, [
    'source.toolkit.fluxcd.io/v1',
    'source.toolkit.fluxcd.io/v1',
    'source.toolkit.fluxcd.io/v1beta2',
  ]);
  traits.push(
    `sync:${url.startsWith('ssh') ? 'ssh' : 'https'}${secret ? '+secret' : ''}${provider ? '+provider' : ''}:${api}`,
  );
  const q = (s: string) => quote(r, s);
  return `# This manifest was generated by flux. DO NOT EDIT.
---
apiVersion: ${api}
kind: GitRepository
metadata:
  name: flux-system
  namespace: flux-system
spec:
  interval: 1m0s${r() < 0.3 ? ' # poll' : ''}
  ref:
    branch: ${q('main')}
${provider ? '  provider: generic\n' : ''}${secret ? `  secretRef:\n    name: ${q('flux-system')}\n` : ''}  url: ${url}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: flux-system
  namespace: flux-system
spec:
  interval: 10m0s
  path: ./clusters/prod
  prune: true
  sourceRef:
    kind: GitRepository
    name: flux-system
`;
}

function variant(index: number): Variant {
  const r = prng(BASE_SEED + index);
  const traits: string[] = [];
  const files: Record<string, string> = {};
  const images = r() < 0.3;
  const components = images ? [...DEFAULT_COMPONENTS, ...IMAGE_COMPONENTS] : DEFAULT_COMPONENTS;
  files['gotk-components.yaml'] = buildComponents({ flux: pick(r, ['v2.4.0', 'v2.5.1', 'v2.6.4']), components });
  files['gotk-sync.yaml'] = syncFile(r, traits);
  const comments = r() < 0.5;
  const resources = ['gotk-components.yaml', 'gotk-sync.yaml'];
  if (r() < 0.3) {
    resources.push('extra.yaml');
    files['extra.yaml'] =
      `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: unrelated\n  namespace: flux-system\ndata:\n  a: "1"\n`;
    traits.push('unrelated-resource');
  }
  const patches = existingPatches(r, traits);
  Object.assign(files, patches.files);
  const head = r() < 0.85;
  const parts = [
    head ? 'apiVersion: kustomize.config.k8s.io/v1beta1\n' : '',
    head ? 'kind: Kustomization\n' : '',
    list(r, 'resources', resources, comments),
    patches.text,
  ].filter(Boolean);
  // Key order: any permutation.
  for (let i = parts.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [parts[i], parts[j]] = [parts[j]!, parts[i]!];
  }
  let text = parts.map((p) => (comments && r() < 0.4 ? `# section\n${p}` : p)).join(comments && r() < 0.3 ? '\n' : '');
  if (comments) text = `# flux-system, edited by hand\n${text}`;
  const damage = r();
  if (damage < 0.05) {
    text = text.replace('resources:', 'resources: [unclosed');
    traits.push('invalid-yaml');
  } else if (damage < 0.08) {
    text = `${text}\n\tbad: tab\n`;
    traits.push('invalid-yaml-tab');
  } else if (damage < 0.11) {
    text = text.replace(/kind: Kustomization|^/, 'kind: Component\n');
    traits.push('wrong-kind');
  } else if (damage < 0.14) {
    text = `${text}---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: second-document\n`;
    traits.push('two-documents');
  } else if (damage < 0.17) {
    text = `${Array.from({ length: 4000 }, (_, i) => `# line ${i} of a very long header comment`).join('\n')}\n${text}`;
    traits.push('huge');
  } else if (damage < 0.19) {
    text = `${text}resources:\n- again.yaml\n`;
    traits.push('duplicate-key');
  }
  if (r() < 0.2) {
    text = text.replace(/\r?\n/g, '\r\n');
    files['gotk-sync.yaml'] = files['gotk-sync.yaml']!.replace(/\r?\n/g, '\r\n');
    traits.push('crlf');
  }
  if (r() < 0.15) {
    text = `\uFEFF${text}`;
    traits.push('bom');
  }
  files['kustomization.yaml'] = text;
  const serviceAccounts = images ? ['source-controller', 'image-automation-controller'] : ['source-controller'];
  return { id: `variant ${index}`, files, serviceAccounts, traits };
}

// ------------------------------------------------------------------------------------ oracle

function rendered(dir: string): Obj[] {
  return parseAllDocuments(kustomize(dir)).map((d) => d.toJS() as Obj);
}

/** Why the patched folder is wrong, or undefined when it is right. */
function checkRendered(dir: string, sas: string[], before: Obj[]): string | undefined {
  let objs: Obj[];
  try {
    objs = rendered(dir);
  } catch (err) {
    return `kubectl kustomize fails after the patch: ${(err as Error).message.split('\n')[0]}`;
  }
  const get = (kind: string, name: string) => objs.find((o) => o.kind === kind && o.metadata?.name === name);
  for (const sa of sas) {
    const s = get('ServiceAccount', sa);
    if (s?.metadata?.annotations?.['azure.workload.identity/client-id'] !== CLIENT_ID)
      return `ServiceAccount ${sa} lacks the client-id annotation`;
    if (s.metadata.labels?.['azure.workload.identity/use'] !== 'true') return `ServiceAccount ${sa} lacks the label`;
    const d = get('Deployment', sa);
    if (d?.spec?.template?.metadata?.labels?.['azure.workload.identity/use'] !== 'true')
      return `Deployment ${sa}: the pod template lacks the label`;
  }
  const git = get('GitRepository', 'flux-system');
  if (git?.spec?.provider !== 'azure') return 'GitRepository flux-system: provider is not azure';
  if (git.spec.secretRef !== undefined) return 'GitRepository flux-system: secretRef kept';
  for (const b of before)
    if (!get(b.kind ?? '', b.metadata?.name ?? '')) return `${b.kind} ${b.metadata?.name} disappeared`;
  return undefined;
}

interface Outcome {
  result: 'patched' | 'refused' | 'corrupted';
  why?: string;
  /** The input folder did not render before the task ran (a refusal is then the right answer). */
  brokenInput?: boolean;
}

async function judge(wd: string, sas: string[], render: boolean): Promise<Outcome> {
  const folder = path.join(wd, FOLDER);
  const before = snapshot(wd);
  let beforeObjects: Obj[] | undefined;
  if (render) {
    try {
      beforeObjects = rendered(folder);
    } catch {
      beforeObjects = undefined; // the input itself does not render
    }
  }
  const brokenInput = render && beforeObjects === undefined;
  const inputs = { workingDirectory: wd, fluxSystemPath: FOLDER, serviceAccounts: sas };
  const first = await runCore(inputs, { tools: tools({ kubectl: render }) });
  if (first.error) {
    const same = JSON.stringify([...snapshot(wd)]) === JSON.stringify([...before]);
    if (!same) return { result: 'corrupted', why: `refused (${first.error.message}) but files changed` };
    if (!/kustomization\.ya?ml|gotk-sync\.yaml|gotk-components\.yaml|flux-system/.test(first.error.message))
      return { result: 'corrupted', why: `refusal does not name the file: ${first.error.message}` };
    return { result: 'refused', why: first.error.message, brokenInput };
  }
  const afterFirst = snapshot(wd);
  const second = await runCore(inputs, { tools: tools({ kubectl: false }) });
  if (second.error) return { result: 'corrupted', why: `second run fails: ${second.error.message}` };
  if (second.outputs?.changed || JSON.stringify([...snapshot(wd)]) !== JSON.stringify([...afterFirst]))
    return { result: 'corrupted', why: 'second run is not a no-op' };
  const k = afterFirst.get(path.join(FOLDER, 'kustomization.yaml')) ?? '';
  if (parseAllDocuments(k.replace(/^\uFEFF/, '')).some((d) => d.errors.length > 0))
    return { result: 'corrupted', why: 'kustomization.yaml is not valid YAML after the patch' };
  if (render) {
    const wrong = checkRendered(folder, sas, beforeObjects ?? []);
    if (wrong) return { result: 'corrupted', why: wrong };
  } else if (!k.includes(CLIENT_ID)) return { result: 'corrupted', why: 'the client id is not in kustomization.yaml' };
  return { result: 'patched' };
}

// ------------------------------------------------------------------------------------ the suite

test('manifest fuzzing: every variant is patched correctly or refused byte-identical', async () => {
  assert.ok(kubectlAvailable(), 'kubectl must be on PATH (the renders are the oracle)');
  const counts = { patched: 0, refused: 0, corrupted: 0, rendered: 0 };
  const refusedValid: string[] = [];
  const corrupted: string[] = [];
  const byTrait = new Map<string, { patched: number; refused: number }>();
  const root = tempDir('flux-fuzz-');
  const run = async (id: string, traits: string[], sas: string[], render: boolean, write: (dir: string) => void) => {
    const wd = path.join(root, String(counts.patched + counts.refused + counts.corrupted));
    write(path.join(wd, FOLDER));
    const o = await judge(wd, sas, render);
    counts[o.result]++;
    if (render) counts.rendered++;
    if (o.result === 'corrupted') corrupted.push(`${id} [${traits.join(' ')}]: ${o.why}`);
    const damaged = traits.some((t) => /invalid|wrong-kind|two-documents|duplicate-key|v1beta2|other-id/.test(t));
    if (o.result === 'refused' && !damaged && !o.brokenInput)
      refusedValid.push(`${id} [${traits.join(' ')}]: ${o.why}`);
    for (const t of traits) {
      const c = byTrait.get(t) ?? { patched: 0, refused: 0 };
      if (o.result !== 'corrupted') c[o.result]++;
      byTrait.set(t, c);
    }
    fs.rmSync(wd, { recursive: true, force: true });
  };

  for (let i = 0; i < CASES; i++) {
    const v = variant(i);
    await run(v.id, v.traits, v.serviceAccounts, i < RENDERED, (dir) => {
      fs.mkdirSync(dir, { recursive: true });
      for (const [name, text] of Object.entries(v.files)) fs.writeFileSync(path.join(dir, name), text);
    });
  }
  for (const fixture of FIXTURES) {
    for (const crlf of [false, true]) {
      await run(
        `${fixture}${crlf ? ' (CRLF)' : ''}`,
        ['real', ...(crlf ? ['crlf'] : [])],
        ['source-controller'],
        true,
        (dir) => {
          materialiseFixture(fixture, dir, { flux: 'v2.4.0' });
          if (crlf) {
            const k = path.join(dir, 'kustomization.yaml');
            fs.writeFileSync(k, fs.readFileSync(k, 'utf8').replace(/\r?\n/g, '\r\n'));
          }
        },
      );
    }
  }
  fs.rmSync(root, { recursive: true, force: true });
  const total = counts.patched + counts.refused + counts.corrupted;
  recordFigures('fuzz', [
    {
      figure: 'cases (variants + real folders x LF/CRLF)',
      value: String(total),
      goal: '>= 1,000 (full)',
      met: FULL ? total >= 1000 : true,
    },
    { figure: 'rendered with kubectl kustomize', value: String(counts.rendered), goal: '-', met: true },
    { figure: 'patched correctly / refused', value: `${counts.patched} / ${counts.refused}`, goal: '-', met: true },
    {
      figure: 'well-formed cases refused',
      value: String(refusedValid.length),
      goal: '0',
      met: refusedValid.length === 0,
    },
    { figure: 'corrupted files', value: String(counts.corrupted), goal: '0', met: counts.corrupted === 0 },
  ]);
  assert.deepEqual(corrupted, [], 'corrupted files');
  assert.deepEqual(refusedValid, [], 'well-formed folders refused');
});
