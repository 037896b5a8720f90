/**
 * The chain at a glance (web/src/chain.ts) at the top of the results tab, in Chromium: five links,
 * Azure -> Entra ID -> Azure DevOps -> cluster -> Flux, each green, amber, red or grey, and each a
 * link to what decided its colour (the failing check's cause and fix in its card).
 *
 * The page is the shipped index.html and style.css with web/test/harness.ts in place of main.js;
 * reports are made by the real ReportBuilder.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as esbuild from 'esbuild';
import type { Browser, Locator, Page } from 'playwright-core';
import { ReportBuilder } from '../../tasks/common/report/builder';
import type { Report } from '../../tasks/common/report/model';
import { launchBrowser } from './browser';
import { patchFailed, provisionApply, provisionPlan, verifyFailed } from './samples';

const root = path.resolve(import.meta.dirname, '..', '..');
let dir: string;
let server: http.Server;
let base: string;
let browser: Browser;

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fluxoidc-chain-'));
  const built = spawnSync(
    process.execPath,
    [path.join(root, 'scripts', 'build-web.mjs'), '--outdir', path.join(dir, 'web'), '--no-typecheck'],
    { cwd: root, encoding: 'utf8' },
  );
  assert.equal(built.status, 0, `scripts/build-web.mjs failed:\n${built.stdout}${built.stderr}`);
  await esbuild.build({
    absWorkingDir: root,
    entryPoints: { harness: path.join(root, 'web', 'test', 'harness.ts') },
    outdir: dir,
    bundle: true,
    platform: 'browser',
    target: 'es2020',
    format: 'iife',
    logLevel: 'silent',
  });
  const html = fs
    .readFileSync(path.join(dir, 'web', 'index.html'), 'utf8')
    .replace('src="main.js"', 'src="/harness.js"')
    .replace('href="style.css"', 'href="/style.css"');
  server = http.createServer((req, res) => {
    const p = new URL(req.url ?? '/', 'http://x').pathname;
    if (p === '/harness.js')
      return void res
        .writeHead(200, { 'content-type': 'text/javascript' })
        .end(fs.readFileSync(path.join(dir, 'harness.js')));
    if (p === '/style.css')
      return void res
        .writeHead(200, { 'content-type': 'text/css' })
        .end(fs.readFileSync(path.join(dir, 'web', 'style.css')));
    if (p === '/') return void res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(html);
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

async function show(reports: Report[], width = 1280): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage({ viewport: { width, height: 900 } });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(base);
  await page.waitForFunction(() => 'fluxoidc' in globalThis);
  await page.evaluate(
    (r) => (globalThis as unknown as { fluxoidc: { render(r: Report[]): void } }).fluxoidc.render(r),
    reports,
  );
  return { page, errors };
}

const chain = (page: Page): Locator => page.getByRole('navigation', { name: 'The chain at a glance' });
const clean = (t: string): string => t.replace(/\s+/g, ' ').trim();

/** Each link as "Name: state word" (what a reader sees, in order). */
async function links(page: Page): Promise<string[]> {
  const items = chain(page).locator('li');
  const out: string[] = [];
  for (let i = 0; i < (await items.count()); i++) {
    const li = items.nth(i);
    out.push(
      `${clean(await li.locator('.chain__name').innerText())}: ${clean(await li.locator('.chain__state').innerText())}`,
    );
  }
  return out;
}

function verifyPassed(): Report {
  const r = new ReportBuilder('FluxOidcVerify', '1.0.0', 'apply');
  const pass = (id: string, title: string) => r.check({ id, title, status: 'pass', evidence: 'ok' });
  pass('azure.oidc-issuer', 'OIDC issuer enabled');
  pass('azure.federated-credential:source-controller', 'Federated credential for source-controller');
  pass('devops.read', 'Effective Read on the repository');
  pass('cluster.service-account:source-controller', 'ServiceAccount source-controller');
  pass('cluster.pods:source-controller', 'Running source-controller pods have workload identity');
  pass('token.proof:source-controller', 'source-controller token reads the repository');
  pass('reconcile.git-repository', 'GitRepository flux-system/flux-system Ready');
  r.finish('Succeeded', 'All 7 checks passed');
  return r.build();
}

