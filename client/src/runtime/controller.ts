// Live lock tracing in VS Code: a listener per debug session (or traced task), the Lock Panel,
// live decorations at acquisition sites, deadlock notifications, record/replay, and the
// observed lock-order edges sent to the language server.

import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import type { LanguageClient } from 'vscode-languageclient/node';
import { RuntimeEdgesNotification, type RuntimeEdge, type RuntimeSite } from '../../../common/protocol';
import { buildReport, TraceModel, type ReportLock, type ReportSite, type RunReport, type TraceEvent } from '../../../server/src/analysis/trace';
import { loadTrace, TraceListener, TraceRecorder } from '../../../server/src/trace';
import { injectTracingEnv, shouldTrace, tracingProcessEnv, type TracingEnv } from './env';
import { panelModelFromReport, siteDecorations, threadLabel, type PanelModel } from './panelModel';
import { DEADLOCK_CHOICES, onDeadlockChoice, pauseDebugSession } from './pause';
import { renderShell } from './render';
import { crateRootAbove, packageDirs, SiteResolver } from './sites';

const SESSION_KEY = 'locklensTracing';
const REFRESH_MS = 150;
const MAX_TRACES = 20;

type Log = (message: string) => void;

interface RuntimeSession {
  id: string;
  label: string;
  kind: 'debug' | 'task' | 'replay';
  model: TraceModel;
  state: PanelModel['state'];
  listener?: TraceListener;
  recorder?: TraceRecorder;
  tracePath?: string;
  debugSession?: vscode.DebugSession;
  resolver: SiteResolver;
  deadlocksNotified: number;
  edgesSent: number;
  unsubscribe?: () => void;
}

