/**
 * Compile time of the local runner (test/agent/template.ts) on the examples of Microsoft's
 * "Templates", "Template expressions" and "Runtime parameters" pages: step, job, stage and
 * variable templates with typed parameters, `${{ each }}` over lists and mappings (also as keys),
 * `${{ if }}` / `${{ elseif }}` / `${{ else }}`, `${{ insert }}`, the parameter validation
 * messages Azure Pipelines prints, and errors that name the file and YAML path.
 * Template files are written to a temporary folder; nothing runs.
 */
import { after, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as YAML from 'yaml';
import { compile as compileModel } from '../agent/pipeline';
import { compilePipeline } from '../agent/template';
import { PipelineError } from '../agent/pipeline-model';

const dirs: string[] = [];
after(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

function compile(
  pipeline: string,
  files: Record<string, string> = {},
  opts: { parameters?: Record<string, string>; variables?: Record<string, string> } = {},
): unknown {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'templates-'));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), text);
  }
  fs.writeFileSync(path.join(dir, 'azure-pipelines.yml'), pipeline);
  return compilePipeline({ file: path.join(dir, 'azure-pipelines.yml'), ...opts }).tree;
}

/** The expected tree, written as YAML text (scalars are text until the model reads them). */
const y = (text: string): unknown => YAML.parse(text, { schema: 'failsafe' });

test('step template with typed parameters; each over a list, if/else inside', () => {
  const tree = compile(
    `
steps:
- template: templates/steps.yml
  parameters:
    names: [alpha, beta]
    loud: true
`,
    {
      'templates/steps.yml': `
parameters:
- name: names
  type: object
  default: []
- name: loud
  type: boolean
  default: false
- name: greeting
  type: string
  default: hello
steps:
- \${{ each n in parameters.names }}:
  - \${{ if parameters.loud }}:
    - bash: echo \${{ upper(format('{0} {1}', parameters.greeting, n)) }}
  - \${{ else }}:
    - bash: echo \${{ parameters.greeting }} \${{ n }}
`,
    },
  );
  assert.deepEqual(tree, y('steps:\n- bash: echo HELLO ALPHA\n- bash: echo HELLO BETA\n'));
});

test("Microsoft's nested each example: fruits and their colors", () => {
  const tree = compile(`
parameters:
- name: listOfFruits
  type: object
  default:
  - fruitName: 'apple'
    colors: ['red','green']
  - fruitName: 'lemon'
    colors: ['yellow']
steps:
- \${{ each fruit in parameters.listOfFruits }} :
  - \${{ each fruitColor in fruit.colors}} :
    - script: echo \${{ fruit.fruitName}} \${{ fruitColor }}
`);
  assert.deepEqual(
    tree,
    y('steps:\n- script: echo apple red\n- script: echo apple green\n- script: echo lemon yellow\n'),
  );
});

test("Microsoft's job wrapper example: each over a job's keys, a stepList spliced in", () => {
  const tree = compile(
    `
jobs:
- template: jobs.yml
  parameters:
    jobs:
    - job: A
      steps:
      - script: echo A
    - job: B
      pool: { vmImage: ubuntu-latest }
      steps:
      - script: echo B
`,
    {
      'jobs.yml': `
parameters:
- name: jobs
  type: jobList
  default: []
jobs:
- \${{ each job in parameters.jobs }}:
  - \${{ each pair in job }}:
      \${{ if ne(pair.key, 'steps') }}:
        \${{ pair.key }}: \${{ pair.value }}
    steps:
    - script: echo setup
    - \${{ job.steps }}
`,
    },
  );
  assert.deepEqual(
    tree,
    y(`
jobs:
- job: A
  steps: [{ script: echo setup }, { script: echo A }]
- job: B
  pool: { vmImage: ubuntu-latest }
  steps: [{ script: echo setup }, { script: echo B }]
`),
  );
});

