// Name and type resolution just deep enough to name lock classes: `self.load` in an impl of
// `Catalog` is `Catalog.load`; a static is its module path; a local lock is `function::name`.

import type { CrateIndex, FieldDecl, FileDeclarations, FunctionDecl, StaticDecl, StructDecl } from './api';
import { LOCK_NAMES, resolveType, stripRefs, lockTypeOf, fullPath, flavorOfPath, type ResolvedType } from './locktypes';
import type { Certainty, LockType } from './model';
import type { LocalDecl, Scopes } from './scopes';
import { field, methodCall, pathCall, unparen, type Node } from './syntax';

/** Lookups over all files of a crate, built once per analysis. */
export class CrateView {
  readonly structs = new Map<string, StructDecl[]>();
  readonly statics = new Map<string, StaticDecl[]>();
  readonly functionsByName = new Map<string, FunctionDecl[]>();
  readonly importsByFile = new Map<string, Record<string, string>>();
  /** Names of crate functions whose return type is a lock guard. */
  readonly guardFunctionNames = new Set<string>();
  /** The crate mentions DashMap somewhere: its accessors are lock acquisitions. */
  readonly usesDashMap: boolean;

  constructor(readonly index: CrateIndex, readonly lockWrappers: string[] = []) {
    let dash = false;
    for (const f of index.files) {
      if (Object.values(f.imports).some((p) => p.startsWith('dashmap'))) dash = true;
      this.importsByFile.set(f.file, f.imports);
      for (const s of f.structs) push(this.structs, s.name, s);
      for (const s of f.statics) push(this.statics, s.name, s);
      for (const fn of f.functions) {
        push(this.functionsByName, fn.name, fn);
        if (fn.returnType && GUARD_TYPE_RE.test(fn.returnType)) this.guardFunctionNames.add(fn.name);
      }
      for (const st of f.structs) if (st.fields.some((x) => /DashMap|DashSet/.test(x.typeText))) dash = true;
    }
    this.usesDashMap = dash;
  }

  struct(name: string, preferFile?: string): StructDecl | undefined {
    const list = this.structs.get(name);
    if (!list) return undefined;
    return list.find((s) => s.file === preferFile) ?? list[0];
  }

  /** Field `name` of struct `type` (the struct declared in `preferFile` first), with its struct. */
  fieldOf(type: string, name: string, preferFile?: string): StructField | undefined {
    const struct = this.struct(type, preferFile);
    const field = struct?.fields.find((x) => x.name === name);
    return struct && field ? { struct, field } : undefined;
  }

  /**
   * Follows the fields `names` from struct `type` (`inner`, `state` for `self.inner.state`): the
   * last field, its struct and the type the field names; undefined where a step is unknown.
   */
  fieldPath(type: string | undefined, names: readonly string[], preferFile?: string): (StructField & { type: string | undefined }) | undefined {
    let end: (StructField & { type: string | undefined }) | undefined;
    for (const name of names) {
      const at = type ? this.fieldOf(type, name, preferFile) : undefined;
      if (!at) return undefined;
      type = this.resolveTypeIn(at.field.typeText, at.struct.file).name;
      end = { ...at, type };
    }
    return end;
  }

  static(name: string, preferFile?: string): StaticDecl | undefined {
    const list = this.statics.get(name);
    if (!list) return undefined;
    return list.find((s) => s.file === preferFile) ?? list[0];
  }

  imports(file: string): Record<string, string> {
    return this.importsByFile.get(file) ?? {};
  }

  /** Resolved types by file and type text: the same parameter and field types come up in every body. */
  private readonly resolvedTypes = new Map<string, ResolvedType>();

  /** The type `typeText` names in `file` (its imports); the result is shared, never change it. */
  resolveTypeIn(typeText: string, file: string): ResolvedType {
    const key = `${file}\u0000${typeText}`;
    let t = this.resolvedTypes.get(key);
    if (!t) {
      t = resolveType(typeText, this.imports(file), this.lockWrappers);
      this.resolvedTypes.set(key, t);
    }
    return t;
  }
}

