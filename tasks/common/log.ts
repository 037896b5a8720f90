/**
 * The one logging interface the domain modules (azure/, devops/, kube/, flux/, plan/) see.
 * The pipeline adapter implements it over task-lib; tests implement it with an array.
 * Domain modules never import task-lib.
 */
export interface Logger {
  info(message: string): void;
  warn(message: string): void;
  debug(message: string): void;
  /** Progress of a long wait (an LRO, a reconcile); percent is 0..100 when known. */
  progress(message: string, percent?: number): void;
  /** Registers a value (token, assertion, kubeconfig) to be masked in every later log line. */
  secret(value: string): void;
}

/** A Logger that records everything: for tests and for the report. */
export class MemoryLogger implements Logger {
  readonly lines: { level: 'info' | 'warn' | 'debug' | 'progress'; message: string; percent?: number }[] = [];
  readonly secrets = new Set<string>();
  info(message: string): void {
    this.lines.push({ level: 'info', message });
  }
  warn(message: string): void {
    this.lines.push({ level: 'warn', message });
  }
  debug(message: string): void {
    this.lines.push({ level: 'debug', message });
  }
  progress(message: string, percent?: number): void {
    this.lines.push({ level: 'progress', message, percent });
  }
  secret(value: string): void {
    if (value) this.secrets.add(value);
  }
  text(): string {
    return this.lines.map((l) => l.message).join('\n');
  }
}

export const silentLogger: Logger = {
  info() {},
  warn() {},
  debug() {},
  progress() {},
  secret() {},
};
