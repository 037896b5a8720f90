/**
 * npm run screenshots: the Marketplace screenshots, from real runs.
 *
 * 1. Runs samples/azure-pipelines.yml (Provision, Patch, Verify) on the emulated cloud through the
 *    local runner: every link green.
 * 2. A failing variant on the same cloud: the team's Read and Contribute on the repository are taken
 *    away behind the pipelines' back, then FluxOidcVerify runs alone and fails at Azure DevOps.
 * 3. Feeds each run's real report attachments to the results tab (the shipped index.html and
 *    style.css, the real app and loader, through web/test/harness.ts) in Chromium, and writes
 *    images/screenshot-{success,failure}-{light,dark}.png.
 *
 *   npm run screenshots [-- --out <dir>]
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as esbuild from 'esbuild';
import type { Page } from 'playwright-core';
import * as UPNG from 'upng-js';
import { runPipeline, type PipelineRun } from '../test/agent/pipeline';
import { startCloud, type Cloud } from '../test/emulators/cloud';
import { kubeRuntime } from '../test/emulators/kube/index';
import { FRESH, GIT_SECURITY_NAMESPACE } from '../test/emulators/names';
import { launchBrowser } from '../test/web/browser';

const root = path.resolve(import.meta.dirname, '..');
const outArg = process.argv.indexOf('--out');
const OUT = outArg > 0 ? path.resolve(process.argv[outArg + 1]!) : path.join(root, 'images');
const TASKS_DIR = path.join(root, 'dist', 'tasks');

interface Attachment {
  name: string;
  text: string;
}

const VERIFY_ONLY = `
trigger: none
variables:
  azureSubscription: ${FRESH.serviceConnectionName}
steps:
- checkout: none
- task: FluxOidcVerify@1
  name: verify
  displayName: Verify Flux OIDC
  inputs:
    azureSubscription: $(azureSubscription)
    resourceGroup: ${FRESH.resourceGroup}
    clusterName: ${FRESH.clusterName}
    identityName: ${FRESH.identityName}
`;

function attachments(run: PipelineRun): Attachment[] {
  return run.steps.flatMap((s) =>
    (s.run?.attachments ?? [])
      .filter((a) => a.type === 'fluxoidc-report' && a.content)
      .map((a) => ({ name: a.name, text: a.content! })),
  );
}

async function pipeline(cloud: Cloud, spec: { file?: string; yaml?: string }): Promise<PipelineRun> {
  const run = await runPipeline({ ...spec, cloud, tasksDir: TASKS_DIR });
  console.log(`${spec.file ? path.relative(root, spec.file) : 'verify-only.yml'}: ${run.result}`);
  return run;
}

/** The two runs: the chain set up and proven, then Verify after the repository's ACL was tampered with. */
async function realRuns(): Promise<{ success: Attachment[]; failure: Attachment[] }> {
  const cloud = await startCloud({ scenario: 'fresh', caDir: process.env.FLUX_OIDC_TEST_CA_DIR });
  try {
    const rt = kubeRuntime(cloud.ctx);
    await rt.cluster(FRESH.clusterName)!.ensureBooted();
    await rt.settled();
    const setup = await pipeline(cloud, { file: path.join(root, 'samples', 'azure-pipelines.yml') });
    if (setup.result !== 'Succeeded') throw new Error('the setup pipeline did not succeed: see npm start');
    const token = `repov2/${FRESH.projectId}/${FRESH.repositoryId}`;
    const acl = cloud.ctx.state.devops.acls.find(
      (a) => a.namespaceId === GIT_SECURITY_NAMESPACE && a.token.toLowerCase() === token,
    );
    if (!acl) throw new Error(`no ACL on ${token} after the setup pipeline`);
    acl.aces = acl.aces.filter((a) => a.allow === 0);
    const broken = await pipeline(cloud, { yaml: VERIFY_ONLY, file: 'verify-only.yml' });
    if (broken.result !== 'Failed') throw new Error('the failing variant did not fail');
    return { success: attachments(setup), failure: attachments(broken) };
  } finally {
    await cloud.stop();
  }
}

/** The shipped page (build-web.mjs output) with the test harness in place of main.js, on loopback. */
async function servePage(dir: string): Promise<{ url: string; close(): Promise<void> }> {
  const built = spawnSync(
    process.execPath,
    [path.join(root, 'scripts', 'build-web.mjs'), '--outdir', path.join(dir, 'web'), '--no-typecheck'],
    { cwd: root, encoding: 'utf8' },
  );
  if (built.status !== 0) throw new Error(`build-web.mjs failed:\n${built.stdout}${built.stderr}`);
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
  const files: Record<string, [string, string]> = {
    '/harness.js': [path.join(dir, 'harness.js'), 'text/javascript'],
    '/style.css': [path.join(dir, 'web', 'style.css'), 'text/css'],
  };
  const html = fs
    .readFileSync(path.join(dir, 'web', 'index.html'), 'utf8')
    .replace('src="main.js"', 'src="/harness.js"')
    .replace('href="style.css"', 'href="/style.css"');
  const server = http.createServer((req, res) => {
    const p = new URL(req.url ?? '/', 'http://x').pathname;
    const f = files[p];
    if (f) return void res.writeHead(200, { 'content-type': f[1] }).end(fs.readFileSync(f[0]));
    if (p === '/') return void res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(html);
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/**
 * The screenshot as a 256-colour palette PNG (UPNG's quantiser): the UI has about 1,200 colours,
 * mostly anti-aliasing shades, so it looks the same at well under half the bytes, and every byte
 * of the four screenshots is in the .vsix (issue 15: package size).
 */
function paletted(png: Buffer): Buffer {
  const img = UPNG.decode(png.buffer.slice(png.byteOffset, png.byteOffset + png.byteLength) as ArrayBuffer);
  return Buffer.from(UPNG.encode(UPNG.toRGBA8(img), img.width, img.height, 256));
}

type Harness = { fluxoidc: { load(a: Attachment[]): Promise<void>; markTheme(): void } };

async function shoot(page: Page, url: string, reports: Attachment[], name: string): Promise<void> {
  for (const scheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme: scheme });
    await page.goto(url);
    await page.waitForFunction(() => 'fluxoidc' in globalThis);
    await page.evaluate((a) => (globalThis as unknown as Harness).fluxoidc.load(a), reports);
    await page.evaluate(() => (globalThis as unknown as Harness).fluxoidc.markTheme());
    await page.locator('.chain').waitFor();
    const file = path.join(OUT, `screenshot-${name}-${scheme}.png`);
    fs.writeFileSync(file, paletted(await page.screenshot()));
    console.log(`wrote ${path.relative(root, file)}`);
  }
}

async function main(): Promise<void> {
  for (const t of ['FluxOidcProvision', 'FluxManifestPatch', 'FluxOidcVerify'])
    if (!fs.existsSync(path.join(TASKS_DIR, t, 'main.js'))) throw new Error(`${t} is not built: run npm run build`);
  const runs = await realRuns();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fluxoidc-shots-'));
  const site = await servePage(dir);
  const browser = await launchBrowser();
  try {
    fs.mkdirSync(OUT, { recursive: true });
    const page = await browser.newPage({ viewport: { width: 1366, height: 768 }, deviceScaleFactor: 1 });
    await shoot(page, site.url, runs.success, 'success');
    await shoot(page, site.url, runs.failure, 'failure');
  } finally {
    await browser.close();
    await site.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : String(e));
  process.exit(1);
});
