// Guard regions: for each lock acquisition in a function, where rustc drops the guard.
//
// The rules follow the Rust reference's "Destructors" chapter (temporary scopes, lifetime
// extension, drop scopes) and were checked against rustc's MIR (test/unit/regions-mir.test.ts):
// - a temporary lives to the end of its temporary scope: the enclosing statement, an `if`/`while`
//   condition, a match guard or arm body, the right operand of `&&`/`||`, a loop/if body, a
//   function or closure body; `match`, `if let` (before 2024), `while let` bodies and `for`
//   iterables are not scopes, so their temporaries live through the whole construct;
// - edition 2024 drops `if let` scrutinee temporaries at the end of the then-block and block
//   tail-expression temporaries at the end of the tail expression;
// - `let x = &temp...` extends the temporary to the end of the enclosing block;
// - a named guard lives to the end of its block unless dropped or moved earlier.

import type { Acquisition, Edition, GuardHolder, Position, Range, Release, ScrutineeInfo } from './model';
import { letConditionOwner, type LocalDecl, type Scopes } from './scopes';
import { blockTail, comparePos, field, isTailOf, lastCharOf, methodCall, namedChildren, pathCall, rangeOf, startOf, visitTypes, walk, type Node } from './syntax';

const EXIT_TYPES = new Set(['return_expression', 'try_expression', 'break_expression', 'continue_expression', 'closure_expression', 'async_block', 'function_item']);

/** Methods that turn `Result<Guard>`/`Option<Guard>` into the guard itself. */
const UNWRAPPERS = new Set(['unwrap', 'expect', 'unwrap_or_else', 'unwrap_unchecked', 'into_inner']);
/** Methods that keep the guard wrapped (`map_err(..)?`). */
const WRAP_PRESERVING = new Set(['map_err', 'or_else', 'context', 'with_context', 'wrap_err', 'ok', 'ok_or', 'ok_or_else']);

export interface GuardShape {
  /** The expression whose value is the guard (after unwrap/?/.await). */
  guardExpr: Node;
  /** The guard is still inside a `Result`/`Option` (e.g. `try_lock()` matched with `if let Ok(g)`). */
  wrapped: boolean;
  unwrap?: { method: 'unwrap' | 'expect'; node: Node };
}

/** Climbs from the lock call through `unwrap`/`expect`/`?`/`.await` to the guard-valued expression. */
/** DashMap's `entry(k)` guard moves into the `RefMut` these methods return. */
export const ENTRY_PASS_THROUGH = new Set(['or_insert', 'or_insert_with', 'or_insert_with_key', 'or_default', 'and_modify', 'insert_entry', 'or_try_insert_with']);

export function guardShape(call: Node, wrapped: boolean, awaits: boolean, passThrough?: ReadonlySet<string>): GuardShape {
  let g = call;
  let unwrap: GuardShape['unwrap'];
  for (;;) {
    const p = g.parent;
    if (!p) break;
    if (p.type === 'parenthesized_expression') {
      g = p;
      continue;
    }
    if (awaits && p.type === 'await_expression') {
      g = p;
      awaits = false;
      continue;
    }
    if (wrapped && p.type === 'try_expression') {
      g = p;
      wrapped = false;
      continue;
    }
    if (p.type === 'field_expression' && field(p, 'value')?.id === g.id) {
      const gp = p.parent;
      if (!gp || gp.type !== 'call_expression' || field(gp, 'function')?.id !== p.id) break;
      const name = field(p, 'field')?.text ?? '';
      if (wrapped && UNWRAPPERS.has(name)) {
        if (name === 'unwrap' || name === 'expect') unwrap = { method: name, node: gp };
        g = gp;
        wrapped = false;
        continue;
      }
      if (wrapped && WRAP_PRESERVING.has(name)) {
        g = gp;
        continue;
      }
      if (!wrapped && passThrough?.has(name)) {
        g = gp;
        continue;
      }
      break;
    }
    break;
  }
  return { guardExpr: g, wrapped, unwrap };
}

interface TempScope {
  position: Position;
  kind: Release['kind'];
  reason: string;
  /** The node that bounds the temporary (for early-exit and liveness checks). */
  scopeNode: Node;
  scrutinee?: ScrutineeInfo;
}

export class RegionBuilder {
  constructor(
    private readonly edition: Edition,
    private readonly scopes: Scopes,
    private readonly fnNode: Node,
  ) {}

  private get is2024(): boolean {
    return this.edition === '2024';
  }

  /**
   * Computes holder, releases and held ranges of a guard given its shape, by following where
   * the guard value goes: into a binding, a call, the caller, or nowhere (a temporary).
   */
  build(shape: GuardShape): Pick<Acquisition, 'holder' | 'releases' | 'held' | 'scrutinee'> & { bindingDecl?: LocalDecl } {
    const g = shape.guardExpr;
    const flow = flowOf(g, this.scopes, shape.wrapped);
    switch (flow.kind) {
      case 'underscore': {
        const pos = lastCharOf(flow.site);
        return {
          holder: { kind: 'underscore', range: rangeOf(flow.pattern) },
          releases: [{ position: pos, kind: 'immediate', reason: '`let _ = ...` does not bind the guard, so it is dropped at the end of the statement' }],
          held: [{ start: startOf(g), end: after(pos) }],
        };
      }
      case 'bind': {
        const region = this.bindingRegion(g, flow.decl, flow.from, 0, flow.aggregate);
        if (flow.aggregate && region.holder.kind === 'binding') region.holder.inAggregate = true;
        for (const d of flow.more ?? []) region.releases.push(...this.bindingRegion(g, d, d.visibleFrom).releases);
        region.releases = sortReleases(region.releases);
        return { ...region, bindingDecl: flow.decl };
      }
      case 'drop':
      case 'move':
      case 'return': {
        const pos = startOf(flow.site);
        const release: Release =
          flow.kind === 'drop'
            ? { position: pos, kind: 'explicit-drop', reason: 'dropped explicitly' }
            : { position: pos, kind: 'moved', reason: flow.kind === 'return' ? 'returned to the caller, which now holds the lock' : flow.reason };
        return { holder: flow.kind === 'drop' ? { kind: 'temporary' } : { kind: 'returned' }, releases: [release], held: [{ start: startOf(g), end: after(pos) }] };
      }
      case 'place':
        return this.temporaryRegion(flow.node === g ? g : flow.node, g);
    }
  }

