/**
 * The task's Logger: writes through the Platform (task-lib), masks registered secrets itself as
 * well as through `setSecret` (defence in depth: the agent masks too, local runs may not), and
 * records warnings into the report.
 */
import type { Logger } from '../log';
import type { ReportBuilder } from '../report/builder';
import type { Platform } from './platform';

export class PlatformLogger implements Logger {
  private readonly secrets = new Set<string>();

  constructor(private readonly platform: Platform, private readonly report?: ReportBuilder) {}

  /** Registers the secret with the agent before anything else can print it. */
  secret(value: string): void {
    if (!value || this.secrets.has(value)) return;
    this.secrets.add(value);
    this.platform.setSecret(value);
    // PEM keys and kubeconfigs: mask each significant line too, as a log line may show only a part.
    for (const line of value.split(/\r?\n/).map((l) => l.trim())) {
      if (line.length >= 8 && line !== value && !/^-----(BEGIN|END) /.test(line) && !this.secrets.has(line)) {
        this.secrets.add(line);
        this.platform.setSecret(line);
      }
    }
    this.report?.registerSecret(value);
  }

  /** Replaces registered secrets, longest first. */
  mask(text: string): string {
    let out = text;
    for (const s of [...this.secrets].sort((a, b) => b.length - a.length)) out = out.split(s).join('***');
    return out;
  }

  info(message: string): void { this.platform.info(this.mask(message)); }

  debug(message: string): void { this.platform.debug(this.mask(message)); }

  warn(message: string): void {
    const m = this.mask(message);
    this.platform.warning(m);
    this.report?.warning(m);
  }

  /** An error issue that does not end the run (the result path reports the fatal one). */
  error(message: string): void { this.platform.error(this.mask(message)); }

  progress(message: string, percent?: number): void {
    const m = this.mask(message);
    if (percent !== undefined) this.platform.progress(Math.max(0, Math.min(100, Math.round(percent))), m);
    this.platform.info(m);
  }
}
