// The invariants of ARCHITECTURE.md that a machine can check.

import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { RULES } from '../../server/src/analysis/rules/catalog';
import { FUNCTION_RULES } from '../../server/src/analysis/rules';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const ENGINE = path.join(ROOT, 'server', 'src', 'analysis');

function tsFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? tsFiles(p) : e.name.endsWith('.ts') ? [p] : [];
  });
}

function imports(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  return [...text.matchAll(/(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|require\(\s*['"]([^'"]+)['"]\s*\)|import\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => m[1] ?? m[2] ?? m[3]);
}

test('the engine imports no editor API, no file system, no process or network module', () => {
  const forbidden = /^(vscode|vscode-languageserver|vscode-languageclient|vscode-jsonrpc|fs|node:fs|child_process|node:child_process|net|node:net|worker_threads|node:worker_threads|http|https)(\/|$)/;
  const offenders: string[] = [];
  for (const f of tsFiles(ENGINE)) {
    for (const spec of imports(f)) {
      if (forbidden.test(spec)) offenders.push(`${path.relative(ROOT, f)} imports ${spec}`);
      // Relative imports must stay inside the engine.
      if (spec.startsWith('.') && !path.resolve(path.dirname(f), spec).startsWith(ENGINE)) offenders.push(`${path.relative(ROOT, f)} reaches outside the engine: ${spec}`);
    }
  }
  assert.deepEqual(offenders, []);
});

test('the engine tsconfig keeps Node and editor types out', () => {
  const raw = fs.readFileSync(path.join(ENGINE, 'tsconfig.json'), 'utf8').replace(/^\s*\/\/.*$/gm, '');
  const cfg = JSON.parse(raw);
  assert.deepEqual(cfg.compilerOptions.types, []);
  for (const m of ['vscode', 'vscode-languageserver', 'fs']) assert.ok(cfg.compilerOptions.paths[m], `paths blocks ${m}`);
});

test('each rule lives in its own file named after its id, and the catalogue lists every rule', () => {
  const ruleDir = path.join(ENGINE, 'rules');
  for (const rule of FUNCTION_RULES) {
    assert.ok(fs.existsSync(path.join(ruleDir, `${rule.id}.ts`)), `rules/${rule.id}.ts`);
    const catalogued = RULES.find((r) => r.id === rule.id);
    assert.ok(catalogued, `${rule.id} in the catalogue`);
    assert.equal(catalogued.defaultSeverity, rule.defaultSeverity, `${rule.id} default severity agrees`);
  }
  for (const r of RULES) {
    if (r.id === 'parse-error') continue;
    assert.ok(fs.existsSync(path.join(ROOT, 'docs', 'rules', `${r.id}.md`)), `docs/rules/${r.id}.md`);
  }
});

test('custom protocol messages are defined once, in common/, and documented', () => {
  const doc = fs.readFileSync(path.join(ROOT, 'docs', 'protocol.md'), 'utf8');
  const common = tsFiles(path.join(ROOT, 'common')).map((f) => fs.readFileSync(f, 'utf8')).join('\n');
  const methods = [...common.matchAll(/['"](locklens\/[A-Za-z]+)['"]/g)].map((m) => m[1]);
  assert.ok(methods.length >= 2, 'protocol methods found in common/');
  for (const m of new Set(methods)) assert.ok(doc.includes(m), `${m} documented in docs/protocol.md`);
  // No other module spells out a method name: they import it from common/.
  for (const dir of ['server/src/lsp', 'client/src']) {
    const full = path.join(ROOT, dir);
    if (!fs.existsSync(full)) continue;
    for (const f of tsFiles(full)) {
      const text = fs.readFileSync(f, 'utf8');
      for (const m of new Set(methods)) assert.ok(!text.includes(`'${m}'`) && !text.includes(`"${m}"`), `${path.relative(ROOT, f)} spells out ${m}`);
    }
  }
});

test('the editor-side rule list (common/rules.ts) agrees with the engine catalogue', async () => {
  const common = await import('../../common/rules');
  const engine = RULES.map((r) => r.id).filter((id) => id !== 'parse-error');
  assert.deepEqual([...common.RULE_IDS].sort(), [...engine].sort());
});