  /**
   * Region of a guard owned by a binding: to the end of its scope, or until dropped or moved.
   * `from` is where the binding starts holding this guard (after a re-assignment, or the top of
   * the loop that re-assigns it).
   */
  bindingRegion(g: Node, decl: LocalDecl, from = decl.visibleFrom, depth = 0, aggregate = false): Pick<Acquisition, 'holder' | 'releases' | 'held'> {
    const scope = decl.scope;
    const holder: GuardHolder = {
      kind: 'binding',
      name: decl.name,
      range: rangeOf(decl.node),
      mutable: decl.declaredBy.text.includes('mut '),
    };
    const releases: Release[] = [];
    const siteOf = new Map<Release, Node>();
    const deadZones: Range[] = [];
    // A binding of a match arm lives until the end of the arm's body.
    const scopeEndNode = scope.type === 'match_arm' ? field(scope, 'value') ?? scope : scope;
    // A guard re-assigned in one branch is never met by the uses in another branch.
    const uses = this.scopes.usesOf(decl, scope).filter((u) => u.startIndex >= from && !onExclusivePaths(g, u, scope));
    let unconditionalEnd: Node | undefined;
    const moveUses: Node[] = [];
    // A branch moves the guard for sure when one of its own statements does.
    const movedIn = (branch: Node): boolean => moveUses.some((u) => inside(u, branch) && executesWhenReached(u, branch, movedIn));
    // A `move` closure takes the guard where the closure is made, not where its body uses it.
    const movedAt = (use: Node) => capturingMoveClosure(use, this.scopes) ?? use;
    const noteEnd = (use: Node) => {
      moveUses.push(movedAt(use));
    };
    for (const use of uses) {
      // After a re-assignment that surely ran, the binding holds another guard.
      if (moveUses.some((m) => m.type === 'assignment_expression' && m.endIndex <= use.startIndex && sameStraightLine(m, use))) continue;
      // Re-assignment drops the old guard there; the new value is tracked as its own guard.
      const asg = use.parent;
      if (asg && asg.type === 'assignment_expression' && field(asg, 'left')?.id === use.id) {
        if (moveUses.some((m) => m.startIndex < asg.startIndex && sameStraightLine(m, asg))) continue;
        const r: Release = { position: startOf(asg), kind: 'moved', reason: `\`${decl.name}\` is re-assigned, which drops the guard it held` };
        releases.push(r);
        siteOf.set(r, use);
        noteEnd(asg);
        continue;
      }
      const destructured = destructuringOf(use, this.scopes);
      if (destructured.length > 0 && depth < 4) {
        for (const d of destructured) releases.push(...this.bindingRegion(g, d, d.visibleFrom, depth + 1).releases.filter((r) => r.kind !== 'early-exit'));
        noteEnd(use);
        continue;
      }
      const flow = flowOf(use, this.scopes, false, aggregate || /^Err/.test(decl.declaredBy.type === 'match_arm' ? decl.declaredBy.text : ''));
      if (flow.kind === 'place' || flow.kind === 'underscore') continue;
      const site = flow.site;
      if (flow.kind === 'bind') {
        if (flow.decl === decl || depth >= 4) continue;
        // `let h = g;`, `let s = Some(g);`: the guard now lives as long as the new binding.
        for (const d of [flow.decl, ...(flow.more ?? [])]) {
          const inner = this.bindingRegion(g, d, d === flow.decl ? flow.from : d.visibleFrom, depth + 1, flow.aggregate);
          for (const r of inner.releases) {
            if (r.kind === 'early-exit') continue;
            releases.push(r);
            siteOf.set(r, movedAt(use));
          }
        }
        noteEnd(use);
        continue;
      }
      const pos = startOf(site);
      const zone = deadZoneAfter(site, scope);
      if (zone) deadZones.push(zone);
      const r: Release = {
        position: pos,
        kind: flow.kind === 'drop' ? 'explicit-drop' : 'moved',
        reason: flow.kind === 'drop' ? `\`${decl.name}\` is dropped explicitly` : flow.kind === 'return' ? 'returned to the caller' : flow.reason,
      };
      releases.push(r);
      siteOf.set(r, movedAt(use));
      noteEnd(use);
    }
    for (const use of moveUses) {
      // Every path from the guard's acquisition reaches `use` (or leaves early): for a guard
      // re-assigned in a branch, the branch is where it starts. A use before `g` in the text
      // (the assignment that stores it, in a loop) comes only on a next pass.
      const surely = executesWhenReached(use, scope, movedIn) || (from > decl.visibleFrom && use.startIndex >= g.endIndex && sameStraightLine(use, g, movedIn));
      if (surely && (!unconditionalEnd || use.startIndex < unconditionalEnd.startIndex)) unconditionalEnd = use;
    }
    const scopeEnd = lastCharOf(scopeEndNode);
    // An exit in another branch than the one that (re-)assigned this guard never leaves with it.
    const exits = this.earlyExits(Math.max(from, decl.visibleFrom), unconditionalEnd ? unconditionalEnd.startIndex : scope.endIndex, scope).filter((e) => !onExclusivePaths(g, e.node, scope));
    for (const e of exits) {
      releases.push(e.release);
      // `?` leaves only on the error path: the code after it still runs with the guard.
      const zone = e.node.type === 'try_expression' ? undefined : deadZoneAfter(e.node, scope);
      if (zone) deadZones.push(zone);
    }
    // rustc drops the binding at its scope's end on every path that gets there with the guard
    // alive, and attributes drops on early-exit paths to the scope end too.
    if (!unconditionalEnd || exits.length > 0) {
      releases.push({
        position: scopeEnd,
        kind: 'scope-end',
        reason: `\`${decl.name}\` goes out of scope at the end of its ${scope.type === 'match_arm' ? 'match arm' : 'block'}`,
      });
    }
    // Releases after an unconditional one can't happen; keep the earliest.
    const end = unconditionalEnd;
    const kept = releases.filter((r) => {
      if (!end || r.kind === 'early-exit' || r.kind === 'scope-end') return true;
      const site = siteOf.get(r);
      return !site || site.startIndex <= end.startIndex || !sameStraightLine(end, site);
    });
    return { holder, releases: sortReleases(kept), held: heldRanges(startOf(g), kept, deadZones) };
  }

