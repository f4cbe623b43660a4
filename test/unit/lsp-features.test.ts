// Pure LSP conversions: allow comments, suppression edits, diagnostics, cycles, hierarchy.

import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import type { FileAnalysis } from '../../server/src/analysis/api';
import type { Finding } from '../../server/src/analysis/model';
import { DiagnosticCache, diagnosticsFor, eolAt, findingAfterEdits, findingToDiagnostic, hoverMarkdown, isSuppressed, splitLines, suppressionEdit, wordAt } from '../../server/src/lsp/features';
import { LockGraphBuilder } from '../../server/src/lsp/lockGraph';
import { changedIdentifiers, optionsFromConfig } from '../../server/src/lsp/server';
import type { FileDeclarations } from '../../server/src/analysis/api';

const range = (line: number, a: number, b: number) => ({ start: { line, column: a }, end: { line, column: b } });

function finding(rule: Finding['rule'], line: number, extra: Partial<Finding> = {}): Finding {
  return { rule, severity: 'warning', file: 'src/lib.rs', range: range(line, 4, 10), message: `${rule} here`, related: [], fixes: [], acquisitions: [], ...extra };
}

const ctx = {
  uriOf: (f: string) => (f === 'src/lib.rs' ? 'file:///w/src/lib.rs' : undefined),
  docHref: (r: string) => `file:///ext/docs/rules/${r}.md`,
  severityOf: () => 'default' as const,
};

describe('allow comments', () => {
  it('silence a rule at the end of its line or alone on the line above, or `all`', () => {
    const lines = ['    // locklens: allow(double-lock, poison-unwrap)', '    x.lock();', '    y.lock(); // locklens: allow(all)', '    z.lock();'];
    assert.equal(isSuppressed(finding('double-lock', 1), lines), true);
    assert.equal(isSuppressed(finding('scrutinee-guard', 1), lines), false);
    assert.equal(isSuppressed(finding('scrutinee-guard', 2), lines), true);
    assert.equal(isSuppressed(finding('scrutinee-guard', 3), lines), false, "a trailing comment on the line above is that line's");
  });

  it('are inserted above with the line indentation and line ending, or extend an existing one', () => {
    const lf = 'fn f() {\n\t  let g = m.lock().unwrap();\n}\n';
    assert.deepEqual(suppressionEdit(lf, 1, 'poison-unwrap'), { range: { start: { line: 1, character: 0 }, end: { line: 1, character: 0 } }, newText: '\t  // locklens: allow(poison-unwrap)\n' });
    const crlf = 'fn f() {\r\n    // locklens: allow(double-lock)\r\n    let g = m.lock().unwrap();\r\n}\r\n';
    const edit = suppressionEdit(crlf, 2, 'poison-unwrap');
    assert.deepEqual(edit.range, { start: { line: 1, character: 0 }, end: { line: 1, character: 35 } });
    assert.equal(edit.newText, '    // locklens: allow(double-lock, poison-unwrap)');
    assert.equal(suppressionEdit(crlf, 2, 'double-lock').newText, '    // locklens: allow(double-lock)', 'no duplicate');
    assert.equal(eolAt('a\r\nb', 1), '\r\n', 'last line without terminator uses the document style');
    assert.equal(suppressionEdit('let g = m.lock();', 0, 'x').newText, '// locklens: allow(x)\n');
  });
});

