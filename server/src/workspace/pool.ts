// Worker-thread shards: each worker owns a tree-sitter runtime and the trees of its files, so
// parsing and analysis run on every core and trees never cross threads (only plain data does).

import * as fs from 'fs';
import * as path from 'path';
import { Worker } from 'worker_threads';
import type { AnalysedFile, CrateJob, Declared, DeclareOptions, FileJob, Shard } from './check';

const WORKER_SCRIPT = path.join(__dirname, 'worker.js');

type Reply = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: string };

export class WorkerShard implements Shard {
  private readonly worker: Worker;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private failed: Error | undefined;

  static available(): boolean {
    return fs.existsSync(WORKER_SCRIPT);
  }

  constructor() {
    this.worker = new Worker(WORKER_SCRIPT);
    this.worker.on('message', (m: Reply) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (m.ok) p.resolve(m.value);
      else p.reject(new Error(m.error));
    });
    const fail = (e: Error) => {
      this.failed = e;
      for (const p of this.pending.values()) p.reject(e);
      this.pending.clear();
    };
    this.worker.on('error', fail);
    this.worker.on('exit', (code) => {
      if (this.pending.size > 0) fail(new Error(`analysis worker exited with code ${code}`));
    });
  }

  private call<T>(kind: string, payload: unknown): Promise<T> {
    if (this.failed) return Promise.reject(this.failed);
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.worker.postMessage({ id, kind, payload });
    });
  }

  declare(jobs: FileJob[], options: DeclareOptions): Promise<Declared[]> {
    return this.call('declare', { jobs, options });
  }

  analyze(crates: CrateJob[]): Promise<AnalysedFile[]> {
    return this.call('analyze', { crates });
  }

  async close(): Promise<void> {
    await this.worker.terminate();
  }
}