test('if / elseif / else in mappings, insert, each as keys, compile-time variables', () => {
  const pipeline = `
parameters:
- name: os
  type: string
  default: linux
  values: [win, linux, mac]
- name: extra
  type: object
  default: { a: '1', b: '2' }
variables:
  \${{ if eq(parameters.os, 'win') }}:
    testsFolder: windows
  \${{ elseif eq(parameters.os, 'linux') }}:
    testsFolder: linux
  \${{ else }}:
    testsFolder: mac
  \${{ if eq(variables['Build.SourceBranchName'], 'main') }}:
    stageName: prod
  \${{ each pair in parameters.extra }}:
    x_\${{ pair.key }}: \${{ pair.value }}
  \${{ insert }}: { inserted: yes }
steps:
- bash: echo \${{ variables.testsFolder }} \${{ variables.x_a }}
`;
  const vars = { 'Build.SourceBranchName': 'main' };
  assert.deepEqual(
    compile(pipeline, {}, { variables: vars }),
    y(`
variables: { testsFolder: linux, stageName: prod, x_a: '1', x_b: '2', inserted: yes }
steps: [{ bash: echo linux 1 }]
`),
  );
  const mac = compile(pipeline, {}, { parameters: { os: 'mac' }, variables: { 'Build.SourceBranchName': 'dev' } });
  assert.deepEqual(
    (mac as { variables: unknown }).variables,
    y('{ testsFolder: mac, x_a: "1", x_b: "2", inserted: yes }'),
  );
});

test('job and stage templates, variable templates, nested templates, typed values', () => {
  const tree = compile(
    `
parameters:
- name: clusters
  type: object
  default: [aks-a, aks-b]
- name: retries
  type: number
  default: 2
stages:
- template: stage.yml
  parameters:
    name: Deploy
    clusters: \${{ parameters.clusters }}
    retries: \${{ parameters.retries }}
`,
    {
      'stage.yml': `
parameters:
- { name: name, type: string }
- { name: clusters, type: object }
- { name: retries, type: number }
stages:
- stage: \${{ parameters.name }}
  variables:
  - template: vars.yml
    parameters:
      env: \${{ parameters.name }}
  jobs:
  - \${{ each c in parameters.clusters }}:
    - template: job.yml
      parameters:
        cluster: \${{ c }}
        retries: \${{ parameters.retries }}
`,
      'vars.yml': `
parameters:
- name: env
variables:
- name: env
  value: \${{ lower(parameters.env) }}
`,
      'job.yml': `
parameters:
- { name: cluster, type: string }
- { name: retries, type: number, default: 0 }
jobs:
- job: \${{ replace(parameters.cluster, '-', '_') }}
  steps:
  - bash: echo \${{ parameters.cluster }}
    retryCountOnTaskFailure: \${{ parameters.retries }}
`,
    },
  );
  // A whole `${{ }}` keeps its type: the number parameter stays a number.
  const step = (name: string) => ({ bash: `echo ${name}`, retryCountOnTaskFailure: 2 });
  assert.deepEqual(tree, {
    stages: [
      {
        stage: 'Deploy',
        variables: [{ name: 'env', value: 'deploy' }],
        jobs: [
          { job: 'aks_a', steps: [step('aks-a')] },
          { job: 'aks_b', steps: [step('aks-b')] },
        ],
      },
    ],
  });
});

test('extends a template; legacy mapping-form parameters take any value', () => {
  const tree = compile(
    `
trigger: none
extends:
  template: base.yml
  parameters:
    stageName: Build
    legacyThing: { nested: value }
`,
    {
      'base.yml': `
parameters:
  stageName: Default
  legacyThing: ''
stages:
- stage: \${{ parameters.stageName }}
  jobs:
  - job: A
    steps:
    - bash: echo \${{ parameters.legacyThing.nested }}
`,
    },
  );
  assert.deepEqual(
    tree,
    y('trigger: none\nstages:\n- stage: Build\n  jobs:\n  - job: A\n    steps: [{ bash: echo value }]\n'),
  );
});

test('parameter validation speaks Azure Pipelines', () => {
  const tmpl = {
    't.yml': `
parameters:
- { name: yesNo, type: boolean, default: false }
- { name: count, type: number, default: 1 }
- { name: env, type: string, default: dev, values: [dev, prod] }
- { name: steps, type: stepList, default: [] }
- { name: required, type: string }
steps:
- bash: echo \${{ parameters.required }}
`,
  };
  const use = (params: string) => compile(`steps:\n- template: t.yml\n  parameters: ${params}\n`, tmpl);
  const cases: [string, RegExp][] = [
    ['{ required: x, yesNo: apples }', /The 'yesNo' parameter value 'apples' is not a valid Boolean\./],
    ['{ required: x, count: many }', /The 'count' parameter value 'many' is not a valid Number\./],
    ['{ required: x, env: qa }', /The 'env' parameter value 'qa' is not a valid value\./],
    ['{ required: x, steps: { bash: x } }', /The 'steps' parameter is not a valid StepList\./],
    ['{ required: x, steps: [ { nope: x } ] }', /The 'steps' parameter is not a valid StepList\./],
    [
      '{ yesNo: true }',
      /t\.yml \(used at azure-pipelines\.yml\.steps\[0\]\): A value for the 'required' parameter must be provided\./,
    ],
    ['{ required: x, other: 1 }', /used at azure-pipelines\.yml\.steps\[0\]\): Unexpected parameter 'other'/],
  ];
  for (const [params, message] of cases)
    assert.throws(
      () => use(params),
      (e: Error) => e instanceof PipelineError && message.test(e.message),
      params,
    );
  assert.deepEqual(use('{ required: ok, yesNo: TRUE, count: "4" }'), y('steps: [{ bash: echo ok }]'));
});

