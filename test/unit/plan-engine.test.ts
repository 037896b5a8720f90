/** plan/: one code path for plan and apply, against a tiny in-memory "cloud" that counts writes. */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { MemoryLogger } from '../../tasks/common/log';
import { diff, KNOWN_AFTER_APPLY, runSteps, type Preflight, type Step } from '../../tasks/common/plan';
import { ReportBuilder, UserError } from '../../tasks/common/report';

interface World {
  identity?: { name: string; principalId: string };
  fics: Map<string, { subject: string; principalId: string }>;
  writes: string[];
  reads: number;
}

const newWorld = (): World => ({ fics: new Map(), writes: [], reads: 0 });

function identityStep(w: World): Step<{ exists: boolean }> {
  return {
    id: 'identity',
    kind: 'UserAssignedIdentity',
    name: 'id-flux',
    async observe() {
      w.reads++;
      return { exists: !!w.identity };
    },
    plan: (o) =>
      o.exists
        ? { action: 'unchanged', changes: [] }
        : { action: 'create', changes: [{ field: 'principalId', to: KNOWN_AFTER_APPLY }] },
    async apply() {
      w.identity = { name: 'id-flux', principalId: 'p-123' };
      w.writes.push('identity');
    },
  };
}

/** Depends on the identity: its desired state includes the principal id, only known once the identity exists. */
function ficStep(
  w: World,
  sa: string,
  subjectOverride?: string,
): Step<{ current?: { subject: string; principalId: string }; principalId?: string }> {
  const subject = subjectOverride ?? `system:serviceaccount:flux-system:${sa}`;
  return {
    id: `fic-${sa}`,
    kind: 'FederatedIdentityCredential',
    name: sa,
    dependsOn: ['identity'],
    async observe() {
      w.reads++;
      return { current: w.fics.get(sa), principalId: w.identity?.principalId };
    },
    plan(o) {
      const changes = diff([
        { field: 'subject', from: o.current?.subject, to: subject },
        { field: 'principalId', from: o.current?.principalId, to: o.principalId ?? KNOWN_AFTER_APPLY },
      ]);
      return { action: !o.current ? 'create' : changes.length ? 'update' : 'unchanged', changes };
    },
    async apply(o) {
      assert.ok(o.principalId, 'apply must see the principal id the identity apply produced');
      w.fics.set(sa, { subject, principalId: o.principalId });
      w.writes.push(`fic-${sa}`);
    },
  };
}

const steps = (w: World, subject?: string) => [
  identityStep(w),
  ficStep(w, 'source-controller', subject),
  ficStep(w, 'image-automation-controller'),
];

test('plan mode observes and plans every step, prints the plan, writes nothing', async () => {
  const w = newWorld();
  const log = new MemoryLogger();
  const report = new ReportBuilder('T', '1.0.0', 'plan');
  const res = await runSteps(steps(w), { mode: 'plan', log, report });
  assert.deepEqual(w.writes, []);
  assert.equal(w.reads, 3);
  assert.equal(res.changed, 3);
  assert.equal(res.converged, false);
  const text = log.text();
  assert.match(text, /^Plan: 3 to change, 0 unchanged or skipped$/m);
  assert.match(text, /^\+ create UserAssignedIdentity id-flux$/m);
  assert.match(text, /^ {4}principalId: \(none\) -> \(known after apply\)$/m);
  assert.match(text, /^\+ create FederatedIdentityCredential source-controller$/m);
  const rep = report.build();
  assert.deepEqual(
    rep.resources.map((r) => [r.kind, r.name, r.action, r.status]),
    [
      ['UserAssignedIdentity', 'id-flux', 'create', 'planned'],
      ['FederatedIdentityCredential', 'source-controller', 'create', 'planned'],
      ['FederatedIdentityCredential', 'image-automation-controller', 'create', 'planned'],
    ],
  );
  assert.deepEqual(rep.resources[1].changes, [
    { field: 'subject', to: 'system:serviceaccount:flux-system:source-controller' },
    { field: 'principalId', to: '(known after apply)' },
  ]);
});

test('apply walks the same steps, re-observes dependents after an earlier write; a re-run is converged with zero writes', async () => {
  const w = newWorld();
  const log = new MemoryLogger();
  const report = new ReportBuilder('T', '1.0.0', 'apply');
  const res = await runSteps(steps(w), { mode: 'apply', log, report });
  assert.deepEqual(w.writes, ['identity', 'fic-source-controller', 'fic-image-automation-controller']);
  assert.equal(res.changed, 3);
  assert.deepEqual(w.fics.get('source-controller'), {
    subject: 'system:serviceaccount:flux-system:source-controller',
    principalId: 'p-123',
  });
  assert.equal(w.reads, 5, 'the two dependents were observed again after the identity was created');
  assert.deepEqual(
    report.build().resources.map((r) => r.status),
    ['applied', 'applied', 'applied'],
  );
  assert.deepEqual(
    report.build().resources[1].changes.find((c) => c.field === 'principalId'),
    { field: 'principalId', to: 'p-123' },
    'the report shows the value apply used',
  );

  // Converged: all unchanged, no writes, no re-observation.
  w.writes.length = 0;
  w.reads = 0;
  const report2 = new ReportBuilder('T', '1.0.0', 'apply');
  const log2 = new MemoryLogger();
  const again = await runSteps(steps(w), { mode: 'apply', log: log2, report: report2 });
  assert.deepEqual(w.writes, []);
  assert.equal(w.reads, 3);
  assert.equal(again.converged, true);
  assert.equal(again.changed, 0);
  assert.deepEqual(
    report2.build().resources.map((r) => [r.action, r.status]),
    [
      ['unchanged', 'unchanged'],
      ['unchanged', 'unchanged'],
      ['unchanged', 'unchanged'],
    ],
  );
  assert.match(log2.text(), /Apply complete: nothing to change \(converged\)/);

  // Drift on one resource: only that one is written.
  const report3 = new ReportBuilder('T', '1.0.0', 'apply');
  await runSteps(steps(w, 'system:serviceaccount:flux-system:source-controller-v2'), {
    mode: 'apply',
    log: new MemoryLogger(),
    report: report3,
  });
  assert.deepEqual(w.writes, ['fic-source-controller']);
  assert.deepEqual(report3.build().resources[1].changes, [
    {
      field: 'subject',
      from: 'system:serviceaccount:flux-system:source-controller',
      to: 'system:serviceaccount:flux-system:source-controller-v2',
    },
  ]);
});

