/**
 * The cloud state as a document: the built-in scenarios (composed from each folder's section),
 * loading a YAML state file, validation with messages that name the field and the fix, and the
 * YAML dump. Emulator URLs in the state are written as `${host}` placeholders (`${devops-issuer}`,
 * `${aks-issuer}`, ...), so a dump loads again into a cloud listening on other ports.
 */
import * as fs from 'node:fs';
import YAML from 'yaml';
import type { CloudUrls, HostName } from '../core/context';
import type { FaultKind, FaultRule } from '../core/faults';
import type { ScenarioName } from '../core/service';
import { StateError, type CloudState } from '../state';
import type { DevOpsState } from '../devops/model';
import type { KubeState } from '../kube/model';
import { azureScenario } from '../azure/scenario';
import { scenarioSection } from './modules';
import { buildFleet, parseFleetScenario } from './fleet';

export const SCENARIOS: readonly ScenarioName[] = ['fresh', 'converged'];
export const HOST_NAMES: readonly HostName[] = [
  'entra',
  'arm',
  'devops',
  'vssps',
  'vsaex',
  'devops-issuer',
  'aks-issuer',
  'kube',
];
// Every kind core/faults.ts implements and scenarios/README.md documents.
const FAULT_KINDS: readonly FaultKind[] = ['429', '500', '502', '503', 'reset', 'slow', 'status'];
const FAULT_FIELDS = [
  'service',
  'method',
  'path',
  'kind',
  'retryAfter',
  'delayMs',
  'status',
  'code',
  'message',
  'count',
  'probability',
];

export function isScenarioName(name: string): name is ScenarioName {
  return (SCENARIOS as readonly string[]).includes(name);
}

/** Names `buildScenario` accepts besides SCENARIOS: `fleet`, `fleet:N`, `fleet:N:oidc` (scenarios/fleet.ts). */
export const GENERATED_SCENARIOS = 'fleet, fleet:N (N fresh clusters), fleet:N:oidc (N clusters on OIDC)';

/** A built-in scenario with the live URLs filled in. */
export async function buildScenario(
  name: string,
  urls: CloudUrls,
  folders: readonly ('devops' | 'kube')[] = ['devops', 'kube'],
): Promise<CloudState> {
  const fleet = parseFleetScenario(name);
  if (!fleet && !isScenarioName(name)) {
    throw new StateError(
      `Unknown scenario '${name}'. Use one of: ${SCENARIOS.join(', ')}, ${GENERATED_SCENARIOS}; or load a state file with --state <file>.`,
    );
  }
  const input = { scenario: fleet ? 'fresh' : (name as ScenarioName), urls };
  const devops = folders.includes('devops') ? await scenarioSection('devops') : undefined;
  const kube = folders.includes('kube') ? await scenarioSection('kube') : undefined;
  const state: CloudState = {
    azure: azureScenario.build(input),
    // Empty sections when a folder is left out (startCloud `services`) or has no scenario.ts.
    devops: (devops ? devops.build(input) : {}) as DevOpsState,
    kube: (kube ? kube.build(input) : {}) as KubeState,
    faults: [],
  };
  if (fleet) buildFleet(state, fleet, urls, folders);
  return state;
}

function mapStrings(v: unknown, f: (s: string) => string): unknown {
  if (typeof v === 'string') return f(v);
  if (Array.isArray(v)) return v.map((x) => mapStrings(x, f));
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, mapStrings(x, f)]));
  return v;
}

/** `${arm}` -> https://127.0.0.1:PORT (unknown `${...}` stay as they are). */
export function resolvePlaceholders<T>(doc: T, urls: CloudUrls): T {
  const re = new RegExp(`\\$\\{(${HOST_NAMES.map((h) => h.replace(/-/g, '\\-')).join('|')})\\}`, 'g');
  return mapStrings(doc, (s) => s.replace(re, (_m, h: HostName) => urls[h])) as T;
}

/** https://127.0.0.1:PORT -> `${arm}` (the port must end there, so :4431 never matches :44310). */
export function toPlaceholders<T>(doc: T, urls: CloudUrls): T {
  const pairs = HOST_NAMES.map((h) => ({
    h,
    re: new RegExp(`${urls[h].replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}(?!\\d)`, 'g'),
  }));
  return mapStrings(doc, (s) => pairs.reduce((acc, p) => acc.replace(p.re, `\${${p.h}}`), s)) as T;
}

