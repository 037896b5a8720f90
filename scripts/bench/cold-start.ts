/**
 * Cold start of each bundled task: from spawning `node main.js` (as the agent does) to the task's
 * first network connection. Every URL the task can reach (ARM, Entra, the OIDC request URI, the
 * Azure DevOps organization) points at one local TCP listener that records when the first
 * connection arrives; the process is then killed. That isolates startup (module load, input
 * validation, credential setup) from the emulated cloud's speed. A task that ends without any
 * connection is reported as "exited" with its run time instead.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { agentBaseEnv, expandEnvMacros, inputEnvName, readTaskJson, resolveInputs } from '../../test/agent/agent';
import { parseLine } from '../../test/agent/vso';
import { FRESH } from '../../test/emulators/names';
import { median, type BenchEntry } from './types';

const CONNECTION_ID = FRESH.serviceConnectionId;

/** The environment of a pipeline job whose every endpoint is `base` (https://127.0.0.1:port). */
function agentEnv(base: string): Record<string, string> {
  const id = CONNECTION_ID;
  const collection = `${base}/${FRESH.organization}/`;
  return {
    SYSTEM_COLLECTIONURI: collection,
    SYSTEM_TEAMFOUNDATIONCOLLECTIONURI: collection,
    SYSTEM_TEAMPROJECT: FRESH.project,
    SYSTEM_TEAMPROJECTID: FRESH.projectId,
    SYSTEM_PLANID: '11111111-2222-3333-4444-555555555555',
    SYSTEM_JOBID: '66666666-7777-8888-9999-000000000000',
    SYSTEM_OIDCREQUESTURI: `${collection}${FRESH.projectId}/_apis/distributedtask/hubs/build/plans/11111111-2222-3333-4444-555555555555/jobs/66666666-7777-8888-9999-000000000000/oidctoken`,
    BUILD_REPOSITORY_NAME: FRESH.repository,
    BUILD_REPOSITORY_ID: FRESH.repositoryId,
    BUILD_SOURCEBRANCH: `refs/heads/${FRESH.branch}`,
    BUILD_SOURCEBRANCHNAME: FRESH.branch,
    ENDPOINT_URL_SYSTEMVSSCONNECTION: collection,
    ENDPOINT_AUTH_SYSTEMVSSCONNECTION: JSON.stringify({
      scheme: 'OAuth',
      parameters: { AccessToken: 'bench-access-token' },
    }),
    ENDPOINT_AUTH_SCHEME_SYSTEMVSSCONNECTION: 'OAuth',
    ENDPOINT_AUTH_PARAMETER_SYSTEMVSSCONNECTION_ACCESSTOKEN: 'bench-access-token',
    [`ENDPOINT_URL_${id}`]: `${base}/`,
    [`ENDPOINT_AUTH_${id}`]: JSON.stringify({
      scheme: 'WorkloadIdentityFederation',
      parameters: { serviceprincipalid: FRESH.serviceConnectionAppId, tenantid: FRESH.tenantId },
    }),
    [`ENDPOINT_AUTH_SCHEME_${id}`]: 'WorkloadIdentityFederation',
    [`ENDPOINT_AUTH_PARAMETER_${id}_SERVICEPRINCIPALID`]: FRESH.serviceConnectionAppId,
    [`ENDPOINT_AUTH_PARAMETER_${id}_TENANTID`]: FRESH.tenantId,
    [`ENDPOINT_DATA_${id}_SUBSCRIPTIONID`]: FRESH.subscriptionId,
    [`ENDPOINT_DATA_${id}_SUBSCRIPTIONNAME`]: FRESH.subscriptionName,
    [`ENDPOINT_DATA_${id}_ENVIRONMENT`]: 'AzureCloud',
    [`ENDPOINT_DATA_${id}_ENVIRONMENTAUTHORITYURL`]: `${base}/`,
    [`ENDPOINT_DATA_${id}_RESOURCEMANAGERURL`]: `${base}/`,
    [`ENDPOINT_DATA_${id}_ACTIVEDIRECTORYSERVICEENDPOINTRESOURCEID`]: 'https://management.core.windows.net/',
  };
}

/**
 * Inputs that get each task past validation to its first call. The task engineers own these
 * lines: when a task's inputs change, keep its entry valid.
 */
const INPUTS: Record<string, Record<string, string>> = {
  FluxOidcProvision: {
    azureSubscription: CONNECTION_ID,
    resourceGroup: FRESH.resourceGroup,
    clusterName: FRESH.clusterName,
  },
  FluxManifestPatch: {
    fluxSystemPath: 'clusters/prod/flux-system',
    clientId: '00000000-0000-4000-8000-000000000001',
    commitMode: 'push',
  },
  FluxOidcVerify: {
    azureSubscription: CONNECTION_ID,
    resourceGroup: FRESH.resourceGroup,
    clusterName: FRESH.clusterName,
  },
};

/**
 * A working directory holding a checkout-like copy of the emulated `fleet` repository (its seed,
 * with clusters/prod/flux-system), or, until that seed exists, a public flux-system fixture.
 */
