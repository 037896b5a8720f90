/**
 * The build-results tab in a real browser (the Chromium of test/web/browser.ts, driven by
 * playwright-core), as a user sees it:
 *  - the renderer over sample reports made by the real ReportBuilder (cards, badges, resources,
 *    checks, the cause and fix of failures, outputs, HTML shown as text, the empty state);
 *  - the page's states (loading, error with retry, unreadable attachments) over the real loader;
 *  - the shipped bundle (scripts/build-web.mjs output, unmodified) inside a stand-in Azure DevOps
 *    host frame that answers the extension SDK and serves the Build attachments REST API.
 *
 * One browser for the whole file. Set FLUXOIDC_WEB_SHOTS=<dir> to also save screenshots.
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
import type { BrowserContext, Frame, Locator, Page } from 'playwright-core';
import type { Report } from '../../tasks/common/report/model';
import { launchPersistent } from './browser';
import {
  PATCH_CAUSE,
  PATCH_FIX,
  PATCH_WHAT,
  VERIFY_READ_CAUSE,
  VERIFY_READ_FIX,
  XSS,
  patchFailed,
  provisionApply,
  provisionPlan,
  verifyFailed,
  verifyFleet,
  FLEET_FLUX23_CAUSE,
  xssReport,
} from './samples';

const root = path.resolve(import.meta.dirname, '..', '..');
const shots = process.env.FLUXOIDC_WEB_SHOTS;

// What the page calls through the stand-in host; must match web/test/host.ts and web/test/harness.ts.
interface Harness {
  render(reports: Report[]): void;
  start(): void;
  settle(result: { reports: Report[]; problems: { name: string; message: string }[] }): void;
  fail(message: string): void;
  load(attachments: { name: string; text: string; href?: string; downloadError?: string }[]): Promise<void>;
  loads(): number;
}
interface HostConfig {
  tabUrl: string;
  projectId: string;
  projectName: string;
  buildId?: number;
  apiRoot: string;
  token: string;
  themeData?: Record<string, string>;
}
type Win = { fluxoidc: Harness; fakeHost: { start(c: HostConfig): void; calls(): string[] }; __xss?: number };

const PROJECT_ID = '6ce954b1-ce1f-45d1-b94d-e6bf2464ba2c';
const BUILD_ID = 1234;
const TOKEN = 'eyJ0eXAiOiJKV1QiLCJhbGciOiJub25lIn0.test-token';
const TIMELINE = '8c2c9f5e-7d6b-4b8a-9b1e-2f3a4b5c6d7e';

/** The Build attachments API of the stand-in organization. */
interface FakeAttachment {
  name: string;
  record: string;
  body: string;
}
const rest = {
  attachments: [] as FakeAttachment[],
  requests: [] as { method: string; url: string; accept: string; authorization: string }[],
  listStatus: 200,
};

let dir: string;
let server: http.Server;
let base: string;
let context: BrowserContext;

function serveFile(res: http.ServerResponse, file: string, type: string): void {
  if (!fs.existsSync(file)) {
    res.writeHead(404).end();
    return;
  }
  res.writeHead(200, { 'content-type': type, 'cache-control': 'no-store' }).end(fs.readFileSync(file));
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript',
  '.css': 'text/css',
};

