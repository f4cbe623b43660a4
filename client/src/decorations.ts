// Guard-region decorations: a subtle background tint per lock class (stable colour per
// class, adapted to the theme), a gutter bar on held lines, and a stronger highlight of the
// region under the cursor. Regions come from `locklens/guardRegions`.

import * as vscode from 'vscode';
import type { LanguageClient } from 'vscode-languageclient/node';
import { GuardRegion, GuardRegionsRequest } from '../../common/protocol';
import { classColors, gutterBarSvg, ThemeKind } from '../../common/presentation/colors';
import { planDecorations, PlainRange } from '../../common/presentation/regions';
import { DecorationStyle, normalizeSettings, SECTION } from '../../common/settings';

interface ClassTypes {
  tint: vscode.TextEditorDecorationType;
  gutter: vscode.TextEditorDecorationType;
  active: vscode.TextEditorDecorationType;
}

/** What is currently applied to an editor, for the test command and for clearing. */
export interface AppliedDecorations {
  tint: Record<string, PlainRange[]>;
  gutter: Record<string, PlainRange[]>;
  active: Record<string, PlainRange[]>;
}

function themeKind(): ThemeKind {
  switch (vscode.window.activeColorTheme.kind) {
    case vscode.ColorThemeKind.Light:
      return 'light';
    case vscode.ColorThemeKind.HighContrast:
      return 'highContrast';
    case vscode.ColorThemeKind.HighContrastLight:
      return 'highContrastLight';
    default:
      return 'dark';
  }
}

function toRange(r: PlainRange): vscode.Range {
  return new vscode.Range(r.start.line, r.start.character, r.end.line, r.end.character);
}

export class GuardRegionDecorations implements vscode.Disposable {
  private readonly types = new Map<string, ClassTypes>();
  private readonly regions = new Map<string, { version: number; regions: GuardRegion[] }>();
  private readonly applied = new Map<string, AppliedDecorations>();
  private readonly disposables: vscode.Disposable[] = [];
  private readonly pending = new Map<string, NodeJS.Timeout>();
  private generation = 0;

