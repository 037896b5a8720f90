/**
 * The results tab's data side, in Node (no browser): where an attachment is (from its link),
 * which attachment texts are reports, how the loader turns a run's attachments into reports and
 * problems through a fake Azure DevOps host, and how a failure message is split into cause/fix.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeError } from '../../tasks/common/pipeline/errors';
import { InputError } from '../../tasks/common/pipeline/inputs';
import { UserError } from '../../tasks/common/errors';
import type { Report } from '../../tasks/common/report/model';
import {
  attachmentLocation,
  LoadError,
  loadReports,
  parseReport,
  type AttachmentClient,
  type AttachmentRef,
  type ReportHost,
} from '../../web/src/loader';
import { splitCauseFix } from '../../web/src/text';
import { patchFailed, provisionApply, provisionPlan, verifyFailed } from './samples';

const PROJECT = '6ce954b1-ce1f-45d1-b94d-e6bf2464ba2c';
const TIMELINE = '8c2c9f5e-7d6b-4b8a-9b1e-2f3a4b5c6d7e';
const ref = (name: string, record: string, org = `https://dev.azure.com/contoso/${PROJECT}`): AttachmentRef => ({
  name,
  _links: {
    self: {
      href: `${org}/_apis/build/builds/42/${TIMELINE}/${record}/attachments/fluxoidc-report/${encodeURIComponent(name)}`,
    },
  },
});

describe('attachmentLocation', () => {
  it('reads the timeline and record ids from the link of every Azure DevOps URL form', () => {
    for (const org of [
      `https://dev.azure.com/contoso/${PROJECT}`,
      `https://contoso.visualstudio.com/${PROJECT}`,
      `https://tfs.contoso.com/tfs/DefaultCollection/${PROJECT}`,
    ]) {
      assert.deepEqual(
        attachmentLocation(ref('FluxOidcVerify', 'rec-1', org)),
        { timelineId: TIMELINE, recordId: 'rec-1' },
        org,
      );
    }
    assert.deepEqual(attachmentLocation(ref('Flux report (1)', 'rec%2D2')), {
      timelineId: TIMELINE,
      recordId: 'rec-2',
    });
  });

  it('returns nothing for a missing or unexpected link', () => {
    const bad: unknown[] = [
      undefined,
      {},
      { self: {} },
      { self: { href: 42 } },
      { self: { href: '/relative/_apis/build/builds/1/t/r/attachments/x/y' } },
      { self: { href: `https://dev.azure.com/contoso/${PROJECT}/_apis/build/builds/42/attachments/fluxoidc-report` } },
      {
        self: {
          href: `https://dev.azure.com/contoso/${PROJECT}/_apis/build/builds/42/${TIMELINE}/%E0%A4%A/attachments/t/n`,
        },
      },
    ];
    for (const links of bad)
      assert.equal(attachmentLocation({ name: 'x', _links: links }), undefined, JSON.stringify(links));
  });
});

describe('parseReport', () => {
  it('accepts what the ReportBuilder writes, unchanged', () => {
    for (const r of [provisionPlan(), provisionApply(), verifyFailed(), patchFailed()]) {
      const parsed = parseReport(JSON.stringify(r, null, 2) + '\n');
      assert.ok(parsed.ok);
      assert.deepEqual(parsed.report, r);
    }
  });

  it('reads missing lists as empty, so a minimal report still shows', () => {
    const parsed = parseReport(
      '{"schema":"fluxoidc-report/v1","task":"FluxOidcVerify","mode":"plan","started":"2026-11-28T10:00:00Z"}',
    );
    assert.ok(parsed.ok);
    assert.deepEqual(
      [
        parsed.report.resources,
        parsed.report.checks,
        parsed.report.warnings,
        parsed.report.errors,
        parsed.report.outputs,
      ],
      [[], [], [], [], {}],
    );
  });

  it('says why a text is not a report it can show', () => {
    const problem = (text: string): string => {
      const p = parseReport(text);
      assert.ok(!p.ok, text);
      return p.problem;
    };
    assert.match(
      problem('{"schema":"fluxoidc-report/v1","task":'),
      /^The report is not valid JSON, so it cannot be shown \(.+\)\. The file may have been cut off while it was uploaded; re-run the task\.$/,
    );
    assert.equal(problem('[]'), 'This attachment is not a Flux OIDC run report (it has no "schema" field).');
    assert.equal(problem('{"task":"x"}'), 'This attachment is not a Flux OIDC run report (it has no "schema" field).');
    assert.equal(
      problem('{"schema":"terraform-plan/v1"}'),
      'This attachment is not a Flux OIDC run report (its format is "terraform-plan/v1").',
    );
    assert.match(
      problem('{"schema":"fluxoidc-report/v2","task":"x"}'),
      /format "fluxoidc-report\/v2", which this version of the results tab cannot show \(it shows "fluxoidc-report\/v1"\)\. Update the Flux OIDC extension/,
    );
    const v1 = (patch: Partial<Record<keyof Report, unknown>>): string =>
      JSON.stringify({ ...verifyFailed(), ...patch });
    assert.equal(problem(v1({ task: undefined })), 'The report is damaged and cannot be shown: task is missing.');
    assert.equal(problem(v1({ mode: 3 })), 'The report is damaged and cannot be shown: mode is not text.');
    assert.equal(problem(v1({ checks: {} })), 'The report is damaged and cannot be shown: checks is not a list.');
    assert.equal(
      problem(
        v1({
          checks: [
            { id: 'a', title: 'A', status: 'pass' },
            { id: 'b', title: 'B', status: 'fail', cause: 7 },
          ],
        }),
      ),
      'The report is damaged and cannot be shown: checks[1].cause is not text.',
    );
    assert.equal(
      problem(
        v1({ resources: [{ kind: 'File', name: 'f', action: 'update', status: 'planned', changes: [{ to: 'x' }] }] }),
      ),
      'The report is damaged and cannot be shown: resources[0].changes[0].field is missing.',
    );
    assert.equal(
      problem(v1({ resources: [null] })),
      'The report is damaged and cannot be shown: resources[0] is not an object.',
    );
    assert.equal(
      problem(v1({ outputs: { clientId: 5 } })),
      'The report is damaged and cannot be shown: outputs.clientId is not text.',
    );
    assert.equal(
      problem(v1({ warnings: ['ok', {}] })),
      'The report is damaged and cannot be shown: warnings[1] is not text.',
    );
  });
});

/** A fake host: the run's attachments by record id, and a log of the client calls. */
function fakeHost(
  files: { ref: AttachmentRef; body?: string; error?: string }[],
  opts: { list?: () => Promise<unknown> } = {},
): { host: ReportHost; calls: string[] } {
  const calls: string[] = [];
  const client: AttachmentClient = {
    async getAttachments(project, buildId, type) {
      calls.push(`list ${project} ${buildId} ${type}`);
      return (opts.list ? await opts.list() : files.map((f) => f.ref)) as AttachmentRef[];
    },
    async getAttachment(project, buildId, timelineId, recordId, type, name) {
      calls.push(`get ${project} ${buildId} ${timelineId} ${recordId} ${type} ${name}`);
      const f = files.find((x) => attachmentLocation(x.ref)?.recordId === recordId && x.ref.name === name);
      if (!f) throw new Error('404');
      if (f.error) throw Object.assign(new Error(f.error), { name: 'TFS.WebApi.Exception', status: 500 });
      return new TextEncoder().encode(f.body).buffer as ArrayBuffer;
    },
  };
  return { host: { context: async () => ({ project: PROJECT, buildId: 42 }), client: () => client }, calls };
}