function handle(req: http.IncomingMessage, res: http.ServerResponse): void {
  const url = new URL(req.url ?? '/', base);
  const p = decodeURIComponent(url.pathname);
  if (p.startsWith('/web/') || p.startsWith('/test/')) {
    const file = path.join(dir, p);
    if (!file.startsWith(dir)) return void res.writeHead(403).end();
    return serveFile(res, file, TYPES[path.extname(file)] ?? 'application/octet-stream');
  }
  if (p === '/harness.html') {
    // The shipped index.html and style.css, with the test harness in place of main.js.
    const html = fs
      .readFileSync(path.join(dir, 'web', 'index.html'), 'utf8')
      .replace('src="main.js"', 'src="/test/harness.js"')
      .replace('href="style.css"', 'href="/web/style.css"');
    return void res.writeHead(200, { 'content-type': TYPES['.html'] }).end(html);
  }
  if (p === '/host.html') {
    return void res
      .writeHead(200, { 'content-type': TYPES['.html'] })
      .end(
        '<!DOCTYPE html><html lang="en"><head><title>Azure DevOps (stand-in)</title><link rel="icon" href="data:,"><style>html,body{margin:0;height:100%}</style></head><body><script src="/test/host.js"></script></body></html>',
      );
  }
  if (p.startsWith('/contoso/')) {
    rest.requests.push({
      method: req.method ?? '',
      url: req.url ?? '',
      accept: String(req.headers.accept ?? ''),
      authorization: String(req.headers.authorization ?? ''),
    });
    if (req.headers.authorization !== `Bearer ${TOKEN}`)
      return void res
        .writeHead(401, { 'content-type': 'application/json' })
        .end('{"message":"TF400813: not authorized"}');
    const list = new RegExp(`^/contoso/${PROJECT_ID}/_apis/build/builds/${BUILD_ID}/attachments/fluxoidc-report$`).exec(
      p,
    );
    if (list) {
      if (rest.listStatus !== 200)
        return void res
          .writeHead(rest.listStatus, { 'content-type': 'application/json' })
          .end('{"message":"VS800075: The project does not exist or you do not have permission to access it."}');
      // Accept: …;noArrayWrap=true, as the SDK's REST client asks: a bare array.
      const value = rest.attachments.map((a) => ({
        name: a.name,
        _links: {
          self: {
            href: `${base}/contoso/${PROJECT_ID}/_apis/build/builds/${BUILD_ID}/${TIMELINE}/${a.record}/attachments/fluxoidc-report/${encodeURIComponent(a.name)}`,
          },
        },
      }));
      return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(value));
    }
    const one = new RegExp(
      `^/contoso/${PROJECT_ID}/_apis/build/builds/${BUILD_ID}/${TIMELINE}/([^/]+)/attachments/fluxoidc-report/([^/]+)$`,
    ).exec(p);
    const a = one && rest.attachments.find((x) => x.record === one[1] && x.name === one[2]);
    if (a) return void res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(a.body);
    return void res.writeHead(404, { 'content-type': 'application/json' }).end('{"message":"not found"}');
  }
  res.writeHead(404).end();
}

