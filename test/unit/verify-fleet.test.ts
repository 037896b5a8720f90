/**
 * Verify of a fleet, the pure parts: the name pattern, bounded parallelism, the verdict of a
 * cluster and the names of its output variables.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mapBounded, namePattern, outputSuffix, verdictOf } from '../../tasks/common/verify/fleet';
import type { CheckResult } from '../../tasks/common/verify/model';

test('namePattern: * and ? over whole names, case-insensitive, other characters literal', () => {
  const re = namePattern('aks-staging-*');
  assert.ok(re.test('aks-staging-weu'));
  assert.ok(re.test('AKS-Staging-x'));
  assert.ok(!re.test('x-aks-staging-weu'));
  assert.ok(namePattern('aks-dev-?eu').test('aks-dev-neu'));
  assert.ok(!namePattern('aks-dev-?eu').test('aks-dev-eus'));
  assert.ok(!namePattern('a.c').test('abc'), '. is not a wildcard');
});

test('mapBounded: never more than the limit at once, results in input order', async () => {
  let running = 0;
  let peak = 0;
  const gates: (() => void)[] = [];
  const p = mapBounded([1, 2, 3, 4, 5], 2, async (n) => {
    running++;
    peak = Math.max(peak, running);
    await new Promise<void>((r) => gates.push(r));
    running--;
    return n * 10;
  });
  // Release the waiting workers one by one (no timers: each release lets the next item start).
  while (gates.length > 0 || running > 0) {
    await Promise.resolve();
    gates.shift()?.();
    await new Promise((r) => setImmediate(r));
  }
  assert.deepEqual(await p, [10, 20, 30, 40, 50]);
  assert.equal(peak, 2);
});

const check = (id: string, status: CheckResult['status']): CheckResult => ({
  id,
  group: 'azure',
  title: id,
  status,
  evidence: [],
});

test('verdictOf: fail on a blocking check, warn on a warning, else pass', () => {
  assert.equal(verdictOf([check('a', 'pass'), check('b', 'skip')], []), 'pass');
  assert.equal(verdictOf([check('a', 'pass'), check('b', 'warn')], []), 'warn');
  assert.equal(verdictOf([check('a', 'fail')], ['a']), 'fail');
  assert.equal(verdictOf([check('b', 'warn')], ['b']), 'fail', 'failOn: warning makes a warning blocking');
});

test('outputSuffix: a variable-name-safe cluster name', () => {
  assert.equal(outputSuffix('aks-dev-weu'), 'aks_dev_weu');
  assert.equal(outputSuffix('aks_gen.0001'), 'aks_gen_0001');
});
