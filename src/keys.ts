/**
 * Keys: validation, the byte order they sort in, and the translation of a
 * {@link KeyQuery} into a WHERE clause that uses the primary key.
 *
 * @module
 */

import type { SqlValue } from "./driver.ts";

/** Stands for the key table's tag table in a {@link KeyCondition}'s SQL. */
export const TAGS = "$tags";

/** The largest key, in UTF-8 bytes. */
export const MAX_KEY_BYTES = 2048;

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

/** The length of `text` in UTF-8 bytes. */
export function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}

/**
 * Throws unless `key` is a non-empty, well-formed string of at most 2048
 * UTF-8 bytes: the rule for a key about to be written.
 */
export function checkKey(key: unknown, what: string): asserts key is string {
  checkStoredKey(key, what);
  // Each UTF-16 unit is at most 3 UTF-8 bytes, so short keys skip the count.
  if (key.length * 3 > MAX_KEY_BYTES && utf8Length(key) > MAX_KEY_BYTES) {
    throw new RangeError(
      `Cannot ${what}: key must be 1 to ${MAX_KEY_BYTES} UTF-8 bytes, received ${utf8Length(key)} bytes`,
    );
  }
}

/**
 * Throws unless `key` could name a stored row: a non-empty, well-formed
 * string without NUL, of any length. Reads, deletes and the source of a rename
 * use this rule, so that a longer key adopted from a legacy table can still be
 * read and removed.
 */
export function checkStoredKey(key: unknown, what: string): asserts key is string {
  if (typeof key !== "string") {
    throw new TypeError(`Cannot ${what}: key must be a string, received ${typeName(key)}`);
  }
  if (key.length === 0) {
    throw new RangeError(`Cannot ${what}: key must be 1 to ${MAX_KEY_BYTES} UTF-8 bytes, received an empty string`);
  }
  if (!key.isWellFormed()) {
    throw new RangeError(`Cannot ${what}: key must be well-formed Unicode, received a lone surrogate`);
  }
  if (key.includes("\0")) {
    throw new RangeError(`Cannot ${what}: key must not contain NUL characters`);
  }
}

/**
 * Throws `TypeError` unless `options` is `undefined` or an object whose own
 * keys are all in `known`: a misspelt option must not be silently ignored.
 */
export function checkOptions(options: unknown, known: readonly string[], what: string): void {
  if (options === undefined) return;
  if (options === null || typeof options !== "object" || Array.isArray(options)) {
    throw new TypeError(`Cannot ${what}: options must be an object, received ${typeName(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      throw new TypeError(`Cannot ${what}: unknown option ${JSON.stringify(key)} (known: ${known.join(", ")})`);
    }
  }
}

/** A short description of a value for error messages. */
export function typeName(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object") return `an object (${value.constructor?.name ?? "null prototype"})`;
  if (typeof value === "string") {
    return `a string ${JSON.stringify(value.length > 40 ? value.slice(0, 40) + "…" : value)}`;
  }
  if (typeof value === "number" || typeof value === "bigint" || typeof value === "boolean") {
    return `${typeof value} ${String(value)}`;
  }
  return typeof value;
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

/** A compiled query: a WHERE fragment over column `k` and its parameters. */
export interface KeyCondition {
  sql: string;
  params: SqlValue[];
}

function checkString(value: unknown, field: string, what: string): asserts value is string {
  if (typeof value !== "string") {
    throw new TypeError(`Cannot ${what}: ${field} must be a string, received ${typeName(value)}`);
  }
  if (value.includes("\0")) {
    throw new RangeError(`Cannot ${what}: ${field} must not contain NUL characters`);
  }
  // SQLite would see a lone surrogate as U+FFFD and match keys nobody named.
  if (!value.isWellFormed()) {
    throw new RangeError(`Cannot ${what}: ${field} must be well-formed Unicode, received a lone surrogate`);
  }
}

const QUERY_FORMS = ["prefix", "start", "end", "like", "escape", "glob", "tag"];

/** Validates a {@link KeyQuery} and turns it into SQL over the primary key. */
export function compileQuery(query: unknown, what: string): KeyCondition {
  if (query === undefined) return { sql: "1", params: [] };
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
    if (typeof q.escape !== "string") return { sql: "k LIKE ?", params: [q.like] };
    if (Array.from(q.escape).length !== 1) {
      throw new RangeError(`Cannot ${what}: query.escape must be one character, received ${typeName(q.escape)}`);
    }
    return { sql: "k LIKE ? ESCAPE ?", params: [q.like, q.escape] };
  }
  if (typeof q.tag === "string") {
    // Driven by the tag index; `tagged = 1` ignores tag rows left behind by a
    // writer that stopped between its statements.
    return { sql: `k IN (SELECT k FROM ${TAGS} WHERE tag = ?) AND tagged = 1`, params: [q.tag] };
  }
  if (typeof q.glob === "string") {
    // The literal head of the pattern bounds a range scan; GLOB filters the rest.
    const head = /^[^*?[]*/.exec(q.glob)![0];
    if (head === "") return { sql: "k GLOB ?", params: [q.glob] };
    const bounds = range(head, prefixEnd(head));
    return { sql: `${bounds.sql} AND k GLOB ?`, params: [...bounds.params, q.glob] };
  }
  return range(q.start as string | undefined, q.end as string | undefined);
}

function range(start: string | undefined, end: string | undefined): KeyCondition {
  if (start !== undefined && end !== undefined) return { sql: "k >= ? AND k < ?", params: [start, end] };
  if (start !== undefined) return { sql: "k >= ?", params: [start] };
  if (end !== undefined) return { sql: "k < ?", params: [end] };
  return { sql: "1", params: [] };
}

const LIST_OPTIONS = ["limit", "reverse", "after"];

/** The boolean option `name` of `options` (already checked by {@link checkOptions}), `false` when absent. */
export function booleanOption(options: object | undefined, name: string, what: string): boolean {
  const value = (options as Record<string, unknown> | undefined)?.[name] ?? false;
  if (typeof value !== "boolean") {
    throw new TypeError(`Cannot ${what}: ${name} must be a boolean, received ${typeName(value)}`);
  }
  return value;
}

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

/**
 * Throws unless `name` can name a table or a namespace: 1 to 128 characters,
 * no NUL, no `/` (the namespace separator), not starting with `sqlite_` or
 * `kvsqlite_` (kvsqlite's own tables).
 */
export function checkName(name: unknown, field: string, what: string): asserts name is string {
  if (typeof name !== "string") {
    throw new TypeError(`Cannot ${what}: ${field} must be a string, received ${typeName(name)}`);
  }
  if (
    name.length === 0 || name.length > 128 || name.includes("\0") || name.includes("/") ||
    /^(kv)?sqlite_/i.test(name) || !name.isWellFormed()
  ) {
    throw new RangeError(
      `Cannot ${what}: ${field} must be 1 to 128 characters without "/" or NUL and not start with "sqlite_" or "kvsqlite_", received ${
        typeName(name)
      }`,
    );
  }
}

/** Quotes an SQL identifier. */
export function quoteName(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
