/**
 * Writes: the options of a write checked and turned into a plan, the entries
 * of a `setMany`, and the write path itself (set, setMany, delete, take,
 * incr's arithmetic, rename), on one key table of a connection. `Kv` checks
 * that the store is open and the key is valid, then calls these.
 *
 * @module
 */

import { type Codec, decodeValue, encodeValue, Kind } from "./codec.ts";
import type { Connection } from "./connection.ts";
import type { SqlRow, SqlValue } from "./driver.ts";
import { expiryOf, type ExpiryOptions, isLive } from "./expiry.ts";
import { checkKey } from "./keys.ts";
import { checkOptions, typeName } from "./check.ts";
import { compileQuery, type KeyQuery } from "./query.ts";
import { countLookup } from "./stats.ts";
import { Guard, type Table } from "./table.ts";
import * as tags from "./tags.ts";
import { checkTags } from "./tags.ts";

/** Options of {@link Kv.set}. */
export interface SetOptions extends ExpiryOptions {
  /** Write only when the key is missing or expired (Redis NX). */
  ifAbsent?: boolean;
  /** Write only when the key is live (Redis XX). */
  ifPresent?: boolean;
  /** Keep the live key's current expiry instead of replacing it (Redis KEEPTTL). */
  keepTtl?: boolean;
  /** Write only when the key's version is this one (from {@link Kv.getEntry}); `null`: only when missing. */
  ifVersion?: number | null;
  /** Tags of the written value (at most 64, each 1 to 256 UTF-8 bytes). Without: the key is untagged. */
  tags?: readonly string[];
}

/** What a write needs: its guard, whether it keeps the TTL, the expected version and the expiry. */
export interface WritePlan {
  guard: number;
  keepTtl: boolean;
  version: number | null;
  expireTime: number | null;
  /** Distinct and sorted; `undefined` when the write gives none. */
  tags: string[] | undefined;
}

/** The options {@link Kv.set} and {@link Kv.setMany} know. */
export const SET_OPTIONS: readonly string[] = [
  "ttl",
  "expiresAt",
  "ifAbsent",
  "ifPresent",
  "keepTtl",
  "ifVersion",
  "tags",
];

/** Checks a write's options and returns its plan; throws `TypeError`/`RangeError` for bad ones. */
export function planWrite(options: SetOptions, now: number, what: string): WritePlan {
  checkOptions(options, SET_OPTIONS, what);
  if ("ifVersion" in options && options.ifVersion === undefined) {
    // An absent condition must be absent on purpose: `entry?.version` of a missing key is undefined.
    throw new TypeError(`Cannot ${what}: ifVersion must be a version number or null, received undefined`);
  }
  const expiry = expiryOf(options, now, what);
  for (const flag of ["ifAbsent", "ifPresent", "keepTtl"] as const) {
    if (options[flag] !== undefined && typeof options[flag] !== "boolean") {
      throw new TypeError(`Cannot ${what}: ${flag} must be a boolean, received ${typeName(options[flag])}`);
    }
  }
  const keepTtl = options.keepTtl === true;
  if (keepTtl && expiry !== undefined) {
    throw new TypeError(`Cannot ${what}: keepTtl cannot be combined with ttl or expiresAt`);
  }
  let guard: number = Guard.none;
  let version: number | null = null;
  if (options.ifAbsent) guard = Guard.absent;
  if (options.ifPresent) {
    if (guard !== Guard.none) throw new TypeError(`Cannot ${what}: ifAbsent and ifPresent exclude each other`);
    guard = Guard.present;
  }
  if (options.ifVersion !== undefined) {
    if (guard !== Guard.none && !(guard === Guard.present && options.ifVersion !== null)) {
      throw new TypeError(`Cannot ${what}: ifVersion cannot be combined with ifAbsent or ifPresent`);
    }
    if (options.ifVersion === null) {
      guard = Guard.absent;
    } else if (typeof options.ifVersion !== "number" || !Number.isSafeInteger(options.ifVersion)) {
      throw new TypeError(
        `Cannot ${what}: ifVersion must be a version number or null, received ${typeName(options.ifVersion)}`,
      );
    } else {
      guard = Guard.version;
      version = options.ifVersion;
    }
  }
  return { guard, keepTtl, version, expireTime: expiry ?? null, tags: checkTags(options.tags, what) };
}

/** A `setMany` entry: a `[key, value]` pair with a valid key. */
export function checkEntry(entry: unknown): asserts entry is readonly [string, unknown] {
  if (!Array.isArray(entry) || entry.length !== 2) {
    throw new TypeError(`Cannot set many keys: each entry must be a [key, value] pair, received ${typeName(entry)}`);
  }
  checkKey(entry[0], "set many keys");
}

/**
 * The entries of a `setMany` call checked and encoded by `codec`, flat:
 * key, value, kind, key, ... (what the async client sends its worker).
 */
