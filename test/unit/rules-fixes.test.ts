// Quick fixes, end to end: every fix the engine offers on the std-only fixtures is applied to
// the fixture text (test/support/engine-fixes.ts), the result must still type-check with rustc
// (`--emit=metadata`, warnings allowed), and re-analysing it must show the finding gone.
// Fixes that only make sense with crates (tracing/log, parking_lot) are checked for their text
// shape only: rustc cannot see those crates here.

import { strict as assert } from 'node:assert';
import { before, describe, test } from 'node:test';
import type { Edition, Finding, Fix } from '../../server/src/analysis/model';
import { analyze, findingAt, lineOf, readRuleFixture, rustcCheck, rustcVersion } from '../support/engine-harness';
import { applyEdits, applyFix, offsetAt } from '../support/engine-fixes';

interface FixCase {
  fixture: string;
  rules: string[];
  edition: Edition;
}

/** Std-only fixtures (they compile as they are) and the rules whose fixes we apply. */
const FIXABLE: FixCase[] = [
  { fixture: 'poison_unwrap.rs', rules: ['poison-unwrap'], edition: '2021' },
  { fixture: 'let_underscore_lock.rs', rules: ['let-underscore-lock'], edition: '2021' },
  { fixture: 'guard_tightening.rs', rules: ['guard-tightening'], edition: '2021' },
  { fixture: 'guard_across_await.rs', rules: ['guard-across-await'], edition: '2021' },
  { fixture: 'scrutinee_guard.rs', rules: ['scrutinee-guard'], edition: '2021' },
  { fixture: 'scrutinee_guard.rs', rules: ['scrutinee-guard'], edition: '2024' },
  { fixture: 'scrutinee_hoist.rs', rules: ['scrutinee-guard'], edition: '2021' },
  { fixture: 'scrutinee_hoist.rs', rules: ['scrutinee-guard'], edition: '2024' },
  { fixture: 'blocking_under_lock.rs', rules: ['guard-tightening', 'poison-unwrap'], edition: '2021' },
  { fixture: 'double_lock.rs', rules: ['poison-unwrap', 'scrutinee-guard'], edition: '2021' },
];

let rustc: string | undefined;
before(async () => {
  rustc = await rustcVersion();
});

function count(findings: Finding[], rule: string): number {
  return findings.filter((f) => f.rule === rule).length;
}

describe('applyEdits helper', () => {
  test('applies several edits against the original text, in any order, and keeps CRLF', () => {
    const text = 'let _ = m.lock();\r\nfoo();\r\n';
    const out = applyEdits(text, [
      { file: 'x', range: { start: { line: 1, column: 0 }, end: { line: 1, column: 3 } }, newText: 'bar' },
      { file: 'x', range: { start: { line: 0, column: 4 }, end: { line: 0, column: 5 } }, newText: '_guard' },
      { file: 'x', range: { start: { line: 1, column: 6 }, end: { line: 1, column: 6 } }, newText: '\r\ndrop(_guard);' },
    ]);
    assert.equal(out, 'let _guard = m.lock();\r\nbar();\r\ndrop(_guard);\r\n');
  });

  test('inserts at one position in the order given; rejects overlaps and columns past a line end', () => {
    const ins = (t: string) => ({ file: 'x', range: { start: { line: 0, column: 1 }, end: { line: 0, column: 1 } }, newText: t });
    assert.equal(applyEdits('ab', [ins('1'), ins('2')]), 'a12b');
    assert.throws(() => applyEdits('abcdef', [
      { file: 'x', range: { start: { line: 0, column: 0 }, end: { line: 0, column: 3 } }, newText: '' },
      { file: 'x', range: { start: { line: 0, column: 2 }, end: { line: 0, column: 4 } }, newText: '' },
    ]), /overlap/);
    assert.throws(() => offsetAt('ab\r\ncd', { line: 0, column: 3 }), /past the end/);
    assert.equal(offsetAt('ab\r\ncd', { line: 1, column: 2 }), 6);
  });
});

