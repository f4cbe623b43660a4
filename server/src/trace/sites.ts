// Where the sites of a traced run are on disk: rustc reports paths relative to the package (or
// the workspace root); these helpers find them for the report (`path` on every site found).

import * as fs from 'fs';
import * as path from 'path';
import type { RunReport } from '../analysis/trace/report';

/**
 * Where rustc's relative paths may start: the working directory and, for `cargo ... --manifest-path
 * X`, X's folder (rustc reports paths relative to the package, or to the workspace root).
 */
export function siteRoots(command: string[], cwd = process.cwd()): string[] {
  const roots = [cwd];
  // a cargo-built binary run directly: PKG/target/PROFILE/[examples|deps/]NAME -> PKG
  const bin = command[0] ? path.resolve(cwd, command[0]) : '';
  const m = /^(.*)[\\/]target[\\/][^\\/]+[\\/](?:(?:examples|deps)[\\/])?[^\\/]+$/.exec(bin);
  if (m) roots.push(m[1]);
  for (let i = 0; i < command.length; i++) {
    const a = command[i];
    const v = a === '--manifest-path' ? command[i + 1] : a.startsWith('--manifest-path=') ? a.slice('--manifest-path='.length) : undefined;
    if (v) roots.push(path.dirname(path.resolve(cwd, v)));
  }
  return roots;
}

/** Adds `path` (absolute, existing file) to every site of the report whose file can be found under `roots`. */
export function resolveSites(report: RunReport, roots: string[]): void {
  const cache = new Map<string, string | null>();
  const find = (file: string): string | null => {
    let hit = cache.get(file);
    if (hit !== undefined) return hit;
    hit = null;
    if (cache.size < 10_000 && file.length < 4096 && !file.includes('\0')) {
      const candidates = path.isAbsolute(file) ? [file] : roots.map((r) => path.resolve(r, file));
      for (const c of candidates) {
        try {
          if (fs.statSync(c).isFile()) {
            hit = c;
            break;
          }
        } catch {
          // not there
        }
      }
    }
    cache.set(file, hit);
    return hit;
  };
  const walk = (v: unknown, depth: number): void => {
    if (depth > 12 || typeof v !== 'object' || v === null) return;
    if (Array.isArray(v)) {
      for (const x of v) walk(x, depth + 1);
      return;
    }
    const o = v as Record<string, unknown>;
    if (typeof o.file === 'string' && typeof o.line === 'number' && typeof o.col === 'number') {
      const p = find(o.file);
      if (p) o.path = p;
      return;
    }
    for (const [k, x] of Object.entries(o)) if (k !== 'stream') walk(x, depth + 1);
  };
  walk(report, 0);
}
