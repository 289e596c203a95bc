/**
 * Which keys a listing, count or bulk delete covers: the {@link KeyQuery}
 * forms, the listing options, and their translation into a WHERE clause that
 * uses the primary key (a range scan for prefixes and globs with a literal
 * head).
 *
 * @module
 */

import type { SqlValue } from "./driver.ts";
import { checkOptions, checkString, typeName } from "./check.ts";

/**
 * Which keys a listing, count or bulk delete covers. Exactly one form:
 * - `{ prefix }`: keys that start with the string (a range scan; `%`, `_`, `\` are literal);
 * - `{ start?, end? }`: start inclusive, end exclusive, in UTF-8 byte order;
 * - `{ like, escape? }`: SQLite `LIKE`, ASCII case-insensitive;
 * - `{ glob }`: SQLite `GLOB`, case-sensitive, `*`, `?` and `[...]`;
 * - `{ tag }`: keys written with that tag.
 */
export type KeyQuery =
  | { prefix: string }
  | { start?: string; end?: string }
  | { like: string; escape?: string }
  | { glob: string }
  | { tag: string };

/** Options of every listing. */
export interface ListOptions {
  /** At most this many entries. */
  limit?: number;
  /** Descending key order instead of ascending. @default false */
  reverse?: boolean;
  /** Start after this key (the last key of the previous page): keyset pagination. */
  after?: string;
}

/**
 * The smallest string greater than every string that starts with `prefix`, in
 * UTF-8 byte order (the same as code point order), or `undefined` when no such
 * string exists.
 */
export function prefixEnd(prefix: string): string | undefined {
  const points = Array.from(prefix);
  while (points.length > 0) {
    const last = points.pop()!.codePointAt(0)!;
    if (last === 0x10ffff) continue;
    const next = last === 0xd7ff ? 0xe000 : last + 1;
    return points.join("") + String.fromCodePoint(next);
  }
  return undefined;
}

/**
 * A compiled query: a WHERE fragment over column `k` and its parameters. The
 * fragment is built for one key table: a tag query names that table's tag
 * table, quoted once by the caller; no SQL text is rewritten after quoting.
 */
export interface KeyCondition {
  /** The form of the condition: conditions with the same id give the same SQL for a table (a statement cache key). */
  id: string;
  /** The WHERE fragment, given the key table's quoted tag table. */
  where(tagTable: string): string;
  params: SqlValue[];
}

function fixed(sql: string, params: SqlValue[]): KeyCondition {
  return { id: sql, where: () => sql, params };
}

const tagged = (tagTable: string) => `k IN (SELECT k FROM ${tagTable} WHERE tag = ?) AND tagged = 1`;

const QUERY_FORMS = ["prefix", "start", "end", "like", "escape", "glob", "tag"];

/** Validates a {@link KeyQuery} and turns it into SQL over the primary key. */
export function compileQuery(query: unknown, what: string): KeyCondition {
  if (query === undefined) return fixed("1", []);
  if (query === null || typeof query !== "object" || Array.isArray(query)) {
    throw new TypeError(`Cannot ${what}: query must be an object, received ${typeName(query)}`);
  }
  const q = query as Record<string, unknown>;
  const fields = Object.keys(q);
  for (const field of fields) {
    if (!QUERY_FORMS.includes(field)) {
      throw new TypeError(`Cannot ${what}: unknown query field ${JSON.stringify(field)}`);
    }
    // A present field is a condition: `{ prefix: undefined }` must never mean "every key".
    checkString(q[field], `query.${field}`, what);
  }
  const forms = ["prefix" in q, "like" in q, "glob" in q, "tag" in q, "start" in q || "end" in q];
  if (forms.filter(Boolean).length > 1) {
    throw new TypeError(
      `Cannot ${what}: a query takes one of prefix, start/end, like, glob or tag, received ${fields.join(", ")}`,
    );
  }
  if ("escape" in q && !("like" in q)) {
    throw new TypeError(`Cannot ${what}: query.escape goes with query.like`);
  }
  if (typeof q.prefix === "string") {
    return range(q.prefix === "" ? undefined : q.prefix, prefixEnd(q.prefix));
  }
  if (typeof q.like === "string") {
    if (typeof q.escape !== "string") return fixed("k LIKE ?", [q.like]);
    if (Array.from(q.escape).length !== 1) {
      throw new RangeError(`Cannot ${what}: query.escape must be one character, received ${typeName(q.escape)}`);
    }
    return fixed("k LIKE ? ESCAPE ?", [q.like, q.escape]);
  }
  if (typeof q.tag === "string") {
    // Driven by the tag index; `tagged = 1` ignores tag rows left behind by a
    // writer that stopped between its statements.
    return { id: "tag", where: tagged, params: [q.tag] };
  }
  if (typeof q.glob === "string") {
    // The literal head of the pattern bounds a range scan; GLOB filters the rest.
    const head = /^[^*?[]*/.exec(q.glob)![0];
    if (head === "") return fixed("k GLOB ?", [q.glob]);
    const bounds = range(head, prefixEnd(head));
    return fixed(`${bounds.id} AND k GLOB ?`, [...bounds.params, q.glob]);
  }
  return range(q.start as string | undefined, q.end as string | undefined);
}

function range(start: string | undefined, end: string | undefined): KeyCondition {
  if (start !== undefined && end !== undefined) return fixed("k >= ? AND k < ?", [start, end]);
  if (start !== undefined) return fixed("k >= ?", [start]);
  if (end !== undefined) return fixed("k < ?", [end]);
  return fixed("1", []);
}

const LIST_OPTIONS = ["limit", "reverse", "after"];

/** Validates {@link ListOptions}. */
export function checkListOptions(options: unknown, what: string): ListOptions {
  if (options === undefined) return {};
  checkOptions(options, LIST_OPTIONS, what);
  const o = options as ListOptions;
  if (o.limit !== undefined) {
    if (typeof o.limit !== "number") {
      throw new TypeError(`Cannot ${what}: limit must be a number, received ${typeName(o.limit)}`);
    }
    if (!Number.isSafeInteger(o.limit) || o.limit < 0) {
      throw new RangeError(`Cannot ${what}: limit must be a safe whole number >= 0, received ${o.limit}`);
    }
  }
  if (o.reverse !== undefined && typeof o.reverse !== "boolean") {
    throw new TypeError(`Cannot ${what}: reverse must be a boolean, received ${typeName(o.reverse)}`);
  }
  if (o.after !== undefined) checkString(o.after, "after", what);
  return o;
}
