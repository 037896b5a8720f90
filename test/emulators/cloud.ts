/**
 * The composed emulated cloud: one CA, eight HTTPS hosts on 127.0.0.1, one state, the services of
 * azure/, devops/ and kube/ (contract: core/service.ts), and the environment a task process needs to
 * run against it as in a pipeline. Used by the agent runner, `npm start`, `npm run cloud` and the
 * e2e tests.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Clock } from './core/clock';
import type { CloudContext, CloudUrls, DevOpsHooks, EntraHooks, HostName, KubeHooks } from './core/context';
import { startEdge, type Edge } from './core/edge';
import { Faults } from './core/faults';
import { startHost, type Handler, type Host } from './core/host';
import { Journal } from './core/journal';
import type { ServiceSet } from './core/service';
import { createTestCa, loadOrCreateTestCa, PUBLIC_DNS_NAMES, publicNamesCertificate } from './core/tls';
import { createAzureServices } from './azure';
import { findCluster } from './azure/clusters';
import type { ApplicationState } from './azure/model';
import { FRESH } from './names';
import { buildScenario, dumpState, HOST_NAMES, loadStateFile, resolvePlaceholders, validateState } from './scenarios';
import { serviceFactory } from './scenarios/modules';
import type { CloudState } from './state';

export interface StartCloudOptions {
  /** Built-in scenario name (default `fresh`). */
  scenario?: string;
  /** A YAML state file (see scenarios/README.md). */
  stateFile?: string;
  /** A state object (cloned; URLs may be `${host}` placeholders or real). */
  state?: CloudState;
  /** Directory of the CA (reused when complete, created otherwise). Default: FLUX_OIDC_TEST_CA_DIR, else a new temp CA. */
  caDir?: string;
  /**
   * A change to the scenario (or state) before any service starts, e.g.
   * `(s) => { s.devops.organization.primaryUrl = 'legacy'; }`; the result is validated like a state file.
   */
  change?: (state: CloudState) => void;
  /** Seed of probabilistic faults (overrides the state's `seed`). */
  seed?: number;
  /**
   * Which service folders to run (default all). A suite that tests one folder's emulator can leave
   * the others out: their hosts still listen but answer 404, and their scenario sections stay empty.
   */
  services?: ('azure' | 'devops' | 'kube')[];
  /**
   * The time scale of the tasks this cloud serves (default FLUX_OIDC_E2E_TIME_SCALE, else 1; the e2e
   * tests use E2E_TIME_SCALE, 0.1): the
   * task environment gets FLUXOIDC_INTERNAL_TIMESCALE (the product's internal variable, which only
   * this local agent sets) and the cloud's clock runs 1/scale times faster, so a task's retries and
   * polls wait a tenth of the wall-clock time they ask for and the cloud sees the time they asked.
   * 1: real time on both sides.
   */
  timeScale?: number;
}

export interface Cloud {
  ctx: CloudContext;
  /** Every environment variable a task process needs to run against this cloud as in a pipeline. */
  env: Record<string, string>;
  /** Service connections by name -> id (the value of a connectedService:AzureRM input). */
  serviceConnections: Record<string, string>;
  /**
   * The edge (core/edge.ts): an HTTP CONNECT proxy URL through which the public names of the
   * cloud (`https://contoso.visualstudio.com/`, `https://dev.azure.com/contoso`, their vssps and
   * vsaex hosts) reach it. `env` carries it as the agent's proxy when the organization's primary
   * URL is the legacy form (devops.organization.primaryUrl: legacy).
   */
  edgeUrl: string;
  /** The live state as YAML. */
  dump(): string;
  stop(): Promise<void>;
}

/** Defaults for the emulated pipeline run; the devops services' env() overrides them with the run they serve. */
export const PIPELINE_RUN = {
  hubName: 'build',
  planId: '4b0e6f3c-9a1d-4c2e-8f5b-7d3a1e9c6b20',
  jobId: '12f1170f-54f2-53f3-20dd-22fc7dff55f9',
  buildId: '1042',
  definitionId: '7',
} as const;

function placeholderKubeconfig(ctx: CloudContext, clusterResourceId: string, kind: 'user' | 'admin'): string {
  // Stand-in when the kube services are left out (startCloud `services`): points at the kube host, which then answers 404.
  const name = findCluster(ctx.state.azure, clusterResourceId)?.cluster.name ?? 'cluster';
  const user = `cluster${kind === 'user' ? 'User' : 'Admin'}_${name}`;
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    `- name: ${name}`,
    '  cluster:',
    `    server: ${ctx.urls.kube}`,
    `    certificate-authority-data: ${Buffer.from(ctx.ca.caCert).toString('base64')}`,
    'contexts:',
    `- name: ${name}`,
    '  context:',
    `    cluster: ${name}`,
    `    user: ${user}`,
    `current-context: ${name}`,
    'users:',
    `- name: ${user}`,
    '  user:',
    '    token: emulator-placeholder-kubeconfig-token',
    '',
  ].join('\n');
}

