/**
 * Light or dark: the Azure DevOps host passes its theme as CSS variables (the SDK writes them into
 * a <style> element and fires `themeApplied`). The page's own colours for badges and highlights
 * need to know which of the two it is, so this marks <html data-theme="light|dark"> from the
 * luminance of the background the host theme gives the body.
 */
function luminance(color: string): number | undefined {
  const m = /rgba?\(\s*([\d.]+)[,\s]+([\d.]+)[,\s]+([\d.]+)(?:\s*[,/]\s*([\d.]+%?))?\s*\)/.exec(color);
  if (!m) return undefined;
  if (m[4] !== undefined && parseFloat(m[4]) === 0) return undefined; // transparent: no information
  const [r, g, b] = [m[1], m[2], m[3]].map((v) => Number(v) / 255);
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

export function markTheme(doc: Document): void {
  const view = doc.defaultView;
  if (!view || !doc.body) return;
  const l = luminance(view.getComputedStyle(doc.body).backgroundColor);
  if (l === undefined) delete doc.documentElement.dataset.theme;
  else doc.documentElement.dataset.theme = l < 0.5 ? 'dark' : 'light';
}

export function followHostTheme(doc: Document): void {
  markTheme(doc);
  doc.defaultView?.addEventListener('themeApplied', () => markTheme(doc));
}
