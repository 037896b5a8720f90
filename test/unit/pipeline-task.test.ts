/** pipeline/task.ts: the one result path, through the in-memory platform and through real task-lib. */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createHttpHeaders, RestError, type PipelineRequest, type PipelineResponse } from '@azure/core-rest-pipeline';
import {
  MemoryPlatform,
  readString,
  runTask,
  UserError,
  versionOf,
  type TaskDefinition,
} from '../../tasks/common/pipeline';
import type { Report } from '../../tasks/common/report';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pipeline-task-'));

function platform(
  inputs: Record<string, string> = {},
  more: Partial<ConstructorParameters<typeof MemoryPlatform>[0]> = {},
): MemoryPlatform {
  return new MemoryPlatform({ inputs, tempDir: fs.mkdtempSync(path.join(tmp, 'run-')), ...more });
}

function reportOf(p: MemoryPlatform): { json: Report; md: string } {
  assert.equal(p.attachments.length, 1);
  assert.equal(p.summaries.length, 1);
  return {
    json: JSON.parse(fs.readFileSync(p.attachments[0].path, 'utf8')) as Report,
    md: fs.readFileSync(p.summaries[0], 'utf8'),
  };
}

type Inputs = { cluster: string };
const readInputs = (p: MemoryPlatform | Parameters<TaskDefinition<Inputs>['readInputs']>[0]): Inputs => ({
  cluster: readString(p, {
    name: 'clusterName',
    label: 'AKS cluster name',
    required: true,
    pattern: /^[a-z0-9-]+$/,
    patternHint: 'lowercase letters, digits and -',
  }),
});