/** A page whose script errors fail the test. */
async function newPage(): Promise<{ page: Page; errors: string[] }> {
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()} (${m.location().url})`);
  });
  return { page, errors };
}

async function harness(): Promise<{ page: Page; errors: string[] }> {
  const p = await newPage();
  await p.page.goto(`${base}/harness.html`);
  await p.page.waitForFunction(() => 'fluxoidc' in globalThis);
  return p;
}

async function render(page: Page, reports: Report[]): Promise<void> {
  await page.evaluate((r) => (globalThis as unknown as Win).fluxoidc.render(r), reports);
}

/** Visible text with whitespace collapsed (badge icons are CSS content, not text). */
async function text(loc: Locator): Promise<string> {
  return (await loc.innerText()).replace(/\s+/g, ' ').trim();
}

async function texts(loc: Locator): Promise<string[]> {
  return (await loc.allInnerTexts()).map((t) => t.replace(/\s+/g, ' ').trim());
}

/** With FLUXOIDC_WEB_SHOTS=<dir>: the whole page, and each card on its own (easier to look at). */
async function shot(page: Page, name: string): Promise<void> {
  if (!shots) return;
  fs.mkdirSync(shots, { recursive: true });
  await page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: true });
  const cards = page.getByRole('article');
  for (let i = 0; i < (await cards.count()); i++)
    await cards.nth(i).screenshot({ path: path.join(shots, `${name}-${i + 1}.png`) });
}

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fluxoidc-web-'));
  // The shipped files, built exactly as `npm run build` builds them (typechecking is the build's job).
  const built = spawnSync(
    process.execPath,
    [path.join(root, 'scripts', 'build-web.mjs'), '--outdir', path.join(dir, 'web'), '--no-typecheck'],
    { cwd: root, encoding: 'utf8' },
  );
  assert.equal(built.status, 0, `scripts/build-web.mjs failed:\n${built.stdout}${built.stderr}`);
  await esbuild.build({
    absWorkingDir: root,
    entryPoints: {
      harness: path.join(root, 'web', 'test', 'harness.ts'),
      host: path.join(root, 'web', 'test', 'host.ts'),
    },
    outdir: path.join(dir, 'test'),
    bundle: true,
    platform: 'browser',
    target: 'es2020',
    format: 'iife',
    logLevel: 'silent',
  });
  server = http.createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  context = await launchPersistent(path.join(dir, 'profile'), {
    viewport: { width: 1100, height: 900 },
  });
  context.setDefaultTimeout(20_000);
});

after(async () => {
  await context?.close();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('results tab: rendering reports', () => {
  it('shows one card per task run, oldest first, with its result, mode and an overview', async () => {
    const { page, errors } = await harness();
    await render(page, [provisionPlan(), provisionApply(), patchFailed(), verifyFailed()]);
    const cards = page.getByRole('article');
    assert.equal(await cards.count(), 4);
    assert.deepEqual(await page.getByRole('heading', { level: 2 }).allInnerTexts(), [
      'FluxOidcProvision 1.0.0',
      'FluxOidcProvision 1.0.0',
      'FluxManifestPatch 1.0.0',
      'FluxOidcVerify 1.0.0',
    ]);
    assert.deepEqual(await texts(page.locator('article .badge--result')), [
      'Succeeded',
      'Succeeded with issues',
      'Failed',
      'Failed',
    ]);
    assert.match(
      await text(cards.nth(0).locator('.run__meta')),
      /^Provision identity and access · plan \(changes nothing\) · started .+ · took 9 s$/,
    );
    assert.match(await text(cards.nth(1).locator('.run__meta')), /· apply · started .+ · took 6 min 52 s$/);
    assert.equal(await text(cards.nth(0).locator('.run__message')), 'plan complete: nothing was changed');
    // The overview links to each card.
    const nav = page.getByRole('navigation', { name: 'Task runs in this pipeline run' });
    assert.deepEqual(await texts(nav.getByRole('link')), [
      'Succeeded FluxOidcProvision (plan)',
      'Succeeded with issues FluxOidcProvision (apply)',
      'Failed FluxManifestPatch (apply)',
      'Failed FluxOidcVerify (apply)',
    ]);
    await nav.getByRole('link').nth(3).click();
    assert.equal(new URL(page.url()).hash, '#run-4');
    await shot(page, 'reports-light');
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.evaluate(() => (globalThis as unknown as { fluxoidc: { markTheme(): void } }).fluxoidc.markTheme());
    await shot(page, 'reports-dark');
    assert.deepEqual(errors, []);
    await page.close();
  });

  it('plan: a resources table with actions and the changed fields, unchanged ones folded away', async () => {
    const { page, errors } = await harness();
    await render(page, [provisionPlan()]);
    const section = page.getByRole('region', { name: 'Resources' });
    assert.equal(await text(section.locator('.summary')), '5 to create · 2 to update · 1 unchanged');
    const table = section.getByRole('table', { name: 'Resources to change by FluxOidcProvision' });
    assert.deepEqual(
      await table.getByRole('columnheader').allInnerTexts(),
      ['Action', 'Kind', 'Name', 'Changes'],
      'plan mode has no Status column',
    );
    const rows = table.locator('tbody tr');
    assert.equal(await rows.count(), 7);
    assert.deepEqual(await texts(rows.locator('.badge')), [
      'update',
      'create',
      'create',
      'create',
      'create',
      'create',
      'update',
    ]);
    const cluster = rows.nth(0);
    assert.equal(await text(cluster.locator('td.name')), 'rg-fleet/aks-prod a cluster update takes 5-10 minutes');
    assert.deepEqual(await texts(cluster.locator('.change-list li')), [
      'oidcIssuerProfile.enabled: false → true',
      'securityProfile.workloadIdentity.enabled: false → true',
    ]);
    assert.deepEqual(await texts(rows.nth(1).locator('.change-list li')), [
      'location: (none) → westeurope',
      'clientId: (none) → (known after apply)',
    ]);
    // The unchanged team is there, one click away.
    const quiet = section.locator('details');
    assert.equal(await text(quiet.locator('summary')), 'Show 1 unchanged resource');
    assert.equal(await quiet.getByRole('table').isVisible(), false);
    await quiet.locator('summary').click();
    assert.equal(await text(quiet.locator('tbody tr')), 'unchanged Team platform/AKS Managed Identities Team');
    assert.deepEqual(await texts(page.getByRole('region', { name: 'Checks' }).locator('.check .badge')), [
      'pass',
      'pass',
    ]);
    assert.deepEqual(errors, []);
    await page.close();
  });

  it('apply: statuses, the warning that made it "with issues", and the output variables', async () => {
    const { page, errors } = await harness();
    await render(page, [provisionApply()]);
    const section = page.getByRole('region', { name: 'Resources' });
    assert.equal(await text(section.locator('.summary')), '3 created · 2 updated · 1 unchanged');
    const table = section.getByRole('table', { name: 'Resources changed by FluxOidcProvision' });
    assert.deepEqual(await table.getByRole('columnheader').allInnerTexts(), [
      'Action',
      'Kind',
      'Name',
      'Changes',
      'Status',
    ]);
    assert.deepEqual(await texts(table.locator('tbody tr td:last-child .badge')), [
      'applied',
      'applied',
      'applied',
      'applied',
      'applied',
    ]);
    const attention = page.getByRole('region', { name: 'Needs attention' });
    assert.match(await text(attention), /429 Too Many Requests .* retried after 2 s/);
    const outputs = page.getByRole('table', { name: 'Output variables of FluxOidcProvision' });
    assert.deepEqual(await outputs.getByRole('rowheader').allInnerTexts(), [
      'clientId',
      'tenantId',
      'principalId',
      'oidcIssuerUrl',
    ]);
    assert.equal(
      await outputs.getByRole('row').filter({ hasText: 'clientId' }).getByRole('cell').innerText(),
      '5b7d8a1e-3c4f-4e2a-9d6b-0a1b2c3d4e5f',
    );
    assert.deepEqual(errors, []);
    await page.close();
  });

  it("a failed Verify leads with the failed check's cause and fix; every check has its badge and evidence", async () => {
    const { page, errors } = await harness();
    await render(page, [verifyFailed()]);
    const card = page.getByRole('article', { name: 'FluxOidcVerify 1.0.0' });
    // The callout comes before the checks list, right under the header.
    const why = card.getByRole('region', { name: 'Why it failed' });
    assert.equal(await card.locator('.run__head + *').getAttribute('aria-labelledby'), 'run-1-why');
    assert.equal(
      await text(why.locator('.callout__what')),
      '1 required check failed: Effective Read on the repository',
    );
    const issue = why.locator('.issue');
    assert.equal(await issue.count(), 1);
    assert.equal(await text(issue.getByRole('heading', { level: 4 })), 'fail Effective Read on the repository');
    assert.equal(await issue.locator('dd.cause').innerText(), VERIFY_READ_CAUSE);
    assert.equal(await issue.locator('dd.fix').innerText(), VERIFY_READ_FIX);
    assert.match(
      await issue.locator('pre.evidence').innerText(),
      /^repository: platform\/fleet\neffective allow: \(none\)/,
    );
    // The warning has its own callout, with its fix.
    const attention = card.getByRole('region', { name: 'Needs attention' });
    assert.match(
      await text(attention),
      /warn Least privilege Cause The identity can change .* Fix Remove "Manage permissions"/,
    );

    const checks = card.getByRole('region', { name: 'Checks' });
    assert.equal(await text(checks.locator('.summary')), '6 passed · 1 warning · 1 failed · 2 skipped');
    assert.deepEqual(
      (await texts(checks.getByRole('heading', { level: 4 }))).map((x) => x.toLowerCase()),
      ['azure', 'azure devops', 'cluster', 'end-to-end token proof', 'reconcile'],
    );
    assert.deepEqual(await texts(checks.locator('.check .badge')), [
      'pass',
      'pass',
      'pass',
      'pass',
      'fail',
      'warn',
      'pass',
      'pass',
      'skip',
      'skip',
    ]);
    const read = checks.getByRole('listitem').filter({ hasText: 'Effective Read on the repository' });
    assert.match(await read.locator('pre.evidence').innerText(), /effective deny: \(none\)$/);
    await shot(page, 'verify-failed');
    assert.deepEqual(errors, []);
    await page.close();
  });

  it('a fleet run: a clusters × checks grid, each cell pass/warn/fail, linking to the cluster card', async () => {
    const { page, errors } = await harness();
    await render(page, [verifyFleet()]);
    const card = page.getByRole('article', { name: 'FluxOidcVerify 1.0.0' });
    const fleet = card.getByRole('region', { name: 'Fleet: 3 clusters' });
    assert.equal(await text(fleet.locator('.summary')), '1 passed · 1 warned · 1 failed');
    const grid = fleet.getByRole('table');
    assert.deepEqual(await texts(grid.locator('thead th')), [
      'Cluster',
      'OIDC issuer enabled',
      'Workload identity enabled',
      'Flux 2.4 or later',
      'source-controller token reads the repository',
      'Least privilege',
    ]);
    const rowOf = (name: string) => grid.getByRole('row').filter({ has: page.getByRole('rowheader', { name }) });
    assert.deepEqual(await texts(rowOf('aks-dev-weu').locator('td')), ['pass', 'pass', 'pass', 'pass', '–']);
    assert.deepEqual(await texts(rowOf('aks-staging-eus').locator('td')), ['pass', 'pass', 'fail', 'pass', '–']);
    assert.deepEqual(await texts(rowOf('aks-prod-weu').locator('td')), ['pass', 'pass', 'pass', '–', 'warn']);
    // A failed cell leads to the cluster's card, which shows the cause.
    await rowOf('aks-staging-eus').getByRole('link', { name: 'aks-staging-eus, Flux 2.4 or later: fail' }).click();
    const target = fleet.locator('.cluster-card:target');
    assert.equal(await target.getAttribute('id'), 'run-1-cluster-2');
    assert.match(
      await text(target.getByRole('heading', { level: 4 })),
      /aks-staging-eus resource group rg-fleet-staging/,
    );
    assert.equal(await target.locator('dd.cause').first().innerText(), FLEET_FLUX23_CAUSE);
    assert.equal(await target.locator('.check').count(), 4);
    await shot(page, 'verify-fleet');
    assert.deepEqual(errors, []);
    await page.close();
  });

  it('a single-cluster run has no fleet view', async () => {
    const { page } = await harness();
    await render(page, [verifyFailed()]);
    assert.equal(await page.locator('.fleet').count(), 0);
    await page.close();
  });

  it('a run that failed with an error shows the message, its cause and its fix apart', async () => {
    const { page, errors } = await harness();
    await render(page, [patchFailed()]);
    const why = page.getByRole('region', { name: 'Why it failed' });
    assert.equal(await text(why.locator('.callout__what')), PATCH_WHAT);
    assert.equal(await why.locator('dd.cause').innerText(), `${PATCH_CAUSE}.`);
    assert.equal(await why.locator('dd.fix').innerText(), PATCH_FIX);
    assert.equal(await why.locator('.plain-list').count(), 0, 'the error equal to the message is not repeated');
    const resources = page.getByRole('region', { name: 'Resources' });
    assert.equal(await text(resources.locator('.summary')), '1 updated · 1 failed · 1 skipped');
    assert.deepEqual(await texts(resources.locator('table').first().locator('tbody td:last-child .badge')), [
      'applied',
      'failed',
    ]);
    assert.deepEqual(errors, []);
    await page.close();
  });

  it('shows HTML in report text as text and runs none of it', async () => {
    const { page, errors } = await harness();
    await render(page, [xssReport()]);
    await shot(page, 'xss');
    const app = page.locator('#app');
    assert.equal(await app.locator('img, script, svg, iframe, b, a[href^="javascript"]').count(), 0);
    assert.equal(await page.evaluate(() => (globalThis as unknown as Win).__xss), undefined);
    const card = page.getByRole('article');
    assert.equal(await card.getByRole('heading', { level: 2 }).innerText(), `${XSS.task} 1.0.0`);
    const shown = await app.innerText();
    for (const s of Object.values(XSS)) assert.ok(shown.includes(s), `shown as text: ${s}`);
    // Hovering the "bold" markup does nothing either.
    await card.locator('.check__title').hover();
    assert.equal(await page.evaluate(() => (globalThis as unknown as Win).__xss), undefined);
    assert.deepEqual(errors, []);
    await page.close();
  });

  it('says so when the run has no reports', async () => {
    const { page, errors } = await harness();
    await render(page, []);
    assert.equal(await page.getByRole('article').count(), 0);
    await shot(page, 'empty');
    assert.equal(
      await text(page.getByRole('status')),
      'No Flux OIDC reports in this run Each Flux OIDC task attaches its report when it finishes. A task that is still running, was skipped or was cancelled has none yet.',
    );
    assert.deepEqual(errors, []);
    await page.close();
  });
});

describe('results tab: page states over the loader', () => {
  it('loading, then an error with a retry, then no reports yet, then the reports', async () => {
    const { page, errors } = await harness();
    await page.evaluate(() => (globalThis as unknown as Win).fluxoidc.start());
    assert.equal(await text(page.getByRole('status')), 'Loading the Flux OIDC reports of this run…');
    assert.equal(await page.locator('#app').getAttribute('aria-busy'), 'true');
    await page.evaluate(() =>
      (globalThis as unknown as Win).fluxoidc.fail(
        "Could not list the run's reports (build 42): TF400813: not authorized",
      ),
    );
    const alert = page.getByRole('alert');
    assert.equal(await text(alert.getByRole('heading')), 'The reports could not be loaded');
    assert.match(await alert.innerText(), /TF400813: not authorized/);
    assert.equal(await page.locator('#app').getAttribute('aria-busy'), null);
    assert.equal(await page.locator('#announce').textContent(), 'The reports could not be loaded.');
    await shot(page, 'error');
    await alert.getByRole('button', { name: 'Try again' }).click();
    assert.equal(await page.evaluate(() => (globalThis as unknown as Win).fluxoidc.loads()), 2);
    assert.equal(await text(page.getByRole('status')), 'Loading the Flux OIDC reports of this run…');
    await page.evaluate(() => (globalThis as unknown as Win).fluxoidc.settle({ reports: [], problems: [] }));
    assert.match(await text(page.getByRole('status')), /^No Flux OIDC reports in this run /);
    assert.equal(await page.locator('#announce').textContent(), 'No Flux OIDC reports in this run.');
    // A run in progress attaches its reports as its tasks finish: look again.
    await page.getByRole('button', { name: 'Check again' }).click();
    assert.equal(await page.evaluate(() => (globalThis as unknown as Win).fluxoidc.loads()), 3);
    await page.evaluate(
      (r) => (globalThis as unknown as Win).fluxoidc.settle({ reports: r, problems: [] }),
      [verifyFailed()],
    );
    assert.equal(await page.getByRole('article').count(), 1);
    assert.equal(await page.locator('#announce').textContent(), '1 report loaded.');
    assert.deepEqual(errors, []);
    await page.close();
  });

  it('unreadable attachments become notices next to the reports that could be read', async () => {
    const { page, errors } = await harness();
    const good = JSON.stringify(provisionPlan());
    await page.evaluate(
      (a) => (globalThis as unknown as Win).fluxoidc.load(a),
      [
        { name: 'FluxOidcVerify', text: JSON.stringify({ ...verifyFailed(), schema: 'fluxoidc-report/v2' }) },
        { name: 'FluxOidcProvision', text: `\uFEFF${good}` },
        { name: 'FluxManifestPatch', text: good.slice(0, 200) },
        { name: 'Other', text: '{"schema":"fluxoidc-report/v1","task":"X","mode":"plan","resources":[{"kind":1}]}' },
        { name: 'Gone', text: '', downloadError: 'TF401175: the attachment was deleted' },
      ],
    );
    assert.equal(await page.getByRole('article').count(), 1, 'the one good report (with a BOM) is shown');
    const notice = page.getByRole('region', { name: '4 reports could not be shown' });
    const items = await texts(notice.getByRole('listitem'));
    assert.equal(items.length, 4);
    assert.match(
      items[0],
      /^FluxManifestPatch: The report is not valid JSON, so it cannot be shown \(.+\)\. The file may have been cut off/,
    );
    assert.match(
      items[1],
      /^FluxOidcVerify: This report has format "fluxoidc-report\/v2", which this version of the results tab cannot show .* Update the Flux OIDC extension/,
    );
    assert.equal(items[2], 'Gone: Could not download the report: TF401175: the attachment was deleted');
    assert.equal(items[3], 'Other: The report is damaged and cannot be shown: resources[0].kind is not text.');
    assert.equal(await page.locator('#announce').textContent(), '1 report loaded, 4 could not be shown.');
    await shot(page, 'problems');
    assert.deepEqual(errors, []);
    await page.close();
  });
});

describe('results tab: the shipped bundle in an Azure DevOps host frame', () => {
  async function openInHost(
    config: Partial<HostConfig> = {},
  ): Promise<{ page: Page; frame: Frame; errors: string[]; calls: () => Promise<string[]> }> {
    const { page, errors } = await newPage();
    await page.goto(`${base}/host.html`);
    const full: HostConfig = {
      tabUrl: `${base}/web/index.html`,
      projectId: PROJECT_ID,
      projectName: 'platform',
      buildId: BUILD_ID,
      apiRoot: `${base}/contoso/`,
      token: TOKEN,
      ...config,
    };
    await page.evaluate((c) => (globalThis as unknown as Win).fakeHost.start(c), full);
    const handle = await page.waitForSelector('iframe');
    const frame = (await handle.contentFrame())!;
    await frame.waitForLoadState();
    return { page, frame, errors, calls: () => page.evaluate(() => (globalThis as unknown as Win).fakeHost.calls()) };
  }

  it("lists and downloads the run's reports through the SDK and the Build REST client, in the host's theme", async () => {
    rest.requests.length = 0;
    rest.listStatus = 200;
    rest.attachments = [
      { name: 'FluxOidcVerify', record: 'a1b2c3d4-0000-4000-8000-000000000003', body: JSON.stringify(verifyFailed()) },
      {
        name: 'FluxOidcProvision',
        record: 'a1b2c3d4-0000-4000-8000-000000000001',
        body: JSON.stringify(provisionApply()),
      },
      {
        name: 'FluxManifestPatch',
        record: 'a1b2c3d4-0000-4000-8000-000000000002',
        body: JSON.stringify(patchFailed()),
      },
    ];
    // Azure DevOps' dark theme variables, as the host sends them in the handshake.
    const themeData = {
      'background-color': 'rgba(30, 30, 30, 1)',
      'text-primary-color': 'rgba(255, 255, 255, .9)',
      'text-secondary-color': 'rgba(255, 255, 255, .6)',
    };
    const { page, frame, errors, calls } = await openInHost({ themeData });
    await frame.getByRole('article').nth(2).waitFor();
    assert.deepEqual(await frame.getByRole('heading', { level: 2 }).allInnerTexts(), [
      'FluxOidcProvision 1.0.0',
      'FluxManifestPatch 1.0.0',
      'FluxOidcVerify 1.0.0',
    ]);
    assert.equal(
      await frame.getByRole('region', { name: 'Why it failed' }).last().locator('dd.fix').innerText(),
      VERIFY_READ_FIX,
    );

    // The SDK asked the host for the page's project and run, and where the Build area lives.
    const asked = await calls();
    assert.ok(asked.includes('getService ms.vss-tfs-web.tfs-page-data-service'), asked.join('\n'));
    assert.ok(asked.includes('getService ms.vss-build-web.build-page-data-service'), asked.join('\n'));
    assert.ok(asked.includes('resourceArea 965220d5-5bb9-42cf-8d67-9b146df2a5a4'), asked.join('\n'));
    // The REST calls: one list, one download per attachment, each with the host's token.
    assert.equal(rest.requests.length, 4, rest.requests.map((r) => r.url).join('\n'));
    assert.ok(rest.requests.every((r) => r.method === 'GET' && r.authorization === `Bearer ${TOKEN}`));
    assert.match(
      rest.requests[0].url,
      new RegExp(`^/contoso/${PROJECT_ID}/_apis/build/builds/${BUILD_ID}/attachments/fluxoidc-report$`),
    );
    assert.match(rest.requests[0].accept, /^application\/json;api-version=7\.2-preview\.2;/);
    assert.ok(
      rest.requests
        .slice(1)
        .every((r) => r.url.includes(`/${TIMELINE}/a1b2c3d4-`) && r.accept.startsWith('application/octet-stream')),
    );

    // The host's theme: its background, and the page's own colours switched to dark.
    assert.equal(await frame.evaluate('getComputedStyle(document.body).backgroundColor'), 'rgb(30, 30, 30)');
    assert.equal(await frame.locator('html').getAttribute('data-theme'), 'dark');
    await shot(page, 'host-dark');
    assert.deepEqual(errors, []);
    await page.close();
  });

  it('shows the listing failure and retries it', async () => {
    rest.requests.length = 0;
    rest.listStatus = 404;
    rest.attachments = [
      {
        name: 'FluxOidcProvision',
        record: 'a1b2c3d4-0000-4000-8000-000000000001',
        body: JSON.stringify(provisionPlan()),
      },
    ];
    const { page, frame, calls } = await openInHost();
    const alert = frame.getByRole('alert');
    assert.match(
      await alert.innerText(),
      new RegExp(`Could not list the run's reports \\(build ${BUILD_ID}\\): VS800075: The project does not exist`),
    );
    rest.listStatus = 200;
    await alert.getByRole('button', { name: 'Try again' }).click();
    await frame.getByRole('article').waitFor();
    assert.equal(await frame.getByRole('heading', { level: 2 }).innerText(), 'FluxOidcProvision 1.0.0');
    assert.deepEqual(
      (await calls()).filter((c) => c.startsWith('initialHandshake')),
      ['initialHandshake sdk 4.2'],
      'a retry reloads the data, not the SDK',
    );
    await page.close();
  });

  it("ships the page, its one script, its stylesheet and the bundled packages' licences, nothing else", () => {
    assert.deepEqual(fs.readdirSync(path.join(dir, 'web')).sort(), [
      'THIRD-PARTY-NOTICES.txt',
      'index.html',
      'main.js',
      'style.css',
    ]);
    const notices = fs.readFileSync(path.join(dir, 'web', 'THIRD-PARTY-NOTICES.txt'), 'utf8');
    assert.match(notices, /^azure-devops-extension-api \S+ \(MIT\)$/m);
    assert.match(notices, /^azure-devops-extension-sdk \S+ \(MIT\)$/m);
  });

  it('says where to find the tab when the page is opened on its own', async () => {
    const { page, errors } = await newPage();
    await page.goto(`${base}/web/index.html`);
    assert.match(await page.getByRole('alert').innerText(), /This page is the Flux OIDC tab of a pipeline run\./);
    assert.deepEqual(errors, []);
    await page.close();
  });
});