describe('loadReports', () => {
  it('downloads each report from its timeline record and returns them in the order the tasks ran', async () => {
    const { host, calls } = fakeHost([
      { ref: ref('FluxOidcVerify', 'rec-3'), body: JSON.stringify(verifyFailed()) },
      { ref: ref('FluxOidcProvision', 'rec-1'), body: `\uFEFF${JSON.stringify(provisionPlan())}` },
      { ref: ref('FluxOidcProvision', 'rec-2'), body: JSON.stringify(provisionApply()) },
    ]);
    const { reports, problems } = await loadReports(host);
    assert.deepEqual(problems, []);
    assert.deepEqual(
      reports.map((r) => `${r.task} ${r.mode}`),
      ['FluxOidcProvision plan', 'FluxOidcProvision apply', 'FluxOidcVerify apply'],
    );
    assert.deepEqual(calls.sort(), [
      `get ${PROJECT} 42 ${TIMELINE} rec-1 fluxoidc-report FluxOidcProvision`,
      `get ${PROJECT} 42 ${TIMELINE} rec-2 fluxoidc-report FluxOidcProvision`,
      `get ${PROJECT} 42 ${TIMELINE} rec-3 fluxoidc-report FluxOidcVerify`,
      `list ${PROJECT} 42 fluxoidc-report`,
    ]);
  });

  it('keeps the readable reports and names each attachment it could not show', async () => {
    const { host } = fakeHost([
      { ref: ref('FluxOidcVerify', 'rec-3'), body: '{"schema":"fluxoidc-report/v1"' },
      { ref: ref('FluxManifestPatch', 'rec-2'), error: 'TF400898: An Internal Error Occurred.' },
      { ref: { name: 'FluxOidcProvision', _links: {} } },
      { ref: ref('Other', 'rec-4'), body: JSON.stringify(patchFailed()) },
    ]);
    const { reports, problems } = await loadReports(host);
    assert.deepEqual(
      reports.map((r) => r.task),
      ['FluxManifestPatch'],
    );
    assert.deepEqual(
      problems.map((p) => p.name),
      ['FluxManifestPatch', 'FluxOidcProvision', 'FluxOidcVerify'],
    );
    assert.equal(problems[0].message, 'Could not download the report: TF400898: An Internal Error Occurred.');
    assert.equal(
      problems[1].message,
      'The attachment has no download link that names its timeline record, so it cannot be downloaded.',
    );
    assert.match(problems[2].message, /^The report is not valid JSON/);
  });

  it('accepts the wrapped {count, value} list as well as the bare array', async () => {
    const files = [{ ref: ref('FluxOidcVerify', 'rec-1'), body: JSON.stringify(verifyFailed()) }];
    const { host } = fakeHost(files, { list: async () => ({ count: 1, value: files.map((f) => f.ref) }) });
    assert.equal((await loadReports(host)).reports.length, 1);
  });

  it('an empty run is no reports and no problems', async () => {
    assert.deepEqual(await loadReports(fakeHost([]).host), { reports: [], problems: [] });
  });

  it('fails with a message the page can show when the list or the run context fails', async () => {
    const listing = fakeHost([], {
      list: () => Promise.reject(Object.assign(new Error('VS800075: The project does not exist.'), { status: 404 })),
    });
    await assert.rejects(
      loadReports(listing.host),
      (e: unknown) =>
        e instanceof LoadError &&
        e.message === "Could not list the run's reports (build 42): VS800075: The project does not exist.",
    );
    const noRun: ReportHost = {
      context: () => Promise.reject(new Error('the page shows no pipeline run')),
      client: () => listing.host.client(),
    };
    await assert.rejects(
      loadReports(noRun),
      (e: unknown) =>
        e instanceof LoadError &&
        e.message ===
          'This tab shows the reports of a pipeline run, but the run could not be identified: the page shows no pipeline run',
    );
  });
});