  constructor(
    private readonly client: () => LanguageClient | undefined,
    private visible: boolean,
    private readonly log: (message: string) => void,
  ) {
    this.disposables.push(
      vscode.window.onDidChangeVisibleTextEditors(() => this.refreshVisible()),
      vscode.window.onDidChangeTextEditorSelection((e) => this.render(e.textEditor)),
      vscode.workspace.onDidChangeTextDocument((e) => this.schedule(e.document, 400)),
      vscode.workspace.onDidCloseTextDocument((d) => {
        this.regions.delete(d.uri.toString());
        this.applied.delete(d.uri.toString());
      }),
      // The server publishes diagnostics after each analysis: fresh regions are ready then.
      vscode.languages.onDidChangeDiagnostics((e) => {
        for (const uri of e.uris) {
          const editor = vscode.window.visibleTextEditors.find((ed) => ed.document.uri.toString() === uri.toString());
          if (editor) this.schedule(editor.document, 0);
        }
      }),
      vscode.window.onDidChangeActiveColorTheme(() => {
        this.disposeTypes();
        for (const editor of vscode.window.visibleTextEditors) this.render(editor);
      }),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration(`${SECTION}.decorations`)) for (const editor of vscode.window.visibleTextEditors) this.render(editor);
      }),
    );
  }

  get shown(): boolean {
    return this.visible;
  }

  setVisible(visible: boolean): void {
    this.visible = visible;
    for (const editor of vscode.window.visibleTextEditors) this.render(editor);
  }

  /** Re-requests the regions of every visible Rust editor. */
  refreshVisible(): void {
    for (const editor of vscode.window.visibleTextEditors) if (editor.document.languageId === 'rust') this.schedule(editor.document, 0);
  }

  /** Forget everything (the server restarted). */
  reset(): void {
    this.regions.clear();
    for (const editor of vscode.window.visibleTextEditors) this.render(editor);
  }

  private schedule(document: vscode.TextDocument, delay: number): void {
    if (document.languageId !== 'rust') return;
    const key = document.uri.toString();
    const existing = this.pending.get(key);
    if (existing) clearTimeout(existing);
    this.pending.set(
      key,
      setTimeout(() => {
        this.pending.delete(key);
        void this.fetch(document);
      }, delay),
    );
  }

  /** Fetches the regions of a document now; resolves when they are applied. */
  async fetch(document: vscode.TextDocument): Promise<void> {
    const client = this.client();
    if (!client || !client.isRunning()) return;
    const generation = this.generation;
    try {
      const result = await client.sendRequest(GuardRegionsRequest.type, { textDocument: { uri: client.code2ProtocolConverter.asUri(document.uri) } });
      if (generation !== this.generation) return;
      // Regions for an older version would be misplaced; a newer request follows the edit.
      if (result && result.version !== null && result.version !== document.version) return;
      this.regions.set(document.uri.toString(), { version: document.version, regions: result?.regions ?? [] });
    } catch (err) {
      this.log(`guard regions for ${document.uri.toString()}: ${err instanceof Error ? err.message : String(err)}`);
      return;
    }
    for (const editor of vscode.window.visibleTextEditors) if (editor.document === document) this.render(editor);
  }

  private style(document: vscode.TextDocument): DecorationStyle {
    const settings = normalizeSettings(vscode.workspace.getConfiguration(undefined, document.uri).get(SECTION));
    return settings.decorations.style;
  }

  private typesFor(lock: string): ClassTypes {
    let t = this.types.get(lock);
    if (!t) {
      const colors = classColors(lock, themeKind());
      t = {
        tint: vscode.window.createTextEditorDecorationType({
          backgroundColor: colors.tint,
          rangeBehavior: vscode.DecorationRangeBehavior.ClosedClosed,
        }),
        gutter: vscode.window.createTextEditorDecorationType({
          gutterIconPath: vscode.Uri.parse(gutterBarSvg(colors.bar)),
          gutterIconSize: 'contain',
          overviewRulerColor: colors.bar,
          overviewRulerLane: vscode.OverviewRulerLane.Left,
        }),
        active: vscode.window.createTextEditorDecorationType({
          backgroundColor: colors.strong,
          overviewRulerColor: colors.border,
          overviewRulerLane: vscode.OverviewRulerLane.Left,
          rangeBehavior: vscode.DecorationRangeBehavior.ClosedClosed,
        }),
      };
      this.types.set(lock, t);
    }
    return t;
  }

  private render(editor: vscode.TextEditor): void {
    if (editor.document.languageId !== 'rust') return;
    const key = editor.document.uri.toString();
    const entry = this.regions.get(key);
    const style = this.visible ? this.style(editor.document) : 'off';
    // Regions of an older version: keep what is shown (VS Code moves decorations with the
    // edit) until the fresh regions arrive, instead of flickering them off on every keystroke.
    if (entry && entry.version !== editor.document.version && style !== 'off' && this.applied.has(key)) return;
    const regions = entry && entry.version === editor.document.version ? entry.regions : [];
    const cursor = editor.selection ? { line: editor.selection.active.line, character: editor.selection.active.character } : undefined;
    const plan = planDecorations(regions, cursor, style);
    const applied: AppliedDecorations = { tint: {}, gutter: {}, active: {} };
    const classes = new Set<string>([...this.types.keys(), ...plan.tint.keys(), ...plan.gutter.keys(), ...plan.active.keys()]);
    for (const lock of classes) {
      const types = this.typesFor(lock);
      const tint = plan.tint.get(lock) ?? [];
      const gutter = plan.gutter.get(lock) ?? [];
      const active = plan.active.get(lock) ?? [];
      editor.setDecorations(types.tint, tint.map(toRange));
      editor.setDecorations(types.gutter, gutter.map(toRange));
      editor.setDecorations(types.active, active.map(toRange));
      if (tint.length > 0) applied.tint[lock] = tint;
      if (gutter.length > 0) applied.gutter[lock] = gutter;
      if (active.length > 0) applied.active[lock] = active;
    }
    this.applied.set(key, applied);
  }

  /** The decorated ranges of a document (test command). */
  decorated(uri: vscode.Uri): AppliedDecorations {
    return this.applied.get(uri.toString()) ?? { tint: {}, gutter: {}, active: {} };
  }

  private disposeTypes(): void {
    for (const t of this.types.values()) {
      t.tint.dispose();
      t.gutter.dispose();
      t.active.dispose();
    }
    this.types.clear();
  }

  dispose(): void {
    this.generation++;
    for (const t of this.pending.values()) clearTimeout(t);
    this.pending.clear();
    this.disposeTypes();
    for (const d of this.disposables) d.dispose();
  }
}
