/**
 * Keys: validation, the byte order they sort in, and the translation of a
 * {@link KeyQuery} into a WHERE clause that uses the primary key.
 *
 * @module
 */

import type { SqlValue } from "./driver.ts";

/** The largest key, in UTF-8 bytes. */
export const MAX_KEY_BYTES = 2048;

/**
 * Which keys a listing, count or bulk delete covers. Exactly one form:
 * - `{ prefix }`: keys that start with the string (a range scan; `%`, `_`, `\` are literal);
 * - `{ start?, end? }`: start inclusive, end exclusive, in UTF-8 byte order;
 * - `{ like, escape? }`: SQLite `LIKE`, ASCII case-insensitive;
 * - `{ glob }`: SQLite `GLOB`, case-sensitive, `*`, `?` and `[...]`.
 */
export type KeyQuery =
  | { prefix: string }
  | { start?: string; end?: string }
  | { like: string; escape?: string }
  | { glob: string };

/** Options of every listing. */
export interface ListOptions {
  /** At most this many entries. */
  limit?: number;
  /** Descending key order instead of ascending. @default false */
  reverse?: boolean;
  /** Start after this key (the last key of the previous page): keyset pagination. */
  after?: string;
}

function utf8Length(text: string): number {
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
 * UTF-8 bytes.
 */
export function checkKey(key: unknown, what: string): asserts key is string {
  if (typeof key !== "string") {
    throw new TypeError(`Cannot ${what}: key must be a string, received ${typeName(key)}`);
  }
  // Each UTF-16 unit is at most 3 UTF-8 bytes, so short keys skip the count.
  if (key.length === 0 || (key.length * 3 > MAX_KEY_BYTES && utf8Length(key) > MAX_KEY_BYTES)) {
    throw new RangeError(
      `Cannot ${what}: key must be 1 to ${MAX_KEY_BYTES} UTF-8 bytes, received ${
        key.length === 0 ? "an empty string" : `${utf8Length(key)} bytes`
      }`,
    );
  }
  if (!key.isWellFormed()) {
    throw new RangeError(`Cannot ${what}: key must be well-formed Unicode, received a lone surrogate`);
  }
  if (key.includes("\0")) {
    throw new RangeError(`Cannot ${what}: key must not contain NUL characters`);
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
    throw new TypeError(`Cannot ${what}: query.${field} must be a string, received ${typeName(value)}`);
  }
  if (value.includes("\0")) {
    throw new RangeError(`Cannot ${what}: query.${field} must not contain NUL characters`);
  }
}

const QUERY_FORMS = ["prefix", "start", "end", "like", "escape", "glob"];

/** Validates a {@link KeyQuery} and turns it into SQL over the primary key. */
export function compileQuery(query: unknown, what: string): KeyCondition {
  if (query === undefined) return { sql: "1", params: [] };
  if (query === null || typeof query !== "object" || Array.isArray(query)) {
    throw new TypeError(`Cannot ${what}: query must be an object, received ${typeName(query)}`);
  }
  const q = query as Record<string, unknown>;
  const fields = Object.keys(q).filter((k) => q[k] !== undefined);
  for (const field of fields) {
    if (!QUERY_FORMS.includes(field)) {
      throw new TypeError(`Cannot ${what}: unknown query field ${JSON.stringify(field)}`);
    }
  }
  const forms = [
    "prefix" in q && q.prefix !== undefined,
    q.like !== undefined,
    q.glob !== undefined,
    q.start !== undefined || q.end !== undefined,
  ];
  if (forms.filter(Boolean).length > 1) {
    throw new TypeError(
      `Cannot ${what}: a query takes one of prefix, start/end, like or glob, received ${fields.join(", ")}`,
    );
  }
  if (q.escape !== undefined && q.like === undefined) {
    throw new TypeError(`Cannot ${what}: query.escape goes with query.like`);
  }
  if (q.prefix !== undefined) {
    checkString(q.prefix, "prefix", what);
    return range(q.prefix === "" ? undefined : q.prefix, prefixEnd(q.prefix));
  }
  if (q.like !== undefined) {
    checkString(q.like, "like", what);
    if (q.escape === undefined) return { sql: "k LIKE ?", params: [q.like] };
    checkString(q.escape, "escape", what);
    if (Array.from(q.escape).length !== 1) {
      throw new RangeError(`Cannot ${what}: query.escape must be one character, received ${typeName(q.escape)}`);
    }
    return { sql: "k LIKE ? ESCAPE ?", params: [q.like, q.escape] };
  }
  if (q.glob !== undefined) {
    checkString(q.glob, "glob", what);
    // The literal head of the pattern bounds a range scan; GLOB filters the rest.
    const head = /^[^*?[]*/.exec(q.glob)![0];
    if (head === "") return { sql: "k GLOB ?", params: [q.glob] };
    const bounds = range(head, prefixEnd(head));
    return { sql: `${bounds.sql} AND k GLOB ?`, params: [...bounds.params, q.glob] };
  }
  if (q.start !== undefined) checkString(q.start, "start", what);
  if (q.end !== undefined) checkString(q.end, "end", what);
  return range(q.start as string | undefined, q.end as string | undefined);
}

function range(start: string | undefined, end: string | undefined): KeyCondition {
  if (start !== undefined && end !== undefined) return { sql: "k >= ? AND k < ?", params: [start, end] };
  if (start !== undefined) return { sql: "k >= ?", params: [start] };
  if (end !== undefined) return { sql: "k < ?", params: [end] };
  return { sql: "1", params: [] };
}

/** Validates {@link ListOptions}. */
export function checkListOptions(options: unknown, what: string): ListOptions {
  if (options === undefined) return {};
  if (options === null || typeof options !== "object") {
    throw new TypeError(`Cannot ${what}: options must be an object, received ${typeName(options)}`);
  }
  const o = options as ListOptions;
  if (o.limit !== undefined) {
    if (typeof o.limit !== "number") {
      throw new TypeError(`Cannot ${what}: limit must be a number, received ${typeName(o.limit)}`);
    }
    if (!Number.isInteger(o.limit) || o.limit < 0) {
      throw new RangeError(`Cannot ${what}: limit must be a whole number >= 0, received ${o.limit}`);
    }
  }
  if (o.reverse !== undefined && typeof o.reverse !== "boolean") {
    throw new TypeError(`Cannot ${what}: reverse must be a boolean, received ${typeName(o.reverse)}`);
  }
  if (o.after !== undefined && typeof o.after !== "string") {
    throw new TypeError(`Cannot ${what}: after must be a string, received ${typeName(o.after)}`);
  }
  return o;
}

/**
 * Throws unless `name` can name a table or a namespace: 1 to 128 characters,
 * no NUL, no `/` (the namespace separator), not starting with `sqlite_`.
 */
export function checkName(name: unknown, field: string, what: string): asserts name is string {
  if (typeof name !== "string") {
    throw new TypeError(`Cannot ${what}: ${field} must be a string, received ${typeName(name)}`);
  }
  if (
    name.length === 0 || name.length > 128 || name.includes("\0") || name.includes("/") ||
    /^sqlite_/i.test(name) || !name.isWellFormed()
  ) {
    throw new RangeError(
      `Cannot ${what}: ${field} must be 1 to 128 characters without "/" or NUL and not start with "sqlite_", received ${
        typeName(name)
      }`,
    );
  }
}

/** Quotes an SQL identifier. */
export function quoteName(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
