/**
 * The agent's side of the logging-command protocol: every `##vso[area.event k=v;...]data` line a
 * task prints, parsed the way microsoft/azure-pipelines-agent parses it (Command.TryParse: the
 * prefix may appear anywhere in the line, properties split on `;`, key=value split on the first
 * `=`, keys case-insensitive, empty values dropped, then %3B %0D %0A %5D and %AZP25 unescaped), plus
 * the `##[group]`-style formatting lines, and the secret masker that turns the raw output into the
 * log a user sees.
 */

export type TaskResult = 'Succeeded' | 'SucceededWithIssues' | 'Failed' | 'Canceled' | 'Skipped';

export type VsoCommand =
  | { kind: 'setvariable'; name: string; value: string; isOutput: boolean; isSecret: boolean; isReadOnly: boolean }
  | { kind: 'setsecret'; value: string }
  | { kind: 'complete'; result: TaskResult; message: string }
  | { kind: 'logissue'; type: 'error' | 'warning'; message: string; properties: Record<string, string> }
  | { kind: 'addattachment'; type: string; name: string; path: string }
  | { kind: 'uploadsummary'; path: string }
  | { kind: 'setprogress'; percent: number; message: string }
  | { kind: 'setendpoint'; id: string; field: string; key: string; value: string }
  | { kind: 'debug'; message: string }
  /** Any other `##vso` command (prependpath, uploadfile, build.*, artifact.*, ...), kept as parsed. */
  | { kind: 'other'; area: string; event: string; properties: Record<string, string>; data: string }
  /** `##[group]`, `##[endgroup]`, `##[section]`, `##[warning]`, `##[error]`, `##[command]`, `##[debug]`. */
  | { kind: 'format'; type: FormatType; text: string };

export type FormatType = 'group' | 'endgroup' | 'section' | 'warning' | 'error' | 'command' | 'debug';

const PREFIX = '##vso[';
const FORMAT_RE = /^##\[(group|endgroup|section|warning|error|command|debug)\](.*)$/i;
const RESULTS: Record<string, TaskResult> = {
  succeeded: 'Succeeded',
  succeededwithissues: 'SucceededWithIssues',
  failed: 'Failed',
  canceled: 'Canceled',
  cancelled: 'Canceled',
  skipped: 'Skipped',
};

/** The agent's unescaping, in the agent's order (the escape mappings first, then the percent sign). */
export function unescapeVso(value: string): string {
  return value
    .replaceAll('%3B', ';')
    .replaceAll('%0D', '\r')
    .replaceAll('%0A', '\n')
    .replaceAll('%5D', ']')
    .replaceAll('%AZP25', '%');
}

/** A raw `##vso` command before typing: area, event, case-insensitive properties, data. */
export interface RawVsoCommand {
  area: string;
  event: string;
  properties: Record<string, string>;
  data: string;
}

export function parseRawVso(line: string): RawVsoCommand | undefined {
  const start = line.indexOf(PREFIX);
  if (start < 0) return undefined;
  const close = line.indexOf(']', start);
  if (close < 0) return undefined;
  const info = line.slice(start + PREFIX.length, close);
  const space = info.indexOf(' ');
  const name = space < 0 ? info : info.slice(0, space);
  const areaEvent = name.split('.').filter(Boolean);
  if (areaEvent.length !== 2) return undefined;
  const properties: Record<string, string> = {};
  if (space > 0) {
    for (const part of info.slice(space + 1).split(';')) {
      const eq = part.indexOf('=');
      if (eq <= 0 || eq === part.length - 1) continue; // the agent drops empty keys and values
      properties[part.slice(0, eq).toLowerCase()] = unescapeVso(part.slice(eq + 1));
    }
  }
  return {
    area: areaEvent[0].toLowerCase(),
    event: areaEvent[1].toLowerCase(),
    properties,
    data: unescapeVso(line.slice(close + 1)),
  };
}

const isTrue = (v: string | undefined): boolean => (v ?? '').toLowerCase() === 'true';

/** Types a raw command; unknown commands stay `other` so nothing a task prints is lost. */
export function typeVso(raw: RawVsoCommand): VsoCommand {
  const p = raw.properties;
  const key = `${raw.area}.${raw.event}`;
  switch (key) {
    case 'task.setvariable':
      return {
        kind: 'setvariable',
        name: p.variable ?? '',
        value: raw.data,
        isOutput: isTrue(p.isoutput),
        isSecret: isTrue(p.issecret),
        isReadOnly: isTrue(p.isreadonly),
      };
    case 'task.setsecret':
      return { kind: 'setsecret', value: raw.data };
    case 'task.complete': {
      // No result property means Succeeded (agent: TaskCompleteCommand).
      const result = p.result === undefined ? 'Succeeded' : RESULTS[p.result.toLowerCase()];
      if (!result) return { kind: 'other', area: raw.area, event: raw.event, properties: p, data: raw.data };
      return { kind: 'complete', result, message: raw.data };
    }
    case 'task.logissue':
    case 'task.issue': {
      const type = (p.type ?? '').toLowerCase();
      if (type !== 'error' && type !== 'warning')
        return { kind: 'other', area: raw.area, event: raw.event, properties: p, data: raw.data };
      return { kind: 'logissue', type, message: raw.data, properties: p };
    }
    case 'task.addattachment':
      return { kind: 'addattachment', type: p.type ?? '', name: p.name ?? '', path: raw.data };
    case 'task.uploadsummary':
      return { kind: 'uploadsummary', path: raw.data };
    case 'task.setprogress':
      return { kind: 'setprogress', percent: Number(p.value ?? 'NaN'), message: raw.data };
    case 'task.setendpoint':
      return { kind: 'setendpoint', id: p.id ?? '', field: p.field ?? '', key: p.key ?? '', value: raw.data };
    case 'task.debug':
      return { kind: 'debug', message: raw.data };
    default:
      return { kind: 'other', area: raw.area, event: raw.event, properties: p, data: raw.data };
  }
}

