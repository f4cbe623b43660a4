// Call resolution across a workspace: which function(s) a call site may reach. Methods on
// `self` go to impls of the caller's Self type (in any file), `Type::f()` to that type's impls,
// free functions through module paths and `use` imports, trait method calls to every impl
// (marked "may"). Calls we cannot resolve are skipped, never guessed.

import type { CallSite, FileDeclarations, FunctionSummary } from '../api';

export interface FunctionNode {
  id: string;
  crate: string;
  summary: FunctionSummary;
  name: string;
  selfType?: string;
  traitName?: string;
  modulePath: string;
}

export interface ResolvedCall {
  callee: FunctionNode;
  /** Resolution through a trait method: one of several possible impls. */
  may: boolean;
}

export interface GraphFile {
  crate: string;
  declarations: FileDeclarations;
}

const resolutions = new WeakMap<CallSite, { epoch: string; caller: string; callees: Array<{ id: string; may: boolean }> }>();
const importKeys = new WeakMap<FileDeclarations, string>();

function importsKey(d: FileDeclarations): string {
  let k = importKeys.get(d);
  if (k === undefined) {
    k = JSON.stringify(d.imports);
    importKeys.set(d, k);
  }
  return k;
}

export function functionId(s: FunctionSummary): string {
  return `${s.file}:${s.nameRange.start.line + 1}:${s.nameRange.start.column + 1}`;
}

export class CallResolver {
  private readonly byName = new Map<string, FunctionNode[]>();
  private readonly traitNames = new Set<string>();
  private readonly importsByFile = new Map<string, Record<string, string>>();
  private readonly crates = new Set<string>();
  private readonly byId = new Map<string, FunctionNode>();
  /** Identifies everything resolution depends on: the functions and the files' imports. */
  private readonly epoch: string;

  constructor(readonly functions: FunctionNode[], files: GraphFile[]) {
    for (const f of functions) {
      const list = this.byName.get(f.name);
      if (list) list.push(f);
      else this.byName.set(f.name, [f]);
      if (f.traitName) this.traitNames.add(f.traitName);
      this.crates.add(f.crate.replace(/-/g, '_'));
    }
    for (const f of files) this.importsByFile.set(f.declarations.file, f.declarations.imports);
    let h = 0x811c9dc5;
    const mix = (t: string) => {
      for (let i = 0; i < t.length; i++) h = Math.imul(h ^ t.charCodeAt(i), 0x01000193) >>> 0;
    };
    for (const f of functions) {
      this.byId.set(f.id, f);
      mix(`${f.id}|${f.crate}|${f.modulePath}|${f.selfType ?? ''}|${f.traitName ?? ''}|${f.name};`);
    }
    for (const f of files) mix(`${f.declarations.file}:${importsKey(f.declarations)}`);
    this.epoch = `${h.toString(36)}:${functions.length}:${files.length}`;
  }

  resolve(caller: FunctionNode, call: CallSite): ResolvedCall[] {
    // Call sites of unchanged files are the same objects from one graph build to the next
    // (the language server rebuilds the graph on every edit): their resolution is reused
    // while the set of functions and imports is the same.
    const cached = resolutions.get(call);
    if (cached && cached.epoch === this.epoch && cached.caller === caller.id) {
      const out: ResolvedCall[] = [];
      for (const c of cached.callees) {
        const callee = this.byId.get(c.id);
        if (!callee) return this.remember(caller, call);
        out.push({ callee, may: c.may });
      }
      return out;
    }
    return this.remember(caller, call);
  }

  private remember(caller: FunctionNode, call: CallSite): ResolvedCall[] {
    const r = this.resolveUncached(caller, call);
    resolutions.set(call, { epoch: this.epoch, caller: caller.id, callees: r.map((x) => ({ id: x.callee.id, may: x.may })) });
    return r;
  }

  private resolveUncached(caller: FunctionNode, call: CallSite): ResolvedCall[] {
    const candidates = this.byName.get(call.name);
    if (!candidates || candidates.length === 0) return [];
    const sure = (list: FunctionNode[]): ResolvedCall[] => list.map((callee) => ({ callee, may: false }));
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
        if (this.traitNames.has(recvType)) return candidates.filter((f) => f.traitName === recvType).map((callee) => ({ callee, may: true }));
        return [];
      }
      // Unknown receiver type: only trait methods are worth following, as "may".
      const traitImpls = candidates.filter((f) => f.traitName && f.traitName !== f.selfType);
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
      let crate = caller.crate.replace(/-/g, '_');
      let modSegs = expanded;
      if (modSegs[0] === 'crate') modSegs = modSegs.slice(1);
      else if (modSegs[0] === 'self') modSegs = [...caller.modulePath.split('::').filter(Boolean), ...modSegs.slice(1)];
      else if (modSegs[0] === 'super') modSegs = [...caller.modulePath.split('::').filter(Boolean).slice(0, -1), ...modSegs.slice(1)];
      else if (this.crates.has(modSegs[0]) && modSegs[0] !== crate) {
        crate = modSegs[0];
        modSegs = modSegs.slice(1);
      }
      const mod = modSegs.join('::');
      const inModule = candidates.filter((f) => !f.selfType && f.crate.replace(/-/g, '_') === crate && (f.modulePath === mod || f.modulePath.endsWith(`::${mod}`) || (mod === '' && f.modulePath === '')));
      if (inModule.length > 0) return sure(inModule);
      return [];
    }
    const free = candidates.filter((f) => !f.selfType);
    if (free.length === 0) return [];
    // Same module first, then a `use` import, then a unique free function of that name in the crate.
    const sameModule = free.filter((f) => f.crate === caller.crate && f.modulePath === caller.modulePath);
    if (sameModule.length > 0) return sure(sameModule);
    const imports = this.importsByFile.get(caller.summary.file) ?? {};
    const imported = imports[call.name];
    if (imported) {
      const parts = imported.split('::');
      const mod = parts.slice(parts[0] === 'crate' || parts[0] === 'self' || parts[0] === 'super' ? 1 : 0, -1).join('::');
      const viaImport = free.filter((f) => f.modulePath === mod || f.modulePath.endsWith(`::${mod}`) || (this.crates.has(parts[0]) && f.crate.replace(/-/g, '_') === parts[0]));
      if (viaImport.length > 0) return sure(viaImport);
    }
    const inCrate = free.filter((f) => f.crate === caller.crate);
    if (inCrate.length === 1) return sure(inCrate);
    return [];
  }
}

function preferCrate(list: FunctionNode[], crate: string): FunctionNode[] {
  const same = list.filter((f) => f.crate === crate);
  return same.length > 0 ? same : list;
}
