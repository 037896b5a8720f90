/**
 * auth/ end to end against the emulated cloud: the service connection exactly as the agent hands
 * it to a task (cloud.env), the real OIDC endpoint, the real Entra token exchange (a federated
 * credential must match), through runTask and the in-memory platform.
 *
 * Needs the emulator CA trusted at process start: run through `node scripts/test.mjs unit`.
 */
import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { startCloud, type Cloud } from '../emulators/cloud';
import { MemoryPlatform, runTask, type MemoryEndpoint } from '../../tasks/common/pipeline';

let cloud: Cloud;

before(async () => {
  assert.ok(
    process.env.NODE_EXTRA_CA_CERTS && process.env.FLUX_OIDC_TEST_CA_DIR,
    'the emulator CA must be trusted at process start: run this file through node scripts/test.mjs unit',
  );
  cloud = await startCloud();
});
after(async () => {
  await cloud?.stop();
});

/** The agent's ENDPOINT_* / SYSTEM_* environment as a MemoryPlatform. */
function platformFrom(env: Record<string, string>, inputs: Record<string, string>): MemoryPlatform {
  const endpoints: Record<string, MemoryEndpoint> = {};
  const ep = (id: string) => (endpoints[id] ??= {});
  for (const [k, v] of Object.entries(env)) {
    let m: RegExpExecArray | null;
    if ((m = /^ENDPOINT_URL_(.+)$/.exec(k))) ep(m[1]).url = v;
    else if ((m = /^ENDPOINT_AUTH_SCHEME_(.+)$/.exec(k))) ep(m[1]).scheme = v;
    else if (k.startsWith('ENDPOINT_AUTH_PARAMETER_')) continue;
    else if ((m = /^ENDPOINT_AUTH_(.+)$/.exec(k))) {
      const j = JSON.parse(v) as { scheme?: string; parameters?: Record<string, string> };
      ep(m[1]).auth = { ...ep(m[1]).auth, ...j.parameters };
      ep(m[1]).scheme ??= j.scheme;
    } else if ((m = /^ENDPOINT_DATA_(.+)_([A-Z0-9]+)$/.exec(k))) ep(m[1]).data = { ...ep(m[1]).data, [m[2]]: v };
  }
  const variables = Object.fromEntries(Object.entries(env).filter(([k]) => !k.startsWith('ENDPOINT_')));
  return new MemoryPlatform({ inputs, variables, endpoints });
}

test('workload identity federation against the emulated cloud: ARM and Azure DevOps tokens, one exchange per scope, fresh OIDC tokens each', async () => {
  const sc = Object.values(cloud.serviceConnections)[0];
  const p = platformFrom(cloud.env, { azureSubscription: sc });
  const mark = cloud.ctx.journal.mark();
  const seen: string[] = [];
  await runTask(
    {
      name: 'T',
      readInputs: () => ({}),
      async run(ctx) {
        const c = await ctx.azureConnection('azureSubscription');
        assert.equal(c.scheme, 'WorkloadIdentityFederation');
        assert.equal(c.cloud.authorityHost, cloud.ctx.urls.entra.replace(/\/$/, ''));
        assert.equal(c.cloud.resourceManagerUrl, cloud.ctx.urls.arm.replace(/\/$/, ''));
        for (const scope of [c.cloud.armScope, c.devopsScope]) {
          const t = await c.credential.getToken(scope);
          assert.ok(t?.token, scope);
          seen.push(t.token);
        }
        // A second ARM client asking again gets the cached token: no new OIDC request, no new exchange.
        assert.equal((await c.credential.getToken(c.cloud.armScope))?.token, seen[0]);
      },
    },
    p,
  );
  assert.equal(p.result?.result, 'Succeeded', p.result?.message);
  const oidc = cloud.ctx.journal.entries({ since: mark, path: /\/oidctoken$/ });
  // @azure/identity 4.13 (MSAL) asks the assertion callback twice per acquisition; both questions of
  // one exchange get the same fresh OIDC token: one OIDC request per exchange, a new one for the next.
  assert.equal(oidc.length, 2, cloud.ctx.journal.format({ since: mark }));
  assert.ok(
    oidc.every(
      (e) =>
        e.method === 'POST' &&
        new URLSearchParams(e.query).get('serviceConnectionId') === sc &&
        new URLSearchParams(e.query).get('api-version') === '7.1',
    ),
  );
  assert.equal(
    cloud.ctx.journal.count({ since: mark, service: 'entra', path: /\/token$/ }),
    2,
    cloud.ctx.journal.format({ since: mark }),
  );
  for (const token of seen)
    assert.ok(
      !p.lines.some((l) => l.includes(token) && !l.startsWith('##vso[task.setsecret]')),
      'access tokens never printed',
    );
});

test('an expired job token at the emulated OIDC endpoint fails the task with the status and what to check', async () => {
  const sc = Object.values(cloud.serviceConnections)[0];
  const devops = cloud.ctx.state.devops;
  devops.faults = { ...devops.faults, oidcToken: { status: 401, message: 'VS800075: The access token has expired.' } };
  try {
    const p = platformFrom(cloud.env, { azureSubscription: sc });
    await runTask(
      {
        name: 'T',
        readInputs: () => ({}),
        async run(ctx) {
          const c = await ctx.azureConnection('azureSubscription');
          await c.credential.getToken(c.cloud.armScope);
        },
      },
      p,
    );
    assert.equal(p.result?.result, 'Failed');
    assert.match(
      p.result!.message,
      /OIDC token request for service connection .* failed with HTTP 401\. Azure DevOps said: VS800075: The access token has expired\..*Fix: re-run the job/,
    );
  } finally {
    delete devops.faults?.oidcToken;
  }
});
