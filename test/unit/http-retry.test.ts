/** http/retry.ts: the one retry policy, with a fake clock (no real waits). */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { createHttpHeaders, RestError, type PipelineRequest, type PipelineResponse } from '@azure/core-rest-pipeline';
import { MemoryLogger } from '../../tasks/common/log';
import {
  isRetryable,
  retryAfterMs,
  RetryPolicy,
  retrying,
  retryingRestClient,
  retryingWebApi,
} from '../../tasks/common/http';

/** A fake clock: sleep advances it and records the wait. */
function fakeTime(start = Date.parse('2026-11-28T12:00:00Z')) {
  let now = start;
  const waits: number[] = [];
  return {
    waits,
    now: () => now,
    sleep: async (ms: number) => {
      waits.push(ms);
      now += ms;
    },
  };
}

function restError(status: number, headers: Record<string, string> = {}, url = 'https://arm.example/x'): RestError {
  const request = { url, method: 'GET' } as PipelineRequest;
  const response = { status, headers: createHttpHeaders(headers), request } as PipelineResponse;
  return new RestError(`HTTP ${status}`, { statusCode: status, request, response });
}

/** An azure-devops-node-api / typed-rest-client error: statusCode, result, responseHeaders. */
function devopsError(status: number, headers: Record<string, string> = {}): Error {
  return Object.assign(new Error(`Failed request: (${status})`), {
    statusCode: status,
    result: { message: 'TF400733: throttled' },
    responseHeaders: headers,
  });
}

function nodeError(code: string, message = `read ${code}`): Error {
  return Object.assign(new Error(message), { code });
}

/** A call that fails with `errors` in turn, then returns 'ok'. */
function flaky(errors: unknown[]) {
  let calls = 0;
  return {
    get calls() {
      return calls;
    },
    fn: async () => {
      calls++;
      if (calls <= errors.length) throw errors[calls - 1];
      return 'ok';
    },
  };
}

test('isRetryable: 429 and 5xx gateway errors, connection resets; not 4xx or programming errors', () => {
  for (const s of [429, 500, 502, 503, 504]) {
    assert.ok(isRetryable(restError(s)), `RestError ${s}`);
    assert.ok(isRetryable(devopsError(s)), `devops ${s}`);
  }
  for (const s of [400, 401, 403, 404, 409, 412, 501]) {
    assert.ok(!isRetryable(restError(s)), `RestError ${s}`);
    assert.ok(!isRetryable(devopsError(s)), `devops ${s}`);
  }
  assert.ok(isRetryable(nodeError('ECONNRESET')));
  assert.ok(isRetryable(nodeError('ETIMEDOUT')));
  assert.ok(isRetryable(nodeError('ECONNRESET', 'socket hang up')), "Node's socket hang up carries ECONNRESET");
  assert.ok(!isRetryable(new Error('socket hang up')), 'message text alone is never read');
  assert.ok(
    isRetryable(new RestError('request failed', { code: 'REQUEST_SEND_ERROR' })) === false,
    'a send error without a reset is not retried',
  );
  assert.ok(
    isRetryable(new RestError('read ECONNRESET', { code: 'ECONNRESET' })),
    "core-rest-pipeline keeps Node's code",
  );
  assert.ok(
    isRetryable(Object.assign(new Error('fetch failed'), { cause: nodeError('ECONNRESET') })),
    'reset in the cause chain',
  );
  assert.ok(
    isRetryable(Object.assign(new Error('HTTP-Code: 503'), { code: 503, body: '' })),
    'kubernetes ApiException',
  );
  assert.ok(!isRetryable(new TypeError('x is not a function')));
  assert.ok(!isRetryable(nodeError('ENOTFOUND', 'getaddrinfo ENOTFOUND nowhere')));
});

