// Body of an analysis worker thread (see pool.ts): a LocalShard driven by messages.

import { parentPort } from 'worker_threads';
import { LocalShard, getEngine, type CrateJob, type DeclareOptions, type FileJob } from './check';

let shard: LocalShard | undefined;

parentPort?.on('message', async (m: { id: number; kind: string; payload: { jobs?: FileJob[]; options?: DeclareOptions; crates?: CrateJob[] } }) => {
  try {
    // The worker is terminated after the check, which frees its whole wasm memory at once.
    shard ??= new LocalShard(await getEngine(), false);
    let value: unknown;
    if (m.kind === 'declare') value = await shard.declare(m.payload.jobs ?? [], m.payload.options ?? {});
    else if (m.kind === 'analyze') value = await shard.analyze(m.payload.crates ?? []);
    else throw new Error(`unknown request ${m.kind}`);
    parentPort!.postMessage({ id: m.id, ok: true, value });
  } catch (e) {
    parentPort!.postMessage({ id: m.id, ok: false, error: e instanceof Error ? `${e.message}\n${e.stack ?? ''}` : String(e) });
  }
});
