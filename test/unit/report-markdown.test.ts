/**
 * The run summary as Azure DevOps shows it: the markdown is rendered with a CommonMark renderer
 * (markdown-it, GFM tables, inline HTML on for the `<br>` line breaks) and the assertions are on
 * the rendered text a reader sees, not on the markdown source. Plus the one sentence a successful
 * run leads with, for each task.
 */
import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import MarkdownIt from 'markdown-it';
import { ReportBuilder, renderMarkdown, outcomeSentence, type Report } from '../../tasks/common/report';

const md = new MarkdownIt({ html: true });
const fixedNow = () => new Date('2026-11-28T12:00:00Z');

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'" };
/** The text of rendered HTML: tags dropped, `<br>` as a newline, entities decoded. */
function textOf(html: string): string {
  return html
    .replace(/<br\s*\/?>/g, '\n')
    .replace(/<[^>]+>/g, '')
    .replace(/&(amp|lt|gt|quot|#39);/g, (_m, e: string) => ENTITIES[e]);
}

/** Rendered rows of the table under `heading`: each row's cells as text. */
function tableRows(markdown: string, heading: string): string[][] {
  const html = md.render(markdown);
  const start = html.indexOf(`${heading}</h4>`);
  assert.ok(start >= 0, `no heading ${heading} in\n${html}`);
  const table = html.slice(start, html.indexOf('</table>', start));
  return [...table.matchAll(/<tr>([\s\S]*?)<\/tr>/g)].map((row) =>
    [...row[1].matchAll(/<t[dh][^>]*>([\s\S]*?)<\/t[dh]>/g)].map((c) => textOf(c[1])),
  );
}

const NASTY = [
  'from ACEs on repoV2/p/r > repoV2/p > repoV2 via [platform]\\AKS Managed Identities Team',
  '19 used + 2 new > 20',
  'a | b || c',
  'path C:\\temp\\* and `code` and *stars* and _under_ and snake_case_name',
  '<script>alert(1)</script> & &amp; &gt; \\> \\\\ \\*',
  'link-like [text](http://x) and ![img](y) and <http://z> and [ref]: /url',
  '~~strike~~ and ~one~',
  'a lone /_temp/ and a pair _x_ and __init__',
  'pull request 1 (https://dev.azure.com/contoso/platform/_git/fleet/pullrequest/1). See https://x.example/a_b_c, then _git_',
  'masked *** secret and a * b and 2*3*4',
  '# not a heading',
  '- not a list',
  '1. not a list either',
];

function verifyReport(evidence: string[]): Report {
  const r = new ReportBuilder('FluxOidcVerify', '1.0.0', 'apply', fixedNow);
  evidence.forEach((e, i) =>
    r.check({ id: `devops.read-${i}`, title: `Check ${i} | ${e}`, status: 'pass', evidence: e }),
  );
  r.finish('Succeeded', 'done');
  return r.build();
}

test('evidence renders as written: no &gt;, no doubled backslashes, no markup taken from the text', () => {
  const rows = tableRows(renderMarkdown(verifyReport(NASTY)), 'Checks');
  assert.deepEqual(rows[0], ['Status', 'Check', 'Evidence']);
  NASTY.forEach((e, i) => {
    assert.deepEqual(rows[i + 1], ['✅ pass', `Check ${i} | ${e}`, e]);
  });
});

test('the summary of the issue: the ACL evidence shows a single backslash and a plain >', () => {
  const e =
    'from ACEs of the identity on repoV2/6ce9/5feb > repoV2/6ce9 > repoV2 via [platform]\\AKS Managed Identities Team';
  const markdown = renderMarkdown(verifyReport([e]));
  const rendered = textOf(md.render(markdown));
  assert.ok(rendered.includes('via [platform]\\AKS Managed Identities Team'), rendered);
  assert.ok(!rendered.includes('\\\\'), rendered);
  assert.ok(!rendered.includes('&gt;'), rendered);
  // The source needs no escape for this text either (a renderer that ignores escapes shows it right too).
  assert.ok(markdown.includes(e), markdown);
  // URLs become autolinks, with nothing escaped inside.
  const url = 'https://dev.azure.com/contoso/platform/_git/fleet/pullrequest/1';
  assert.ok(renderMarkdown(verifyReport([`see ${url}.`])).includes(`see <${url}>.`));
  // A lone underscore after a slash opens no emphasis: left as it is.
  assert.ok(
    renderMarkdown(verifyReport(['/tmp/pipeline-1/_temp/report.json'])).includes(
      '| /tmp/pipeline-1/_temp/report.json |',
    ),
  );
});

test('multi-line evidence keeps its lines; messages, causes and fixes render as written', () => {
  const r = new ReportBuilder('FluxOidcVerify', '1.0.0', 'apply', fixedNow);
  r.check({
    id: 'azure.identity',
    title: 'Managed identity',
    status: 'fail',
    evidence: 'line 1 > a\nline 2 | b',
    cause: 'the identity *flux_aks* has <no> access',
    fix: 'run `az identity show` -- see [docs](x)',
  });
  r.finish('Failed', '- 1 required check failed: Managed identity');
  const markdown = renderMarkdown(r.build());
  assert.deepEqual(tableRows(markdown, 'Checks')[1], ['❌ fail', 'Managed identity', 'line 1 > a\nline 2 | b']);
  const text = textOf(md.render(markdown));
  assert.ok(text.includes('\n- 1 required check failed: Managed identity\n'), text);
  assert.ok(text.includes('Managed identity (fail): the identity *flux_aks* has <no> access'), text);
  assert.ok(text.includes('Fix: run `az identity show` -- see [docs](x)'), text);
});

test('resources: names, changes and notes render as written', () => {
  const r = new ReportBuilder('FluxManifestPatch', '1.0.0', 'plan', fixedNow);
  r.resource({
    kind: 'File',
    name: 'clusters/a_b/flux-system/kustomization.yaml',
    action: 'update',
    status: 'planned',
    changes: [{ field: 'patches', from: 'x|y', to: 'multi\nline > 2' }],
    note: '[platform]\\Team',
  });
  r.finish('Succeeded');
  const rows = tableRows(renderMarkdown(r.build()), 'Resources (1 to change, 0 unchanged)');
  assert.deepEqual(rows[1], [
    '✏️',
    'update',
    'File',
    'clusters/a_b/flux-system/kustomization.yaml',
    'patches: x|y → multi\nline > 2',
    'planned',
    '[platform]\\Team',
  ]);
});

function provisionApply(): ReportBuilder {
  const r = new ReportBuilder('FluxOidcProvision', '1.0.0', 'apply', fixedNow);
  const res = (kind: string, name: string, action: 'create' | 'update' | 'unchanged') =>
    r.resource({ kind, name, action, status: action === 'unchanged' ? 'unchanged' : 'applied', changes: [] });
  res('ManagedCluster', 'rg-fleet/aks-prod', 'update');
  res('UserAssignedIdentity', 'rg-fleet/flux-aks-prod', 'create');
  res('FederatedIdentityCredential', 'flux-source-controller-aks-prod', 'create');
  res('FederatedIdentityCredential', 'flux-image-automation-controller-aks-prod', 'create');
  res('Team', 'AKS Managed Identities Team', 'create');
  res('RepositoryPermission', 'AKS Managed Identities Team on fleet', 'unchanged');
  return r;
}

test('a successful run says what happened in one sentence, per task and mode', () => {
  assert.equal(
    outcomeSentence(provisionApply().build()),
    'Updated cluster rg-fleet/aks-prod and created managed identity rg-fleet/flux-aks-prod, 2 federated credentials and team AKS Managed Identities Team.',
  );

  const plan = new ReportBuilder('FluxOidcProvision', '1.0.0', 'plan', fixedNow);
  plan.resource({ kind: 'ManagedCluster', name: 'rg/aks', action: 'update', status: 'planned', changes: [] });
  plan.resource({ kind: 'Team', name: 'T', action: 'unchanged', status: 'unchanged', changes: [] });
  assert.equal(outcomeSentence(plan.build()), 'Plan: apply would update cluster rg/aks; nothing was changed.');

  const converged = new ReportBuilder('FluxOidcProvision', '1.0.0', 'apply', fixedNow);
  converged.resource({ kind: 'Team', name: 'T', action: 'unchanged', status: 'unchanged', changes: [] });
  converged.resource({ kind: 'ManagedCluster', name: 'c', action: 'unchanged', status: 'unchanged', changes: [] });
  assert.equal(
    outcomeSentence(converged.build()),
    'Everything was already in place (2 resources); nothing was written.',
  );

  const patch = new ReportBuilder('FluxManifestPatch', '1.0.0', 'apply', fixedNow);
  patch.resource({
    kind: 'File',
    name: 'clusters/prod/flux-system/kustomization.yaml',
    action: 'update',
    status: 'applied',
    changes: [],
  });
  patch.resource({ kind: 'GitPush', name: 'refs/heads/main', action: 'create', status: 'applied', changes: [] });
  patch.output('commitId', 'd0f5402d095d72c3a6af6853a6c3d9ab6c3725a9');
  assert.equal(
    outcomeSentence(patch.build()),
    'Patched clusters/prod/flux-system/kustomization.yaml and pushed commit d0f5402 to main.',
  );
  patch.output('pullRequestId', '17');
  patch.output('pullRequestUrl', 'https://dev.azure.com/contoso/platform/_git/fleet/pullrequest/17');
  assert.equal(
    outcomeSentence(patch.build()),
    'Patched clusters/prod/flux-system/kustomization.yaml and opened pull request 17 (https://dev.azure.com/contoso/platform/_git/fleet/pullrequest/17).',
  );

  const verify = new ReportBuilder('FluxOidcVerify', '1.0.0', 'apply', fixedNow);
  verify.check({ id: 'azure.oidc-issuer', title: 'OIDC issuer enabled', status: 'pass' });
  verify.check({ id: 'token.proof:source-controller', title: 'token reads the repository', status: 'pass' });
  verify.check({ id: 'devops.excess-rights', title: 'Least privilege', status: 'warn' });
  assert.equal(
    outcomeSentence(verify.build()),
    "All 3 checks passed: Flux's service-account token reads the repository through Entra ID (1 warning: see Needs attention).",
  );
});

test("the summary's first line after the heading is that sentence", () => {
  const r = provisionApply();
  r.finish('Succeeded', outcomeSentence(r.build()));
  const text = textOf(md.render(renderMarkdown(r.build())));
  assert.match(text, /Succeeded \(apply\)\nUpdated cluster rg-fleet\/aks-prod and created managed identity/);
  assert.doesNotMatch(text, /\ndone\n/);
});

test('a run with nothing to do says so, in words', () => {
  const patch = new ReportBuilder('FluxManifestPatch', '1.0.0', 'plan', fixedNow);
  assert.equal(
    outcomeSentence(patch.build()),
    'Plan: the flux-system folder already carries the workload identity patches; nothing to change.',
  );
  const applied = new ReportBuilder('FluxManifestPatch', '1.0.0', 'apply', fixedNow);
  applied.check({ id: 'render', title: 'renders', status: 'skip' });
  assert.equal(
    outcomeSentence(applied.build()),
    'The flux-system folder already carries the workload identity patches; nothing to commit.',
  );
  assert.equal(
    outcomeSentence(new ReportBuilder('FluxOidcVerify', '1.0.0', 'plan', fixedNow).build()),
    'Plan: apply would change nothing.',
  );
});
