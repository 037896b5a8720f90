/**
 * Runs azure-devops-node-api calls under the one retry policy. azure-devops-node-api (through
 * typed-rest-client) retries neither 429 nor any POST, and it throws errors that carry
 * `statusCode`, `result` and `responseHeaders` (so Retry-After is honoured).
 *
 *   const web = retryingWebApi(new WebApi(orgUrl, getBearerHandler(token)), policy);
 *   const git = await web.getGitApi();          // location lookups retried, client wrapped
 *   await git.createPush(push, repoId, project); // logged as "Git.createPush" when retried
 *   const rest = retryingRestClient(web.rest, policy); // raw REST: "POST https://…" when retried
 *
 * Only methods that return a promise are retried; everything else passes through untouched.
 */
import type { RetryPolicy } from './retry';

type AnyFunction = (...args: unknown[]) => unknown;

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return (
    v !== null &&
    (typeof v === 'object' || typeof v === 'function') &&
    typeof (v as { then?: unknown }).then === 'function'
  );
}

/**
 * Wraps every promise-returning method of `api` so it runs under `policy`.
 * The label shown in the log is `<prefix>.<method>` unless `labelFor` says otherwise.
 */
export function retrying<T extends object>(
  api: T,
  policy: RetryPolicy,
  prefix: string,
  labelFor: (method: string, args: unknown[]) => string = (method) => `${prefix}.${method}`,
): T {
  return new Proxy(api, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function' || typeof prop !== 'string' || prop === 'constructor') return value;
      const fn = value as AnyFunction;
      return (...args: unknown[]) => {
        const call = () => Reflect.apply(fn, target, args);
        const first = call();
        if (!isThenable(first)) return first;
        return policy.run(labelFor(prop, args), (attempt) =>
          attempt === 1 ? Promise.resolve(first) : Promise.resolve(call()),
        );
      };
    },
  });
}

const REST_METHODS: Record<string, string> = {
  get: 'GET',
  create: 'POST',
  update: 'PATCH',
  replace: 'PUT',
  del: 'DELETE',
  options: 'OPTIONS',
  uploadStream: 'UPLOAD',
};

/** A typed-rest-client RestClient (WebApi.rest / an API's `rest`), retried; the log shows "POST <url>". */
export function retryingRestClient<T extends object>(rest: T, policy: RetryPolicy): T {
  return retrying(rest, policy, 'rest', (method, args) =>
    `${REST_METHODS[method] ?? method} ${typeof args[0] === 'string' ? args[0] : ''}`.trim(),
  );
}

/**
 * Wraps a WebApi: each `getXxxApi()` (which does location lookups: OPTIONS, ResourceAreas) is
 * retried, and the client it returns is itself wrapped with the prefix `Xxx` (getGitApi -> "Git").
 */
export function retryingWebApi<T extends object>(web: T, policy: RetryPolicy): T {
  return new Proxy(web, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function' || typeof prop !== 'string') return value;
      const fn = value as AnyFunction;
      const m = /^get(\w+?)Api$/.exec(prop);
      if (m) {
        const area = m[1];
        return async (...args: unknown[]) => {
          const client = await policy.run(`WebApi.${prop}`, () => Promise.resolve(Reflect.apply(fn, target, args)));
          return client !== null && typeof client === 'object' ? retrying(client, policy, area) : client;
        };
      }
      if (prop === 'connect')
        return (...args: unknown[]) =>
          policy.run('WebApi.connect', () => Promise.resolve(Reflect.apply(fn, target, args)));
      return fn.bind(target);
    },
  });
}
