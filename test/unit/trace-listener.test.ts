// The runtime hook listener under hostile clients: wrong token, no hello, random bytes, invalid
// UTF-8, over-long lines, JSON bombs, 100 connections at once. Each test waits on listener or
// socket events (bounded), never on a timer.

import { strict as assert } from 'node:assert';
import * as crypto from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { TraceModel } from '../../server/src/analysis/trace/model';
import { LineSplitter, TraceListener } from '../../server/src/trace';
import { closed, connect, hello, nextEvent, snapshot, wait, within } from '../support/trace-harness';

const line = (v: unknown) => JSON.stringify(v) + '\n';

describe('TraceListener', () => {
  let model: TraceModel;
  let l: TraceListener;
  before(async () => {
    model = new TraceModel();
    l = await TraceListener.start(model, { helloTimeoutMs: 30_000, maxLineBytes: 64 * 1024, maxHelloBytes: 4096, maxConnections: 16 });
  });
  after(() => l.close());

  /** Resolves with the reason the listener gives when it closes its next connection. */
  const nextClose = () => nextEvent<[number, string]>(l, 'closed').then(([, reason]) => reason);

  test('binds 127.0.0.1 on a random port with a fresh 256-bit token', async () => {
    assert.match(l.endpoint, /^tcp:\/\/127\.0\.0\.1:\d+$/);
    assert.ok(l.port > 0);
    assert.match(l.token, /^[0-9a-f]{64}$/);
    const other = await TraceListener.start(new TraceModel());
    assert.notEqual(other.token, l.token);
    assert.notEqual(other.port, l.port);
    await other.close();
  });

  test('a hook with the right token is heard', async () => {
    const s = await connect(l.port);
    const got = nextEvent<[number, { type: string }]>(l, 'message', (_, m) => m.type === 'snapshot');
    s.write(line(hello(l.token)) + line(wait(5, 2, 1, 30, [{ tid: 1, at: 10 }])) + line(snapshot(100, 1)));
    await got;
    assert.equal(model.processes.size, 1);
    assert.equal([...model.locks.values()][0].waiters[0].thread.id, 2);
    const c = nextClose();
    s.end();
    assert.equal(await c, 'eof');
  });

  test('wrong token: closed, nothing reaches the model', async () => {
    const before = model.stats.received;
    const s = await connect(l.port);
    const c = nextClose();
    s.write(line(hello('not-the-token')) + line(wait(5, 2, 1, 30)));
    assert.equal(await c, 'bad token');
    await closed(s);
    assert.equal(model.stats.received, before);
  });

  test('no hello within the deadline: closed', async () => {
    // its own listener with a short deadline, so that slow machines cannot trip the others
    const quick = await TraceListener.start(new TraceModel(), { helloTimeoutMs: 200 });
    const s = await connect(quick.port);
    const [, reason] = await nextEvent<[number, string]>(quick, 'closed');
    assert.equal(reason, 'no hello');
    await closed(s);
    const half = await connect(quick.port);
    half.write('{"v":1,"type":"hel');
    const [, reason2] = await nextEvent<[number, string]>(quick, 'closed');
    assert.equal(reason2, 'no hello');
    await quick.close();
  });

  test('first line is not a hello: closed', async () => {
    const s = await connect(l.port);
    const c = nextClose();
    s.write(line(wait(5, 2, 1, 30)));
    assert.equal(await c, 'first line is not hello');
  });

  test('random bytes before hello: closed', async () => {
    for (let i = 0; i < 5; i++) {
      const s = await connect(l.port);
      const c = nextClose();
      s.write(crypto.randomBytes(8192));
      assert.match(await c, /bad hello|hello too long|invalid UTF-8 before hello/);
      await closed(s);
    }
  });

  test('over-long hello line: closed without buffering it', async () => {
    const s = await connect(l.port);
    const c = nextClose();
    s.write(Buffer.alloc(10_000, 0x41));
    assert.equal(await c, 'hello too long');
  });

  test('after hello: random binary, invalid UTF-8 and JSON bombs are counted, the connection lives', async () => {
    const s = await connect(l.port);
    const rejected0 = model.stats.rejectedTotal;
    s.write(line(hello(l.token)));
    await nextEvent(l, 'hello');
    const chunks: Buffer[] = [];
    for (let i = 0; i < 20; i++) chunks.push(Buffer.concat([crypto.randomBytes(2000).map((b) => (b === 0x0a ? 0x20 : b)), Buffer.from('\n')]));
    chunks.push(Buffer.from([0xc3, 0x28, 0xff, 0xfe, 0x0a]));
    chunks.push(Buffer.from('['.repeat(60_000) + '\n'));
    chunks.push(Buffer.from('{"v":1,"type":"wait","x":' + '{"a":'.repeat(10_000) + '1' + '}'.repeat(10_000) + '}\n'));
    const marker = nextEvent<[number, { type: string; seq?: number }]>(l, 'message', (_, m) => m.type === 'snapshot' && m.seq === 77);
    s.write(Buffer.concat(chunks));
    s.write(line(snapshot(200, 77)));
    await marker;
    assert.equal(model.stats.rejectedTotal - rejected0, 23);
    assert.ok(model.stats.rejected['invalid UTF-8'] >= 1);
    const c = nextClose();
    s.end();
    await c;
  });

  test('over-long line after hello: closed with its reason', async () => {
    const s = await connect(l.port);
    s.write(line(hello(l.token)));
    await nextEvent(l, 'hello');
    const c = nextClose();
    s.write(Buffer.alloc(100_000, 0x20));
    assert.equal(await c, 'line too long');
    await closed(s);
  });

  test('100 connections at once: the extra ones are refused, then a good client still works', async () => {
    const refused0 = l.stats.refused;
    await l.idle();
    const refusedAll = new Promise<void>((resolve) => {
      let n = 0;
      const h = () => {
        if (++n === 84) {
          l.off('refused', h);
          resolve();
        }
      };
      l.on('refused', h);
    });
    const sockets = await Promise.all(Array.from({ length: 100 }, () => connect(l.port)));
    await within(refusedAll, 20_000, '84 refusals');
    assert.equal(l.stats.refused - refused0, 84);
    assert.equal(l.open, 16);
    for (const s of sockets) s.destroy();
    await within(l.idle(), 20_000, 'listener idle');
    const good = await connect(l.port);
    const got = nextEvent<[number, { type: string; seq?: number }]>(l, 'message', (_, m) => m.type === 'snapshot' && m.seq === 99);
    good.write(line(hello(l.token)) + line(snapshot(300, 99)));
    await got;
    good.destroy();
    await within(l.idle(), 20_000, 'listener idle');
  });
});

describe('LineSplitter', () => {
  test('lines across chunks, CRLF, limits, skip mode', () => {
    const got: Array<string | undefined> = [];
    const sp = new LineSplitter(10);
    assert.ok(sp.push(Buffer.from('ab'), (t) => (got.push(t), true)));
    assert.ok(sp.push(Buffer.from('c\r\nde\n'), (t) => (got.push(t), true)));
    assert.deepEqual(got, ['abc', 'de']);
    assert.equal(sp.push(Buffer.from('0123456789X'), () => true), false);
    const sk = new LineSplitter(4);
    const lines: Array<string | undefined> = [];
    let over = 0;
    sk.push(Buffer.from('ok\ntoolongline'), (t) => (lines.push(t), true), () => over++);
    sk.push(Buffer.from('stilllong\nfine\n'), (t) => (lines.push(t), true), () => over++);
    assert.deepEqual(lines, ['ok', 'fine']);
    assert.equal(over, 1);
  });
});

