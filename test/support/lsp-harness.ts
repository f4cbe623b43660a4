// Drives the LockLens language server in-process over real JSON-RPC streams: the server
// gets `createConnection(reader, writer)` from vscode-languageserver/node on one pair of
// PassThrough streams, the test talks through `createMessageConnection` from
// vscode-jsonrpc/node on the other side. Every wait is on a message event with a deadline.

import * as fs from 'fs';
import * as path from 'path';
import { PassThrough } from 'stream';
import { pathToFileURL } from 'url';
import { createMessageConnection, MessageConnection, StreamMessageReader, StreamMessageWriter } from 'vscode-jsonrpc/node';
import { createConnection, ProposedFeatures } from 'vscode-languageserver/node';
import type {
  ClientCapabilities,
  InitializeResult,
  PublishDiagnosticsParams,
  TextDocumentContentChangeEvent,
  WorkDoneProgressBegin,
  WorkDoneProgressEnd,
  WorkDoneProgressReport,
} from 'vscode-languageserver-protocol';
import { startServer } from '../../server/src/lsp/main';
import type { ServerHost } from '../../server/src/lsp/host';
import { StatusNotification, StatusParams } from '../../common/protocol';

export const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');

export function fixturePath(...parts: string[]): string {
  return path.join(REPO_ROOT, ...parts);
}

export function uriOf(fsPath: string): string {
  return pathToFileURL(fsPath).href;
}

type Waiter = { check: () => boolean };

export interface HarnessOptions {
  host?: ServerHost;
  /** Client capabilities (default: a VS Code-like client). */
  capabilities?: ClientCapabilities;
  /** Answer to `workspace/configuration` for the `locklens` section, per scope URI. */
  configuration?: (scopeUri: string | undefined) => unknown;
  debounceMs?: number;
}

export const VSCODE_LIKE_CAPABILITIES: ClientCapabilities = {
  workspace: {
    configuration: true,
    didChangeWatchedFiles: { dynamicRegistration: true },
    didChangeConfiguration: { dynamicRegistration: true },
    inlayHint: { refreshSupport: true },
    codeLens: { refreshSupport: true },
    workspaceFolders: true,
  },
  window: { workDoneProgress: true },
  textDocument: {
    synchronization: { dynamicRegistration: false },
    publishDiagnostics: { relatedInformation: true, versionSupport: true, codeDescriptionSupport: true, dataSupport: true },
  },
};

export class LspHarness {
  readonly client: MessageConnection;
  /** Latest diagnostics per URI. */
  readonly diagnostics = new Map<string, PublishDiagnosticsParams>();
  /** Every publication's URI, in order. */
  readonly publications: string[] = [];
  readonly statuses: StatusParams[] = [];
  readonly progress: Array<WorkDoneProgressBegin | WorkDoneProgressReport | WorkDoneProgressEnd> = [];
  readonly registrations: Array<{ method: string; registerOptions?: unknown }> = [];
  readonly logs: string[] = [];
  readonly refreshes: string[] = [];
  configuration: (scopeUri: string | undefined) => unknown;
  readonly configurationRequests: Array<string | undefined> = [];
  private waiters: Waiter[] = [];
  private readonly serverIn = new PassThrough();
  private readonly serverOut = new PassThrough();
  private versions = new Map<string, number>();

  constructor(private readonly options: HarnessOptions = {}) {
    this.configuration = options.configuration ?? (() => ({}));
    const serverConnection = createConnection(ProposedFeatures.all, this.serverIn, this.serverOut);
    startServer(serverConnection, { host: options.host, debounceMs: options.debounceMs ?? 10 });
    this.client = createMessageConnection(new StreamMessageReader(this.serverOut), new StreamMessageWriter(this.serverIn));
    this.client.onNotification('textDocument/publishDiagnostics', (p: PublishDiagnosticsParams) => {
      this.diagnostics.set(p.uri, p);
      this.publications.push(p.uri);
      this.notify();
    });
    this.client.onNotification(StatusNotification.method, (p: StatusParams) => {
      this.statuses.push(p);
      this.notify();
    });
    this.client.onNotification('$/progress', (p: { value: WorkDoneProgressBegin | WorkDoneProgressReport | WorkDoneProgressEnd }) => {
      this.progress.push(p.value);
      this.notify();
    });
    this.client.onNotification('window/logMessage', (p: { message: string }) => {
      this.logs.push(p.message);
    });
    this.client.onRequest('window/workDoneProgress/create', () => null);
    this.client.onRequest('client/registerCapability', (p: { registrations: Array<{ method: string; registerOptions?: unknown }> }) => {
      this.registrations.push(...p.registrations);
      return null;
    });
    this.client.onRequest('workspace/configuration', (p: { items: Array<{ scopeUri?: string; section?: string }> }) =>
      p.items.map((item) => {
        this.configurationRequests.push(item.scopeUri);
        return item.section === 'locklens' ? this.configuration(item.scopeUri) : null;
      }),
    );
    for (const method of ['workspace/inlayHint/refresh', 'workspace/codeLens/refresh']) {
      this.client.onRequest(method, () => {
        this.refreshes.push(method);
        this.notify();
        return null;
      });
    }
    this.client.listen();
  }

