// Quick fixes that need crates (parking_lot, tokio, dashmap, tracing, log), type-checked with
// `cargo check` against a local directory registry (Debian's /usr/share/cargo/registry, or
// LOCKLENS_DEBIAN_REGISTRY). Opt-in: set LOCKLENS_CRATE_TESTS=1. The first run compiles the
// crates (~30 s); the target folder is kept in the temp dir, so later runs take ~1 s.
// Without it these fixes are only checked for their text shape (rules-fixes.test.ts).

import { strict as assert } from 'node:assert';
import { execFile, execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import type { Finding } from '../../server/src/analysis/model';
import { analyze, readRuleFixture } from '../support/engine-harness';
import { applyFix } from '../support/engine-fixes';

const REGISTRY = process.env.LOCKLENS_DEBIAN_REGISTRY || '/usr/share/cargo/registry';
const CRATES = ['parking_lot', 'tokio', 'dashmap', 'tracing', 'log'];

function skipReason(): string | undefined {
  if (process.env.LOCKLENS_CRATE_TESTS !== '1') return 'set LOCKLENS_CRATE_TESTS=1 to type-check crate-dependent fixes with cargo';
  try {
    execFileSync('cargo', ['--version'], { stdio: 'ignore' });
  } catch {
    return 'cargo not found';
  }
  if (!fs.existsSync(REGISTRY)) return `no crate registry at ${REGISTRY}`;
  const have = fs.readdirSync(REGISTRY);
  const missing = CRATES.filter((c) => !have.some((d) => d.startsWith(`${c}-`) && /\d/.test(d.slice(c.length + 1, c.length + 2))));
  return missing.length ? `crates missing from ${REGISTRY}: ${missing.join(', ')}` : undefined;
}

const FIXTURES = ['guard_across_await_crates.rs', 'double_lock_crates.rs', 'let_underscore_lock_crates.rs', 'poison_unwrap_crates.rs', 'mutation_during_iteration.rs'];

interface Variant {
  module: string;
  text: string;
  label: string;
  /** Re-analysis check: the rule whose finding count must drop by one. */
  check?: { rule: string; before: number; deps?: string[] };
}

function cargoCheck(dir: string): Promise<{ ok: boolean; output: string }> {
  return new Promise((resolve) => {
    execFile(
      'cargo',
      ['check', '--offline', '--quiet', '--message-format', 'short', '--config', 'source.crates-io.replace-with="debian"', '--config', `source.debian.directory="${REGISTRY}"`],
      { cwd: dir, timeout: 300_000, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => resolve({ ok: !err, output: `${stdout}${stderr}` }),
    );
  });
}

const count = (fs: Finding[], rule: string) => fs.filter((f) => f.rule === rule).length;

describe('crate-dependent quick fixes compile (cargo check)', () => {
  const reason = skipReason();
  test('parking_lot / tokio / dashmap fixtures and every fix on them; tracing and log recover fixes', { skip: reason, timeout: 300_000 }, async () => {
    const variants: Variant[] = [];
    for (const name of FIXTURES) {
      const text = readRuleFixture(name);
      const base = name.replace(/\.rs$/, '');
      variants.push({ module: `${base}_orig`, text, label: `${name} as written` });
      const r = await analyze(text);
      let i = 0;
      for (const f of r.findings) {
        for (const fix of f.fixes) {
          variants.push({ module: `${base}_fix${i++}`, text: applyFix(text, fix), label: `${name}: ${f.rule} line ${f.range.start.line + 1}: ${fix.title}`, check: { rule: f.rule, before: count(r.findings, f.rule) } });
        }
      }
    }
    const poison = 'use std::sync::Mutex;\npub fn f(m: &Mutex<Vec<u32>>) -> usize {\n    let g = m.lock().unwrap();\n    g.len()\n}\npub fn h(m: &Mutex<u32>) -> u32 {\n    *m.lock().expect("poisoned")\n}\n';
    for (const dep of ['tracing', 'log']) {
      const r = await analyze(poison, { dependencies: [dep] });
      r.findings.forEach((f, i) => {
        const fix = f.fixes[0];
        assert.match(fix.title, new RegExp(`${dep}::warn!`));
        variants.push({ module: `poison_${dep}_${i}`, text: applyFix(poison, fix), label: `poison-unwrap with ${dep}: ${fix.title}`, check: { rule: 'poison-unwrap', before: r.findings.length, deps: [dep] } });
      });
    }
    const dir = path.join(os.tmpdir(), 'locklens-crate-fixes');
    fs.rmSync(path.join(dir, 'src'), { recursive: true, force: true });
    fs.mkdirSync(path.join(dir, 'src'), { recursive: true });
    fs.writeFileSync(
      path.join(dir, 'Cargo.toml'),
      '[package]\nname = "locklens_fix_check"\nversion = "0.0.0"\nedition = "2021"\npublish = false\n\n[dependencies]\nparking_lot = "0.12"\ntokio = { version = "1", features = ["sync", "rt"] }\ndashmap = "5"\ntracing = "0.1"\nlog = "0.4"\n\n[workspace]\n',
    );
    for (const v of variants) fs.writeFileSync(path.join(dir, 'src', `${v.module}.rs`), v.text);
    fs.writeFileSync(path.join(dir, 'src', 'lib.rs'), `#![allow(warnings)]\n${variants.map((v) => `mod ${v.module};`).join('\n')}\n`);
    const result = await cargoCheck(dir);
    if (!result.ok) {
      const broken = variants.filter((v) => result.output.includes(`src/${v.module}.rs`));
      assert.fail(`cargo check failed for:\n${broken.map((v) => `  ${v.label}`).join('\n') || '  (the crate setup)'}\n${result.output.slice(0, 4000)}`);
    }
    for (const v of variants) {
      if (!v.check) continue;
      const again = await analyze(v.text, { dependencies: v.check.deps });
      assert.equal(count(again.findings, v.check.rule), v.check.before - 1, `${v.label}: the finding is not gone`);
    }
    assert.ok(variants.length >= 14, `only ${variants.length} variants`);
  });
});