describe('diagnostics', () => {
  it('carry rule code, docs link, source, related locations, tags and user severities', () => {
    const f = finding('double-lock', 3, {
      severity: 'error',
      related: [
        { file: 'src/lib.rs', range: range(1, 0, 3), message: 'first here' },
        { file: 'elsewhere.rs', range: range(1, 0, 3), message: 'unresolvable' },
      ],
      tags: ['unnecessary'],
    });
    const d = findingToDiagnostic(f, ctx)!;
    assert.equal(d.code, 'double-lock');
    assert.equal(d.source, 'locklens');
    assert.equal(d.severity, 1);
    assert.deepEqual(d.codeDescription, { href: 'file:///ext/docs/rules/double-lock.md' });
    assert.equal(d.relatedInformation!.length, 1);
    assert.deepEqual(d.tags, [1]);
    assert.deepEqual(d.range, { start: { line: 3, character: 4 }, end: { line: 3, character: 10 } });
    assert.equal(findingToDiagnostic(f, { ...ctx, severityOf: () => 'hint' })!.severity, 4);
    assert.equal(findingToDiagnostic(f, { ...ctx, severityOf: () => 'off' }), undefined);
  });

  it('skip suppressed findings and findings of other files', () => {
    const analysis: FileAnalysis = {
      file: 'src/lib.rs',
      acquisitions: [],
      functions: [],
      syntaxErrors: 0,
      findings: [finding('double-lock', 1), finding('poison-unwrap', 2), { ...finding('poison-unwrap', 2), file: 'src/other.rs' }],
    };
    const text = 'fn f() {\n  a.lock();\n  // locklens: allow(poison-unwrap)\n';
    const out = diagnosticsFor(analysis, 'fn f() {\n  a.lock();\n  b.lock();\n', ctx);
    assert.deepEqual(out.map((d) => d.code), ['double-lock', 'poison-unwrap']);
    const suppressed = diagnosticsFor({ ...analysis, findings: [finding('poison-unwrap', 3)] }, text + '  b.lock();\n', ctx);
    assert.deepEqual(suppressed, []);
  });
});

describe('diagnostics across edits', () => {
  it('are converted once per finding object and context', () => {
    const cache = new DiagnosticCache();
    const f = finding('double-lock', 3, { related: [{ file: 'src/lib.rs', range: range(1, 0, 3), message: 'first here' }] });
    const d = cache.get(f, ctx)!;
    assert.deepEqual(d, findingToDiagnostic(f, ctx));
    assert.equal(d.data, undefined, 'nothing the server can recompute is sent');
    assert.equal(cache.get(f, ctx), d, 'the same finding: the same diagnostic');
    assert.notEqual(cache.get({ ...f }, ctx), d, 'another finding object is converted');
    const hint = cache.get(f, { ...ctx, severityOf: () => 'hint' })!;
    assert.equal(hint.severity, 4, 'a new severity setting converts again');
    assert.equal(cache.get(f, { ...ctx, severityOf: () => 'off' }), undefined);
    assert.equal(cache.get(f, { ...ctx, uriOf: () => 'file:///moved.rs' })!.relatedInformation![0].location.uri, 'file:///moved.rs', 'and so does a new URI of a related file');
    const analysis: FileAnalysis = { file: 'src/lib.rs', acquisitions: [], functions: [], syntaxErrors: 0, findings: [f] };
    assert.equal(diagnosticsFor(analysis, '', ctx, [], cache)[0], cache.get(f, ctx));
  });

  it('move with the edits made since they were computed', () => {
    const at = (row: number, column: number) => ({ row, column });
    // `abc` inserted at 2:4, then a line break inserted at 0:0.
    const edits = [
      { startIndex: 0, oldEndIndex: 0, newEndIndex: 3, startPosition: at(2, 4), oldEndPosition: at(2, 4), newEndPosition: at(2, 7) },
      { startIndex: 0, oldEndIndex: 0, newEndIndex: 1, startPosition: at(0, 0), oldEndPosition: at(0, 0), newEndPosition: at(1, 0) },
    ];
    const f = finding('lock-order-inversion', 2, {
      range: range(2, 6, 9),
      related: [
        { file: 'src/lib.rs', range: range(1, 0, 3), message: 'same file, above the first edit' },
        { file: 'src/other.rs', range: range(2, 6, 9), message: 'another file: stays' },
      ],
    });
    const moved = findingAfterEdits(f, edits);
    assert.deepEqual(moved.range, range(3, 9, 12));
    assert.deepEqual(moved.related.map((r) => r.range), [range(2, 0, 3), range(2, 6, 9)]);
    assert.equal(moved.message, f.message);
    const before = finding('poison-unwrap', 2, { range: range(2, 0, 3) });
    assert.deepEqual(findingAfterEdits(before, edits.slice(0, 1)), before, 'before the edit on its line: unchanged');
    assert.equal(findingAfterEdits(before, edits.slice(0, 1)), before, 'and the same object');
    // A deleted span: what was inside it collapses to where the deletion starts.
    const deletion = [{ startIndex: 0, oldEndIndex: 0, newEndIndex: 0, startPosition: at(1, 2), oldEndPosition: at(3, 1), newEndPosition: at(1, 2) }];
    assert.deepEqual(findingAfterEdits(finding('poison-unwrap', 2, { range: range(2, 4, 5) }), deletion).range, range(1, 2, 2), 'inside');
    assert.deepEqual(findingAfterEdits(finding('poison-unwrap', 3, { range: range(3, 4, 6) }), deletion).range, range(1, 5, 7), 'after, on the last deleted line');
    assert.deepEqual(findingAfterEdits(finding('poison-unwrap', 5, { range: range(5, 4, 6) }), deletion).range, range(3, 4, 6), 'later lines');
  });
});

