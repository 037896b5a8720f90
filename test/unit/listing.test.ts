/**
 * The Marketplace listing: vss-extension.json names screenshots that exist in images/ (made by
 * npm run screenshots, at the 1366x768 the manifest schema asks for), ships them with the
 * package, has galleryFlags and links, and overview.md shows the screenshots, the prerequisites
 * and the limits.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';

const root = path.resolve(import.meta.dirname, '..', '..');
const manifest = JSON.parse(fs.readFileSync(path.join(root, 'vss-extension.json'), 'utf8')) as {
  screenshots?: { path: string }[];
  galleryFlags?: string[];
  links?: Record<string, { uri: string }>;
  files: { path: string; addressable?: boolean }[];
};
const overview = fs.readFileSync(path.join(root, 'overview.md'), 'utf8');

/** Width and height from a PNG's IHDR chunk. */
function pngSize(file: string): { width: number; height: number } {
  const b = fs.readFileSync(file);
  assert.equal(b.subarray(1, 4).toString('latin1'), 'PNG', `${file} is a PNG`);
  return { width: b.readUInt32BE(16), height: b.readUInt32BE(20) };
}

test('the screenshots the manifest names exist, at 1366x768, light and dark, success and failure', () => {
  const shots = (manifest.screenshots ?? []).map((s) => s.path).sort();
  assert.deepEqual(shots, [
    'images/screenshot-failure-dark.png',
    'images/screenshot-failure-light.png',
    'images/screenshot-success-dark.png',
    'images/screenshot-success-light.png',
  ]);
  for (const s of shots) assert.deepEqual(pngSize(path.join(root, s)), { width: 1366, height: 768 }, s);
  for (const s of shots)
    assert.ok(
      manifest.files.some((f) => f.path === s && f.addressable),
      `${s} ships, addressable (overview.md links to it)`,
    );
});

test('overview.md shows the screenshots and states the prerequisites and the limits', () => {
  for (const s of ['images/screenshot-failure-light.png', 'images/screenshot-success-light.png'])
    assert.match(overview, new RegExp(`!\\[[^\\]]+\\]\\(${s.replace(/[.]/g, '\\.')}\\)`), s);
  const limits = overview.slice(overview.indexOf('## Limits'));
  assert.match(limits, /20 federated credentials per managed identity/);
  assert.match(limits, /Flux 2\.4 or later/);
  assert.match(limits, /Basic/);
  assert.match(overview, /## Prerequisites/);
});

test('galleryFlags and links are set', () => {
  assert.ok(manifest.galleryFlags?.length, 'galleryFlags');
  for (const f of manifest.galleryFlags ?? []) assert.ok(['Paid', 'Preview', 'Public'].includes(f), f);
  assert.ok(manifest.links?.getstarted?.uri.startsWith('https://'));
  assert.ok(manifest.links?.learn?.uri.startsWith('https://'));
});
