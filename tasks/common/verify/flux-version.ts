/**
 * Flux version from what runs in the cluster: the `app.kubernetes.io/version` label `flux install`
 * puts on every component, else the controller image tags (source-controller 1.N ships in Flux 2.N;
 * image-automation-controller 0.39 ↔ 2.4, 0.40 ↔ 2.5, 0.41 ↔ 2.6, 1.0 ↔ 2.7, 1.N ↔ 2.(N+7)).
 */
import { compareSemVer, formatSemVer, imageTag, parseSemVer, type SemVer } from '../flux/version';
import type { DeploymentFacts } from './model';

export { compareSemVer, formatSemVer };

export const MIN_FLUX: SemVer = { major: 2, minor: 4, patch: 0 };
export const MIN_SOURCE_CONTROLLER: SemVer = { major: 1, minor: 4, patch: 0 };
export const MIN_IMAGE_AUTOMATION: SemVer = { major: 0, minor: 39, patch: 0 };

/** Tag of the first container whose image repository is `<name>` (any registry). */
export function controllerImageTag(dep: DeploymentFacts, name: string): string | undefined {
  for (const c of dep.containers) {
    const repo = c.image.split('@')[0].replace(/:[^/]*$/, '');
    if (repo === name || repo.endsWith(`/${name}`)) return imageTag(c.image);
  }
  return undefined;
}

export interface ControllerVersion {
  controller: string;
  /** Controller version from its image tag. */
  version?: SemVer;
  /** Flux distribution version (label, else derived from the controller version). */
  flux?: SemVer;
  evidence: string;
}

function fluxFromController(controller: string, v: SemVer): SemVer | undefined {
  if (controller === 'source-controller' && v.major === 1) return { major: 2, minor: v.minor, patch: 0 };
  if (controller === 'image-automation-controller') {
    if (v.major === 0 && v.minor >= 36) return { major: 2, minor: v.minor - 35, patch: 0 };
    if (v.major === 1) return { major: 2, minor: v.minor + 7, patch: 0 };
  }
  return undefined;
}

/** Strips a pre-release/build suffix parseSemVer would refuse in a label (`v2.4.0-rc.1` is fine, `2.4` too). */
function parseLoose(text: string | undefined): SemVer | undefined {
  return text ? (parseSemVer(text) ?? parseSemVer(text.replace(/[^0-9.v].*$/, ''))) : undefined;
}

export function controllerVersion(dep: DeploymentFacts, controller: string): ControllerVersion {
  const version = parseLoose(controllerImageTag(dep, controller));
  const labelText = dep.labels['app.kubernetes.io/version'];
  const label = parseLoose(labelText);
  const flux = label ?? (version ? fluxFromController(controller, version) : undefined);
  const image =
    dep.containers.find((c) => c.image.includes(controller))?.image ?? dep.containers[0]?.image ?? '(no container)';
  const parts = [`${controller} image ${image}`];
  if (label) parts.push(`app.kubernetes.io/version ${labelText}`);
  return { controller, version, flux, evidence: parts.join(', ') };
}