describe('text helpers', () => {
  it('split lines on every terminator and find the word under the cursor', () => {
    assert.deepEqual(splitLines('a\r\nb\nc\rd'), ['a', 'b', 'c', 'd']);
    const lines = ['    odb.push(x);'];
    assert.deepEqual(wordAt(lines, { line: 0, character: 7 }), { word: 'odb', range: { start: { line: 0, character: 4 }, end: { line: 0, character: 7 } } });
    assert.equal(wordAt(lines, { line: 0, character: 2 }), undefined);
    assert.equal(wordAt(lines, { line: 5, character: 0 }), undefined);
  });

  it('hover markdown keeps lock classes in code spans and escapes reasons outside them', () => {
    const md = hoverMarkdown(
      {
        id: 'src/lib.rs:1:1', file: 'src/lib.rs', lock: 'Catalog.load', lockType: { flavor: 'std', kind: 'rwlock', async: false, poisons: true },
        mode: 'read', method: 'read', isTry: false, certainty: 'certain', range: range(0, 0, 5), callRange: range(0, 0, 5), receiverText: 'self.load',
        functionName: 'Catalog::route', holder: { kind: 'temporary' }, held: [range(0, 0, 5)],
        releases: [{ position: { line: 4, column: 4 }, kind: 'scope-end', reason: 'end of the `if let` <else> *arm*' }],
      },
      { edition: '2021', editionSource: 'Cargo.toml of demo' },
    );
    assert.match(md, /\*\*`Catalog\.load`\*\* — shared \(read\) guard of a `std::RwLock`/);
    assert.match(md, /end of the `if let` \\<else\\> \\\*arm\\\*/);
    assert.match(md, /Edition 2021 \(Cargo\.toml of demo\)/);
  });
});

describe('lock graph helpers', () => {
  it('read the engine options from the crate configuration', () => {
    assert.deepEqual(optionsFromConfig({ order: [], reentrant: ['R.m'], wrappers: ['MyMutex'], blocking: ['rpc::call'], severities: { 'double-lock': 'off', bad: 3 } }), {
      reentrantClasses: ['R.m'],
      lockWrappers: ['MyMutex'],
      blockingFunctions: ['rpc::call'],
      severities: { 'double-lock': 'off' },
    });
  });
});

describe('declaration changes', () => {
  const base: FileDeclarations = {
    file: 'src/lib.rs',
    modulePath: 'crate',
    imports: { Mutex: 'std::sync::Mutex' },
    statics: [],
    structs: [{ name: 'Odb', file: 'src/lib.rs', range: range(1, 0, 4), fields: [{ name: 'odb', typeText: 'Mutex<Vec<i64>>', range: range(2, 4, 9) }] }],
    functions: [
      { qualifiedName: 'Odb::get', name: 'get', selfType: 'Odb', params: [], isAsync: false, file: 'src/lib.rs', range: range(6, 0, 9), nameRange: range(6, 7, 10), modulePath: 'crate', lockPath: undefined },
    ],
  };
  it('ignore moved positions and name what changed', () => {
    const moved: FileDeclarations = JSON.parse(JSON.stringify(base));
    moved.functions[0].range = range(16, 0, 19);
    moved.structs[0].fields[0].range = range(12, 4, 9);
    assert.deepEqual([...changedIdentifiers(base, moved)], []);
    const retyped: FileDeclarations = JSON.parse(JSON.stringify(base));
    retyped.structs[0].fields[0].typeText = 'parking_lot::Mutex<Vec<i64>>';
    assert.deepEqual([...changedIdentifiers(base, retyped)].sort(), ['Odb', 'odb']);
    const added: FileDeclarations = JSON.parse(JSON.stringify(base));
    added.functions.push({ ...added.functions[0], qualifiedName: 'Odb::set', name: 'set' });
    assert.deepEqual([...changedIdentifiers(base, added)].sort(), ['Odb', 'set']);
    assert.ok(changedIdentifiers(base, { ...base, modulePath: 'crate::db' }).has('*'));
  });
});

