/**
 * Loads the run reports of the current pipeline run: lists the build's `fluxoidc-report`
 * attachments, downloads each one and turns it into a Report, or into a problem the page shows
 * ("this report is damaged", "made by a newer version of the extension").
 *
 * It talks to Azure DevOps only through the `ReportHost` it is given (the real one is in
 * sdk-host.ts), so it runs the same in the page and in a Node test with a fake host. It uses no
 * DOM and no SDK.
 */
import { REPORT_ATTACHMENT_TYPE, REPORT_SCHEMA, type Report } from '../../tasks/common/report/model';

/** An entry of `GET {project}/_apis/build/builds/{buildId}/attachments/{type}`. */
export interface AttachmentRef {
  name: string;
  /** `_links.self.href` = …/_apis/build/builds/{buildId}/{timelineId}/{recordId}/attachments/{type}/{name}. */
  _links?: unknown;
}

/** The two calls of azure-devops-extension-api's BuildRestClient this page makes. */
export interface AttachmentClient {
  getAttachments(project: string, buildId: number, type: string): Promise<AttachmentRef[]>;
  getAttachment(
    project: string,
    buildId: number,
    timelineId: string,
    recordId: string,
    type: string,
    name: string,
  ): Promise<ArrayBuffer>;
}

/** What the page needs from Azure DevOps: the run it is shown for and a Build REST client. */
export interface ReportHost {
  /** The project (id) and build (run) id of the page the tab is shown on. */
  context(): Promise<{ project: string; buildId: number }>;
  client(): AttachmentClient;
}

/** One attachment that could not be shown, in the user's terms. */
export interface LoadProblem {
  /** The attachment's name (the task that wrote it). */
  name: string;
  message: string;
}

export interface LoadResult {
  /** Oldest first: the order the tasks ran in. */
  reports: Report[];
  problems: LoadProblem[];
}

/** A failure that leaves nothing to show (the list call failed, no run context). */
export class LoadError extends Error {
  override readonly name = 'LoadError';
}

/** timelineId and recordId of an attachment, from its `_links.self.href`. */
export function attachmentLocation(ref: AttachmentRef): { timelineId: string; recordId: string } | undefined {
  const links = ref._links as { self?: { href?: unknown } } | undefined;
  const href = links?.self?.href;
  if (typeof href !== 'string') return undefined;
  let pathname: string;
  try {
    pathname = new URL(href).pathname;
  } catch {
    return undefined;
  }
  const m = /\/_apis\/build\/builds\/\d+\/([^/]+)\/([^/]+)\/attachments\/[^/]+\/[^/]+\/?$/.exec(pathname);
  if (!m) return undefined;
  try {
    return { timelineId: decodeURIComponent(m[1]), recordId: decodeURIComponent(m[2]) };
  } catch {
    return undefined;
  }
}

export type ParsedReport = { ok: true; report: Report } | { ok: false; problem: string };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

class Damaged extends Error {}

function str(o: Record<string, unknown>, key: string, at: string, required: boolean): void {
  const v = o[key];
  if (v === undefined && !required) return;
  if (typeof v !== 'string') throw new Damaged(`${at}${key} is ${v === undefined ? 'missing' : 'not text'}`);
}

/** An array field; a missing one is read as empty (the renderer never sees undefined). */
function list(o: Record<string, unknown>, key: string, at: string, item: (v: unknown, at: string) => void): void {
  if (o[key] === undefined) {
    o[key] = [];
    return;
  }
  const v = o[key];
  if (!Array.isArray(v)) throw new Damaged(`${at}${key} is not a list`);
  v.forEach((x, i) => item(x, `${at}${key}[${i}]`));
}

function record(v: unknown, at: string, fields: { required: string[]; optional: string[] }): Record<string, unknown> {
  if (!isObject(v)) throw new Damaged(`${at} is not an object`);
  for (const k of fields.required) str(v, k, `${at}.`, true);
  for (const k of fields.optional) str(v, k, `${at}.`, false);
  return v;
}

/**
 * Parses and validates an attachment's text. Every field the page shows is checked to have the
 * type the renderer expects, so a damaged or hand-edited file becomes a message, never a broken
 * page. Values of enumerations (action, status, …) are not restricted: a newer task may add one,
 * and the renderer shows unknown ones as plain text.
 */
