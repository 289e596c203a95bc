/**
 * What the Deno KV facade reads and writes, in one kvsqlite key table: point
 * and range reads of encoded keys, and an atomic commit (checks, mutations,
 * enqueues) in one transaction that takes the next versionstamp of the file.
 *
 * @module
 */

import type { Connection } from "../connection.ts";
import type { SqlRow, SqlValue } from "../driver.ts";
import { quoteName } from "../names.ts";
import { LIVE, type Table } from "../table.ts";
import type { QueueStore } from "../queue/queue.ts";
import { type KvKey, type KvKeyPart, toStored } from "./key.ts";
import { readValue } from "./value.ts";
import { combine, type KvU64 } from "./u64.ts";
import { Kind } from "../codec.ts";
import { expiryOf } from "./limits.ts";

/** An entry as Deno KV returns it. */
export interface KvEntry<T = unknown> {
  /** The key. */
  key: KvKeyPart[];
  /** The value. */
  value: T;
  /** The versionstamp of the commit that wrote it: 20 hex characters. */
  versionstamp: string;
}

/** An entry, or a missing key (`value` and `versionstamp` null). */
export type KvEntryMaybe<T = unknown> = KvEntry<T> | { key: KvKeyPart[]; value: null; versionstamp: null };

/** The one-row table of the file's last versionstamp: one per commit, strictly increasing across processes. */
export const VERSIONSTAMP_TABLE = "kvsqlite_versionstamp";
const VS = quoteName(VERSIONSTAMP_TABLE);
const CREATE_STAMP = `CREATE TABLE IF NOT EXISTS ${VS} (id INTEGER PRIMARY KEY CHECK (id = 1), n INTEGER NOT NULL)`;
const NEXT_STAMP =
  `INSERT INTO ${VS} (id, n) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET n = max(n + 1, excluded.n) RETURNING n`;

/** A versionstamp from a stored version: 16 hex digits of it, and 4 of zeros (Deno's 80 bits). */
export function versionstampOf(version: number | bigint): string {
  return `${version.toString(16).padStart(16, "0")}0000`;
}

/** A stored version from a versionstamp, or `undefined` for a string that is not one. */
export function versionOf(versionstamp: string): bigint | undefined {
  if (!/^[0-9a-f]{20}$/.test(versionstamp)) return undefined;
  return BigInt(`0x${versionstamp.slice(0, 16)}`);
}

/** One mutation of a commit, its key encoded and checked already. */
export type Mutation =
  | { type: "set"; key: Uint8Array; v: SqlValue; kind: number; expireIn: number | undefined; suffix: boolean }
  | { type: "delete"; key: Uint8Array }
  | { type: "sum" | "min" | "max"; key: Uint8Array; operand: bigint };

/** One enqueue of a commit. */
export interface Enqueue {
  v: SqlValue;
  kind: number;
  delay: number;
  backoff: string | null;
  dead: string | null;
}

/** The reads and the commit of one facade store. */
export class DenoStore {
  readonly conn: Connection;
  readonly table: Table;
  readonly queue: QueueStore;
  /** The statements' SQL, made once. */
  readonly #sql: Record<"one" | "many" | "range" | "rangeDesc" | "version" | "value" | "write" | "remove", string>;
  #stampReady = false;