test('a failed preflight check stops before the first write (apply) and is reported in both modes', async () => {
  const budget: Preflight = {
    id: 'fic-budget',
    title: 'Federated credentials budget (20 per identity)',
    check: (planned) => {
      const creates = planned.filter(
        (p) => p.step.kind === 'FederatedIdentityCredential' && p.plan.action === 'create',
      ).length;
      return creates + 19 > 20
        ? {
            status: 'fail',
            evidence: `19 existing + ${creates} new`,
            cause: `the identity would have ${19 + creates} federated credentials`,
            fix: 'delete unused federated credentials',
          }
        : { status: 'pass' };
    },
  };
  for (const mode of ['apply', 'plan'] as const) {
    const w = newWorld();
    const report = new ReportBuilder('T', '1.0.0', mode);
    await assert.rejects(
      runSteps(steps(w), { mode, log: new MemoryLogger(), report, preflight: [budget] }),
      (e: unknown) =>
        e instanceof UserError &&
        /Preflight failed, nothing was changed: Federated credentials budget \(20 per identity\): the identity would have 21 federated credentials/.test(
          e.message,
        ) &&
        e.fix === 'delete unused federated credentials',
    );
    assert.deepEqual(w.writes, [], `${mode}: no writes`);
    const rep = report.build();
    assert.deepEqual(
      rep.checks.map((c) => [c.id, c.status, c.fix]),
      [['fic-budget', 'fail', 'delete unused federated credentials']],
    );
    assert.deepEqual(
      rep.resources.map((r) => r.status),
      mode === 'apply' ? ['not-run', 'not-run', 'not-run'] : ['planned', 'planned', 'planned'],
    );
  }
});

test('an apply failure records the failed step and the steps not run, then rethrows', async () => {
  const w = newWorld();
  const boom: Step<null> = {
    id: 'boom',
    kind: 'Team',
    name: 'AKS Managed Identities Team',
    observe: async () => null,
    plan: () => ({ action: 'create', changes: [] }),
    apply: async () => {
      throw new Error('HTTP 403: no permission');
    },
  };
  const report = new ReportBuilder('T', '1.0.0', 'apply');
  await assert.rejects(
    runSteps([identityStep(w), boom, ficStep(w, 'source-controller')], {
      mode: 'apply',
      log: new MemoryLogger(),
      report,
    }),
    /no permission/,
  );
  assert.deepEqual(w.writes, ['identity']);
  assert.deepEqual(
    report.build().resources.map((r) => [r.name, r.status, r.note]),
    [
      ['id-flux', 'applied', undefined],
      ['AKS Managed Identities Team', 'failed', 'HTTP 403: no permission'],
      ['source-controller', 'not-run', 'not applied: an earlier step failed'],
    ],
  );
});

test('skip and delete: skip is never applied, delete is', async () => {
  const calls: string[] = [];
  const mk = (id: string, action: 'skip' | 'delete'): Step<null> => ({
    id,
    kind: 'K',
    name: id,
    observe: async () => null,
    plan: () => ({ action, changes: [], note: `${action} note` }),
    apply: async () => {
      calls.push(id);
    },
  });
  const report = new ReportBuilder('T', '1.0.0', 'apply');
  const res = await runSteps([mk('a', 'skip'), mk('b', 'delete')], { mode: 'apply', log: new MemoryLogger(), report });
  assert.deepEqual(calls, ['b']);
  assert.equal(res.changed, 1);
  assert.deepEqual(
    report.build().resources.map((r) => [r.action, r.status, r.note]),
    [
      ['skip', 'unchanged', 'skip note'],
      ['delete', 'applied', 'delete note'],
    ],
  );
});

test('steps must have unique ids and depend only on earlier steps', async () => {
  const w = newWorld();
  await assert.rejects(
    runSteps([ficStep(w, 'x'), identityStep(w)], { mode: 'plan', log: new MemoryLogger() }),
    /depends on identity, which does not come before it/,
  );
  await assert.rejects(
    runSteps([identityStep(w), identityStep(w)], { mode: 'plan', log: new MemoryLogger() }),
    /duplicate step id identity/,
  );
});