export function parseReport(text: string): ParsedReport {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    return {
      ok: false,
      problem: `The report is not valid JSON, so it cannot be shown (${e instanceof Error ? e.message : String(e)}). The file may have been cut off while it was uploaded; re-run the task.`,
    };
  }
  if (!isObject(data) || typeof data.schema !== 'string') {
    return { ok: false, problem: `This attachment is not a Flux OIDC run report (it has no "schema" field).` };
  }
  if (data.schema !== REPORT_SCHEMA) {
    if (data.schema.startsWith('fluxoidc-report/')) {
      return {
        ok: false,
        problem: `This report has format "${data.schema}", which this version of the results tab cannot show (it shows "${REPORT_SCHEMA}"). Update the Flux OIDC extension in the organization to its latest version.`,
      };
    }
    return { ok: false, problem: `This attachment is not a Flux OIDC run report (its format is "${data.schema}").` };
  }
  try {
    for (const k of ['task', 'mode']) str(data, k, '', true);
    for (const k of ['version', 'started', 'finished', 'result', 'message']) str(data, k, '', false);
    list(data, 'resources', '', (r, at) => {
      const res = record(r, at, { required: ['kind', 'name', 'action', 'status'], optional: ['note'] });
      list(res, 'changes', `${at}.`, (c, cat) => record(c, cat, { required: ['field'], optional: ['from', 'to'] }));
    });
    list(data, 'checks', '', (c, at) =>
      record(c, at, { required: ['id', 'title', 'status'], optional: ['evidence', 'cause', 'fix'] }),
    );
    list(data, 'warnings', '', (w, at) => {
      if (typeof w !== 'string') throw new Damaged(`${at} is not text`);
    });
    list(data, 'errors', '', (w, at) => {
      if (typeof w !== 'string') throw new Damaged(`${at} is not text`);
    });
    if (data.outputs === undefined) data.outputs = {};
    if (!isObject(data.outputs)) throw new Damaged('outputs is not an object');
    for (const [k, v] of Object.entries(data.outputs))
      if (typeof v !== 'string') throw new Damaged(`outputs.${k} is not text`);
  } catch (e) {
    if (e instanceof Damaged) return { ok: false, problem: `The report is damaged and cannot be shown: ${e.message}.` };
    throw e;
  }
  return { ok: true, report: data as unknown as Report };
}

function decode(content: ArrayBuffer | string): string {
  // The REST client returns an ArrayBuffer for octet-stream; TextDecoder drops a UTF-8 BOM.
  return typeof content === 'string' ? content : new TextDecoder('utf-8').decode(content);
}

function messageOf(e: unknown): string {
  if (e instanceof Error && e.message) return e.message;
  if (isObject(e) && typeof e.message === 'string') return e.message;
  return String(e);
}

function startedAt(r: Report): number {
  const t = Date.parse(r.started);
  return Number.isNaN(t) ? Number.MAX_SAFE_INTEGER : t;
}

export async function loadReports(host: ReportHost): Promise<LoadResult> {
  let project: string;
  let buildId: number;
  try {
    ({ project, buildId } = await host.context());
  } catch (e) {
    throw new LoadError(
      `This tab shows the reports of a pipeline run, but the run could not be identified: ${messageOf(e)}`,
    );
  }
  const client = host.client();
  let refs: AttachmentRef[];
  try {
    const listed: unknown = await client.getAttachments(project, buildId, REPORT_ATTACHMENT_TYPE);
    // noArrayWrap=true (the client's default) returns a bare array; accept the wrapped form too.
    refs = Array.isArray(listed)
      ? listed
      : isObject(listed) && Array.isArray(listed.value)
        ? (listed.value as AttachmentRef[])
        : [];
  } catch (e) {
    throw new LoadError(`Could not list the run's reports (build ${buildId}): ${messageOf(e)}`);
  }

  const problems: LoadProblem[] = [];
  const loaded = await Promise.all(
    refs.map(async (ref): Promise<Report | undefined> => {
      const name = typeof ref?.name === 'string' ? ref.name : '(unnamed)';
      const where = attachmentLocation(ref);
      if (!where) {
        problems.push({
          name,
          message: 'The attachment has no download link that names its timeline record, so it cannot be downloaded.',
        });
        return undefined;
      }
      let text: string;
      try {
        text = decode(
          await client.getAttachment(project, buildId, where.timelineId, where.recordId, REPORT_ATTACHMENT_TYPE, name),
        );
      } catch (e) {
        problems.push({ name, message: `Could not download the report: ${messageOf(e)}` });
        return undefined;
      }
      const parsed = parseReport(text);
      if (!parsed.ok) {
        problems.push({ name, message: parsed.problem });
        return undefined;
      }
      return parsed.report;
    }),
  );
  const reports = loaded.filter((r): r is Report => r !== undefined);
  reports.sort((a, b) => startedAt(a) - startedAt(b));
  problems.sort((a, b) => a.name.localeCompare(b.name));
  return { reports, problems };
}
