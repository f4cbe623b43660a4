// The LockLens language server: document sync with a tree cache, workspace indexing,
// per-file analysis cache, diagnostics, and the editor features built on the engine's
// plain data (features.ts, lockGraph.ts). Transport-agnostic: main.ts picks the stream.

import * as path from 'path';
import * as fs from 'fs';
import {
  CodeAction,
  CodeActionKind,
  CodeActionParams,
  CodeLens,
  Connection,
  Diagnostic,
  DidChangeConfigurationNotification,
  DidChangeWatchedFilesNotification,
  DidChangeWatchedFilesParams,
  DocumentHighlight,
  FileChangeType,
  Hover,
  InitializeParams,
  InitializeResult,
  InlayHint,
  TextDocumentSyncKind,
  WatchKind,
} from 'vscode-languageserver';
import type { CrateIndex, EngineOptions, FileAnalysis, FileDeclarations } from '../analysis/api';
import { sameData } from '../analysis/cache';
import type { Edition, Finding, RuleId } from '../analysis/model';
import {
  GuardRegionsParams,
  GuardRegionsRequest,
  GuardRegionsResult,
  InitializationOptions,
  LockGraphParams,
  LockGraphRequest,
  LockGraphResult,
  RuntimeEdgesNotification,
  RuntimeEdgesParams,
  ServerState,
  StatusNotification,
} from '../../../common/protocol';
import { RULE_IDS, RuleName, ruleDocPath } from '../../../common/rules';
import { LockLensSettings, normalizeSettings, SeveritySetting, severityOverrides, SECTION } from '../../../common/settings';
import { DocumentStore, OpenDocument } from './documents';
import {
  acquisitionAt,
  codeActionsFor,
  DiagnosticCache,
  DiagnosticContext,
  diagnosticEntries,
  diagnosticsFor,
  findingAfterEdits,
  guardRegionsOf,
  highlightsFor,
  hoverFor,
  inlayHintsFor,
  rangesIntersect,
  splitLines,
  toRange,
} from './features';
import type { CrateInfo, EngineLike, ParsedFileLike, ServerHost, TreeEditLike, WorkspaceInfo } from './host';
import { LockGraphBuilder, lockSummaryTitle } from './lockGraph';
import { MAX_RUNTIME_EDGES, runtimeDiagnostics, type RuntimeEvidence, type StaticAcquisition } from './runtimeEdges';
import { isInside, pathKey, pathToUri, toPosix, uriToPath } from './uri';

// Compile-time check that the protocol's rule list and the engine's rule ids agree.
type EngineRule = Exclude<RuleId, 'parse-error'>;
const _rulesMatch: [EngineRule] extends [RuleName] ? ([RuleName] extends [EngineRule] ? true : never) : never = true;
void _rulesMatch;

export interface ServerOptions {
  /** Engine, workspace discovery and file access (default: the real ones). */
  host?: ServerHost;
  /** Delay between the last edit and re-analysis of a document, in ms. */
  debounceMs?: number;
}

interface CrateEntry {
  info: CrateInfo;
  workspace: WorkspaceEntry;
  files: FileEntry[];
  /** Bumped whenever a file's declarations change in a way other files can see. */
  generation: number;
  index?: CrateIndex;
  /** Whole-crate findings (lock-order-inversion, lock-hierarchy) by engine file key. */
  graphFindings: Map<string, Finding[]>;
}

interface WorkspaceEntry {
  root: string;
  info: WorkspaceInfo;
  crates: CrateEntry[];
}

interface FileEntry {
  path: string;
  /** The engine's name for the file: its path relative to the workspace root, `/`-separated. */
  key: string;
  crate: CrateEntry;
  declarations?: FileDeclarations;
  analysis?: FileAnalysis;
  stamp?: string;
  /** The text `analysis` was computed from (for allow comments and fixes). */
  text?: string;
  /** The open document's version `analysis` is of (undefined: of the text on disk). */
  analysisVersion?: number;
  /** `analysisVersion` when the crate's graph findings were last computed. */
  graphVersion?: number;
}

interface AnalysisResult {
  analysis: FileAnalysis;
  text: string;
  /** The document version `text` is (diagnostics are published for it, not for a later one). */
  version: number;
  /** The edits that made `text` from the version before (when it was re-parsed incrementally). */
  since?: { fromVersion: number; edits: readonly TreeEditLike[] };
  edition: Edition;
  editionSource: string;
  file?: FileEntry;
  settings: LockLensSettings;
}

const WATCH_GLOBS = ['**/*.rs', '**/Cargo.toml'];

function stringArray(value: unknown): string[] | undefined {
  return Array.isArray(value) && value.every((v) => typeof v === 'string') ? (value as string[]) : undefined;
}

/** Engine options from `[package.metadata.locklens]` (camelCase, snake_case or kebab-case keys). */
export function optionsFromConfig(config: unknown): Pick<EngineOptions, 'reentrantClasses' | 'blockingFunctions' | 'lockWrappers' | 'severities'> {
  const out: Pick<EngineOptions, 'reentrantClasses' | 'blockingFunctions' | 'lockWrappers' | 'severities'> = {};
  if (typeof config !== 'object' || config === null) return out;
  const c = config as Record<string, unknown>;
  const severities = c.severities ?? c.severity;
  if (typeof severities === 'object' && severities !== null && !Array.isArray(severities)) {
    const picked: Record<string, string> = {};
    for (const [rule, value] of Object.entries(severities as Record<string, unknown>)) {
      if (typeof value === 'string' && ['error', 'warning', 'information', 'hint', 'off'].includes(value)) picked[rule] = value;
    }
    out.severities = picked as EngineOptions['severities'];
  }
  const first = (...keys: string[]) => keys.map((k) => stringArray(c[k])).find((v) => v !== undefined);
  const reentrant = first('reentrantClasses', 'reentrant_classes', 'reentrant-classes', 'reentrant');
  const blocking = first('blockingFunctions', 'blocking_functions', 'blocking-functions', 'blocking');
  const wrappers = first('lockWrappers', 'lock_wrappers', 'lock-wrappers', 'wrappers');
  if (reentrant) out.reentrantClasses = reentrant;
  if (blocking) out.blockingFunctions = blocking;
  if (wrappers) out.lockWrappers = wrappers;
  return out;
}

