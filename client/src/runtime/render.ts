// The Lock Panel's HTML (pure string building, shared by the extension host and the webview
// script). Every string from the debuggee goes through `esc` (text and attributes alike); the
// page's CSP allows only the nonce'd script and style, so even a missed escape could not run.

import { formatMs, sortLocks, type PanelLock, type PanelModel, type PanelSite, type SortKey } from './panelModel';

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;' };

/** HTML-escapes text for element content and quoted attribute values. */
export function esc(s: unknown): string {
  return String(s).replace(/[&<>"'`]/g, (c) => ESCAPES[c]);
}

/** JSON safe inside a `<script type="application/json">` element. */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

export interface ShellOptions {
  nonce: string;
  cspSource: string;
  /** webview URI of the bundled panel script. */
  scriptUri: string;
}

export function contentSecurityPolicy(nonce: string, cspSource: string): string {
  return [`default-src 'none'`, `img-src ${cspSource} data:`, `style-src 'nonce-${nonce}'`, `script-src 'nonce-${nonce}'`, `font-src ${cspSource}`].join('; ');
}

/** The whole page: CSP, styles, the initial model as inert JSON, and the script. */
export function renderShell(model: PanelModel, o: ShellOptions): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${esc(contentSecurityPolicy(o.nonce, o.cspSource))}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>LockLens: Lock Panel</title>
<style nonce="${esc(o.nonce)}">${STYLE}</style>
</head>
<body>
<div id="root">${renderBody(model, { key: 'waiters', descending: true })}</div>
<script type="application/json" id="locklens-model" nonce="${esc(o.nonce)}">${jsonForScript(model)}</script>
<script nonce="${esc(o.nonce)}" src="${esc(o.scriptUri)}"></script>
</body>
</html>`;
}

export interface SortState {
  key: SortKey;
  descending: boolean;
}

function siteLink(model: PanelModel, i: number | undefined): string {
  if (i === undefined) return '';
  const s: PanelSite | undefined = model.sites[i];
  if (!s) return '';
  const title = s.path ? `${s.path}:${s.line}:${s.col}` : `${s.file}:${s.line}:${s.col} (not found in the workspace)`;
  return `<a href="#" class="site${s.path ? '' : ' missing'}" data-site="${s.i}" title="${esc(title)}">${esc(s.label)}</a>`;
}

function holderCell(model: PanelModel, l: PanelLock): string {
  if (l.holders.length === 0) return '<span class="none">–</span>';
  return l.holders
    .map((h) => `<div class="who"><span class="thread">${esc(h.thread.label)}</span>${h.mode !== 'mutex' ? ` <span class="mode">${esc(h.mode)}</span>` : ''} at ${siteLink(model, h.site)} <span class="dur">for ${esc(formatMs(h.forMs))}</span></div>`)
    .join('');
}

function waiterCell(model: PanelModel, l: PanelLock): string {
  if (l.waiters.length === 0) return '<span class="none">–</span>';
  return l.waiters
    .map(
      (w) =>
        `<div class="who${w.state === 'deadlocked' ? ' dead' : w.state === 'stalled' ? ' stalled' : ''}"><span class="thread">${esc(w.thread.label)}</span>${w.mode !== 'mutex' ? ` <span class="mode">${esc(w.mode)}</span>` : ''} at ${siteLink(model, w.site)} <span class="dur">${esc(formatMs(w.forMs))}${w.state !== 'waiting' ? ` ${esc(w.state)}` : ''}${w.timed ? ' (timed)' : ''}</span></div>`,
    )
    .join('');
}

const COLUMNS: Array<{ key: SortKey; title: string; hint: string }> = [
  { key: 'label', title: 'Lock', hint: 'Lock class: its name, or where it was created' },
  { key: 'holder', title: 'Held by', hint: 'Who holds the lock now, where they took it and for how long so far (from the hook\'s snapshots every 100 ms, and with each wait)' },
  { key: 'waiters', title: 'Waiting', hint: 'Threads waiting for the lock now, where they asked and for how long' },
  { key: 'last', title: 'Last holder', hint: 'The most recent acquisition the hook reported' },
  { key: 'contention', title: 'Contention', hint: 'Acquisitions that had to wait (finished or still waiting)' },
  { key: 'waitP99', title: 'Wait p99', hint: '99th percentile of finished contended waits, worst site' },
  { key: 'holdP99', title: 'Hold p99', hint: '99th percentile of sampled hold times (per thread, the first acquisition at each site, then one in sample_every), worst site' },
];

export function renderTable(model: PanelModel, sort: SortState): string {
  const head = COLUMNS.map(
    (c) => `<th data-sort="${c.key}" class="sortable${c.key === sort.key ? (sort.descending ? ' desc' : ' asc') : ''}" tabindex="0" title="${esc(c.hint)}">${c.title}</th>`,
  ).join('');
  const rows = sortLocks(model.locks, sort.key, sort.descending)
    .map(
      (l) => `<tr class="${l.inCycle ? 'dead' : l.waiters.length ? 'busy' : ''}" data-lock="${esc(l.key)}">
<td><div class="lock">${esc(l.label)}</div><div class="kind">${esc(l.kind)} · created ${siteLink(model, l.created)}</div></td>
<td>${holderCell(model, l)}</td>
<td>${waiterCell(model, l)}</td>
<td>${l.last ? `<span class="thread">${esc(l.last.thread.label)}</span> at ${siteLink(model, l.last.site)}` : '<span class="none">–</span>'}</td>
<td class="num">${esc(l.contentionPct.toFixed(1))}% <span class="dim">(${l.contended}/${l.acquisitions})</span></td>
<td class="num"${l.waitSamples ? '' : ' title="no finished contended acquisition yet"'}>${l.waitSamples ? esc(formatMs(l.waitP99Ms)) : '–'}</td>
<td class="num"${l.holdSamples ? '' : ' title="no sampled hold yet (per thread, the first acquisition at each site and then one in sample_every is timed)"'}>${l.holdSamples ? esc(formatMs(l.holdP99Ms)) : '–'}</td>
</tr>`,
    )
    .join('\n');
  return `<table id="locks"><thead><tr>${head}</tr></thead><tbody>${rows || '<tr><td colspan="7" class="none">No lock activity yet.</td></tr>'}</tbody></table>`;
}

export function renderCycles(model: PanelModel): string {
  return model.cycles
    .map((c, ci) => {
      const steps = c.nodes
        .map((n) => {
          const holder = c.nodes.find((o) => n.heldBy.includes(o.thread.id));
          const holds = n.holds.map((h) => `holds <b>${esc(h.lock)}</b> (taken at ${siteLink(model, h.site)})`).join(', ');
          return `<li><span class="thread">${esc(n.thread.label)}</span> ${holds || 'holds nothing'} and waits for <b>${esc(n.waitsFor)}</b> at ${siteLink(model, n.waitSite)}${holder ? `, held by <span class="thread">${esc(holder.thread.label)}</span>` : ''}</li>`;
        })
        .join('');
      return `<section class="cycle" data-cycle="${ci}"><h2>Deadlock in process ${esc(c.pid)}, found ${esc(formatMs(c.tMs))} after it started${c.timed ? ' (a timed wait will end it)' : c.action === 'abort' ? ' (the hook aborts the process)' : ''}</h2><ol>${steps}</ol><button data-action="pause">Pause program</button></section>`;
    })
    .join('');
}

export function renderInversions(model: PanelModel): string {
  if (model.inversions.length === 0) return '';
  const items = model.inversions
    .map(
      (inv) =>
        `<li><b>${esc(inv.a)}</b> → <b>${esc(inv.b)}</b> by <span class="thread">${esc(inv.ab.thread.label)}</span> at ${siteLink(model, inv.ab.toSite)}; <b>${esc(inv.b)}</b> → <b>${esc(inv.a)}</b> by <span class="thread">${esc(inv.ba.thread.label)}</span> at ${siteLink(model, inv.ba.toSite)}</li>`,
    )
    .join('');
  return `<section class="inversions"><h2>Lock-order inversions seen at runtime</h2><ul>${items}</ul></section>`;
}

export function renderOrderCycles(model: PanelModel): string {
  if (!model.orderCycles?.length) return '';
  const items = model.orderCycles
    .map(
      (c) =>
        `<li>${c.steps.map((st) => `<b>${esc(st.from)}</b> → <b>${esc(st.to)}</b> by <span class="thread">${esc(st.thread.label)}</span> at ${siteLink(model, st.toSite)}`).join('; ')}</li>`,
    )
    .join('');
  return `<section class="inversions"><h2>Lock-order cycles seen at runtime</h2><ul>${items}</ul></section>`;
}

export function renderHeader(model: PanelModel): string {
  const procs = model.processes.map((p) => `${esc(p.program)} (pid ${esc(p.pid)})`).join(', ');
  const state = model.state === 'live' ? 'live' : model.state === 'replay' ? 'replay' : 'ended';
  const lost = model.stats.dropped || model.stats.rejected ? ` · <span class="warn">${model.stats.dropped} dropped, ${model.stats.rejected} rejected</span>` : '';
  return `<header><h1>${esc(model.title)} <span class="state ${state}">${state}</span></h1><div class="dim">${procs || 'waiting for the program to connect'} · ${model.stats.accepted} events${lost}</div></header>`;
}

/** Everything below the page head; the graph is filled in by the webview (it needs the layout library). */
export function renderBody(model: PanelModel, sort: SortState, graphSvg = ''): string {
  return `${renderHeader(model)}${renderCycles(model)}${renderInversions(model)}${renderOrderCycles(model)}${renderTable(model, sort)}<section id="graph"><h2>Wait-for graph</h2>${graphSvg || (model.graph.nodes.length ? '' : '<div class="none">Nobody waits.</div>')}</section>`;
}

const STYLE = `
body{font-family:var(--vscode-font-family);font-size:var(--vscode-font-size);color:var(--vscode-foreground);padding:0 12px}
h1{font-size:1.2em;margin:.6em 0 .2em} h2{font-size:1.05em;margin:.8em 0 .3em}
.state{font-size:.75em;padding:1px 6px;border-radius:8px;border:1px solid var(--vscode-panel-border)}
.state.live{color:var(--vscode-testing-iconPassed)}
.dim,.kind,.none{opacity:.75} .kind{font-size:.85em}
.warn{color:var(--vscode-editorWarning-foreground)}
table{border-collapse:collapse;width:100%;margin-top:.5em}
th,td{border-bottom:1px solid var(--vscode-panel-border);padding:4px 6px;text-align:left;vertical-align:top}
th.sortable{cursor:pointer;user-select:none;white-space:nowrap} th.asc::after{content:" ▲"} th.desc::after{content:" ▼"}
td.num{text-align:right;white-space:nowrap}
tr.dead td{background:color-mix(in srgb,var(--vscode-errorForeground) 12%,transparent)}
tr.busy td:first-child{border-left:3px solid var(--vscode-editorWarning-foreground)}
.lock{font-weight:600;word-break:break-all}
.thread{font-family:var(--vscode-editor-font-family);word-break:break-all}
.mode{font-size:.8em;opacity:.8}
.who.dead .thread,.who.dead .dur{color:var(--vscode-errorForeground)}
.who.stalled .dur{color:var(--vscode-editorWarning-foreground)}
a.site{color:var(--vscode-textLink-foreground);font-family:var(--vscode-editor-font-family);text-decoration:none;word-break:break-all}
a.site:hover{text-decoration:underline} a.site.missing{opacity:.7}
.cycle{border:2px solid var(--vscode-errorForeground);border-radius:4px;padding:4px 10px;margin:8px 0;background:color-mix(in srgb,var(--vscode-errorForeground) 8%,transparent)}
.cycle h2{color:var(--vscode-errorForeground)}
button{background:var(--vscode-button-background);color:var(--vscode-button-foreground);border:none;padding:4px 10px;margin-bottom:6px;cursor:pointer}
#graph svg{max-width:100%;height:auto}
svg .n rect{fill:var(--vscode-editor-background);stroke:var(--vscode-foreground);stroke-width:1}
svg .n.lock rect{rx:0;stroke-width:1.5} svg .n.lock text{font-weight:600} svg .n.thread rect{rx:10}
svg .n text{fill:var(--vscode-foreground);font-size:12px;font-family:var(--vscode-editor-font-family)}
svg .n.cyc rect{stroke:var(--vscode-errorForeground,#f14c4c);stroke-width:2.5}
svg .e{fill:none;stroke:var(--vscode-foreground);stroke-width:1.2;opacity:.8}
svg .e.holds{stroke-dasharray:4 3}
svg .e.cyc{stroke:var(--vscode-errorForeground,#f14c4c);stroke-width:2.5;opacity:1}
svg marker path{fill:var(--vscode-foreground)} svg marker.cyc path{fill:var(--vscode-errorForeground,#f14c4c)}
`;
