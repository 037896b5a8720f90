/**
 * The local runner's expression engine against the examples and rules of Microsoft's
 * "Expressions" page (https://learn.microsoft.com/azure/devops/pipelines/process/expressions):
 * functions, type casting, template mode (`${{ }}`: parameters, no status functions, no counter)
 * and runtime mode (variables, dependencies, counter).
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import {
  evaluateCondition,
  evaluateExpression,
  evaluateValue,
  ExpressionError,
  type ExpressionContext,
  type Value,
} from '../agent/expressions';

const parameters: Record<string, Value> = {
  myArray: ['FOO', 'BAR', 'ZOO'],
  clusters: [
    { name: 'aks-dev-weu', env: 'dev' },
    { name: 'aks-prod-weu', env: 'prod' },
  ],
  tags: { team: 'platform', tier: 'gold' },
  yesNo: true,
  count: 3,
  empty: '',
};
const template: ExpressionContext = {
  mode: 'template',
  roots: { parameters, variables: { letters: 'ABC', 'Build.SourceBranchName': 'main', nothing: '' } },
};

// [expression, expected value] in template mode; examples from the doc's function reference first.
const CASES: [string, Value][] = [
  ["and(eq('a', 'a'), ne(1, 2))", true],
  ["coalesce(variables.nothing, variables.alsoMissing, 'literal so it always works')", 'literal so it always works'],
  ["contains('ABCDE', 'BCD')", true],
  ["contains('ABCDE', 'bcd')", true],
  ["containsValue(parameters.myArray, 'bar')", true],
  ["containsValue(parameters.tags, 'gold')", true],
  ["containsValue(parameters.myArray, 'nope')", false],
  ["endsWith('ABCDE', 'DE')", true],
  ["eq(variables.letters, 'ABC')", true],
  ["eq(variables.letters, 'abc')", true],
  ["format('{0}Build', 'Main')", 'MainBuild'],
  ["format('{{{0}}} and {1}', 'a', 'b')", '{a} and b'],
  ['ge(5, 5)', true],
  ['gt(5, 2)', true],
  ["in('B', 'A', 'B', 'C')", true],
  ["join(';', parameters.myArray)", 'FOO;BAR;ZOO'],
  ["join(', ', 'not a list')", 'not a list'],
  ['le(2, 2)', true],
  ['lt(2, 5)', true],
  ["length('fabrikam')", 8],
  ['length(parameters.myArray)', 3],
  ['length(parameters.tags)', 2],
  ["lower('FOO')", 'foo'],
  ['ne(1, 2)', true],
  ['not(eq(1, 2))', true],
  ["notIn('D', 'A', 'B', 'C')", true],
  ['or(eq(1, 1), eq(2, 3))', true],
  [
    "replace('https://www.tinfoilsecurity.com/saml/consume', 'https://www.tinfoilsecurity.com', 'http://server')",
    'http://server/saml/consume',
  ],
  ["split('ubuntu-latest,windows-latest', ',')", ['ubuntu-latest', 'windows-latest']],
  ["startsWith('ABCDE', 'AB')", true],
  ["upper('bah')", 'BAH'],
  ['xor(true, false)', true],
  ["iif(eq(parameters.count, 3), 'three', 'other')", 'three'],
  ["trim('  x  ')", 'x'],
  ['convertToJson(parameters.tags)', '{\n  "team": "platform",\n  "tier": "gold"\n}'],
  // Property access: dots, indexers, list positions; names are case-insensitive.
  ['parameters.clusters[1].name', 'aks-prod-weu'],
  ["parameters['clusters'][0]['env']", 'dev'],
  ['Parameters.Tags.TEAM', 'platform'],
  ["variables['Build.SourceBranchName']", 'main'],
  ['parameters.missing', null],
  ['parameters.yesNo', true],
  // Type casting: the right side converts to the left side's type.
  ["eq(1, '1')", true],
  ["eq('1', 1)", true],
  ["eq(true, 'True')", true],
  ["eq(parameters.yesNo, 'yes')", true], // a non-empty string is true
  ["eq(false, '')", true],
  ["eq(0, '')", true], // '' converts to 0
  ["eq(1, 'one')", false], // conversion fails: false, no error
  ["eq('True', true)", true], // True converts to the text 'True'
  ['eq(null, null)', true],
  ["gt('b', 'A')", true], // ordinal, ignoring case
  ["ge(parameters.count, '3')", true],
  ["and(false, counter('never', 0))", false], // short-circuit: the second argument is not evaluated
];

test('functions and type casting, with the documented examples', () => {
  for (const [src, expected] of CASES)
    assert.deepEqual(evaluateValue(src, template), expected, `${src} should be ${JSON.stringify(expected)}`);
});

test('text of values: booleans as True/False, objects as JSON', () => {
  const cases: [string, string][] = [
    ['parameters.yesNo', 'True'],
    ['eq(1, 2)', 'False'],
    ['parameters.count', '3'],
    ['parameters.missing', ''],
    ['parameters.myArray', '[\n  "FOO",\n  "BAR",\n  "ZOO"\n]'],
  ];
  for (const [src, expected] of cases) assert.equal(evaluateExpression(src, template), expected, src);
});

test('template mode: no job status functions, no counter; unknown names and functions are errors', () => {
  const errors: [string, RegExp][] = [
    ["counter('build', 100)", /counter\(\) is a runtime function/],
    ['succeeded()', /succeeded\(\) is a job status function/],
    ['always()', /job status function/],
    ['dependencies.A.result', /Unrecognized value: 'dependencies' \(available here: parameters, variables\)/],
    ['matches(1)', /Unrecognized function 'matches'/],
    ["eq('a')", /eq\(\) takes 2 argument\(s\), got 1/],
    ["gt(1, 'x')", /cannot convert "x" to a number/],
    ["format('{1}', 'a')", /refers to an argument that was not given/],
    ["format('{0:yyyyMMdd}', 'a')", /format specifier ':yyyyMMdd' is not supported/],
    ["contains(parameters.myArray, 'FOO')", /Unable to convert from Array to String/],
    ["eq('a', 'b'", /expected '\)'/],
    ["'unterminated", /unterminated string/],
  ];
  for (const [src, message] of errors)
    assert.throws(
      () => evaluateValue(src, template),
      (e: Error) => e instanceof ExpressionError && message.test(e.message),
      src,
    );
});

test('runtime mode: variables, dependencies, status functions and counter', () => {
  const counters = new Map<string, number>();
  const runtime: ExpressionContext = {
    variable: (n) => ({ 'build.reason': 'Manual', 'first.color': 'blue' })[n.toLowerCase()],
    status: (fn, args) => fn === 'succeeded' && args.every((a) => a === 'Check'),
    roots: { dependencies: { Check: { result: 'Succeeded', outputs: { 'leg1.verify.verified': 'true' } } } },
    counter: (prefix, seed) => {
      const next = counters.has(prefix) ? counters.get(prefix)! + 1 : seed;
      counters.set(prefix, next);
      return next;
    },
  };
  assert.equal(evaluateCondition("and(succeeded(), eq(variables['Build.Reason'], 'manual'))", runtime), true);
  assert.equal(evaluateCondition("eq(variables['first.color'], 'BLUE')", runtime), true);
  assert.equal(evaluateCondition("succeeded('Check')", runtime), true);
  assert.equal(evaluateExpression("dependencies.Check.outputs['leg1.verify.verified']", runtime), 'true');
  assert.equal(evaluateExpression("counter(variables['Build.Reason'], 100)", runtime), '100');
  assert.equal(evaluateExpression("counter(variables['Build.Reason'], 100)", runtime), '101');
  assert.throws(() => evaluateValue('parameters.x', runtime), /Unrecognized value: 'parameters'/);
});