/** Parses one output line: a `##vso` command, a formatting line, or nothing (plain output). */
export function parseLine(line: string): VsoCommand | undefined {
  const raw = parseRawVso(line);
  if (raw) return typeVso(raw);
  const format = FORMAT_RE.exec(line);
  if (format) return { kind: 'format', type: format[1].toLowerCase() as FormatType, text: format[2] };
  return undefined;
}

/**
 * The agent's secret masker: every registered value is replaced by `***` in every later line
 * (longest value first, so a secret that contains another one is masked whole).
 */
export class SecretMasker {
  private readonly values = new Set<string>();

  add(value: string | undefined): void {
    if (!value) return;
    // A multi-line secret is masked line by line too: log lines never contain a newline.
    this.values.add(value);
    for (const part of value.split(/\r?\n/)) if (part.trim()) this.values.add(part);
  }

  has(value: string): boolean {
    return this.values.has(value);
  }

  mask(text: string): string {
    let out = text;
    for (const v of [...this.values].sort((a, b) => b.length - a.length)) out = out.replaceAll(v, '***');
    return out;
  }
}

/** Endpoint authorization parameters the agent does not mask (MaskingUtil.IsEndpointAuthorizationParametersSecret). */
const NON_SECRET_AUTH_PARAMETERS = new Set([
  'idtoken',
  'role',
  'scope',
  'tenantid',
  'issuedat',
  'expiresat',
  'expiresin',
  'audience',
  'authenticationtype',
  'authorizationtype',
  'accesstokentype',
  'accesstokenfetchingmethod',
  'usewindowssecurity',
  'unsecured',
  'oauthaccesstokenissupplied',
  'completecallbackpayload',
  'acceptuntrustedcertificates',
]);

/** What the agent masks from the start of a step: endpoint secrets and secret variables. */
export function secretsFromEnvironment(env: Record<string, string | undefined>): string[] {
  const out: string[] = [];
  for (const [name, value] of Object.entries(env)) {
    if (!value) continue;
    if (name.startsWith('SECRET_') || name === 'SYSTEM_ACCESSTOKEN') out.push(value);
    else if (name.startsWith('ENDPOINT_AUTH_PARAMETER_')) {
      const key = name.slice(name.lastIndexOf('_') + 1).toLowerCase();
      if (!NON_SECRET_AUTH_PARAMETERS.has(key)) out.push(value);
    } else if (name.startsWith('ENDPOINT_AUTH_') && !name.startsWith('ENDPOINT_AUTH_SCHEME_')) {
      try {
        const auth = JSON.parse(value) as { parameters?: Record<string, unknown> };
        for (const [k, v] of Object.entries(auth.parameters ?? {})) {
          if (typeof v === 'string' && v && !NON_SECRET_AUTH_PARAMETERS.has(k.toLowerCase())) out.push(v);
        }
      } catch {
        // not JSON: the agent would not have produced it; nothing to mask
      }
    }
  }
  return out;
}

/**
 * Renders one output line the way it appears in the step's log: `##vso` commands are consumed
 * (issues become `##[error]`/`##[warning]`, debug becomes `##[debug]` only with System.Debug),
 * everything else is printed, masked.
 */
export function renderLogLine(
  line: string,
  command: VsoCommand | undefined,
  masker: SecretMasker,
  debug: boolean,
): string | undefined {
  if (!command || command.kind === 'format') return masker.mask(line);
  if (command.kind === 'logissue') return masker.mask(`##[${command.type}]${command.message}`);
  if (command.kind === 'debug') return debug ? masker.mask(`##[debug]${command.message}`) : undefined;
  return undefined;
}

const RANK: Record<TaskResult, number> = { Succeeded: 0, SucceededWithIssues: 1, Failed: 2, Canceled: 3, Skipped: 4 };

/** The worse of two results (agent: TaskResultUtil.MergeTaskResults). */
export function mergeResults(a: TaskResult, b: TaskResult): TaskResult {
  return RANK[a] >= RANK[b] ? a : b;
}
