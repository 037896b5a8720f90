/**
 * Finds the devops/ and kube/ folders' contributions (service factory, scenario section) by the
 * file and export names agreed in core/service.ts. They are loaded only when the file exists, so
 * the cloud runs while those folders are still being written; once a file exists, any error in it
 * surfaces (it is not swallowed).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ScenarioSection, ServiceFactory } from '../core/service';

const EMULATORS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export type Folder = 'devops' | 'kube';

async function load(folder: Folder, file: string): Promise<Record<string, unknown> | undefined> {
  const base = path.join(EMULATORS, folder, file);
  if (!['.ts', '.js', '.mts', '.mjs'].some((ext) => fs.existsSync(base + ext))) return undefined;
  return (await import(`../${folder}/${file}`)) as Record<string, unknown>;
}

const FACTORY: Record<Folder, string> = { devops: 'createDevOpsServices', kube: 'createKubeServices' };
const SECTION: Record<Folder, string> = { devops: 'devopsScenario', kube: 'kubeScenario' };

/** `createDevOpsServices` from devops/index.ts / `createKubeServices` from kube/index.ts, if written yet. */
export async function serviceFactory(folder: Folder): Promise<ServiceFactory | undefined> {
  const mod = await load(folder, 'index');
  if (!mod) return undefined;
  const f = mod[FACTORY[folder]];
  if (typeof f !== 'function')
    throw new Error(
      `test/emulators/${folder}/index.ts must export function ${FACTORY[folder]}(ctx) (see core/service.ts)`,
    );
  return f as ServiceFactory;
}

/** `devopsScenario` from devops/scenario.ts / `kubeScenario` from kube/scenario.ts, if written yet. */
export async function scenarioSection(folder: Folder): Promise<ScenarioSection<unknown> | undefined> {
  const mod = await load(folder, 'scenario');
  if (!mod) return undefined;
  const s = mod[SECTION[folder]] as ScenarioSection<unknown> | undefined;
  if (!s || typeof s.build !== 'function')
    throw new Error(
      `test/emulators/${folder}/scenario.ts must export const ${SECTION[folder]}: ScenarioSection (see core/service.ts)`,
    );
  return s;
}
