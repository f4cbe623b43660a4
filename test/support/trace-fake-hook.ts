// A stand-in for a program using the runtime hook, for `locklens run` tests that must not need
// cargo: connects to LOCKLENS_ENDPOINT with LOCKLENS_TOKEN like the Rust hook and plays a
// scenario. Usage: node trace-fake-hook.js SCENARIO
//   deadlock   hello, a wait, an ABBA deadlock, a snapshot; then hangs (locklens must end it)
//   stall      hello, a stall, a snapshot; prints "fake: done" and exits 0
//   hostile    hello, garbage lines, a snapshot; exits 5
//   env        prints the LOCKLENS_* environment as JSON and exits 0
//   hang       never connects, never exits, nor does the child it starts (which holds stdout)

import { spawn } from 'node:child_process';
import * as net from 'node:net';
import { edge, hello, snapshot, stall, wait } from './trace-harness';

const scenario = process.argv[2];
const line = (v: unknown) => JSON.stringify(v) + '\n';

function node(tid: number, name: string, waitsFor: number, waitAt: number, holds: number, holdAt: number, heldBy: number) {
  const site = (line: number) => ({ file: 'src/fake.rs', line, col: 9 });
  const lock = (id: number) => ({ id, class: { id, kind: 'std.mutex', name: id === 1 ? 'ODB' : 'SYSMSG', created: site(id) } });
  return { thread: { id: tid, name, os_tid: 100 + tid }, waits_for: lock(waitsFor), mode: 'mutex', site: site(waitAt), timed: false, wait_since_ms: 20, held_by: [heldBy], holds: [{ lock: lock(holds), mode: 'mutex', site: site(holdAt), since_ms: 10 }], backtrace: null };
}

function connect(): Promise<net.Socket> {
  const ep = /^tcp:\/\/127\.0\.0\.1:(\d+)$/.exec(process.env.LOCKLENS_ENDPOINT ?? '');
  if (!ep) throw new Error('LOCKLENS_ENDPOINT not set');
  const s = net.connect({ host: '127.0.0.1', port: Number(ep[1]) });
  return new Promise((resolve, reject) => {
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

async function main(): Promise<void> {
  const token = process.env.LOCKLENS_TOKEN ?? '';
  switch (scenario) {
    case 'env':
      console.log(JSON.stringify(Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('LOCKLENS_')))));
      return;
    case 'hang':
      // the grandchild keeps our stdout open: whoever reads it sees EOF only once it is gone too
      spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: ['ignore', 'inherit', 'ignore'] });
      setInterval(() => undefined, 1000);
      return;
    case 'deadlock': {
      const s = await connect();
      s.write(line(hello(token, { pid: process.pid })) + line(edge(1, 1, 1, 26, 2, 34)) + line(edge(2, 2, 2, 39, 1, 41)) + line(wait(20, 1, 2, 34, [{ tid: 2, at: 39 }])));
      s.write(line({ v: 1, type: 'deadlock', t_ms: 21, action: 'report', cycle: [node(1, 'odbedit', 2, 34, 1, 26, 2), node(2, 'cm_watchdog', 1, 41, 2, 39, 1)] }));
      s.write(line(snapshot(100, 1, [{ classId: 1, at: 26, acq: 1 }])));
      setInterval(() => undefined, 1000); // deadlocked
      return;
    }
    case 'stall': {
      const s = await connect();
      s.write(line(hello(token, { pid: process.pid })) + line(stall(1100, 3, 1, 30, 1050, [{ tid: 4, at: 12 }])) + line(snapshot(1200, 1)));
      s.end(() => {
        console.log('fake: done');
      });
      return;
    }
    case 'hostile': {
      const s = await connect();
      s.write(line(hello(token, { pid: process.pid })));
      s.write(Buffer.from([0xff, 0xfe, 0x00, 0x0a]));
      s.write('{"v":1,"type":"wait","t_ms":"x"}\n[[[[[[[[[[\n');
      s.write(line(snapshot(100, 1)));
      s.end(() => process.exit(5));
      return;
    }
    default:
      console.error(`unknown scenario ${scenario}`);
      process.exit(64);
  }
}

main().catch((e) => {
  console.error(String(e));
  process.exit(70);
});