test('success: outputs set, report attached as JSON + markdown summary, exactly one Succeeded result', async () => {
  const p = platform({ clusterName: 'aks-prod', mode: 'apply' });
  await runTask(
    {
      name: 'FluxOidcProvision',
      version: versionOf({ version: { Major: 1, Minor: 0, Patch: 3 } }),
      readInputs,
      async run(ctx, inputs) {
        assert.equal(ctx.mode, 'apply');
        ctx.section('Azure');
        await ctx.group('Cluster', async () => ctx.log.info(`cluster ${inputs.cluster}`));
        ctx.setOutput('clientId', 'c-1');
        ctx.setOutput('kubeconfig', 'apiVersion: v1 secret-kube', { secret: true });
        ctx.report.resource({ kind: 'ManagedCluster', name: inputs.cluster, action: 'unchanged', status: 'unchanged' });
      },
    },
    p,
  );
  assert.deepEqual(p.results, [
    { result: 'Succeeded', message: 'Everything was already in place (1 resource); nothing was written.' },
  ]);
  assert.deepEqual(p.outputs, {
    clientId: { value: 'c-1', secret: false },
    kubeconfig: { value: 'apiVersion: v1 secret-kube', secret: true },
  });
  assert.ok(p.lines.indexOf('##[section]Azure') < p.lines.indexOf('##[group]Cluster'));
  assert.deepEqual(p.lines.slice(p.lines.indexOf('##[group]Cluster'), p.lines.indexOf('##[group]Cluster') + 3), [
    '##[group]Cluster',
    'cluster aks-prod',
    '##[endgroup]',
  ]);
  assert.equal(p.attachments[0].type, 'fluxoidc-report');
  assert.equal(p.attachments[0].name, 'FluxOidcProvision');
  assert.ok(
    p.lines.some(
      (l) => l === `##vso[task.addattachment type=fluxoidc-report;name=FluxOidcProvision]${p.attachments[0].path}`,
    ),
  );
  assert.ok(p.lines.some((l) => l === `##vso[task.uploadsummary]${p.summaries[0]}`));
  const { json, md } = reportOf(p);
  assert.equal(json.task, 'FluxOidcProvision');
  assert.equal(json.version, '1.0.3');
  assert.equal(json.mode, 'apply');
  assert.equal(json.result, 'Succeeded');
  assert.deepEqual(json.outputs, { clientId: 'c-1' }, 'secret outputs are not in the report');
  assert.ok(!JSON.stringify(json).includes('secret-kube'));
  assert.match(md, /^### ✅ FluxOidcProvision 1\.0\.3: Succeeded \(apply\)/);
  assert.equal(
    p.lines.at(-1),
    '##vso[task.complete result=Succeeded]Everything was already in place (1 resource); nothing was written.',
    'the result is the last thing printed',
  );
});

test('ctx.reportPath is known during run() and is the attached report file, also when the run fails', async () => {
  for (const fail of [false, true]) {
    const p = platform({ clusterName: 'aks-prod', mode: 'apply' });
    let seen = '';
    await runTask(
      {
        name: 'FluxOidcVerify',
        readInputs,
        async run(ctx) {
          seen = ctx.reportPath;
          assert.ok(path.isAbsolute(seen) && seen.startsWith(p.tempDir()), `${seen} is in the temp dir`);
          assert.ok(fs.existsSync(path.dirname(seen)), 'its directory exists during the run');
          ctx.setOutput('reportPath', ctx.reportPath);
          if (fail) throw new UserError('boom.', { code: 'Boom', fix: 'none' });
        },
      },
      p,
    );
    assert.equal(p.attachments.length, 1);
    assert.equal(p.attachments[0].path, seen, 'the attachment is the file ctx.reportPath named');
    assert.equal(p.outputs.reportPath?.value, seen);
    const json = JSON.parse(fs.readFileSync(seen, 'utf8')) as Report;
    assert.equal(json.result, fail ? 'Failed' : 'Succeeded');
    assert.equal(json.outputs.reportPath, seen);
  }
});

test('a bad input fails with the InputError text before run() is called; the report is still written', async () => {
  const p = platform({ clusterName: 'AKS Prod' });
  let ran = false;
  await runTask(
    {
      name: 'FluxOidcProvision',
      readInputs,
      async run() {
        ran = true;
      },
    },
    p,
  );
  assert.equal(ran, false);
  assert.equal(p.result?.result, 'Failed');
  assert.equal(
    p.result?.message,
    'Input \'AKS cluster name\' (clusterName): "AKS Prod" is not valid. Fix: use lowercase letters, digits and -',
  );
  const { json } = reportOf(p);
  assert.equal(json.result, 'Failed');
  assert.deepEqual(json.errors, [p.result?.message]);
});

test('typed errors become messages with cause and fix', async () => {
  const cases: { err: unknown; expect: RegExp }[] = [
    {
      err: new UserError('The identity would have 21 federated credentials.', {
        cause: '19 exist and 2 are new',
        fix: 'delete unused ones',
      }),
      expect:
        /^The identity would have 21 federated credentials\. Cause: 19 exist and 2 are new\. Fix: delete unused ones$/,
    },
    {
      err: (() => {
        const request = {
          method: 'PUT',
          url: 'https://management.azure.com/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id?api-version=2024-11-30',
        } as PipelineRequest;
        return new RestError(
          "The client 'x' does not have authorization to perform action 'Microsoft.ManagedIdentity/userAssignedIdentities/write'",
          {
            code: 'AuthorizationFailed',
            statusCode: 403,
            request,
            response: { status: 403, headers: createHttpHeaders(), request } as PipelineResponse,
          },
        );
      })(),
      expect:
        /^PUT https:\/\/management\.azure\.com\/subscriptions\/s\/resourceGroups\/rg\/providers\/Microsoft\.ManagedIdentity\/userAssignedIdentities\/id failed with HTTP 403 AuthorizationFailed: .*Microsoft\.ManagedIdentity\/userAssignedIdentities\/write.*Cause: the service connection's identity lacks an Azure role.*Fix: grant/,
    },
    {
      err: Object.assign(new Error('Failed request: Forbidden(403)'), {
        statusCode: 403,
        result: {
          message: "TF401027: You need the Git 'GenericContribute' permission to perform this action.",
          typeKey: 'GitNeedsPermissionException',
        },
      }),
      expect:
        /^Azure DevOps request failed with HTTP 403 GitNeedsPermissionException: TF401027: .*Fix: grant the permission/,
    },
    {
      err: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }),
      expect: /^Network error: connect ECONNREFUSED 127\.0\.0\.1:1\. Fix: the server refused the connection/,
    },
    { err: new Error('plain failure'), expect: /^plain failure$/ },
  ];
  for (const c of cases) {
    const p = platform({ clusterName: 'aks' });
    await runTask(
      {
        name: 'T',
        readInputs,
        async run() {
          throw c.err;
        },
      },
      p,
    );
    assert.equal(p.results.length, 1);
    assert.equal(p.result?.result, 'Failed');
    assert.match(p.result!.message, c.expect);
  }
});

