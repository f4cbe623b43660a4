// Lock classes are names (`Inner.state`, `STATE`, `run::m`), and two crates of one workspace can
// use the same name for different locks. Left alone, the graph would join them into one node
// and report orders and re-entries between locks that never meet. A class declared in more than
// one crate is therefore given its crate's name in each of them (`server::Inner.state`); a class
// declared in one crate keeps its plain name, so single-crate results read as before.

import type { FileAnalysis } from '../api';
import type { Acquisition } from '../model';
import type { LockGraphFile, LockGraphInput } from './types';

/** The crate whose lock an acquisition takes: where the lock is declared, else where it is taken. */
function ownerOf(a: Acquisition, crateOfFile: Map<string, string>, fallback: string): string {
  return (a.declaration && crateOfFile.get(a.declaration.file)) ?? fallback;
}

const renamed = new WeakMap<FileAnalysis, { key: string; analysis: FileAnalysis }>();

export function separateCrates(input: LockGraphInput): LockGraphInput {
  const crates = new Set(input.files.map((f) => f.crate));
  if (crates.size < 2) return input;
  const crateOfFile = new Map(input.files.map((f) => [f.analysis.file, f.crate] as const));
  const owners = new Map<string, Set<string>>();
  const own = (cls: string, crate: string) => {
    const set = owners.get(cls);
    if (set) set.add(crate);
    else owners.set(cls, new Set([crate]));
  };
  for (const f of input.files) {
    for (const a of f.analysis.acquisitions) own(a.lock, ownerOf(a, crateOfFile, f.crate));
    for (const s of f.analysis.functions) if (s.returnsGuard) own(s.returnsGuard.lock, f.crate);
  }
  const shared = new Set([...owners].filter(([, set]) => set.size > 1).map(([cls]) => cls));
  if (shared.size === 0) return input;
  const qualify = (cls: string, crate: string) => (shared.has(cls) ? `${crate}::${cls}` : cls);
  const files = input.files.map((f): LockGraphFile => {
    const touched = f.analysis.acquisitions.some((a) => shared.has(a.lock)) || f.analysis.functions.some((s) => s.returnsGuard && shared.has(s.returnsGuard.lock));
    if (!touched) return f;
    // The same renaming of the same analysis gives the same object: the engine sees no change.
    const key = JSON.stringify([f.crate, [...shared].sort(), f.analysis.acquisitions.map((a) => ownerOf(a, crateOfFile, f.crate))]);
    const cached = renamed.get(f.analysis);
    if (cached && cached.key === key) return { ...f, analysis: cached.analysis };
    const analysis: FileAnalysis = {
      ...f.analysis,
      acquisitions: f.analysis.acquisitions.map((a) => (shared.has(a.lock) ? { ...a, lock: qualify(a.lock, ownerOf(a, crateOfFile, f.crate)) } : a)),
      functions: f.analysis.functions.map((s) => (s.returnsGuard && shared.has(s.returnsGuard.lock) ? { ...s, returnsGuard: { ...s.returnsGuard, lock: qualify(s.returnsGuard.lock, f.crate) } } : s)),
    };
    renamed.set(f.analysis, { key, analysis });
    return { ...f, analysis };
  });
  // Declared orders and reentrant classes name plain classes: they cover each crate's copy.
  const widen = (names: string[]) => names.flatMap((n) => (shared.has(n) ? [n, ...[...owners.get(n)!].sort().map((c) => `${c}::${n}`)] : [n]));
  return {
    ...input,
    files,
    order: input.order?.map(widen),
    reentrant: input.reentrant && widen(input.reentrant),
  };
}
