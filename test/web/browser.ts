/**
 * The Chromium the results-tab tests and `npm run screenshots` drive through playwright-core.
 *
 * It comes with `npm ci`: the dev dependency @sparticuz/chromium ships a headless Chromium build
 * for linux-x64 inside the package (bin/chromium.br, Brotli-compressed; nothing is downloaded at
 * install or run time). The first use unpacks it once into .cache/chromium/<version>/ (written to a
 * temporary name and renamed, so parallel test files never run a half-written binary).
 *
 * Order: $FLUXOIDC_CHROMIUM (a path), then the npm package (linux-x64), then Debian's
 * /usr/bin/chromium. The error when none is usable says how to get one.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';
import * as zlib from 'node:zlib';
import { chromium, type Browser, type BrowserContext, type LaunchOptions } from 'playwright-core';

const root = path.resolve(import.meta.dirname, '..', '..');
const PACKAGE = '@sparticuz/chromium';
const DEBIAN = '/usr/bin/chromium';

/** Flags for a headless test browser in a container (no sandbox as root, small /dev/shm). */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  // Containers often have a 64 MB /dev/shm, too small for Chromium's shared memory.
  '--disable-dev-shm-usage',
];

export interface ChromiumBinary {
  path: string;
  /** Where it came from, for messages. */
  source: 'FLUXOIDC_CHROMIUM' | typeof PACKAGE | 'debian';
}

/** The installed package's folder (its exports map hides package.json from require.resolve). */
function packageDir(): string | undefined {
  const dir = path.join(root, 'node_modules', ...PACKAGE.split('/'));
  return fs.existsSync(path.join(dir, 'bin', 'chromium.br')) ? dir : undefined;
}

/** Unpacks the package's chromium.br into .cache/chromium/<version>/chromium once; returns its path. */
async function unpackPackaged(dir: string): Promise<string> {
  const version = (JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { version: string }).version;
  const target = path.join(root, '.cache', 'chromium', version, 'chromium');
  if (fs.existsSync(target)) return target;
  fs.mkdirSync(path.dirname(target), { recursive: true });
  const partial = `${target}.${process.pid}.partial`;
  await pipeline(
    fs.createReadStream(path.join(dir, 'bin', 'chromium.br')),
    zlib.createBrotliDecompress(),
    fs.createWriteStream(partial, { mode: 0o755 }),
  );
  fs.renameSync(partial, target);
  return target;
}

/** Finds (and on first use unpacks) the browser; throws with the way to get one when there is none. */
export async function chromiumBinary(): Promise<ChromiumBinary> {
  const override = process.env.FLUXOIDC_CHROMIUM;
  if (override) {
    if (!fs.existsSync(override)) throw new Error(`FLUXOIDC_CHROMIUM=${override}: no such file`);
    return { path: override, source: 'FLUXOIDC_CHROMIUM' };
  }
  const dir = packageDir();
  if (dir && process.platform === 'linux' && process.arch === 'x64') {
    return { path: await unpackPackaged(dir), source: PACKAGE };
  }
  if (fs.existsSync(DEBIAN)) return { path: DEBIAN, source: 'debian' };
  throw new Error(
    `No Chromium for the results-tab tests: ${PACKAGE} (a dev dependency, installed by npm ci) ` +
      `${dir ? `has a linux-x64 build only (this is ${process.platform}-${process.arch})` : 'is not installed: run npm ci'}, ` +
      `and ${DEBIAN} is missing. ` +
      'Install a Chromium (Debian: apt-get install -y chromium) or set FLUXOIDC_CHROMIUM to its path.',
  );
}

export async function launchBrowser(options: LaunchOptions = {}): Promise<Browser> {
  const bin = await chromiumBinary();
  return chromium.launch({ executablePath: bin.path, headless: true, args: CHROMIUM_ARGS, ...options });
}

export async function launchPersistent(
  profileDir: string,
  options: Parameters<typeof chromium.launchPersistentContext>[1] = {},
): Promise<BrowserContext> {
  const bin = await chromiumBinary();
  return chromium.launchPersistentContext(profileDir, {
    executablePath: bin.path,
    headless: true,
    args: CHROMIUM_ARGS,
    ...options,
  });
}