describe('LockGraphBuilder', () => {
  const acq = (id: string, lock: string, fn: string, line: number, heldTo: number, mode: 'mutex' | 'read' = 'mutex') => ({
    id, file: 'src/lib.rs', lock, lockType: { flavor: 'std' as const, kind: 'mutex' as const, async: false, poisons: true }, mode, method: 'lock',
    isTry: false, certainty: 'certain' as const, range: range(line, 8, 20), callRange: range(line, 8, 20), receiverText: 'self.m', functionName: fn,
    holder: { kind: 'binding' as const, name: 'g', range: range(line, 4, 5), mutable: false }, releases: [], held: [{ start: { line, column: 8 }, end: { line: heldTo, column: 1 } }],
  });
  const call = (name: string, line: number, held: string[], extra: object = {}) => ({ calleeText: `self.${name}`, name, receiverText: 'self', range: range(line, 8, 16), heldGuards: held, ...extra });
  const fn = (name: string, line: number, acquisitions: string[], calls: ReturnType<typeof call>[]) => ({
    qualifiedName: `S::${name}`, selfType: 'S', file: 'src/lib.rs', range: range(line, 0, line + 9), nameRange: range(line, 4, 8), acquisitions, calls,
  });

  it('follows recursive call chains once, ignores deferred calls, and reports call-chain double locks', () => {
    const analysis: FileAnalysis = {
      file: 'src/lib.rs',
      syntaxErrors: 0,
      findings: [],
      acquisitions: [acq('a1', 'S.a', 'S::f', 1, 5), acq('b1', 'S.b', 'S::g', 11, 15), acq('c1', 'S.c', 'S::h', 21, 25)],
      functions: [
        fn('f', 0, ['a1'], [call('g', 2, ['a1']), call('h', 3, ['a1'], { deferred: true })]),
        fn('g', 10, ['b1'], [call('f', 12, ['b1']), call('g', 13, [])]),
        fn('h', 20, ['c1'], []),
      ],
    };
    const files = [{ crate: 'w', analysis }];
    const builder = new LockGraphBuilder(files);
    const f = analysis.functions[0];
    // The call to g under S.a reaches S.b (in g) and, through g's call back to f, S.a again.
    assert.deepEqual(builder.locksOfCall(f, f.calls[0]).map((t) => `${t.lock} via ${t.via.join('>')}`).sort(), ['S.a via S::g>S::f', 'S.b via S::g']);
    // h runs later (a deferred call): S.c is not among what f takes.
    assert.ok(!builder.get().functions.find((x) => x.name === 'S::f')!.locks.some((l) => l.lock === 'S.c'));
    const graph = builder.build(() => 'file:///w/src/lib.rs', ['w']);
    assert.deepEqual(graph.edges.map((e) => `${e.from}->${e.to}`), ['S.a->S.b', 'S.b->S.a']);
    assert.deepEqual(graph.cycles.map((c) => [...c].sort()), [['S.a', 'S.b']]);
    assert.ok(graph.edges.every((e) => e.inCycle && e.sites.length > 0 && e.sites[0].uri === 'file:///w/src/lib.rs'));
    const findings = builder.findings();
    const doubles = findings.filter((x) => x.rule === 'double-lock').map((x) => x.message);
    // f holds S.a and calls g, which calls f again: S.a is taken twice on one thread.
    assert.ok(doubles.some((m) => m.includes('`S.a` (mutex) is held here') && m.includes('via S::g → S::f')), JSON.stringify(doubles));
    assert.equal(findings.filter((x) => x.rule === 'lock-order-inversion').length, 2);
    assert.equal(new LockGraphBuilder(files, { reentrant: ['S.a', 'S.b'] }).findings().filter((x) => x.rule === 'double-lock').length, 0, 'reentrant classes');
    const hierarchy = new LockGraphBuilder(files, { order: [['S.b'], ['S.a']] }).findings().filter((x) => x.rule === 'lock-hierarchy');
    assert.deepEqual(hierarchy.map((h) => h.range.start.line), [2], 'S.b (level 0) taken under S.a (level 1) at the call in f');
  });
});
