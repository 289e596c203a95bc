/**
 * The options of a write, checked and turned into the statement to run; and
 * the entries of a `setMany`, checked (and encoded for the async client).
 *
 * @module
 */

import { type Codec, encodeValue } from "./codec.ts";
import { expiryOf, type ExpiryOptions } from "./expiry.ts";
import { checkKey } from "./keys.ts";
import { checkOptions, typeName } from "./check.ts";
import { Guard } from "./table.ts";
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