  private notify(): void {
    this.waiters = this.waiters.filter((w) => !w.check());
  }

  /** Resolves with `get()` once it returns a value, re-checked on every message from the server. */
  waitFor<T>(what: string | (() => string), get: () => T | undefined, timeoutMs = 20_000): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        const described = typeof what === 'function' ? what() : what;
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${described}; server log:\n${this.logs.slice(-20).join('\n')}`));
      }, timeoutMs);
      const waiter: Waiter = {
        check: () => {
          let value: T | undefined;
          try {
            value = get();
          } catch {
            value = undefined;
          }
          if (value === undefined) return false;
          clearTimeout(timer);
          resolve(value);
          return true;
        },
      };
      if (!waiter.check()) this.waiters.push(waiter);
    });
  }

  /** The next diagnostics for `uri` satisfying `predicate` (checked now and on each publication). */
  waitForDiagnostics(uri: string, predicate: (p: PublishDiagnosticsParams) => boolean, what = 'diagnostics'): Promise<PublishDiagnosticsParams> {
    const describe = () => `${what} for ${uri}; last published: ${JSON.stringify(this.diagnostics.get(uri))}`;
    return this.waitFor(describe, () => {
      const p = this.diagnostics.get(uri);
      return p && predicate(p) ? p : undefined;
    });
  }

  waitForReady(): Promise<StatusParams> {
    return this.waitFor('the server to be ready', () => this.statuses.find((s) => s.state === 'ready'));
  }

  async initialize(folders: string[], initializationOptions?: unknown): Promise<InitializeResult> {
    const result = await this.client.sendRequest<InitializeResult>('initialize', {
      processId: null,
      rootUri: folders[0] ? uriOf(folders[0]) : null,
      workspaceFolders: folders.map((f) => ({ uri: uriOf(f), name: path.basename(f) })),
      capabilities: this.options.capabilities ?? VSCODE_LIKE_CAPABILITIES,
      initializationOptions,
    });
    await this.client.sendNotification('initialized', {});
    return result;
  }

  async open(fsPathOrUri: string, text?: string): Promise<string> {
    const uri = fsPathOrUri.includes('://') || fsPathOrUri.startsWith('untitled:') ? fsPathOrUri : uriOf(fsPathOrUri);
    const content = text ?? fs.readFileSync(fsPathOrUri, 'utf8');
    this.versions.set(uri, 1);
    await this.client.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId: 'rust', version: 1, text: content } });
    return uri;
  }

  async change(uri: string, changes: TextDocumentContentChangeEvent[]): Promise<number> {
    const version = (this.versions.get(uri) ?? 1) + 1;
    this.versions.set(uri, version);
    await this.client.sendNotification('textDocument/didChange', { textDocument: { uri, version }, contentChanges: changes });
    return version;
  }

  async close(uri: string): Promise<void> {
    await this.client.sendNotification('textDocument/didClose', { textDocument: { uri } });
  }

  request<R>(method: string, params: unknown): Promise<R> {
    return this.client.sendRequest<R>(method, params);
  }

  /** Writes raw bytes to the server's input, for malformed-message tests. */
  writeRaw(data: string): void {
    this.serverIn.write(data);
  }

  /** Shuts the server down (its timers stop); the streams stay open so the server never calls process.exit. */
  async dispose(): Promise<void> {
    try {
      await this.client.sendRequest('shutdown');
    } finally {
      this.client.dispose();
    }
  }
}
