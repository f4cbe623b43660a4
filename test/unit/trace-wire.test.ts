// Wire agreement between the Rust hook and the TypeScript validator: every line of the golden
// file runtime-hook/tests/wire_samples.ndjson (which the Rust side asserts its serialiser
// produces) must be accepted with its kind, must carry no field or enum value the TypeScript
// schema does not declare, and must carry every field the schema declares. A change on either
// side breaks this test.

import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import { describe, test } from 'node:test';
import { MESSAGE_SCHEMAS, parseWireLine, schemaPaths, validateMessage, WIRE_TYPES, type WireType } from '../../server/src/analysis/trace/wire';
import { WIRE_SAMPLES } from '../support/trace-harness';

const lines = fs.readFileSync(WIRE_SAMPLES, 'utf8').split('\n').filter((l) => l.length > 0);

/** Every leaf path present in a JSON value, arrays as `[]` (`cycle[].holds[].lock.id`). */
function leafPaths(v: unknown, path = '', out = new Set<string>()): Set<string> {
  if (Array.isArray(v)) {
    if (v.length === 0) out.add(`${path}[]<empty>`);
    for (const x of v) leafPaths(x, `${path}[]`, out);
  } else if (typeof v === 'object' && v !== null) {
    for (const [k, x] of Object.entries(v)) leafPaths(x, path ? `${path}.${k}` : k, out);
  } else out.add(path);
  return out;
}

describe('wire agreement with runtime-hook/tests/wire_samples.ndjson', () => {
  test('the golden file has samples', () => {
    assert.ok(lines.length >= 7, `only ${lines.length} lines`);
  });

  lines.forEach((line, i) => {
    const raw = JSON.parse(line) as { type: string };
    test(`line ${i + 1} (${raw.type}) is accepted with its kind and no unknown fields`, () => {
      const v = parseWireLine(line);
      assert.ok(v.ok, v.ok ? '' : `rejected: ${v.status} ${v.reason}: ${v.detail}`);
      assert.equal(v.msg.type, raw.type);
      assert.deepEqual(v.unknown, [], `fields/values the TypeScript schema does not declare: ${v.unknown.join(', ')}`);
      assert.deepEqual(v.truncated, []);
      // nothing lost or altered by validation
      assert.deepEqual(v.msg, JSON.parse(line));
    });
  });

  test('every field the schema declares appears in the golden samples of that type', () => {
    const seen = new Map<string, Set<string>>();
    for (const line of lines) {
      const raw = JSON.parse(line) as { type: string };
      const s = seen.get(raw.type) ?? new Set<string>();
      for (const p of leafPaths(raw)) s.add(p);
      seen.set(raw.type, s);
    }
    const missingTypes: string[] = [];
    for (const type of WIRE_TYPES) {
      const s = seen.get(type);
      if (!s) {
        missingTypes.push(type);
        continue;
      }
      for (const p of schemaPaths(type as WireType)) {
        // below a field that is only ever null (or an empty array) in the samples there is no
        // leaf: that field itself counts
        const parts = p.split('.');
        const prefixes = parts.map((_, k) => parts.slice(0, k + 1).join('.'));
        const covered = s.has(p) || prefixes.some((q) => s.has(q) || (q.endsWith('[]') && s.has(`${q}<empty>`)));
        assert.ok(covered, `${type}: schema field ${p} never appears in the golden file`);
      }
    }
    // The six message types of wire version 1 must have samples; newer ones (order_cycle) are
    // checked as soon as the golden file has them.
    for (const t of ['hello', 'wait', 'edge', 'deadlock', 'stall', 'snapshot']) assert.ok(!missingTypes.includes(t), `no golden sample of ${t}`);
    for (const t of Object.keys(MESSAGE_SCHEMAS)) assert.ok(WIRE_TYPES.includes(t as WireType));
  });

  test('covers every type the golden file has', () => {
    for (const line of lines) {
      const t = (JSON.parse(line) as { type: string }).type;
      assert.ok(WIRE_TYPES.includes(t as WireType), `golden type ${t} has no TypeScript schema`);
    }
  });
});

describe('validator: hostile and malformed input', () => {
  const good = () => JSON.parse(lines.find((l) => l.includes('"type":"wait"'))!) as Record<string, unknown>;

  test('rejects with a reason, never throws', () => {
    const cases: Array<[unknown, string]> = [
      [null, 'not an object'],
      [[1, 2], 'not an object'],
      ['wait', 'not an object'],
      [{ type: 'wait' }, 'missing field'],
      [{ ...good(), v: '1' }, 'wrong type'],
      [{ ...good(), t_ms: -1 }, 'wrong type'],
      [{ ...good(), t_ms: 1.5 }, 'wrong type'],
      [{ ...good(), t_ms: '12' }, 'wrong type'],
      [{ ...good(), timed: 1 }, 'wrong type'],
      [{ ...good(), holders: {} }, 'wrong type'],
      [{ ...good(), thread: { id: 1, name: 7, os_tid: null } }, 'wrong type'],
      [{ ...good(), lock: { id: 1 } }, 'missing field'],
    ];
    for (const [value, reason] of cases) {
      const v = validateMessage(value);
      assert.equal(v.ok, false, JSON.stringify(value).slice(0, 80));
      if (!v.ok) assert.equal(v.reason, reason, `${JSON.stringify(value).slice(0, 80)}: ${v.detail}`);
    }
  });

  test('unknown versions are unsupported, unknown types are to be ignored', () => {
    const v2 = validateMessage({ ...good(), v: 2 });
    assert.ok(!v2.ok && v2.status === 'unsupported-version');
    const t = validateMessage({ v: 1, type: 'futuristic', t_ms: 1 });
    assert.ok(!t.ok && t.status === 'unknown-type' && t.type === 'futuristic');
  });

  test('unknown fields and enum values are accepted, listed and not kept', () => {
    const m = good();
    m.extra = { huge: 'x'.repeat(1000) };
    (m.lock as { class: { kind: string } }).class.kind = 'std.condvar';
    const v = validateMessage(m);
    assert.ok(v.ok);
    assert.deepEqual(v.unknown.sort(), ['extra', 'lock.class.kind="std.condvar"'].sort());
    assert.equal('extra' in v.msg, false);
  });

  test('prototype keys do not leak into messages', () => {
    const v = parseWireLine(lines.find((l) => l.includes('"type":"edge"'))!.replace('{"v":1,', '{"__proto__":{"polluted":1},"constructor":{"prototype":{"x":1}},"v":1,'));
    assert.ok(v.ok);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal(Object.getPrototypeOf(v.msg), Object.prototype);
    assert.equal((v.msg as unknown as Record<string, unknown>).polluted, undefined);
  });

  test('strings and arrays are capped', () => {
    const m = good();
    (m.site as { file: string }).file = 'a'.repeat(10_000);
    m.holders = Array.from({ length: 5000 }, () => (good().holders as unknown[])[0]);
    const v = validateMessage(m, { maxString: 100, maxBacktrace: 1000, maxArray: 10 });
    assert.ok(v.ok);
    if (v.ok && v.msg.type === 'wait') {
      assert.equal(v.msg.site.file.length, 101);
      assert.equal(v.msg.holders.length, 10);
      assert.equal(v.truncated.length, 2);
    }
  });

  test('JSON bombs and garbage lines', () => {
    for (const line of ['[' .repeat(100_000), '{"a":'.repeat(50_000), '\u0000\u0001garbage', '', '{"v":1,"type":"wait"', '1e999', '{"v":1e400,"type":"wait"}']) {
      const v = parseWireLine(line);
      assert.equal(v.ok, false);
    }
  });
});
