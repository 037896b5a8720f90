/**
 * The README stays true to the code: its troubleshooting tables are what scripts/troubleshooting.ts
 * generates from tasks/common/verify/causes.ts and the UserError codes (run
 * `npm run readme:troubleshooting` after changing either), every cause code has an example, the
 * Node version it asks for is package.json's, and every path in its layout exists.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import {
  BEGIN,
  END,
  README,
  causeCodes,
  causeRows,
  troubleshootingMarkdown,
  userErrorRows,
} from '../../scripts/troubleshooting';

const root = path.resolve(import.meta.dirname, '..', '..');
const readme = fs.readFileSync(README, 'utf8');

test('the troubleshooting tables are the ones generated from the code (npm run readme:troubleshooting)', () => {
  const b = readme.indexOf(BEGIN);
  const e = readme.indexOf(END);
  assert.ok(b >= 0 && e > b, 'README.md has the troubleshooting markers');
  assert.equal(
    readme.slice(b, e + END.length),
    troubleshootingMarkdown(),
    'README.md and the cause catalogue differ: run npm run readme:troubleshooting',
  );
});

test('every cause causes.ts knows has a row (an example message that explainFailure maps to it)', () => {
  const rows = new Set(causeRows().map((r) => r.code));
  const missing = causeCodes().filter((c) => !rows.has(c));
  assert.deepEqual(missing, [], 'add an example message for these codes to EXAMPLES in scripts/troubleshooting.ts');
  for (const r of causeRows()) {
    assert.ok(r.cause && r.fix, `${r.code} has a cause and a fix`);
  }
});

test('every UserError code with a literal code is in the table, with the error it raises', () => {
  const rows = userErrorRows();
  const sources = fs
    .readdirSync(path.join(root, 'tasks'), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'))
    .map((f) => fs.readFileSync(path.join(root, 'tasks', f), 'utf8'))
    .join('\n');
  const codes = new Set([...sources.matchAll(/new UserError\([\s\S]{0,900}?code: '([A-Za-z]+)'/g)].map((m) => m[1]!));
  for (const code of codes)
    assert.ok(
      rows.some((r) => r.code === code),
      `${code} is in the table`,
    );
  assert.ok(rows.length >= 40, `${rows.length} rows`);
  const budget = rows.find((r) => r.code === 'FederatedCredentialBudget');
  assert.ok(budget && budget.seen && budget.fix, 'FederatedCredentialBudget: the error and its fix');
});

test("the prerequisites name package.json's Node version, git and kubectl and what installs them", () => {
  const engines = (
    JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { engines: { node: string } }
  ).engines.node;
  const section = readme.slice(readme.indexOf('## Prerequisites'), readme.indexOf('## Quick start'));
  assert.ok(section.includes(`Node ${engines.replace('>=', '>= ')}`), `Node ${engines} in:\n${section}`);
  for (const tool of ['| git |', '| kubectl |', '@sparticuz/chromium', 'apt-get install kubectl'])
    assert.ok(section.includes(tool), tool);
});

test('every path in the layout section exists', () => {
  const block = readme.slice(readme.indexOf('## Layout'));
  const code = block.slice(block.indexOf('```') + 3, block.indexOf('```', block.indexOf('```') + 3));
  const paths = code
    .split('\n')
    .map((l) => l.split(/\s{2,}/)[0]!.trim())
    .filter((p) => p && !/[<{*]/.test(p))
    .flatMap((p) => p.split(/,\s*/));
  assert.ok(paths.length > 10, paths.join(' '));
  const missing = paths.filter((p) => !fs.existsSync(path.join(root, p)));
  assert.deepEqual(missing, []);
});
