/** report/: the builder (redaction), JSON and the markdown summary. */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { renderMarkdown, ReportBuilder, cell } from '../../tasks/common/report';

const fixedNow = () => new Date('2026-11-28T12:00:00Z');

function sample(): ReportBuilder {
  const r = new ReportBuilder('FluxOidcProvision', '1.0.3', 'apply', fixedNow);
  r.resource({
    kind: 'ManagedCluster',
    name: 'aks-prod',
    action: 'update',
    status: 'applied',
    changes: [
      { field: 'oidcIssuerProfile.enabled', from: 'false', to: 'true' },
      { field: 'securityProfile.workloadIdentity.enabled', from: 'false', to: 'true' },
    ],
  });
  r.resource({
    kind: 'FederatedIdentityCredential',
    name: 'flux-source-controller',
    action: 'create',
    status: 'applied',
    changes: [{ field: 'subject', to: 'system:serviceaccount:flux-system:source-controller' }],
  });
  r.resource({
    kind: 'Team',
    name: 'AKS Managed Identities Team',
    action: 'unchanged',
    status: 'unchanged',
    changes: [],
  });
  r.check({
    id: 'repo-permission',
    title: 'Identity can read the repo',
    status: 'pass',
    evidence: 'Read=Allow, Contribute=Allow',
  });
  r.check({
    id: 'fic-budget',
    title: 'Federated credentials budget',
    status: 'fail',
    evidence: '19 used + 2 new > 20',
    cause: 'the identity would have 21 federated credentials',
    fix: 'remove unused credentials or use a second identity',
  });
  r.output('clientId', '00000000-1111-2222-3333-444444444444');
  return r;
}

test('markdown: header with the result, resources table with action icons, checks table, fixes of failed checks', () => {
  const r = sample();
  r.finish('Failed', '1 required check failed');
  const md = renderMarkdown(r.build());
  const lines = md.split('\n');
  assert.equal(lines[0], '### ❌ FluxOidcProvision 1.0.3: Failed (apply)');
  assert.ok(lines.includes('| | Action | Kind | Name | Changes | Status | Note |'));
  assert.ok(
    lines.includes(
      '| ✏️ | update | ManagedCluster | aks-prod | oidcIssuerProfile.enabled: false → true<br>securityProfile.workloadIdentity.enabled: false → true | applied |  |',
    ),
    md,
  );
  assert.ok(
    lines.includes(
      '| ➕ | create | FederatedIdentityCredential | flux-source-controller | subject: (none) → system:serviceaccount:flux-system:source-controller | applied |  |',
    ),
    md,
  );
  assert.ok(lines.includes('| ✔️ | unchanged | Team | AKS Managed Identities Team |  | no change |  |'), md);
  assert.ok(lines.includes('| ✅ pass | Identity can read the repo | Read=Allow, Contribute=Allow |'));
  assert.ok(lines.includes('| ❌ fail | Federated credentials budget | 19 used + 2 new > 20 |'));
  assert.ok(lines.includes('#### How to fix'));
  assert.ok(
    lines.includes('- **Federated credentials budget** (fail): the identity would have 21 federated credentials'),
  );
  assert.ok(lines.includes('  - Fix: remove unused credentials or use a second identity'));
  assert.ok(lines.includes('| clientId | 00000000-1111-2222-3333-444444444444 |'));
  // Every table row has the same number of unescaped cell separators as its header.
  for (const block of [
    ['| | Action', 8],
    ['| ✅', 4],
    ['| ❌ fail', 4],
  ] as const) {
    const row = lines.find((l) => l.startsWith(block[0]))!;
    assert.equal(row.split(/(?<!\\)\|/).length - 1, block[1], row);
  }
});

test('markdown: | and newlines in cells are escaped so the table cannot break', () => {
  assert.equal(cell('a|b\nc\r\nd'), 'a\\|b<br>c<br>d');
  assert.equal(cell('<script>'), '&lt;script>');
  const r = new ReportBuilder('FluxOidcVerify', '1.0.0', 'plan', fixedNow);
  r.check({
    id: 'x',
    title: 'Title | with pipe',
    status: 'warn',
    evidence: 'line 1\nline 2 | more',
    cause: 'c',
    fix: 'f',
  });
  r.resource({
    kind: 'File',
    name: 'clusters/a|b/kustomization.yaml',
    action: 'update',
    status: 'planned',
    changes: [{ field: 'patches', from: 'x|y', to: 'multi\nline' }],
    note: 'n|n',
  });
  r.finish('SucceededWithIssues');
  const md = renderMarkdown(r.build());
  const row = md.split('\n').find((l) => l.includes('Title'))!;
  assert.equal(row, '| ⚠️ warn | Title \\| with pipe | line 1<br>line 2 \\| more |');
  assert.equal(row.split(/(?<!\\)\|/).length - 1, 4);
  const res = md.split('\n').find((l) => l.includes('clusters/a'))!;
  assert.equal(res.split(/(?<!\\)\|/).length - 1, 8, res);
  assert.ok(res.includes('patches: x\\|y → multi<br>line'));
  assert.ok(md.startsWith('### ⚠️ FluxOidcVerify 1.0.0: SucceededWithIssues (plan)'));
});

test('secrets are redacted from JSON and markdown, even when registered after the text was added', () => {
  const r = sample();
  r.check({
    id: 'token',
    title: 'Token exchange',
    status: 'pass',
    evidence: 'got eyJhbGciOi.secret-token-value.sig for the repo',
  });
  r.warning('Authorization: Bearer eyJhbGciOi.secret-token-value.sig was sent');
  r.output('note', 'eyJhbGciOi.secret-token-value.sig');
  r.registerSecret('eyJhbGciOi.secret-token-value.sig');
  r.registerSecret('-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----');
  r.error('key line MIIEvQIBADANBgkqhkiG9w0BAQEFAASC leaked');
  r.finish('Failed', 'failed with eyJhbGciOi.secret-token-value.sig');
  const json = r.toJson();
  const md = renderMarkdown(r.build());
  for (const text of [json, md]) {
    assert.ok(!text.includes('secret-token-value'), text);
    assert.ok(!text.includes('MIIEvQIBADANBgkqhkiG9w0BAQEFAASC'));
    assert.ok(text.includes('***'));
  }
  const parsed = JSON.parse(json) as {
    schema: string;
    result: string;
    outputs: Record<string, string>;
    started: string;
    finished: string;
  };
  assert.equal(parsed.schema, 'fluxoidc-report/v1');
  assert.equal(parsed.result, 'Failed');
  assert.equal(parsed.outputs.note, '***');
  assert.equal(parsed.started, '2026-11-28T12:00:00.000Z');
});

test('JSON: the model round-trips with every section', () => {
  const r = sample();
  r.warning('w');
  r.finish('Failed', 'm');
  const rep = JSON.parse(r.toJson()) as ReturnType<ReportBuilder['build']>;
  assert.deepEqual(
    Object.keys(rep).sort(),
    [
      'checks',
      'errors',
      'finished',
      'message',
      'mode',
      'outputs',
      'resources',
      'result',
      'schema',
      'started',
      'task',
      'version',
      'warnings',
    ].sort(),
  );
  assert.equal(rep.resources.length, 3);
  assert.deepEqual(rep.resources[1], {
    kind: 'FederatedIdentityCredential',
    name: 'flux-source-controller',
    action: 'create',
    status: 'applied',
    changes: [{ field: 'subject', to: 'system:serviceaccount:flux-system:source-controller' }],
  });
  assert.equal(rep.checks[1].fix, 'remove unused credentials or use a second identity');
  assert.deepEqual(rep.warnings, ['w']);
});
