/**
 * The composed cloud as its users see it: startCloud's env and service connections, the built-in
 * scenarios, the state file (dump -> load on other ports, validation messages, faults and knobs set
 * from YAML), and `npm run cloud` (first line JSON, runs until SIGTERM).
 */
import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { AzurePipelinesCredential, ClientAssertionCredential, ClientSecretCredential } from '@azure/identity';
import * as k8s from '@kubernetes/client-node';
import { ContainerServiceClient } from '@azure/arm-containerservice';
import { ManagedServiceIdentityClient } from '@azure/arm-msi';
import { OTHER_CONNECTIONS, startCloud, type Cloud } from '../../emulators/cloud';
import { addApp, entraOptions, jwtClaims } from '../../emulators/azure/testing';
import { CONVERGED_IDENTITY } from '../../emulators/azure/scenario';
import { clusterResourceId } from '../../emulators/azure/clusters';
import {
  aksIssuerUrl,
  AZURE_DEVOPS_RESOURCE_ID,
  devopsIssuerUrl,
  FRESH,
  TOKEN_EXCHANGE_AUDIENCE,
} from '../../emulators/names';

const ARM_SCOPE = 'https://management.azure.com/.default';
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'azure-cloud-test-'));

let cloud: Cloud;
// The full composition (azure + devops + kube, whatever exists): the env and the service connection sign-in cross folders.
before(async () => {
  cloud = await startCloud({ scenario: 'converged' });
});
after(async () => {
  await cloud.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

function clients(c: Cloud) {
  const app = addApp(c, { name: 'test-admin', role: 'Contributor' });
  const cred = new ClientSecretCredential(FRESH.tenantId, app.appId, app.secret, entraOptions(c));
  return {
    msi: new ManagedServiceIdentityClient(cred, FRESH.subscriptionId, {
      endpoint: c.ctx.urls.arm,
      credentialScopes: [ARM_SCOPE],
    }),
    aks: new ContainerServiceClient(cred, FRESH.subscriptionId, {
      endpoint: c.ctx.urls.arm,
      credentials: { scopes: [ARM_SCOPE] },
    }),
  };
}

describe('startCloud', () => {
  test('env: the AzureRM service connection points at the emulated ARM and Entra ID', () => {
    const id = FRESH.serviceConnectionId;
    // The AzureRM connection, plus the Kubernetes and generic connections a project also has.
    assert.deepEqual(cloud.serviceConnections, {
      [FRESH.serviceConnectionName]: id,
      ...Object.fromEntries(Object.values(OTHER_CONNECTIONS).map((c) => [c.name, c.id])),
    });
    const env = cloud.env;
    assert.equal(env.NODE_EXTRA_CA_CERTS, cloud.ctx.ca.caCertPath);
    assert.equal(env[`ENDPOINT_URL_${id}`], `${cloud.ctx.urls.arm}/`);
    assert.equal(env[`ENDPOINT_DATA_${id}_ENVIRONMENTAUTHORITYURL`], `${cloud.ctx.urls.entra}/`);
    assert.equal(env[`ENDPOINT_DATA_${id}_SUBSCRIPTIONID`], FRESH.subscriptionId);
    assert.equal(env[`ENDPOINT_DATA_${id}_ENVIRONMENT`], 'AzureCloud');
    assert.equal(env[`ENDPOINT_AUTH_SCHEME_${id}`], 'WorkloadIdentityFederation');
    const auth = JSON.parse(env[`ENDPOINT_AUTH_${id}`]!) as { scheme: string; parameters: Record<string, string> };
    assert.equal(auth.parameters.serviceprincipalid, FRESH.serviceConnectionAppId);
    assert.equal(auth.parameters.tenantid, FRESH.tenantId);
    assert.equal(auth.parameters.workloadIdentityFederationSubject, 'sc://contoso/platform/azure-prod');
    assert.equal(
      auth.parameters.workloadIdentityFederationIssuer,
      devopsIssuerUrl(cloud.ctx.urls['devops-issuer'], FRESH.organizationId),
    );
    for (const k of [
      'SYSTEM_COLLECTIONURI',
      'SYSTEM_TEAMPROJECTID',
      'SYSTEM_OIDCREQUESTURI',
      'SYSTEM_PLANID',
      'SYSTEM_JOBID',
      'ENDPOINT_AUTH_SYSTEMVSSCONNECTION',
      'BUILD_REPOSITORY_NAME',
    ]) {
      assert.ok(env[k], `${k} is set`);
    }
  });

  test('converged: issuer and workload identity on, the identity federates both Flux controllers with the cluster issuer', async () => {
    const { msi, aks } = clients(cloud);
    const cluster = await aks.managedClusters.get(FRESH.resourceGroup, FRESH.clusterName);
    const issuer = aksIssuerUrl(cloud.ctx.urls['aks-issuer'], FRESH.tenantId, FRESH.clusterIssuerId);
    assert.equal(cluster.oidcIssuerProfile?.issuerURL, issuer);
    assert.equal(cluster.securityProfile?.workloadIdentity?.enabled, true);
    const identity = await msi.userAssignedIdentities.get(FRESH.resourceGroup, FRESH.identityName);
    assert.equal(identity.clientId, CONVERGED_IDENTITY.clientId);
    const fics = [];
    for await (const f of msi.federatedIdentityCredentials.list(FRESH.resourceGroup, FRESH.identityName)) fics.push(f);
    assert.deepEqual(
      fics.map((f) => [f.name, f.issuer, f.subject]),
      [
        ['flux-source-controller-aks-prod', issuer, 'system:serviceaccount:flux-system:source-controller'],
        [
          'flux-image-automation-controller-aks-prod',
          issuer,
          'system:serviceaccount:flux-system:image-automation-controller',
        ],
      ],
    );
    assert.equal(cloud.ctx.entra.principal(CONVERGED_IDENTITY.principalId)?.appId, CONVERGED_IDENTITY.clientId);
  });

  test('the AzureRM service connection signs in through the Azure DevOps OIDC issuer (workload identity federation)', async () => {
    const saved = process.env.SYSTEM_OIDCREQUESTURI;
    process.env.SYSTEM_OIDCREQUESTURI = cloud.env.SYSTEM_OIDCREQUESTURI;
    try {
      const cred = new AzurePipelinesCredential(
        FRESH.tenantId,
        FRESH.serviceConnectionAppId,
        FRESH.serviceConnectionId,
        cloud.env.ENDPOINT_AUTH_PARAMETER_SYSTEMVSSCONNECTION_ACCESSTOKEN!,
        entraOptions(cloud),
      );
      const token = await cred.getToken(ARM_SCOPE);
      assert.equal(jwtClaims(token.token).oid, FRESH.serviceConnectionObjectId);
      assert.ok(
        cloud.ctx.journal.count({ service: 'devops-issuer', path: '.well-known/openid-configuration' }) >= 1,
        'Entra fetched the issuer discovery document',
      );
    } finally {
      if (saved === undefined) delete process.env.SYSTEM_OIDCREQUESTURI;
      else process.env.SYSTEM_OIDCREQUESTURI = saved;
    }
  });

  test('converged: a Flux controller service-account token exchanges for an Azure DevOps token as the identity', async () => {
    const kc = new k8s.KubeConfig();
    kc.loadFromString(
      cloud.ctx.kube.kubeconfig(
        clusterResourceId(FRESH.subscriptionId, FRESH.resourceGroup, FRESH.clusterName),
        'admin',
      ),
    );
    const request = await kc.makeApiClient(k8s.CoreV1Api).createNamespacedServiceAccountToken({
      name: 'source-controller',
      namespace: FRESH.fluxNamespace,
      body: { spec: { audiences: [TOKEN_EXCHANGE_AUDIENCE], expirationSeconds: 3600 } },
    });
    const cred = new ClientAssertionCredential(
      FRESH.tenantId,
      CONVERGED_IDENTITY.clientId,
      async () => request.status!.token,
      entraOptions(cloud),
    );
    const token = await cred.getToken(`${AZURE_DEVOPS_RESOURCE_ID}/.default`);
    assert.equal(jwtClaims(token.token).oid, CONVERGED_IDENTITY.principalId);
    assert.equal(jwtClaims(token.token).aud, AZURE_DEVOPS_RESOURCE_ID);
  });

  test('an unknown scenario names the choices', async () => {
    await assert.rejects(startCloud({ scenario: 'nope' }), /Unknown scenario 'nope'\. Use one of: fresh, converged/);
  });
});

describe('state files', () => {
  test('a dump loads into a new cloud on other ports, with changes kept and URLs re-pointed', async () => {
    const { msi } = clients(cloud);
    await msi.userAssignedIdentities.createOrUpdate(FRESH.resourceGroup, 'made-before-dump', {
      location: FRESH.location,
    });
    const file = path.join(tmp, 'dump.yaml');
    fs.writeFileSync(file, cloud.dump());
    assert.match(fs.readFileSync(file, 'utf8'), /issuer: \$\{aks-issuer\}\//);
    const second = await startCloud({ stateFile: file, services: ['azure'] });
    try {
      const rg = second.ctx.state.azure.subscriptions[0]!.resourceGroups[0]!;
      assert.ok(rg.identities.some((i) => i.name === 'made-before-dump'));
      const fic = rg.identities.find((i) => i.name === FRESH.identityName)!.federatedIdentityCredentials[0]!;
      assert.equal(fic.issuer, aksIssuerUrl(second.ctx.urls['aks-issuer'], FRESH.tenantId, FRESH.clusterIssuerId));
      assert.notEqual(second.ctx.urls['aks-issuer'], cloud.ctx.urls['aks-issuer']);
    } finally {
      await second.stop();
    }
  });

  test('an invalid state file is refused with every problem named', async () => {
    const file = path.join(tmp, 'bad.yaml');
    fs.writeFileSync(
      file,
      [
        'azure:',
        '  tenant: { id: not-a-guid, domain: contoso.onmicrosoft.com, applications: [] }',
        '  subscriptions: []',
        '  roleAssignments: [{ principalId: c4d5e6f7-0a1b-4c2d-8e3f-4a5b6c7d8e9f, role: Superuser, scope: /subscriptions/x }]',
        'faults: [{ service: arm, kind: teapot }]',
      ].join('\n'),
    );
    await assert.rejects(startCloud({ stateFile: file, services: ['azure'] }), (e: Error) => {
      assert.match(e.message, new RegExp(`Invalid cloud state in ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
      assert.match(e.message, /azure\.tenant\.id: must be a GUID/);
      assert.match(
        e.message,
        /azure\.roleAssignments\[0\]\.role: unknown role 'Superuser'; use one of: Owner, Contributor, Reader/,
      );
      assert.match(e.message, /faults\[0\]\.kind: 'teapot' is not a fault/);
      return true;
    });
  });

  test('faults, a busy cluster and the token lifetime can be set in the YAML', async () => {
    const file = path.join(tmp, 'knobs.yaml');
    const fresh = await startCloud({ scenario: 'fresh', services: ['azure'] });
    let text: string;
    try {
      text = fresh.dump();
    } finally {
      await fresh.stop();
    }
    text = text
      .replace(
        'faults: []',
        "faults:\n  - { service: arm, method: PUT, path: managedClusters, kind: '503', retryAfter: 0, count: 1 }",
      )
      .replace(
        'provisioningState: Succeeded',
        'provisioningState: Succeeded\n              busy: { operation: Upgrading }',
      )
      .replace('accessTokenLifetimeSeconds: 3599', 'accessTokenLifetimeSeconds: 1200');
    fs.writeFileSync(file, text);
    const c = await startCloud({ stateFile: file, services: ['azure'] });
    try {
      const { aks } = clients(c);
      const cluster = await aks.managedClusters.get(FRESH.resourceGroup, FRESH.clusterName);
      const e = await Promise.resolve(
        aks.managedClusters.createOrUpdate(FRESH.resourceGroup, FRESH.clusterName, cluster),
      ).then(
        () => undefined,
        (err: unknown) => err,
      );
      assert.equal((e as { code?: string }).code, 'OperationNotAllowed');
      const puts = c.ctx.journal.entries({ service: 'arm', method: 'PUT' }).map((x) => x.status);
      assert.deepEqual(puts, [503, 409], 'the injected 503 is retried by the SDK, then the busy cluster answers 409');
      const app = c.ctx.state.azure.tenant.applications.at(-1)!;
      const token = await new ClientSecretCredential(
        FRESH.tenantId,
        app.appId,
        app.secrets![0]!.value,
        entraOptions(c),
      ).getToken(ARM_SCOPE);
      // 1200 s (not the default 3599 s), give or take the request's own duration.
      const lifetimeMs = token.expiresOnTimestamp - Date.now();
      assert.ok(lifetimeMs > 1_100_000 && lifetimeMs < 1_210_000, `token lifetime ${lifetimeMs} ms`);
    } finally {
      await c.stop();
    }
  });
});

describe('npm run cloud', () => {
  test('prints one JSON line with urls, caFile, serviceConnectionId and env, and stops on SIGTERM', async () => {
    const dump = path.join(tmp, 'cli-dump.yaml');
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'test/emulators/cli.ts', '--scenario', 'converged', '--dump', dump],
      {
        cwd: path.resolve(import.meta.dirname, '../../..'),
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const first = await new Promise<string>((resolve, reject) => {
      readline.createInterface({ input: child.stdout! }).once('line', resolve);
      child.once('exit', (code) => reject(new Error(`cli exited early with ${code}`)));
    });
    const info = JSON.parse(first) as {
      urls: Record<string, string>;
      caFile: string;
      serviceConnectionId: string;
      env: Record<string, string>;
    };
    assert.equal(Object.keys(info.urls).length, 8);
    assert.ok(fs.existsSync(info.caFile));
    assert.equal(info.serviceConnectionId, FRESH.serviceConnectionId);
    assert.equal(info.env[`ENDPOINT_URL_${FRESH.serviceConnectionId}`], `${info.urls.arm}/`);
    const code = await new Promise<number | null>((resolve) => {
      child.once('exit', resolve);
      child.kill('SIGTERM');
    });
    assert.equal(code, 0);
    assert.match(fs.readFileSync(dump, 'utf8'), /name: flux-aks-prod/);
  });
});
