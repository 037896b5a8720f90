/**
 * `checkout: self` of the emulated repository for e2e tests, as the agent's checkout step does it:
 * a new folder under `parent`, the job's access token, the emulated cloud's CA.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { checkoutSelf } from '../agent/checkout';

interface CloudEnv {
  env: Record<string, string | undefined>;
}

/** The job access token the emulated agent hands to tasks (SYSTEMVSSCONNECTION's AccessToken). */
export function jobAccessToken(env: Record<string, string | undefined>): string {
  return (JSON.parse(env.ENDPOINT_AUTH_SYSTEMVSSCONNECTION!) as { parameters: { AccessToken: string } }).parameters
    .AccessToken;
}

/** Checks out `branch` (a full ref) into a new folder under `parent` and returns the folder. */
export async function checkoutBranch(
  cloud: CloudEnv,
  parent: string,
  branch: string,
  token = jobAccessToken(cloud.env),
): Promise<string> {
  const dir = fs.mkdtempSync(path.join(parent, 'checkout-'));
  const r = await checkoutSelf({
    repositoryUrl: cloud.env.BUILD_REPOSITORY_URI!,
    sourceBranch: branch,
    accessToken: token,
    dir,
    caFile: cloud.env.NODE_EXTRA_CA_CERTS!,
    persistCredentials: false,
  });
  assert.ok(r.ok, `checkout of ${branch}: ${r.error}\n${r.log}`);
  return dir;
}
