/**
 * The task's Logger: writes through the Platform (task-lib), masks registered secrets itself as
 * well as through `setSecret` (defence in depth: the agent masks too, local runs may not), and
 * records warnings into the report.
 */
import type { Logger } from '../log';
import { maskSecrets, type ReportBuilder } from '../report/builder';
import type { Platform } from './platform';

export class PlatformLogger implements Logger {
  private readonly secrets = new Set<string>();

  constructor(
    private readonly platform: Platform,
    private readonly report?: ReportBuilder,
  ) {}

  /**
   * Registers the secret with the agent before anything else can print it. The agent refuses
   * multi-line secrets (task-lib: "Secrets cannot contain multiple lines"), so a PEM key or a
   * kubeconfig is registered line by line: each line's value part that looks like key material
   * (16+ characters, no spaces), never structural lines such as `apiVersion: v1`.
   */
  secret(value: string): void {
    if (!value || this.secrets.has(value)) return;
    this.secrets.add(value);
    this.report?.registerSecret(value);
    if (!/[\r\n]/.test(value)) {
      this.platform.setSecret(value);
      return;
    }
    for (const part of secretParts(value)) {
      if (this.secrets.has(part)) continue;
      this.secrets.add(part);
      this.platform.setSecret(part);
      this.report?.registerSecret(part);
    }
  }

  /** Replaces registered secrets. */
  mask(text: string): string {
    return maskSecrets(text, this.secrets);
  }

  info(message: string): void {
    this.platform.info(this.mask(message));
  }

  debug(message: string): void {
    this.platform.debug(this.mask(message));
  }

  warn(message: string): void {
    const m = this.mask(message);
    this.platform.warning(m);
    this.report?.warning(m);
  }

  /** An error issue that does not end the run (the result path reports the fatal one). */
  error(message: string): void {
    this.platform.error(this.mask(message));
  }

  progress(message: string, percent?: number): void {
    const m = this.mask(message);
    if (percent !== undefined) this.platform.progress(Math.max(0, Math.min(100, Math.round(percent))), m);
    this.platform.info(m);
  }
}

/**
 * The maskable parts of a multi-line secret: PEM body lines, and the values of `key: value` lines
 * whose key names secret material (token, key, secret, password, credential, assertion, *-data),
 * when they are 16+ characters without spaces. Names and structure stay readable.
 */
export function secretParts(value: string): string[] {
  const parts: string[] = [];
  for (const raw of value.split(/\r?\n/)) {
    const line = raw.trim();
    if (/^-----(BEGIN|END) /.test(line)) continue;
    const m = /^-?\s*([A-Za-z0-9_.-]+):\s+(.*)$/.exec(line);
    if (m && !/token|key|secret|password|credential|assertion|data$/i.test(m[1]!)) continue;
    const v = (m ? m[2]! : line).replace(/^["']|["']$/g, '').trim();
    if (v.length >= 16 && !/\s/.test(v)) parts.push(v);
  }
  return parts;
}