function connectionApps(state: CloudState): ApplicationState[] {
  return state.azure.tenant.applications.filter((a) => a.serviceConnection);
}

/** ENDPOINT_* of every AzureRM service connection, as the agent sets them (environment data pointing at the emulator). */
function azureRmEnv(ctx: CloudContext): Record<string, string> {
  const env: Record<string, string> = {};
  const azure = ctx.state.azure;
  for (const app of connectionApps(ctx.state)) {
    const sc = app.serviceConnection!;
    const id = sc.id;
    const scheme = sc.scheme ?? 'WorkloadIdentityFederation';
    const sub = azure.subscriptions.find((s) => s.id === sc.subscriptionId) ?? azure.subscriptions[0];
    const params: Record<string, string> = { serviceprincipalid: app.appId, tenantid: azure.tenant.id };
    if (scheme === 'ServicePrincipal') {
      params.authenticationType = 'spnKey';
      params.serviceprincipalkey = app.secrets?.[0]?.value ?? '';
    } else {
      const fic = app.federatedIdentityCredentials?.[0];
      if (fic) {
        params.workloadIdentityFederationIssuer = fic.issuer;
        params.workloadIdentityFederationSubject = fic.subject;
      }
    }
    const armUrl = `${ctx.urls.arm}/`;
    const authority = `${ctx.urls.entra}/`;
    env[`ENDPOINT_URL_${id}`] = armUrl;
    env[`ENDPOINT_AUTH_${id}`] = JSON.stringify({ parameters: params, scheme });
    env[`ENDPOINT_AUTH_SCHEME_${id}`] = scheme;
    for (const [k, v] of Object.entries(params)) env[`ENDPOINT_AUTH_PARAMETER_${id}_${k.toUpperCase()}`] = v;
    const data: Record<string, string> = {
      subscriptionId: sub?.id ?? '',
      subscriptionName: sub?.displayName ?? '',
      environment: 'AzureCloud',
      scopeLevel: 'Subscription',
      creationMode: 'Manual',
      environmentUrl: armUrl,
      resourceManagerUrl: armUrl,
      environmentAuthorityUrl: authority,
      activeDirectoryAuthority: authority,
      activeDirectoryServiceEndpointResourceId: 'https://management.core.windows.net/',
      serviceManagementUrl: 'https://management.core.windows.net/',
      galleryUrl: 'https://gallery.azure.com/',
      azureKeyVaultDnsSuffix: 'vault.azure.net',
      azureKeyVaultServiceEndpointResourceId: 'https://vault.azure.net',
      storageEndpointSuffix: 'core.windows.net',
    };
    for (const [k, v] of Object.entries(data)) env[`ENDPOINT_DATA_${id}_${k.toUpperCase()}`] = v;
  }
  return env;
}

/**
 * Connections of other types that a project also has, as the agent exposes them (ENDPOINT_*): a
 * Kubernetes connection (kubeconfig authorization, scheme `Kubernetes`) and a generic one (basic
 * authentication, scheme `UsernamePassword`). Users pick them by mistake where an Azure Resource
 * Manager connection is expected (Azure DevOps docs, "Service connections": Kubernetes, Generic).
 */
export const OTHER_CONNECTIONS = {
  kubernetes: { name: 'aks-prod-kubeconfig', id: '5d1c6f0e-2b7a-4c39-9e84-1a2b3c4d5e6f' },
  generic: { name: 'artifact-feed', id: '8e7f6a5b-4c3d-4e2f-9a1b-0c9d8e7f6a5b' },
} as const;

function otherConnectionsEnv(ctx: CloudContext): Record<string, string> {
  const env: Record<string, string> = {};
  const add = (
    id: string,
    url: string,
    scheme: string,
    params: Record<string, string>,
    data: Record<string, string>,
  ) => {
    env[`ENDPOINT_URL_${id}`] = url;
    env[`ENDPOINT_AUTH_${id}`] = JSON.stringify({ parameters: params, scheme });
    env[`ENDPOINT_AUTH_SCHEME_${id}`] = scheme;
    for (const [k, v] of Object.entries(params)) env[`ENDPOINT_AUTH_PARAMETER_${id}_${k.toUpperCase()}`] = v;
    for (const [k, v] of Object.entries(data)) env[`ENDPOINT_DATA_${id}_${k.toUpperCase()}`] = v;
  };
  // A kubeconfig of its own: asking the cluster for one here would boot it before a test changes its state.
  const kubeconfig = [
    'apiVersion: v1',
    'kind: Config',
    `clusters: [{ name: aks, cluster: { server: '${ctx.urls.kube}/clusters/aks' } }]`,
    'users: [{ name: reader, user: { token: kubernetes-connection-token-3c9e1f } }]',
    'contexts: [{ name: aks, context: { cluster: aks, user: reader } }]',
    'current-context: aks',
    '',
  ].join('\n');
  add(
    OTHER_CONNECTIONS.kubernetes.id,
    ctx.urls.kube,
    'Kubernetes',
    { kubeconfig },
    { authorizationType: 'Kubeconfig' },
  );
  add(
    OTHER_CONNECTIONS.generic.id,
    'https://pkgs.example.invalid/',
    'UsernamePassword',
    { username: 'feed-reader-7f3e91', password: 'generic-connection-password-5b2d8c' },
    {},
  );
  return env;
}

