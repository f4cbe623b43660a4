// Blocking calls (file and socket I/O, sleeping, joining threads, channel receives, waiting on a
// different lock's condvar, block_on, running processes) while a guard is alive: every thread
// that needs the lock waits for the I/O too.

import type { Acquisition, Finding, Range } from '../model';
import { isAlive } from '../regions';
import { comparePos, type Node } from '../syntax';
import type { CallFact } from '../functions';
import { at, describeRelease, lockLabel, makeFinding, type Rule, type RuleContext } from './context';

const BLOCKING_PATHS: Array<[RegExp, string]> = [
  [/^(std::)?fs::\w+$/, 'file system I/O'],
  [/^(std::)?(fs::)?File::(open|create|create_new|options)$/, 'opening a file'],
  [/^(std::)?thread::sleep$|^sleep$/, 'sleeping'],
  [/^(std::)?(net::)?(TcpStream|UdpSocket|TcpListener)::(connect|connect_timeout|bind)$/, 'network I/O'],
  [/(^|::)block_on$/, '`block_on`'],
  [/^reqwest::blocking::\w+$/, 'a blocking HTTP request'],
  // `io::stdin()` only returns a handle; reading from it is caught as a method (`read_line`).
  [/^(std::)?io::copy$/, 'stream I/O'],
];

const BLOCKING_METHODS: Record<string, { args: number[]; what: string }> = {
  read_to_string: { args: [1], what: 'blocking I/O' },
  read_to_end: { args: [1], what: 'blocking I/O' },
  read_exact: { args: [1], what: 'blocking I/O' },
  read_line: { args: [1], what: 'blocking I/O' },
  write_all: { args: [1], what: 'blocking I/O' },
  sync_all: { args: [0], what: 'an fsync' },
  sync_data: { args: [0], what: 'an fsync' },
  join: { args: [0], what: 'joining a thread' },
  recv: { args: [0], what: 'a channel receive' },
  recv_timeout: { args: [1], what: 'a channel receive' },
  output: { args: [0], what: 'running a process' },
  status: { args: [0], what: 'running a process' },
  wait_with_output: { args: [0], what: 'running a process' },
  accept: { args: [0], what: 'accepting a connection' },
  block_on: { args: [1], what: '`block_on`' },
  blocking_recv: { args: [0], what: 'a blocking channel receive' },
  blocking_send: { args: [1], what: 'a blocking channel send' },
};

export function blockingKind(c: CallFact, extra: string[] = []): string | undefined {
  if (extra.includes(c.name) || extra.includes(c.calleeText)) return 'a configured blocking function';
  if (!c.receiverText) {
    for (const [re, what] of BLOCKING_PATHS) if (re.test(c.calleeText)) return what;
    return undefined;
  }
  const m = BLOCKING_METHODS[c.name];
  if (!m) return undefined;
  const argCount = c.node?.childForFieldName('arguments')?.namedChildCount ?? 0;
  if (!m.args.includes(argCount)) return undefined;
  // `.wait()` on a child process; a Condvar's wait takes a guard argument and is handled below.
  if (c.name === 'status' || c.name === 'output') {
    if (!/Command|command|cmd|process|child/i.test(c.receiverText)) return undefined;
  }
  return m.what;
}

export const blockingUnderLock: Rule = {
  id: 'blocking-under-lock',
  defaultSeverity: 'warning',
  check(ctx: RuleContext): Finding[] {
    const out: Finding[] = [];
    const byId = new Map(ctx.fn.acquisitions.map((a) => [a.id, a]));
    for (const c of ctx.fn.calls) {
      // Calls made under a guard carry their tree node (see functions.ts).
      if (c.heldGuards.length === 0 || !c.node) continue;
      // `rx.recv().await`, `sleep(d).await`: an async call suspends the task, it does not block the
      // thread (holding a blocking guard across it is guard-across-await's finding).
      if (isAwaited(c.node)) continue;
      let what = blockingKind(c, ctx.options.blockingFunctions);
      // Condvar::wait(guard_of_B) while holding A: waits indefinitely with A taken.
      let waitedLock: string | undefined;
      if (!what && /^wait(_while|_timeout|_timeout_while)?$/.test(c.name)) {
        const arg = c.node.childForFieldName('arguments')?.namedChild(0);
        // The guard handed to `wait` is alive up to the call, or released by being moved into it.
        const handed = (a: Acquisition) =>
          c.heldGuards.includes(a.id) || a.releases.some((r) => r.kind === 'moved' && comparePos(r.position, c.range.start) >= 0 && comparePos(r.position, c.range.end) <= 0);
        const argGuard = arg ? ctx.fn.acquisitions.find((a) => a.holder.kind === 'binding' && a.holder.name === arg.text && handed(a)) : undefined;
        if (argGuard) {
          waitedLock = argGuard.lock;
          what = `waiting on a condition variable of \`${argGuard.lock}\``;
        }
      }
      if (!what) continue;
      const held = c.heldGuards.map((id) => byId.get(id)!).filter((a) => a && a.lock !== waitedLock);
      if (held.length === 0) continue;
      out.push(blockingFinding(ctx, c.range, `\`${c.calleeText}(..)\` is ${what}`, held));
    }
    // `cv.wait(g)` is also recorded as the acquisition that gives `g`'s lock back; other locks
    // alive there are held for the whole wait (whether or not the call itself was listed above).
    for (const w of ctx.fn.acquisitions) {
      if (!/^wait(_while|_timeout|_timeout_while|_for|_until|_while_for|_while_until)?$/.test(w.method)) continue;
      if (out.some((f) => comparePos(f.range.start, w.range.start) >= 0 && comparePos(f.range.start, w.range.end) <= 0)) continue;
      const held = ctx.fn.acquisitions.filter((a) => a !== w && a.lock !== w.lock && !a.lockType.async && isAlive(a, w.range.start));
      if (held.length === 0) continue;
      out.push(blockingFinding(ctx, w.range, `\`${w.receiverText}.${w.method}(..)\` is waiting on a condition variable of \`${w.lock}\``, held));
    }
    return out;
  },
};

function isAwaited(call: Node): boolean {
  let p = call.parent;
  while (p && (p.type === 'parenthesized_expression' || p.type === 'try_expression')) p = p.parent;
  return p?.type === 'await_expression';
}

/** `<what blocks> while <locks> is held ...`, with the acquisitions as related locations. */
function blockingFinding(ctx: RuleContext, range: Range, what: string, held: Acquisition[]): Finding {
  const first = held[0];
  const names = held.map(lockLabel).join(', ');
  const many = held.length > 1;
  return makeFinding(
    'blocking-under-lock',
    'warning',
    ctx.file,
    range,
    `${what} while ${names} ${many ? 'are' : 'is'} held (acquired at ${at(first.range.start)}, ${describeRelease(first)}): every thread that needs ${many ? 'these locks' : 'this lock'} waits for it too. Copy what you need out of the guard and release it before blocking.`,
    {
      acquisitions: held.map((a) => a.id),
      related: held.map((a) => ({ file: ctx.file, range: a.range, message: `${lockLabel(a)} acquired here` })),
    },
  );
}