export function encodeEntries(entries: unknown, codec: Codec): unknown[] {
  const flat: unknown[] = [];
  for (const entry of entriesOf(entries, "set many keys")) {
    checkEntry(entry);
    const [v, kind] = encodeValue(entry[1], codec);
    flat.push(entry[0], v, kind);
  }
  return flat;
}

/** The entries of a `setMany` call: an iterable of pairs, or a plain object's own entries. */
export function entriesOf(entries: unknown, what: string): Iterable<unknown> {
  if (entries === null || typeof entries !== "object") {
    throw new TypeError(
      `Cannot ${what}: entries must be an iterable of [key, value] or an object, received ${typeName(entries)}`,
    );
  }
  if (Symbol.iterator in entries) return entries as Iterable<unknown>;
  return Object.entries(entries);
}

// ---- the write path ---------------------------------------------------------

/**
 * Writes one key as a plan says (`undefined`: a plain set) and returns the
 * rows changed. The common write is one statement; a key that carries tags,
 * or a write that gives tags, takes the transaction that re-tags it.
 */
export function writeKey(
  conn: Connection,
  table: Table,
  plan: WritePlan | undefined,
  key: string,
  v: SqlValue,
  kind: number,
  now: number,
): number {
  const given = plan?.tags;
  if (given === undefined || given.length === 0) {
    const n = writeRow(conn, table, plan, key, v, kind, now);
    if (n > 0 || !tags.isTagged(table, key)) return n;
  }
  return tags.writeTagged(conn, table, key, given ?? [], () => writeRow(conn, table, plan, key, v, kind, now));
}

/** Runs the statement a write plan calls for. It changes no row that carries tags. */
function writeRow(
  conn: Connection,
  table: Table,
  plan: WritePlan | undefined,
  key: string,
  v: SqlValue,
  kind: number,
  now: number,
): number {
  const version = conn.nextVersion(now);
  if (plan === undefined || (plan.guard === Guard.none && !plan.keepTtl)) {
    const exp = plan === undefined ? null : plan.expireTime;
    return kind === Kind.native && exp === null
      ? table.upsertNative.run([key, v, version])
      : table.upsert.run([key, v, kind, exp, version]);
  }
  return table.write(plan.guard, plan.keepTtl).run([now, plan.version, key, v, kind, plan.expireTime, version]);
}

/** `set` of an encoded value as `options` say; true when written. */
export function set(
  conn: Connection,
  table: Table,
  key: string,
  v: SqlValue,
  kind: number,
  options: SetOptions | undefined,
): boolean {
  const now = conn.now();
  const plan = options === undefined ? undefined : planWrite(options, now, "set key");
  const written = writeKey(conn, table, plan, key, v, kind, now) > 0;
  if (written) {
    conn.counters.sets++;
    conn.changed(table.name, key);
  }
  return written;
}

/** Runs `each` in one transaction, writing every encoded entry it gives as `options` say; returns how many were written. */
export function setMany(
  conn: Connection,
  table: Table,
  options: SetOptions | undefined,
  each: (write: (key: string, v: SqlValue, kind: number) => void) => void,
): number {
  const now = conn.now();
  const plan = planWrite(options ?? {}, now, "set many keys");
  const watched = conn.feed.listeners.size > 0 ? [] as string[] : undefined;
  const written = conn.atomic(() => {
    let n = 0;
    each((key, v, kind) => {
      n += writeKey(conn, table, plan, key, v, kind, now);
      watched?.push(key);
    });
    return n;
  });
  conn.counters.sets += written;
  if (watched !== undefined) { for (const key of watched) conn.changed(table.name, key); }
  return written;
}

/** Deletes one live key: one statement for an untagged key, the tag transaction for a tagged one. */
export function remove(conn: Connection, table: Table, key: string, now: number): boolean {
  return table.remove.run([key, now]) > 0 || tags.removeTagged(conn, table, key, now);
}

/** `delete`: true when a live key was deleted. */
export function deleteKey(conn: Connection, table: Table, key: string): boolean {
  const live = remove(conn, table, key, conn.now());
  if (live) {
    conn.counters.deletes++;
    conn.changed(table.name, key);
  }
  return live;
}

/** `deleteMany` of an array of keys (checked by the caller) or of a query. */
export function deleteMany(conn: Connection, table: Table, keysOrQuery: readonly string[] | KeyQuery): number {
  let deleted: number;
  const keys = Array.isArray(keysOrQuery) ? keysOrQuery as readonly string[] : undefined;
  if (keys !== undefined) {
    deleted = conn.atomic(() => {
      const now = conn.now();
      let n = 0;
      for (const key of keys) if (remove(conn, table, key, now)) n++;
      return n;
    });
  } else {
    const cond = compileQuery(keysOrQuery, "delete many keys");
    deleted = tags.deleteWhere(conn, table, cond, conn.now());
  }
  conn.counters.deletes += deleted;
  if (deleted > 0) {
    if (keys !== undefined) { for (const key of keys) conn.changed(table.name, key); }
    else conn.changed(table.name);
  }
  return deleted;
}

