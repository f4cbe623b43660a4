// Shared fixtures for the runtime-panel-* tests: a MIDAS-style ABBA deadlock as the hook reports it.
import { TraceModel } from '../../server/src/analysis/trace';

export const XSS = '<img src=x onerror=alert(1)>';
export const JSQ = '"; alert(1);//';

const site = (file: string, line: number, col = 9) => ({ file, line, col });
const thread = (id: number, name: string | null) => ({ id, name, os_tid: 4600 + id });
const cls = (id: number, name: string | null, line: number) => ({ id, kind: 'std.mutex', name, created: site('examples/midas_abba.rs', line, 14) });

/** hello, an edge each way, two waits, the deadlock, a snapshot. Names can be made hostile. */
export function midasLines(names: { odb?: string | null; sysmsg?: string | null; t1?: string; t2?: string; file?: string } = {}): object[] {
  const file = names.file ?? 'examples/midas_abba.rs';
  const odb = { id: 2, class: { ...cls(2, names.odb === undefined ? 'ODB' : names.odb, 49), created: site(file, 49, 14) } };
  const sys = { id: 1, class: { ...cls(1, names.sysmsg === undefined ? 'SYSMSG' : names.sysmsg, 50), created: site(file, 50, 17) } };
  const t1 = thread(1, names.t1 ?? 'odbedit');
  const t2 = thread(2, names.t2 ?? 'cm_watchdog');
  return [
    { v: 1, type: 'hello', protocol: 'locklens-hook', token: 'tok', pid: 4619, program: '/nonexistent/target/debug/examples/midas_abba', start_unix_ms: 1_763_800_000_000, config: { stall_ms: 1000, snapshot_ms: 100, sample_every: 64, on_deadlock: 'report', queue_capacity: 4096 } },
    { v: 1, type: 'wait', t_ms: 230, thread: t1, lock: sys, mode: 'mutex', site: site(file, 34, 35), timed: false, holders: [{ thread: t2, mode: 'mutex', site: site(file, 39, 35), since_ms: 200 }], last: { thread: t2, mode: 'mutex', site: site(file, 39, 35) } },
    { v: 1, type: 'wait', t_ms: 231, thread: t2, lock: odb, mode: 'mutex', site: site(file, 41, 29), timed: false, holders: [{ thread: t1, mode: 'mutex', site: site(file, 26, 32), since_ms: 201 }], last: { thread: t1, mode: 'mutex', site: site(file, 26, 32) } },
    {
      v: 1,
      type: 'deadlock',
      t_ms: 240,
      action: 'report',
      cycle: [
        { thread: t1, waits_for: sys, mode: 'mutex', site: site(file, 34, 35), timed: false, wait_since_ms: 230, held_by: [2], holds: [{ lock: odb, mode: 'mutex', site: site(file, 26, 32), since_ms: 201 }], backtrace: null },
        { thread: t2, waits_for: odb, mode: 'mutex', site: site(file, 41, 29), timed: false, wait_since_ms: 231, held_by: [1], holds: [{ lock: sys, mode: 'mutex', site: site(file, 39, 35), since_ms: 200 }], backtrace: null },
      ],
    },
    {
      v: 1,
      type: 'snapshot',
      t_ms: 300,
      seq: 3,
      threads: 3,
      dropped: 0,
      entries: [
        { class: odb.class, site: site(file, 26, 32), mode: 'mutex', acquisitions: 10, contended: 0, try_failed: 0, wait_ns_total: 0, wait_ns_max: 0, hold_samples: 2, hold_ns_total: 24_000_000, hold_ns_max: 12_000_000 },
        { class: sys.class, site: site(file, 39, 35), mode: 'mutex', acquisitions: 4, contended: 1, try_failed: 0, wait_ns_total: 3_000_000, wait_ns_max: 3_000_000, hold_samples: 1, hold_ns_total: 5_000_000, hold_ns_max: 5_000_000 },
      ],
    },
  ];
}

export function edgeLine(t: number, tid: number, tname: string, from: [number, string | null, number], to: [number, string | null, number], file = 'examples/midas_abba.rs') {
  const l = (id: number, name: string | null) => ({ id, class: { id, kind: 'std.mutex', name, created: site(file, 48 + id, 14) } });
  return { v: 1, type: 'edge', t_ms: t, thread: thread(tid, tname), from: { lock: l(from[0], from[1]), mode: 'mutex', site: site(file, from[2]) }, to: { lock: l(to[0], to[1]), mode: 'mutex', site: site(file, to[2]) } };
}

export function modelOf(lines: object[]): TraceModel {
  const m = new TraceModel();
  for (const l of lines) m.ingestLine(JSON.stringify(l), 1);
  return m;
}