export interface StructField {
  struct: StructDecl;
  field: FieldDecl;
}

/** A return type that hands out a lock guard: such a function is an acquisition at its call sites. */
export const GUARD_TYPE_RE = /Guard\b/;

/** Appends `v` to the list of `k`, starting the list when there is none. */
export function push<K, V>(m: Map<K, V[]>, k: K, v: V): void {
  const l = m.get(k);
  if (l) l.push(v);
  else m.set(k, [v]);
}

export interface LockRef {
  /** Lock class id. */
  cls: string;
  type?: LockType;
  certainty: Certainty;
  /** Declaration site of the lock (field or static), when known. */
  declaredIn?: { file: string; range: StructDecl['range'] };
  /** Acquisition.instanceText: the object locked, for a receiver that is an accessor call. */
  instance?: string;
  /** A new lock each time (a call returning one by value): a `let` bound to it is a local lock. */
  fresh?: boolean;
}

const CONSTRUCTOR_RE = /(?:^|[^\w:])((?:[A-Za-z_]\w*::)*)(Mutex|RwLock|ReentrantMutex|FairMutex|DashMap|DashSet|Condvar)\s*(?:::\s*<[^>]*>)?\s*::\s*(new|const_new|default|with_capacity|with_hasher|with_shard_amount|with_max_readers|from)\b/;

/** Lock type created by an initializer such as `Arc::new(Mutex::new(0))`, if any. */
export function lockFromInitializer(text: string, imports: Record<string, string>): LockType | undefined {
  const m = CONSTRUCTOR_RE.exec(text);
  if (!m) return undefined;
  const path = fullPath(m[1] + m[2], imports);
  return lockTypeOf(flavorOfPath(path), LOCK_NAMES[m[2]]);
}

/** Resolution context for one function body. */
export class FunctionResolver {
  constructor(
    readonly view: CrateView,
    readonly file: FileDeclarations,
    readonly scopes: Scopes,
    /** Qualified name of the function (`Catalog::route`). */
    readonly fnName: string,
    readonly selfType: string | undefined,
  ) {}

  private get imports(): Record<string, string> {
    return this.file.imports;
  }

  /** Type of a receiver written as a path (`self`, `self.inner.db`, `param.field`), without a tree. */
  typeOfPath(path: string, decl: FunctionDecl | undefined): string | undefined {
    const parts = path.split('.');
    let type: string | undefined;
    if (parts[0] === 'self') type = this.selfType;
    else {
      const param = decl?.params.find((p) => p.name === parts[0]);
      if (param) type = this.view.resolveTypeIn(param.typeText, this.file.file).name;
      else {
        const st = this.view.static(parts[0], this.file.file);
        if (st) type = this.view.resolveTypeIn(st.typeText, st.file).name;
      }
    }
    if (parts.length > 1) type = this.view.fieldPath(type, parts.slice(1), this.file.file)?.type;
    return type === 'Self' ? this.selfType : type;
  }

  /** The struct (or other) type name an expression evaluates to, peeled of Arc/&/Box. */
  typeOf(expr: Node, depth = 0): string | undefined {
    if (depth > 6) return undefined;
    const e = peel(expr);
    switch (e.type) {
      case 'self':
        return this.selfType;
      case 'identifier': {
        const decl = this.scopes.resolve(e.text, e);
        if (decl) return this.typeOfDecl(decl, depth);
        const st = this.view.static(e.text, this.file.file);
        if (st) return this.view.resolveTypeIn(st.typeText, st.file).name;
        return undefined;
      }
      case 'field_expression': {
        const base = field(e, 'value');
        const f = field(e, 'field');
        if (!base || !f) return undefined;
        const baseType = this.typeOf(base, depth + 1);
        const at = baseType ? this.view.fieldOf(baseType, f.text, this.file.file) : undefined;
        return at && this.view.resolveTypeIn(at.field.typeText, at.struct.file).name;
      }
      case 'call_expression': {
        const mc = methodCall(e);
        if (mc) {
          if (mc.name === 'clone' || mc.name === 'as_ref' || mc.name === 'borrow' || mc.name === 'unwrap' || mc.name === 'expect') {
            // A lock's unwrap yields the guard: its target type is the lock's inner type.
            const inner = this.lockInnerType(mc.receiver, depth);
            return inner ?? this.typeOf(mc.receiver, depth + 1);
          }
          return undefined;
        }
        const pc = pathCall(e);
        if (pc) {
          if (/^(Arc|Rc|Box)::(new|clone|from)$/.test(pc.path) && pc.args[0]) return this.typeOf(pc.args[0], depth + 1);
          const m = /^([A-Z]\w*)::\w+$/.exec(pc.path);
          if (m && this.view.struct(m[1])) return m[1];
        }
        return undefined;
      }
      case 'struct_expression':
        return field(e, 'name')?.text.replace(/<.*$/, '');
      default:
        return undefined;
    }
  }

