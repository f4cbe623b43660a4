// Call resolution across a workspace: which function(s) a call site may reach. Methods on
// `self` go to impls of the caller's Self type (in any file), `Type::f()` to that type's impls,
// free functions through module paths and `use` imports, trait method calls to every impl
// (marked "may"). Calls we cannot resolve are skipped, never guessed.
//
// The index is kept up to date function by function (the graph engine adds and removes a
// changed file's functions), so an edit does not rebuild it for the whole workspace.

import type { CallSite, FunctionSummary } from '../api';

export interface FunctionNode {
  id: string;
  crate: string;
  summary: FunctionSummary;
  name: string;
  selfType?: string;
  traitName?: string;
  modulePath: string;
}

export interface ResolvedCall<N extends FunctionNode = FunctionNode> {
  callee: N;
  /** Resolution through a trait method: one of several possible impls. */
  may: boolean;
}

export function functionId(s: FunctionSummary): string {
  return `${s.file}:${s.nameRange.start.line + 1}:${s.nameRange.start.column + 1}`;
}

export class CallResolver<N extends FunctionNode = FunctionNode> {
  private readonly byName = new Map<string, N[]>();
  private readonly traitCount = new Map<string, number>();
  private readonly crateCount = new Map<string, number>();
  private readonly importsByFile = new Map<string, Record<string, string>>();
  /** Names whose candidate lists must be put back in workspace order before the next resolve. */
  private readonly unsorted = new Set<string>();
  /**
   * Per name, the candidates that are trait impls and the free functions, in candidate order:
   * most calls ask for one of these, and a common name has many candidates. Dropped whenever
   * the name's list changes.
   */
  private readonly traitImplsByName = new Map<string, N[]>();
  private readonly freeByName = new Map<string, N[]>();

  private changed(name: string): void {
    this.unsorted.add(name);
    this.traitImplsByName.delete(name);
    this.freeByName.delete(name);
  }

  private traitImpls(name: string, candidates: N[]): N[] {
    let list = this.traitImplsByName.get(name);
    if (!list) {
      list = candidates.filter((f) => f.traitName && f.traitName !== f.selfType);
      this.traitImplsByName.set(name, list);
    }
    return list;
  }

  private freeFunctions(name: string, candidates: N[]): N[] {
    let list = this.freeByName.get(name);
    if (!list) {
      list = candidates.filter((f) => !f.selfType);
      this.freeByName.set(name, list);
    }
    return list;
  }

  /** `order` ranks functions as the workspace lists them: candidates come out in that order. */
  constructor(private readonly order: (n: N) => number) {}

  /** Adds a function; returns true when the set of crate names changed (every path may resolve differently). */
  add(f: N): boolean {
    const list = this.byName.get(f.name);
    if (list) list.push(f);
    else this.byName.set(f.name, [f]);
    this.changed(f.name);
    if (f.traitName) this.traitCount.set(f.traitName, (this.traitCount.get(f.traitName) ?? 0) + 1);
    const c = crateName(f.crate);
    const n = this.crateCount.get(c) ?? 0;
    this.crateCount.set(c, n + 1);
    return n === 0;
  }

  /** Removes a function added before; returns true when the set of crate names changed. */
  remove(f: N): boolean {
    const list = this.byName.get(f.name);
    const i = list ? list.indexOf(f) : -1;
    if (list && i >= 0) {
      list.splice(i, 1);
      if (list.length === 0) this.byName.delete(f.name);
      this.changed(f.name);
    }
    if (f.traitName) {
      const t = (this.traitCount.get(f.traitName) ?? 1) - 1;
      if (t > 0) this.traitCount.set(f.traitName, t);
      else this.traitCount.delete(f.traitName);
    }
    const c = crateName(f.crate);
    const n = (this.crateCount.get(c) ?? 1) - 1;
    if (n > 0) this.crateCount.set(c, n);
    else this.crateCount.delete(c);
    return n === 0;
  }

  setImports(file: string, imports: Record<string, string> | undefined): void {
    if (imports) this.importsByFile.set(file, imports);
    else this.importsByFile.delete(file);
  }

