// The Lock Panel's script (bundled by scripts/bundle.mjs into lockPanel.js, runs in the webview).
// Renders the model with the same pure functions the unit tests check; the graph is laid out with
// dagre. Talks to the extension only with {command:'open', site} and {command:'pause'}.

import { layoutGraph, renderGraphSvg } from '../graphLayout';
import type { PanelModel, SortKey } from '../panelModel';
import { renderBody, type SortState } from '../render';

/* eslint-disable @typescript-eslint/no-explicit-any */
declare const document: any;
declare const window: any;
declare function acquireVsCodeApi(): { postMessage(m: unknown): void; getState(): any; setState(s: unknown): void };

const vscode = acquireVsCodeApi();
const saved = vscode.getState();
let sort: SortState = saved && typeof saved.key === 'string' ? saved : { key: 'waiters', descending: true };
let model: PanelModel | undefined;

function render(): void {
  if (!model) return;
  let svg = '';
  try {
    svg = renderGraphSvg(layoutGraph(model.graph));
  } catch (e) {
    svg = '';
  }
  const root = document.getElementById('root');
  root.innerHTML = renderBody(model, sort, svg);
  document.body.dataset.rendered = String(Number(document.body.dataset.rendered || 0) + 1);
}

function load(): void {
  const el = document.getElementById('locklens-model');
  try {
    model = JSON.parse(el.textContent);
  } catch {
    model = undefined;
  }
  render();
}

document.addEventListener('click', (ev: any) => {
  const t = ev.target;
  const site = t.closest && t.closest('[data-site]');
  if (site) {
    ev.preventDefault();
    vscode.postMessage({ command: 'open', site: Number(site.dataset.site) });
    return;
  }
  const th = t.closest && t.closest('th[data-sort]');
  if (th) {
    const key = th.dataset.sort as SortKey;
    sort = { key, descending: sort.key === key ? !sort.descending : key !== 'label' && key !== 'last' };
    vscode.setState(sort);
    render();
    return;
  }
  const action = t.closest && t.closest('[data-action]');
  if (action && action.dataset.action === 'pause') vscode.postMessage({ command: 'pause' });
});

window.addEventListener('message', (ev: any) => {
  const m = ev.data;
  if (m && m.type === 'model' && m.model && typeof m.model === 'object') {
    model = m.model;
    render();
  }
});

load();
vscode.postMessage({ command: 'ready' });