/** Throws one error listing every problem in the state (field path, what is wrong, the fix). */
export async function validateState(
  state: CloudState,
  source = 'the cloud state',
  folders: readonly ('devops' | 'kube')[] = ['devops', 'kube'],
): Promise<void> {
  const problems: string[] = [];
  if (!state || typeof state !== 'object')
    throw new StateError(
      `${source}: not a mapping; expected top-level keys azure, devops, kube (and optionally faults, seed).`,
    );
  const known = new Set(['azure', 'devops', 'kube', 'faults', 'seed']);
  for (const k of Object.keys(state))
    if (!known.has(k)) problems.push(`${k}: unknown top-level key; use azure, devops, kube, faults, seed`);
  problems.push(...(azureScenario.validate?.(state.azure, state) ?? []));
  for (const folder of folders) {
    const section = await scenarioSection(folder);
    if (section?.validate) problems.push(...section.validate(state[folder], state));
  }
  if (state.seed !== undefined && !Number.isInteger(state.seed)) problems.push('seed: must be an integer');
  if (state.faults !== undefined && !Array.isArray(state.faults)) problems.push('faults: must be a list of rules');
  (Array.isArray(state.faults) ? state.faults : []).forEach((f, i) => problems.push(...faultProblems(f, i)));
  if (problems.length > 0) throw new StateError(`Invalid cloud state in ${source}:\n  - ${problems.join('\n  - ')}`);
}

/** What is wrong with one fault rule (core/faults.ts FaultRule), as `faults[i].field: problem; fix`. */
function faultProblems(f: FaultRule, i: number): string[] {
  const problems: string[] = [];
  const p = `faults[${i}]`;
  if (!f || typeof f !== 'object' || Array.isArray(f)) return [`${p}: expected a rule { service, kind, ... }`];
  for (const k of Object.keys(f))
    if (!FAULT_FIELDS.includes(k)) problems.push(`${p}.${k}: unknown field; use ${FAULT_FIELDS.join(', ')}`);
  const isNumber = (v: unknown): boolean => typeof v === 'number' && Number.isFinite(v);
  if (typeof f.service !== 'string')
    problems.push(`${p}.service: missing; name a host (${HOST_NAMES.join(', ')}) or '*'`);
  else if (f.service !== '*' && !(HOST_NAMES as readonly string[]).includes(f.service))
    problems.push(`${p}.service: '${f.service}' is not a host; use one of ${HOST_NAMES.join(', ')} or '*'`);
  if (!FAULT_KINDS.includes(f.kind))
    problems.push(
      `${p}.kind: '${String(f.kind)}' is not a fault; use one of ${FAULT_KINDS.join(', ')} (quote numbers: '429')`,
    );
  if (f.probability !== undefined && !(isNumber(f.probability) && f.probability >= 0 && f.probability <= 1))
    problems.push(`${p}.probability: must be between 0 and 1`);
  if (f.count !== undefined && !(Number.isInteger(f.count) && f.count >= 0))
    problems.push(`${p}.count: must be an integer >= 0`);
  if (f.kind === 'status' && !(Number.isInteger(f.status) && f.status! >= 100 && f.status! <= 599))
    problems.push(`${p}.status: kind 'status' needs the HTTP status to answer, an integer from 100 to 599 (e.g. 409)`);
  if (f.kind !== 'status' && f.status !== undefined)
    problems.push(`${p}.status: only kind 'status' takes a status; use kind: status`);
  for (const k of ['code', 'message', 'method', 'path'] as const)
    if (f[k] !== undefined && typeof f[k] !== 'string') problems.push(`${p}.${k}: must be a string`);
  for (const k of ['retryAfter', 'delayMs'] as const)
    if (f[k] !== undefined && !(isNumber(f[k]) && f[k]! >= 0)) problems.push(`${p}.${k}: must be a number >= 0`);
  return problems;
}

/** Parses and validates a state document (YAML or JSON text). */
export async function parseState(
  text: string,
  urls: CloudUrls,
  source = 'the state document',
  folders: readonly ('devops' | 'kube')[] = ['devops', 'kube'],
): Promise<CloudState> {
  let doc: unknown;
  try {
    doc = YAML.parse(text);
  } catch (e) {
    throw new StateError(`${source} is not valid YAML: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) {
    throw new StateError(
      `${source} must be a YAML mapping with the keys azure, devops, kube (see test/emulators/scenarios/README.md).`,
    );
  }
  const state = resolvePlaceholders(doc as CloudState, urls);
  state.devops ??= {} as DevOpsState;
  state.kube ??= {} as KubeState;
  await validateState(state, source, folders);
  return state;
}

export async function loadStateFile(
  file: string,
  urls: CloudUrls,
  folders: readonly ('devops' | 'kube')[] = ['devops', 'kube'],
): Promise<CloudState> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new StateError(
      `Cannot read the state file '${file}': ${e instanceof Error ? e.message : String(e)}. Give the path of a YAML state (e.g. one written by --dump).`,
      { cause: e },
    );
  }
  return parseState(text, urls, file, folders);
}

/** The live state as YAML, URLs as placeholders. */
export function dumpState(state: CloudState, urls: CloudUrls): string {
  const header =
    '# Emulated cloud state (test/emulators). ${host} stands for an emulator URL; load with --state <file>.\n';
  return header + YAML.stringify(toPlaceholders(state, urls), { lineWidth: 0 });
}
