// Wait-for graph layout (dagre) and its SVG (pure: runs in the webview bundle and in unit tests).

import * as dagre from '@dagrejs/dagre';
import type { GraphEdge, GraphNode } from './panelModel';
import { esc } from './render';

export interface LaidOut {
  width: number;
  height: number;
  nodes: Array<GraphNode & { x: number; y: number; w: number; h: number; text: string }>;
  edges: Array<GraphEdge & { points: Array<{ x: number; y: number }> }>;
}

const MAX_LABEL = 36;
const CHAR_W = 7.2;

export function shortLabel(s: string): string {
  return s.length > MAX_LABEL ? s.slice(0, MAX_LABEL - 1) + '…' : s;
}

export function layoutGraph(graph: { nodes: GraphNode[]; edges: GraphEdge[] }): LaidOut {
  const g = new dagre.graphlib.Graph({ multigraph: true });
  g.setGraph({ rankdir: 'LR', nodesep: 24, ranksep: 48, marginx: 8, marginy: 8 });
  g.setDefaultEdgeLabel(() => ({}));
  const text = new Map<string, string>();
  for (const n of graph.nodes) {
    const t = shortLabel(n.label);
    text.set(n.id, t);
    g.setNode(n.id, { width: Math.max(60, t.length * CHAR_W + 20), height: 28 });
  }
  graph.edges.forEach((e, i) => {
    if (g.hasNode(e.from) && g.hasNode(e.to)) g.setEdge(e.from, e.to, {}, `e${i}`);
  });
  dagre.layout(g);
  const info = g.graph();
  const nodes = graph.nodes.map((n) => {
    const v = g.node(n.id);
    return { ...n, x: v.x, y: v.y, w: v.width, h: v.height, text: text.get(n.id) ?? '' };
  });
  const edges = graph.edges
    .map((e, i) => ({ e, v: g.edge({ v: e.from, w: e.to, name: `e${i}` }) }))
    .filter((x) => x.v)
    .map(({ e, v }) => ({ ...e, points: (v.points ?? []).map((p: { x: number; y: number }) => ({ x: p.x, y: p.y })) }));
  return { width: Math.ceil(info.width ?? 0), height: Math.ceil(info.height ?? 0), nodes, edges };
}

const num = (n: number) => (Number.isFinite(n) ? Math.round(n * 10) / 10 : 0);

export function renderGraphSvg(l: LaidOut): string {
  if (l.nodes.length === 0) return '';
  const edges = l.edges
    .map((e) => `<path class="e ${e.kind}${e.inCycle ? ' cyc' : ''}" marker-end="url(#${e.inCycle ? 'ac' : 'a'})" d="${e.points.map((p, i) => `${i ? 'L' : 'M'}${num(p.x)},${num(p.y)}`).join(' ')}"></path>`)
    .join('');
  const nodes = l.nodes
    .map(
      (n) =>
        `<g class="n ${n.kind}${n.inCycle ? ' cyc' : ''}" data-node="${esc(n.id)}"><title>${esc(n.label)}</title><rect x="${num(n.x - n.w / 2)}" y="${num(n.y - n.h / 2)}" width="${num(n.w)}" height="${num(n.h)}"></rect><text x="${num(n.x)}" y="${num(n.y + 4)}" text-anchor="middle">${esc(n.text)}</text></g>`,
    )
    .join('');
  const marker = (id: string, cls: string) => `<marker id="${id}" class="${cls}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z"></path></marker>`;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${l.width}" height="${l.height}" viewBox="0 0 ${l.width} ${l.height}" role="img" aria-label="wait-for graph"><defs>${marker('a', '')}${marker('ac', 'cyc')}</defs>${edges}${nodes}</svg>`;
}
