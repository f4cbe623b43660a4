// The lock graph webview's HTML, as a pure function of the `locklens/lockGraph` result.
// Strict CSP (nothing but this document's nonce'd style and script), every string escaped,
// and links refer to sites by index: the webview can only ask the extension to open one of
// the sites it was given, never an arbitrary URI.

import type { LockGraphResult, LockGraphSite } from '../protocol';
import { classColors, ThemeKind } from './colors';

/** Body classes VS Code puts on a webview per theme kind. */
const THEME_BODY: Record<ThemeKind, string> = {
  light: 'vscode-light',
  dark: 'vscode-dark',
  highContrast: 'vscode-high-contrast',
  highContrastLight: 'vscode-high-contrast-light',
};

export function escapeHtml(text: unknown): string {
  return String(text).replace(/[&<>"'`]/g, (c) => `&#${c.charCodeAt(0)};`);
}

export interface GraphHtmlOptions {
  /** Fresh random nonce for the CSP. */
  nonce: string;
  /** `webview.cspSource` (not needed for inline content; kept in the CSP for fonts/images of the host). */
  cspSource: string;
  /** Highlight the edges established in this function (from a code lens). */
  focusFunction?: string;
  /** Shown in the heading. */
  title?: string;
  /** Turns a site URI into a short label (e.g. workspace-relative path). */
  label?: (uri: string) => string;
}

export interface GraphHtml {
  html: string;
  /** Sites in link order: a message `{ command: 'open', index }` refers to `sites[index]`. */
  sites: LockGraphSite[];
}

export interface NodeLayout {
  id: string;
  x: number;
  y: number;
}

/** Nodes on a circle, in id order (stable between refreshes). */
export function circleLayout(ids: readonly string[], width: number, height: number): NodeLayout[] {
  const sorted = [...ids].sort();
  const cx = width / 2;
  const cy = height / 2;
  const r = Math.max(40, Math.min(width, height) / 2 - 70);
  if (sorted.length === 1) return [{ id: sorted[0], x: cx, y: cy }];
  return sorted.map((id, i) => {
    const a = (2 * Math.PI * i) / sorted.length - Math.PI / 2;
    return { id, x: Math.round(cx + r * Math.cos(a)), y: Math.round(cy + r * Math.sin(a)) };
  });
}

export function renderLockGraphHtml(graph: LockGraphResult, options: GraphHtmlOptions): GraphHtml {
  const label = options.label ?? ((uri: string) => uri);
  const nonce = escapeHtml(options.nonce);
  const width = 720;
  const height = Math.max(320, Math.min(640, 160 + graph.nodes.length * 40));
  const layout = circleLayout(graph.nodes.map((n) => n.id), width, height);
  const at = new Map(layout.map((l) => [l.id, l]));
  const sites: LockGraphSite[] = [];
  const focused = (sitesOfEdge: LockGraphSite[]) => options.focusFunction !== undefined && sitesOfEdge.some((s) => s.functionName === options.focusFunction);

  const edgeSvg = graph.edges
    .map((e) => {
      const a = at.get(e.from);
      const b = at.get(e.to);
      if (!a || !b) return '';
      // Shorten the line so the arrow ends at the node's circle.
      const dx = b.x - a.x;
      const dy = b.y - a.y;
      const len = Math.max(1, Math.hypot(dx, dy));
      const pad = 22;
      // Opposite edges (A → B and B → A) run side by side instead of on top of each other.
      const reverse = graph.edges.some((o) => o.from === e.to && o.to === e.from);
      const off = reverse ? 5 : 0;
      const ox = (-dy / len) * off;
      const oy = (dx / len) * off;
      const x1 = Math.round(a.x + (dx / len) * pad + ox);
      const y1 = Math.round(a.y + (dy / len) * pad + oy);
      const x2 = Math.round(b.x - (dx / len) * pad + ox);
      const y2 = Math.round(b.y - (dy / len) * pad + oy);
      const cls = ['edge', e.inCycle ? 'cycle' : '', focused(e.sites) ? 'focus' : ''].filter(Boolean).join(' ');
      const marker = e.inCycle ? 'arrow-cycle' : 'arrow';
      return `<line class="${cls}" x1="${x1}" y1="${y1}" x2="${x2}" y2="${y2}" marker-end="url(#${marker})"><title>${escapeHtml(`${e.from} held while acquiring ${e.to}`)}</title></line>`;
    })
    .join('\n');
  // Each lock class in the colour its guard regions have in the editor, per theme.
  const nodeCss = layout
    .map((l, i) =>
      (Object.keys(THEME_BODY) as ThemeKind[])
        .map((theme) => {
          const c = classColors(l.id, theme);
          return `body.${THEME_BODY[theme]} .n${i} circle { fill: ${c.strong}; stroke: ${c.bar}; }`;
        })
        .join('\n'),
    )
    .join('\n');
  const nodeSvg = layout
    .map((l, i) => {
      const node = graph.nodes.find((n) => n.id === l.id)!;
      const inCycle = graph.cycles.some((c) => c.includes(l.id));
      const level = node.level !== undefined ? ` · level ${node.level}` : '';
      return (
        `<g class="node n${i}${inCycle ? ' cycle' : ''}"><circle cx="${l.x}" cy="${l.y}" r="18"><title>${escapeHtml(
          `${node.id}: ${node.flavor} ${node.kind}, ${node.acquisitions} acquisition(s), modes ${node.modes.join('/')}${level}`,
        )}</title></circle>` + `<text x="${l.x}" y="${l.y + 34}" text-anchor="middle">${escapeHtml(node.id)}</text></g>`
      );
    })
    .join('\n');

  const siteLink = (s: LockGraphSite) => {
    const index = sites.push(s) - 1;
    const via = s.via.length > 0 ? ` via ${s.via.map((v) => `<code>${escapeHtml(v)}</code>`).join(' → ')}` : '';
    return `<a href="#" data-site="${index}">${escapeHtml(label(s.uri))}:${s.range.start.line + 1}</a> in <code>${escapeHtml(s.functionName)}</code>${via}`;
  };
  const cycles =
    graph.cycles.length === 0
      ? '<p class="ok">No lock-order cycles.</p>'
      : `<ul class="cycles">${graph.cycles
          .map((c) => `<li>${[...c, c[0]].map((id) => `<code>${escapeHtml(id)}</code>`).join(' → ')}</li>`)
          .join('')}</ul>`;
  const rows = graph.edges
    .map(
      (e) =>
        `<tr class="${e.inCycle ? 'cycle' : ''}${focused(e.sites) ? ' focus' : ''}"><td><code>${escapeHtml(e.from)}</code></td><td><code>${escapeHtml(
          e.to,
        )}</code></td><td><ul>${e.sites.map((s) => `<li>${siteLink(s)}</li>`).join('')}</ul></td></tr>`,
    )
    .join('\n');
  const heading = escapeHtml(options.title ?? 'Lock graph');
  const crates = graph.crates.length > 0 ? ` — ${graph.crates.map(escapeHtml).join(', ')}` : '';
  const csp = `default-src 'none'; style-src 'nonce-${nonce}'; script-src 'nonce-${nonce}'; img-src ${escapeHtml(options.cspSource)} data:; font-src ${escapeHtml(options.cspSource)};`;
  const html = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>${heading}</title>
<style nonce="${nonce}">
  body { color: var(--vscode-foreground); background: var(--vscode-editor-background); font-family: var(--vscode-font-family); font-size: var(--vscode-font-size); padding: 0 16px 16px; }
  h1 { font-size: 1.3em; font-weight: 600; }
  svg { max-width: 100%; height: auto; }
  .edge { stroke: var(--vscode-descriptionForeground); stroke-width: 1.5; }
  .edge.cycle { stroke: var(--vscode-errorForeground); stroke-width: 2.5; }
  .edge.focus { stroke-width: 4; }
  .node circle { fill: var(--vscode-editorWidget-background, var(--vscode-editor-background)); stroke: var(--vscode-focusBorder); stroke-width: 2; }
${nodeCss}
  body .node.cycle circle { stroke: var(--vscode-errorForeground); stroke-width: 3; }
  .node text { fill: var(--vscode-foreground); font-size: 12px; }
  #arrow path { fill: var(--vscode-descriptionForeground); }
  #arrow-cycle path { fill: var(--vscode-errorForeground); }
  table { border-collapse: collapse; width: 100%; }
  th, td { text-align: left; vertical-align: top; padding: 4px 8px; border-bottom: 1px solid var(--vscode-panel-border, transparent); }
  tr.cycle td:first-child, tr.cycle td:nth-child(2) { color: var(--vscode-errorForeground); }
  tr.focus { background: var(--vscode-editor-selectionHighlightBackground); }
  td ul, ul.cycles { margin: 0; padding-left: 1.2em; }
  a { color: var(--vscode-textLink-foreground); }
  .ok { color: var(--vscode-descriptionForeground); }
</style>
</head>
<body>
<h1>${heading}${crates}</h1>
<p>${graph.nodes.length} lock class(es), ${graph.edges.length} ordering edge(s). An arrow <code>A → B</code> means <code>B</code> is acquired while <code>A</code> is held.</p>
<h2>Cycles</h2>
${cycles}
<svg viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="lock graph">
<defs>
<marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z"/></marker>
<marker id="arrow-cycle" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z"/></marker>
</defs>
${edgeSvg}
${nodeSvg}
</svg>
<h2>Orderings</h2>
${graph.edges.length === 0 ? '<p class="ok">No lock is acquired while another is held.</p>' : `<table><thead><tr><th>Held</th><th>Acquired</th><th>Where</th></tr></thead><tbody>${rows}</tbody></table>`}
<script nonce="${nonce}">
  const vscode = acquireVsCodeApi();
  document.addEventListener('click', (event) => {
    const link = event.target instanceof Element ? event.target.closest('a[data-site]') : null;
    if (!link) return;
    event.preventDefault();
    vscode.postMessage({ command: 'open', index: Number(link.getAttribute('data-site')) });
  });
</script>
</body>
</html>`;
  return { html, sites };
}
