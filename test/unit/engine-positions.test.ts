// Positions are 0-based line / UTF-16 column in the engine (what LSP and tree-sitter use) and
// 1-based UTF-16 columns in the CLI's JSON and SARIF: non-ASCII text before a lock call must not
// shift findings or quick-fix edits. CRLF and a UTF-8 BOM must not either.

import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { analyze, ROOT, rustcCheck, rustcVersion } from '../support/engine-harness';
import { applyFix } from '../support/engine-fixes';

const SRC = [
  '#![allow(let_underscore_lock)]',
  'use std::sync::Mutex;',
  'pub fn f(m: &Mutex<u32>) {',
  '    let s = "é🦀"; let _ = m.lock();',
  '    /* ü */ let _ = m.lock().unwrap();',
  '}',
  '',
].join('\n');

describe('positions with non-ASCII text, CRLF and BOM', () => {
  test('engine columns are UTF-16 code units; fixes land on the right characters and compile', async (t) => {
    const r = await analyze(SRC);
    const lu = r.findings.filter((f) => f.rule === 'let-underscore-lock');
    assert.deepEqual(lu.map((f) => [f.range.start.line, f.range.start.column]), [[3, '    let s = "é🦀"; let _ = '.length], [4, '    /* ü */ let _ = '.length]]);
    const fixed = applyFix(SRC, lu[0].fixes[0]);
    assert.equal(fixed.split('\n')[3], '    let s = "é🦀"; let _guard = m.lock();');
    if (await rustcVersion()) {
      const c = await rustcCheck(fixed);
      assert.ok(c.ok, c.stderr);
    } else t.diagnostic('rustc not found: compile step skipped');
  });

  test('CRLF gives the same findings at the same positions', async () => {
    const [lf, crlf] = await Promise.all([analyze(SRC), analyze(SRC.replace(/\n/g, '\r\n'))]);
    const key = (fs: typeof lf.findings) => fs.map((f) => `${f.rule} ${f.range.start.line}:${f.range.start.column}-${f.range.end.line}:${f.range.end.column}`);
    assert.deepEqual(key(crlf.findings), key(lf.findings));
  });

  test('CLI JSON and SARIF use 1-based UTF-16 columns; a BOM does not shift them', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'locklens-pos-'));
    try {
      fs.writeFileSync(path.join(dir, 'a.rs'), SRC);
      fs.writeFileSync(path.join(dir, 'b.rs'), '\ufeff' + SRC);
      const run = (format: string) =>
        new Promise<string>((resolve, reject) =>
          execFile(process.execPath, [path.join(ROOT, 'bin', 'locklens.js'), 'check', dir, '--format', format, '--fail-on', 'none'], { timeout: 30_000 }, (err, stdout, stderr) =>
            err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout),
          ),
        );
      const [json, sarif] = await Promise.all([run('json'), run('sarif')]);
      const findings = JSON.parse(json).findings.filter((f: { rule: string }) => f.rule === 'let-underscore-lock');
      const expected = [
        [4, '    let s = "é🦀"; let _ = '.length + 1],
        [5, '    /* ü */ let _ = '.length + 1],
      ];
      for (const file of ['a.rs', 'b.rs']) {
        assert.deepEqual(findings.filter((f: { file: string }) => f.file === file).map((f: { line: number; column: number }) => [f.line, f.column]), expected, file);
      }
      const run0 = JSON.parse(sarif).runs[0];
      assert.equal(run0.columnKind, 'utf16CodeUnits');
      const res = run0.results.filter((x: { ruleId: string }) => x.ruleId === 'let-underscore-lock');
      const regions = res.map((x: any) => [x.locations[0].physicalLocation.artifactLocation.uri, x.locations[0].physicalLocation.region.startLine, x.locations[0].physicalLocation.region.startColumn]);
      assert.deepEqual(regions.sort(), [['a.rs', ...expected[0]], ['a.rs', ...expected[1]], ['b.rs', ...expected[0]], ['b.rs', ...expected[1]]].sort());
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