test('secrets: setSecret comes before any line that could show the value, and every later line is masked', async () => {
  const p = platform({ clusterName: 'aks' });
  await runTask(
    {
      name: 'T',
      readInputs,
      async run(ctx) {
        ctx.log.secret('tok-SECRET-123');
        ctx.log.info('using tok-SECRET-123 now');
        ctx.log.warn('warning about tok-SECRET-123');
        ctx.report.check({ id: 'c', title: 'Token', status: 'pass', evidence: 'tok-SECRET-123' });
        throw new Error('failed with tok-SECRET-123');
      },
    },
    p,
  );
  const first = p.lines.findIndex((l) => l.includes('tok-SECRET-123') || l.includes('***'));
  assert.equal(p.lines[first], '##vso[task.setsecret]tok-SECRET-123');
  assert.ok(p.lines.slice(first + 1).every((l) => !l.includes('tok-SECRET-123')));
  assert.ok(p.lines.includes('using *** now'));
  assert.ok(p.lines.includes('##vso[task.logissue type=warning]warning about ***'));
  assert.equal(p.result?.message, 'failed with ***');
  const { json, md } = reportOf(p);
  assert.ok(!JSON.stringify(json).includes('tok-SECRET-123') && !md.includes('tok-SECRET-123'));
});

test('result: a failed check fails the run, warnings make it SucceededWithIssues, plan mode says nothing changed', async () => {
  const failed = platform({ clusterName: 'aks' });
  await runTask(
    {
      name: 'V',
      readInputs,
      async run(ctx) {
        ctx.report.check({ id: 'a', title: 'Issuer matches', status: 'pass' });
        ctx.report.check({
          id: 'b',
          title: 'Identity is an org member',
          status: 'fail',
          cause: 'not found',
          fix: 'add it',
        });
      },
    },
    failed,
  );
  assert.deepEqual(failed.results, [
    { result: 'Failed', message: '1 required check failed: Identity is an org member' },
  ]);

  const warned = platform({ clusterName: 'aks' });
  await runTask(
    {
      name: 'V',
      readInputs,
      async run(ctx) {
        ctx.log.warn('identity has more than Read + Contribute');
      },
    },
    warned,
  );
  assert.equal(warned.result?.result, 'SucceededWithIssues');
  assert.deepEqual(reportOf(warned).json.warnings, ['identity has more than Read + Contribute']);

  const plan = platform({ clusterName: 'aks', mode: 'plan' });
  await runTask(
    {
      name: 'V',
      readInputs,
      async run(ctx) {
        assert.equal(ctx.mode, 'plan');
      },
    },
    plan,
  );
  assert.deepEqual(plan.results, [{ result: 'Succeeded', message: 'Plan: apply would change nothing.' }]);
});

test('systemAccessToken: SYSTEMVSSCONNECTION endpoint first, SYSTEM_ACCESSTOKEN as fallback, a clear error otherwise', async () => {
  const seen: string[] = [];
  const def = (): TaskDefinition<Inputs> => ({
    name: 'T',
    readInputs,
    async run(ctx) {
      seen.push(ctx.systemAccessToken());
    },
  });
  const ep = platform(
    { clusterName: 'aks' },
    {
      endpoints: {
        SYSTEMVSSCONNECTION: {
          url: 'https://dev.azure.com/contoso/',
          scheme: 'OAuth',
          auth: { AccessToken: 'job-token' },
        },
      },
      variables: { 'System.AccessToken': 'mapped' },
    },
  );
  await runTask(def(), ep);
  const mapped = platform({ clusterName: 'aks' }, { variables: { SYSTEM_ACCESSTOKEN: 'mapped' } });
  await runTask(def(), mapped);
  assert.deepEqual(seen, ['job-token', 'mapped']);
  assert.ok(ep.lines.includes('##vso[task.setsecret]job-token'));
  const none = platform({ clusterName: 'aks' });
  await runTask(def(), none);
  assert.match(
    none.result!.message,
    /^The job access token \(System\.AccessToken\) is not available to the task\. Cause: .*Fix: /,
  );
});

