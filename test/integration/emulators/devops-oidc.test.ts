/**
 * The pipeline side of the devops emulator on the `converged` scenario: the OIDC token of a service
 * connection (TaskApi and the raw System.OidcRequestUri call), its issuer's discovery document and
 * keys, the job variables, the converged organization (managed identity in the team with Read +
 * Contribute, patched flux-system that kustomize renders), and state validation.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as azdev from 'azure-devops-node-api';
import YAML from 'yaml';
import { httpsRequest } from '../../emulators/core/context';
import { decodeJwt, verifyJwt } from '../../emulators/core/jwt';
import { FRESH, TOKEN_EXCHANGE_AUDIENCE, devopsIssuerUrl } from '../../emulators/names';
import { CONVERGED_IDENTITY, PIPELINE } from '../../emulators/devops/ids';
import { devopsScenario, validateDevOps } from '../../emulators/devops/scenario';
import { startDevOpsTestbed, type DevOpsTestbed } from '../../emulators/devops/testing';

function sh(
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      cmd,
      args,
      {
        env: {
          ...process.env,
          GIT_TERMINAL_PROMPT: '0',
          GIT_CONFIG_GLOBAL: '/dev/null',
          GIT_CONFIG_NOSYSTEM: '1',
          ...env,
        },
        maxBuffer: 32 * 1024 * 1024,
      },
      (err, stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
      },
    );
  });
}

describe('devops emulator: service connection OIDC, job variables, converged scenario', () => {
  let tb: DevOpsTestbed;
  let env: Record<string, string>;

  before(async () => {
    tb = await startDevOpsTestbed({ scenario: 'converged' });
    env = tb.env();
  });
  after(() => tb?.stop());

  const oidc = (token: string, query: string) =>
    httpsRequest(tb.ctx.ca, `${env.SYSTEM_OIDCREQUESTURI}?${query}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${token}`,
        'x-tfs-fedauthredirect': 'Suppress',
      },
      body: '{}',
    });

  it('gives the job the variables of a pipeline run', async () => {
    const collection = `${tb.urls.devops}/contoso/`;
    assert.equal(env.SYSTEM_COLLECTIONURI, collection);
    assert.equal(env.SYSTEM_TEAMPROJECTID, FRESH.projectId);
    assert.equal(
      env.SYSTEM_OIDCREQUESTURI,
      `${collection}${FRESH.projectId}/_apis/distributedtask/hubs/build/plans/${PIPELINE.planId}/jobs/${PIPELINE.jobId}/oidctoken`,
    );
    assert.equal(JSON.parse(env.ENDPOINT_AUTH_SYSTEMVSSCONNECTION!).scheme, 'OAuth');
    assert.equal(env.BUILD_REPOSITORY_ID, FRESH.repositoryId);
    assert.equal(env.BUILD_SOURCEVERSION, await tb.service.git.refTip(FRESH.repositoryId, 'refs/heads/main'));
    // The job token is the project build service.
    const web = new azdev.WebApi(
      collection,
      azdev.getBearerHandler(env.ENDPOINT_AUTH_PARAMETER_SYSTEMVSSCONNECTION_ACCESSTOKEN!),
    );
    assert.equal((await web.connect()).authenticatedUser?.providerDisplayName, 'platform Build Service (contoso)');
  });

  it('issues the service connection token through TaskApi.createOidcToken; the issuer publishes discovery and keys', async () => {
    const task = await new azdev.WebApi(
      env.SYSTEM_COLLECTIONURI!,
      azdev.getBearerHandler(tb.systemAccessToken()),
    ).getTaskApi();
    const { oidcToken } = await task.createOidcToken(
      {},
      FRESH.projectId,
      'build',
      PIPELINE.planId,
      PIPELINE.jobId,
      FRESH.serviceConnectionId,
    );
    const issuer = devopsIssuerUrl(tb.urls['devops-issuer'], FRESH.organizationId);
    const discovery = await httpsRequest(tb.ctx.ca, `${issuer}/.well-known/openid-configuration`);
    assert.equal(discovery.status, 200);
    const doc = discovery.json<{ issuer: string; jwks_uri: string }>();
    assert.equal(doc.issuer, issuer);
    const keys = (await httpsRequest(tb.ctx.ca, doc.jwks_uri)).json<{ keys: import('node:crypto').JsonWebKey[] }>();
    const claims = verifyJwt(oidcToken!, keys, {
      now: tb.ctx.clock.nowSeconds(),
      issuer,
      audience: TOKEN_EXCHANGE_AUDIENCE,
    });
    assert.equal(claims.sub, 'sc://contoso/platform/azure-prod');
    assert.equal(claims.exp! - claims.iat!, 600);
    assert.equal(tb.ctx.journal.writes({ path: /oidctoken$/ }).length, 0, 'an OIDC token request changes nothing');
  });

  it('answers the AzurePipelinesCredential call (api-version=7.1) and refuses what the service refuses', async () => {
    const sys = tb.systemAccessToken();
    const okRes = await oidc(sys, `api-version=7.1&serviceConnectionId=${FRESH.serviceConnectionId}`);
    assert.equal(okRes.status, 200);
    assert.equal(decodeJwt(okRes.json<{ oidcToken: string }>().oidcToken).claims.aud, TOKEN_EXCHANGE_AUDIENCE);

    const unknown = await oidc(sys, 'api-version=7.1&serviceConnectionId=2d3c4b5a-6f7e-4d8c-9b0a-1e2f3a4b5c6d');
    assert.equal(unknown.status, 404);
    assert.equal(
      unknown.json<{ message: string }>().message,
      'No service connection found with identifier 2d3c4b5a-6f7e-4d8c-9b0a-1e2f3a4b5c6d.',
    );
    assert.equal((await oidc(sys, 'api-version=7.1')).status, 400);
    const notAJobToken = await oidc(
      tb.entraToken(FRESH.serviceConnectionObjectId),
      `api-version=7.1&serviceConnectionId=${FRESH.serviceConnectionId}`,
    );
    assert.equal(notAJobToken.status, 401);
    const garbage = await oidc('not-a-token', `api-version=7.1&serviceConnectionId=${FRESH.serviceConnectionId}`);
    assert.equal(garbage.status, 401);

    tb.ctx.state.devops.faults = { oidcToken: { status: 500, message: 'Injected: the OIDC token service is down.' } };
    const fault = await oidc(sys, `api-version=7.1&serviceConnectionId=${FRESH.serviceConnectionId}`);
    assert.deepEqual(
      [fault.status, fault.json<{ message: string }>().message],
      [500, 'Injected: the OIDC token service is down.'],
    );
    tb.ctx.state.devops.faults = {};

    tb.ctx.clock.advance(2 * 3600 * 1000);
    const expired = await oidc(sys, `api-version=7.1&serviceConnectionId=${FRESH.serviceConnectionId}`);
    assert.equal(expired.status, 401, 'the System.AccessToken of the job expired');
  });

  it('converged: the managed identity reads the repository through its team, cannot open pull requests', async () => {
    const git = await new azdev.WebApi(
      tb.orgUrl,
      azdev.getBearerHandler(tb.entraToken(CONVERGED_IDENTITY.principalId)),
    ).getGitApi();
    const repo = await git.getRepository('fleet', 'platform');
    assert.equal(repo.id, FRESH.repositoryId);
    const core = await new azdev.WebApi(
      tb.orgUrl,
      azdev.getBearerHandler(tb.entraToken(FRESH.serviceConnectionObjectId)),
    ).getCoreApi();
    const members = await core.getTeamMembersWithExtendedProperties(FRESH.projectId, FRESH.teamName);
    assert.deepEqual(
      members.map((m) => m.identity?.displayName),
      ['flux-aks-prod'],
    );
    await assert.rejects(
      git.createPullRequest(
        { sourceRefName: 'refs/heads/main', targetRefName: 'refs/heads/x', title: 't' },
        FRESH.repositoryId,
        'platform',
      ),
      (e) =>
        (e as { statusCode?: number }).statusCode === 403 &&
        /TF401027: You need the Git 'PullRequestContribute' permission/.test((e as Error).message),
    );
  });

  it("converged: the patched flux-system clones with the identity's token and renders with kubectl kustomize", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'converged-'));
    try {
      const clone = await sh(
        'git',
        [
          '-c',
          `http.extraHeader=Authorization: Bearer ${tb.entraToken(CONVERGED_IDENTITY.principalId)}`,
          'clone',
          '--quiet',
          `${tb.orgUrl}/platform/_git/fleet`,
          dir,
        ],
        { GIT_SSL_CAINFO: tb.caFile },
      );
      assert.equal(clone.code, 0, clone.stderr);
      const log = await sh('git', ['-C', dir, 'log', '--format=%s']);
      assert.equal(
        log.stdout.split('\n')[0],
        'Flux OIDC: use AKS workload identity for Azure DevOps (provider: azure)',
      );
      const out = await sh('kubectl', ['kustomize', path.join(dir, 'clusters/prod/flux-system')]);
      assert.equal(out.code, 0, out.stderr);
      const docs = YAML.parseAllDocuments(out.stdout).map(
        (d) =>
          d.toJS() as {
            kind: string;
            metadata: { name: string; annotations?: Record<string, string> };
            spec?: Record<string, unknown>;
          },
      );
      const repo = docs.find((d) => d.kind === 'GitRepository')!;
      assert.equal(repo.spec!.provider, 'azure');
      assert.equal(repo.spec!.url, 'https://dev.azure.com/contoso/platform/_git/fleet');
      assert.equal(repo.spec!.secretRef, undefined);
      const sa = docs.find((d) => d.kind === 'ServiceAccount' && d.metadata.name === 'source-controller')!;
      assert.equal(sa.metadata.annotations!['azure.workload.identity/client-id'], CONVERGED_IDENTITY.clientId);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('validates a devops state: the built-in scenarios are clean, mistakes name the field and the fix', () => {
    const urls = tb.urls;
    for (const scenario of ['fresh', 'converged'] as const) {
      const s = devopsScenario.build({ scenario, urls });
      assert.deepEqual(validateDevOps(s), [], scenario);
      assert.deepEqual(YAML.parse(YAML.stringify(s)), s, `${scenario} survives a YAML round trip`);
    }
    const broken = devopsScenario.build({ scenario: 'fresh', urls });
    broken.groups[0]!.members.push('00000000-0000-0000-0000-00000000dead');
    broken.acls[0]!.aces[0]!.descriptor = 'vssgp.Uy0xLTktMTU1MTM3NDI0NS0x';
    broken.projects[0]!.repositories[0]!.seed[0]!.folder = 'no-such-seed';
    const problems = validateDevOps(broken);
    assert.deepEqual(
      problems.map((p) => p.split(':')[0]),
      [
        'devops.groups[0].members[2]',
        'devops.projects[0].repositories[0].seed[0].folder',
        'devops.acls[0].aces[0].descriptor',
      ],
    );
    assert.match(problems[0]!, /is not the id of a principal or group/);
  });
});