describe('every quick fix on the std-only fixtures compiles and removes its finding', () => {
  for (const c of FIXABLE) {
    test(`${c.fixture} (${c.rules.join(', ')}; edition ${c.edition})`, async (t) => {
      if (!rustc) return t.skip('rustc not found');
      const text = readRuleFixture(c.fixture);
      const base = await rustcCheck(text, c.edition);
      assert.ok(base.ok, `the fixture itself must compile:\n${base.stderr}`);
      const r = await analyze(text, { edition: c.edition });
      const jobs: Array<Promise<void>> = [];
      let fixes = 0;
      for (const f of r.findings.filter((x) => c.rules.includes(x.rule))) {
        for (const fix of f.fixes) {
          fixes++;
          const label = `${f.rule} at line ${f.range.start.line + 1}: "${fix.title}"`;
          const fixed = applyFix(text, fix);
          assert.notEqual(fixed, text, `${label} changes nothing`);
          jobs.push(
            (async () => {
              const [compiled, again] = await Promise.all([rustcCheck(fixed, c.edition), analyze(fixed, { edition: c.edition })]);
              assert.ok(compiled.ok, `${label} does not compile:\n${compiled.stderr}\n--- fixed text ---\n${fixed}`);
              assert.equal(again.syntaxErrors, 0, `${label} leaves syntax errors`);
              assert.equal(count(again.findings, f.rule), count(r.findings, f.rule) - 1, `${label} does not remove exactly its finding`);
            })(),
          );
        }
      }
      assert.ok(fixes > 0, 'expected at least one fix');
      await Promise.all(jobs);
    });
  }

  test('fixes keep CRLF line ends and produce the same code as on LF', async (t) => {
    if (!rustc) return t.skip('rustc not found');
    for (const name of ['poison_unwrap.rs', 'let_underscore_lock.rs', 'guard_tightening.rs', 'scrutinee_guard.rs', 'guard_across_await.rs']) {
      const lf = readRuleFixture(name);
      const crlf = lf.replace(/\n/g, '\r\n');
      const [a, b] = await Promise.all([analyze(lf), analyze(crlf)]);
      const fa = a.findings.filter((f) => f.fixes.length > 0);
      const fb = b.findings.filter((f) => f.fixes.length > 0);
      assert.equal(fb.length, fa.length, `${name}: same fixes on CRLF`);
      fa.forEach((f, i) => {
        f.fixes.forEach((fix, j) => {
          const fixedCrlf = applyFix(crlf, fb[i].fixes[j]);
          assert.ok(!/[^\r]\n/.test(fixedCrlf), `${name}: ${fix.title} inserted a bare LF`);
          assert.equal(fixedCrlf.replace(/\r\n/g, '\n'), applyFix(lf, fix), `${name}: ${fix.title} differs on CRLF`);
        });
      });
    }
    // One CRLF result through rustc, for good measure.
    const crlf = readRuleFixture('let_underscore_lock.rs').replace(/\n/g, '\r\n');
    const r = await analyze(crlf);
    const f = r.findings.find((x) => x.rule === 'let-underscore-lock')!;
    const compiled = await rustcCheck(applyFix(crlf, f.fixes[1]));
    assert.ok(compiled.ok, compiled.stderr);
  });
});

