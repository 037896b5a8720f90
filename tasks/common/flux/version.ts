/**
 * Versions: semver parsing/comparison and the Flux version of a `gotk-components.yaml`.
 *
 * Flux writes `# Flux Version: vX.Y.Z` and `# Components: a,b,c` at the top of the file. Without
 * the header (hand-assembled or reformatted files) the controller image tags tell: since Flux 2.0,
 * source-controller v1.N ships with Flux v2.N, so the minor is known but not the patch.
 */

export interface SemVer {
  major: number;
  minor: number;
  patch: number;
  pre?: string;
}

export function parseSemVer(text: string): SemVer | undefined {
  const m = /^v?(\d+)\.(\d+)(?:\.(\d+))?(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$/.exec(text.trim());
  if (!m) return undefined;
  return {
    major: Number(m[1]),
    minor: Number(m[2]),
    patch: m[3] === undefined ? 0 : Number(m[3]),
    ...(m[4] ? { pre: m[4] } : {}),
  };
}

export function formatSemVer(v: SemVer): string {
  return `${v.major}.${v.minor}.${v.patch}${v.pre ? `-${v.pre}` : ''}`;
}

/** <0, 0, >0 like a comparator; a pre-release sorts before its release (2.4.0-rc.1 < 2.4.0). */
export function compareSemVer(a: SemVer, b: SemVer): number {
  if (a.major !== b.major) return a.major - b.major;
  if (a.minor !== b.minor) return a.minor - b.minor;
  if (a.patch !== b.patch) return a.patch - b.patch;
  if (a.pre === b.pre) return 0;
  if (a.pre === undefined) return 1;
  if (b.pre === undefined) return -1;
  return a.pre < b.pre ? -1 : 1;
}

export interface FluxVersionInfo {
  /** The Flux version, when known. */
  version?: SemVer;
  /** Where it came from: the header, or an estimate from the source-controller image tag. */
  source: 'header' | 'image' | 'unknown';
  /** With source 'image' only the major.minor are meaningful. */
  minorOnly: boolean;
  /** Components from the `# Components:` header (empty when absent). */
  headerComponents: string[];
}

/** Controller images as `{ controller -> tag }` are passed in from the parsed Deployments. */
export function detectFluxVersion(componentsText: string, imageTags: Record<string, string>): FluxVersionInfo {
  // The header sits in the first lines, before or after the leading `---`.
  const head = componentsText.slice(0, 4096);
  const headerComponents = (/^#\s*Components:\s*(.+)$/m.exec(head)?.[1] ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const header = /^#\s*Flux Version:\s*(\S+)\s*$/m.exec(head);
  if (header) {
    const version = parseSemVer(header[1]);
    if (version) return { version, source: 'header', minorOnly: false, headerComponents };
  }
  const sc = imageTags['source-controller'];
  const scVersion = sc ? parseSemVer(sc) : undefined;
  if (scVersion) {
    // source-controller v1.N <-> Flux v2.N (since Flux 2.0); v0.x belongs to Flux 0.x/1.x.
    const version =
      scVersion.major >= 1
        ? { major: scVersion.major + 1, minor: scVersion.minor, patch: 0 }
        : { major: 0, minor: 0, patch: 0 };
    return { version, source: 'image', minorOnly: true, headerComponents };
  }
  return { source: 'unknown', minorOnly: true, headerComponents };
}

/** Whether `info` satisfies `minimum` (with an image estimate, major.minor decide). */
export function meetsMinimum(info: FluxVersionInfo, minimum: SemVer): boolean {
  if (!info.version) return false;
  if (info.minorOnly)
    return compareSemVer({ ...info.version, patch: 0 }, { ...minimum, patch: 0, pre: undefined }) >= 0;
  return compareSemVer(info.version, minimum) >= 0;
}

/** The tag of an image reference (`ghcr.io/fluxcd/source-controller:v1.4.1[@sha256:...]`). */
export function imageTag(image: string): string | undefined {
  const noDigest = image.split('@')[0];
  const lastSlash = noDigest.lastIndexOf('/');
  const colon = noDigest.indexOf(':', lastSlash + 1);
  return colon >= 0 ? noDigest.slice(colon + 1) : undefined;
}

/** The registry/repository prefix of an image (`ghcr.io/fluxcd`), for `flux install --registry`. */
export function imageRegistry(image: string): string {
  const noTag = image.split('@')[0].replace(/:[^/]*$/, '');
  const lastSlash = noTag.lastIndexOf('/');
  return lastSlash >= 0 ? noTag.slice(0, lastSlash) : '';
}