function workDir(root: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-work-'));
  const seed = path.join(root, 'test', 'emulators', 'devops', 'seed', 'fleet');
  if (fs.existsSync(path.join(seed, 'clusters', 'prod', 'flux-system', 'gotk-sync.yaml'))) {
    fs.cpSync(seed, dir, { recursive: true });
    return dir;
  }
  const src = path.join(root, 'test', 'fixtures', 'flux-real', 'fluxcd__flux2-kustomize-helm-example__production');
  const dst = path.join(dir, 'clusters', 'prod', 'flux-system');
  fs.mkdirSync(dst, { recursive: true });
  for (const f of fs.readdirSync(src)) {
    if (fs.statSync(path.join(src, f)).isFile())
      fs.copyFileSync(path.join(src, f), path.join(dst, f.replace('.first30', '')));
  }
  return dir;
}

interface Sample {
  ms: number;
  event: 'first request' | 'exited' | 'timeout';
  why?: string;
  /** CPU time (user + system) the task had used at its first request; Linux only (/proc). */
  cpuMs?: number;
}

/**
 * CPU time used so far by a process, from /proc/<pid>/stat (utime + stime, in clock ticks of
 * 10 ms): less sensitive than wall time to other work on a shared machine. Undefined elsewhere.
 */
function cpuMsOf(pid: number | undefined): number | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start at state (field 3).
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) * 10; // utime, stime (fields 14, 15); CLK_TCK 100
  } catch {
    return undefined;
  }
}

async function once(taskDir: string, inputs: Record<string, string>, cwd: string): Promise<Sample> {
  const server = net.createServer();
  let first: number | undefined;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  const temp = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-temp-'));
  const task = readTaskJson(taskDir);
  const env: Record<string, string> = {
    ...agentBaseEnv({ workDir: cwd, tempDir: temp }),
    ...agentEnv(`https://127.0.0.1:${port}`),
  };
  for (const [k, v] of Object.entries(resolveInputs(task, inputs).inputs))
    env[inputEnvName(k)] = expandEnvMacros(v, env);

  const started = performance.now();
  const child = spawn(process.execPath, [path.join(taskDir, task.execution!.Node20_1!.target)], {
    cwd,
    env,
    stdio: ['ignore', 'pipe', 'ignore'],
    detached: true,
  });
  // When a task ends without any request, its last error says why (shown in the table).
  let why: string | undefined;
  let pending = '';
  child.stdout.on('data', (c: Buffer) => {
    const lines = (pending + c.toString('utf8')).split('\n');
    pending = lines.pop() ?? '';
    for (const l of lines) {
      const cmd = parseLine(l);
      if (cmd?.kind === 'logissue' && cmd.type === 'error') why = cmd.message;
    }
  });
  const killChild = (): void => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      /* gone */
    }
  };
  let timer: NodeJS.Timeout | undefined;
  const sample = await new Promise<Sample>((resolve) => {
    server.on('connection', (socket) => {
      if (first === undefined) {
        first = performance.now();
        const cpuMs = cpuMsOf(child.pid);
        resolve({ ms: first - started, event: 'first request', ...(cpuMs !== undefined ? { cpuMs } : {}) });
        killChild();
      }
      socket.destroy();
    });
    child.on('close', () => resolve({ ms: performance.now() - started, event: 'exited', why }));
    timer = setTimeout(() => {
      killChild();
      resolve({ ms: performance.now() - started, event: 'timeout' });
    }, 30_000);
  });
  clearTimeout(timer);
  await new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.on('exit', () => resolve());
  });
  server.close();
  fs.rmSync(temp, { recursive: true, force: true });
  return sample;
}

export const coldStart: BenchEntry = {
  name: 'cold start',
  async run(ctx) {
    const rows = [];
    for (const taskDir of ctx.taskDirs) {
      const name = path.basename(taskDir);
      const cwd = workDir(ctx.root);
      try {
        await once(taskDir, INPUTS[name] ?? {}, cwd); // warm-up: file cache, not counted
        const samples: Sample[] = [];
        for (let i = 0; i < ctx.runs; i++) samples.push(await once(taskDir, INPUTS[name] ?? {}, cwd));
        const events = [...new Set(samples.map((s) => (s.why ? `${s.event} (${s.why.slice(0, 120)})` : s.event)))];
        const ms = samples.map((s) => s.ms);
        const cpu = samples.flatMap((s) => (s.cpuMs !== undefined ? [s.cpuMs] : []));
        const cpuNote = cpu.length === samples.length ? `, CPU ${median(cpu).toFixed(0)} ms` : '';
        ctx.log(`${name}: ${ms.map((m) => m.toFixed(0)).join(', ')} ms (${events.join('/')})`);
        rows.push({
          metric: `${name} cold start`,
          value: median(ms),
          unit: 'ms' as const,
          detail: `to ${events.join('/')}; median of ${ctx.runs}, min ${Math.min(...ms).toFixed(0)}, max ${Math.max(...ms).toFixed(0)}${cpuNote}`,
        });
      } finally {
        fs.rmSync(cwd, { recursive: true, force: true });
      }
    }
    // The floor every Node task pays on this machine, for comparison.
    const node: number[] = [];
    for (let i = 0; i < ctx.runs; i++) {
      const t = performance.now();
      await new Promise<void>((resolve) =>
        spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' }).on('exit', () => resolve()),
      );
      node.push(performance.now() - t);
    }
    rows.push({
      metric: 'node -e 0 (baseline)',
      value: median(node),
      unit: 'ms' as const,
      detail: `median of ${ctx.runs}`,
    });
    return rows;
  },
};