test('retryAfterMs: seconds, HTTP date, x-ms-retry-after-ms; from RestError and from azure-devops-node-api errors', () => {
  const now = Date.parse('2026-11-28T12:00:00Z');
  assert.equal(retryAfterMs(restError(429, { 'retry-after': '7' }), now), 7000);
  assert.equal(retryAfterMs(restError(429, { 'retry-after': 'Sat, 28 Nov 2026 12:00:30 GMT' }), now), 30_000);
  assert.equal(
    retryAfterMs(restError(429, { 'retry-after': 'Sat, 28 Nov 2026 11:00:00 GMT' }), now),
    0,
    'a date in the past means now',
  );
  assert.equal(
    retryAfterMs(restError(503, { 'x-ms-retry-after-ms': '250', 'retry-after': '9' }), now),
    250,
    'the precise header wins',
  );
  assert.equal(retryAfterMs(devopsError(429, { 'retry-after': '3' }), now), 3000);
  assert.equal(retryAfterMs(devopsError(429, { 'Retry-After': '4' }), now), 4000, 'header names are case-insensitive');
  assert.equal(retryAfterMs(restError(503), now), undefined);
  assert.equal(retryAfterMs(restError(503, { 'retry-after': 'soon' }), now), undefined);
});

test('Retry-After in seconds is honoured and each retry is logged', async () => {
  const t = fakeTime();
  const log = new MemoryLogger();
  const policy = new RetryPolicy({ ...t, log });
  const call = flaky([restError(429, { 'retry-after': '2' }), devopsError(503, { 'retry-after': '5' })]);
  assert.equal(await policy.run('GET https://dev.example/_apis/projects', call.fn), 'ok');
  assert.equal(call.calls, 3);
  assert.deepEqual(t.waits, [2000, 5000]);
  assert.deepEqual(
    log.lines.map((l) => l.message),
    [
      'retrying GET https://dev.example/_apis/projects after 429, waiting 2s (attempt 2/6)',
      'retrying GET https://dev.example/_apis/projects after 503, waiting 5s (attempt 3/6)',
    ],
  );
});

test('Retry-After as an HTTP date is honoured', async () => {
  const t = fakeTime(Date.parse('2026-11-28T12:00:00Z'));
  const policy = new RetryPolicy({ ...t });
  const call = flaky([restError(503, { 'retry-after': 'Sat, 28 Nov 2026 12:00:12 GMT' })]);
  await policy.run('PUT x', call.fn);
  assert.deepEqual(t.waits, [12_000]);
});

test('without Retry-After: exponential backoff with full jitter, capped', async () => {
  const t = fakeTime();
  const policy = new RetryPolicy({
    ...t,
    random: () => 0.999,
    baseDelayMs: 1000,
    maxDelayMs: 5000,
    maxAttempts: 6,
    maxTotalMs: 1e9,
  });
  const call = flaky([
    nodeError('ECONNRESET'),
    restError(500),
    restError(502),
    restError(504),
    nodeError('ECONNRESET', 'socket hang up'),
  ]);
  assert.equal(await policy.run('POST y', call.fn), 'ok');
  assert.deepEqual(t.waits, [999, 1998, 3996, 4995, 4995]);
  const jitter = fakeTime();
  await new RetryPolicy({ ...jitter, random: () => 0 }).run('z', flaky([restError(500)]).fn);
  assert.deepEqual(jitter.waits, [0], 'full jitter can wait 0');
});

test('bounded by attempts: gives up with the last error after maxAttempts and says so', async () => {
  const t = fakeTime();
  const log = new MemoryLogger();
  const policy = new RetryPolicy({ ...t, log, maxAttempts: 3, random: () => 0.5 });
  const last = restError(503, {}, 'https://arm.example/last');
  const call = flaky([restError(503), restError(503), last, restError(503)]);
  await assert.rejects(policy.run('GET https://arm.example/last', call.fn), (e) => e === last);
  assert.equal(call.calls, 3);
  assert.equal(t.waits.length, 2);
  assert.match(log.lines.at(-1)!.message, /^giving up on GET https:\/\/arm\.example\/last after 503: 3 attempts in/);
  assert.equal(log.lines.at(-1)!.level, 'warn');
});

