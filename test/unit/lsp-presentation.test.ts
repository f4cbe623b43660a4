// The client's pure logic (common/presentation, common/restartPolicy), tested without VS Code.

import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import type { GuardRegion, LockGraphResult } from '../../common/protocol';
import { classColors, gutterBarSvg, hashString, hueOf } from '../../common/presentation/colors';
import { circleLayout, escapeHtml, renderLockGraphHtml } from '../../common/presentation/graphHtml';
import { activeRegion, mergeRanges, planDecorations } from '../../common/presentation/regions';
import { renderReport } from '../../common/presentation/report';
import { statusView } from '../../common/presentation/status';
import { RestartPolicy } from '../../common/restartPolicy';

const r = (l1: number, c1: number, l2: number, c2: number) => ({ start: { line: l1, character: c1 }, end: { line: l2, character: c2 } });

function region(lock: string, held: ReturnType<typeof r>[], acquisition = held[0]): GuardRegion {
  return {
    id: `${lock}:${held[0].start.line}`, lock, mode: 'mutex', flavor: 'std', kind: 'mutex', async: false, method: 'lock', certainty: 'certain',
    functionName: 'f', acquisition, held, releases: [], holder: { kind: 'binding', name: 'g' },
  };
}

describe('colours', () => {
  it('are stable per class, differ between classes and adapt to the theme', () => {
    assert.equal(hashString('Catalog.load'), hashString('Catalog.load'));
    assert.equal(hueOf('Catalog.load'), hueOf('Catalog.load'));
    assert.notEqual(hueOf('Midas.odb'), hueOf('Midas.sysmsg'));
    const dark = classColors('Midas.odb', 'dark');
    const light = classColors('Midas.odb', 'light');
    assert.notEqual(dark.tint, light.tint);
    for (const c of [dark.tint, dark.strong, dark.bar, light.tint]) assert.match(c, /^rgba\(\d{1,3}, \d{1,3}, \d{1,3}, (0|1|0\.\d+)\)$/);
    const alpha = (c: string) => Number(/, ([\d.]+)\)$/.exec(c)![1]);
    assert.ok(alpha(dark.tint) < alpha(dark.strong), 'the region under the cursor is stronger');
    assert.ok(alpha(classColors('x', 'highContrast').tint) > alpha(dark.tint));
    assert.match(gutterBarSvg(dark.bar), /^data:image\/svg\+xml;utf8,%3Csvg/);
  });
});

describe('decoration plan', () => {
  const regions = [region('A', [r(1, 4, 5, 1)]), region('A', [r(3, 0, 6, 1)]), region('B', [r(2, 8, 3, 2)]), region('C', [r(9, 0, 9, 0)])];

  it('merges a class\'s overlapping ranges, marks held lines in the gutter, ignores empty ranges', () => {
    const plan = planDecorations(regions, undefined, 'tint+gutter');
    assert.deepEqual(plan.tint.get('A'), [r(1, 4, 6, 1)]);
    assert.deepEqual(plan.gutter.get('B')!.map((x) => x.start.line), [2, 3]);
    assert.equal(plan.tint.has('C'), false);
    assert.equal(plan.active.size, 0);
    assert.deepEqual(mergeRanges([r(5, 0, 6, 0), r(1, 0, 2, 0), r(2, 0, 3, 0)]), [r(1, 0, 3, 0), r(5, 0, 6, 0)]);
  });

  it('highlights the innermost region under the cursor', () => {
    assert.equal(activeRegion(regions, { line: 2, character: 9 })!.lock, 'B');
    assert.equal(activeRegion(regions, { line: 8, character: 0 }), undefined);
    const plan = planDecorations(regions, { line: 5, character: 0 }, 'tint');
    assert.deepEqual([...plan.active.keys()], ['A']);
    assert.equal(plan.gutter.size, 0, 'tint only');
  });

  it('shows nothing when off, only the gutter in gutter mode', () => {
    const off = planDecorations(regions, { line: 2, character: 9 }, 'off');
    assert.equal(off.tint.size + off.gutter.size + off.active.size, 0);
    const gutter = planDecorations(regions, undefined, 'gutter');
    assert.equal(gutter.tint.size, 0);
    assert.deepEqual([...gutter.gutter.keys()].sort(), ['A', 'B']);
  });
});

const graph: LockGraphResult = {
  crates: ['demo<script>'],
  nodes: [
    { id: 'Midas.odb', flavor: 'std', kind: 'mutex', acquisitions: 2, modes: ['mutex'], level: 1 },
    { id: 'Midas.sysmsg', flavor: 'std', kind: 'mutex', acquisitions: 1, modes: ['mutex'], level: 0 },
    { id: '<img src=x onerror=alert(1)>', flavor: 'std', kind: 'mutex', acquisitions: 1, modes: ['mutex'] },
  ],
  edges: [
    { from: 'Midas.odb', to: 'Midas.sysmsg', inCycle: true, sites: [{ uri: 'file:///w/src/midas.rs', range: r(15, 12, 15, 24), functionName: 'Midas::db_set_value', via: ['Midas::cm_msg'] }] },
    { from: 'Midas.sysmsg', to: 'Midas.odb', inCycle: true, sites: [{ uri: 'file:///w/src/midas.rs', range: r(22, 8, 22, 30), functionName: 'Midas::cm_msg', via: ['Midas::db_get_value'] }] },
  ],
  cycles: [['Midas.odb', 'Midas.sysmsg']],
};

