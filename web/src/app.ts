/**
 * The page's states: loading, the reports (or the empty state), and an error with a retry. The
 * data comes from `load` (loader.ts over the SDK in the page; a fake in tests).
 */
import { h, plural } from './dom';
import { LoadError, type LoadResult } from './loader';
import { renderProblems, renderReports } from './render';

export function renderLoading(doc: Document): HTMLElement {
  return h(
    doc,
    'div',
    { class: 'state state--loading', role: 'status' },
    h(doc, 'span', { class: 'spinner', 'aria-hidden': 'true' }),
    'Loading the Flux OIDC reports of this run…',
  );
}

export function renderError(doc: Document, message: string, retry?: () => void): HTMLElement {
  const el = h(
    doc,
    'div',
    { class: 'state state--error', role: 'alert' },
    h(doc, 'h2', null, 'The reports could not be loaded'),
    h(doc, 'p', null, message),
  );
  if (retry) el.appendChild(button(doc, 'Try again', retry));
  return el;
}

function button(doc: Document, label: string, onClick: () => void): HTMLButtonElement {
  const b = h(doc, 'button', { type: 'button', class: 'button' }, label);
  b.addEventListener('click', onClick);
  return b;
}

/** Screen readers hear the outcome once (index.html's live region), not the whole report. */
function announce(doc: Document, text: string): void {
  const el = doc.getElementById('announce');
  if (el) el.textContent = text;
}

/** Shows `load`'s result in `root`, with a loading state first; resolves once something final is shown. */
export async function startApp(root: HTMLElement, load: () => Promise<LoadResult>): Promise<void> {
  const doc = root.ownerDocument;
  root.setAttribute('aria-busy', 'true');
  root.replaceChildren(renderLoading(doc));
  try {
    const { reports, problems } = await load();
    const problemNotice = renderProblems(problems, doc);
    // With only unreadable attachments, the notice says it all; "no reports" would contradict it.
    const view = reports.length === 0 && problemNotice ? null : renderReports(reports, doc);
    root.replaceChildren(...[problemNotice, view].filter((n): n is HTMLElement => n !== null));
    if (reports.length === 0 && problems.length === 0) {
      // The run may still be going: its tasks attach their reports as they finish.
      root.appendChild(
        button(doc, 'Check again', () => {
          void startApp(root, load);
        }),
      );
    }
    announce(
      doc,
      reports.length || problems.length
        ? `${plural(reports.length, 'report')} loaded${problems.length ? `, ${problems.length} could not be shown` : ''}.`
        : 'No Flux OIDC reports in this run.',
    );
  } catch (e) {
    const message =
      e instanceof LoadError ? e.message : `Unexpected error: ${e instanceof Error ? e.message : String(e)}`;
    root.replaceChildren(
      renderError(doc, message, () => {
        void startApp(root, load);
      }),
    );
    announce(doc, 'The reports could not be loaded.');
  } finally {
    root.removeAttribute('aria-busy');
  }
}