  /** For `x.lock()`-like receivers: the protected type's name. */
  private lockInnerType(expr: Node, depth: number): string | undefined {
    const e = peel(expr);
    const mc = methodCall(e);
    if (!mc || !/^(lock|read|write|try_lock|try_read|try_write|blocking_lock|blocking_read|blocking_write)$/.test(mc.name)) return undefined;
    const typeText = this.lockTypeText(mc.receiver, depth + 1);
    if (!typeText) return undefined;
    const rt = resolveType(typeText.text, this.view.imports(typeText.file));
    if (!rt.lock || !rt.inner) return undefined;
    return resolveType(rt.inner, this.view.imports(typeText.file)).name;
  }

  private lockTypeText(expr: Node, depth: number): { text: string; file: string } | undefined {
    const e = peel(expr);
    if (e.type === 'field_expression') {
      const base = field(e, 'value');
      const f = field(e, 'field');
      const baseType = base ? this.typeOf(base, depth + 1) : undefined;
      const at = baseType && f ? this.view.fieldOf(baseType, f.text, this.file.file) : undefined;
      return at && { text: at.field.typeText, file: at.struct.file };
    }
    if (e.type === 'identifier') {
      const decl = this.scopes.resolve(e.text, e);
      if (decl?.typeText) return { text: decl.typeText, file: this.file.file };
      const st = decl ? undefined : this.view.static(e.text, this.file.file);
      if (st) return { text: st.typeText, file: st.file };
    }
    return undefined;
  }

  private typeOfDecl(decl: LocalDecl, depth: number): string | undefined {
    if (decl.name === 'self') return this.selfType;
    if (decl.typeText) {
      const t = this.view.resolveTypeIn(decl.typeText, this.file.file);
      return t.name === 'Self' ? this.selfType : t.name;
    }
    if (decl.init) return this.typeOf(decl.init, depth + 1);
    return undefined;
  }

  /**
   * For receivers parsed out of a macro's tokens: maps an identifier of that fragment back to
   * the identifier token of the real tree, so scopes resolve it.
   */
  translate: ((n: Node) => Node | undefined) | undefined;

