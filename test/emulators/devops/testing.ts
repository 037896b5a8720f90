/**
 * A stand-alone Azure DevOps test bed for the devops emulator's own tests: the four devops hosts on
 * HTTPS with the shared test CA, the scenario's devops section, and a minimal stand-in for Entra ID
 * (it signs access tokens for any object id and answers directory lookups from a map), so these
 * tests do not depend on the Entra emulator. Product and end-to-end tests use startCloud() instead.
 *
 * Needs the test CA trusted at process start: FLUX_OIDC_TEST_CA_DIR=<dir> and
 * NODE_EXTRA_CA_CERTS=<dir>/ca.crt (scripts/test.mjs sets both).
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Clock } from '../core/clock';
import type { AccessTokenClaims, CloudContext, CloudUrls, DirectoryPrincipal, HostName } from '../core/context';
import { Faults } from '../core/faults';
import { startHost, type Handler, type Host } from '../core/host';
import { Journal } from '../core/journal';
import { createSigningKey, JwtError, signJwt, verifyJwt } from '../core/jwt';
import type { ScenarioName } from '../core/service';
import { loadOrCreateTestCa } from '../core/tls';
import { AZURE_DEVOPS_RESOURCE_ID, FRESH } from '../names';
import type { CloudState } from '../state';
import { CONVERGED_IDENTITY } from './ids';
import { createDevOpsServices, type DevOpsService } from './index';
import type { DevOpsState } from './model';
import { devopsScenario, validateDevOps } from './scenario';

export interface DevOpsTestbed {
  ctx: CloudContext;
  service: DevOpsService;
  urls: CloudUrls;
  /** `https://127.0.0.1:P/contoso` (no trailing slash). */
  orgUrl: string;
  caFile: string;
  /** The stand-in Entra directory (object id -> principal); add principals to make them "exist". */
  directory: Map<string, DirectoryPrincipal>;
  /** An Entra access token for Azure DevOps, as the real token endpoint would issue for this principal. */
  entraToken(
    objectId: string,
    opts?: { tenantId?: string; audience?: string; lifetimeSeconds?: number; appId?: string },
  ): string;
  systemAccessToken(): string;
  env(): Record<string, string>;
  stop(): Promise<void>;
}

const DEVOPS_HOSTS: HostName[] = ['devops', 'vssps', 'vsaex', 'devops-issuer'];

export function testCaDir(): string {
  const dir = process.env.FLUX_OIDC_TEST_CA_DIR;
  if (!dir) {
    throw new Error(
      "FLUX_OIDC_TEST_CA_DIR is not set: run the tests with FLUX_OIDC_TEST_CA_DIR=<dir> NODE_EXTRA_CA_CERTS=<dir>/ca.crt (node scripts/test.mjs does), so Node trusts the emulators' CA",
    );
  }
  return dir;
}

