// DashMap shards are RwLocks: an iterator or a `Ref`/`RefMut` holds a shard lock, and `insert`,
// `remove`, `entry`, `get_mut`, `alter` on the same map need that shard's write lock. Doing both
// at once deadlocks the thread (seed 002's heartbeat monitor). Collect keys, then mutate.

import type { Finding } from '../model';
import { isAlive } from '../regions';
import { startOf } from '../syntax';
import { at, describeRelease, makeFinding, type Rule, type RuleContext } from './context';

const MUTATORS = new Set(['insert', 'remove', 'remove_if', 'remove_if_mut', 'entry', 'get_mut', 'alter', 'alter_all', 'retain', 'clear', 'shrink_to_fit', 'try_entry', 'view']);

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
    for (const m of mutations) {
      for (const held of maps) {
        if (held.lock !== m.lock || held.id === m.id) continue;
        if (!isAlive(held, m.range.start)) continue;
        const what = held.method === 'iter' || held.method === 'iter_mut' ? `an iterator over \`${held.lock}\`` : `a \`${held.method}\` reference into \`${held.lock}\``;
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
