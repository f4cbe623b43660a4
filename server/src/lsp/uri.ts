// URI <-> path helpers that never throw: a malformed URI from a client is just "not a file".

import * as path from 'path';
import { fileURLToPath, pathToFileURL } from 'url';

export function uriToPath(uri: unknown): string | undefined {
  if (typeof uri !== 'string' || uri.length === 0) return undefined;
  try {
    const url = new URL(uri);
    if (url.protocol !== 'file:') return undefined;
    return path.normalize(fileURLToPath(url));
  } catch {
    return undefined;
  }
}

export function pathToUri(fsPath: string): string {
  return pathToFileURL(fsPath).href;
}

/** A canonical key for comparing paths (case-insensitive on Windows and macOS file systems). */
export function pathKey(fsPath: string): string {
  const normalized = path.normalize(fsPath);
  return process.platform === 'win32' || process.platform === 'darwin' ? normalized.toLowerCase() : normalized;
}

/** True when `child` is `parent` or inside it. */
export function isInside(parent: string, child: string): boolean {
  const rel = path.relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

export function toPosix(p: string): string {
  return p.split(path.sep).join('/');
}