describe('fix shapes (crate-dependent fixes: text only, rustc cannot see the crates here)', () => {
  const propagate = (f: Finding) => f.fixes.find((x) => /map_err/.test(x.title));

  test('poison-unwrap: recover is preferred; propagate only for io::Result, Result<_, String>, Result<_, Box<dyn Error>>', async () => {
    const text = readRuleFixture('poison_unwrap.rs');
    const r = await analyze(text);
    const at = (needle: string, after?: string) => findingAt(r.findings, 'poison-unwrap', lineOf(text, needle, after));
    for (const f of r.findings.filter((x) => x.rule === 'poison-unwrap')) {
      assert.equal(f.fixes[0].isPreferred, true);
      assert.equal(f.fixes[0].edits.length, 1);
      assert.equal(f.fixes[0].edits[0].newText, '.unwrap_or_else(|poisoned| poisoned.into_inner())');
    }
    assert.equal(propagate(at('self.rows.lock().unwrap().len()')), undefined, 'fn returning usize: no propagate fix');
    assert.equal(propagate(at('let mut rows')), undefined, 'fn returning (): no propagate fix');
    assert.equal(propagate(at('let g = m.lock()', 'fn in_closure')), undefined, 'inside a closure: no propagate fix');
    assert.match(propagate(at('let rows', 'fn save'))!.edits[0].newText, /^\.map_err\(\|_\| std::io::Error::other\(".*Db\.rows.*"\)\)\?$/);
    assert.match(propagate(at('let rows', 'fn get('))!.edits[0].newText, /^\.map_err\(\|_\| String::from\(".*"\)\)\?$/);
    assert.match(propagate(at('let idx', 'fn size('))!.edits[0].newText, /^\.map_err\(\|_\| ".*Db\.index.*"\)\?$/);
    assert.ok(propagate(at('let idx', 'fn size_sync(')));
    assert.equal(propagate(at('let rows', 'fn save'))!.isPreferred, false);
  });

  for (const [dep, macro] of [['tracing', 'tracing::warn!'], ['log', 'log::warn!']] as const) {
    test(`poison-unwrap: recover fix logs with ${macro} when the crate depends on ${dep}`, async () => {
      const text = 'use std::sync::Mutex;\r\npub fn f(m: &Mutex<u32>) -> u32 {\r\n    let g = m.lock().unwrap();\r\n    *g\r\n}\r\n';
      const r = await analyze(text, { dependencies: [dep, 'serde'] });
      const f = findingAt(r.findings, 'poison-unwrap', 3);
      const fix = f.fixes[0];
      assert.ok(fix.title.includes(macro), fix.title);
      const fixed = applyFix(text, fix);
      assert.equal(
        fixed,
        'use std::sync::Mutex;\r\npub fn f(m: &Mutex<u32>) -> u32 {\r\n' +
          '    let g = m.lock().unwrap_or_else(|poisoned| {\r\n' +
          `        ${macro}("lock \`f::m\` was poisoned, recovering");\r\n` +
          '        poisoned.into_inner()\r\n' +
          '    });\r\n    *g\r\n}\r\n',
      );
    });
  }

  test('poison-unwrap: tracing wins over log; no logging without either', async () => {
    const text = 'use std::sync::Mutex;\npub fn f(m: &Mutex<u32>) -> u32 {\n    *m.lock().unwrap()\n}\n';
    const both = await analyze(text, { dependencies: ['log', 'tracing'] });
    assert.match(both.findings[0].fixes[0].edits[0].newText, /tracing::warn!/);
    const none = await analyze(text, { dependencies: ['serde'] });
    assert.doesNotMatch(none.findings[0].fixes[0].edits[0].newText, /warn!/);
  });

  test('let-underscore-lock: `let _guard` (preferred) and `drop(..)`, also for parking_lot', async () => {
    const text = readRuleFixture('let_underscore_lock_crates.rs');
    const r = await analyze(text);
    const f = findingAt(r.findings, 'let-underscore-lock', lineOf(text, 'let _ = self.m.lock()'));
    assert.equal(f.fixes.length, 2);
    assert.equal(f.fixes[0].isPreferred, true);
    const lines = (s: string) => s.split('\n');
    const l = lineOf(text, 'let _ = self.m.lock()') - 1;
    assert.equal(lines(applyFix(text, f.fixes[0]))[l].trim(), 'let _guard = self.m.lock(); //~ let-underscore-lock');
    assert.equal(lines(applyFix(text, f.fixes[1]))[l].trim(), 'drop(self.m.lock()); //~ let-underscore-lock');
  });

  test('guard-across-await: `drop(g);` before the awaiting statement only when the guard is unused after it', async () => {
    const text = readRuleFixture('guard_across_await.rs');
    const r = await analyze(text);
    const held = findingAt(r.findings, 'guard-across-await', lineOf(text, 'let entries', 'fn held'));
    assert.equal(held.fixes.length, 1);
    const fixed = applyFix(text, held.fixes[0]).split('\n');
    const l = lineOf(text, 'save(n).await', 'fn held') - 1;
    assert.equal(fixed[l], '        drop(entries);');
    assert.equal(fixed[l + 1], '        save(n).await;');
    const usedAfter = findingAt(r.findings, 'guard-across-await', lineOf(text, 'let cfg', 'fn read_used_after'));
    assert.equal(usedAfter.fixes.length, 0, 'the guard is used after the await: dropping it would not compile');
  });

  test('guard-across-await: no drop fix when the guard or a borrow of it is used in or after the awaiting statement', async () => {
    const text = readRuleFixture('guard_across_await.rs');
    const r = await analyze(text);
    const fixes = (needle: string, after: string) => findingAt(r.findings, 'guard-across-await', lineOf(text, needle, after)).fixes.length;
    assert.equal(fixes('let mut g', 'fn used_in_awaiting_statement'), 0);
    assert.equal(fixes('let g', 'fn borrow_used_after'), 0);
    assert.equal(fixes('let g', 'fn used_before_loop'), 1);
  });

  test('guard-tightening: `drop(g);` right after the statement with the last use', async () => {
    const text = readRuleFixture('guard_tightening.rs');
    const r = await analyze(text);
    const f = findingAt(r.findings, 'guard-tightening', lineOf(text, 'let beats', 'fn expire'));
    const fixed = applyFix(text, f.fixes[0]).split('\n');
    const last = lineOf(text, 'let expired = beats.iter()') - 1;
    assert.equal(fixed[last + 1], '        drop(beats);');
  });

  test('scrutinee-guard: no hoist where it would not compile or would change what runs', async () => {
    const text = readRuleFixture('scrutinee_hoist.rs');
    const r = await analyze(text);
    const fixes = (needle: string, after?: string) => findingAt(r.findings, 'scrutinee-guard', lineOf(text, needle, after)).fixes.length;
    assert.equal(fixes('as_deref()'), 0, '`as_deref()` borrows from the guard');
    assert.equal(fixes('move |k| if let'), 0, 'inside a closure without a block: `k` is not in scope outside');
    assert.equal(fixes('true => match'), 0, 'a match arm: hoisting would take the lock on every path');
    assert.equal(fixes('} else if let'), 0, '`else if let`: hoisting would take the lock before the first condition');
    assert.ok(fixes('match *self.st.lock()') > 0);
    assert.equal(fixes('for v in m.lock().unwrap().iter_mut()'), 0, 'iter_mut: a copy would not be mutated');
    assert.equal(fixes('for v in m.lock().unwrap().drain(..)'), 0, 'drain: a copy would not be drained');
    assert.equal(fixes('for v in m.lock().unwrap().iter() {'), 1, 'iter: iterate over a copy');
  });

  test('scrutinee-guard: hoist clones a borrowed value out and matches on `.as_ref()`; a fresh name when `value` is taken', async () => {
    const text = readRuleFixture('scrutinee_guard.rs');
    const r = await analyze(text);
    const l = lineOf(text, 'if let Some(Load::Local(load))');
    const fixed = applyFix(text, findingAt(r.findings, 'scrutinee-guard', l).fixes[0]).split('\n');
    assert.equal(fixed[l - 1].trim(), 'let value = self.load.read().unwrap().get(name).cloned();');
    assert.equal(fixed[l].trim(), 'if let Some(Load::Local(load)) = value.as_ref() { //~ scrutinee-guard@2021');
    const taken = 'use std::sync::Mutex;\nfn audit() {}\npub fn f(m: &Mutex<Vec<u32>>, value: u32) -> u32 {\n    match m.lock().unwrap().len() {\n        0 => value,\n        _ => {\n            audit();\n            1\n        }\n    }\n}\n';
    const r2 = await analyze(taken);
    const fix = findingAt(r2.findings, 'scrutinee-guard', 4).fixes[0];
    assert.match(applyFix(taken, fix), /let value_1 = m\.lock\(\)\.unwrap\(\)\.len\(\);\n    match value_1 \{/);
  });
});
