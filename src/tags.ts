/**
 * Tags (NADB's): labels written with a value, so that every key carrying one
 * can be listed, counted or deleted through an index. The rules: tags belong
 * to the value (a write without tags leaves the key untagged), `incr` and
 * expiry changes keep them, `rename` moves them, every delete and purge
 * drops them.
 *
 * @module
 */

import type { Connection } from "./connection.ts";
import type { SqlRow } from "./driver.ts";
import { isLive } from "./expiry.ts";
import type { KeyCondition } from "./query.ts";
import { typeName } from "./check.ts";
import { utf8Length } from "./keys.ts";
import type { Table } from "./table.ts";
import { asExpiry } from "./changes.ts";

/** The longest tag, in UTF-8 bytes. */
export const MAX_TAG_BYTES = 256;
/** The most tags one key may carry. */
export const MAX_TAGS = 64;

/** Checks a `tags` option and returns its distinct tags, sorted; `undefined` when not given. */
export function checkTags(tags: unknown, what: string): string[] | undefined {
  if (tags === undefined) return undefined;
  if (!Array.isArray(tags)) {
    throw new TypeError(`Cannot ${what}: tags must be an array of strings, received ${typeName(tags)}`);
  }
  for (const tag of tags) {
    if (typeof tag !== "string") {
      throw new TypeError(`Cannot ${what}: every tag must be a string, received ${typeName(tag)}`);
    }
    if (tag.length === 0 || (tag.length * 3 > MAX_TAG_BYTES && utf8Length(tag) > MAX_TAG_BYTES)) {
      throw new RangeError(
        `Cannot ${what}: a tag must be 1 to ${MAX_TAG_BYTES} UTF-8 bytes, received ${typeName(tag)}`,
      );
    }
    if (!tag.isWellFormed() || tag.includes("\0")) {
      throw new RangeError(`Cannot ${what}: a tag must be well-formed Unicode without NUL, received ${typeName(tag)}`);
    }
  }
  const distinct = [...new Set(tags as string[])].sort();
  if (distinct.length > MAX_TAGS) {
    throw new RangeError(`Cannot ${what}: a key carries at most ${MAX_TAGS} tags, received ${distinct.length}`);
  }
  return distinct;
}

const NOT_WRITTEN = Symbol("not written");

/** Whether the row of `key` (live or not) carries tags. */
export function isTagged(table: Table, key: string): boolean {
  const row = table.readTagged.get([key]);
  return row !== undefined && Number(row[1]) === 1;
}

/**
 * Writes `key` with `tags` (none: untagged): drops its current tags, runs
 * `write`, and tags what it wrote, in one transaction. When `write` changes
 * nothing (a condition stopped it) the old tags are kept.
 */
export function writeTagged(
  conn: Connection,
  table: Table,
  key: string,
  tags: readonly string[],
  write: () => number,
): number {
  try {
    return conn.atomic(() => {
      table.dropTags.run([key]);
      table.markTagged.run([0, key]);
      const n = write();
      if (n === 0) throw NOT_WRITTEN;
      if (tags.length > 0) {
        table.markTagged.run([1, key]);
        for (const tag of tags) table.addTag.run([tag, key]);
      }
      return n;
    });
  } catch (error) {
    if (error === NOT_WRITTEN) return 0;
    throw error;
  }
}

/** Deletes a live tagged key with its tags; `false` when it is not live and tagged. */
export function removeTagged(conn: Connection, table: Table, key: string, now: number): boolean {
  const row = table.readTagged.get([key]);
  if (row === undefined || Number(row[1]) !== 1 || !isLive(row[0], now)) return false;
  conn.atomic(() => {
    table.dropTags.run([key]);
    table.drop.run([key]);
  });
  return true;
}

/** Deletes a tagged key (live or not) with its tags; returns `v, kind, expire_time`, or `undefined`. */
export function takeTagged(conn: Connection, table: Table, key: string): SqlRow | undefined {
  if (!isTagged(table, key)) return undefined;
  return conn.atomic(() => {
    const row = table.read.get([key]);
    table.dropTags.run([key]);
    table.drop.run([key]);
    return row;
  });
}

/**
 * Deletes the live keys matching `cond`, with their tags. Without any tag in
 * the table it is one statement; otherwise the deleted keys come back and
 * their tags go after them (a tag query needs the tag rows to find its keys).
 */
export function deleteWhere(conn: Connection, table: Table, cond: KeyCondition, now: number): number {
  return conn.atomic(() => {
    if (table.anyTag.get([]) === undefined) return table.deleteWhere(cond).run([...cond.params, now]);
    const deleted = table.deleteWhereReturning(cond).all([...cond.params, now]);
    for (const [k, tagged] of deleted) if (Number(tagged) === 1) table.dropTags.run([k as string]);
    return deleted.length;
  });
}

/** Deletes the expired rows, with their tags, through the expiry index. */
export function purge(conn: Connection, table: Table, now: number): number {
  return conn.atomic(() => {
    if (table.anyTag.get([]) !== undefined) table.purgeTags.run([now]);
    return asExpiry(conn, () => table.purge.run([now]));
  });
}

/** A live key's tags, sorted; `[]` when it has none; `undefined` when it is missing or expired. */
export function tagsOf(table: Table, key: string, now: number): string[] | undefined {
  const row = table.readTagged.get([key]);
  if (row === undefined || !isLive(row[0], now)) return undefined;
  if (Number(row[1]) !== 1) return [];
  return table.readTags.all([key]).map((r) => r[0] as string);
}
