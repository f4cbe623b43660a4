// Re-acquiring a lock whose guard is still alive in the same function: std, parking_lot,
// tokio and spin locks are not reentrant, so this blocks forever (or panics, for std on some
// platforms). Read-then-read is a warning: with a writer queued in between, a writer-preferring
// RwLock (parking_lot, tokio, std on most platforms) blocks the second read.

import type { Acquisition, Finding, GuardMode, Position } from '../model';
import { isAlive } from '../regions';
import { comparePos, runsInPlace } from '../syntax';
import { at, describeRelease, lockLabel, makeFinding, type Rule, type RuleContext } from './context';

export type Conflict = 'deadlock' | 'read-read' | 'none';

export function conflictOf(held: Acquisition, next: Acquisition, reentrant: string[] = []): Conflict {
  // A guard kept in an `Option`/struct is usually held conditionally (`lock.take()`, `is_none()`
  // checks); without path conditions we cannot tell, so stay quiet rather than guess.
  if (held.holder.kind === 'binding' && held.holder.inAggregate) return 'none';
  if (held.lockType.kind === 'reentrant-mutex' || reentrant.includes(held.lock)) return 'none';
  if (held.lockType.kind === 'dashmap') return 'none'; // DashMap re-entry is mutation-during-iteration's job
  if (next.isTry) return 'none'; // a try_lock fails instead of blocking
  return modeConflict(held.mode, next.mode, !!(next as { recursive?: boolean }).recursive);
}

export function modeConflict(held: GuardMode, next: GuardMode, recursiveRead: boolean): Conflict {
  if (held === 'reentrant' && next === 'reentrant') return 'none';
  if (held === 'read' && next === 'read') return recursiveRead ? 'none' : 'read-read';
  if (held === 'upgradable' && next === 'read') return 'none';
  if (held === 'read' && next === 'upgradable') return 'none';
  return 'deadlock';
}

/** Same instance when the receivers are the same expression (after `&`/clone/deref noise). */
export function sameInstance(a: Acquisition, b: Acquisition): boolean {
  const norm = (t: string) =>
    t
      .replace(/\s+/g, '')
      .replace(/\.(clone|as_ref|deref|borrow|get_ref)\(\)/g, '')
      .replace(/\([&*]*(mut)?([\w.]+)\)/g, '$2')
      .replace(/^[&*]+(mut)?/, '')
      .replace(/^\((.*)\)$/, '$1')
      .replace(/^[&*]+(mut)?/, '');
  const ra = norm(a.instanceText ?? a.receiverText);
  const rb = norm(b.instanceText ?? b.receiverText);
  if (ra === rb) return true;
  // Different names for one local lock class (clones of one Arc) are the same instance too.
  if (!a.lock.includes('.') || !b.lock.includes('.')) return true;
  // `self.a.m` and `self.b.m`, or `a.balance` and `b.balance`: two objects of one class.
  return false;
}

export const doubleLock: Rule = {
  id: 'double-lock',
  defaultSeverity: 'error',
  check(ctx: RuleContext): Finding[] {
    const out: Finding[] = [];
    const acqs = ctx.fn.acquisitions;
    for (const next of acqs) {
      for (const held of acqs) {
        if (held === next || held.lock !== next.lock) continue;
        if (!isAlive(held, next.range.start)) continue;
        const hn = ctx.fn.nodes.get(held.id);
        const nn = ctx.fn.nodes.get(next.id);
        // A guard of the enclosing function is alive inside a closure only if the closure runs there;
        // closures passed to spawn-like calls run elsewhere, so stay quiet about them.
        if (hn?.closure?.id !== nn?.closure?.id && !(nn?.closure && !hn?.closure && runsInPlace(nn.closure))) continue;
        // `cv.wait(g)` hands `g` back to the lock and re-acquires it: the held guard moves into the call.
        if (handedToWait(held, next)) continue;
        const conflict = conflictOf(held, next, ctx.options.reentrantClasses);
        if (conflict === 'none') continue;
        const sameObj = sameInstance(held, next);
        const related = [
          { file: ctx.file, range: held.range, message: `${lockLabel(held)} acquired here; ${describeRelease(held)}` },
        ];
        if (!sameObj) {
          out.push(
            makeFinding(
              'double-lock',
              'warning',
              ctx.file,
              next.range,
              `Two locks of class \`${next.lock}\` are nested: \`${held.receiverText}\` (${held.mode}, acquired at ${at(held.range.start)}, ${describeRelease(held)}) is still held while \`${next.receiverText}\` (${next.mode}) is locked. This deadlocks when two threads pass the same two objects in opposite order (the transfer pattern); order the two by a stable key (an id or address) before locking.`,
              { related, acquisitions: [held.id, next.id] },
            ),
          );
          continue;
        }
        if (conflict === 'read-read') {
          out.push(
            makeFinding(
              'double-lock',
              'warning',
              ctx.file,
              next.range,
              `${lockLabel(next)} is read-locked again while this function still holds a read guard from ${at(held.range.start)} (${describeRelease(held)}). RwLocks that prefer writers block the second read when a writer is waiting, which deadlocks this thread; reuse the first guard${held.lockType.flavor === 'parking_lot' ? ' or use `read_recursive`' : ''}.`,
              { related, acquisitions: [held.id, next.id] },
            ),
          );
          continue;
        }
        out.push(
          makeFinding(
            'double-lock',
            'error',
            ctx.file,
            next.range,
            `${lockLabel(next)} is acquired while this function still holds ${lockLabel(held)} from ${at(held.range.start)} (${describeRelease(held)}): the lock is not reentrant, so this thread waits for itself forever.`,
            { related, acquisitions: [held.id, next.id] },
          ),
        );
      }
    }
    return out;
  },
};

/** `next` is the re-acquisition of a `Condvar::wait*(guard)` call that consumes `held`. */
function handedToWait(held: Acquisition, next: Acquisition): boolean {
  if (!/^wait(_while|_timeout|_timeout_while|_for|_until|_while_for|_while_until)?$/.test(next.method)) return false;
  const within = (p: Position) => comparePos(p, next.range.start) >= 0 && comparePos(p, next.range.end) <= 0;
  return held.releases.some((r) => r.kind === 'moved' && within(r.position));
}
