// Every rule on fixture files under test/fixtures/rules: each `//~ rule-id[:severity]` marker is
// a finding expected on that line, and every other line of the fixture must stay clean of the
// rules the fixture is about (negative cases live next to the positive ones).

import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { actualKeys, analyze, expectedMarkers, readRuleFixture } from '../support/engine-harness';
import type { Edition } from '../../server/src/analysis/model';

interface Case {
  fixture: string;
  rules: string[];
  edition?: Edition;
  dependencies?: string[];
}

const CASES: Case[] = [
  { fixture: 'guard_across_await.rs', rules: ['guard-across-await'] },
  { fixture: 'guard_across_await_crates.rs', rules: ['guard-across-await'] },
  { fixture: 'double_lock.rs', rules: ['double-lock'] },
  { fixture: 'double_lock_crates.rs', rules: ['double-lock'] },
  { fixture: 'poison_unwrap.rs', rules: ['poison-unwrap'] },
  { fixture: 'poison_unwrap_crates.rs', rules: ['poison-unwrap'] },
  { fixture: 'let_underscore_lock.rs', rules: ['let-underscore-lock'] },
  { fixture: 'let_underscore_lock_crates.rs', rules: ['let-underscore-lock'] },
  { fixture: 'blocking_under_lock.rs', rules: ['blocking-under-lock', 'double-lock'] },
  { fixture: 'blocking_under_lock_crates.rs', rules: ['blocking-under-lock'] },
  { fixture: 'guard_tightening.rs', rules: ['guard-tightening'] },
  { fixture: 'mutation_during_iteration.rs', rules: ['mutation-during-iteration', 'double-lock'] },
  { fixture: 'try_lock_flow_control.rs', rules: ['try-lock-flow-control', 'scrutinee-guard'] },
  { fixture: 'scrutinee_guard.rs', rules: ['scrutinee-guard', 'double-lock'] },
  { fixture: 'scrutinee_guard.rs', rules: ['scrutinee-guard', 'double-lock'], edition: '2024' },
  { fixture: 'scrutinee_hoist.rs', rules: ['scrutinee-guard'] },
  { fixture: 'suppression.rs', rules: ['poison-unwrap', 'double-lock', 'let-underscore-lock', 'blocking-under-lock'] },
];

describe('rule fixtures: findings exactly where the //~ markers are', () => {
  for (const c of CASES) {
    test(`${c.fixture} (${c.rules.join(', ')}; edition ${c.edition ?? '2021'})`, async () => {
      const text = readRuleFixture(c.fixture);
      const r = await analyze(text, { edition: c.edition ?? '2021', dependencies: c.dependencies });
      assert.equal(r.syntaxErrors, 0, `${c.fixture} must parse cleanly`);
      const expected = expectedMarkers(text, c.rules, c.edition ?? '2021');
      assert.ok(expected.length > 0 || c.rules.length > 0);
      assert.deepEqual(actualKeys(r.findings, c.rules, text, c.edition ?? '2021'), expected);
    });
  }
});

describe('every finding on every fixture names its lock class, mode, and where the guard was taken', () => {
  for (const fixture of [...new Set(CASES.map((c) => c.fixture))]) {
    test(fixture, async () => {
      const r = await analyze(readRuleFixture(fixture));
      const byId = new Map(r.acquisitions.map((a) => [a.id, a]));
      for (const f of r.findings) {
        const where = `${f.rule} at line ${f.range.start.line + 1}: ${f.message}`;
        assert.ok(f.acquisitions.length > 0, `no acquisition linked: ${where}`);
        const acqs = f.acquisitions.map((id) => byId.get(id)).filter((a) => a !== undefined);
        assert.ok(acqs.length > 0, `acquisition ids do not resolve: ${where}`);
        assert.ok(acqs.some((a) => f.message.includes(`\`${a.lock}\``)), `lock class missing: ${where}`);
        assert.match(f.message, /\b(mutex|read|write|upgradable|reentrant|shard)\b/, `mode missing: ${where}`);
        // Findings away from the acquisition say where it was taken.
        const atAcq = acqs.some((a) => a.range.start.line === f.range.start.line);
        if (!atAcq) assert.match(f.message, /line \d+/, `acquisition line missing: ${where}`);
        assert.ok(['error', 'warning', 'information', 'hint'].includes(f.severity));
      }
    });
  }
});