/** The pipeline variables of the emulated run (the devops services may override any of them). */
function pipelineEnv(ctx: CloudContext): Record<string, string> {
  const collectionUri = `${ctx.urls.devops}/${FRESH.organization}/`;
  const token = ctx.devops.systemAccessToken();
  const { hubName, planId, jobId, buildId, definitionId } = PIPELINE_RUN;
  return {
    NODE_EXTRA_CA_CERTS: ctx.ca.caCertPath,
    SYSTEM_COLLECTIONURI: collectionUri,
    SYSTEM_TEAMFOUNDATIONCOLLECTIONURI: collectionUri,
    SYSTEM_TEAMFOUNDATIONSERVERURI: collectionUri,
    SYSTEM_COLLECTIONID: FRESH.organizationId,
    SYSTEM_TEAMPROJECT: FRESH.project,
    SYSTEM_TEAMPROJECTID: FRESH.projectId,
    SYSTEM_HOSTTYPE: hubName,
    SYSTEM_PLANID: planId,
    SYSTEM_JOBID: jobId,
    SYSTEM_DEFINITIONID: definitionId,
    SYSTEM_OIDCREQUESTURI: `${collectionUri}${FRESH.projectId}/_apis/distributedtask/hubs/${hubName}/plans/${planId}/jobs/${jobId}/oidctoken`,
    SYSTEM_SERVERTYPE: 'Hosted',
    ENDPOINT_URL_SYSTEMVSSCONNECTION: collectionUri,
    ENDPOINT_AUTH_SYSTEMVSSCONNECTION: JSON.stringify({ parameters: { AccessToken: token }, scheme: 'OAuth' }),
    ENDPOINT_AUTH_SCHEME_SYSTEMVSSCONNECTION: 'OAuth',
    ENDPOINT_AUTH_PARAMETER_SYSTEMVSSCONNECTION_ACCESSTOKEN: token,
    BUILD_BUILDID: buildId,
    BUILD_REPOSITORY_NAME: FRESH.repository,
    BUILD_REPOSITORY_ID: FRESH.repositoryId,
    BUILD_REPOSITORY_PROVIDER: 'TfsGit',
    BUILD_REPOSITORY_URI: `${collectionUri}${FRESH.project}/_git/${FRESH.repository}`,
    BUILD_SOURCEBRANCH: `refs/heads/${FRESH.branch}`,
    BUILD_SOURCEBRANCHNAME: FRESH.branch,
  };
}

/**
 * The agent's proxy variables (Agent.ProxyUrl, Agent.ProxyBypassList: regular expressions over
 * the request URL, as the agent stores them; learn.microsoft.com/azure/devops/pipelines/agents/proxy)
 * that send the cloud's public names through its edge and everything at 127.0.0.1 straight to
 * the emulated hosts.
 */
export function edgeProxyEnv(edgeUrl: string): Record<string, string> {
  return { AGENT_PROXYURL: edgeUrl, AGENT_PROXYBYPASSLIST: JSON.stringify(['^https?://127\\.0\\.0\\.1[:/]']) };
}