test('bounded by total time: a wait that would exceed the budget is not taken', async () => {
  const t = fakeTime();
  const log = new MemoryLogger();
  const policy = new RetryPolicy({ ...t, log, maxTotalMs: 10_000 });
  const call = flaky([
    restError(429, { 'retry-after': '4' }),
    restError(429, { 'retry-after': '4' }),
    restError(429, { 'retry-after': '4' }),
    restError(429),
  ]);
  await assert.rejects(policy.run('GET q', call.fn), (e: unknown) => e instanceof RestError && e.statusCode === 429);
  assert.deepEqual(t.waits, [4000, 4000], 'the third 4s wait would end at 12s > 10s');
  assert.equal(call.calls, 3);
  assert.match(
    log.text(),
    /giving up on GET q after 429: waiting 4s more would exceed the 10s retry budget \(3 attempts in 8s\)/,
  );

  const huge = fakeTime();
  const one = flaky([restError(429, { 'retry-after': '3600' })]);
  await assert.rejects(new RetryPolicy({ ...huge }).run('GET big', one.fn));
  assert.deepEqual(huge.waits, [], 'a Retry-After beyond the default 120s budget fails at once');
});

test('non-retryable errors are thrown at once, not retried, not logged', async () => {
  const t = fakeTime();
  const log = new MemoryLogger();
  for (const err of [restError(404), restError(403), devopsError(401), devopsError(409), new TypeError('bug')]) {
    const call = flaky([err]);
    await assert.rejects(new RetryPolicy({ ...t, log }).run('X', call.fn), (e) => e === err);
    assert.equal(call.calls, 1);
  }
  assert.deepEqual(t.waits, []);
  assert.equal(log.lines.length, 0);
});

test('azure-devops-node-api helpers: API methods and WebApi.getXxxApi are retried and labelled', async () => {
  const t = fakeTime();
  const log = new MemoryLogger();
  const policy = new RetryPolicy({ ...t, log, random: () => 0.5 });
  let pushes = 0;
  const gitApi = {
    name: 'git',
    async createPush(push: { ref: string }): Promise<string> {
      pushes++;
      if (pushes === 1) throw devopsError(429, { 'retry-after': '1' });
      return `pushed ${push.ref}`;
    },
    syncHelper(): number {
      return 42;
    },
  };
  let lookups = 0;
  const web = {
    async getGitApi() {
      lookups++;
      if (lookups === 1) throw nodeError('ECONNRESET');
      return gitApi;
    },
    rest: {
      async create(url: string, body: unknown) {
        return { url, body };
      },
    },
  };
  const w = retryingWebApi(web, policy);
  const git = await w.getGitApi();
  assert.equal(await git.createPush({ ref: 'refs/heads/main' }), 'pushed refs/heads/main');
  assert.equal(git.syncHelper(), 42, 'synchronous methods pass through');
  assert.equal(git.name, 'git');
  assert.equal(pushes, 2);
  assert.deepEqual(
    log.lines.map((l) => l.message.replace(/waiting \S+/, 'waiting N')),
    [
      'retrying WebApi.getGitApi after ECONNRESET, waiting N (attempt 2/6)',
      'retrying Git.createPush after 429, waiting N (attempt 2/6)',
    ],
  );

  let posts = 0;
  const rest = retryingRestClient(
    {
      async create(url: string) {
        posts++;
        if (posts === 1) throw devopsError(503);
        return url;
      },
    },
    policy,
  );
  assert.equal(
    await rest.create('https://dev.example/org/_apis/graph/users'),
    'https://dev.example/org/_apis/graph/users',
  );
  assert.match(log.lines.at(-1)!.message, /^retrying POST https:\/\/dev\.example\/org\/_apis\/graph\/users after 503/);

  const plain = retrying(
    {
      async get() {
        return 1;
      },
    },
    policy,
    'Core',
  );
  assert.equal(await plain.get(), 1);
});
