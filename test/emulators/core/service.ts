/**
 * The contract between `startCloud` (test/emulators/cloud.ts) and each service folder
 * (azure/, devops/, kube/). A folder exports a factory (these exact file and export names:
 * cloud.ts imports them):
 *
 *   azure/index.ts    export function createAzureServices(ctx: CloudContext): ServiceSet
 *   devops/index.ts   export function createDevOpsServices(ctx: CloudContext): ServiceSet | Promise<ServiceSet>
 *   kube/index.ts     export function createKubeServices(ctx: CloudContext): ServiceSet | Promise<ServiceSet>
 *
 * and its part of the built-in scenarios:
 *
 *   azure/scenario.ts    export const azureScenario: ScenarioSection<AzureState>
 *   devops/scenario.ts   export const devopsScenario: ScenarioSection<DevOpsState>
 *   kube/scenario.ts     export const kubeScenario: ScenarioSection<KubeState>
 *
 * Order inside startCloud: CA -> all eight hosts listening (each with a trampoline handler, so every
 * URL in ctx.urls is known) -> state built/loaded (section builders get the URLs) -> factories called
 * with the complete ctx -> handlers and hooks plugged in -> env computed. Hooks on ctx
 * (ctx.entra / ctx.kube / ctx.devops) are trampolines too: calling one before the owning folder
 * registered it gets a clear "not provided" error (or a documented placeholder), never undefined.
 */
import type { CloudContext, CloudUrls, DevOpsHooks, EntraHooks, HostName, KubeHooks } from './context';
import type { Handler } from './host';
import type { CloudState } from '../state';

/** What one service folder contributes to the running cloud. */
export interface ServiceSet {
  /** Request handlers for the hosts this folder serves (a host nobody serves answers 404). */
  handlers: Partial<Record<HostName, Handler>>;
  /** The in-process hooks this folder implements (azure: entra; kube: kube; devops: devops). */
  hooks?: { entra?: EntraHooks; kube?: KubeHooks; devops?: DevOpsHooks };
  /**
   * Environment variables this folder adds to Cloud.env, merged over the defaults cloud.ts
   * computes (devops: SYSTEM_COLLECTIONURI, SYSTEM_OIDCREQUESTURI, SYSTEM_PLANID, SYSTEM_JOBID,
   * ENDPOINT_*_SYSTEMVSSCONNECTION, BUILD_REPOSITORY_*, ... when it wants other values than the
   * defaults). Called once, after every factory has run.
   */
  env?(): Record<string, string>;
  /**
   * Writes into the state what the folder keeps elsewhere (devops: Git content as bundles), so that
   * Cloud.dump() captures it. Called before every dump.
   */
  snapshot?(): void;
  /** Releases timers, child processes, temp files. Called by Cloud.stop() before the hosts close. */
  stop?(): Promise<void> | void;
}

export type ServiceFactory = (ctx: CloudContext) => ServiceSet | Promise<ServiceSet>;

/** Built-in scenario names (see test/emulators/scenarios/). */
export type ScenarioName = 'fresh' | 'converged';

export interface ScenarioInput {
  scenario: ScenarioName;
  /**
   * The live host URLs. Values that embed a URL (issuer URLs, clone URLs) may use them directly:
   * `dump()` writes every live URL back as `${host}` (e.g. `${devops-issuer}/a0c4...`) and loading
   * a state file substitutes them again, so a dumped state can be loaded by a later cloud on
   * other ports.
   */
  urls: CloudUrls;
}

/** A folder's part of the built-in scenarios and of state validation. */
export interface ScenarioSection<T> {
  /** The section for a built-in scenario (a new object each call: the cloud mutates it). */
  build(input: ScenarioInput): T;
  /**
   * Problems in a loaded section, one line each, naming the field path and the fix
   * (e.g. "devops.projects[0].name: missing; give the project a name"). Empty when valid.
   * `root` is the whole state, for cross-section checks.
   */
  validate?(section: T, root: CloudState): string[];
}