  /** A guard made inside a macro's arguments (`println!("{}", m.lock().unwrap())`): a temporary of the invocation. */
  macroRegion(invocation: Node): Pick<Acquisition, 'holder' | 'releases' | 'held' | 'scrutinee'> {
    return this.temporaryRegion(invocation);
  }

  private temporaryRegion(at: Node, g: Node = at): Pick<Acquisition, 'holder' | 'releases' | 'held' | 'scrutinee'> {
    const extended = this.extendingLet(at);
    if (extended) {
      const block = extended.parent!;
      const pos = lastCharOf(block);
      const exits = this.earlyExits(g.endIndex, block.endIndex, block);
      const releases: Release[] = [
        ...exits.map((e) => e.release),
        { position: pos, kind: 'scope-end', reason: 'a reference to the guard is bound by `let`, which extends the temporary to the end of the block' },
      ];
      const name = identOf(field(extended, 'pattern') ?? extended)?.text;
      return { holder: { kind: 'extended', name }, releases: sortReleases(releases), held: heldRanges(startOf(g), releases) };
    }
    const scope = this.temporaryScope(at);
    const releases: Release[] = [{ position: scope.position, kind: scope.kind, reason: scope.reason }];
    const exits = this.earlyExits(g.endIndex, scope.scopeNode.endIndex, scope.scopeNode);
    const deadZones: Range[] = [];
    for (const e of exits) {
      releases.push(e.release);
      const zone = e.node.type === 'try_expression' ? undefined : deadZoneAfter(e.node, scope.scopeNode);
      if (zone) deadZones.push(zone);
    }
    return { holder: { kind: 'temporary' }, releases: sortReleases(releases), held: heldRanges(startOf(g), releases, deadZones), scrutinee: scope.scrutinee };
  }

  /** The `let` that extends the temporary `g`'s lifetime (`let x = &g.field;`), if any. */
  private extendingLet(g: Node): Node | undefined {
    let n = g;
    // Place-expression operands: `&g.field`, `&g[0]`, `&*g`.
    for (let p = n.parent; p; n = p, p = p.parent) {
      if (p.type === 'field_expression' && field(p, 'value')?.id === n.id) {
        const gp = p.parent;
        if (gp && gp.type === 'call_expression' && field(gp, 'function')?.id === p.id) return undefined;
        continue;
      }
      if (p.type === 'index_expression' && p.namedChild(0)?.id === n.id) continue;
      if (p.type === 'unary_expression' && p.text.startsWith('*')) continue;
      if (p.type === 'parenthesized_expression') continue;
      break;
    }
    const ref = n.parent;
    if (!ref || ref.type !== 'reference_expression') return undefined;
    n = ref;
    // Extending expressions: the initializer itself, or inside tuple/array/struct/cast/block tails.
    for (let p = n.parent; p; n = p, p = p.parent) {
      switch (p.type) {
        case 'let_declaration':
          return field(p, 'value')?.id === n.id ? p : undefined;
        case 'tuple_expression':
        case 'array_expression':
        case 'field_initializer':
        case 'field_initializer_list':
        case 'struct_expression':
        case 'type_cast_expression':
        case 'parenthesized_expression':
        case 'reference_expression':
          continue;
        case 'block':
          if (isTailOf(p, n)) continue;
          return undefined;
        case 'expression_statement':
          if (p.parent && isTailOf(p.parent, n)) continue;
          return undefined;
        default:
          return undefined;
      }
    }
    return undefined;
  }

