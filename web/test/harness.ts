/**
 * Test harness bundle (not shipped): the tab's real index.html and style.css with this script in
 * place of main.js. It exposes the renderer and the page's states on `window.fluxoidc`, so the
 * browser tests (test/web/) can render reports they built with the real ReportBuilder and drive
 * the loading/empty/error states without an Azure DevOps host.
 */
import type { Report } from '../../tasks/common/report/model';
import { startApp } from '../src/app';
import { LoadError, loadReports, type AttachmentRef, type LoadResult } from '../src/loader';
import { renderReports } from '../src/render';
import { markTheme } from '../src/theme';

export interface FakeAttachment {
  name: string;
  /** The attachment's bytes as text. */
  text: string;
  /** `_links.self.href`; by default a well-formed Azure DevOps attachment URL. */
  href?: string;
  /** When set, downloading this attachment fails with this message. */
  downloadError?: string;
}

export interface Harness {
  /** renderReports() into #app. */
  render(reports: Report[]): void;
  /** startApp() with a load that waits until settle() or fail() is called. */
  start(): void;
  settle(result: LoadResult): void;
  fail(message: string): void;
  /** startApp() over the real loader, with a fake Build client serving these attachments. */
  load(attachments: FakeAttachment[]): Promise<void>;
  /** How many times the app called load (a retry calls it again). */
  loads(): number;
  /** Re-reads the theme (after the test set host theme variables). */
  markTheme(): void;
}

const root = document.getElementById('app')!;
const waiting: { resolve(r: LoadResult): void; reject(e: unknown): void }[] = [];
let loadCount = 0;

const harness: Harness = {
  render(reports) {
    root.replaceChildren(renderReports(reports, document));
  },
  start() {
    void startApp(root, () => {
      loadCount++;
      return new Promise<LoadResult>((resolve, reject) => waiting.push({ resolve, reject }));
    });
  },
  settle(result) {
    waiting.shift()?.resolve(result);
  },
  fail(message) {
    waiting.shift()?.reject(new LoadError(message));
  },
  async load(attachments) {
    const project = '6ce954b1-ce1f-45d1-b94d-e6bf2464ba2c';
    const buildId = 42;
    // One timeline record per task run, as the agent makes them.
    const recordOf = (i: number): string => `${String(i + 1).padStart(8, '0')}-1111-4111-8111-111111111111`;
    const refs: AttachmentRef[] = attachments.map((a, i) => ({
      name: a.name,
      _links: {
        self: {
          href:
            a.href ??
            `https://dev.azure.com/contoso/${project}/_apis/build/builds/${buildId}/8c2c9f5e-0000-4000-8000-000000000001/${recordOf(i)}/attachments/fluxoidc-report/${encodeURIComponent(a.name)}`,
        },
      },
    }));
    await startApp(root, () => {
      loadCount++;
      return loadReports({
        context: async () => ({ project, buildId }),
        client: () => ({
          getAttachments: async () => refs,
          async getAttachment(_project, _build, _timeline, recordId, _type, name) {
            const a = attachments.find((x, i) => recordOf(i) === recordId && x.name === name);
            if (!a) throw new Error(`404 no attachment ${name} on record ${recordId}`);
            if (a.downloadError) throw new Error(a.downloadError);
            return new TextEncoder().encode(a.text).buffer as ArrayBuffer;
          },
        }),
      });
    });
  },
  loads: () => loadCount,
  markTheme: () => markTheme(document),
};

(window as unknown as { fluxoidc: Harness }).fluxoidc = harness;
markTheme(document);
root.replaceChildren();