export async function startCloud(opts: StartCloudOptions = {}): Promise<Cloud> {
  const caDir = opts.caDir ?? process.env.FLUX_OIDC_TEST_CA_DIR;
  const ca = caDir ? loadOrCreateTestCa(caDir) : createTestCa();
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'flux-oidc-cloud-'));
  const journal = new Journal();
  const timeScale = opts.timeScale ?? Number(process.env.FLUX_OIDC_E2E_TIME_SCALE ?? 1);
  if (!(timeScale > 0 && timeScale <= 1)) throw new Error(`timeScale must be in (0, 1], got ${timeScale}`);
  const clock = new Clock(1 / timeScale);
  const faults = new Faults(opts.seed ?? 1);
  const others = (['devops', 'kube'] as const).filter((f) => !opts.services || opts.services.includes(f));

  // Trampolines: every host listens (so every URL is known) before any service exists.
  const handlers: Partial<Record<HostName, Handler>> = {};
  const named = publicNamesCertificate(ca);
  const answersPublicNames = new Set<HostName>(['devops', 'vssps', 'vsaex']);
  const hosts: Host[] = await Promise.all(
    HOST_NAMES.map((name) =>
      startHost({
        name,
        ca,
        journal,
        faults,
        clock,
        requestClientCert: name === 'kube',
        ...(answersPublicNames.has(name) ? { publicNames: { names: PUBLIC_DNS_NAMES, ...named } } : {}),
        handler: async (req, res) => {
          const h = handlers[name];
          return h ? h(req, res) : undefined;
        },
      }),
    ),
  );
  const urls = Object.fromEntries(hosts.map((h) => [h.name, h.url])) as CloudUrls;
  const edge: Edge = await startEdge(urls);
  const sets: ServiceSet[] = [];
  const closeAll = async () => {
    for (const s of sets) await s.stop?.();
    await edge.close();
    await Promise.all(hosts.map((h) => h.close()));
    fs.rmSync(workDir, { recursive: true, force: true });
    // A CA this cloud made for itself goes with it; a shared one (caDir / FLUX_OIDC_TEST_CA_DIR) stays.
    if (!caDir) fs.rmSync(ca.dir, { recursive: true, force: true });
  };

  try {
    let state: CloudState;
    if (opts.state) {
      state = resolvePlaceholders(structuredClone(opts.state), urls);
      await validateState(state, 'the state given to startCloud', others);
    } else if (opts.stateFile) {
      state = await loadStateFile(opts.stateFile, urls, others);
    } else {
      state = await buildScenario(opts.scenario ?? 'fresh', urls, others);
    }
    if (opts.change) {
      opts.change(state);
      await validateState(state, 'the state after startCloud `change`', others);
    }
    if (opts.seed === undefined && state.seed !== undefined) faults.seed(state.seed);
    for (const rule of state.faults ?? []) faults.add(rule);

    const impl: { entra?: EntraHooks; kube?: KubeHooks; devops?: DevOpsHooks } = {};
    const missing = (hook: string, folder: string): never => {
      throw new Error(
        `ctx.${hook} is not available: test/emulators/${folder}/ has not registered it (see core/service.ts).`,
      );
    };
    const ctx: CloudContext = {
      ca,
      journal,
      faults,
      clock,
      urls,
      state,
      workDir,
      entra: {
        verifyAccessToken: (token, audience) =>
          (impl.entra ?? missing('entra', 'azure')).verifyAccessToken(token, audience),
        principal: (id) => (impl.entra ?? missing('entra', 'azure')).principal(id),
      },
      kube: {
        kubeconfig: (id, kind) => (impl.kube ? impl.kube.kubeconfig(id, kind) : placeholderKubeconfig(ctx, id, kind)),
        clusterUpdated: (id) => impl.kube?.clusterUpdated(id),
      },
      devops: {
        // Stand-in when the devops services are left out (startCloud `services`).
        systemAccessToken: () =>
          impl.devops ? impl.devops.systemAccessToken() : 'emulator-placeholder-system-access-token',
      },
    };

    if (!opts.services || opts.services.includes('azure')) sets.push(createAzureServices(ctx));
    for (const folder of others) {
      const factory = await serviceFactory(folder);
      if (factory) sets.push(await factory(ctx));
    }
    for (const s of sets) {
      Object.assign(handlers, s.handlers);
      if (s.hooks?.entra) impl.entra = s.hooks.entra;
      if (s.hooks?.kube) impl.kube = s.hooks.kube;
      if (s.hooks?.devops) impl.devops = s.hooks.devops;
    }

    const env: Record<string, string> = { ...pipelineEnv(ctx), ...azureRmEnv(ctx), ...otherConnectionsEnv(ctx) };
    if (timeScale !== 1) env.FLUXOIDC_INTERNAL_TIMESCALE = String(timeScale);
    for (const s of sets) Object.assign(env, s.env?.() ?? {});
    if (state.devops?.organization?.primaryUrl === 'legacy') Object.assign(env, edgeProxyEnv(edge.url));
    const serviceConnections = Object.fromEntries([
      ...connectionApps(state).map((a) => [a.serviceConnection!.name, a.serviceConnection!.id]),
      ...Object.values(OTHER_CONNECTIONS).map((c) => [c.name, c.id]),
    ]);

    let stopped: Promise<void> | undefined;
    return {
      ctx,
      env,
      serviceConnections,
      edgeUrl: edge.url,
      dump: () => {
        for (const s of sets) s.snapshot?.();
        return dumpState(ctx.state, urls);
      },
      stop: () => (stopped ??= closeAll()),
    };
  } catch (e) {
    await closeAll();
    throw e;
  }
}

/** The time scale the end-to-end tests run the bundled tasks at (see StartCloudOptions.timeScale). */
export const E2E_TIME_SCALE = 0.1;
