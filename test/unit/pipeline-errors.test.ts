/**
 * A server error that outlasts the retry policy is a service outage, not the user's setup: the run
 * says so and what to do (re-run; the next run continues), for each service the tasks call.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RestError } from '@azure/core-rest-pipeline';
import { describeError } from '../../tasks/common/pipeline/errors';

/** An error as azure-devops-node-api (typed-rest-client) throws it. */
const devops = (statusCode: number, message: string) =>
  Object.assign(new Error(message), { statusCode, result: { message, typeKey: 'ServiceUnavailableException' } });

test('Azure DevOps 503 after the retries: an outage, re-run, and the status page', () => {
  const text = describeError(devops(503, 'Injected fault 503.')).text;
  assert.match(text, /^Azure DevOps request failed with HTTP 503 ServiceUnavailableException: Injected fault 503\./);
  assert.match(text, /server error after every retry/);
  assert.match(text, /Fix: re-run the job: what this run wrote is kept .*status\.dev\.azure\.com/s);
});

test('Azure Resource Manager 500 after the retries names the request and says to re-run', () => {
  const err = new RestError('Internal server error', { statusCode: 500, code: 'InternalServerError' });
  const text = describeError(err).text;
  assert.match(text, /HTTP 500 InternalServerError: Internal server error/);
  assert.match(text, /Fix: re-run the job.*azure\.status\.microsoft/s);
});

test("the cluster's API server answering 503: check the cluster's health, then re-run", () => {
  const err = Object.assign(new Error('HTTP-Code: 503'), {
    code: 503,
    body: JSON.stringify({
      kind: 'Status',
      reason: 'ServiceUnavailable',
      message: 'the server is currently unable to handle the request',
    }),
  });
  const text = describeError(err).text;
  assert.match(text, /Kubernetes API request failed with HTTP 503: ServiceUnavailable/);
  assert.match(text, /Fix: check the cluster's health .* then re-run the job/s);
});

test('client errors without a known cause keep the plain message (no invented fix)', () => {
  assert.equal(describeError(devops(409, 'Conflict.')).text.includes('Fix:'), false);
});
