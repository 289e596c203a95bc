/**
 * `kv.watch()` of the Deno KV facade: the core's watch over the facade's
 * table, whose states are Deno KV's entries (one per key, `null` value and
 * versionstamp for a missing one), as a `ReadableStream`. It sees the writes
 * of every process on the file, as the core's does.
 *
 * @module
 */

import type { SqlRow } from "../driver.ts";
import { type Source, streamOf, Watch } from "../watch/watch.ts";
import { type KvKey, toStored } from "./key.ts";
import { MAX_WATCHED_KEYS, readKey } from "./limits.ts";
import type { DenoStore, KvEntryMaybe } from "./store.ts";

/** Options of `watch`. */
export interface WatchOptions {
  /** Emit on every change seen, even when no versionstamp changed. @default false */
  raw?: boolean;
}

/** The states of some keys, as Deno KV's `watch` yields them. */
export function watchEntries(store: DenoStore, keys: KvKey[], options?: WatchOptions): ReadableStream<KvEntryMaybe[]> {
  if (!Array.isArray(keys)) throw new TypeError("Keys must be an array");
  if (keys.length > MAX_WATCHED_KEYS) throw new TypeError(`Too many keys (max ${MAX_WATCHED_KEYS})`);
  const raw = options?.raw ?? false;
  const stored = keys.map((key) => toStored(readKey(key)));
  const watched = new Set(stored);
  let seen: string[] | undefined;
  const source: Source<KvEntryMaybe[]> = {
    expiry: undefined,
    concerns: (_table, key) => key === undefined || watched.has(key),
    read(first) {
      const rows = store.getMany(stored);
      let expiry: number | undefined;
      for (const row of rows.values()) {
        const at = (row as SqlRow)[4];
        if (at !== null && at !== undefined && (expiry === undefined || Number(at) < expiry)) expiry = Number(at);
      }
      source.expiry = expiry;
      const versions = stored.map((k) => String(rows.get(k)?.[3] ?? ""));
      if (!first && !raw && versions.every((v, i) => v === seen![i])) return undefined;
      seen = versions;
      return stored.map((k, i) => store.maybe(rows.get(k), keys[i]!));
    },
  };
  return streamOf(new Watch(store.conn, store.table.name, source));
}