export async function startDevOpsTestbed(
  opts: { scenario?: ScenarioName; mutate?: (s: DevOpsState) => void } = {},
): Promise<DevOpsTestbed> {
  const ca = loadOrCreateTestCa(testCaDir());
  const journal = new Journal();
  const faults = new Faults(1);
  const clock = new Clock();
  const handlers: Partial<Record<HostName, Handler>> = {};
  const hosts: Host[] = [];
  for (const name of DEVOPS_HOSTS) {
    hosts.push(
      await startHost({
        name,
        ca,
        journal,
        faults,
        clock,
        handler: (req, res) => (handlers[name] ? handlers[name]!(req, res) : Promise.resolve(undefined)),
      }),
    );
  }
  const unused = 'https://127.0.0.1:9';
  const urls = { entra: unused, arm: unused, 'aks-issuer': unused, kube: unused } as CloudUrls;
  for (const h of hosts) urls[h.name as HostName] = h.url;

  const devops = devopsScenario.build({ scenario: opts.scenario ?? 'fresh', urls });
  opts.mutate?.(devops);
  const state: CloudState = {
    azure: {
      tenant: { id: FRESH.tenantId, domain: FRESH.tenantDomain, applications: [] },
      subscriptions: [],
      roleAssignments: [],
    },
    devops,
    kube: { clusters: {} },
  };
  const problems = validateDevOps(devops, state);
  if (problems.length) throw new Error(`invalid devops state:\n${problems.join('\n')}`);

  // Stand-in Entra ID: issues v1-shaped access tokens and verifies them like the real emulator.
  const key = createSigningKey('entra-stub');
  const issuer = (tid: string): string => `https://sts.windows.net/${tid}/`;
  const directory = new Map<string, DirectoryPrincipal>();
  const add = (p: DirectoryPrincipal): void => {
    directory.set(p.objectId.toLowerCase(), p);
  };
  add({
    tenantId: FRESH.tenantId,
    objectId: FRESH.serviceConnectionObjectId,
    appId: FRESH.serviceConnectionAppId,
    displayName: 'contoso-platform-azure-prod',
    kind: 'application',
  });
  add({
    tenantId: FRESH.tenantId,
    objectId: CONVERGED_IDENTITY.principalId,
    appId: CONVERGED_IDENTITY.clientId,
    displayName: FRESH.identityName,
    kind: 'managedIdentity',
  });

  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'devops-testbed-'));
  const ctx: CloudContext = {
    ca,
    journal,
    faults,
    clock,
    urls,
    state,
    workDir,
    entra: {
      verifyAccessToken(token, audience) {
        const auds = Array.isArray(audience) ? audience : [audience];
        try {
          const claims = verifyJwt(token, { keys: [key.publicJwk] }, { now: clock.nowSeconds() }) as AccessTokenClaims;
          if (claims.iss !== issuer(claims.tid))
            return { ok: false, status: 401, code: 'InvalidAuthenticationTokenTenant', message: 'wrong issuer' };
          if (!auds.includes(claims.aud))
            return {
              ok: false,
              status: 401,
              code: 'InvalidAuthenticationTokenAudience',
              message: `wrong audience ${claims.aud}`,
            };
          return { ok: true, claims };
        } catch (e) {
          const expired = e instanceof JwtError && e.reason === 'expired';
          return {
            ok: false,
            status: 401,
            code: expired ? 'ExpiredAuthenticationToken' : 'InvalidAuthenticationToken',
            message: String(e),
          };
        }
      },
      principal(id) {
        const want = id.toLowerCase();
        return directory.get(want) ?? [...directory.values()].find((p) => p.appId.toLowerCase() === want);
      },
    },
    kube: {
      kubeconfig: () => {
        throw new Error('no kube emulator in the devops test bed');
      },
      clusterUpdated: () => undefined,
    },
    devops: {
      systemAccessToken: () => {
        throw new Error('devops services not started yet');
      },
    },
  };
  const set = await createDevOpsServices(ctx);
  Object.assign(handlers, set.handlers);
  if (set.hooks?.devops) ctx.devops = set.hooks.devops;

  return {
    ctx,
    service: set.service,
    urls,
    orgUrl: `${urls.devops}/${devops.organization.name}`,
    caFile: ca.caCertPath,
    directory,
    entraToken(objectId, o = {}) {
      const now = clock.nowSeconds();
      const tid = o.tenantId ?? FRESH.tenantId;
      const known = directory.get(objectId.toLowerCase());
      const claims: AccessTokenClaims = {
        aud: o.audience ?? AZURE_DEVOPS_RESOURCE_ID,
        iss: issuer(tid),
        iat: now,
        nbf: now,
        exp: now + (o.lifetimeSeconds ?? 3599),
        oid: objectId,
        sub: objectId,
        tid,
        appid: o.appId ?? known?.appId ?? crypto.randomUUID(),
        idtyp: 'app',
        ver: '1.0',
      };
      return signJwt(key, claims);
    },
    systemAccessToken: () => ctx.devops.systemAccessToken(),
    env: () => set.env?.() ?? {},
    async stop() {
      await set.stop?.();
      await Promise.all(hosts.map((h) => h.close()));
      fs.rmSync(workDir, { recursive: true, force: true });
    },
  };
}