  resolve(caller: N, call: CallSite): Array<ResolvedCall<N>> {
    if (this.unsorted.size > 0) {
      for (const name of this.unsorted) this.byName.get(name)?.sort((a, b) => this.order(a) - this.order(b));
      this.unsorted.clear();
    }
    const candidates = this.byName.get(call.name);
    if (!candidates || candidates.length === 0) return [];
    const sure = (list: N[]): Array<ResolvedCall<N>> => list.map((callee) => ({ callee, may: false }));
    if (call.receiverText !== undefined) {
      // Method call.
      const recvType = call.receiverText === 'self' ? caller.selfType : call.receiverType;
      if (recvType) {
        const own = candidates.filter((f) => f.selfType === recvType && (!f.traitName || f.traitName !== f.selfType));
        if (own.length > 0) return sure(preferCrate(own, caller.crate));
        // A trait's default method called on an implementor.
        const defaults = candidates.filter((f) => f.traitName && f.selfType === f.traitName);
        if (defaults.length === 1) return sure(defaults);
        // The receiver is a trait object or generic bounded by a trait: every impl may run.
        if (this.traitCount.has(recvType)) return candidates.filter((f) => f.traitName === recvType).map((callee) => ({ callee, may: true }));
        return [];
      }
      // Unknown receiver type: only trait methods are worth following, as "may".
      const traitImpls = this.traitImpls(call.name, candidates);
      if (traitImpls.length > 0 && traitImpls.length <= 8) return traitImpls.map((callee) => ({ callee, may: true }));
      return [];
    }
    // Path call: `f()`, `module::f()`, `Type::f()`, `crate::m::f()`, `other_crate::m::f()`.
    let qual = call.pathQualifier;
    if (qual === 'Self') qual = caller.selfType;
    if (qual) {
      const segs = qual.split('::');
      const last = segs[segs.length - 1];
      const typed = candidates.filter((f) => f.selfType === last);
      if (typed.length > 0) return sure(preferCrate(typed, caller.crate));
      const imports = this.importsByFile.get(caller.summary.file) ?? {};
      const expanded = imports[segs[0]] ? imports[segs[0]].split('::').concat(segs.slice(1)) : segs;
      let crate = crateName(caller.crate);
      let modSegs = expanded;
      if (modSegs[0] === 'crate') modSegs = modSegs.slice(1);
      else if (modSegs[0] === 'self') modSegs = [...caller.modulePath.split('::').filter(Boolean), ...modSegs.slice(1)];
      else if (modSegs[0] === 'super') modSegs = [...caller.modulePath.split('::').filter(Boolean).slice(0, -1), ...modSegs.slice(1)];
      else if (this.crateCount.has(modSegs[0]) && modSegs[0] !== crate) {
        crate = modSegs[0];
        modSegs = modSegs.slice(1);
      }
      const mod = modSegs.join('::');
      const inModule = candidates.filter((f) => !f.selfType && crateName(f.crate) === crate && (f.modulePath === mod || f.modulePath.endsWith(`::${mod}`) || (mod === '' && f.modulePath === '')));
      if (inModule.length > 0) return sure(inModule);
      return [];
    }
    const free = this.freeFunctions(call.name, candidates);
    if (free.length === 0) return [];
    // Same module first, then a `use` import, then a unique free function of that name in the crate.
    const sameModule = free.filter((f) => f.crate === caller.crate && f.modulePath === caller.modulePath);
    if (sameModule.length > 0) return sure(sameModule);
    const imports = this.importsByFile.get(caller.summary.file) ?? {};
    const imported = imports[call.name];
    if (imported) {
      const parts = imported.split('::');
      const mod = parts.slice(parts[0] === 'crate' || parts[0] === 'self' || parts[0] === 'super' ? 1 : 0, -1).join('::');
      const viaImport = free.filter((f) => f.modulePath === mod || f.modulePath.endsWith(`::${mod}`) || (this.crateCount.has(parts[0]) && crateName(f.crate) === parts[0]));
      if (viaImport.length > 0) return sure(viaImport);
    }
    const inCrate = free.filter((f) => f.crate === caller.crate);
    if (inCrate.length === 1) return sure(inCrate);
    return [];
  }
}

function crateName(crate: string): string {
  return crate.replace(/-/g, '_');
}

function preferCrate<N extends FunctionNode>(list: N[], crate: string): N[] {
  const same = list.filter((f) => f.crate === crate);
  return same.length > 0 ? same : list;
}
