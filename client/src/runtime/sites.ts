// Finding the files behind the hook's sites (rustc paths, usually relative to the package).

import * as fs from 'fs';
import * as path from 'path';

/** The nearest folder at or above `start` that holds a Cargo.toml (at most 8 levels up). */
export function crateRootAbove(start: string): string | undefined {
  let dir = start;
  for (let i = 0; i < 8; i++) {
    if (fs.existsSync(path.join(dir, 'Cargo.toml'))) return dir;
    const up = path.dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
  return undefined;
}

/** Folders with a Cargo.toml: each root and its sub-folders down to `depth` (skipping target/, .git, node_modules). */
export function packageDirs(roots: string[], depth = 2): string[] {
  const out: string[] = [];
  const walk = (dir: string, d: number) => {
    if (fs.existsSync(path.join(dir, 'Cargo.toml'))) out.push(dir);
    if (d === 0) return;
    let entries: fs.Dirent[] = [];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) if (e.isDirectory() && !['target', 'node_modules', '.git'].includes(e.name) && !e.name.startsWith('.')) walk(path.join(dir, e.name), d - 1);
  };
  for (const r of roots) walk(r, depth);
  return out;
}

/** A cached resolver: absolute files as they are, relative ones against each root in turn. */
export class SiteResolver {
  private cache = new Map<string, string | undefined>();
  private roots: string[] = [];

  constructor(roots: string[]) {
    this.addRoots(roots);
  }

  addRoots(roots: string[]): void {
    let added = false;
    for (const r of roots) if (r && !this.roots.includes(r)) (this.roots.push(r), (added = true));
    if (added) for (const [k, v] of this.cache) if (v === undefined) this.cache.delete(k);
  }

  resolve = (file: string): string | undefined => {
    if (this.cache.has(file)) return this.cache.get(file);
    let found: string | undefined;
    // Paths come from the debuggee: no NUL, and relative ones must stay inside their root.
    if (!file.includes('\0')) {
      if (path.isAbsolute(file)) found = isFile(file) ? file : undefined;
      else
        for (const r of this.roots) {
          const p = path.resolve(r, file);
          if (!p.startsWith(path.resolve(r) + path.sep)) continue;
          if (isFile(p)) {
            found = p;
            break;
          }
        }
    }
    if (this.cache.size > 5000) this.cache.clear();
    this.cache.set(file, found);
    return found;
  };
}

function isFile(p: string): boolean {
  try {
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}