  /** Finds the temporary scope of `g` by walking up to the nearest construct that bounds temporaries. */
  private temporaryScope(g: Node): TempScope {
    let child = g;
    let scrutinee: ScrutineeInfo | undefined;
    for (let node = g.parent; node; child = node, node = node.parent) {
      switch (node.type) {
        case 'expression_statement': {
          const block = node.parent;
          const semi = node.child(node.childCount - 1)?.type === ';';
          if (!semi && block && block.type === 'block' && isTailOf(block, node.namedChild(0)!)) continue;
          return { position: lastCharOf(node), kind: 'statement-end', reason: 'temporaries live until the end of their statement', scopeNode: node, scrutinee };
        }
        case 'let_declaration': {
          if (field(node, 'value')?.id === child.id && field(node, 'alternative')) {
            scrutinee ??= { construct: 'let-else', range: rangeOf(node), elseRange: rangeOf(field(node, 'alternative')!), edition2024Differs: false };
          }
          return { position: lastCharOf(node), kind: 'statement-end', reason: 'temporaries in a `let` initializer live until the end of the statement', scopeNode: node, scrutinee };
        }
        case 'let_condition': {
          if (field(node, 'value')?.id !== child.id) break;
          const owner = letConditionOwner(node);
          if (!owner) break;
          if (owner.type === 'while_expression') {
            const body = field(owner, 'body')!;
            scrutinee ??= { construct: 'while-let', range: rangeOf(owner), edition2024Differs: false };
            return { position: lastCharOf(body), kind: 'scope-end', reason: 'a `while let` scrutinee lives through each iteration of the loop body', scopeNode: owner, scrutinee };
          }
          const consequence = field(owner, 'consequence')!;
          const alt = field(owner, 'alternative');
          if (this.is2024) {
            scrutinee ??= { construct: 'if-let', range: rangeOf(owner), edition2024Differs: false };
            return {
              position: lastCharOf(consequence),
              kind: 'scope-end',
              reason: 'in edition 2024 an `if let` scrutinee is dropped at the end of the then-block, before any `else`',
              scopeNode: owner,
              scrutinee,
            };
          }
          scrutinee ??= { construct: 'if-let', range: rangeOf(owner), elseRange: alt ? rangeOf(alt) : undefined, edition2024Differs: true };
          child = owner;
          node = owner;
          continue;
        }
        case 'if_expression': {
          const cond = field(node, 'condition');
          if (cond && cond.id === child.id) {
            return { position: lastCharOf(cond), kind: 'condition-end', reason: 'an `if` condition drops its temporaries once it is evaluated', scopeNode: cond, scrutinee };
          }
          if (field(node, 'consequence')?.id === child.id) {
            return { position: lastCharOf(child), kind: 'scope-end', reason: 'the body of an `if` bounds its temporaries', scopeNode: child, scrutinee };
          }
          break;
        }
        case 'else_clause':
          return { position: lastCharOf(child), kind: 'scope-end', reason: 'an `else` block bounds its temporaries', scopeNode: child, scrutinee };
        case 'while_expression': {
          const cond = field(node, 'condition');
          if (cond && cond.id === child.id) {
            return { position: lastCharOf(cond), kind: 'condition-end', reason: 'a `while` condition drops its temporaries once it is evaluated', scopeNode: cond, scrutinee };
          }
          if (field(node, 'body')?.id === child.id) {
            return { position: lastCharOf(child), kind: 'scope-end', reason: 'a loop body bounds its temporaries', scopeNode: child, scrutinee };
          }
          break;
        }
        case 'loop_expression':
        case 'for_expression': {
          const body = field(node, 'body');
          if (body && body.id === child.id) {
            return { position: lastCharOf(child), kind: 'scope-end', reason: 'a loop body bounds its temporaries', scopeNode: child, scrutinee };
          }
          if (node.type === 'for_expression' && field(node, 'value')?.id === child.id) {
            scrutinee ??= { construct: 'for', range: rangeOf(node), edition2024Differs: false };
            // rustc wraps the loop in DropTemps: the iterable's temporaries drop where the loop
            // ends, even when the loop is a block's final expression.
            return { position: lastCharOf(node), kind: 'scope-end', reason: 'a `for` loop drops the temporaries of its iterable when the loop ends', scopeNode: node, scrutinee };
          }
          break;
        }
        case 'match_expression':
          if (field(node, 'value')?.id === child.id) {
            scrutinee ??= { construct: 'match', range: rangeOf(node), edition2024Differs: false };
          }
          break;
        case 'match_pattern': {
          const cond = field(node, 'condition');
          if (cond && cond.id === child.id) {
            return { position: lastCharOf(cond), kind: 'condition-end', reason: 'a match guard drops its temporaries once it is evaluated', scopeNode: cond, scrutinee };
          }
          break;
        }
        case 'match_arm': {
          const value = field(node, 'value');
          if (value && value.id === child.id) {
            return { position: lastCharOf(value), kind: 'arm-end', reason: 'a match arm bounds the temporaries of its body', scopeNode: value, scrutinee };
          }
          break;
        }
        case 'binary_expression': {
          const op = node.child(1)?.type;
          if (op === '&&' || op === '||') {
            return { position: lastCharOf(child), kind: 'condition-end', reason: `each operand of \`${op}\` drops its temporaries once it is evaluated`, scopeNode: child, scrutinee };
          }
          break;
        }
        case 'block': {
          const owner = node.parent;
          if (this.is2024 && isTailOf(node, child.type === 'expression_statement' ? child.namedChild(0)! : child)) {
            return { position: lastCharOf(child), kind: 'tail-end', reason: 'in edition 2024 a block\'s final expression drops its temporaries at its end', scopeNode: child, scrutinee };
          }
          if (owner && (owner.type === 'function_item' || owner.type === 'closure_expression' || owner.type === 'async_block')) {
            return { position: lastCharOf(node), kind: 'scope-end', reason: 'temporaries of a function body\'s final expression live until the function returns', scopeNode: node, scrutinee };
          }
          break;
        }
        case 'closure_expression':
          if (field(node, 'body')?.id === child.id) {
            return { position: lastCharOf(child), kind: 'scope-end', reason: 'a closure body bounds its temporaries', scopeNode: child, scrutinee };
          }
          break;
        case 'function_item':
          return { position: lastCharOf(node), kind: 'scope-end', reason: 'end of function', scopeNode: node, scrutinee };
        default:
          break;
      }
    }
    return { position: lastCharOf(this.fnNode), kind: 'scope-end', reason: 'end of function', scopeNode: this.fnNode, scrutinee };
  }