  /** Resolves the receiver of a lock method to its lock class. */
  lockOf(expr: Node, depth = 0): LockRef | undefined {
    if (depth > 6) return undefined;
    const e = peel(expr);
    switch (e.type) {
      case 'field_expression': {
        const base = field(e, 'value');
        const f = field(e, 'field');
        if (!base || !f) return undefined;
        const baseType = this.typeOf(base);
        const at = baseType ? this.view.fieldOf(baseType, f.text, this.file.file) : undefined;
        if (at) return this.fieldLock(at);
        const owner = baseType ?? (base.type === 'self' ? this.selfType : undefined) ?? base.text.replace(/\s+/g, '');
        return { cls: `${owner}.${f.text}`, certainty: 'likely' };
      }
      case 'identifier': {
        const at = this.translate ? this.translate(e) : e;
        const decl = at ? this.scopes.resolve(e.text, at) : undefined;
        if (decl) return this.lockOfDecl(decl, depth);
        return this.staticLock(e.text);
      }
      case 'scoped_identifier': {
        const text = e.text.replace(/\s+/g, '');
        return this.staticLock(text.slice(text.lastIndexOf(':') + 1));
      }
      case 'call_expression': {
        const mc = methodCall(e);
        if (mc && (mc.name === 'clone' || mc.name === 'as_ref' || mc.name === 'deref' || mc.name === 'borrow')) return this.lockOf(mc.receiver, depth + 1);
        const pc = pathCall(e);
        if (pc && /^(Arc|Rc)::clone$/.test(pc.path) && pc.args[0]) return this.lockOf(pc.args[0], depth + 1);
        if (pc && /(^|::)(force|get)$/.test(pc.path) && pc.args[0]) return this.lockOf(pc.args[0], depth + 1);
        return this.lockReturnedBy(e, depth);
      }
      default:
        return undefined;
    }
  }

  /**
   * A call of a crate function declared to return a lock (`fn global() -> &'static Mutex<T>`,
   * `fn state(&self) -> &RwLock<State>`): every call names the same lock, so the function is the class.
   */
  private lockReturnedBy(call: Node, depth: number): LockRef | undefined {
    // Only functions that return a lock: most calls in a receiver chain have no such namesake,
    // and then the receiver is never typed.
    const target = this.crateCallee(call, depth, (f) => !!f.returnType && !!this.view.resolveTypeIn(f.returnType, f.file).lock);
    if (!target?.returnType) return undefined;
    const t = this.view.resolveTypeIn(target.returnType, target.file);
    const named = this.lockNamedBy(target, call);
    if (named) return named;
    // By value, not through a reference or a shared pointer: the function makes a new lock.
    const fresh = !/^\s*(?:&|(?:std::(?:sync|rc)::)?(?:Arc|Rc)\s*<|(?:std::pin::)?Pin\s*<)/.test(target.returnType);
    return { cls: `${target.qualifiedName}()`, type: t.lock, certainty: 'certain', declaredIn: { file: target.file, range: target.range }, fresh };
  }

  /**
   * The lock `call` of `target` reaches through its FunctionDecl.lockPath, and the object:
   * `x.state()` with `&self.inner.state` (or `self.inner.state.lock().unwrap()`) is
   * `x.inner.state`; a static is itself.
   */
  lockNamedBy(target: FunctionDecl, call: Node): LockRef | undefined {
    const named = target.lockPath ? this.lockAtPath(target.lockPath, target) : undefined;
    if (!named) return undefined;
    const mc = methodCall(call);
    const instance = !target.lockPath!.startsWith('self.') ? target.lockPath! : mc ? `${mc.receiver.text.replace(/\s+/g, '')}${target.lockPath!.slice(4)}` : undefined;
    return { ...named, instance };
  }

  /** The lock an accessor's body names (FunctionDecl.lockPath): a field through `self`, or a static. */
  private lockAtPath(path: string, accessor: FunctionDecl): LockRef | undefined {
    const parts = path.split('.');
    if (parts.length === 1) return this.staticLock(path.slice(path.lastIndexOf(':') + 1), accessor.file);
    if (parts[0] !== 'self' || !accessor.selfType) return undefined;
    const end = this.view.fieldPath(accessor.selfType, parts.slice(1), accessor.file);
    const ref = end && this.fieldLock(end);
    return ref?.type ? ref : undefined;
  }

  /** A struct field as a lock class (`Type.field`); `type` is undefined when the field is no lock. */
  private fieldLock({ struct, field }: StructField): LockRef {
    const type = this.view.resolveTypeIn(field.typeText, struct.file).lock;
    return { cls: `${struct.name}.${field.name}`, type, certainty: 'certain', declaredIn: { file: struct.file, range: field.range } };
  }