test('azureConnection: the connection input resolves through the platform; a bad connection fails before any network call', async () => {
  const p = platform(
    { clusterName: 'aks', azureSubscription: 'sc-1' },
    {
      variables: { 'System.OidcRequestUri': 'https://dev.example/oidctoken' },
      endpoints: {
        'sc-1': {
          url: 'https://management.usgovcloudapi.net/',
          scheme: 'WorkloadIdentityFederation',
          auth: { tenantid: 't-1', serviceprincipalid: 'c-1' },
          data: { subscriptionId: 's-1', environment: 'AzureUSGovernment' },
        },
      },
    },
  );
  let got: { scheme: string; cloud: string; arm: string } | undefined;
  await runTask(
    {
      name: 'T',
      readInputs,
      async run(ctx) {
        const c = await ctx.azureConnection('azureSubscription');
        assert.equal(await ctx.azureConnection('azureSubscription'), c, 'resolved once per input');
        got = { scheme: c.scheme, cloud: c.cloud.name, arm: c.cloud.resourceManagerUrl };
      },
    },
    p,
  );
  assert.equal(p.result?.result, 'Succeeded', p.result?.message);
  assert.deepEqual(got, {
    scheme: 'WorkloadIdentityFederation',
    cloud: 'AzureUSGovernment',
    arm: 'https://management.usgovcloudapi.net',
  });

  const missing = platform({ clusterName: 'aks', azureSubscription: 'gone' });
  await runTask(
    {
      name: 'T',
      readInputs,
      async run(ctx) {
        await ctx.azureConnection('azureSubscription');
      },
    },
    missing,
  );
  assert.match(
    missing.result!.message,
    /^Input 'azureSubscription' \(azureSubscription\): the service connection "gone" is not available to this job/,
  );
});

test('secrets: a multi-line secret (a kubeconfig) is registered value by value, never as one multi-line setSecret', async () => {
  const kubeconfig = [
    'apiVersion: v1',
    'kind: Config',
    'users:',
    '- name: clusterUser_rg-fleet_aks-prod',
    '  user:',
    '    token: "eyJhbGciOiJSUzI1NiJ9.payload-part.signature-part"',
    '    client-key-data: LS0tLS1CRUdJTiBSU0EgUFJJVkFURSBLRVktLS0tLQ==',
  ].join('\n');
  const p = new MemoryPlatform({ inputs: { mode: 'apply' } });
  await runTask(
    {
      name: 'T',
      readInputs: () => ({}),
      async run(ctx) {
        ctx.log.secret(kubeconfig);
        ctx.log.info('kind: Config uses token eyJhbGciOiJSUzI1NiJ9.payload-part.signature-part');
      },
    },
    p,
  );
  const out = p.lines.join('\n');
  assert.match(out, /##vso\[task\.complete result=Succeeded/, out);
  assert.ok(!out.includes('setsecret]clusterUser_rg-fleet_aks-prod'), 'names are not secrets');
  assert.ok(p.lines.includes('##vso[task.setsecret]eyJhbGciOiJSUzI1NiJ9.payload-part.signature-part'), out);
  assert.ok(p.lines.includes('##vso[task.setsecret]LS0tLS1CRUdJTiBSU0EgUFJJVkFURSBLRVktLS0tLQ=='), out);
  assert.ok(p.lines.includes('kind: Config uses token ***'), 'structure stays readable, the token is masked');
});