describe('splitCauseFix', () => {
  it("splits the task's failure text into what happened, its cause and its fix", () => {
    // The exact texts runTask puts in the report for a UserError and an InputError.
    const user = describeError(
      new UserError('The job access token (System.AccessToken) is not available to the task.', {
        cause: 'the SYSTEMVSSCONNECTION endpoint has no AccessToken and SYSTEM_ACCESSTOKEN is not set',
        fix: 'map it: env: { SYSTEM_ACCESSTOKEN: $(System.AccessToken) }',
      }),
    ).text;
    assert.deepEqual(splitCauseFix(user), {
      what: 'The job access token (System.AccessToken) is not available to the task.',
      cause: 'the SYSTEMVSSCONNECTION endpoint has no AccessToken and SYSTEM_ACCESSTOKEN is not set.',
      fix: 'map it: env: { SYSTEM_ACCESSTOKEN: $(System.AccessToken) }',
    });
    const input = describeError(
      new InputError('clusterName', 'AKS cluster name', 'must be 1-63 characters', "use the AKS cluster's name"),
    ).text;
    assert.deepEqual(splitCauseFix(input), {
      what: "Input 'AKS cluster name' (clusterName): must be 1-63 characters.",
      fix: "use the AKS cluster's name",
    });
    assert.deepEqual(splitCauseFix('Entra ID refused the token! Cause: AADSTS70021'), {
      what: 'Entra ID refused the token!',
      cause: 'AADSTS70021',
    });
    assert.deepEqual(splitCauseFix('2 required checks failed: A; B'), { what: '2 required checks failed: A; B' });
    assert.deepEqual(splitCauseFix('Fix: the word alone at the start is not a marker'), {
      what: 'Fix: the word alone at the start is not a marker',
    });
  });
});
