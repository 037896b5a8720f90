/**
 * The real programs for the FluxManifestPatch integration tests: kubectl (its built-in kustomize
 * renders the patched folders) and a fake `flux` executable on disk. The pure builders and the
 * in-process runner are in test/unit/flux-fixtures.ts; `runCore` here runs the core with these tools.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { systemTools, type Tools } from '../../tasks/common/patch/tools';
import { runCore as runCoreWith, type CoreRun } from '../unit/flux-fixtures';

export function kubectlAvailable(): boolean {
  try {
    execFileSync('kubectl', ['version', '--client'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Renders a folder with the real kubectl; returns the output documents as text. */
export function kustomize(dir: string): string {
  return execFileSync('kubectl', ['kustomize', dir], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 64 * 1024 * 1024,
  });
}

/** Tools as on the agent, optionally without kubectl, or with a fake `flux` at `fluxPath`. */
export function tools(opts: { kubectl?: boolean; fluxPath?: string } = {}): Tools {
  return {
    which: (name) => {
      if (name === 'kubectl' && opts.kubectl === false) return undefined;
      if (name === 'flux') return opts.fluxPath;
      return systemTools.which(name);
    },
    exec: systemTools.exec,
  };
}

/** Runs the task core as on the agent: the real kubectl on PATH unless `ctx.tools` says otherwise. */
export function runCore(...[inputs, ctx = {}]: Parameters<typeof runCoreWith>): Promise<CoreRun> {
  return runCoreWith(inputs, { tools: tools(), ...ctx });
}

/** A fake `flux` executable that prints `output` for `flux install --export ...` and records its arguments. */
export function fakeFlux(dir: string, output: string): { path: string; argsFile: string } {
  fs.mkdirSync(dir, { recursive: true });
  const out = path.join(dir, 'flux-output.yaml');
  const argsFile = path.join(dir, 'flux-args.txt');
  fs.writeFileSync(out, output);
  const bin = path.join(dir, 'flux');
  fs.writeFileSync(bin, `#!/bin/sh\necho "$@" >> '${argsFile}'\ncat '${out}'\n`, { mode: 0o755 });
  return { path: bin, argsFile };
}