  /**
   * `return`, `?`, `break` and `continue` between `from` and `to` that leave `scope`: the guard is
   * dropped on that path. Closures and async blocks are separate bodies and do not count.
   */
  private earlyExits(from: number, to: number, scope: Node): Array<{ node: Node; release: Release }> {
    const out: Array<{ node: Node; release: Release }> = [];
    visitTypes(scope, EXIT_TYPES, (n) => {
      if (n.startIndex >= to) return false;
      if (n.type === 'closure_expression' || n.type === 'async_block' || n.type === 'function_item') return n.id === scope.id ? undefined : false;
      let label: string | undefined;
      switch (n.type) {
        case 'return_expression':
          label = '`return`';
          break;
        case 'try_expression':
          label = '`?` on an error';
          break;
        case 'break_expression':
        case 'continue_expression':
          if (!leavesScope(n, scope)) return undefined;
          label = n.type === 'break_expression' ? '`break`' : '`continue`';
          break;
        default:
          return undefined;
      }
      const pos = n.type === 'try_expression' ? lastCharOf(n) : startOf(n);
      if (n.type === 'try_expression' ? n.endIndex <= from : n.startIndex < from) return undefined;
      out.push({ node: n, release: { position: pos, kind: 'early-exit', reason: `${label} leaves the guard's scope here` } });
      return undefined;
    }, from);
    return out;
  }
}


/** Whether a `break`/`continue` jumps to a loop outside `scope`. */
function leavesScope(jump: Node, scope: Node): boolean {
  const labelNode = jump.namedChildren.find((c) => c?.type === 'label');
  const label = labelNode?.text;
  for (let p = jump.parent; p; p = p.parent) {
    if (p.type === 'closure_expression' || p.type === 'function_item' || p.type === 'async_block') return false;
    const isLoop = p.type === 'loop_expression' || p.type === 'while_expression' || p.type === 'for_expression';
    const isLabeledBlock = p.type === 'block' && !!label && p.namedChildren.some((c) => c?.type === 'label' && c.text === label);
    if (isLoop || isLabeledBlock) {
      if (label) {
        const own = p.namedChildren.find((c) => c?.type === 'label');
        if (!own || own.text !== label) continue;
      } else if (!isLoop) continue;
      // The loop is inside the scope: the jump stays within it.
      return !(scope.startIndex <= p.startIndex && p.endIndex <= scope.endIndex);
    }
  }
  return false;
}

function after(p: Position): Position {
  return { line: p.line, column: p.column + 1 };
}