/** `take`: the row the key held (`v, kind, expire_time`) when it was live, deleted in one statement. */
export function take(conn: Connection, table: Table, key: string): SqlRow | undefined {
  const row = table.take.get([key]) ?? tags.takeTagged(conn, table, key);
  if (!countLookup(conn, row)) return undefined;
  conn.counters.deletes++;
  conn.changed(table.name, key);
  return row;
}

/** Checks `incr`'s arguments: a key it may write, a finite number or a bigint, and expiry options only. */
export function checkIncr(key: unknown, by: unknown, options: unknown): asserts key is string {
  checkKey(key, "increment key");
  if (typeof by !== "number" && typeof by !== "bigint") {
    throw new TypeError(`Cannot increment key: by must be a number or bigint, received ${typeName(by)}`);
  }
  if (typeof by === "number" && !Number.isFinite(by)) {
    throw new RangeError(`Cannot increment key: by must be finite, received ${by}`);
  }
  checkOptions(options, ["ttl", "expiresAt"], "increment key");
}

/** `incr` with checked arguments: the one-statement integer path, or the read-add-write transaction. */
export function incr(
  conn: Connection,
  table: Table,
  key: string,
  by: number | bigint,
  options: ExpiryOptions | undefined,
): number | bigint {
  const now = conn.now();
  const expiry = expiryOf(options ?? {}, now, "increment key") ?? null;
  if (typeof by === "number" && Number.isSafeInteger(by)) {
    // The common cases, a new counter or a live integer one, are one statement.
    const row = table.addInteger.get([BigInt(by), conn.nextVersion(now), key, now, expiry]);
    if (row !== undefined) {
      conn.counters.sets++;
      conn.changed(table.name, key);
      return Number(row[0]);
    }
  }
  return conn.atomic(() => {
    const row = table.read.get([key]);
    let next: number | bigint;
    if (row === undefined || !isLive(row[2], now)) {
      next = by;
      const [v, kind] = encodeValue(next, conn.codec);
      // A new value: over an expired row that carried tags, it starts untagged.
      const plan = { guard: Guard.none, keepTtl: false, version: null, expireTime: expiry, tags: undefined };
      writeKey(conn, table, plan, key, v, kind, now);
    } else {
      next = add(decodeValue(row[0], row[1], conn.codec), by);
      const [v, kind] = encodeValue(next, conn.codec);
      // incr keeps the key's expiry and its tags.
      table.write(Guard.present, true, true).run([now, null, key, v, kind, null, conn.nextVersion(now)]);
    }
    conn.counters.sets++;
    conn.changed(table.name, key);
    return next;
  });
}

/** `current + by` as `incr` counts: numbers stay exact, bigints stay bigints, anything else is refused. */
export function add(current: unknown, by: number | bigint): number | bigint {
  if (typeof current === "number") {
    if (typeof by === "bigint" && !Number.isSafeInteger(Number(by))) {
      throw new RangeError(`Cannot increment key: the stored number cannot take the bigint ${by}`);
    }
    const step = Number(by);
    const next = current + step;
    if (Number.isInteger(current) && Number.isInteger(step) && !Number.isSafeInteger(next)) {
      // Past 2^53 a number stops counting (x + 1 === x): refuse rather than stall.
      throw new RangeError(
        `Cannot increment key: ${current} + ${by} passes Number.MAX_SAFE_INTEGER; store a bigint to count further`,
      );
    }
    return next;
  }
  if (typeof current === "bigint") {
    if (typeof by === "number" && !Number.isInteger(by)) {
      throw new RangeError(`Cannot increment key: the stored bigint cannot take the fraction ${by}`);
    }
    return current + BigInt(by);
  }
  throw new TypeError(`Cannot increment key: the stored value is not a number or bigint, it is ${typeName(current)}`);
}

/** `rename` with checked arguments: moves value, expiry and tags in one transaction. */
export function rename(conn: Connection, table: Table, from: string, to: string, overwrite: boolean): boolean {
  return conn.atomic(() => {
    const now = conn.now();
    const source = table.readExpiry.get([from]);
    if (source === undefined || !isLive(source[0], now)) return false;
    if (from === to) return true;
    const target = table.readExpiry.get([to]);
    if (target !== undefined && isLive(target[0], now) && !overwrite) return false;
    table.dropTags.run([to]);
    table.drop.run([to]);
    table.move.run([to, conn.nextVersion(now), from]);
    table.moveTags.run([to, from]);
    conn.changed(table.name, from);
    conn.changed(table.name, to);
    return true;
  });
}
