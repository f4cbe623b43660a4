// Local names of one function body and what each one refers to, following Rust's lexical
// scoping (a `let` is visible from its end to the end of its block; shadowing hides older ones).

import { field, namedChildren, visitTypes, walk, type Node } from './syntax';
import { isIdentChar } from './lexical';

const DECL_TYPES = new Set(['let_declaration', 'let_condition', 'match_arm', 'for_expression', 'closure_expression', 'function_item']);
const USE_TYPES = new Set(['identifier', 'self', 'token_tree']);

export interface LocalDecl {
  name: string;
  /** The identifier node in the pattern or parameter. */
  node: Node;
  /** The node the name is visible in. */
  scope: Node;
  /** Visible from this byte offset on. */
  visibleFrom: number;
  typeText?: string;
  /** The initializer when declared by `let name = init`. */
  init?: Node;
  /** The statement or construct that declared it. */
  declaredBy: Node;
  kind: 'let' | 'param' | 'pattern' | 'closure-param';
  /** For pattern bindings: the scrutinee expression the pattern destructures. */
  scrutinee?: Node;
  /** True for `let` with an identifier pattern (not destructuring). */
  simple: boolean;
}

export class Scopes {
  private readonly byName = new Map<string, LocalDecl[]>();
  private collected = false;

  /** Declarations are collected on first use: most functions never need them. */
  constructor(private readonly fnNode: Node | (() => Node)) {}

  private ensure(): void {
    if (this.collected) return;
    this.collected = true;
    this.collect(typeof this.fnNode === 'function' ? this.fnNode() : this.fnNode);
  }

  private add(d: LocalDecl): void {
    const list = this.byName.get(d.name);
    if (list) list.push(d);
    else this.byName.set(d.name, [d]);
  }

  private collect(fnNode: Node): void {
    const params = field(fnNode, 'parameters');
    const body = field(fnNode, 'body');
    if (params && body) this.addParams(params, body, 'param');
    visitTypes(fnNode, DECL_TYPES, (n) => {
      switch (n.type) {
        case 'let_declaration': {
          const pat = field(n, 'pattern');
          const block = n.parent;
          if (pat && block) {
            const init = field(n, 'value') ?? undefined;
            const simple = isSimplePattern(pat);
            for (const id of patternIdentifiers(pat)) {
              this.add({
                name: id.text,
                node: id,
                scope: block,
                visibleFrom: n.endIndex,
                typeText: field(n, 'type')?.text,
                init: simple ? init : undefined,
                declaredBy: n,
                kind: 'let',
                scrutinee: simple ? undefined : init,
                simple,
              });
            }
          }
          break;
        }
        case 'let_condition': {
          const pat = field(n, 'pattern');
          const value = field(n, 'value') ?? undefined;
          const owner = letConditionOwner(n);
          const scope = owner ? field(owner, owner.type === 'while_expression' ? 'body' : 'consequence') : null;
          if (pat && scope) {
            for (const id of patternIdentifiers(pat)) {
              this.add({ name: id.text, node: id, scope, visibleFrom: scope.startIndex, declaredBy: n, kind: 'pattern', scrutinee: value, simple: false });
            }
          }
          break;
        }
        case 'match_arm': {
          const pat = field(n, 'pattern');
          const match = n.parent?.parent;
          const value = match ? field(match, 'value') ?? undefined : undefined;
          if (pat) {
            for (const id of patternIdentifiers(pat)) {
              this.add({ name: id.text, node: id, scope: n, visibleFrom: id.endIndex, declaredBy: n, kind: 'pattern', scrutinee: value, simple: false });
            }
          }
          break;
        }
        case 'for_expression': {
          const pat = field(n, 'pattern');
          const body = field(n, 'body');
          if (pat && body) {
            for (const id of patternIdentifiers(pat)) {
              this.add({ name: id.text, node: id, scope: body, visibleFrom: body.startIndex, declaredBy: n, kind: 'pattern', scrutinee: field(n, 'value') ?? undefined, simple: false });
            }
          }
          break;
        }
        case 'closure_expression': {
          const ps = field(n, 'parameters');
          const b = field(n, 'body');
          if (ps && b) this.addParams(ps, b, 'closure-param');
          break;
        }
        case 'function_item':
          // Nested fn items have their own scopes; they are analysed separately.
          return n.id === fnNode.id ? undefined : false;
        default:
          break;
      }
      return undefined;
    });
  }

  private addParams(params: Node, body: Node, kind: 'param' | 'closure-param'): void {
    for (const p of namedChildren(params)) {
      if (p.type === 'self_parameter') {
        this.add({ name: 'self', node: p, scope: body, visibleFrom: body.startIndex, declaredBy: p, kind, simple: true });
        continue;
      }
      const pat = p.type === 'parameter' ? field(p, 'pattern') : p;
      if (!pat) continue;
      const typeText = p.type === 'parameter' ? field(p, 'type')?.text : undefined;
      for (const id of patternIdentifiers(pat)) {
        this.add({ name: id.text, node: id, scope: body, visibleFrom: body.startIndex, typeText, declaredBy: p, kind, simple: isSimplePattern(pat) });
      }
    }
  }

