// Reading source files defensively: binary, non-UTF-8 and oversized files become a one-line
// reason instead of an exception.

import * as fs from 'fs';

export const DEFAULT_MAX_FILE_BYTES = 4 * 1024 * 1024;

export type SourceRead = { ok: true; text: string } | { ok: false; reason: string };

const utf8 = new TextDecoder('utf-8', { fatal: true });

export function readSource(file: string, maxBytes = DEFAULT_MAX_FILE_BYTES): SourceRead {
  let size: number;
  try {
    size = fs.statSync(file).size;
  } catch (e) {
    return { ok: false, reason: `cannot read (${(e as NodeJS.ErrnoException).code ?? 'I/O error'})` };
  }
  if (size > maxBytes) {
    return { ok: false, reason: `skipped: ${(size / 1048576).toFixed(1)} MB is over the ${(maxBytes / 1048576).toFixed(0)} MB limit (raise it with --max-file-size)` };
  }
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (e) {
    return { ok: false, reason: `cannot read (${(e as NodeJS.ErrnoException).code ?? 'I/O error'})` };
  }
  return decodeSource(bytes);
}

export function decodeSource(bytes: Uint8Array): SourceRead {
  if (bytes.includes(0)) return { ok: false, reason: 'skipped: binary file (contains NUL bytes)' };
  try {
    let text = utf8.decode(bytes);
    if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    return { ok: true, text };
  } catch {
    return { ok: false, reason: 'skipped: not valid UTF-8 (Rust source files must be UTF-8)' };
  }
}
