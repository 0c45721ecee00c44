/**
 * Tables as the server resolves them, for policy: an unqualified name is the relation of that name
 * in the first schema of the search_path that holds one (pg_catalog first unless the path places
 * it; src/backend/catalog/namespace.c, RangeVarGetRelidExtended). The resolver starts from the
 * session's search_path, role and relations read from the target at session start
 * (core/policy/relations-snapshot.ts) and follows what the session may change
 * (core/sql/namespace-changes.ts). It never guesses in the permissive direction:
 *
 * - every search_path the session may have had is kept (a SET may roll back, SET LOCAL ends with
 *   the transaction, a later statement may have been planned before): a name's candidates are
 *   its resolution under each of them, and policy must allow every candidate;
 * - a relation or schema the session may have created, dropped, renamed or moved is "maybe":
 *   a candidate, and the search goes on past it; code Postern cannot see (DO, CALL, extensions)
 *   makes everything "maybe";
 * - temporary tables are never a candidate (pg_temp is skipped): a temporary table can only
 *   shadow a permanent one of the same name, so policy is decided on the permanent relation the
 *   name would otherwise be, which is never more permissive for it; `pg_temp.x` written out is
 *   `pg_temp.x`;
 * - a name that resolves through `$user` after the role changed to one Postern cannot see has
 *   no candidate the gateway can name: the statement is refused.
 *
 * A name that exists nowhere resolves to the schema a CREATE would use (the first existing
 * schema of the path); the server refuses to read or write it anyway.
 *
 * What it does not see: relations created or dropped by other sessions while this one runs,
 * and DDL run by functions or triggers; see docs/policy.md.
 */
import type { NamespaceChange } from '../sql/namespace-changes.ts';
import { isTempSchema } from '../sql/namespace-changes.ts';
import { quotePart } from '../sql/table-names.ts';
import { USER_ENTRY } from '../sql/search-path.ts';

/** What the gateway read from the target at session start. */
export interface RelationsSnapshot {
  /** The search_path setting as the server reads it (entries, `$user` included). */
  path: string[];
  /** current_user at session start (what `$user` stands for). */
  user: string;
  /** Every schema read, with the names of its relations (tables, views, sequences...). */
  schemas: Map<string, Set<string>>;
  /** Schemas whose relations were not all read (the read is bounded). */
  partial: Set<string>;
  /** Some schemas may be missing altogether (the read stopped before them). */
  truncated: boolean;
}

/** A table as policy sees it: Cedar id `schema.name`, and both parts. */
export interface ResolvedTable {
  id: string;
  schema: string;
  name: string;
}

/** Bounds on what one session can make the resolver keep (each beyond is "cannot tell"). */
const MAX_PATHS = 32;
const MAX_ROLES = 32;
const MAX_REMEMBERED = 1000;

type SchemaState = 'absent' | 'maybe' | Set<string>;

export class TableResolver {
  #snapshot: RelationsSnapshot | undefined;
  readonly #paths: string[][] = [];
  readonly #pathKeys = new Set<string>();
  readonly #roles = new Set<string>();
  #unknownRole = false;
  #tooMany = false;
  #anything = false;
  readonly #maybeSchemas = new Set<string>();
  readonly #maybeRelations = new Map<string, Set<string>>();
  /** Unqualified names resolved so far, with their candidates (to tell when a change matters). */
  readonly #remembered = new Map<string, string>();
  #forgotSome = false;

  /** The snapshot read at session start; until it is given, no unqualified name resolves. */
  useSnapshot(snapshot: RelationsSnapshot): void {
    this.#snapshot = snapshot;
    this.#addPath(snapshot.path);
    this.#roles.add(snapshot.user);
  }