describe('results tab: the chain at a glance', () => {
  it('all green when every link passed, in chain order, with what was checked', async () => {
    const { page, errors } = await show([provisionApply(), verifyPassed()]);
    assert.equal(
      clean(await chain(page).locator('.chain__headline').innerText()),
      'The chain holds: Azure → Entra ID → Azure DevOps → cluster → Flux.',
    );
    assert.deepEqual(await links(page), ['Azure: OK', 'Entra ID: OK', 'Azure DevOps: OK', 'Cluster: OK', 'Flux: OK']);
    const entra = chain(page).locator('[data-link="entra"] .chain__detail');
    assert.match(clean(await entra.innerText()), /^2 checks passed · 2 created$/);
    assert.deepEqual(errors, []);
    await page.close();

    const ok = await show([verifyPassed()]);
    // Green and red are told apart by more than colour: the words and the icons differ.
    const colour = await chain(ok.page)
      .locator('[data-link="azure"] > a')
      .evaluate(
        (a) =>
          (
            a.ownerDocument.defaultView as unknown as { getComputedStyle(e: unknown): { borderLeftColor: string } }
          ).getComputedStyle(a).borderLeftColor,
      );
    assert.equal(colour, 'rgb(16, 124, 16)');
    await ok.page.close();
  });

  it('red where a check failed; the link goes to that check with its cause and fix', async () => {
    const { page, errors } = await show([verifyFailed()]);
    assert.equal(clean(await chain(page).locator('.chain__headline').innerText()), 'The chain breaks at Azure DevOps.');
    const devops = chain(page).locator('[data-link="devops"]');
    assert.equal(clean(await devops.locator('.chain__state').innerText()), 'broken');
    assert.equal(
      await devops
        .locator('a')
        .evaluate(
          (a) =>
            (
              a.ownerDocument.defaultView as unknown as { getComputedStyle(e: unknown): { borderLeftColor: string } }
            ).getComputedStyle(a).borderLeftColor,
        ),
      'rgb(197, 15, 31)',
    );
    await devops.getByRole('link').click();
    const target = new URL(page.url()).hash;
    assert.match(target, /^#run-1-check-\d+$/);
    const issue = page.locator(target);
    assert.match(clean(await issue.locator('.issue__title').innerText()), /Effective Read on the repository|fail/);
    assert.ok(await issue.locator('.cause').isVisible(), 'the cause is right there');
    assert.ok(await issue.locator('.fix').isVisible(), 'and the fix');
    assert.deepEqual(errors, []);
    await page.close();
  });

  it('amber for a change a plan would make; grey for a link this run did not check', async () => {
    const { page } = await show([provisionPlan()]);
    const states = await links(page);
    assert.equal(states[0], 'Azure: needs attention', 'the plan would enable the OIDC issuer');
    assert.equal(states[3], 'Cluster: not checked');
    assert.match(
      clean(await chain(page).locator('[data-link="azure"] .chain__detail').innerText()),
      /apply would update it/,
    );
    assert.equal(await chain(page).locator('[data-link="cluster"] a').count(), 0, 'nothing to point at');
    await page.close();
  });

  it("a task that failed before any check: red at its link, pointing at the card's why", async () => {
    const r = new ReportBuilder('FluxOidcProvision', '1.0.0', 'apply');
    r.error('Service connection azure-prod has no tenantId.');
    r.finish('Failed', 'Service connection azure-prod has no tenantId.');
    const { page } = await show([r.build(), patchFailed()]);
    const azure = chain(page).locator('[data-link="azure"]');
    assert.equal(clean(await azure.locator('.chain__state').innerText()), 'broken');
    assert.match(
      clean(await azure.locator('.chain__detail').innerText()),
      /FluxOidcProvision failed: Service connection/,
    );
    assert.equal(await azure.getByRole('link').getAttribute('href'), '#run-1-why');
    assert.equal(await page.locator('#run-1-why').count(), 1);
    await page.close();
  });

  it('stacks the links on a narrow tab, every one still readable', async () => {
    const { page } = await show([verifyFailed()], 600);
    const boxes = await chain(page)
      .locator('li')
      .evaluateAll((lis) => lis.map((li) => li.getBoundingClientRect().top));
    assert.ok(
      boxes.every((top, i) => i === 0 || top > boxes[i - 1]!),
      `one under the other: ${boxes.join(', ')}`,
    );
    await page.close();
  });
});
