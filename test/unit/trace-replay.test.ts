// Trace files: TraceRecorder writes what the listener accepted (token redacted), loadTrace
// replays it into an equal model, and bad files fail with a readable message or count their bad
// lines. Waits are on events and promises only.

import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, test } from 'node:test';
import { TraceModel } from '../../server/src/analysis/trace/model';
import { buildReport } from '../../server/src/analysis/trace/report';
import { loadTrace, TraceListener, TraceRecorder } from '../../server/src/trace';
import { closed, connect, edge, hello, nextEvent, snapshot, stall, TRACE_FIXTURES, wait, within } from '../support/trace-harness';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'locklens-trace-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const line = (v: unknown) => JSON.stringify(v) + '\n';
const header = line({ format: 'locklens-trace', version: 1, created_unix_ms: 1, argv: ['x'] });
const summary = (m: TraceModel) => {
  const r = buildReport(m, { argv: [], exitCode: 0, signal: null, durationMs: 0, outcome: 'exited', runExitCode: 0 });
  return { deadlocks: r.deadlocks, inversions: r.orderInversions, stalls: r.stalls, locks: r.locks, accepted: r.stream.accepted };
};

describe('loadTrace', () => {
  test('replays the recorded example traces', async () => {
    for (const [name, deadlocks] of [['midas_abba.ndjson', 1], ['flyio_catalog.ndjson', 1], ['contention.ndjson', 0]] as const) {
      const { model, header: h } = await loadTrace(path.join(TRACE_FIXTURES, name));
      assert.equal(model.deadlocks.length, deadlocks, name);
      assert.equal(model.stats.rejectedTotal, 0, name);
      assert.ok(h.argv[0].includes('examples/'), name);
    }
  });

  test('not a trace file, empty file, unknown version: readable errors', async () => {
    const cases: Array<[string, string | Buffer, RegExp]> = [
      ['plain.txt', 'hello world\n', /not a LockLens trace file/],
      ['empty.ndjson', '', /empty file/],
      ['v9.ndjson', line({ format: 'locklens-trace', version: 9 }), /version 9 is not supported/],
      ['binary.bin', Buffer.from([0xff, 0xfe, 0x00, 0x0a, 0x01]), /not a LockLens trace file/],
    ];
    for (const [name, content, err] of cases) {
      const p = path.join(tmp, name);
      fs.writeFileSync(p, content);
      await assert.rejects(loadTrace(p), err, name);
    }
    await assert.rejects(loadTrace(path.join(tmp, 'missing.ndjson')), /ENOENT/);
  });

  test('bad records are counted and skipped, the rest is replayed', async () => {
    const p = path.join(tmp, 'mixed.ndjson');
    const parts: Array<string | Buffer> = [
      header,
      line({ c: 1, m: hello('<redacted>') }),
      'x'.repeat(2 * 1024 * 1024) + '\n', // over-long
      Buffer.from([0xc3, 0x28, 0x0a]), // invalid UTF-8
      'not json\n',
      line({ nope: 1 }),
      line({ c: 1, m: { v: 1, type: 'wait' } }),
      line({ c: 1, m: stall(1500, 2, 1, 30, 1200, [{ tid: 1, at: 10 }]) }),
    ];
    fs.writeFileSync(p, Buffer.concat(parts.map((x) => (typeof x === 'string' ? Buffer.from(x) : x))));
    const { model, overlong } = await loadTrace(p);
    assert.equal(overlong, 1);
    assert.equal(model.stats.accepted, 2);
    assert.deepEqual(model.stats.rejected, { 'line too long': 1, 'invalid UTF-8': 1, 'not JSON': 1, 'bad trace record': 1, 'missing field': 1 });
    assert.equal(model.stalls.length, 1);
  });
});

describe('TraceRecorder', () => {
  test('a live session recorded and replayed gives the same model; the token is not written', async () => {
    const live = new TraceModel();
    const l = await TraceListener.start(live);
    const file = path.join(tmp, 'live.ndjson');
    const rec = new TraceRecorder(file, ['prog', 'arg']);
    await rec.ready();
    rec.attach(l);
    const s = await connect(l.port);
    const done = nextEvent<[number, { type: string; seq?: number }]>(l, 'message', (_, m) => m.type === 'snapshot' && m.seq === 2);
    s.write(
      line(hello(l.token)) +
        line(edge(1, 1, 1, 10, 2, 11)) +
        line(edge(2, 2, 2, 20, 1, 21)) +
        line(wait(3, 3, 1, 30, [{ tid: 1, at: 10 }])) +
        'garbage\n' +
        line(snapshot(100, 1, [{ classId: 1, at: 10, acq: 5, cont: 2, waitTotal: 3000, waitMax: 2000, holdSamples: 1, holdTotal: 500, holdMax: 500 }])) +
        line(stall(1200, 3, 1, 30, 1197, [{ tid: 1, at: 10 }])) +
        line(snapshot(1300, 2)),
    );
    await done;
    s.end();
    await closed(s);
    await within(l.idle(), 20_000, 'idle');
    await l.close();
    await rec.close();
    assert.equal(rec.written, 7);
    const text = fs.readFileSync(file, 'utf8');
    assert.ok(!text.includes(l.token));
    assert.match(text.split('\n')[1], /"token":"<redacted>"/);
    const { model, header: h } = await loadTrace(file);
    assert.deepEqual(h.argv, ['prog', 'arg']);
    assert.deepEqual(summary(model), summary(live));
    assert.equal(live.stats.rejectedTotal, 1); // the garbage line, not recorded
    assert.equal(model.stats.rejectedTotal, 0);
  });

  test('stops at the size limit and counts what it skipped', async () => {
    const file = path.join(tmp, 'small.ndjson');
    const rec = new TraceRecorder(file, ['p'], { maxBytes: 2000 });
    await rec.ready();
    for (let i = 0; i < 50; i++) rec.record(1, wait(i, 1, 1, 1) as never);
    await rec.close();
    assert.ok(rec.skipped > 0 && rec.written > 0 && rec.written + rec.skipped === 50);
    assert.ok(fs.statSync(file).size < 2000 + 1000);
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
  });
});
