import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { layoutGraph, renderGraphSvg } from '../../client/src/runtime/graphLayout';
import { buildPanelModel } from '../../client/src/runtime/panelModel';
import { contentSecurityPolicy, esc, jsonForScript, renderBody, renderShell } from '../../client/src/runtime/render';
import { edgeLine, JSQ, midasLines, modelOf, XSS } from './runtime-panel-fixtures';

const hostile = buildPanelModel(modelOf(midasLines({ odb: XSS, sysmsg: JSQ, t1: `</script><script>alert(1)</script>`, t2: `' onmouseover='alert(1)`, file: `src/<b>x</b>".rs` })), {
  title: `<svg onload=alert(1)>`,
  state: 'live',
});

const TAGS = new Set(['header', 'h1', 'h2', 'span', 'div', 'section', 'ol', 'ul', 'li', 'b', 'a', 'button', 'table', 'thead', 'tbody', 'tr', 'th', 'td', 'svg', 'defs', 'marker', 'path', 'g', 'title', 'rect', 'text']);
const ATTRS = /^(class|href|title|tabindex|id|role|aria-label|xmlns|width|height|viewBox|refX|refY|markerWidth|markerHeight|orient|d|marker-end|x|y|text-anchor|colspan|data-(site|sort|lock|cycle|action|node))$/;

/** Only our own markup: every tag and attribute is one we write, attribute values are quoted and contain no quote. */
function assertInert(html: string): void {
  const tags = [...html.matchAll(/<(\/?)([a-zA-Z][\w-]*)([^>]*)>/g)];
  assert.ok(tags.length > 0);
  for (const [whole, , name, rest] of tags) {
    assert.ok(TAGS.has(name), `unexpected tag <${name}> in ${whole}`);
    const leftover = rest.replace(/\s([a-zA-Z-]+)="[^"<>]*"/g, (m, attr: string) => {
      assert.match(attr, ATTRS, `unexpected attribute ${attr} in ${whole}`);
      return '';
    });
    assert.match(leftover, /^\s*$/, `stray attribute text in ${whole}`);
  }
  // Every `<` is one of those tags (no raw `<` in text).
  assert.equal((html.match(/</g) ?? []).length, tags.length, 'a raw < outside our tags');
}

describe('Lock Panel rendering', () => {
  it('escapes every string from the debuggee in the table, cycle, header and links', () => {
    const html = renderBody(hostile, { key: 'label', descending: false });
    assertInert(html);
    assert.ok(html.includes(esc(XSS)), 'the lock name is shown, escaped');
    assert.ok(html.includes('&quot;; alert(1);//'), 'the other lock name is shown, escaped');
    assert.ok(html.includes('&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt; #1'));
    assert.ok(html.includes('&#39; onmouseover=&#39;alert(1) #2'));
    assert.ok(html.includes('src/&lt;b&gt;x&lt;/b&gt;&quot;.rs:34'));
    assert.match(html, /<section class="cycle"/);
    assert.match(html, /data-site="\d+"/);
  });

  it('the page: strict CSP with the nonce, model as inert JSON that cannot close its script element', () => {
    const page = renderShell(hostile, { nonce: 'N0nce+/=', cspSource: 'vscode-webview://x', scriptUri: 'vscode-webview://x/lockPanel.js' });
    const csp = contentSecurityPolicy('N0nce+/=', 'vscode-webview://x');
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'nonce-N0nce\+\/='/);
    assert.ok(!csp.includes('unsafe-inline') && !csp.includes('unsafe-eval'));
    assert.ok(page.includes(`content="${esc(csp)}"`));
    const json = page.split('id="locklens-model"')[1];
    assert.ok(!/<\/script>[^]*<\/script>[^]*<script nonce/.test(json.split('<script nonce')[0]), 'the JSON has no </script>');
    assert.equal((page.match(/<script/g) ?? []).length, 2, 'exactly our two script elements');
    const body = page.slice(page.indexOf('<div id="root">') + 15, page.indexOf('<script type="application/json"'));
    assertInert(body.replace(/<\/div>\s*$/, ''));
    assert.deepEqual(JSON.parse(jsonForScript({ a: '</script><!--\u2028' })), { a: '</script><!--\u2028' });
    assert.ok(!jsonForScript({ a: '</script>' }).includes('<'));
  });

  it('wait-for graph: laid out with dagre, cycle in red, labels escaped', () => {
    const l = layoutGraph(hostile.graph);
    assert.equal(l.nodes.length, 4);
    assert.ok(l.width > 0 && l.height > 0);
    assert.ok(l.edges.every((e) => e.points.length >= 2));
    const xs = new Set(l.nodes.map((n) => Math.round(n.x)));
    assert.ok(xs.size > 1, 'nodes are spread over ranks');
    const svg = renderGraphSvg(l);
    assertInert(svg);
    assert.equal((svg.match(/class="e [a-z]+ cyc"/g) ?? []).length, 4, 'all four cycle edges are red');
    assert.match(svg, /<title>&lt;img src=x onerror=alert\(1\)&gt;<\/title>/);
    assert.equal(renderGraphSvg(layoutGraph({ nodes: [], edges: [] })), '');
  });

  it('inversions and order cycles with hostile names are escaped too', () => {
    const e = (t: number, tid: number, a: number, b: number) => edgeLine(t, tid, `${XSS}${tid}`, [a, `${JSQ}${a}`, 10 + a], [b, `${JSQ}${b}`, 20 + b], `src/<i>${a}</i>.rs`);
    const [e1, e2, e3, e4] = [e(1, 1, 1, 2), e(2, 2, 2, 3), e(3, 3, 3, 1), e(4, 4, 2, 1)];
    const cycle = { v: 1, type: 'order_cycle', t_ms: 3, edges: [e1, e2, e3].map(({ t_ms, thread, from, to }) => ({ t_ms, thread, from, to })) };
    const m = buildPanelModel(modelOf([midasLines()[0], e1, e2, e3, cycle, e4]), { title: 't', state: 'live' });
    assert.ok(m.inversions.length >= 1 && m.orderCycles.length === 1);
    const html = renderBody(m, { key: 'label', descending: false });
    assert.match(html, /Lock-order cycles seen at runtime/);
    assert.match(html, /Lock-order inversions seen at runtime/);
    assertInert(html);
  });

  it('esc covers the five HTML specials and backticks', () => {
    assert.equal(esc(`<a href="x" title='y'>&\``), '&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&#96;');
  });
});