export class RuntimeController implements vscode.Disposable {
  private sessions = new Map<string, RuntimeSession>();
  private current: RuntimeSession | undefined;
  private panel: vscode.WebviewPanel | undefined;
  private panelSites: PanelModel['sites'] = [];
  private lastModel: PanelModel | undefined;
  private refreshTimer: NodeJS.Timeout | undefined;
  private edgesTimer: NodeJS.Timeout | undefined;
  private readonly disposables: vscode.Disposable[] = [];
  private readonly decoration: vscode.TextEditorDecorationType;
  private readonly alertDecoration: vscode.TextEditorDecorationType;
  private decorated = new Map<string, { normal: vscode.DecorationOptions[]; alert: vscode.DecorationOptions[] }>();
  private modelWaiters: Array<{ test: (m: PanelModel) => boolean; resolve: (m: PanelModel) => void }> = [];

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly client: () => LanguageClient | undefined,
    private readonly log: Log,
  ) {
    const after = (color: vscode.ThemeColor): vscode.DecorationRenderOptions => ({
      after: { color, margin: '0 0 0 2em', fontStyle: 'italic' },
      rangeBehavior: vscode.DecorationRangeBehavior.ClosedClosed,
    });
    this.decoration = vscode.window.createTextEditorDecorationType(after(new vscode.ThemeColor('editorCodeLens.foreground')));
    this.alertDecoration = vscode.window.createTextEditorDecorationType({
      ...after(new vscode.ThemeColor('errorForeground')),
      isWholeLine: true,
      backgroundColor: new vscode.ThemeColor('diffEditor.removedLineBackground'),
    });
    this.disposables.push(
      this.decoration,
      this.alertDecoration,
      vscode.debug.registerDebugConfigurationProvider('*', this.provider()),
      vscode.debug.onDidStartDebugSession((s) => {
        const id = s.configuration?.[SESSION_KEY];
        const rs = typeof id === 'string' ? this.sessions.get(id) : undefined;
        if (rs && !rs.debugSession) rs.debugSession = s;
      }),
      vscode.debug.onDidTerminateDebugSession((s) => {
        const id = s.configuration?.[SESSION_KEY];
        const rs = typeof id === 'string' ? this.sessions.get(id) : undefined;
        if (rs && (!rs.debugSession || rs.debugSession.id === s.id)) void this.end(rs);
      }),
      vscode.window.onDidChangeVisibleTextEditors(() => this.applyDecorations()),
    );
  }

  // ---------------------------------------------------------------- sessions

  private enabled(): boolean {
    return vscode.workspace.getConfiguration('locklens').get<boolean>('runtime.enable', true);
  }

  private tracingDefaults(): Record<string, string> {
    const cfg = vscode.workspace.getConfiguration('locklens');
    const out: Record<string, string> = {};
    const stall = cfg.get<number>('runtime.stallMs');
    if (typeof stall === 'number' && stall > 0) out.LOCKLENS_STALL_MS = String(Math.round(stall));
    return out;
  }

  private provider(): vscode.DebugConfigurationProvider {
    return {
      resolveDebugConfigurationWithSubstitutedVariables: async (folder, config) => {
        // Untrusted code must not get a channel into the editor, and nothing runs there anyway.
        if (!shouldTrace(vscode.workspace.isTrusted, this.enabled(), config)) return config;
        try {
          const rs = await this.startSession('debug', config.name || config.type || 'debug session', [
            ...(typeof config.cwd === 'string' ? [config.cwd] : []),
            ...(folder ? [folder.uri.fsPath] : []),
          ]);
          // A launch that fails before its session starts never ends one: close the listener then.
          const orphan = setTimeout(() => {
            if (!rs.debugSession) void this.end(rs);
          }, 120_000);
          orphan.unref?.();
          const env: TracingEnv = { endpoint: rs.listener!.endpoint, token: rs.listener!.token, defaults: this.tracingDefaults() };
          return { ...injectTracingEnv(config, env), [SESSION_KEY]: rs.id };
        } catch (err) {
          this.log(`runtime: could not start a listener: ${err instanceof Error ? err.message : String(err)}`);
          return config;
        }
      },
    };
  }

  private roots(extra: string[]): string[] {
    const folders = (vscode.workspace.workspaceFolders ?? []).filter((f) => f.uri.scheme === 'file').map((f) => f.uri.fsPath);
    return [...extra, ...packageDirs([...extra, ...folders], 2), ...folders];
  }

  private async startSession(kind: RuntimeSession['kind'], label: string, roots: string[], model = new TraceModel()): Promise<RuntimeSession> {
    const id = randomBytes(8).toString('hex');
    const rs: RuntimeSession = { id, label, kind, model, state: kind === 'replay' ? 'replay' : 'live', resolver: new SiteResolver(this.roots(roots)), deadlocksNotified: 0, edgesSent: 0 };
    if (kind !== 'replay') {
      rs.listener = await TraceListener.start(model);
      const dir = this.traceDir();
      if (dir) {
        rs.tracePath = path.join(dir, `${new Date().toISOString().replace(/[:.]/g, '-')}-${id}.locklens-trace`);
        rs.recorder = new TraceRecorder(rs.tracePath, [label]);
        rs.recorder.ready().catch((e) => this.log(`runtime: cannot record to ${rs.tracePath}: ${e.message}`));
        rs.recorder.attach(rs.listener);
      }
      this.log(`runtime: ${label}: listening on ${rs.listener.endpoint}`);
    }
    rs.unsubscribe = model.onEvent((e) => this.onEvent(rs, e));
    this.sessions.set(id, rs);
    // Keep the models of the last few finished sessions only (the traces stay on disk).
    const finished = [...this.sessions.values()].filter((s) => s.state !== 'live' && s !== this.current && s !== rs);
    for (const old of finished.slice(0, Math.max(0, finished.length - 4))) {
      old.unsubscribe?.();
      this.sessions.delete(old.id);
    }
    return rs;
  }

  private traceDir(): string | undefined {
    try {
      const dir = path.join(this.context.globalStorageUri.fsPath, 'traces');
      fs.mkdirSync(dir, { recursive: true });
      const old = fs.readdirSync(dir).filter((f) => f.endsWith('.locklens-trace')).sort();
      for (const f of old.slice(0, Math.max(0, old.length - MAX_TRACES + 1))) fs.rmSync(path.join(dir, f), { force: true });
      return dir;
    } catch {
      return undefined;
    }
  }

  private onEvent(rs: RuntimeSession, e: TraceEvent): void {
    if (e.kind === 'hello') {
      const crate = crateRootAbove(path.dirname(e.process.program));
      if (crate) rs.resolver.addRoots([crate, ...packageDirs([crate], 1)]);
      if (rs.kind !== 'replay') {
        this.show(rs, false);
        return;
      }
    }
    if (e.kind === 'deadlock') {
      if (this.current !== rs) this.show(rs, false);
      else this.refreshNow();
      void this.notifyDeadlock(rs);
      this.scheduleEdges(rs);
      return;
    }
    if (e.kind === 'edge' || e.kind === 'inversion' || e.kind === 'order-cycle') this.scheduleEdges(rs);
    if (this.current === rs) this.scheduleRefresh();
  }

  private async end(rs: RuntimeSession): Promise<void> {
    if (rs.state !== 'live') return;
    rs.state = 'ended';
    // Synchronously first: whoever saw the session end sees the decorations gone.
    if (this.current === rs) {
      this.clearDecorations();
      this.refreshNow();
    }
    this.flushEdges(rs);
    await rs.listener?.close();
    await rs.recorder?.close();
    this.log(`runtime: ${rs.label}: ended (${rs.model.stats.accepted} events${rs.tracePath ? `, recorded in ${rs.tracePath}` : ''})`);
  }

  // ---------------------------------------------------------------- deadlocks

  private async notifyDeadlock(rs: RuntimeSession): Promise<void> {
    const d = rs.model.deadlocks[rs.deadlocksNotified];
    if (!d) return;
    rs.deadlocksNotified = rs.model.deadlocks.length;
    const names = d.msg.cycle.map((n) => `${threadLabel(rs.model.thread(d.process, n.thread.id) ?? n.thread)} waits for ${n.waits_for.class.name ?? `lock #${n.waits_for.id}`}`);
    const text = `LockLens: deadlock in ${rs.label}: ${names.join(', ')}.`;
    const choice = await vscode.window.showErrorMessage(text.length > 400 ? text.slice(0, 399) + '…' : text, ...DEADLOCK_CHOICES);
    await onDeadlockChoice(choice, { show: () => this.show(rs, true), pause: () => this.pause(rs) });
  }

  private async pause(rs: RuntimeSession | undefined): Promise<void> {
    await pauseDebugSession(rs?.debugSession, {
      activeSessionId: () => vscode.debug.activeDebugSession?.id,
      executeCommand: (command) => vscode.commands.executeCommand(command),
      info: (message) => void vscode.window.showInformationMessage(message),
      log: (message) => this.log(message),
    });
  }

  // ---------------------------------------------------------------- panel

  private report(rs: RuntimeSession): RunReport {
    return buildReport(rs.model, { argv: [rs.label], exitCode: null, signal: null, durationMs: 0, outcome: 'exited', runExitCode: 0 });
  }

  private model(rs: RuntimeSession, report = this.report(rs)): PanelModel {
    return panelModelFromReport(report, { title: rs.label, state: rs.state, resolve: rs.resolver.resolve, maxLocks: 500 });
  }

  /** Shows a session in the panel (creating the panel). */
  show(rs: RuntimeSession, focus: boolean): void {
    this.current = rs;
    if (!this.panel) {
      const scriptDir = this.scriptDir();
      this.panel = vscode.window.createWebviewPanel(
        'locklens.lockPanel',
        'LockLens: Locks',
        { viewColumn: vscode.ViewColumn.Beside, preserveFocus: !focus },
        { enableScripts: true, enableFindWidget: true, retainContextWhenHidden: true, localResourceRoots: [vscode.Uri.file(scriptDir)] },
      );
      this.panel.onDidDispose(() => {
        this.panel = undefined;
        this.panelSites = [];
      });
      this.panel.webview.onDidReceiveMessage((m) => void this.onMessage(m));
      const model = this.model(rs);
      this.publish(model);
      this.panel.webview.html = renderShell(model, {
        nonce: randomBytes(18).toString('base64'),
        cspSource: this.panel.webview.cspSource,
        scriptUri: this.panel.webview.asWebviewUri(vscode.Uri.file(path.join(scriptDir, 'lockPanel.js'))).toString(),
      });
      this.applyDecorations(rs);
    } else {
      this.panel.reveal(undefined, !focus);
      this.refreshNow();
    }
  }

  /** `dist/lockPanel.js` when packaged, `out/webview/lockPanel.js` when built from source. */
  private scriptDir(): string {
    const dist = this.context.asAbsolutePath('dist');
    return fs.existsSync(path.join(dist, 'lockPanel.js')) ? dist : this.context.asAbsolutePath(path.join('out', 'webview'));
  }

  private scheduleRefresh(): void {
    if (this.refreshTimer) return;
    this.refreshTimer = setTimeout(() => {
      this.refreshTimer = undefined;
      this.refreshNow();
    }, REFRESH_MS);
  }

  private refreshNow(): void {
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    this.refreshTimer = undefined;
    const rs = this.current;
    if (!rs) return;
    const report = this.report(rs);
    const model = this.model(rs, report);
    this.publish(model);
    void this.panel?.webview.postMessage({ type: 'model', model });
    if (rs.state !== 'ended') this.setDecorations(rs, report);
  }

  private publish(model: PanelModel): void {
    this.lastModel = model;
    this.panelSites = model.sites;
    const ready = this.modelWaiters.filter((w) => w.test(model));
    this.modelWaiters = this.modelWaiters.filter((w) => !ready.includes(w));
    for (const w of ready) w.resolve(model);
  }

  private async onMessage(message: unknown): Promise<void> {
    if (typeof message !== 'object' || message === null) return;
    const m = message as { command?: unknown; site?: unknown };
    if (m.command === 'pause') return this.pause(this.current);
    if (m.command !== 'open' || typeof m.site !== 'number' || !Number.isInteger(m.site)) return;
    const site = this.panelSites[m.site];
    if (!site) return;
    await this.reveal(site.path, site.file, site.line, site.col);
  }

  private async reveal(file: string | undefined, rel: string, line: number, col: number): Promise<void> {
    let uri = file ? vscode.Uri.file(file) : undefined;
    const folder = vscode.workspace.workspaceFolders?.[0];
    if (!uri && folder && !path.isAbsolute(rel) && !rel.includes('..') && !/[*?{}[\]]/.test(rel)) {
      const found = await vscode.workspace.findFiles(new vscode.RelativePattern(folder, `**/${rel}`), '**/target/**', 1);
      uri = found[0];
    }
    if (!uri) {
      void vscode.window.showWarningMessage(`LockLens: ${rel} is not in the workspace.`);
      return;
    }
    const l = Math.max(0, line - 1);
    const c = Math.max(0, col - 1);
    const doc = await vscode.workspace.openTextDocument(uri);
    const lineText = l < doc.lineCount ? doc.lineAt(l) : undefined;
    const selection = lineText ? new vscode.Range(l, Math.min(c, lineText.range.end.character), l, lineText.range.end.character) : new vscode.Range(l, c, l, c);
    await vscode.window.showTextDocument(doc, { selection, viewColumn: vscode.ViewColumn.One });
  }

  // ---------------------------------------------------------------- decorations

  private setDecorations(rs: RuntimeSession, report: RunReport): void {
    if (!vscode.workspace.getConfiguration('locklens').get<boolean>('runtime.decorations', true)) return this.clearDecorations();
    const next = new Map<string, { normal: vscode.DecorationOptions[]; alert: vscode.DecorationOptions[] }>();
    for (const d of siteDecorations(report, rs.resolver.resolve)) {
      const key = vscode.Uri.file(d.path).toString();
      const entry = next.get(key) ?? { normal: [], alert: [] };
      const range = new vscode.Range(d.line - 1, 0, d.line - 1, 0);
      const opt: vscode.DecorationOptions = { range, renderOptions: { after: { contentText: `  ${d.text}` } }, hoverMessage: `LockLens (runtime): ${d.text}` };
      (d.alert ? entry.alert : entry.normal).push(opt);
      next.set(key, entry);
    }
    this.decorated = next;
    this.applyDecorations();
  }

  private applyDecorations(_rs?: RuntimeSession): void {
    for (const ed of vscode.window.visibleTextEditors) {
      const d = this.decorated.get(ed.document.uri.toString());
      ed.setDecorations(this.decoration, d?.normal.map((o) => ({ ...o, range: ed.document.lineAt(Math.min(o.range.start.line, ed.document.lineCount - 1)).range })) ?? []);
      ed.setDecorations(this.alertDecoration, d?.alert.map((o) => ({ ...o, range: ed.document.lineAt(Math.min(o.range.start.line, ed.document.lineCount - 1)).range })) ?? []);
    }
  }

  private clearDecorations(): void {
    this.decorated = new Map();
    this.applyDecorations();
  }

  /** Decorations currently shown (for tests): uri → texts. */
  decorationTexts(): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    for (const [k, v] of this.decorated) out[k] = [...v.alert, ...v.normal].map((o) => `${o.range.start.line + 1}: ${o.renderOptions?.after?.contentText?.trim() ?? ''}`);
    return out;
  }

  // ---------------------------------------------------------------- runtime edges → server

  private scheduleEdges(rs: RuntimeSession): void {
    if (this.edgesTimer) return;
    this.edgesTimer = setTimeout(() => {
      this.edgesTimer = undefined;
      this.flushEdges(rs);
    }, 300);
  }

  private flushEdges(rs: RuntimeSession): void {
    const client = this.client();
    const known = rs.model.edges.size + rs.model.deadlocks.length;
    if (!client || known === rs.edgesSent) return;
    const report = this.report(rs);
    const site = (s: ReportSite): RuntimeSite => {
      const p = s.path ?? rs.resolver.resolve(s.file);
      return { file: s.file, line: s.line, col: s.col, ...(p ? { uri: vscode.Uri.file(p).toString() } : {}) };
    };
    const cls = (l: ReportLock) => ({ name: l.name, kind: l.kind, created: site(l.created) });
    const edges: RuntimeEdge[] = report.edges.map((e) => ({ from: cls(e.from.lock), to: cls(e.to.lock), fromSite: site(e.from.site), toSite: site(e.to.site), thread: threadLabel(e.thread) }));
    // A deadlocked thread never completes its second acquisition, so the hook sends no `edge` for
    // it: the order it tried (each lock it holds → the lock it waits for) is observed all the same.
    for (const d of report.deadlocks)
      for (const n of d.cycle)
        for (const h of n.holds) edges.push({ from: cls(h.lock), to: cls(n.waitsFor.lock), fromSite: site(h.site), toSite: site(n.waitsFor.site), thread: threadLabel(n.thread) });
    rs.edgesSent = known;
    client.sendNotification(RuntimeEdgesNotification.type, { session: rs.id, label: rs.label, edges }).catch((e) => this.log(`runtime: could not send edges: ${e}`));
  }

  // ---------------------------------------------------------------- commands

  async openTrace(file?: string): Promise<PanelModel | undefined> {
    let target = file;
    if (!target) {
      const picked = await vscode.window.showOpenDialog({ canSelectMany: false, filters: { 'LockLens trace': ['locklens-trace', 'ndjson', 'jsonl'], 'All files': ['*'] }, openLabel: 'Replay' });
      target = picked?.[0]?.fsPath;
    }
    if (!target) return undefined;
    try {
      const loaded = await loadTrace(target);
      const rs = await this.startSession('replay', `${path.basename(target)} (replay)`, [path.dirname(target)], loaded.model);
      for (const p of loaded.model.processes.values()) {
        const crate = crateRootAbove(path.dirname(p.program));
        if (crate) rs.resolver.addRoots([crate]);
      }
      this.show(rs, true);
      this.flushEdges(rs);
      return this.lastModel;
    } catch (err) {
      void vscode.window.showErrorMessage(`LockLens: cannot replay ${target}: ${err instanceof Error ? err.message : String(err)}`);
      return undefined;
    }
  }

  async saveTrace(dest?: string): Promise<string | undefined> {
    const rs = this.current;
    if (!rs?.tracePath || !fs.existsSync(rs.tracePath)) {
      void vscode.window.showWarningMessage('LockLens: no recorded session to save (the Lock Panel shows none, or it is a replay).');
      return undefined;
    }
    let target = dest;
    if (!target) {
      const picked = await vscode.window.showSaveDialog({ filters: { 'LockLens trace': ['locklens-trace'] }, saveLabel: 'Save Trace' });
      target = picked?.fsPath;
    }
    if (!target) return undefined;
    fs.copyFileSync(rs.tracePath, target);
    return target;
  }

  showPanel(): void {
    const rs = this.current ?? [...this.sessions.values()].pop();
    if (rs) this.show(rs, true);
    else void vscode.window.showInformationMessage('LockLens: no traced session yet. Start a debug session of a program that uses the `locklens` crate, or run "LockLens: Run with Lock Tracing".');
  }

  /**
   * `LockLens: Run with Lock Tracing`: `cargo run` or `cargo test` of the current file's crate as a
   * task, with a listener. Arguments (for keybindings and tests): `cwd` (the crate), `command`,
   * `args` (after `cargo run`/`cargo test`), `cargo` (the cargo executable), `env` (extra variables).
   * Resolves to the session's id once the task has started, or undefined.
   */
  async runWithTracing(args: { cwd?: string; command?: 'run' | 'test'; args?: string[]; cargo?: string; env?: Record<string, string> } = {}): Promise<string | undefined> {
    if (!vscode.workspace.isTrusted) {
      void vscode.window.showWarningMessage('LockLens: running with tracing builds and runs code; trust this workspace first.');
      return undefined;
    }
    const active = vscode.window.activeTextEditor?.document.uri;
    const start = args.cwd ?? (active?.scheme === 'file' ? path.dirname(active.fsPath) : vscode.workspace.workspaceFolders?.[0]?.uri.fsPath);
    const cwd = start ? (args.cwd ?? crateRootAbove(start)) : undefined;
    if (!cwd) {
      void vscode.window.showWarningMessage('LockLens: open a file of a Cargo crate first.');
      return undefined;
    }
    let command = args.command;
    if (!command) {
      const pick = await vscode.window.showQuickPick(
        [
          { label: 'cargo run', value: 'run' as const },
          { label: 'cargo test', value: 'test' as const },
        ],
        { title: `Run ${path.basename(cwd)} with lock tracing` },
      );
      command = pick?.value;
    }
    if (!command) return undefined;
    const rs = await this.startSession('task', `cargo ${command} (${path.basename(cwd)})`, [cwd]);
    const extra = Object.fromEntries(Object.entries(args.env ?? {}).filter(([k, v]) => typeof v === 'string' && !k.startsWith('LOCKLENS_ENDPOINT') && !k.startsWith('LOCKLENS_TOKEN')));
    const env = { ...extra, ...tracingProcessEnv({ endpoint: rs.listener!.endpoint, token: rs.listener!.token, defaults: this.tracingDefaults() }) };
    const task = new vscode.Task(
      { type: 'locklens', command, session: rs.id },
      vscode.TaskScope.Workspace,
      rs.label,
      'LockLens',
      new vscode.ProcessExecution(typeof args.cargo === 'string' ? args.cargo : 'cargo', [command, ...(Array.isArray(args.args) ? args.args.filter((a) => typeof a === 'string') : [])], { cwd, env }),
    );
    task.presentationOptions = { reveal: vscode.TaskRevealKind.Always, panel: vscode.TaskPanelKind.Dedicated };
    const sub = vscode.tasks.onDidEndTaskProcess((e) => {
      if (e.execution.task.definition.session === rs.id) {
        sub.dispose();
        void this.end(rs);
      }
    });
    this.disposables.push(sub);
    await vscode.tasks.executeTask(task);
    return rs.id;
  }

  /** Test hook: the panel model now, or once `until` holds (deadlock, or some locks). */
  async state(opts: { until?: 'deadlock' | 'locks' | 'ended'; session?: string; timeoutMs?: number } = {}): Promise<{ open: boolean; session: string | undefined; model: PanelModel | undefined; decorations: Record<string, string[]> }> {
    const test = (m: PanelModel) =>
      (opts.session === undefined || this.current?.id === opts.session) &&
      (opts.until === 'deadlock' ? m.cycles.length > 0 : opts.until === 'locks' ? m.locks.length > 0 : opts.until === 'ended' ? m.state === 'ended' : true);
    let model = this.current ? this.model(this.current) : this.lastModel;
    if (opts.until && !(model && test(model))) {
      model = await new Promise<PanelModel>((resolve, reject) => {
        const w = { test, resolve: (m: PanelModel) => (clearTimeout(timer), resolve(m)) };
        const timer = setTimeout(() => {
          this.modelWaiters = this.modelWaiters.filter((x) => x !== w);
          reject(new Error(`no ${opts.until}${opts.session ? ` of session ${opts.session} (showing ${this.current?.id})` : ''} in the Lock Panel within ${opts.timeoutMs ?? 30000} ms; last model: ${JSON.stringify(this.lastModel)?.slice(0, 2000)}`));
        }, opts.timeoutMs ?? 30000);
        this.modelWaiters.push(w);
      });
    }
    return { open: this.panel !== undefined, session: this.current?.id, model, decorations: this.decorationTexts() };
  }

  dispose(): void {
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    if (this.edgesTimer) clearTimeout(this.edgesTimer);
    for (const rs of this.sessions.values()) {
      rs.unsubscribe?.();
      void rs.listener?.close();
      void rs.recorder?.close();
    }
    this.panel?.dispose();
    for (const d of this.disposables) d.dispose();
  }
}
