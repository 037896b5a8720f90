/**
 * Azure DevOps refusals (401/403) name who was refused and the fix that fits that caller: a
 * service connection's principal (add it to the organization, or name another connection) or the
 * job's access token (expired or out of scope: re-run, or widen the job authorization scope).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeDevOpsError, JOB_TOKEN_HOLDER, serviceConnectionHolder } from '../../tasks/common/devops/errors';
import { UserError } from '../../tasks/common/errors';

/** An error as azure-devops-node-api (typed-rest-client) throws it. */
const vss = (statusCode: number, message: string) =>
  Object.assign(new Error(message), { statusCode, result: { message, typeKey: 'X' } });

function described(err: unknown, ctx: Parameters<typeof describeDevOpsError>[1]): UserError {
  const d = describeDevOpsError(err, ctx);
  assert.ok(d instanceof UserError, String(d));
  return d;
}

test('401 with a service connection: add its principal to the organization, or name another connection in the input', () => {
  const e = described(vss(401, 'TF400813: not authorized'), {
    action: 'connect',
    holder: serviceConnectionHolder('client id abc', 'azureSubscription'),
  });
  assert.equal(e.message, 'Could not connect: Azure DevOps did not accept the token (HTTP 401).');
  assert.equal(
    e.cause,
    "the service connection's principal (client id abc) is not a user of the organization, or its access was removed. Azure DevOps said: TF400813: not authorized",
  );
  assert.match(
    e.fix ?? '',
    /^Add the service connection's principal \(client id abc\) to the Azure DevOps organization .*, or name another service connection in azureSubscription\.$/,
  );
});

test('401 with the job access token: nothing about service connections; re-run or widen the job scope', () => {
  const e = described(vss(401, 'VS800075: The access token has expired.'), {
    action: 'connect',
    holder: JOB_TOKEN_HOLDER,
    right: 'Contribute',
  });
  assert.match(e.cause ?? '', /^the job access token was not accepted: it expired/);
  assert.match(
    e.fix ?? '',
    /^re-run the job; .*Limit job authorization scope to current project.*; the project's build service identity \(the job access token\) also needs Contribute\.$/,
  );
  assert.doesNotMatch(`${e.cause} ${e.fix}`, /service connection|devopsConnection/);
});

test("403 names who lacks which right and offers the holder's way out; without a holder, the principal", () => {
  const job = described(vss(403, 'TF401027: You need the Git GenericContribute permission'), {
    action: 'push',
    holder: { ...JOB_TOKEN_HOLDER, alternative: 'use gitAuth: serviceConnection' },
    right: "the 'Contribute' Git permission",
  });
  assert.equal(
    job.cause,
    "the project's build service identity (the job access token) lacks the 'Contribute' Git permission. Azure DevOps said: TF401027: You need the Git GenericContribute permission",
  );
  assert.equal(
    job.fix,
    "Give the project's build service identity (the job access token) the 'Contribute' Git permission, or use gitAuth: serviceConnection, then re-run.",
  );
  const legacy = described(vss(403, 'denied'), {
    action: 'create the team',
    principal: 'client id abc',
    right: 'Project Administrator',
  });
  assert.equal(
    legacy.fix,
    "Give the service connection's principal (client id abc) Project Administrator, or name a service connection whose principal has it in devopsConnection, then re-run.",
  );
});

test('other statuses and our own errors pass through unchanged', () => {
  const e404 = vss(404, 'not found');
  assert.equal(describeDevOpsError(e404, { action: 'read' }), e404);
  const ours = new UserError('already described');
  assert.equal(describeDevOpsError(ours, { action: 'read', holder: JOB_TOKEN_HOLDER }), ours);
});
