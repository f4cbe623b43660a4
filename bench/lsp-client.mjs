// Minimal LSP client for the benchmarks: spawns a server process speaking LSP over stdio and
// talks to it with vscode-jsonrpc (the same library VS Code's client uses).
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const require = createRequire(import.meta.url);
const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const rpc = require(path.join(REPO, 'node_modules', 'vscode-jsonrpc', 'node'));

export const fileUri = (p) => pathToFileURL(p).href;

/** VmHWM / VmRSS of a process in MB (Linux), or null. */
export function memoryOf(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key) => {
      const m = status.match(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm'));
      return m ? Number(m[1]) / 1024 : null;
    };
    return { hwmMB: kb('VmHWM'), rssMB: kb('VmRSS') };
  } catch {
    return null;
  }
}

/**
 * Starts `argv` (e.g. ['bin/locklens.js', 'lsp', '--stdio']) with node and returns a client:
 *   { child, conn, diagnostics(uri, version) -> Promise<{ at, params }>, publications[], status[], progress[], close() }
 */
export function startClient(argv, { stderr = 'ignore' } = {}) {
  const child = spawn(process.execPath, argv, { cwd: REPO, stdio: ['pipe', 'pipe', stderr] });
  const conn = rpc.createMessageConnection(new rpc.StreamMessageReader(child.stdout), new rpc.StreamMessageWriter(child.stdin));
  const waiters = new Map(); // `${uri}#${version}` -> resolve
  const latest = new Map(); // uri -> { version, at, params }
  const publications = []; // every publishDiagnostics: { uri, version, at, count }
  const status = [];
  const progress = [];
  const logs = [];
  conn.onNotification('textDocument/publishDiagnostics', (params) => {
    const at = performance.now();
    latest.set(params.uri, { version: params.version, at, params });
    publications.push({ uri: params.uri, version: params.version, at, count: params.diagnostics.length });
    const key = `${params.uri}#${params.version}`;
    const w = waiters.get(key);
    if (w) {
      waiters.delete(key);
      w({ at, params });
    }
  });
  conn.onNotification('locklens/status', (params) => status.push({ at: performance.now(), ...params }));
  conn.onNotification('$/progress', (params) => progress.push({ at: performance.now(), kind: params?.value?.kind, message: params?.value?.message }));
  conn.onNotification('window/logMessage', (params) => logs.push(params.message));
  conn.onRequest('window/workDoneProgress/create', () => null);
  conn.onRequest('client/registerCapability', () => null);
  conn.onRequest('client/unregisterCapability', () => null);
  conn.onRequest('workspace/configuration', (p) => (p.items ?? []).map(() => null));
  conn.onRequest('window/showMessageRequest', () => null);
  conn.onRequest('workspace/inlayHint/refresh', () => null);
  conn.onRequest('workspace/codeLens/refresh', () => null);
  conn.listen();
  return {
    child,
    conn,
    status,
    progress,
    logs,
    latest,
    publications,
    /** Resolves at the first publishDiagnostics for uri with exactly this version. */
    diagnostics(uri, version) {
      const l = latest.get(uri);
      if (l && l.version === version) return Promise.resolve({ at: l.at, params: l.params });
      return new Promise((resolve) => waiters.set(`${uri}#${version}`, resolve));
    },
    async initialize(folder, extraCaps = {}) {
      const res = await conn.sendRequest('initialize', {
        processId: process.pid,
        rootUri: fileUri(folder),
        workspaceFolders: [{ uri: fileUri(folder), name: path.basename(folder) }],
        capabilities: {
          window: { workDoneProgress: true },
          textDocument: { publishDiagnostics: { versionSupport: true }, synchronization: { didSave: false } },
          workspace: { workspaceFolders: true, ...extraCaps },
        },
      });
      return res;
    },
    async close() {
      try {
        await Promise.race([conn.sendRequest('shutdown'), new Promise((r) => setTimeout(r, 3000))]);
        conn.sendNotification('exit');
      } catch {
        // already gone
      }
      await new Promise((r) => {
        if (child.exitCode !== null) return r();
        const t = setTimeout(() => {
          child.kill('SIGKILL');
          r();
        }, 3000);
        child.once('exit', () => {
          clearTimeout(t);
          r();
        });
      });
      conn.dispose();
    },
  };
}
