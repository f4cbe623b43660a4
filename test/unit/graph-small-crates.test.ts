// The lock graph on small crates. Closures are found in every function, also in functions that
// take no lock themselves: a call made from a spawned closure is not a call made by the function,
// a call from an in-place closure is. Same-named locks of different crates stay apart.

import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { test } from 'node:test';
import { checkWorkspace } from '../../server/src/workspace/check';
import { discoverWorkspace } from '../../server/src/workspace/discover';
import { workspaceFindings, workspaceGraph } from '../../server/src/workspace/graph';

const FIX = path.resolve(__dirname, '..', '..', '..', 'test', 'fixtures', 'graph', 'spawned');

test('a lock-free function that spawns the locking call does not re-lock; one that runs it in place does', async () => {
  const result = await checkWorkspace(discoverWorkspace(FIX), { threads: 1 });
  const graph = workspaceGraph(result);
  const doubles = workspaceFindings(result, graph).filter((f) => f.rule === 'double-lock');
  assert.deepEqual(doubles.map((f) => `${f.file}:${f.range.start.line + 1}`), ['src/lib.rs:32']);
  assert.match(doubles[0].message, /via Svc::run_now → Svc::run/);
  const fns = result.crates[0].files.flatMap((f) => f.functions);
  const start = fns.find((f) => f.qualifiedName === 'Svc::start')!;
  assert.deepEqual(start.calls.filter((c) => c.name === 'run').map((c) => c.deferred), [true]);
  const runNow = fns.find((f) => f.qualifiedName === 'Svc::run_now')!;
  const inPlace = runNow.calls.find((c) => c.name === 'run')!;
  assert.equal(inPlace.inClosure, true);
  assert.notEqual(inPlace.deferred, true);
});

test('two crates with the same type and field names keep separate lock classes', async () => {
  const dir = path.resolve(__dirname, '..', '..', '..', 'test', 'fixtures', 'graph', 'samenames');
  const result = await checkWorkspace(discoverWorkspace(dir), { threads: 1 });
  const graph = workspaceGraph(result);
  assert.deepEqual(graph.cycles.map((c) => [...c.locks].sort().join(' ')), ['client::Inner.queue client::Inner.state']);
  const inversions = workspaceFindings(result, graph).filter((f) => f.rule === 'lock-order-inversion');
  assert.deepEqual([...new Set(inversions.map((f) => f.file))], ['crates/client/src/lib.rs']);
  assert.ok(graph.nodes.some((n) => n.id === 'server::Inner.state') && graph.nodes.some((n) => n.id === 'client::Inner.state'));
  // A single crate keeps plain class names.
  const single = await checkWorkspace(discoverWorkspace(path.join(dir, 'crates', 'client')), { threads: 1 });
  assert.deepEqual(workspaceGraph(single).cycles.map((c) => [...c.locks].sort().join(' ')), ['Inner.queue Inner.state']);
});