  /**
   * The crate function a call runs, when its name and receiver or path say which; only functions
   * `accept` allows are considered (guardReturningCall: those returning a guard).
   */
  crateCallee(call: Node, depth = 0, accept?: (f: FunctionDecl) => boolean): FunctionDecl | undefined {
    const mc = methodCall(call);
    const pc = mc ? undefined : pathCall(call);
    const named = this.view.functionsByName.get((mc ?? pc)?.name ?? '');
    const candidates = named && accept ? named.filter(accept) : named;
    if (!candidates || candidates.length === 0) return undefined;
    if (mc) {
      const receiverType = this.typeOf(mc.receiver, depth + 1);
      return receiverType ? candidates.find((f) => f.selfType === receiverType && f.params.some((p) => p.name === 'self')) : undefined;
    }
    if (!pc) return undefined;
    if (!pc.path.includes('::')) return candidates.find((f) => !f.selfType && f.file === this.file.file) ?? candidates.find((f) => !f.selfType);
    const qual = pc.path.slice(0, pc.path.lastIndexOf('::'));
    const owner = qual === 'Self' ? this.selfType : qual.slice(qual.lastIndexOf(':') + 1);
    const modulePath = qual.replace(/^(crate|self|super)::/, '');
    return candidates.find((f) => f.selfType !== undefined && f.selfType === owner) ?? candidates.find((f) => !f.selfType && f.modulePath.endsWith(modulePath));
  }

  private staticLock(name: string, preferFile = this.file.file): LockRef | undefined {
    const st = this.view.static(name, preferFile);
    if (!st) return undefined;
    const t = this.view.resolveTypeIn(st.typeText, st.file).lock ?? lockFromInitializer(st.initText, this.view.imports(st.file));
    const cls = st.modulePath ? `${st.modulePath}::${st.name}` : st.name;
    return { cls, type: t, certainty: t ? 'certain' : 'likely', declaredIn: { file: st.file, range: st.range } };
  }

  private lockOfDecl(decl: LocalDecl, depth: number): LockRef | undefined {
    const local = `${this.fnName}::${decl.name}`;
    if (decl.typeText) {
      const t = this.view.resolveTypeIn(decl.typeText, this.file.file);
      if (t.lock) {
        // A `&Mutex` parameter or a typed clone: if the initializer names a known lock, use it.
        if (decl.init) {
          const from = this.lockOf(decl.init, depth + 1);
          if (from && from.certainty === 'certain' && !from.fresh) return from;
        }
        return { cls: local, type: t.lock, certainty: 'certain' };
      }
      if (decl.kind !== 'let') return undefined;
    }
    if (decl.init) {
      const init = peel(decl.init);
      const created = lockFromInitializer(init.text, this.imports);
      // `let m = Arc::new(Mutex::new(..))` creates a new local lock; `let m = self.m.clone()` aliases.
      const isConstructor = created && /^(Arc|Rc|Box)::new\s*\(|^[\w:]*(Mutex|RwLock|ReentrantMutex|FairMutex|DashMap|DashSet)(\s*::\s*<[^>]*>)?\s*::/.test(init.text);
      if (isConstructor) return { cls: local, type: created, certainty: 'certain' };
      const from = this.lockOf(init, depth + 1);
      // `let map = new_map();`: a lock made for this binding, like `Mutex::new(..)`.
      if (from?.fresh) return { cls: local, type: from.type, certainty: 'certain' };
      if (from) return from;
    }
    if (decl.scrutinee || decl.kind === 'closure-param' || decl.kind === 'pattern') return undefined;
    return undefined;
  }
}

/** Strips `&`, `&mut`, `*`, parentheses: they do not change which lock an expression names. */
export function peel(expr: Node): Node {
  let e = unparen(expr);
  for (let i = 0; i < 8; i++) {
    if (e.type === 'reference_expression') {
      const v = field(e, 'value');
      if (!v) break;
      e = unparen(v);
      continue;
    }
    if (e.type === 'unary_expression' && e.text.startsWith('*')) {
      const v = e.namedChild(0);
      if (!v) break;
      e = unparen(v);
      continue;
    }
    break;
  }
  return e;
}

export { stripRefs };