  constructor(conn: Connection, table: Table, queue: QueueStore) {
    this.conn = conn;
    this.table = table;
    this.queue = queue;
    const t = table.q;
    const range = `SELECT k, v, kind, version FROM ${t} WHERE k >= ? AND k < ? AND ${LIVE} ORDER BY k`;
    this.#sql = {
      one: `SELECT k, v, kind, version FROM ${t} WHERE k = ? AND ${LIVE}`,
      many: `SELECT k, v, kind, version, expire_time FROM ${t} WHERE k IN (SELECT value FROM json_each(?)) AND ${LIVE}`,
      range: `${range} ASC LIMIT `,
      rangeDesc: `${range} DESC LIMIT `,
      version: `SELECT version FROM ${t} WHERE k = ? AND ${LIVE}`,
      value: `SELECT v, kind FROM ${t} WHERE k = ? AND ${LIVE}`,
      write: `INSERT INTO ${t} (k, v, kind, expire_time, version) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (k) DO UPDATE SET v = excluded.v, kind = excluded.kind, expire_time = excluded.expire_time,
version = excluded.version`,
      remove: `DELETE FROM ${t} WHERE k = ?`,
    };
  }

  /** An entry of a row read by `getOne`, `getMany` or `range`, with its key. */
  entry<T>(row: SqlRow, key: KvKeyPart[]): KvEntry<T> {
    return {
      key,
      value: readValue(row[1], row[2], this.conn.codec) as T,
      versionstamp: versionstampOf(row[3] as number),
    };
  }

  /** The entry of `key` read as `row`, or its missing entry (`value` and `versionstamp` null) when there is none. */
  maybe<T>(row: SqlRow | undefined, key: KvKey): KvEntryMaybe<T> {
    return row === undefined ? { key: [...key], value: null, versionstamp: null } : this.entry<T>(row, [...key]);
  }

  /** The live entry of one key's stored string. */
  getOne(stored: string): SqlRow | undefined {
    return this.conn.prepare(this.#sql.one).get([stored, this.conn.now()]);
  }

  /** The live entries of some keys' stored strings, by their stored string. */
  getMany(stored: string[]): Map<string, SqlRow> {
    const rows = this.conn.prepare(this.#sql.many).all([JSON.stringify(stored), this.conn.now()]);
    return new Map(rows.map((row) => [row[0] as string, row]));
  }

  /** Live rows with `start <= key < end`, in key order (or reverse), at most `limit`. */
  range(start: Uint8Array, end: Uint8Array, limit: number, reverse: boolean): SqlRow[] {
    // The limit is written into the statement (one per batch size): a bound LIMIT plans slower on some drivers.
    const sql = (reverse ? this.#sql.rangeDesc : this.#sql.range) + Math.floor(limit);
    return this.conn.prepare(sql).all([toStored(start), toStored(end), this.conn.now()]);
  }

  /**
   * Runs a commit in one transaction: `undefined` when a check failed
   * (nothing written), else the commit's versionstamp.
   */
  commit(
    checks: [Uint8Array, bigint | null][],
    mutations: Mutation[],
    enqueues: Enqueue[],
  ): string | undefined {
    const conn = this.conn;
    conn.checkWrite("commit");
    this.table.ensure();
    const versionstamp = conn.atomic(() => {
      const now = conn.now();
      const current = conn.prepare(this.#sql.version);
      for (const [key, version] of checks) {
        const row = current.get([toStored(key), now]);
        const seen = row === undefined ? null : BigInt(row[0] as number);
        if (seen !== version) return undefined;
      }
      // Created in the commit's transaction: a commit rolled back takes it away, so it counts as made once one is done.
      if (!this.#stampReady) conn.exec(CREATE_STAMP);
      const n = Number(conn.prepare(NEXT_STAMP).get([Math.max(0, Math.floor(now)) * 1024])![0]);
      const versionstamp = versionstampOf(n);
      const write = conn.prepare(this.#sql.write);
      for (const m of mutations) {
        if (m.type === "set") {
          const key = m.suffix ? suffixed(m.key, versionstamp) : m.key;
          const stored = toStored(key);
          write.run([stored, m.v, m.kind, m.expireIn === undefined ? null : expiryOf(now, m.expireIn), n]);
          conn.changed(this.table.name, stored);
        } else if (m.type === "delete") {
          const stored = toStored(m.key);
          conn.prepare(this.#sql.remove).run([stored]);
          conn.changed(this.table.name, stored);
        } else {
          const stored = toStored(m.key);
          const row = conn.prepare(this.#sql.value).get([stored, now]);
          let next = m.operand;
          if (row !== undefined) {
            if (row[1] !== Kind.u64) {
              throw new TypeError(`Failed to perform '${m.type}' mutation on a non-U64 value in the database`);
            }
            next = combine(m.type, (readValue(row[0], row[1], conn.codec) as KvU64).value, m.operand);
          }
          write.run([stored, next.toString(), Kind.u64, null, n]);
          conn.changed(this.table.name, stored);
        }
      }
      for (const e of enqueues) this.queue.enqueue(e.v, e.kind, e);
      return versionstamp;
    });
    if (versionstamp !== undefined) this.#stampReady = true;
    return versionstamp;
  }
}

/** A key with the commit's versionstamp appended as its last part (a string of 20 hex characters). */
function suffixed(key: Uint8Array, versionstamp: string): Uint8Array {
  const out = new Uint8Array(key.length + versionstamp.length + 2);
  out.set(key);
  out[key.length] = 0x02;
  for (let i = 0; i < versionstamp.length; i++) out[key.length + 1 + i] = versionstamp.charCodeAt(i);
  out[out.length - 1] = 0;
  return out;
}