export function sortReleases(rs: Release[]): Release[] {
  const seen = new Set<string>();
  const out: Release[] = [];
  for (const r of [...rs].sort((a, b) => comparePos(a.position, b.position))) {
    const key = `${r.position.line}:${r.position.column}:${r.kind}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(r);
  }
  return out;
}

/**
 * The guard is held from `start` to its last release, except after a drop, move or early exit
 * inside a nested block: the rest of that block runs without the guard.
 */
function heldRanges(start: Position, releases: Release[], deadZones: Range[] = []): Range[] {
  let end: Position | undefined;
  for (const r of releases) if (!end || comparePos(r.position, end) > 0) end = r.position;
  let ranges: Range[] = [{ start, end: after(end ?? start) }];
  for (const z of deadZones) {
    const next: Range[] = [];
    for (const r of ranges) {
      if (comparePos(z.end, r.start) <= 0 || comparePos(z.start, r.end) >= 0) {
        next.push(r);
        continue;
      }
      if (comparePos(r.start, z.start) < 0) next.push({ start: r.start, end: z.start });
      if (comparePos(z.end, r.end) < 0) next.push({ start: z.end, end: r.end });
    }
    ranges = next;
  }
  return ranges;
}

/**
 * From just after `site` to the end of the innermost block around it (exclusive of its `}`):
 * after a drop, move or exit, the rest of that block runs without the guard.
 */
function deadZoneAfter(site: Node, scope: Node): Range | undefined {
  for (let p = site.parent; p; p = p.parent) {
    if (p.type === 'block' || p.id === scope.id) {
      const end = lastCharOf(p);
      return { start: { line: site.endPosition.row, column: site.endPosition.column }, end };
    }
  }
  return undefined;
}

function identOf(pat: Node): Node | undefined {
  if (pat.type === 'identifier') return pat;
  if (pat.type === 'mut_pattern' || pat.type === 'ref_pattern') {
    const inner = pat.namedChildren.find((c) => c?.type === 'identifier');
    return inner ?? undefined;
  }
  return undefined;
}

function firstBinding(pat: Node): Node | undefined {
  let found: Node | undefined;
  walk(pat, (n) => {
    if (found) return false;
    if (n.type === 'identifier' && !/^[A-Z]/.test(n.text)) {
      const parent = n.parent;
      if (parent && parent.type === 'tuple_struct_pattern' && field(parent, 'type')?.id === n.id) return false;
      found = n;
      return false;
    }
    if (n.type === 'scoped_identifier') return false;
    return undefined;
  });
  return found;
}

export function isDropCall(call: Node): boolean {
  const pc = pathCall(call);
  return !!pc && /^(drop|(::)?(std|core)::mem::drop|mem::drop)$/.test(pc.path);
}

function calleeText(call: Node): string {
  const fn = field(call, 'function');
  return fn ? fn.text.replace(/\s+/g, '') : 'a call';
}

type Flow =
  | { kind: 'bind'; decl: LocalDecl; site: Node; from: number; more?: LocalDecl[]; aggregate: boolean }
  | { kind: 'underscore'; site: Node; pattern: Node }
  | { kind: 'drop'; site: Node }
  | { kind: 'move'; site: Node; reason: string }
  | { kind: 'return'; site: Node }
  | { kind: 'place'; node: Node };

/** Calls that build a value around their argument rather than consuming it. */
const CONSTRUCTOR = /^(Some|Ok|Err|Box::new|Arc::new|Rc::new|Cell::new|RefCell::new|Pin::new|(crate::|self::|super::)?([A-Z]\w*::)*[A-Z]\w*)$/;

/**
 * Where the value of `n` (a guard, or a binding holding one) goes: climbs through block tails,
 * `if`/`match` arms, parentheses and aggregates (`Some(g)`, tuples, struct literals) to a
 * binding, a call that consumes it, the caller, or a place use (a temporary).
 */
function flowOf(start: Node, scopes: Scopes, wrapped: boolean, aggregate = false): Flow {
  let n = start;
  // The value is (now) inside an Option/Result/tuple/struct rather than the guard itself.
  let inAggregate = aggregate;
  // Position of the value inside the innermost tuple it was put in, for `let (a, _) = (.., g)`.
  let tupleIndex: number | undefined;
  for (let guard = 0; guard < 32; guard++) {
    const p = n.parent;
    if (!p) return { kind: 'place', node: n };
    // `x.into_inner()` / `opt.unwrap()`: the guard inside comes out as the call's value.
    if (p.type === 'field_expression' && field(p, 'value')?.id === n.id) {
      const call = p.parent;
      const name = field(p, 'field')?.text ?? '';
      if (inAggregate && call && call.type === 'call_expression' && field(call, 'function')?.id === p.id && (name === 'into_inner' || name === 'unwrap' || name === 'expect')) {
        n = call;
        inAggregate = false;
        continue;
      }
      return { kind: 'place', node: n };
    }
    switch (p.type) {
      case 'tuple_expression':
        tupleIndex = namedChildren(p).findIndex((c) => c.id === n.id);
        n = p;
        inAggregate = true;
        continue;
      case 'array_expression':
        inAggregate = true;
        n = p;
        continue;
      case 'parenthesized_expression':
        n = p;
        continue;
      case 'expression_statement':
        if (p.parent && p.parent.type === 'block' && isTailOf(p.parent, n)) {
          n = p;
          continue;
        }
        return { kind: 'place', node: n };
      case 'block': {
        if (!isTailOf(p, n.type === 'expression_statement' ? n.namedChild(0)! : n)) return { kind: 'place', node: n };
        const owner = p.parent;
        if (owner && owner.type === 'function_item') return { kind: 'return', site: n.type === 'expression_statement' ? n.namedChild(0)! : n };
        if (owner && owner.type === 'closure_expression') return { kind: 'move', site: n, reason: 'returned from the closure' };
        n = p;
        continue;
      }
      case 'else_clause':
        n = p;
        continue;
      case 'if_expression':
        if (field(p, 'consequence')?.id === n.id || field(p, 'alternative')?.id === n.id) {
          n = p;
          continue;
        }
        return { kind: 'place', node: n };
      case 'match_arm':
        if (field(p, 'value')?.id === n.id && p.parent?.parent) {
          n = p.parent.parent;
          continue;
        }
        return { kind: 'place', node: n };
      case 'field_initializer':
      case 'shorthand_field_initializer':
        if (p.parent?.parent?.type === 'struct_expression') {
          n = p.parent.parent;
          inAggregate = true;
          continue;
        }
        return { kind: 'place', node: n };
      case 'arguments': {
        const call = p.parent!;
        if (isDropCall(call)) return { kind: 'drop', site: call };
        const fn = field(call, 'function');
        const fnText = fn ? fn.text.replace(/\s+/g, '').replace(/::<.*>$/, '') : '';
        if (fn && fn.type !== 'field_expression' && CONSTRUCTOR.test(fnText)) {
          n = call;
          if (!/^(Box|Arc|Rc|Pin)::new$/.test(fnText)) inAggregate = true;
          continue;
        }
        const mc = methodCall(call);
        if (mc && /^wait(_while|_timeout|_timeout_while|_for|_until)?$/.test(mc.name)) {
          return { kind: 'move', site: call, reason: `handed to \`.${mc.name}()\`, which releases the lock while waiting and returns a new guard` };
        }
        return { kind: 'move', site: call, reason: `moved into \`${mc ? '.' + mc.name + '()' : calleeText(call)}\`` };
      }
      case 'return_expression':
        return { kind: 'return', site: p };
      case 'closure_expression':
        if (field(p, 'body')?.id === n.id) return { kind: 'move', site: n, reason: 'returned from the closure' };
        return { kind: 'place', node: n };
      case 'let_declaration': {
        if (field(p, 'value')?.id !== n.id) return { kind: 'place', node: n };
        let pat = field(p, 'pattern')!;
        if (pat.type === 'tuple_pattern' && tupleIndex !== undefined && n.type === 'tuple_expression') {
          const element = pat.children.filter((c): c is Node => !!c && c.type !== '(' && c.type !== ')' && c.type !== ',')[tupleIndex];
          if (element) pat = element;
        }
        if (pat.type === '_' || pat.text === '_') return { kind: 'underscore', site: p, pattern: pat };
        const id = identOf(pat) ?? firstBinding(pat);
        const decl = id ? scopes.resolve(id.text, id) : undefined;
        if (decl) return { kind: 'bind', decl, site: p, from: decl.visibleFrom, aggregate: inAggregate };
        return { kind: 'place', node: n };
      }
      case 'let_condition':
      case 'match_expression': {
        // `if let Ok(g) = m.try_lock()` / `match m.lock() { Ok(g) => .. }`: the pattern takes the guard.
        if (!wrapped || field(p, 'value')?.id !== n.id) return { kind: 'place', node: n };
        const decls = patternBindings(p, scopes);
        if (decls.length > 0) return { kind: 'bind', decl: decls[0], site: p, from: decls[0].visibleFrom, more: decls.slice(1), aggregate: false };
        return { kind: 'place', node: n };
      }
      case 'assignment_expression': {
        if (field(p, 'right')?.id !== n.id) return { kind: 'place', node: n };
        const left = field(p, 'left');
        // `_ = guard;` drops the value right after evaluating it.
        if (left && left.text === '_') return { kind: 'underscore', site: n, pattern: left };
        const decl = left && left.type === 'identifier' ? scopes.resolve(left.text, left) : undefined;
        if (decl) return { kind: 'bind', decl, site: p, from: loopStartWithin(p, decl.scope) ?? p.endIndex, aggregate: inAggregate };
        return { kind: 'move', site: p, reason: 'moved by assignment' };
      }
      default:
        break;
    }
    // A `move` closure that captures a binding holding a guard owns the guard from then on.
    if (start.type === 'identifier') {
      const closure = capturingMoveClosure(start, scopes);
      if (closure) {
        const outer = flowOf(closure, scopes, false, true);
        if (outer.kind === 'place') return { kind: 'move', site: closure, reason: 'captured by a `move` closure' };
        return outer;
      }
    }
    return { kind: 'place', node: n };
  }
  return { kind: 'place', node: n };
}