  /** The declaration an identifier use refers to, or undefined (a static, a function, unknown). */
  resolve(name: string, at: Node): LocalDecl | undefined {
    this.ensure();
    const list = this.byName.get(name);
    if (!list) return undefined;
    let best: LocalDecl | undefined;
    for (const d of list) {
      if (d.node.id === at.id) return d;
      if (at.startIndex < d.visibleFrom) continue;
      if (!(d.scope.startIndex <= at.startIndex && at.endIndex <= d.scope.endIndex)) continue;
      if (!best || d.visibleFrom >= best.visibleFrom) best = d;
    }
    return best;
  }

  /** Every identifier in `within` after the declaration that refers to `decl`, in text order. */
  usesOf(decl: LocalDecl, within: Node): Node[] {
    if (decl.name === 'self' || !PLAIN_NAME.test(decl.name)) return this.usesInTree(decl, within);
    // Found in the text, then confirmed on the tree: the cost follows the name's occurrences,
    // not the number of identifiers in the block.
    const uses: Node[] = [];
    const name = decl.name;
    const base = within.startIndex;
    const text = within.text;
    for (let i = text.indexOf(name, Math.max(0, decl.visibleFrom - base)); i >= 0; i = text.indexOf(name, i + 1)) {
      const end = i + name.length;
      if ((i > 0 && isIdentChar(text.charCodeAt(i - 1))) || (end < text.length && isIdentChar(text.charCodeAt(end)))) continue;
      const n = within.descendantForIndex(base + i);
      if (!n || n.type !== 'identifier' || n.startIndex !== base + i || n.endIndex !== base + end || n.id === decl.node.id) continue;
      if (this.resolve(name, n) === decl) uses.push(n);
    }
    return uses;
  }

  /**
   * usesOf by visiting every identifier: for `self` and names the text search does not cover,
   * and the reference the text search is tested against.
   */
  usesInTree(decl: LocalDecl, within: Node): Node[] {
    const uses: Node[] = [];
    // Subtrees that end before the declaration is visible cannot use it.
    visitTypes(within, USE_TYPES, (n) => {
      if (n.type === 'identifier' && n.text === decl.name && n.id !== decl.node.id) {
        if (this.resolve(decl.name, n) === decl) uses.push(n);
      } else if (n.type === 'self' && decl.name === 'self') {
        uses.push(n);
      } else if (n.type === 'token_tree') {
        // Macro arguments are unparsed tokens: their identifiers still count as (borrowing) uses.
        walk(n, (t) => {
          if (t.type === 'identifier' && t.text === decl.name && this.resolve(decl.name, t) === decl) uses.push(t);
        });
        return false;
      }
      return undefined;
    }, decl.visibleFrom);
    return uses;
  }
}

/** An ASCII identifier: found in text by its characters alone. */
const PLAIN_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The `if`/`while` whose condition holds this `let` (through let-chains and parentheses). */
export function letConditionOwner(n: Node): Node | undefined {
  for (let p = n.parent; p; p = p.parent) {
    if (p.type === 'if_expression' || p.type === 'while_expression') return p;
    if (p.type !== 'let_chain' && p.type !== 'parenthesized_expression') return undefined;
  }
  return undefined;
}

export function isSimplePattern(pat: Node): boolean {
  if (pat.type === 'identifier') return true;
  if (pat.type === 'mut_pattern') return pat.namedChild(0)?.type === 'identifier';
  if (pat.type === 'ref_pattern') return true;
  return false;
}

/** Identifiers bound by a pattern (not enum variants or paths). */
export function patternIdentifiers(pat: Node): Node[] {
  const out: Node[] = [];
  const visit = (n: Node, inStructField = false): void => {
    switch (n.type) {
      case 'identifier':
        // A lone capitalised identifier in a pattern is usually a unit variant or constant.
        if (!/^[A-Z]/.test(n.text) || inStructField) out.push(n);
        return;
      case 'tuple_struct_pattern':
      case 'struct_pattern': {
        const type = field(n, 'type');
        for (const c of namedChildren(n)) if (!type || c.id !== type.id) visit(c);
        return;
      }
      case 'field_pattern': {
        const pattern = field(n, 'pattern');
        if (pattern) visit(pattern);
        else {
          const name = field(n, 'name');
          if (name) out.push(name);
        }
        return;
      }
      case 'shorthand_field_identifier':
        out.push(n);
        return;
      case 'match_pattern': {
        // `n if cond =>`: the guard's identifiers are uses, not bindings.
        const condition = field(n, 'condition');
        for (const c of namedChildren(n)) if (!condition || c.id !== condition.id) visit(c, inStructField);
        return;
      }
      case 'scoped_identifier':
      case 'type_identifier':
      case 'integer_literal':
      case 'string_literal':
        return;
      default:
        for (const c of namedChildren(n)) visit(c, inStructField);
    }
  };
  visit(pat);
  return out;
}
