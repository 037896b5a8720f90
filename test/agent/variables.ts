/**
 * Pipeline variables as the agent keeps them: case-insensitive names where `.` and `_` meet in the
 * environment name (System.CollectionUri <-> SYSTEM_COLLECTIONURI), secret flags, `$(name)` macro
 * expansion (nested, unknown macros left as they are, as Azure Pipelines leaves them), and the
 * environment a step gets (non-secret variables as env, secrets only as SECRET_<NAME> for tasks).
 */
import { variableEnvName } from './agent';

export interface Variable {
  name: string;
  value: string;
  secret: boolean;
  readonly: boolean;
}

const MACRO_RE = /\$\(([A-Za-z0-9_.\- ]+)\)/g;

export class VariableStore {
  private readonly vars = new Map<string, Variable>();

  constructor(parent?: VariableStore) {
    if (parent) for (const [k, v] of parent.vars) this.vars.set(k, { ...v });
  }

  static key(name: string): string {
    return variableEnvName(name);
  }

  set(name: string, value: string, opts: { secret?: boolean; readonly?: boolean } = {}): void {
    const existing = this.vars.get(VariableStore.key(name));
    if (existing?.readonly) throw new Error(`variable '${existing.name}' is read-only`);
    // A variable once secret stays secret (the agent never un-masks a value).
    this.vars.set(VariableStore.key(name), {
      name,
      value,
      secret: Boolean(opts.secret || existing?.secret),
      readonly: Boolean(opts.readonly),
    });
  }

  get(name: string): Variable | undefined {
    return this.vars.get(VariableStore.key(name));
  }

  all(): Variable[] {
    return [...this.vars.values()];
  }

  secrets(): string[] {
    return this.all()
      .filter((v) => v.secret && v.value)
      .map((v) => v.value);
  }

  /** `$(name)` -> value, recursively (a variable's value may itself hold macros); unknown macros stay. */
  expand(text: string, unknown?: (name: string) => void, depth = 0): string {
    if (depth > 10) return text;
    return text.replace(MACRO_RE, (whole, name: string) => {
      const v = this.get(name.trim());
      if (!v) {
        unknown?.(name.trim());
        return whole;
      }
      return this.expand(v.value, unknown, depth + 1);
    });
  }

  /** The step's environment: non-secret variables upper-cased; secrets as SECRET_<NAME> when asked (tasks). */
  env(opts: { secretsAsSecretEnv: boolean }): Record<string, string> {
    const env: Record<string, string> = {};
    for (const v of this.vars.values()) {
      const name = variableEnvName(v.name);
      const value = this.expand(v.value);
      if (!v.secret) env[name] = value;
      else if (opts.secretsAsSecretEnv) env[`SECRET_${name}`] = value;
    }
    return env;
  }
}
