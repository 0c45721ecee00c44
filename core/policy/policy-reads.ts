/**
 * What a policy set can read of a request, found once from the policies' JSON form (Cedar's EST)
 * so that each request can be narrowed to it: smaller Cedar calls (each value crosses the
 * wasm-bindgen boundary on its own) and decision-cache keys that leave out what no policy sees.
 */
import type { EntityJson, PolicyJson } from '@cedar-policy/cedar-wasm/web';

type Json = Record<string, unknown>;

/**
 * Which context attributes, which entity attribute names, and whether anything of the resource
 * beyond its type. Conservative: any use it does not recognise counts as reading everything.
 */
export class PolicyReads {
  #wholeContext = false;
  readonly #contextAttrs = new Set<string>();
  /** Some scope constrains the resource or some condition names it. */
  #resourceRead = false;
  /** Entity types named by literals: such a literal may be the resource itself. */
  readonly #literalTypes = new Set<string>();
  /** Attribute names read anywhere (`x.a`, `x has a`): Cedar offers no other way to see one. */
  readonly #attrs = new Set<string>();
  #allAttrs = false;

  readAll(): void {
    this.#wholeContext = true;
    this.#resourceRead = true;
    this.#allAttrs = true;
  }

  add(policy: PolicyJson): void {
    if (policy.resource.op !== 'All') this.#resourceRead = true;
    for (const c of policy.conditions) this.#walk(c.body);
  }

  /** Some policy may read context attribute `name` (or the whole context). */
  readsContext(name: string): boolean {
    return this.#wholeContext || this.#contextAttrs.has(name);
  }

  resourceFree(type: string): boolean {
    return !this.#resourceRead && !this.#literalTypes.has(type);
  }

  /**
   * The context as far as the policies read it. Unread attributes are dropped only when they
   * are values Cedar always accepts, so that a context Cedar would refuse is still refused.
   */
  context(context: Record<string, unknown>): Record<string, unknown> {
    if (this.#wholeContext) return context;
    const read: Record<string, unknown> = {};
    for (const k in context) {
      const v = context[k];
      if (this.#contextAttrs.has(k)) read[k] = v;
      else if (!plainValue(v)) return context;
    }
    return read;
  }

  /**
   * The entities with the attributes no policy reads left out (when Cedar would accept them
   * anyway, so a request it would refuse is still refused). Tags are kept as they are.
   */
  entities(entities: EntityJson[]): EntityJson[] {
    if (this.#allAttrs) return entities;
    let out: EntityJson[] | undefined;
    entities.forEach((e, i) => {
      const kept = this.#readAttrs(e.attrs);
      if (kept === e.attrs) return;
      out ??= entities.slice();
      out[i] = { ...e, attrs: kept };
    });
    return out ?? entities;
  }

  #readAttrs(attrs: EntityJson['attrs']): EntityJson['attrs'] {
    let kept: EntityJson['attrs'] | undefined;
    for (const k in attrs) {
      if (this.#attrs.has(k)) continue;
      if (!plainValue(attrs[k], true)) return attrs;
      kept ??= {};
    }
    if (kept === undefined) return attrs;
    for (const k in attrs) if (this.#attrs.has(k)) kept[k] = attrs[k]!;
    return kept;
  }

  #walk(value: unknown): void {
    if (Array.isArray(value)) {
      for (const v of value) this.#walk(v);
      return;
    }
    if (value === null || typeof value !== 'object') return;
    for (const [op, arg] of Object.entries(value as Json)) {
      if (op === 'Var') {
        if (arg === 'context') this.#wholeContext = true;
        else if (arg === 'resource') this.#resourceRead = true;
        else if (arg !== 'principal' && arg !== 'action') this.readAll();
      } else if (op === 'Slot') {
        this.readAll();
      } else if (op === '__entity') {
        const type = (arg as Json | null)?.['type'];
        if (typeof type === 'string') this.#literalTypes.add(type);
        else this.#resourceRead = true;
      } else if ((op === '.' || op === 'has') && this.#contextAttr(arg)) {
        continue;
      } else if (op === '.' || op === 'has') {
        const attr = (arg as Json | null)?.['attr'];
        const names: unknown[] = Array.isArray(attr) ? attr : [attr];
        for (const n of names) {
          if (typeof n === 'string') this.#attrs.add(n);
          else this.#allAttrs = true;
        }
        this.#walk(arg);
      } else {
        this.#walk(arg);
      }
    }
  }

  /** `context.a`, `context has a` and `context has a.b` (attr ["a", "b"]) read attribute a. */
  #contextAttr(arg: unknown): boolean {
    const { left, attr } = (arg ?? {}) as Json;
    const l = left as Json | undefined;
    if (!l || Object.keys(l).length !== 1 || l['Var'] !== 'context') return false;
    const name = Array.isArray(attr) ? (attr[0] as unknown) : attr;
    if (typeof name !== 'string') return false;
    this.#contextAttrs.add(name);
    return true;
  }
}

/**
 * Values Cedar accepts in any context or entity attribute (no numbers out of range, no nulls);
 * with `records`, also records of strings whose keys cannot be read as `__entity`/`__extn`.
 */
export function plainValue(v: unknown, records = false): boolean {
  if (typeof v === 'string' || typeof v === 'boolean' || Number.isSafeInteger(v)) return true;
  if (Array.isArray(v)) return v.every((x) => typeof x === 'string');
  if (!records || v === null || typeof v !== 'object') return false;
  for (const k in v) {
    if (k.startsWith('__') || typeof (v as Json)[k] !== 'string') return false;
  }
  return true;
}
