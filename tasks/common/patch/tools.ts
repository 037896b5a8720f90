/**
 * The external programs this task uses, found on PATH like a shell would: `kubectl` (renders the
 * patched folder with its built-in kustomize) and, when asked to regenerate gotk-components.yaml,
 * `flux`. Injected into the core so tests can hide or fake them.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface Tools {
  /** The absolute path of an executable on PATH, or undefined. */
  which(name: string): string | undefined;
  exec(file: string, args: readonly string[], opts: { cwd?: string; timeoutMs: number }): Promise<ExecResult>;
}

export function which(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const exts = process.platform === 'win32' ? (env.PATHEXT ?? '.EXE;.CMD;.BAT').split(';').filter(Boolean) : [''];
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    for (const ext of exts) {
      const candidate = path.join(dir, name + ext);
      try {
        fs.accessSync(candidate, fs.constants.X_OK);
        if (fs.statSync(candidate).isFile()) return candidate;
      } catch {
        // not here
      }
    }
  }
  return undefined;
}

export const systemTools: Tools = {
  which: (name) => which(name),
  exec: (file, args, opts) =>
    new Promise((resolve) => {
      execFile(
        file,
        [...args],
        { cwd: opts.cwd, timeout: opts.timeoutMs, maxBuffer: 256 * 1024 * 1024, encoding: 'utf8', windowsHide: true },
        (err, stdout, stderr) => {
          const code = err
            ? typeof (err as { code?: unknown }).code === 'number'
              ? (err as { code: number }).code
              : 1
            : 0;
          resolve({ code, stdout, stderr: stderr || (err && code !== 0 && !stderr ? err.message : '') });
        },
      );
    }),
};
