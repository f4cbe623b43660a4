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
import type { LocalDecl, Scopes } from './scopes';
import { blockTail, comparePos, field, isTailOf, lastCharOf, methodCall, namedChildren, pathCall, rangeOf, startOf, walk, type Node } from './syntax';

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
export function guardShape(call: Node, wrapped: boolean, awaits: boolean): GuardShape {
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
   * Computes holder, releases and held ranges of a guard given its shape.
   * Returns undefined when the guard never exists as a value (should not happen).
   */
  build(shape: GuardShape): Pick<Acquisition, 'holder' | 'releases' | 'held' | 'scrutinee'> & { bindingDecl?: LocalDecl } {
    const g = shape.guardExpr;
    const parent = g.parent;
    // `let PAT = guard;`
    if (parent && parent.type === 'let_declaration' && field(parent, 'value')?.id === g.id) {
      const pat = field(parent, 'pattern')!;
      const alternative = field(parent, 'alternative');
      if (pat.type === '_' || pat.text === '_') {
        const pos = lastCharOf(parent);
        return {
          holder: { kind: 'underscore', range: rangeOf(pat) },
          releases: [{ position: pos, kind: 'immediate', reason: '`let _ = ...` does not bind the guard, so it is dropped at the end of the statement' }],
          held: [{ start: startOf(g), end: after(pos) }],
        };
      }
      if (!shape.wrapped && !alternative) {
        const decl = this.scopes.resolve(identOf(pat)?.text ?? '', identOf(pat) ?? pat);
        if (decl && decl.simple) return { ...this.bindingRegion(g, decl), bindingDecl: decl };
      }
      if (shape.wrapped) {
        // `let Ok(g) = m.lock() else { .. }` / `let r = m.try_lock();`
        const id = identOf(pat) ?? firstBinding(pat, this.scopes);
        const decl = id ? this.scopes.resolve(id.text, id) : undefined;
        if (decl) return { ...this.bindingRegion(g, decl), bindingDecl: decl };
      }
    }
    // `if let Ok(g) = m.try_lock() { .. }` / `match m.lock() { Ok(g) => .., Err(e) => .. }`
    if (shape.wrapped) {
      const bound = this.patternBoundGuard(g);
      if (bound) return { ...this.bindingRegion(g, bound), bindingDecl: bound };
    }
    // Passed by value: `drop(m.lock())`, `consume(m.lock().unwrap())`.
    if (parent && parent.type === 'arguments') {
      const call = parent.parent!;
      const explicit = isDropCall(call);
      const pos = startOf(call);
      return {
        holder: explicit ? { kind: 'temporary' } : { kind: 'returned' },
        releases: [
          explicit
            ? { position: pos, kind: 'explicit-drop', reason: 'dropped explicitly' }
            : { position: pos, kind: 'moved', reason: `moved into \`${calleeText(call)}\`` },
        ],
        held: [{ start: startOf(g), end: after(pos) }],
      };
    }
    if (parent && (parent.type === 'return_expression' || this.isFunctionResult(g))) {
      const pos = startOf(parent.type === 'return_expression' ? parent : g);
      return {
        holder: { kind: 'returned' },
        releases: [{ position: pos, kind: 'moved', reason: 'returned to the caller, which now holds the lock' }],
        held: [{ start: startOf(g), end: after(pos) }],
      };
    }
    return this.temporaryRegion(g);
  }

  /** True when `g` is the value the function body evaluates to (its tail, through tail blocks). */
  private isFunctionResult(g: Node): boolean {
    let n = g;
    for (let p = n.parent; p; n = p, p = p.parent) {
      if (p.type === 'expression_statement') {
        if (!p.parent || !isTailOf(p.parent, n)) return false;
        continue;
      }
      if (p.type === 'block') {
        if (!isTailOf(p, n)) return false;
        const owner = p.parent;
        if (owner && (owner.type === 'function_item' || owner.type === 'closure_expression')) return true;
        continue;
      }
      if (p.type === 'closure_expression') return field(p, 'body')?.id === n.id;
      return false;
    }
    return false;
  }

  private patternBoundGuard(g: Node): LocalDecl | undefined {
    const p = g.parent;
    if (!p) return undefined;
    if (p.type === 'let_condition' && field(p, 'value')?.id === g.id) {
      const pat = field(p, 'pattern');
      const id = pat ? firstBinding(pat, this.scopes) : undefined;
      return id ? this.scopes.resolve(id.text, id) : undefined;
    }
    if (p.type === 'match_expression' && field(p, 'value')?.id === g.id) {
      const body = field(p, 'body');
      for (const arm of body ? namedChildren(body) : []) {
        if (arm.type !== 'match_arm') continue;
        const pat = field(arm, 'pattern');
        if (!pat || !/^(Ok|Some)\s*\(/.test(pat.text)) continue;
        const id = firstBinding(pat, this.scopes);
        if (id) return this.scopes.resolve(id.text, id);
      }
    }
    return undefined;
  }

  /** Region of a guard owned by a binding: to the end of its scope, or until dropped or moved. */
  bindingRegion(g: Node, decl: LocalDecl): Pick<Acquisition, 'holder' | 'releases' | 'held'> {
    const scope = decl.scope;
    const holder: GuardHolder = {
      kind: 'binding',
      name: decl.name,
      range: rangeOf(decl.node),
      mutable: decl.declaredBy.text.includes('mut '),
    };
    const releases: Release[] = [];
    const deadZones: Range[] = [];
    const uses = this.scopes.usesOf(decl, scope);
    let unconditionalEnd: Node | undefined;
    for (const use of uses) {
      const move = classifyMove(use, this.scopes);
      if (!move) continue;
      if (move.kind === 'rebind' && move.decl) {
        // `let h = g;` hands the guard to another binding; follow it.
        const inner = this.bindingRegion(g, move.decl);
        for (const r of inner.releases) releases.push(r);
        if (executesWhenReached(move.site, scope)) unconditionalEnd = move.site;
        continue;
      }
      const pos = startOf(move.site);
      const zone = deadZoneAfter(move.site, scope);
      if (zone) deadZones.push(zone);
      releases.push({
        position: pos,
        kind: move.kind === 'drop' ? 'explicit-drop' : 'moved',
        reason: move.kind === 'drop' ? `\`${decl.name}\` is dropped explicitly` : move.reason,
      });
      if (executesWhenReached(move.site, scope)) {
        if (!unconditionalEnd || move.site.startIndex < unconditionalEnd.startIndex) unconditionalEnd = move.site;
      }
    }
    const scopeEnd = lastCharOf(scope);
    const exits = this.earlyExits(decl.visibleFrom, unconditionalEnd ? unconditionalEnd.startIndex : scope.endIndex, scope);
    for (const e of exits) {
      releases.push(e.release);
      const zone = deadZoneAfter(e.node, scope);
      if (zone) deadZones.push(zone);
    }
    // rustc drops the binding at its scope's end on every path that gets there with the guard
    // alive, and attributes drops on early-exit paths to the scope end too.
    if (!unconditionalEnd || exits.length > 0) {
      releases.push({
        position: scopeEnd,
        kind: 'scope-end',
        reason: `\`${decl.name}\` goes out of scope at the end of its block`,
      });
    }
    // Drop releases after an unconditional one can't happen; keep the earliest.
    const kept = releases.filter((r) => !unconditionalEnd || r.kind === 'early-exit' || r.kind === 'scope-end' || comparePos(r.position, startOf(unconditionalEnd)) <= 0);
    return { holder, releases: sortReleases(kept), held: heldRanges(startOf(g), kept, deadZones) };
  }

  private temporaryRegion(g: Node): Pick<Acquisition, 'holder' | 'releases' | 'held' | 'scrutinee'> {
    const extended = this.extendingLet(g);
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
    const scope = this.temporaryScope(g);
    const releases: Release[] = [{ position: scope.position, kind: scope.kind, reason: scope.reason }];
    const exits = this.earlyExits(g.endIndex, scope.scopeNode.endIndex, scope.scopeNode);
    const deadZones: Range[] = [];
    for (const e of exits) {
      releases.push(e.release);
      const zone = deadZoneAfter(e.node, scope.scopeNode);
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
          const owner = letOwner(node);
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
          if ((op === '&&' || op === '||') && field(node, 'right')?.id === child.id) {
            return { position: lastCharOf(child), kind: 'condition-end', reason: `the right operand of \`${op}\` drops its temporaries once it is evaluated`, scopeNode: child, scrutinee };
          }
          break;
        }
        case 'block': {
          const owner = node.parent;
          if (owner && (owner.type === 'function_item' || owner.type === 'closure_expression' || owner.type === 'async_block')) {
            return { position: lastCharOf(node), kind: 'scope-end', reason: 'temporaries of a function body\'s final expression live until the function returns', scopeNode: node, scrutinee };
          }
          if (this.is2024 && isTailOf(node, child)) {
            return { position: lastCharOf(child), kind: 'tail-end', reason: 'in edition 2024 a block\'s final expression drops its temporaries at its end', scopeNode: child, scrutinee };
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
    walk(scope, (n) => {
      if (n.endIndex <= from || n.startIndex >= to) return false;
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
    });
    return out;
  }
}

function letOwner(n: Node): Node | undefined {
  for (let p = n.parent; p; p = p.parent) {
    if (p.type === 'if_expression' || p.type === 'while_expression') return p;
    if (p.type !== 'let_chain' && p.type !== 'parenthesized_expression') return undefined;
  }
  return undefined;
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

/** From just after `site` to the end of the innermost block around it (exclusive of its `}`). */
function deadZoneAfter(site: Node, scope: Node): Range | undefined {
  for (let p = site.parent; p; p = p.parent) {
    if (p.type === 'block' || p.id === scope.id) {
      if (p.id === scope.id) return undefined;
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

function firstBinding(pat: Node, _scopes: Scopes): Node | undefined {
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

interface Move {
  kind: 'drop' | 'move' | 'rebind';
  site: Node;
  reason: string;
  decl?: LocalDecl;
}

/** Whether this use of a guard binding moves it (ends the region) and how. */
function classifyMove(use: Node, scopes: Scopes): Move | undefined {
  const p = use.parent;
  if (!p) return undefined;
  if (p.type === 'arguments') {
    const call = p.parent!;
    if (isDropCall(call)) return { kind: 'drop', site: call, reason: 'dropped explicitly' };
    const mc = methodCall(call);
    const what = mc ? `\`.${mc.name}()\`` : `\`${calleeText(call)}\``;
    if (mc && mc.name === 'wait' || mc && /^wait_(while|timeout|timeout_while|for|until)$/.test(mc.name)) {
      return { kind: 'move', site: call, reason: `handed to ${what}, which releases the lock while waiting and returns a new guard` };
    }
    return { kind: 'move', site: call, reason: `moved into ${what}` };
  }
  if (p.type === 'return_expression') return { kind: 'move', site: p, reason: 'returned to the caller' };
  if (p.type === 'let_declaration' && field(p, 'value')?.id === use.id) {
    const pat = field(p, 'pattern');
    const id = pat ? identOf(pat) : undefined;
    if (id) return { kind: 'rebind', site: p, reason: `moved into \`${id.text}\``, decl: scopes.resolve(id.text, id) };
    if (pat && pat.text === '_') return undefined; // `let _ = g;` does not move
    return { kind: 'move', site: p, reason: 'moved by destructuring' };
  }
  if (p.type === 'field_initializer' || p.type === 'shorthand_field_initializer') {
    return { kind: 'move', site: p, reason: 'moved into a struct' };
  }
  if (p.type === 'tuple_expression' || p.type === 'array_expression') return { kind: 'move', site: p, reason: 'moved into a tuple or array' };
  if (p.type === 'assignment_expression' && field(p, 'right')?.id === use.id) return { kind: 'move', site: p, reason: 'moved by assignment' };
  if (p.type === 'closure_expression' || isInMoveClosure(use)) {
    const closure = enclosingMoveClosure(use);
    if (closure) return { kind: 'move', site: closure, reason: 'captured by a `move` closure' };
  }
  return undefined;
}

function isInMoveClosure(n: Node): boolean {
  return !!enclosingMoveClosure(n);
}

function enclosingMoveClosure(n: Node): Node | undefined {
  for (let p = n.parent; p; p = p.parent) {
    if (p.type === 'closure_expression') {
      return p.children.some((c) => c?.type === 'move') ? p : undefined;
    }
    if (p.type === 'function_item') return undefined;
  }
  return undefined;
}

/**
 * True when reaching `scope`'s end means `site` has run: `site` sits in a statement of `scope`
 * itself or of plain nested blocks, not under a branch, loop or closure.
 */
function executesWhenReached(site: Node, scope: Node): boolean {
  for (let p = site.parent; p; p = p.parent) {
    if (p.id === scope.id) return true;
    switch (p.type) {
      case 'if_expression':
      case 'match_expression':
      case 'match_arm':
      case 'while_expression':
      case 'loop_expression':
      case 'for_expression':
      case 'closure_expression':
      case 'async_block':
      case 'binary_expression':
      case 'else_clause':
        return false;
      default:
        break;
    }
  }
  return false;
}

/** Used by rules: is the guard alive at `pos` (after its acquisition expression has run)? */
export function isAlive(acq: Pick<Acquisition, 'range' | 'held'>, pos: Position): boolean {
  if (comparePos(pos, acq.range.end) < 0) return false;
  return acq.held.some((r) => comparePos(pos, r.start) >= 0 && comparePos(pos, r.end) < 0);
}

export { blockTail };