test('runtime parameters from the command line: typed, validated, objects read as YAML', () => {
  const pipeline = `
parameters:
- { name: clusters, type: object, default: [a] }
- { name: dryRun, type: boolean, default: true }
steps:
- \${{ each c in parameters.clusters }}:
  - bash: echo \${{ c }} \${{ parameters.dryRun }}
`;
  assert.deepEqual(
    compile(pipeline, {}, { parameters: { clusters: '[x, y]', dryRun: 'false' } }),
    y('steps: [{ bash: echo x False }, { bash: echo y False }]'),
  );
  assert.throws(
    () => compile(pipeline, {}, { parameters: { nope: '1' } }),
    /--param nope: Unexpected parameter 'nope'/,
  );
  assert.throws(
    () => compile(pipeline, {}, { parameters: { dryRun: 'maybe' } }),
    /The 'dryRun' parameter value 'maybe' is not a valid Boolean/,
  );
});

test('errors name the file and YAML path', () => {
  const cases: [string, Record<string, string>, RegExp][] = [
    [
      'steps:\n- template: missing.yml\n',
      {},
      /azure-pipelines\.yml\.steps\[0\]\.template: template 'missing\.yml' was not found/,
    ],
    ['steps:\n- template: t.yml@other\n', {}, /templates from other repositories/],
    ['jobs:\n- template: s.yml\n', { 's.yml': 'steps: []\n' }, /s\.yml: used as a jobs template .* must have jobs:/],
    ['steps:\n- template: loop.yml\n', { 'loop.yml': 'steps:\n- template: loop.yml\n' }, /nested more than 100 levels/],
    [
      "steps:\n- bash: echo ${{ counter('x', 1) }}\n",
      {},
      /steps\[0\]\.bash: \$\{\{ counter\('x', 1\) \}\}: counter\(\) is a runtime function/,
    ],
    ['steps:\n- ${{ else }}:\n  - bash: x\n', {}, /steps\[0\]: \$\{\{ else \}\} must follow \$\{\{ if \}\}/],
    ['steps:\n- bash: ${{ parameters.x\n', {}, /is not closed with \}\}/],
    [
      'parameters:\n- { name: p, type: secureFile }\nsteps: []\n',
      {},
      /parameters\[0\]\.type: parameters of type secureFile are not supported/,
    ],
    ['parameters:\n- { name: p, type: text }\nsteps: []\n', {}, /'text' is not a parameter type/],
    ["parameters:\n- { name: p, default: '${{ 1 }}' }\nsteps: []\n", {}, /parameter defaults must be literals/],
    [
      'variables:\n  a: &v one\n  b: *v\nsteps: []\n',
      {},
      /azure-pipelines\.yml: Anchors are not currently supported\. Remove the anchor 'v'/,
    ],
    [
      'steps:\n- bash: echo ${{ parameters.list }} here\nparameters:\n- { name: list, type: object, default: [1] }\n',
      {},
      /is a list: it cannot be part of a text/,
    ],
  ];
  for (const [pipeline, files, message] of cases)
    assert.throws(
      () => compile(pipeline, files),
      (e: Error) => e instanceof PipelineError && message.test(e.message),
      pipeline,
    );
});

test('what the runner does not implement, inside a template, is named at its place in the template', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'templates-'));
  dirs.push(dir);
  fs.mkdirSync(path.join(dir, 'templates'));
  fs.writeFileSync(path.join(dir, 'templates', 'steps.yml'), 'steps:\n- bash: echo ok\n- pwsh: Write-Host no\n');
  fs.writeFileSync(
    path.join(dir, 'azure-pipelines.yml'),
    'steps:\n- bash: echo first\n- template: templates/steps.yml\n',
  );
  assert.throws(
    () => compileModel({ file: path.join(dir, 'azure-pipelines.yml') }),
    /^Error: templates\/steps\.yml\.steps\[1\]\.pwsh: 'pwsh' steps are not supported/,
  );
});