/** If a `while`/`loop`/`for` inside `scope` contains `n`, the loop's start (the value is re-used next iteration). */
function loopStartWithin(n: Node, scope: Node): number | undefined {
  let found: number | undefined;
  for (let p = n.parent; p && p.id !== scope.id; p = p.parent) {
    if (p.type === 'while_expression' || p.type === 'loop_expression' || p.type === 'for_expression') found = p.startIndex;
  }
  return found;
}

/**
 * The bindings a `let_condition`/`match` pattern gives a wrapped guard: `Ok(g)`/`Some(g)` take
 * the guard, `Err(p)`/`Err(TryLockError::Poisoned(p))` take the `PoisonError` that still owns it.
 */
function patternBindings(p: Node, scopes: Scopes): LocalDecl[] {
  const pats: Node[] = [];
  if (p.type === 'let_condition') {
    const pat = field(p, 'pattern');
    if (pat) pats.push(pat);
  } else {
    const body = field(p, 'body');
    for (const arm of body ? namedChildren(body) : []) {
      const pat = arm.type === 'match_arm' ? field(arm, 'pattern') : null;
      if (pat && /^(Ok|Some|Err)\s*\(/.test(pat.text) && !/WouldBlock/.test(pat.text)) pats.push(pat);
    }
  }
  const out: LocalDecl[] = [];
  for (const pat of pats) {
    const id = firstBinding(pat);
    const d = id ? scopes.resolve(id.text, id) : undefined;
    if (d) out.push(d);
  }
  // The guard itself (Ok/Some) first.
  return out.sort((a, b) => Number(/^Err/.test(a.declaredBy.text)) - Number(/^Err/.test(b.declaredBy.text)));
}

/**
 * Reaching `later` means `earlier` has run: in the innermost block around both, `earlier` is
 * not under a branch, loop or closure (plain nested blocks are fine, and so are branches that
 * all move, with `movedIn`).
 */
function sameStraightLine(earlier: Node, later: Node, movedIn?: (branch: Node) => boolean): boolean {
  for (let p = earlier.parent; p; p = p.parent) {
    if (p.type === 'block' && inside(later, p)) return executesWhenReached(earlier, p, movedIn);
  }
  return false;
}

/**
 * `match slot { Some(g) => .. }` / `if let Some(g) = slot`: by-value patterns move what `slot`
 * holds into the arm's bindings. Returns those bindings.
 */
function destructuringOf(use: Node, scopes: Scopes): LocalDecl[] {
  const p = use.parent;
  if (!p) return [];
  const out: LocalDecl[] = [];
  const add = (pat: Node | null) => {
    if (!pat || /\bref\b/.test(pat.text)) return;
    const id = firstBinding(pat);
    const d = id ? scopes.resolve(id.text, id) : undefined;
    if (d) out.push(d);
  };
  if (p.type === 'match_expression' && field(p, 'value')?.id === use.id) {
    const body = field(p, 'body');
    for (const arm of body ? namedChildren(body) : []) if (arm.type === 'match_arm') add(field(arm, 'pattern'));
  } else if (p.type === 'let_condition' && field(p, 'value')?.id === use.id) {
    add(field(p, 'pattern'));
  }
  return out;
}

/** The `move` closure that captures `use` from outside (the binding is declared outside it). */
function capturingMoveClosure(use: Node, scopes: Scopes): Node | undefined {
  const decl = scopes.resolve(use.text, use);
  for (let p = use.parent; p; p = p.parent) {
    if (p.type === 'function_item') return undefined;
    if (p.type === 'closure_expression' || p.type === 'async_block') {
      const declaredInside = decl && p.startIndex <= decl.node.startIndex && decl.node.endIndex <= p.endIndex;
      if (declaredInside) return undefined;
      if (p.children.some((c) => c?.type === 'move')) return p;
    }
  }
  return undefined;
}

/**
 * `a` and `b` sit in different branches of one `if` or `match`, and no loop inside `scope` (the
 * binding's) leads from one back to the other: code at `b` never runs after code at `a`.
 */
function onExclusivePaths(a: Node, b: Node, scope: Node): boolean {
  let fork: Node | null = a.parent;
  while (fork && !inside(b, fork)) fork = fork.parent;
  if (!fork) return false;
  const branchOf = (n: Node) => {
    let c = n;
    while (c.parent && c.parent.id !== fork!.id) c = c.parent;
    return c;
  };
  const [ba, bb] = [branchOf(a), branchOf(b)];
  if (ba.id === bb.id) return false;
  if (fork.type === 'if_expression') {
    if (field(fork, 'condition')?.id === ba.id || field(fork, 'condition')?.id === bb.id) return false;
  } else if (fork.type !== 'match_block' || ba.type !== 'match_arm' || bb.type !== 'match_arm') {
    return false;
  }
  for (let p = fork.parent; p && p.id !== scope.id; p = p.parent) {
    if (p.type === 'loop_expression' || p.type === 'while_expression' || p.type === 'for_expression') return false;
  }
  return true;
}

function inside(n: Node, scope: Node): boolean {
  return scope.startIndex <= n.startIndex && n.endIndex <= scope.endIndex;
}

/**
 * True when reaching `scope`'s end means `site` has run: `site` sits in a statement of `scope`
 * itself or of plain nested blocks, not under a branch, loop or closure.
 */
function executesWhenReached(site: Node, scope: Node, movedIn?: (branch: Node) => boolean): boolean {
  // An arm that is itself the move (`0 => g = m.lock().unwrap(),`).
  if (site.id === scope.id) return true;
  let child = site;
  for (let p = site.parent; p; child = p, p = p.parent) {
    if (p.id === scope.id) return true;
    switch (p.type) {
      case 'if_expression': {
        // The condition always runs; a branch runs for sure only if the other one moves too.
        if (field(p, 'condition')?.id === child.id) break;
        const cons = field(p, 'consequence');
        const alt = field(p, 'alternative');
        if (movedIn && cons && alt && movedIn(cons) && movedIn(alt)) break;
        return false;
      }
      case 'match_expression': {
        if (field(p, 'value')?.id === child.id) break;
        // An arm runs for sure only if every arm moves too.
        const arms = namedChildren(child).filter((arm) => arm.type === 'match_arm');
        if (movedIn && arms.length > 0 && arms.every((arm) => movedIn(field(arm, 'value') ?? arm))) break;
        return false;
      }
      case 'while_expression':
      case 'for_expression':
        if (field(p, 'value')?.id === child.id || field(p, 'condition')?.id === child.id) break;
        return false;
      case 'let_condition':
      case 'match_arm':
        break;
      case 'block': {
        // A labeled block (`'a: { .. break 'a x; .. }`) may be left before `site`.
        const label = p.namedChild(0);
        if (label?.type === 'label' && leftEarly(p, label.text, site.startIndex)) return false;
        break;
      }
      case 'loop_expression':
      case 'closure_expression':
      case 'async_block':
      case 'binary_expression':
        return false;
      default:
        break;
    }
  }
  return false;
}

/** A `break` to `label` inside `block` before `before` (closures and nested functions are other bodies). */
function leftEarly(block: Node, label: string, before: number): boolean {
  let found = false;
  visitTypes(block, BREAK_TYPES, (n) => {
    if (found || n.startIndex >= before) return false;
    if (n.type === 'closure_expression' || n.type === 'function_item' || n.type === 'async_block') return false;
    if (n.type === 'break_expression' && n.namedChild(0)?.type === 'label' && n.namedChild(0)!.text === label) found = true;
    return undefined;
  });
  return found;
}

const BREAK_TYPES = new Set(['break_expression', 'closure_expression', 'function_item', 'async_block']);

/** The last release on the normal path (early exits left out), by position; undefined if there is none. */
export function lastRelease(releases: readonly Release[]): Release | undefined {
  let best: Release | undefined;
  for (const r of releases) {
    if (r.kind === 'early-exit') continue;
    if (!best || comparePos(r.position, best.position) > 0) best = r;
  }
  return best;
}

/** Used by rules: is the guard alive at `pos` (after its acquisition expression has run)? */
export function isAlive(acq: Pick<Acquisition, 'range' | 'held'>, pos: Position): boolean {
  if (comparePos(pos, acq.range.end) < 0) return false;
  return acq.held.some((r) => comparePos(pos, r.start) >= 0 && comparePos(pos, r.end) < 0);
}

export { blockTail };
