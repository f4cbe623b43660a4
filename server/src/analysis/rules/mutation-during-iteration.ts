// DashMap shards are RwLocks: an iterator or a `Ref`/`RefMut` holds a shard lock, and `insert`,
// `remove`, `entry`, `get_mut`, `alter` on the same map need that shard's write lock. Doing both
// at once deadlocks the thread (seed 002's heartbeat monitor). Collect keys, then mutate.

import type { Finding } from '../model';
import { isAlive } from '../regions';
import { startOf } from '../syntax';
import { at, describeRelease, makeFinding, type Rule, type RuleContext } from './context';

const READERS = new Set(['get', 'contains_key', 'len', 'is_empty', 'iter', 'try_get', 'view']);
const MUTATORS = new Set(['insert', 'remove', 'remove_if', 'remove_if_mut', 'entry', 'get_mut', 'alter', 'alter_all', 'retain', 'clear', 'shrink_to_fit', 'try_entry']);

export const mutationDuringIteration: Rule = {
  id: 'mutation-during-iteration',
  defaultSeverity: 'error',
  check(ctx: RuleContext): Finding[] {
    const out: Finding[] = [];
    const maps = ctx.fn.acquisitions.filter((a) => a.lockType.kind === 'dashmap');
    if (maps.length === 0) return out;
    // Mutations show up as calls (insert/remove/...) or as acquisitions (entry/get_mut).
    const mutations: Array<{ lock: string; name: string; range: import('../model').Range; id?: string }> = [];
    for (const c of ctx.fn.calls) if (c.receiverLock && MUTATORS.has(c.name)) mutations.push({ lock: c.receiverLock, name: c.name, range: c.range });
    for (const a of maps) if (a.mode === 'write' && a.method !== 'iter_mut') mutations.push({ lock: a.lock, name: a.method, range: a.callRange, id: a.id });
    // Reads (`get`, `iter`, `len`, `contains_key`) deadlock too while a `RefMut`/`entry`/`iter_mut`
    // holds a shard's write lock.
    const reads: typeof mutations = [];
    for (const c of ctx.fn.calls) if (c.receiverLock && READERS.has(c.name)) reads.push({ lock: c.receiverLock, name: c.name, range: c.range });
    for (const a of maps) if (a.mode !== 'write') reads.push({ lock: a.lock, name: a.method, range: a.callRange, id: a.id });
    const accesses = [...mutations.map((m) => ({ ...m, write: true })), ...reads.map((r) => ({ ...r, write: false }))];
    accesses.sort((x, y) => x.range.start.line - y.range.start.line || x.range.start.column - y.range.start.column);
    for (const m of accesses) {
      for (const held of maps) {
        if (held.lock !== m.lock || held.id === m.id) continue;
        if (!m.write && held.mode !== 'write') continue; // read while read: fine
        if (!isAlive(held, m.range.start)) continue;
        const what = held.method === 'iter' || held.method === 'iter_mut' ? `an iterator over \`${held.lock}\`` : `a \`${held.method}\` ${held.mode === 'write' ? 'RefMut' : 'reference'} into \`${held.lock}\``;
        const holds = held.mode === 'write' ? 'write' : 'read';
        out.push(
          makeFinding(
            'mutation-during-iteration',
            'error',
            ctx.file,
            m.range,
            `\`${m.name}\` on DashMap \`${m.lock}\` while ${what} (a shard ${holds} lock taken at ${at(held.range.start)}, ${describeRelease(held)}) is still alive: both need the same shard lock, so this deadlocks. Collect the keys first and mutate after the iterator or reference is dropped.`,
            {
              acquisitions: [held.id, ...(m.id ? [m.id] : [])],
              related: [{ file: ctx.file, range: held.range, message: `shard lock of \`${held.lock}\` held from here` }],
            },
          ),
        );
        break;
      }
    }
    void startOf;
    return out;
  },
};
