/**
 * The results tab as the extension manifest declares it: a build-results tab for runs that use any
 * of our three tasks, served from the addressable web/ folder, with the one scope its REST calls
 * need. (The tab's code reads attachments of the type the tasks write; see loader.ts.)
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { it } from 'node:test';

const root = path.resolve(import.meta.dirname, '..', '..');
const read = (p: string): Record<string, unknown> => JSON.parse(fs.readFileSync(path.join(root, p), 'utf8'));

interface Contribution {
  id: string;
  type: string;
  targets: string[];
  properties: Record<string, unknown>;
}

it('vss-extension.json contributes the results tab for exactly the three tasks, from web/index.html', () => {
  const manifest = read('vss-extension.json') as {
    contributions: Contribution[];
    files: { path: string; addressable?: boolean }[];
    scopes?: string[];
  };
  const tabs = manifest.contributions.filter((c) => c.type === 'ms.vss-build-web.build-results-tab');
  assert.equal(tabs.length, 1, 'one ms.vss-build-web.build-results-tab contribution');
  const [tab] = tabs;
  assert.deepEqual(tab.targets, ['ms.vss-build-web.build-results-view']);
  assert.equal(tab.properties.uri, 'web/index.html');
  assert.equal(tab.properties.name, 'Flux OIDC');

  const taskIds = fs
    .readdirSync(path.join(root, 'tasks'))
    .filter((d) => fs.existsSync(path.join(root, 'tasks', d, 'task.json')))
    .map((d) => read(`tasks/${d}/task.json`).id as string);
  assert.equal(taskIds.length, 3);
  assert.deepEqual(
    [...(tab.properties.supportsTasks as string[])].sort(),
    taskIds.sort(),
    'supportsTasks = the ids in tasks/*/task.json',
  );

  assert.ok(
    manifest.files.some((f) => f.path === 'web' && f.addressable === true),
    'files: { "path": "web", "addressable": true }',
  );
  assert.deepEqual(manifest.scopes, ['vso.build'], 'the Build attachments API needs vso.build, and nothing more');
});
