// The command-line tools the tests drive, installed with Debian's apt when they are missing:
//   kubectl  renders the flux-system folders (`kubectl kustomize`) and is the conformance suite's
//            Kubernetes client; hosted agents have it, so the tests use the real one.
//   az       Debian's azure-cli, the conformance suite's Azure client (test/integration/conformance).
//
//   node scripts/ensure-tools.mjs      (npm test and .ci/run call it)
//
// It installs only when it can do so without asking (root, or sudo without a password) and says
// what it did. When it cannot, kubectl stops the run with the command to install it (nearly every
// layer needs it), and a missing az is reported: the Azure CLI conformance suite then skips with that
// reason on a workstation and fails in CI (CI=true), where this script must have installed it.
import { spawnSync } from 'node:child_process';

const TOOLS = [
  // `kubectl` comes from Kubernetes' own apt repository (pkgs.k8s.io) or Google's; Debian 12's
  // `kubernetes-client` is 1.20, whose built-in kustomize predates the `patches` field, so it is
  // refused by the version check below rather than installed.
  { command: 'kubectl', versionArgs: ['version', '--client'], packages: ['kubectl'], required: true, minMinor: 27 },
  {
    command: 'az',
    versionArgs: ['version', '--output', 'tsv', '--query', '"azure-cli"'],
    packages: ['azure-cli'],
    required: false,
  },
];

function found(command) {
  return spawnSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' }).status === 0;
}

function version({ command, versionArgs }) {
  const r = spawnSync(command, versionArgs, { encoding: 'utf8' });
  return (r.stdout || r.stderr || '').split('\n')[0].trim();
}

/** The prefix that runs apt-get as root without a prompt, or undefined when there is none. */
function rootPrefix() {
  if (!found('apt-get')) return undefined;
  if (process.getuid?.() === 0) return [];
  if (found('sudo') && spawnSync('sudo', ['-n', 'true']).status === 0) return ['sudo', '-n'];
  return undefined;
}

function aptInstall(prefix, pkg) {
  const run = (args) => {
    const [cmd, ...rest] = [...prefix, ...args];
    return spawnSync(cmd, rest, { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  };
  return run(['apt-get', 'install', '-y', '--no-install-recommends', pkg]).status === 0;
}

let updated = false;
let failed = false;
for (const tool of TOOLS) {
  if (!found(tool.command)) {
    const prefix = rootPrefix();
    if (prefix) {
      console.log(`ensure-tools: ${tool.command} is missing; installing it with apt-get`);
      if (!updated) {
        const [cmd, ...rest] = [...prefix, 'apt-get', 'update'];
        spawnSync(cmd, rest, { stdio: 'inherit' });
        updated = true;
      }
      tool.packages.some((pkg) => aptInstall(prefix, pkg));
    }
  }
  if (found(tool.command)) {
    const v = version(tool);
    const minor = /v?1\.(\d+)\./.exec(v)?.[1];
    if (!tool.minMinor || (minor && Number(minor) >= tool.minMinor)) {
      console.log(`ensure-tools: ${tool.command}: ${v}`);
      continue;
    }
    console.error(
      `ensure-tools: ${tool.command} is ${v}; the tests need 1.${tool.minMinor} or later (kustomize with the \`patches\` field): ` +
        'install a newer one (`az aks install-cli`, or https://kubernetes.io/docs/tasks/tools/), then run the tests again',
    );
    failed = true;
    continue;
  }
  const how =
    tool.command === 'kubectl'
      ? "install kubectl 1.27 or later (`az aks install-cli`, or Kubernetes' apt repository: https://kubernetes.io/docs/tasks/tools/)"
      : `install it with \`sudo apt-get install ${tool.packages.join(' ')}\``;
  if (tool.required) {
    console.error(
      `ensure-tools: ${tool.command} is missing and could not be installed here: ${how}, then run the tests again`,
    );
    failed = true;
  } else {
    const effect = process.env.CI === 'true' ? 'fails in CI' : 'is skipped with this reason';
    console.warn(`ensure-tools: ${tool.command} is missing (${how}); the suite that needs it ${effect}`);
  }
}
process.exit(failed ? 1 : 0);
