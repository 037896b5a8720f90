/**
 * The task runner through the real azure-pipelines-task-lib in a child process: the ##vso commands
 * the agent parses (secrets first, masking, outputs, attachment, summary, one completion).
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Report } from '../../tasks/common/report';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pipeline-tasklib-'));

test('through real task-lib: the ##vso commands the agent parses', () => {
  const runner = `
    const { runTask } = require(${JSON.stringify(path.resolve('tasks/common/pipeline/task.ts'))});
    const { readString } = require(${JSON.stringify(path.resolve('tasks/common/pipeline/inputs.ts'))});
    runTask({ name: 'FluxOidcVerify', version: '1.2.3',
      readInputs: (p) => ({ cluster: readString(p, { name: 'clusterName', label: 'AKS cluster name', required: true }) }),
      async run(ctx, inputs) {
        const token = ctx.systemAccessToken();
        ctx.log.info('token ' + token + ' for ' + inputs.cluster);
        ctx.log.warn('careful');
        ctx.log.progress('waiting for reconcile', 50);
        ctx.log.info('##vso[task.setvariable variable=evil]x');
        await ctx.group('Checks', async () => ctx.log.debug('inside'));
        ctx.setOutput('issuerUrl', 'https://issuer.example/');
        ctx.report.check({ id: 'x', title: 'Repo readable', status: 'fail', cause: 'denied', fix: 'grant Read' });
      } });`;
  const dir = fs.mkdtempSync(path.join(tmp, 'agent-'));
  const out = execFileSync(process.execPath, ['--import', 'tsx', '-e', runner], {
    cwd: process.cwd(),
    env: {
      PATH: process.env.PATH ?? '',
      AGENT_TEMPDIRECTORY: dir,
      INPUT_CLUSTERNAME: 'aks-prod',
      INPUT_MODE: 'plan',
      ENDPOINT_URL_SYSTEMVSSCONNECTION: 'https://dev.azure.com/contoso/',
      ENDPOINT_AUTH_SYSTEMVSSCONNECTION: JSON.stringify({
        scheme: 'OAuth',
        parameters: { AccessToken: 'job-access-token-xyz' },
      }),
    },
    encoding: 'utf8',
  });
  const lines = out.split('\n').filter((l) => !l.startsWith('##vso[task.debug]'));
  const idx = (re: RegExp) => lines.findIndex((l) => re.test(l));
  assert.ok(idx(/^##vso\[task\.setsecret\]job-access-token-xyz$/) >= 0, out);
  assert.ok(
    idx(/^##vso\[task\.setsecret\]job-access-token-xyz$/) < idx(/^token /),
    'setSecret before the token is used in a line',
  );
  assert.ok(lines.includes('token *** for aks-prod'), out);
  assert.ok(lines.includes('##vso[task.logissue type=warning;]careful'), out);
  assert.ok(lines.includes('##vso[task.setprogress value=50;]waiting for reconcile'), out);
  assert.ok(lines.includes('##vso [task.setvariable variable=evil]x'), 'a log line cannot issue a command');
  assert.ok(lines.includes('##[group]Checks') && lines.includes('##[endgroup]'));
  assert.ok(
    lines.includes('##vso[task.setvariable variable=issuerUrl;isOutput=true;issecret=false;]https://issuer.example/'),
    out,
  );
  const attach = lines.find((l) => l.startsWith('##vso[task.addattachment type=fluxoidc-report;name=FluxOidcVerify;]'));
  assert.ok(attach, out);
  const summary = lines.find((l) => l.startsWith('##vso[task.uploadsummary]'));
  assert.ok(summary);
  const report = JSON.parse(fs.readFileSync(attach.slice(attach.indexOf(']') + 1), 'utf8')) as Report;
  assert.equal(report.mode, 'plan');
  assert.equal(report.result, 'Failed');
  assert.match(fs.readFileSync(summary.slice(summary.indexOf(']') + 1), 'utf8'), /Fix: grant Read/);
  const complete = lines.filter((l) => l.startsWith('##vso[task.complete'));
  assert.deepEqual(complete, ['##vso[task.complete result=Failed;]1 required check failed: Repo readable']);
  assert.ok(
    lines.includes('##vso[task.issue type=error;source=TaskInternal;]1 required check failed: Repo readable'),
    out,
  );
  assert.ok(
    !out.includes('job-access-token-xyz', out.indexOf('##vso[task.setsecret]job-access-token-xyz') + 40),
    'the token appears only in setsecret',
  );
});
