/**
 * The emulated Azure DevOps organization under its public names, reached through the cloud's edge
 * (core/edge.ts) the way an agent behind a proxy reaches it: azure-devops-node-api and git at
 * `https://contoso.visualstudio.com` (the legacy form, with and without `DefaultCollection/`) and
 * `https://dev.azure.com/contoso`; ResourceAreas names the Graph and entitlements hosts of the
 * form asked (`contoso.vssps.visualstudio.com` / `vssps.dev.azure.com/contoso`); TLS verifies
 * against the test CA for those names; other names do not resolve.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import * as azdev from 'azure-devops-node-api';
import { startCloud, type Cloud } from '../../emulators/cloud';
import { FRESH } from '../../emulators/names';
import { StateError } from '../../emulators/state';

const GRAPH_AREA = 'bb1e7ec9-e901-4b68-999a-de7012b920f8';
const ENTITLEMENTS_AREA = '68ddce18-2501-45f1-a17b-7931a9922690';

describe('devops emulator: the organization at its public names (edge)', () => {
  let cloud: Cloud;
  let token: string;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'public-names-'));

  const api = (orgUrl: string): azdev.WebApi =>
    new azdev.WebApi(orgUrl, azdev.getBearerHandler(token), { proxy: { proxyUrl: cloud.edgeUrl } });

  const git = (args: string[]): Promise<{ code: number; out: string }> =>
    new Promise((resolve) => {
      execFile(
        'git',
        ['-c', `http.proxy=${cloud.edgeUrl}`, '-c', `http.extraheader=AUTHORIZATION: bearer ${token}`, ...args],
        { cwd: work, env: { ...process.env, GIT_SSL_CAINFO: cloud.ctx.ca.caCertPath, GIT_TERMINAL_PROMPT: '0' } },
        (err, stdout, stderr) => resolve({ code: err ? 1 : 0, out: `${stdout}${stderr}` }),
      );
    });

  before(async () => {
    cloud = await startCloud({ scenario: 'fresh' });
    token = cloud.env.ENDPOINT_AUTH_PARAMETER_SYSTEMVSSCONNECTION_ACCESSTOKEN!;
  });
  after(async () => {
    await cloud?.stop();
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('ResourceAreas names the hosts of the URL form asked', async () => {
    const area = async (orgUrl: string, id: string) =>
      (await (await api(orgUrl).getLocationsApi()).getResourceAreas()).find((a) => a.id === id)?.locationUrl;
    assert.equal(await area('https://contoso.visualstudio.com', GRAPH_AREA), 'https://contoso.vssps.visualstudio.com/');
    assert.equal(
      await area('https://contoso.visualstudio.com', ENTITLEMENTS_AREA),
      'https://contoso.vsaex.visualstudio.com/',
    );
    assert.equal(await area('https://dev.azure.com/contoso', GRAPH_AREA), 'https://vssps.dev.azure.com/contoso/');
    assert.equal(
      await area('https://dev.azure.com/contoso', ENTITLEMENTS_AREA),
      'https://vsaex.dev.azure.com/contoso/',
    );
  });

  it('serves Core and Git on {org}.visualstudio.com, links in that form; Graph on {org}.vssps.visualstudio.com', async () => {
    const conn = await api('https://contoso.visualstudio.com').connect();
    assert.ok(conn.authenticatedUser?.id);
    const project = await (await api('https://contoso.visualstudio.com').getCoreApi()).getProject(FRESH.project);
    assert.equal(project.url, `https://contoso.visualstudio.com/_apis/projects/${FRESH.projectId}`);
    const repo = await (
      await api('https://contoso.visualstudio.com/DefaultCollection').getGitApi()
    ).getRepository(FRESH.repository, FRESH.project);
    assert.equal(repo.remoteUrl, `https://contoso.visualstudio.com/${FRESH.project}/_git/${FRESH.repository}`);
    const groups = await api('https://contoso.vssps.visualstudio.com').rest.get<{
      value: { _links: { self: { href: string } } }[];
    }>('https://contoso.vssps.visualstudio.com/_apis/graph/groups?api-version=7.1-preview.1');
    assert.equal(groups.statusCode, 200);
    assert.ok(
      groups.result!.value.every((g) => g._links.self.href.startsWith('https://contoso.vssps.visualstudio.com/_apis/')),
    );
    const hosts = new Set(cloud.ctx.journal.entries().map((e) => e.host));
    assert.ok(hosts.has('contoso.visualstudio.com') && hosts.has('contoso.vssps.visualstudio.com'), [...hosts].join());
  });

  it('clones over smart HTTP at both legacy forms; another organization is not found', async () => {
    for (const [i, url] of [
      `https://contoso.visualstudio.com/${FRESH.project}/_git/${FRESH.repository}`,
      `https://contoso.visualstudio.com/DefaultCollection/${FRESH.project}/_git/${FRESH.repository}`,
    ].entries()) {
      const r = await git(['clone', '--quiet', url, `c${i}`]);
      assert.equal(r.code, 0, r.out);
      assert.ok(fs.existsSync(path.join(work, `c${i}`, FRESH.clusterPath, 'flux-system', 'gotk-sync.yaml')));
    }
    const other = await git([
      'ls-remote',
      `https://fabrikam.visualstudio.com/${FRESH.project}/_git/${FRESH.repository}`,
    ]);
    assert.notEqual(other.code, 0);
    assert.match(other.out, /404|not found/i);
  });

  it('other names and ports do not resolve through the edge', async () => {
    const connect = (target: string) =>
      new Promise<number>((resolve, reject) => {
        const u = new URL(cloud.edgeUrl);
        const req = http.request({ host: u.hostname, port: u.port, method: 'CONNECT', path: target });
        req.on('connect', (res, socket) => {
          socket.destroy();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        req.end();
      });
    assert.equal(await connect('example.com:443'), 502);
    assert.equal(await connect('contoso.visualstudio.com:80'), 502);
    assert.equal(await connect('contoso.visualstudio.com:443'), 200);
  });

  it('a state with an unknown primaryUrl is refused, naming the field and the forms', async () => {
    await assert.rejects(
      startCloud({
        scenario: 'fresh',
        change: (s) => {
          (s.devops.organization as { primaryUrl?: string }).primaryUrl = 'vsts';
        },
      }),
      (e: unknown) =>
        e instanceof StateError &&
        /organization\.primaryUrl: 'vsts' is not a URL form; use legacy \(https:\/\/\{org\}\.visualstudio\.com\)/.test(
          e.message,
        ),
    );
  });
});