describe('lock graph webview', () => {
  it('has a strict CSP with the nonce on its only style and script', () => {
    const { html } = renderLockGraphHtml(graph, { nonce: 'abc123', cspSource: 'vscode-resource:' });
    const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]+)">/.exec(html)![1];
    assert.match(csp, /^default-src 'none';/);
    assert.match(csp, /script-src 'nonce-abc123'/);
    assert.match(csp, /style-src 'nonce-abc123'/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    assert.equal((html.match(/<script/g) ?? []).length, 1);
    assert.equal((html.match(/<script nonce="abc123">/g) ?? []).length, 1);
    assert.equal((html.match(/<style nonce="abc123">/g) ?? []).length, 1);
    assert.doesNotMatch(html, /<[^>]*\son[a-z]+=/i, 'no inline event handlers');
  });

  it('escapes every string from the graph', () => {
    const { html } = renderLockGraphHtml(graph, { nonce: 'n', cspSource: 'x', label: (u) => `${u}"><b>` });
    assert.doesNotMatch(html, /<img/);
    assert.doesNotMatch(html, /demo<script>/);
    assert.doesNotMatch(html, /"><b>/);
    assert.match(html, /&#60;img src=x onerror=alert\(1\)&#62;/);
    assert.equal(escapeHtml(`<a href='x'>"&\``), '&#60;a href=&#39;x&#39;&#62;&#34;&#38;&#96;');
  });

  it('lists cycles and sites, links sites by index, marks focused edges', () => {
    const { html, sites } = renderLockGraphHtml(graph, { nonce: 'n', cspSource: 'x', focusFunction: 'Midas::cm_msg', label: () => 'src/midas.rs' });
    assert.equal(sites.length, 2);
    assert.match(html, /<a href="#" data-site="0">src\/midas\.rs:16<\/a> in <code>Midas::db_set_value<\/code> via <code>Midas::cm_msg<\/code>/);
    assert.match(html, /<li><code>Midas\.odb<\/code> → <code>Midas\.sysmsg<\/code> → <code>Midas\.odb<\/code><\/li>/);
    assert.equal((html.match(/class="edge cycle"/g) ?? []).length, 1);
    assert.equal((html.match(/class="edge cycle focus"/g) ?? []).length, 1);
    const layout = circleLayout(['b', 'a', 'c'], 720, 400);
    assert.deepEqual(layout.map((l) => l.id), ['a', 'b', 'c']);
    assert.equal(new Set(layout.map((l) => `${l.x},${l.y}`)).size, 3);
  });
});

describe('report', () => {
  it('summarises findings by severity and rule, lists them by file, and shows the cycles', () => {
    const md = renderReport({
      title: 'LockLens report — demo',
      generatedAt: '2026-11-22T08:00:00Z',
      findings: [
        { file: 'src/midas.rs', line: 15, character: 12, rule: 'lock-order-inversion', severity: 'error', message: 'ABBA | deadlock\nsecond line', docs: 'file:///docs/rules/lock-order-inversion.md' },
        { file: 'src/cache.rs', line: 3, character: 0, rule: 'poison-unwrap', severity: 'warning', message: '<unwrap>' },
        { file: 'src/cache.rs', line: 1, character: 0, rule: 'poison-unwrap', severity: 'warning', message: 'first' },
      ],
      graph,
      label: () => 'src/midas.rs',
    });
    assert.match(md, /^# LockLens report — demo\n/);
    assert.match(md, /\*\*3 finding\(s\)\*\*: 1 error, 2 warning\./);
    assert.match(md, /\| \[`lock-order-inversion`\]\(file:\/\/\/docs\/rules\/lock-order-inversion\.md\) \| 1 \|/);
    assert.match(md, /\| `poison-unwrap` \| 2 \|/);
    assert.ok(md.indexOf('### src/cache.rs') < md.indexOf('### src/midas.rs'));
    assert.ok(md.indexOf('line 2, column 1: first') < md.indexOf('line 4, column 1: &lt;unwrap&gt;'));
    assert.match(md, /ABBA \\\| deadlock second line/);
    assert.match(md, /- `Midas\.odb` → `Midas\.sysmsg` → `Midas\.odb`/);
    assert.match(md, /`Midas\.sysmsg` while holding `Midas\.odb`: src\/midas\.rs:16 in `Midas::db_set_value` via `Midas::cm_msg`/);
  });

  it('says so when there is nothing to report', () => {
    const md = renderReport({ title: 'r', generatedAt: 'now', findings: [], graph: { crates: [], nodes: [], edges: [], cycles: [] } });
    assert.match(md, /\*\*0 finding\(s\)\*\*\./);
    assert.match(md, /No lock-order cycles\./);
  });
});

describe('status bar and restart policy', () => {
  it('shows progress, findings and errors', () => {
    assert.match(statusView(undefined, true).text, /LockLens/);
    assert.equal(statusView({ state: 'indexing', filesDone: 3, filesTotal: 12, findings: 0 }, true).text, '$(sync~spin) LockLens 3/12');
    const ready = statusView({ state: 'ready', filesDone: 5, filesTotal: 5, findings: 7 }, false);
    assert.equal(ready.text, '$(lock) LockLens: 7');
    assert.match(ready.tooltip, /7 findings in 5 files · Guard regions hidden/);
    assert.equal(statusView({ state: 'error', filesDone: 0, filesTotal: 0, findings: 0, message: 'wasm missing' }, true).emphasis, 'error');
  });

  it('allows a bounded number of restarts within the window', () => {
    let now = 0;
    const policy = new RestartPolicy(2, 1000, () => now);
    assert.equal(policy.crashed(), true);
    now = 10;
    assert.equal(policy.crashed(), true);
    now = 20;
    assert.equal(policy.crashed(), false, 'third crash within the window');
    now = 2000;
    assert.equal(policy.crashed(), true, 'old crashes expire');
    policy.reset();
    now = 2001;
    assert.equal(policy.crashed(), true);
  });
});