  /**
   * Why what names resolve to is no longer what the start's snapshot alone gives (a search_path
   * or role the session set, relations or schemas it may have made, code Postern cannot see),
   * or undefined. A session that has moved on cannot be rebuilt from the snapshot replayed
   * (idle hibernation, core/pg-session/session-snapshot.ts): it stays in memory.
   */
  movedOn(): string | undefined {
    if (this.#paths.length > 1 || this.#tooMany) return 'the session set another search_path';
    if (this.#roles.size > 1 || this.#unknownRole) return 'the session set another role';
    if (this.#anything || this.#maybeSchemas.size > 0 || this.#maybeRelations.size > 0)
      return 'the session may have changed relations or schemas';
    return undefined;
  }

  /**
   * The relations `schema`/`name` may mean (schema undefined: unqualified), or undefined when
   * the gateway cannot tell.
   */
  resolve(schema: string | undefined, name: string): ResolvedTable[] | undefined {
    if (schema !== undefined) {
      const s = isTempSchema(schema) ? 'pg_temp' : schema;
      return [table(s, name)];
    }
    const schemas = this.#candidates(name);
    if (schemas === undefined) return undefined;
    if (this.#remembered.size < MAX_REMEMBERED) this.#remembered.set(name, [...schemas].join('\u0000'));
    else if (!this.#remembered.has(name)) this.#forgotSome = true;
    return [...schemas].map((s) => table(s, name));
  }

  /**
   * Takes in what a statement may change. Returns true when a name resolved before may now
   * resolve differently: decisions made with the old resolution are stale.
   */
  apply(changes: NamespaceChange[]): boolean {
    for (const ch of changes) {
      switch (ch.kind) {
        case 'search_path':
          this.#addPath(ch.path);
          break;
        case 'role':
          if (ch.role === undefined) this.#unknownRole = true;
          else if (this.#roles.size < MAX_ROLES) this.#roles.add(ch.role);
          else this.#tooMany = true;
          break;
        case 'relation': {
          const schemas =
            ch.schema !== undefined
              ? [ch.schema]
              : [...(this.#candidates(ch.name) ?? []), ...this.#creation()];
          for (const s of schemas) {
            let names = this.#maybeRelations.get(s);
            if (!names) this.#maybeRelations.set(s, (names = new Set()));
            names.add(ch.name);
          }
          if (ch.schema === undefined && this.#candidates(ch.name) === undefined) this.#anything = true;
          break;
        }
        case 'schema':
          this.#maybeSchemas.add(ch.name);
          break;
        case 'anything':
          this.#anything = true;
          break;
      }
    }
    if (this.#forgotSome) return true;
    for (const [name, before] of this.#remembered) {
      const now = this.#candidates(name);
      if (now === undefined || [...now].join('\u0000') !== before) return true;
    }
    return false;
  }

  #addPath(path: string[]): void {
    const key = path.join('\u0000');
    if (this.#pathKeys.has(key)) return;
    if (this.#paths.length >= MAX_PATHS) {
      this.#tooMany = true;
      return;
    }
    this.#pathKeys.add(key);
    this.#paths.push(path);
  }

  /** The schemas an unqualified name may resolve to, in no particular order. */
  #candidates(name: string): Set<string> | undefined {
    if (!this.#snapshot || this.#tooMany) return undefined;
    const out = new Set<string>();
    for (const raw of this.#paths) {
      const hasUser = raw.includes(USER_ENTRY);
      if (hasUser && this.#unknownRole) return undefined;
      const users = hasUser ? [...this.#roles] : [''];
      for (const user of users)
        this.#walk(
          raw.map((e) => (e === USER_ENTRY ? user : e)),
          name,
          out,
        );
    }
    return out;
  }

  #walk(path: string[], name: string, out: Set<string>): void {
    const searched = path.includes('pg_catalog') ? path : ['pg_catalog', ...path];
    for (const s of searched) {
      if (isTempSchema(s)) continue;
      const state = this.#state(s);
      if (state === 'absent') continue;
      if (state === 'maybe' || this.#maybeRelations.get(s)?.has(name)) {
        out.add(s);
        continue;
      }
      if (state.has(name)) {
        out.add(s);
        return;
      }
    }
    // Nowhere for sure: the schema a CREATE would use (the server refuses any other use).
    const creation = path.find((s) => !isTempSchema(s) && this.#state(s) !== 'absent') ?? 'pg_catalog';
    out.add(creation);
  }

  /** The schema CREATE of an unqualified name may use, under each path. */
  #creation(): string[] {
    const out: string[] = [];
    for (const raw of this.#paths) {
      for (const user of raw.includes(USER_ENTRY) ? [...this.#roles] : ['']) {
        const path = raw.map((e) => (e === USER_ENTRY ? user : e));
        const s = path.find((e) => !isTempSchema(e) && this.#state(e) !== 'absent');
        if (s !== undefined) out.push(s);
      }
    }
    return out;
  }

  #state(schema: string): SchemaState {
    const snap = this.#snapshot!;
    if (this.#anything || this.#maybeSchemas.has(schema) || snap.partial.has(schema)) return 'maybe';
    const names = snap.schemas.get(schema);
    if (names) return names;
    return snap.truncated ? 'maybe' : 'absent';
  }
}

function table(schema: string, name: string): ResolvedTable {
  return { id: `${quotePart(schema)}.${quotePart(name)}`, schema, name };
}