function findDocsDir(start: string): string | undefined {
  let dir = start;
  for (let i = 0; i < 8; i++) {
    const candidate = path.join(dir, 'docs', 'rules');
    if (fs.existsSync(candidate)) return candidate;
    const parent = path.dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return undefined;
}

export class LockLensServer {
  private readonly host: ServerHost;
  private readonly debounceMs: number;
  private readonly documents: DocumentStore;
  private engine: EngineLike | undefined;
  private engineReady: Promise<EngineLike | undefined> | undefined;
  private engineError: string | undefined;
  private workspaces: WorkspaceEntry[] = [];
  private files = new Map<string, FileEntry>();
  private folders: string[] = [];
  private capabilities = { workspaceFolders: false, configuration: false, dynamicWatch: false, dynamicConfiguration: false, inlayRefresh: false, codeLensRefresh: false };
  /** Settings pushed with didChangeConfiguration, used only by clients without workspace/configuration. */
  private pushedSettings: unknown;
  /** The client notifies configuration changes: settings asked for are kept until the next one. */
  private configurationWatched = false;
  private readonly settingsCache = new Map<string, Promise<LockLensSettings>>();
  private docsBase: string | undefined;
  private readonly openResults = new Map<string, { stamp: string; result: AnalysisResult }>();
  /** Open documents with a file URI, by path key: the editor's URI spelling wins when publishing. */
  private readonly openByPath = new Map<string, string>();
  private readonly published = new Map<string, number>();
  /** Runtime lock-order evidence per traced session (`locklens/runtimeEdges`), and its diagnostics by uri. */
  private readonly runtimeEvidence = new Map<string, RuntimeEvidence>();
  private runtimeDiags = new Map<string, Diagnostic[]>();
  /** The static diagnostics last published per uri (runtime ones are added on top). */
  private readonly staticPublished = new Map<string, { diagnostics: Diagnostic[]; version?: number }>();
  /** What was last sent per uri (static and runtime diagnostics), to skip sending it again unchanged. */
  private readonly sent = new Map<string, { diagnostics: Diagnostic[]; version?: number }>();
  private readonly diagnosticCache = new DiagnosticCache();
  /** Pending analyses of open documents, by uri: each cancels its timer. */
  private readonly timers = new Map<string, () => void>();
  /** Resolves when every workspace file's declarations are known (analysis needs the crate index). */
  private declarationsReady: Promise<void> = Promise.resolve();
  /**
   * True while the declarations pass runs: requests on open documents are answered against the
   * partial index meanwhile instead of waiting for the whole pass. Such a result is kept until
   * the pass ends (one analysis per document version, not one per request), then replaced.
   */
  private declaring = false;
  private indexing: Promise<void> = Promise.resolve();
  private reindexTimer: NodeJS.Timeout | undefined;
  private state: ServerState = 'starting';
  private progress = { done: 0, total: 0 };
  private statusMessage: string | undefined;
  private shuttingDown = false;

  constructor(private readonly connection: Connection, options: ServerOptions = {}) {
    this.host = options.host ?? require('./defaultHost').defaultHost();
    // Analysis of an edit reuses every unchanged function's result, so it is cheap enough to run
    // on the next turn of the event loop: edits that arrive together still coalesce (each
    // schedule replaces the pending timer), and nothing waits for a fixed delay.
    this.debounceMs = options.debounceMs ?? 0;
    this.documents = new DocumentStore(() => this.engine);
    this.register();
  }

  // ---------------------------------------------------------------- wiring

  private register(): void {
    const c = this.connection;
    c.onInitialize((params) => this.initialize(params));
    c.onInitialized(() => this.safe('initialized', () => this.initialized()));
    c.onShutdown(() => {
      this.shuttingDown = true;
      for (const cancel of this.timers.values()) cancel();
      this.timers.clear();
      if (this.reindexTimer) clearTimeout(this.reindexTimer);
      this.documents.dispose();
    });
    c.onDidOpenTextDocument((p) =>
      this.safe('didOpen', async () => {
        const { uri, languageId, version, text } = p.textDocument;
        if (typeof uri !== 'string' || typeof text !== 'string') return;
        if (languageId !== 'rust' && !uri.endsWith('.rs')) return;
        this.documents.open(uri, languageId, typeof version === 'number' ? version : 0, text);
        const fsPath = uriToPath(uri);
        if (fsPath) this.openByPath.set(pathKey(fsPath), uri);
        this.schedule(uri, 0);
      }),
    );
    c.onDidChangeTextDocument((p) =>
      this.safe('didChange', async () => {
        const uri = p.textDocument?.uri;
        if (typeof uri !== 'string' || !Array.isArray(p.contentChanges)) return;
        if (!this.documents.change(uri, p.textDocument.version, p.contentChanges)) return;
        this.schedule(uri, this.debounceMs);
      }),
    );
    c.onDidCloseTextDocument((p) =>
      this.safe('didClose', async () => {
        const uri = p.textDocument?.uri;
        if (typeof uri !== 'string') return;
        this.documents.close(uri);
        this.openResults.delete(uri);
        const fsPath = uriToPath(uri);
        if (fsPath && this.openByPath.get(pathKey(fsPath)) === uri) this.openByPath.delete(pathKey(fsPath));
        this.timers.get(uri)?.();
        this.timers.delete(uri);
        const file = this.fileForUri(uri);
        if (file) await this.analyzeClosed(file, await this.settingsFor(pathToUri(file.crate.info.root)));
        else this.publish(uri, []);
      }),
    );
    c.onDidChangeWatchedFiles((p) => this.safe('didChangeWatchedFiles', () => this.watchedFilesChanged(p)));
    c.onDidChangeConfiguration((p) =>
      this.safe('didChangeConfiguration', async () => {
        const settings = (p?.settings as Record<string, unknown> | undefined)?.[SECTION];
        if (settings !== undefined) this.pushedSettings = settings;
        this.settingsCache.clear();
        await this.reanalyzeAll();
        if (this.runtimeEvidence.size > 0) await this.refreshRuntimeDiagnostics();
        if (this.capabilities.inlayRefresh) await this.connection.languages.inlayHint.refresh().catch(() => undefined);
        if (this.capabilities.codeLensRefresh) await this.connection.sendRequest('workspace/codeLens/refresh').catch(() => undefined);
      }),
    );
    c.onHover((p) => this.request('hover', null, () => this.hover(p.textDocument.uri, p.position)));
    c.onDocumentHighlight((p) => this.request('documentHighlight', null, () => this.highlights(p.textDocument.uri, p.position)));
    c.languages.inlayHint.on((p) => this.request('inlayHint', null, () => this.inlayHints(p.textDocument.uri, p.range)));
    c.onCodeLens((p) => this.request('codeLens', null, () => this.codeLenses(p.textDocument.uri)));
    c.onCodeAction((p) => this.request('codeAction', null, () => this.codeActions(p)));
    c.onRequest(GuardRegionsRequest.type, (p) => this.request(GuardRegionsRequest.method, null, () => this.guardRegions(p)));
    c.onNotification(RuntimeEdgesNotification.type, (p) => this.safe(RuntimeEdgesNotification.method, () => this.runtimeEdges(p)));
    c.onRequest(LockGraphRequest.type, (p) =>
      this.request(LockGraphRequest.method, { crates: [], nodes: [], edges: [], cycles: [] }, () => this.lockGraph(p ?? {})),
    );
  }

  /** Runs a notification handler; failures are logged, never thrown into the connection. */
  private safe(what: string, fn: () => unknown): void {
    try {
      const result = fn();
      if (result instanceof Promise) result.catch((err) => this.logError(what, err));
    } catch (err) {
      this.logError(what, err);
    }
  }

  /** Runs a request handler; malformed params or engine failures answer `fallback`. */
  private async request<T, F>(what: string, fallback: F, fn: () => Promise<T> | T): Promise<T | F> {
    try {
      return await fn();
    } catch (err) {
      this.logError(what, err);
      return fallback;
    }
  }

  private logError(what: string, err: unknown): void {
    const text = err instanceof Error ? err.stack ?? err.message : String(err);
    try {
      this.connection.console.error(`locklens: ${what} failed: ${text}`);
    } catch {
      // The connection may already be gone.
    }
  }

  private initialize(params: InitializeParams): InitializeResult {
    const caps = params.capabilities ?? {};
    this.capabilities = {
      workspaceFolders: caps.workspace?.workspaceFolders === true,
      configuration: caps.workspace?.configuration === true,
      dynamicWatch: caps.workspace?.didChangeWatchedFiles?.dynamicRegistration === true,
      dynamicConfiguration: caps.workspace?.didChangeConfiguration?.dynamicRegistration === true,
      inlayRefresh: caps.workspace?.inlayHint?.refreshSupport === true,
      codeLensRefresh: caps.workspace?.codeLens?.refreshSupport === true,
    };
    const folders = (params.workspaceFolders ?? []).map((f) => uriToPath(f.uri)).filter((p): p is string => p !== undefined);
    if (folders.length === 0) {
      const root = uriToPath(params.rootUri) ?? (typeof params.rootPath === 'string' ? params.rootPath : undefined);
      if (root) folders.push(root);
    }
    this.folders = folders;
    const init = (params.initializationOptions ?? {}) as InitializationOptions;
    if (typeof init.docsBaseUri === 'string' && init.docsBaseUri.length > 0) {
      this.docsBase = init.docsBaseUri.endsWith('/') ? init.docsBaseUri : `${init.docsBaseUri}/`;
    } else {
      const dir = findDocsDir(__dirname);
      this.docsBase = dir ? `${pathToUri(path.dirname(path.dirname(dir)))}/` : undefined;
    }
    return {
      capabilities: {
        textDocumentSync: { openClose: true, change: TextDocumentSyncKind.Incremental },
        hoverProvider: true,
        documentHighlightProvider: true,
        inlayHintProvider: { resolveProvider: false },
        codeLensProvider: { resolveProvider: false },
        codeActionProvider: { codeActionKinds: [CodeActionKind.QuickFix], resolveProvider: false },
        workspace: { workspaceFolders: { supported: true, changeNotifications: true } },
      },
      serverInfo: { name: 'locklens', version: readVersion() },
    };
  }

  private async initialized(): Promise<void> {
    if (this.capabilities.dynamicWatch) {
      await this.connection.client
        .register(DidChangeWatchedFilesNotification.type, {
          watchers: WATCH_GLOBS.map((globPattern) => ({ globPattern, kind: WatchKind.Create | WatchKind.Change | WatchKind.Delete })),
        })
        .catch((err) => this.logError('register file watchers', err));
    }
    if (this.capabilities.dynamicConfiguration) {
      await this.connection.client
        .register(DidChangeConfigurationNotification.type, { section: SECTION })
        .then(
          () => (this.configurationWatched = true),
          (err) => this.logError('register configuration', err),
        );
    }
    this.engineReady = this.host.createEngine().then(
      (engine) => {
        this.engine = engine;
        return engine;
      },
      (err) => {
        this.engineError = err instanceof Error ? err.message : String(err);
        this.logError('engine start-up', err);
        this.setState('error', `The LockLens engine could not start: ${this.engineError}`);
        return undefined;
      },
    );
    if (this.capabilities.workspaceFolders) {
      this.connection.workspace.onDidChangeWorkspaceFolders((e) =>
        this.safe('didChangeWorkspaceFolders', async () => {
          const removed = new Set(e.removed.map((f) => uriToPath(f.uri)).filter((p): p is string => p !== undefined).map(pathKey));
          const added = e.added.map((f) => uriToPath(f.uri)).filter((p): p is string => p !== undefined);
          this.folders = [...this.folders.filter((f) => !removed.has(pathKey(f))), ...added];
          // Folder settings apply to other resources now.
          this.settingsCache.clear();
          await this.reindex();
        }),
      );
    }
    await this.reindex();
  }

  /** `disabled` when `locklens.enable` is off for every crate (and the workspace), else `ready`. */
  private async updateEnabledState(message: string | undefined): Promise<void> {
    if (this.state === 'error' && !this.engine) return;
    const scopes = this.workspaces.flatMap((w) => w.crates.map((c) => pathToUri(c.info.root)));
    if (scopes.length === 0) scopes.push(...this.folders.map(pathToUri));
    let enabled = scopes.length === 0 ? (await this.settingsFor(undefined)).enable : false;
    for (const scope of scopes) {
      if (enabled) break;
      enabled = (await this.settingsFor(scope)).enable;
    }
    this.setState(enabled ? 'ready' : 'disabled', message);
  }

  private setState(state: ServerState, message?: string): void {
    this.state = state;
    if (message !== undefined) this.statusMessage = message;
    this.sendStatus();
  }

  private sendStatus(): void {
    if (this.shuttingDown) return;
    let findings = 0;
    for (const n of this.published.values()) findings += n;
    this.connection
      .sendNotification(StatusNotification.type, {
        state: this.state,
        filesDone: this.progress.done,
        filesTotal: this.progress.total,
        findings,
        ...(this.statusMessage ? { message: this.statusMessage } : {}),
      })
      .catch(() => undefined);
  }

  // ---------------------------------------------------------------- settings

  /**
   * The settings for a resource. Asked of the client (`workspace/configuration`) when it
   * supports that; kept per scope while the client tells us about changes (the registration
   * for `didChangeConfiguration` succeeded), so an edit does not wait for a round trip.
   */
  private settingsFor(scopeUri: string | undefined): Promise<LockLensSettings> {
    if (!this.capabilities.configuration) return Promise.resolve(normalizeSettings(this.pushedSettings));
    const key = scopeUri ?? '';
    const cached = this.settingsCache.get(key);
    if (cached) return cached;
    const asked = this.connection.workspace.getConfiguration({ scopeUri, section: SECTION }).then(
      (raw) => normalizeSettings(raw),
      (err) => {
        this.logError('workspace/configuration', err);
        if (this.settingsCache.get(key) === asked) this.settingsCache.delete(key);
        return normalizeSettings(this.pushedSettings);
      },
    );
    if (this.configurationWatched) this.settingsCache.set(key, asked);
    return asked;
  }

  private editionFor(settings: LockLensSettings, crate: CrateEntry | undefined): { edition: Edition; source: string } {
    if (settings.edition !== 'auto') return { edition: settings.edition, source: 'locklens.edition setting' };
    if (crate) return { edition: crate.info.edition, source: `Cargo.toml of ${crate.info.name}` };
    return { edition: '2021', source: 'default; no Cargo.toml found' };
  }

  private engineOptions(settings: LockLensSettings, crate: CrateEntry | undefined, edition: Edition): EngineOptions {
    // Severities: the crate's LockLens configuration first, the user's settings over it.
    const fromConfig = crate ? optionsFromConfig(crate.info.config) : {};
    return {
      edition,
      ...fromConfig,
      severities: { ...(fromConfig.severities ?? {}), ...(severityOverrides(settings) as EngineOptions['severities']) },
      ...(crate ? { dependencies: crate.info.dependencies } : {}),
    };
  }

  // ---------------------------------------------------------------- files & URIs

  private fileForPath(fsPath: string): FileEntry | undefined {
    return this.files.get(pathKey(fsPath));
  }

  private fileForUri(uri: string): FileEntry | undefined {
    const p = uriToPath(uri);
    return p ? this.fileForPath(p) : undefined;
  }

  private uriForFile(file: FileEntry): string {
    return this.openDocumentFor(file)?.uri ?? pathToUri(file.path);
  }

  /** Resolves an engine file key found in results of `context` to a URI. */
  private uriResolver(context: { workspaceRoot?: string; key: string; uri: string }): (file: string) => string | undefined {
    return (file: string) => {
      if (file === context.key) return context.uri;
      if (context.workspaceRoot) {
        const entry = this.fileForPath(path.resolve(context.workspaceRoot, file));
        if (entry) return this.uriForFile(entry);
      }
      if (path.isAbsolute(file)) return pathToUri(file);
      return undefined;
    };
  }

  private crateFor(fsPath: string): CrateEntry | undefined {
    // A file not listed by discovery (e.g. a new one) belongs to the innermost crate containing it.
    let best: CrateEntry | undefined;
    for (const ws of this.workspaces) {
      for (const crate of ws.crates) {
        if (isInside(crate.info.root, fsPath) && (!best || crate.info.root.length > best.info.root.length)) best = crate;
      }
    }
    return best;
  }

  private crateIndex(crate: CrateEntry): CrateIndex {
    if (!crate.index) {
      const decls = crate.files.map((f) => f.declarations).filter((d): d is FileDeclarations => d !== undefined);
      crate.index = this.host.buildCrateIndex(crate.info.edition, decls);
    }
    return crate.index;
  }

  private docHref(rule: string): string | undefined {
    if (!this.docsBase || !(RULE_IDS as readonly string[]).includes(rule)) return undefined;
    return `${this.docsBase}${ruleDocPath(rule)}`;
  }

  private diagnosticContext(settings: LockLensSettings, resolve: (file: string) => string | undefined, crate?: CrateEntry): DiagnosticContext {
    const configured = crate ? optionsFromConfig(crate.info.config).severities ?? {} : {};
    return {
      uriOf: resolve,
      docHref: (rule) => this.docHref(rule),
      severityOf: (rule) => {
        const user = (settings.severity as Record<string, LockLensSettings['severity'][RuleName]>)[rule] ?? 'default';
        return user !== 'default' ? user : (configured as Record<string, SeveritySetting>)[rule] ?? 'default';
      },
    };
  }

  /**
   * Records new declarations for a workspace file. Returns the identifiers whose declarations
   * changed in a way other files can see (empty when none): only files mentioning one of them
   * need re-analysis.
   */
  private updateDeclarations(file: FileEntry, declarations: FileDeclarations): Set<string> {
    // Identical declarations (positions included) keep the crate index object, and with it
    // the engine's per-index caches.
    const previous = file.declarations;
    if (previous && sameData(previous, declarations)) return new Set();
    const changed = previous && !sameData(previous, declarations, true) ? changedIdentifiers(previous, declarations) : new Set<string>();
    file.declarations = declarations;
    file.crate.index = undefined;
    if (changed.size > 0) file.crate.generation++;
    return changed;
  }

  // ---------------------------------------------------------------- indexing

  /** (Re)discovers every workspace folder and analyses all files; serialised. */
  private reindex(): Promise<void> {
    let releaseDeclarations!: () => void;
    this.declaring = true;
    this.declarationsReady = new Promise<void>((resolve) => {
      releaseDeclarations = () => {
        this.declaring = false;
        resolve();
      };
    });
    this.indexing = this.indexing
      .then(() => this.indexAll(releaseDeclarations))
      .catch((err) => {
        this.logError('indexing', err);
        this.setState('error', `Indexing failed: ${err instanceof Error ? err.message : String(err)}`);
      })
      .finally(() => releaseDeclarations());
    return this.indexing;
  }

  private async indexAll(declarationsDone: () => void): Promise<void> {
    const engine = await this.engineReady;
    if (!engine) return;
    this.setState('indexing', undefined);
    const previous = new Map(this.files);
    const workspaces: WorkspaceEntry[] = [];
    const files = new Map<string, FileEntry>();
    const messages: string[] = [];
    for (const folder of this.folders) {
      let info: WorkspaceInfo;
      try {
        info = await this.host.discoverWorkspace(folder, {});
      } catch (err) {
        messages.push(`${folder}: ${err instanceof Error ? err.message : String(err)}`);
        continue;
      }
      messages.push(...info.messages);
      const ws: WorkspaceEntry = { root: info.root, info, crates: [] };
      for (const crateInfo of info.crates) {
        const crate: CrateEntry = { info: crateInfo, workspace: ws, files: [], generation: 0, graphFindings: new Map() };
        for (const filePath of crateInfo.files) {
          const k = pathKey(filePath);
          if (files.has(k)) continue;
          const entry: FileEntry = { path: path.normalize(filePath), key: toPosix(path.relative(info.root, filePath)), crate };
          files.set(k, entry);
          crate.files.push(entry);
        }
        ws.crates.push(crate);
      }
      workspaces.push(ws);
    }
    for (const msg of messages) this.connection.console.info(`locklens: ${msg}`);
    this.workspaces = workspaces;
    this.files = files;
    this.openResults.clear();
    // Files that left the workspace lose their diagnostics (unless open: they are re-analysed as loose files).
    for (const [k, old] of previous) {
      if (files.has(k)) continue;
      const open = this.openDocumentFor(old);
      if (!open) this.publish(pathToUri(old.path), []);
    }

    const all = [...files.values()];
    this.progress = { done: 0, total: all.length };
    const reporter = await this.connection.window.createWorkDoneProgress();
    reporter.begin('LockLens', 0, `Indexing ${all.length} Rust files`, false);
    const texts = new Map<FileEntry, string>();
    // Pass 1: declarations of every file, so each crate index is complete before analysis.
    for (const file of all) {
      const text = await this.currentText(file);
      if (text === undefined) continue;
      texts.set(file, text);
      // One file the engine cannot handle must not stop the indexing of the others.
      try {
        const parsed = engine.parse(text);
        try {
          this.updateDeclarations(file, engine.declarations(parsed, file.key));
        } finally {
          parsed.dispose();
        }
      } catch (err) {
        this.logError(`declarations of ${file.path}`, err);
      }
      await yieldToEventLoop();
    }
    declarationsDone();
    // Pass 2: analysis, crate by crate (settings are per crate root); then the crate-wide
    // lock graph, and diagnostics for every file.
    for (const ws of workspaces) {
      for (const crate of ws.crates) {
        const settings = await this.settingsFor(pathToUri(crate.info.root));
        for (const file of crate.files) {
          const open = this.openDocumentFor(file);
          if (open) await this.analyzeOpen(open.uri);
          else {
            const text = texts.get(file);
            try {
              if (text !== undefined) await this.analyzeIndexed(file, text, settings);
            } catch (err) {
              this.logError(`analysis of ${file.path}`, err);
            }
          }
          this.progress.done++;
          reporter.report(Math.round((this.progress.done / Math.max(1, this.progress.total)) * 100), `${this.progress.done}/${this.progress.total} files`);
          if (this.progress.done % 5 === 0 || this.progress.done === this.progress.total) this.sendStatus();
          await yieldToEventLoop();
        }
        await this.refreshGraph(crate, true);
      }
    }
    reporter.done();
    // Open documents outside every crate are analysed on their own.
    for (const doc of this.documents.all()) if (!this.fileForUri(doc.uri)) this.schedule(doc.uri, 0);
    await this.updateEnabledState(messages.length > 0 ? messages.join('\n') : undefined);
  }

  private openDocumentFor(file: FileEntry): OpenDocument | undefined {
    const uri = this.openByPath.get(pathKey(file.path));
    return uri === undefined ? undefined : this.documents.get(uri);
  }

  private async currentText(file: FileEntry): Promise<string | undefined> {
    const open = this.openDocumentFor(file);
    if (open) return open.document.getText();
    try {
      return await this.host.readFile(file.path);
    } catch (err) {
      this.logError(`reading ${file.path}`, err);
      return undefined;
    }
  }

  /** Analyses a closed file's text and publishes its diagnostics. */
  private analyzeText(file: FileEntry, text: string, settings: LockLensSettings, publish = true): void {
    const engine = this.engine;
    if (!engine) return;
    const uri = pathToUri(file.path);
    if (!settings.enable) {
      file.analysis = undefined;
      file.text = text;
      if (publish) this.publish(uri, []);
      return;
    }
    const parsed = engine.parse(text);
    try {
      const declarations = engine.declarations(parsed, file.key);
      const changed = this.updateDeclarations(file, declarations);
      if (changed.size > 0) this.scheduleCrate(file.crate, file, changed);
      this.storeAnalysis(engine, file, parsed, text, settings);
      if (publish) this.publishFile(file, settings);
    } finally {
      parsed.dispose();
    }
  }

  /** A closed file's analysis against its crate's current index, kept with the text it is of. */
  private storeAnalysis(engine: EngineLike, file: FileEntry, parsed: ParsedFileLike, text: string, settings: LockLensSettings): void {
    const { edition } = this.editionFor(settings, file.crate);
    const options = this.engineOptions(settings, file.crate, edition);
    file.analysis = engine.analyzeFile(parsed, file.key, this.crateIndex(file.crate), options);
    file.analysisVersion = undefined;
    file.text = text;
    file.stamp = `disk|${file.crate.generation}|${JSON.stringify(options)}`;
  }

  /**
   * Indexing's analysis of a closed file whose declarations the first pass already took from
   * this same text: parsed, then analysed in a later turn of the event loop, so a request
   * waits for half a file's work at most.
   */
  private async analyzeIndexed(file: FileEntry, text: string, settings: LockLensSettings): Promise<void> {
    const engine = this.engine;
    if (!engine || !settings.enable || !file.declarations) return this.analyzeText(file, text, settings, false);
    const parsed = engine.parse(text);
    try {
      await yieldToEventLoop();
      // Opened meanwhile: the buffer wins, and analyzeOpen takes care of it.
      if (this.openDocumentFor(file)) return;
      this.storeAnalysis(engine, file, parsed, text, settings);
    } finally {
      parsed.dispose();
    }
  }

  private async analyzeClosed(file: FileEntry, settings: LockLensSettings, refreshGraph = true): Promise<void> {
    const text = await this.currentText(file);
    if (text === undefined) {
      file.analysis = undefined;
      this.publish(pathToUri(file.path), []);
      return;
    }
    if (this.openDocumentFor(file)) return; // opened meanwhile: the buffer wins
    try {
      this.analyzeText(file, text, settings);
    } catch (err) {
      this.logError(`analysis of ${file.path}`, err);
      file.analysis = undefined;
      this.publish(pathToUri(file.path), []);
    }
    if (refreshGraph) await this.refreshGraph(file.crate, false);
  }

  /**
   * Recomputes a crate's lock graph findings and republishes the files whose graph
   * findings changed (all files when `all`).
   */
  private async refreshGraph(changed: CrateEntry, all: boolean): Promise<void> {
    // Lock order crosses crates, so the graph covers the whole workspace of the changed crate.
    const crates = changed.workspace.crates;
    const findings = this.graphBuilder(crates).findings();
    for (const crate of crates) for (const file of crate.files) file.graphVersion = file.analysisVersion;
    const analyses = new Map(crates.flatMap((c) => c.files.filter((f) => f.analysis).map((f) => [f.key, f.analysis!] as const)));
    const byFile = new Map<string, Finding[]>();
    for (const f of withoutEngineDuplicates(findings, (file) => analyses.get(file))) {
      const list = byFile.get(f.file) ?? [];
      list.push(f);
      byFile.set(f.file, list);
    }
    for (const crate of crates) await this.republishGraph(crate, byFile, all);
    this.sendStatus();
  }

  private async republishGraph(crate: CrateEntry, byFile: Map<string, Finding[]>, all: boolean): Promise<void> {
    const next = new Map<string, Finding[]>();
    for (const file of crate.files) {
      const list = byFile.get(file.key);
      if (list) next.set(file.key, list);
    }
    const previous = crate.graphFindings;
    crate.graphFindings = next;
    const changed = crate.files.filter((file) => {
      const before = previous.get(file.key);
      const after = next.get(file.key);
      if (!sameData(before ?? [], after ?? [])) return true;
      // The same findings: keep the objects (their diagnostics are converted already).
      if (before) next.set(file.key, before);
      return false;
    });
    const settings = await this.settingsFor(pathToUri(crate.info.root));
    for (const file of all ? crate.files : changed) {
      const open = this.openDocumentFor(file);
      if (open) {
        const result = this.openResults.get(open.uri)?.result;
        if (result && result.settings.enable) this.publishOpen(open.uri, result);
      } else {
        this.publishFile(file, settings);
      }
    }
  }

  /** Publishes a closed workspace file's findings (its own and the crate-wide ones). */
  private publishFile(file: FileEntry, settings: LockLensSettings): void {
    const uri = pathToUri(file.path);
    if (!file.analysis || file.text === undefined || !settings.enable) {
      this.publish(uri, []);
      return;
    }
    const resolve = this.uriResolver({ workspaceRoot: file.crate.workspace.root, key: file.key, uri });
    const extra = file.crate.graphFindings.get(file.key) ?? [];
    this.publish(uri, diagnosticsFor(file.analysis, file.text, this.diagnosticContext(settings, resolve, file.crate), extra, this.diagnosticCache));
  }

  /** Publishes an open document's findings; `extra`: the crate-wide ones to show (default: the current ones). */
  private publishOpen(uri: string, result: AnalysisResult, extra = this.extraFindings(result)): Promise<void> | undefined {
    const doc = this.documents.get(uri);
    if (!doc) return undefined;
    const root = result.file?.crate.workspace.root;
    const resolve = this.uriResolver({ workspaceRoot: root, key: result.analysis.file, uri });
    // Labelled with the version they were computed for: when the text moved on meanwhile, the
    // client must not take them for the current text's (that version's analysis follows).
    return this.publish(uri, diagnosticsFor(result.analysis, result.text, this.diagnosticContext(result.settings, resolve, result.file?.crate), extra, this.diagnosticCache), result.version);
  }

  /**
   * The crate-wide findings of the last graph refresh for an analysed workspace document, valid
   * for its current text: as they are when the graph saw this version, moved with the edits
   * when it saw the version this one was made from; otherwise undefined (not known until the
   * graph is refreshed: e.g. a document just opened, or one the graph saw only as on disk).
   */
  private previousGraphFindings(result: AnalysisResult): Finding[] | undefined {
    const file = result.file;
    if (!file || file.graphVersion === undefined) return undefined;
    const list = file.crate.graphFindings.get(file.key) ?? [];
    if (file.graphVersion === result.version) return list;
    if (result.since?.fromVersion !== file.graphVersion) return undefined;
    const edits = result.since.edits;
    return list.map((f) => findingAfterEdits(f, edits));
  }

  /** Crate-wide findings for an analysed document (a loose file is its own crate). */
  private extraFindings(result: AnalysisResult): Finding[] {
    if (result.file) return result.file.crate.graphFindings.get(result.file.key) ?? [];
    const own = new LockGraphBuilder([{ crate: '', analysis: result.analysis }]).findings().filter((f) => f.file === result.analysis.file);
    return withoutEngineDuplicates(own, () => result.analysis);
  }

  private crateTimers = new Map<CrateEntry, NodeJS.Timeout>();
  private crateChanges = new Map<CrateEntry, Set<string>>();
  private crateRuns = new Map<CrateEntry, number>();

  /**
   * Re-analyses the other files of a crate that mention an identifier whose declaration
   * changed, debounced; a newer change cancels a run in progress (the next run covers it).
   */
  private scheduleCrate(crate: CrateEntry, except: FileEntry | undefined, identifiers: Set<string>): void {
    const pending = this.crateChanges.get(crate) ?? new Set<string>();
    for (const id of identifiers) pending.add(id);
    this.crateChanges.set(crate, pending);
    const run = (this.crateRuns.get(crate) ?? 0) + 1;
    this.crateRuns.set(crate, run);
    const existing = this.crateTimers.get(crate);
    if (existing) clearTimeout(existing);
    this.crateTimers.set(
      crate,
      setTimeout(() => {
        this.crateTimers.delete(crate);
        const names = this.crateChanges.get(crate) ?? new Set<string>();
        this.crateChanges.delete(crate);
        this.safe('crate re-analysis', async () => {
          const mentions = mentionsAny(names);
          const settings = await this.settingsFor(pathToUri(crate.info.root));
          for (const file of crate.files) {
            if (this.crateRuns.get(crate) !== run) {
              // Superseded: hand the remaining names to the newer run.
              const newer = this.crateChanges.get(crate) ?? new Set<string>();
              for (const n of names) newer.add(n);
              this.crateChanges.set(crate, newer);
              return;
            }
            if (file === except) continue;
            const open = this.openDocumentFor(file);
            if (open) {
              if (mentions(open.document.getText())) this.schedule(open.uri, 0);
            } else if (file.text === undefined || mentions(file.text)) {
              await this.analyzeClosed(file, settings, false);
              await yieldToEventLoop();
            }
          }
          await this.refreshGraph(crate, false);
        });
      }, Math.max(this.debounceMs * 5, 500)),
    );
  }

  private async reanalyzeAll(): Promise<void> {
    await this.indexing;
    for (const ws of this.workspaces) {
      for (const crate of ws.crates) {
        const settings = await this.settingsFor(pathToUri(crate.info.root));
        for (const file of crate.files) {
          const open = this.openDocumentFor(file);
          if (!open) await this.analyzeClosed(file, settings, false);
          else if (!(await this.analyzeOpen(open.uri))) this.publish(open.uri, [], open.document.version);
        }
        await this.refreshGraph(crate, true);
      }
    }
    for (const doc of this.documents.all()) if (!this.fileForUri(doc.uri)) await this.analyzeAndPublishOpen(doc.uri);
    await this.updateEnabledState(this.statusMessage);
  }

  private async watchedFilesChanged(params: DidChangeWatchedFilesParams): Promise<void> {
    let rediscover = false;
    const changed: FileEntry[] = [];
    for (const change of params?.changes ?? []) {
      const p = uriToPath(change?.uri);
      if (!p) continue;
      if (path.basename(p) === 'Cargo.toml') rediscover = true;
      else if (p.endsWith('.rs')) {
        const file = this.fileForPath(p);
        if (change.type === FileChangeType.Changed && file) changed.push(file);
        else if (change.type === FileChangeType.Created && !file && this.crateFor(p)) rediscover = true;
        else if (change.type === FileChangeType.Deleted && file) rediscover = true;
      }
    }
    if (rediscover) {
      if (this.reindexTimer) clearTimeout(this.reindexTimer);
      this.reindexTimer = setTimeout(() => {
        this.reindexTimer = undefined;
        this.reindex().catch((err) => this.logError('re-index', err));
      }, this.debounceMs);
      return;
    }
    await this.declarationsReady;
    const crates = new Set<CrateEntry>();
    for (const file of changed) {
      if (this.openDocumentFor(file)) continue;
      await this.analyzeClosed(file, await this.settingsFor(pathToUri(file.crate.info.root)), false);
      crates.add(file.crate);
    }
    for (const crate of crates) await this.refreshGraph(crate, false);
  }

  // ---------------------------------------------------------------- open documents

  /**
   * Analyses an open document `delay` ms from now, replacing an analysis already scheduled.
   * Without a delay, two turns of the event loop from now rather than on a 0 ms timer (which
   * Node rounds up to 1 ms): the connection handles one message per turn, so a change that
   * arrived together with this one is still taken in first, and replaces this analysis.
   */
  private schedule(uri: string, delay: number): void {
    this.timers.get(uri)?.();
    const run = () => {
      this.timers.delete(uri);
      this.safe('analysis', () => this.analyzeAndPublishOpen(uri));
    };
    if (delay > 0) {
      const timer = setTimeout(run, delay);
      this.timers.set(uri, () => clearTimeout(timer));
      return;
    }
    let next = setImmediate(() => {
      next = setImmediate(run);
    });
    this.timers.set(uri, () => clearImmediate(next));
  }

  private async analyzeAndPublishOpen(uri: string): Promise<void> {
    const result = await this.analyzeOpen(uri);
    const doc = this.documents.get(uri);
    if (!doc) return;
    if (!result) {
      this.publish(uri, [], doc.document.version);
      this.sendStatus();
      return;
    }
    // The crate's lock graph includes this document's current text; refreshing it also
    // republishes other files whose cross-file findings changed. While the declarations pass
    // runs the crate is incomplete: indexing refreshes the graph once it is.
    if (!result.file || this.declaring) {
      this.publishOpen(uri, result);
      this.sendStatus();
      return;
    }
    // The document's own findings are final now: publish them at once, with the crate-wide
    // findings of the last refresh (moved with the edits since), and refresh the graph once
    // that message is on its way. The refresh republishes this document only if its crate-wide
    // findings changed.
    const previous = this.previousGraphFindings(result);
    if (previous) {
      const sent = this.publishOpen(uri, result, previous);
      if (sent) await settledWithin(sent, FLUSH_WAIT_MS);
    }
    await this.refreshGraph(result.file.crate, false);
    // Not published yet: this version's diagnostics with the refreshed graph, unless a newer
    // version was analysed meanwhile (it publishes itself).
    const latest = this.openResults.get(uri)?.result;
    if (!previous && this.documents.get(uri) && (!latest || latest.version === result.version)) this.publishOpen(uri, latest ?? result);
    this.sendStatus();
  }

  /** The analysis of an open document's current text (cached per version, settings and crate generation). */
  private async analyzeOpen(uri: string): Promise<AnalysisResult | undefined> {
    if (typeof uri !== 'string') return undefined;
    const doc = this.documents.get(uri);
    if (!doc) return undefined;
    const engine = await this.engineReady;
    if (!engine) return undefined;
    const fsPath = uriToPath(uri);
    const file = fsPath ? this.fileForPath(fsPath) : undefined;
    const settings = await this.settingsFor(uri);
    const current = this.documents.get(uri);
    if (!current) return undefined;
    if (!settings.enable) {
      this.openResults.delete(uri);
      if (file) file.analysis = undefined;
      return undefined;
    }
    const crate = file?.crate ?? (fsPath ? this.crateFor(fsPath) : undefined);
    const { edition, source } = this.editionFor(settings, crate);
    const options = this.engineOptions(settings, crate, edition);
    const key = file ? file.key : fsPath ? (crate ? toPosix(path.relative(crate.workspace.root, fsPath)) : toPosix(fsPath)) : uri;
    const partial = this.declaring ? '|partial' : '';
    const stamp = `${current.document.version}|${crate?.generation ?? -1}|${JSON.stringify(options)}${partial}`;
    const cached = this.openResults.get(uri);
    if (cached && cached.stamp === stamp) return { ...cached.result, settings };
    const parsed = this.documents.parsed(current);
    if (!parsed) return undefined;
    // Typing inside a function body only moves the declarations after it: derive them from the
    // previous version's instead of walking the whole tree again.
    const base = current.declared && current.lastParse && current.declared.version === current.lastParse.fromVersion ? { declarations: current.declared.declarations, edits: current.lastParse.edits } : undefined;
    const declarations = engine.declarations(parsed, key, base);
    current.declared = { version: current.document.version, declarations };
    let index: CrateIndex;
    if (file) {
      const changed = this.updateDeclarations(file, declarations);
      if (changed.size > 0) this.scheduleCrate(file.crate, file, changed);
      index = this.crateIndex(file.crate);
    } else if (crate) {
      const others = crate.files.map((f) => f.declarations).filter((d): d is FileDeclarations => d !== undefined);
      index = this.host.buildCrateIndex(crate.info.edition, [...others, declarations]);
    } else {
      index = this.host.buildCrateIndex(edition, [declarations]);
    }
    const analysis = engine.analyzeFile(parsed, key, index, options);
    if (file) {
      file.analysis = analysis;
      file.analysisVersion = current.document.version;
      file.stamp = stamp;
    }
    const since = current.lastParse && current.parsedVersion === current.document.version ? current.lastParse : undefined;
    const result: AnalysisResult = { analysis, text: current.document.getText(), version: current.document.version, since, edition, editionSource: source, file, settings };
    // The stamp uses the generation before this analysis possibly bumped it.
    this.openResults.set(uri, { stamp: `${current.document.version}|${crate?.generation ?? -1}|${JSON.stringify(options)}${partial}`, result });
    return result;
  }

  /**
   * Sends a uri's diagnostics, unless they (and the version) are what was last sent for it.
   * Returns the send's promise (settled once the message is written), if one was sent.
   */
  private publish(uri: string, staticDiagnostics: Diagnostic[], version?: number): Promise<void> | undefined {
    if (this.shuttingDown) return undefined;
    this.staticPublished.set(uri, { diagnostics: staticDiagnostics, version });
    const runtime = this.runtimeDiags.get(uri);
    const diagnostics = runtime ? [...staticDiagnostics, ...runtime] : staticDiagnostics;
    if (diagnostics.length === 0 && !this.published.has(uri) && version === undefined) return undefined;
    if (diagnostics.length === 0) this.published.delete(uri);
    else this.published.set(uri, diagnostics.length);
    const last = this.sent.get(uri);
    if (last && last.version === version && sameData(last.diagnostics, diagnostics)) return undefined;
    if (diagnostics.length === 0 && version === undefined) this.sent.delete(uri);
    else this.sent.set(uri, { diagnostics, version });
    return this.connection.sendDiagnostics({ uri, diagnostics, ...(version !== undefined ? { version } : {}) }).catch(() => undefined);
  }

  /** `locklens/runtimeEdges`: re-checks all runtime evidence and republishes the files whose runtime diagnostics changed. */
  private async runtimeEdges(p: RuntimeEdgesParams): Promise<void> {
    if (typeof p !== 'object' || p === null || typeof p.session !== 'string' || !Array.isArray(p.edges)) return;
    const ok = (s: unknown) => typeof s === 'object' && s !== null && typeof (s as { file?: unknown }).file === 'string' && typeof (s as { line?: unknown }).line === 'number';
    const edges = p.edges.filter((e) => e && ok(e.fromSite) && ok(e.toSite) && e.from && e.to && ok(e.from.created) && ok(e.to.created)).slice(0, MAX_RUNTIME_EDGES);
    if (edges.length === 0) this.runtimeEvidence.delete(p.session);
    else this.runtimeEvidence.set(p.session, { label: typeof p.label === 'string' ? p.label.slice(0, 200) : 'traced run', edges });
    while (this.runtimeEvidence.size > 16) this.runtimeEvidence.delete(this.runtimeEvidence.keys().next().value as string);
    await this.refreshRuntimeDiagnostics();
  }

  /** Re-checks the runtime evidence (new evidence, or new settings) and republishes what changed. */
  private async refreshRuntimeDiagnostics(): Promise<void> {
    const graph = this.runtimeEvidence.size ? await this.lockGraph({}) : { crates: [], nodes: [], edges: [], cycles: [] };
    const regions = new Map<string, StaticAcquisition[]>();
    const uris = new Set<string>();
    for (const ev of this.runtimeEvidence.values())
      for (const e of ev.edges) for (const s of [e.fromSite, e.toSite]) if (typeof s.uri === 'string') uris.add(s.uri);
    for (const uri of uris) {
      const r = await this.guardRegions({ textDocument: { uri } }).catch(() => null);
      regions.set(uri, (r?.regions ?? []).map((g) => ({ lock: g.lock, range: g.acquisition })));
    }
    // the user's severity for lock-order-inversion, per file, as for static findings
    const severity = new Map<string, SeveritySetting>();
    for (const uri of uris) {
      const p = uriToPath(uri);
      const crate = p ? this.fileForPath(p)?.crate ?? this.crateFor(p) : undefined;
      severity.set(uri, this.diagnosticContext(await this.settingsFor(uri), () => undefined, crate).severityOf('lock-order-inversion'));
    }
    const next = runtimeDiagnostics([...this.runtimeEvidence.values()], graph, (uri, line) => (regions.get(uri) ?? []).filter((a) => a.range.start.line === line - 1), (uri) => severity.get(uri) ?? 'default');
    const previous = this.runtimeDiags;
    this.runtimeDiags = next;
    for (const uri of new Set([...previous.keys(), ...next.keys()])) {
      if (JSON.stringify(previous.get(uri) ?? []) === JSON.stringify(next.get(uri) ?? [])) continue;
      const last = this.staticPublished.get(uri);
      this.publish(uri, last?.diagnostics ?? [], last?.version);
    }
  }

  // ---------------------------------------------------------------- features

  private async hover(uri: string, position: { line: number; character: number }): Promise<Hover | null> {
    const result = await this.analyzeOpen(uri);
    if (!result || !isPosition(position)) return null;
    const acquisition = acquisitionAt(result.analysis, splitLines(result.text), position);
    if (!acquisition) return null;
    return hoverFor(acquisition, { edition: result.edition, editionSource: result.editionSource });
  }

  private async highlights(uri: string, position: { line: number; character: number }): Promise<DocumentHighlight[] | null> {
    const result = await this.analyzeOpen(uri);
    if (!result || !isPosition(position)) return null;
    const lines = splitLines(result.text);
    const acquisition = acquisitionAt(result.analysis, lines, position);
    return acquisition ? highlightsFor(acquisition, lines) : null;
  }

  private async inlayHints(uri: string, range: { start: { line: number; character: number }; end: { line: number; character: number } }): Promise<InlayHint[] | null> {
    const result = await this.analyzeOpen(uri);
    if (!result || !range || !isPosition(range.start) || !isPosition(range.end)) return null;
    if (!result.settings.inlayHints.enable) return [];
    return inlayHintsFor(result.analysis, range);
  }

  /** The engine's lock graph over these crates (with their declarations, so calls resolve across files and crates). */
  private graphBuilder(crates: CrateEntry[]): LockGraphBuilder {
    const files = crates.flatMap((crate) =>
      crate.files.filter((f) => f.analysis).map((f) => ({ crate: crate.info.name, analysis: f.analysis!, declarations: f.declarations })),
    );
    const reentrant = new Set<string>();
    let order: string[][] | undefined;
    let orderSource: string | undefined;
    for (const crate of crates) {
      for (const c of optionsFromConfig(crate.info.config).reentrantClasses ?? []) reentrant.add(c);
      const cfg = crate.info.config as { order?: string[][]; source?: string } | undefined;
      if (!order && cfg?.order && cfg.order.length > 0) {
        order = cfg.order;
        orderSource = cfg.source ? path.relative(crate.workspace.root, cfg.source.replace(/ \[.*$/, '')).split(path.sep).join('/') + (cfg.source.match(/ \[.*$/)?.[0] ?? '') : undefined;
      }
    }
    // Keyed by the crate list: a workspace's graph is updated edit by edit, not rebuilt.
    return new LockGraphBuilder(files, { order, orderSource, reentrant: [...reentrant] }, crates);
  }

  private async codeLenses(uri: string): Promise<CodeLens[] | null> {
    const result = await this.analyzeOpen(uri);
    if (!result) return null;
    if (!result.settings.codeLens.enable) return [];
    const analyses = result.file ? [] : [result.analysis];
    const builder = result.file ? this.graphBuilder(result.file.crate.workspace.crates) : new LockGraphBuilder(analyses.map((analysis) => ({ crate: '', analysis })));
    const lenses: CodeLens[] = [];
    for (const fn of result.analysis.functions) {
      const title = lockSummaryTitle(fn, result.analysis, builder);
      if (!title) continue;
      const range = toRange(fn.nameRange);
      lenses.push({ range, command: { title, command: 'locklens.showLockGraph', arguments: [{ uri, function: fn.qualifiedName }] } });
    }
    return lenses;
  }

  private async codeActions(params: CodeActionParams): Promise<CodeAction[] | null> {
    const uri = params.textDocument.uri;
    const result = await this.analyzeOpen(uri);
    if (!result || !params.range || !isPosition(params.range.start)) return null;
    const only = params.context?.only;
    if (only && only.length > 0 && !only.some((kind) => kind === CodeActionKind.QuickFix || CodeActionKind.QuickFix.startsWith(`${kind}.`) || kind === CodeActionKind.Empty)) {
      return [];
    }
    const resolve = this.uriResolver({ workspaceRoot: result.file?.crate.workspace.root, key: result.analysis.file, uri });
    const ctx = this.diagnosticContext(result.settings, resolve, result.file?.crate);
    const fromClient = (params.context?.diagnostics ?? []).filter((d) => d?.source === 'locklens');
    const actions: CodeAction[] = [];
    for (const { finding, diagnostic } of diagnosticEntries(result.analysis, result.text, ctx, this.extraFindings(result), this.diagnosticCache)) {
      if (!rangesIntersect(diagnostic.range, params.range)) continue;
      const matching = fromClient.find((d) => d.code === finding.rule && rangesIntersect(d.range, diagnostic.range)) ?? diagnostic;
      for (const action of codeActionsFor(finding, matching, { uri, text: result.text, uriOf: resolve })) {
        // Two findings of one rule on one line share their allow comment: offer it once.
        const same = actions.find((a) => a.title === action.title && JSON.stringify(a.edit) === JSON.stringify(action.edit));
        if (same) same.diagnostics = [...(same.diagnostics ?? []), ...(action.diagnostics ?? [])];
        else actions.push(action);
      }
    }
    return actions;
  }

  private async guardRegions(params: GuardRegionsParams): Promise<GuardRegionsResult | null> {
    const uri = params?.textDocument?.uri;
    if (typeof uri !== 'string') return null;
    const result = await this.analyzeOpen(uri);
    if (result) {
      return { uri, version: this.documents.get(uri)?.document.version ?? null, edition: result.edition, regions: guardRegionsOf(result.analysis) };
    }
    // A closed workspace file: its analysis from indexing.
    await this.indexing;
    const file = this.fileForUri(uri);
    if (!file?.analysis) return null;
    const settings = await this.settingsFor(uri);
    return { uri, version: null, edition: this.editionFor(settings, file.crate).edition, regions: guardRegionsOf(file.analysis) };
  }

  private async lockGraph(params: LockGraphParams): Promise<LockGraphResult> {
    await this.indexing;
    const uri = params.textDocument?.uri;
    let crates: CrateEntry[];
    if (typeof uri === 'string') {
      const p = uriToPath(uri);
      const crate = p ? this.fileForPath(p)?.crate ?? this.crateFor(p) : undefined;
      if (crate) crates = [crate];
      else {
        const result = await this.analyzeOpen(uri);
        return new LockGraphBuilder(result ? [{ crate: '', analysis: result.analysis }] : []).build((f) => (result && f === result.analysis.file ? uri : undefined), []);
      }
    } else {
      crates = this.workspaces.flatMap((w) => w.crates);
    }
    // Open documents contribute their current (possibly unsaved) analysis.
    for (const doc of this.documents.all()) {
      const file = this.fileForUri(doc.uri);
      if (file && crates.includes(file.crate)) await this.analyzeOpen(doc.uri);
    }
    const builder = this.graphBuilder(crates);
    const resolve = (file: string): string | undefined => {
      for (const crate of crates) {
        const entry = this.fileForPath(path.resolve(crate.workspace.root, file));
        if (entry) return this.uriForFile(entry);
      }
      return path.isAbsolute(file) ? pathToUri(file) : undefined;
    };
    return builder.build(resolve, crates.map((c) => c.info.name));
  }
}

/**
 * Crate-wide findings minus those the engine already reports for the same rule and line
 * (the engine may find some call-chain double locks itself).
 */
function withoutEngineDuplicates(findings: Finding[], analysisOf: (file: string) => FileAnalysis | undefined): Finding[] {
  if (findings.length === 0) return findings;
  // Only the rules the graph reports are looked up in a file's (many) engine findings.
  const rules = new Set(findings.map((f) => f.rule));
  const keys = new Map<string, Set<string>>();
  const keysOf = (file: string) => {
    let set = keys.get(file);
    if (!set) {
      set = new Set();
      for (const f of analysisOf(file)?.findings ?? []) if (rules.has(f.rule)) set.add(`${f.rule}:${f.range.start.line}`);
      keys.set(file, set);
    }
    return set;
  };
  return findings.filter((f) => !keysOf(f.file).has(`${f.rule}:${f.range.start.line}`));
}

/** Declarations of a file as identifiers -> position-free JSON, for diffing. */
function declarationEntities(d: FileDeclarations | undefined): Map<string, { value: unknown; identifiers: string[] }> {
  const out = new Map<string, { value: unknown; identifiers: string[] }>();
  if (!d) return out;
  const last = (q: string) => q.split('::').filter((x) => x && !x.startsWith('{')).pop() ?? q;
  for (const st of d.structs ?? []) out.set(`struct ${st.name}`, { value: st, identifiers: [st.name, ...st.fields.map((f) => f.name)] });
  for (const st of d.statics ?? []) out.set(`static ${st.name}`, { value: st, identifiers: [st.name] });
  for (const f of d.functions ?? []) {
    out.set(`fn ${f.qualifiedName}`, { value: f, identifiers: [last(f.qualifiedName), ...(f.selfType ? [last(f.selfType)] : [])] });
  }
  for (const [local, full] of Object.entries(d.imports ?? {})) out.set(`use ${local}`, { value: full, identifiers: [local] });
  out.set('module', { value: d.modulePath, identifiers: ['*'] });
  return out;
}

/** Identifiers of the declarations that differ (positions aside) between two versions of a file. */
export function changedIdentifiers(before: FileDeclarations | undefined, after: FileDeclarations): Set<string> {
  const a = declarationEntities(before);
  const b = declarationEntities(after);
  const out = new Set<string>();
  const differs = (x: { value: unknown } | undefined, y: { value: unknown } | undefined) => !x || !y || !sameData(x.value, y.value, true);
  for (const [key, entity] of a) if (differs(entity, b.get(key))) for (const id of entity.identifiers) out.add(id);
  for (const [key, entity] of b) if (differs(entity, a.get(key))) for (const id of entity.identifiers) out.add(id);
  return out;
}

/** A test for "the text mentions one of these identifiers" (`*`: everything matches). */
function mentionsAny(identifiers: Set<string>): (text: string) => boolean {
  if (identifiers.has('*')) return () => true;
  const words = [...identifiers].filter((w) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(w));
  if (words.length === 0) return () => false;
  const pattern = new RegExp(`(?<![A-Za-z0-9_])(?:${words.join('|')})(?![A-Za-z0-9_])`);
  return (text) => pattern.test(text);
}

function isPosition(p: unknown): p is { line: number; character: number } {
  return typeof p === 'object' && p !== null && Number.isInteger((p as { line: unknown }).line) && Number.isInteger((p as { character: unknown }).character);
}

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Resolves when `promise` settles or after `ms`, whichever comes first. */
function settledWithin(promise: Promise<unknown>, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    const done = () => {
      clearTimeout(timer);
      resolve();
    };
    promise.then(done, done);
  });
}

/**
 * How long the lock-graph refresh after an edit waits for the edited document's diagnostics to
 * be written: the graph work would otherwise hold back the rest of a large message (a pipe takes
 * 64 KB at a time), but a client that does not read must not hold back the graph for long.
 */
const FLUSH_WAIT_MS = 20;

function readVersion(): string {
  const dir = findDocsDir(__dirname);
  try {
    const pkg = JSON.parse(fs.readFileSync(path.join(dir ? path.dirname(path.dirname(dir)) : '.', 'package.json'), 'utf8')) as { version?: string };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}
