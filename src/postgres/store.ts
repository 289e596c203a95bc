/**
 * The store on PostgreSQL: the declared surface's methods (`api.ts`) in SQL
 * over one key table, with the core's argument checks, codec and messages.
 * Time is the server's (`statement_timestamp()`) unless a `clock` is given:
 * every statement's `$1` is the clock's reading or NULL.
 *
 * @module
 */

import type { AsyncKvStore, CloseOptions, KvEntry, KvMethods } from "../api.ts";
import { booleanOption, checkOptions, typeName } from "../check.ts";
import { checkCheckpointMode, type CheckpointMode, type CheckpointResult } from "../checkpoint.ts";
import { type Codec, encodeValue } from "../codec.ts";
import type { SqlValue } from "../driver.ts";
import { KvClosedError, KvError } from "../errors.ts";
import { atToTime, expiryOf, type ExpiryOptions, ttlToTime } from "../expiry.ts";
import { checkKey, checkStoredKey } from "../keys.ts";
import { checkName } from "../names.ts";
import { checkListOptions, compileQuery, type KeyQuery, type ListOptions, prefixEnd } from "../query.ts";
import type { Counters, KvStats } from "../stats.ts";
import { Guard } from "../table.ts";
import { add, checkEntry, checkIncr, entriesOf, planWrite, type SetOptions } from "../write.ts";
import type { KvChange } from "../changes.ts";
import {
  checkWatch,
  earliest,
  type KvMissing,
  type KvWatch,
  sameVersions,
  signature,
  type WatchChanges,
  type WatchOptions,
} from "../watch/watch.ts";
import { PgWatch, WatchHub } from "./watch.ts";
import type { QueueMethods } from "../api.ts";
import { KvQueueAsync } from "../async/queue.ts";
import { checkQueueName, queueTableName } from "../queue/queue.ts";
import { createQueueTableSql, PgQueueStore, type QueueRunner } from "./queue.ts";
import { fromColumns, NOW, toColumns } from "./sql.ts";
import { onOwnConnection, type PgClient, type PgReserved, type PgSession } from "./client.ts";
import { createTableSql, makeUnderLock, type PgTable, pgTable } from "./schema.ts";
import { pgError } from "./errors.ts";
import { zeroCounters } from "../connection.ts";

const live = (q: string) => `(${q}.expire_time IS NULL OR ${q}.expire_time > ${NOW})`;
const LIVE = `(expire_time IS NULL OR expire_time > ${NOW})`;

/** What the store shares with its namespaces and transactions. */
export interface PgShared {
  client: PgClient;
  codec: Codec;
  clock: (() => number) | undefined;
  closed: boolean;
  /** Key tables made in this process. */
  made: Set<string>;
  /** The counters of `stats()`, kept by this process. */
  counters: Counters;
  /** The watches' listening connection and tick, made by the first watch. */
  hub?: WatchHub;
  /** The queue listeners running on this store: close() stops them and waits for their handlers. */
  listeners: Set<{ stop(): void; done: Promise<void> }>;
  listenerIds: number;
}

/** The namespace tables made inside a transaction, by its connection. */
const madeIn = new WeakMap<object, Set<string>>();

/** A key query as a WHERE fragment over `k`, its parameters numbered from `first`. */
function keyCondition(query: KeyQuery | undefined, what: string, t: PgTable, first: number): [string, unknown[]] {
  compileQuery(query, what); // the core's checks and messages
  if (query === undefined) return ["true", []];
  const q = query as Record<string, string | undefined>;
  const p = (i: number) => `$${first + i}`;
  if (q.prefix !== undefined) {
    if (q.prefix === "") return ["true", []];
    const end = prefixEnd(q.prefix);
    return end === undefined ? [`k >= ${p(0)}`, [q.prefix]] : [`k >= ${p(0)} AND k < ${p(1)}`, [q.prefix, end]];
  }
  if (q.like !== undefined) {
    // SQLite's LIKE ignores ASCII case and has no escape character unless given.
    return [`k ILIKE ${p(0)} ESCAPE ${p(1)}`, [q.like, q.escape ?? ""]];
  }
  if (q.glob !== undefined) return [`k ~ ${p(0)}`, [globToRegex(q.glob)]];
  if (q.tag !== undefined) return [`tagged AND k IN (SELECT k FROM ${t.tags} WHERE tag = ${p(0)})`, [q.tag]];
  const parts: string[] = [];
  const params: unknown[] = [];
  if (q.start !== undefined) parts.push(`k >= ${p(params.push(q.start) - 1)}`);
  if (q.end !== undefined) parts.push(`k < ${p(params.push(q.end) - 1)}`);
  return [parts.length === 0 ? "true" : parts.join(" AND "), params];
}

/** SQLite's GLOB (`*`, `?`, `[...]`, `[^...]`, case-sensitive) as an anchored POSIX regular expression. */
export function globToRegex(glob: string): string {
  let out = "^";
  const chars = Array.from(glob);
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i]!;
    if (c === "*") out += ".*";
    else if (c === "?") out += ".";
    else if (c === "[") {
      const close = chars.indexOf("]", i + 2);
      if (close < 0) {
        out += "\\[";
        continue;
      }
      let body = chars.slice(i + 1, close).join("");
      if (body.startsWith("^")) body = "^" + body.slice(1).replace(/[\\\]]/g, "\\$&");
      else body = body.replace(/[\\\]]/g, "\\$&");
      out += `[${body}]`;
      i = close;
    } else out += c.replace(/[.+^${}()|\\\]]/g, "\\$&");
  }
  return out + "$";
}

/**
 * A store over one key table of a PostgreSQL database (see
 * {@link KvMethods}): obtain one with `openKvPostgres()`.
 */
export class KvPostgres implements AsyncKvStore {
  readonly #shared: PgShared;
  readonly #t: PgTable;
  readonly #ns: string[];
  /** The transaction's connection, or undefined outside one. */
  readonly #session: PgReserved | undefined;
  readonly #depth: number;
  #ended = false;
  #closed = false;
  /** One queue object per name. */
  readonly #queueObjects = new Map<string, KvQueueAsync<unknown>>();
  /** The queue statements of each named queue (one claimer per store and name). */
  readonly #queues = new Map<string, PgQueueStore>();
  /** The listeners of this store's queues, by id. */
  readonly #listening = new Map<number, { store: PgQueueStore; stop: AbortController }>();
  readonly #children = new Map<string, KvPostgres>();

  /** Not for direct use: obtain a store from `openKvPostgres()`. */
  constructor(shared: PgShared, table: string, ns: string[], session?: PgReserved, depth = 0) {
    this.#shared = shared;
    this.#t = pgTable(ns.length === 0 ? table : `${table}/${ns.join("/")}`);
    this.#ns = ns;
    this.#session = session;
    this.#depth = depth;
  }

  #root(): string {
    return this.#ns.length === 0 ? this.#t.name : this.#t.name.split("/")[0]!;
  }

  #open(what: string): PgSession {
    if (this.#shared.closed || this.#closed) throw new KvClosedError(`Cannot ${what}: the store is closed`);
    if (this.#ended) throw new KvClosedError(`Cannot ${what}: the transaction has ended`);
    return this.#session ?? this.#shared.client;
  }

  /**
   * Runs one statement. A statement is queued on its connection in the same
   * turn as the call that makes it (no await before), so the calls a
   * transaction's function makes without awaiting them reach PostgreSQL in
   * order, before its COMMIT.
   */
  #query(what: string, sql: string, params: unknown[] = []): Promise<unknown[][]> {
    const session = this.#open(what);
    if (this.#made(this.#t.name)) return this.#run(session, what, sql, params);
    return this.#make(what, this.#t.name, createTableSql(this.#t)).then(() => this.#run(session, what, sql, params));
  }

  /** Whether table `name` is known to exist: made by this store, or earlier in this transaction. */
  #made(name: string): boolean {
    return this.#shared.made.has(name) ||
      (this.#session !== undefined && madeIn.get(this.#session)?.has(name) === true);
  }

  async #run(session: PgSession, what: string, sql: string, params: unknown[]): Promise<unknown[][]> {
    // `$1` is the clock's reading; a statement that never reads the time has its parameters numbered from `$1`.
    const timed = sql.includes(NOW);
    const now = timed ? this.#shared.clock?.() ?? null : undefined;
    const text = timed ? sql : sql.replace(/\$(\d+)/g, (_, n: string) => `$${Number(n) - 1}`);
    try {
      return await session.query(text, timed ? [now, ...params] : params);
    } catch (error) {
      this.#shared.counters.errors++;
      throw pgError(error, what, sql);
    }
  }

  /**
   * Makes table `name` on first use (a namespace's key table: the root's is
   * made at open; a queue table), its statements under its advisory lock: in
   * this transaction when there is one, noted for the rest of it (a rollback
   * takes it back), else in one of its own on a connection of the pool, noted
   * for the store.
   */
  async #make(what: string, name: string, statements: string[]): Promise<void> {
    if (this.#made(name)) return;
    const tx = this.#session;
    try {
      if (tx !== undefined) {
        await makeUnderLock(tx, name, statements, true);
        const tables = madeIn.get(tx) ?? new Set<string>();
        tables.add(name);
        madeIn.set(tx, tables);
        return;
      }
      await onOwnConnection(this.#shared.client, (own) => makeUnderLock(own, name, statements, false));
      this.#shared.made.add(name);
    } catch (error) {
      throw pgError(error, what);
    }
  }

  // ---- reads ---------------------------------------------------------------

  #counted(found: number, asked = 1): void {
    const c = this.#shared.counters;
    c.gets += asked;
    c.hits += found;
    c.misses += asked - found;
  }

  /** The value of a live key (see {@link KvMethods.get}). */
  get<T = unknown>(key: string): Promise<T | undefined>;
  /** The value of a live key, or `fallback` (see {@link KvMethods.get}). */
  get<T = unknown>(key: string, fallback: T): Promise<T>;
  async get<T>(key: string, fallback?: T): Promise<T | undefined> {
    this.#open("get key");
    checkStoredKey(key, "get key");
    const rows = await this.#query("get key", `SELECT t, n, b, kind FROM ${this.#t.q} WHERE k = $2 AND ${LIVE}`, [key]);
    this.#counted(rows.length);
    return rows.length === 0 ? fallback : fromColumns(rows[0]!, 0, this.#shared.codec) as T;
  }

  /** A live key with its expiry and version (see {@link KvMethods.getEntry}). */
  async getEntry<T = unknown>(key: string): Promise<KvEntry<T> | undefined> {
    this.#open("get entry");
    checkStoredKey(key, "get entry");
    const rows = await this.#query(
      "get entry",
      `SELECT t, n, b, kind, expire_time::float8, version::float8 FROM ${this.#t.q} WHERE k = $2 AND ${LIVE}`,
      [key],
    );
    if (rows.length === 0) return undefined;
    const row = rows[0]!;
    return {
      key,
      value: fromColumns(row, 0, this.#shared.codec) as T,
      expiresAt: row[4] === null ? null : Number(row[4]),
      version: Number(row[5]),
    };
  }

  /** The values of many keys in one statement (see {@link KvMethods.getMany}). */
  async getMany<T = unknown>(keys: readonly string[]): Promise<(T | undefined)[]> {
    this.#open("get many keys");
    if (!Array.isArray(keys)) {
      throw new TypeError(`Cannot get many keys: keys must be an array, received ${typeName(keys)}`);
    }
    for (const key of keys) checkStoredKey(key, "get many keys");
    if (keys.length === 0) return [];
    const rows = await this.#query(
      "get many keys",
      `SELECT k, t, n, b, kind FROM ${this.#t.q} WHERE k = ANY($2::text[]) AND ${LIVE}`,
      [keys],
    );
    const found = new Map(rows.map((row) => [row[0] as string, row]));
    this.#counted(found.size, keys.length);
    return keys.map((key) => {
      const row = found.get(key);
      return row === undefined ? undefined : fromColumns(row, 1, this.#shared.codec) as T;
    });
  }

  /** Whether a key is live (see {@link KvMethods.has}). */
  async has(key: string): Promise<boolean> {
    this.#open("check key");
    checkStoredKey(key, "check key");
    return (await this.#query("check key", `SELECT 1 FROM ${this.#t.q} WHERE k = $2 AND ${LIVE}`, [key])).length > 0;
  }

  /** The tags of a live key (see {@link KvMethods.tags}). */
  async tags(key: string): Promise<string[] | undefined> {
    this.#open("read tags");
    checkStoredKey(key, "read tags");
    const rows = await this.#query(
      "read tags",
      `SELECT array(SELECT tag FROM ${this.#t.tags} g WHERE g.k = $2 ORDER BY tag), tagged
        FROM ${this.#t.q} WHERE k = $2 AND ${LIVE}`,
      [key],
    );
    if (rows.length === 0) return undefined;
    return rows[0]![1] ? [...(rows[0]![0] as string[])] : [];
  }

  /** The time a key has left (see {@link KvMethods.ttl}). */
  async ttl(key: string): Promise<number | undefined> {
    this.#open("read ttl");
    checkStoredKey(key, "read ttl");
    const rows = await this.#query(
      "read ttl",
      `SELECT expire_time - ${NOW} FROM ${this.#t.q} WHERE k = $2 AND ${LIVE}`,
      [key],
    );
    if (rows.length === 0) return undefined;
    return rows[0]![0] === null ? Infinity : Number(rows[0]![0]);
  }

  // ---- writes --------------------------------------------------------------

  /**
   * One statement writing the entries (arrays `$2..$6`: keys, t, n, b as hex,
   * kinds) as `plan` says, dropping the tags the written keys no longer carry
   * and adding the given ones. Returns the keys written.
   */
  async #write(what: string, entries: unknown[][], options: SetOptions | undefined): Promise<string[]> {
    const plan = planWrite(options ?? {}, 0, what);
    const q = this.#t.q;
    const relative = options?.ttl !== undefined;
    const exp = plan.expireTime === null ? "NULL::float8" : relative ? `${NOW} + $7` : "$7::float8";
    const tags = plan.tags ?? [];
    const tagged = tags.length > 0 ? "true" : "false";
    const src = `unnest($2::text[], $3::text[], $4::float8[], $5::text[], $6::int2[]) AS u(k, t, n, b, kind)`;
    const sets = (src: string, tgt: string, bytes: string) =>
      `t = ${src}.t, n = ${src}.n, b = ${bytes}, kind = ${src}.kind, expire_time = ${
        plan.keepTtl ? `CASE WHEN ${live(tgt)} THEN ${tgt}.expire_time ELSE NULL END` : exp
      }, version = GREATEST(${tgt}.version + 1, ${NOW} * 1024), tagged = ${tagged}`;
    let write: string;
    if (plan.guard === Guard.present || plan.guard === Guard.version) {
      write = `UPDATE ${q} SET ${sets("u", q, "decode(u.b, 'hex')")} FROM ${src}
        WHERE ${q}.k = u.k AND ${live(q)}${plan.guard === Guard.version ? ` AND ${q}.version = $8` : ""}
        RETURNING ${q}.k`;
    } else {
      write = `INSERT INTO ${q} AS x (k, t, n, b, kind, expire_time, version, tagged)
        SELECT u.k, u.t, u.n, decode(u.b, 'hex'), u.kind, ${plan.keepTtl ? "NULL" : exp}, ${NOW} * 1024, ${tagged}
        FROM ${src}
        ON CONFLICT (k) DO UPDATE SET ${sets("excluded", "x", "excluded.b")}${
        plan.guard === Guard.absent ? ` WHERE NOT ${live("x")}` : ""
      } RETURNING x.k`;
    }
    const sql = `WITH w AS (${write}),
      d AS (DELETE FROM ${this.#t.tags} g USING w WHERE g.k = w.k AND NOT g.tag = ANY($9::text[])),
      i AS (INSERT INTO ${this.#t.tags} (tag, k) SELECT tg, w.k FROM w, unnest($9::text[]) AS tg ON CONFLICT DO NOTHING)
      SELECT k FROM w, (SELECT $7::float8, $8::bigint) AS typed`;
    const cols: unknown[][] = [[], [], [], [], []];
    for (const entry of entries) for (let c = 0; c < 5; c++) cols[c]!.push(entry[c]);
    const rows = await this.#query(what, sql, [...cols, plan.expireTime, plan.version, tags]);
    this.#shared.counters.sets += rows.length;
    return rows.map((row) => row[0] as string);
  }

  /** Writes a value (see {@link KvMethods.set}). */
  async set(key: string, value: unknown, options?: SetOptions): Promise<boolean> {
    this.#open("set key");
    checkKey(key, "set key");
    const entry = [key, ...toColumns(...encodeValue(value, this.#shared.codec))];
    return (await this.#write("set key", [entry], options)).length > 0;
  }

  /** Writes many entries in one statement (see {@link KvMethods.setMany}). */
  async setMany(
    entries: Iterable<readonly [string, unknown]> | Record<string, unknown>,
    options?: SetOptions,
  ): Promise<number> {
    this.#open("set many keys");
    const byKey = new Map<string, unknown[]>();
    const order: string[] = [];
    for (const entry of entriesOf(entries, "set many keys")) {
      checkEntry(entry);
      order.push(entry[0]);
      byKey.delete(entry[0]); // the last write of a key wins, in its place
      byKey.set(entry[0], [entry[0], ...toColumns(...encodeValue(entry[1], this.#shared.codec))]);
    }
    if (byKey.size === 0) {
      planWrite(options ?? {}, 0, "set many keys"); // the options are checked all the same (#write checks them else)
      return 0;
    }
    const written = new Set(await this.#write("set many keys", [...byKey.values()], options));
    let n = 0;
    for (const key of order) if (written.has(key)) n++;
    return n;
  }

  /** Deletes a key (see {@link KvMethods.delete}). */
  async delete(key: string): Promise<boolean> {
    this.#open("delete key");
    checkStoredKey(key, "delete key");
    // An expired row stays for purgeExpired, as on SQLite.
    return await this.#deleteWhere("delete key", `k = $2 AND ${LIVE}`, [key]) > 0;
  }

  /** Deletes the live rows matching `where`, and their tags; returns how many. */
  async #deleteWhere(what: string, where: string, params: unknown[]): Promise<number> {
    const rows = await this.#query(
      what,
      `WITH w AS (DELETE FROM ${this.#t.q} WHERE ${where} RETURNING k, expire_time),
        d AS (DELETE FROM ${this.#t.tags} g USING w WHERE g.k = w.k)
        SELECT count(*) FILTER (WHERE expire_time IS NULL OR expire_time > ${NOW}) FROM w`,
      params,
    );
    this.#shared.counters.deletes += Number(rows[0]![0]);
    return Number(rows[0]![0]);
  }

  /** Deletes many keys, by list or by query (see {@link KvMethods.deleteMany}). */
  async deleteMany(keysOrQuery: readonly string[] | KeyQuery): Promise<number> {
    this.#open("delete many keys");
    if (Array.isArray(keysOrQuery)) {
      for (const key of keysOrQuery) checkStoredKey(key, "delete many keys");
      if (keysOrQuery.length === 0) return 0;
      return await this.#deleteWhere("delete many keys", `k = ANY($2::text[]) AND ${LIVE}`, [keysOrQuery]);
    }
    const [cond, params] = keyCondition(keysOrQuery as KeyQuery, "delete many keys", this.#t, 2);
    return await this.#deleteWhere("delete many keys", `${cond} AND ${LIVE}`, params);
  }

  /** Reads and deletes a key in one statement (see {@link KvMethods.take}). */
  async take<T = unknown>(key: string): Promise<T | undefined> {
    this.#open("take key");
    checkStoredKey(key, "take key");
    const rows = await this.#query(
      "take key",
      // The row goes whatever its state, as on SQLite; its value only when it was live.
      `WITH w AS (DELETE FROM ${this.#t.q} WHERE k = $2 RETURNING k, t, n, b, kind, expire_time),
        d AS (DELETE FROM ${this.#t.tags} g USING w WHERE g.k = w.k)
        SELECT t, n, b, kind FROM w WHERE ${live("w")}`,
      [key],
    );
    return rows.length === 0 ? undefined : fromColumns(rows[0]!, 0, this.#shared.codec) as T;
  }

  /** Adds to a number (see {@link KvMethods.incr}). */
  incr(key: string, by?: number, options?: ExpiryOptions): Promise<number>;
  /** Adds a bigint to a counter (see {@link KvMethods.incr}). */
  incr(key: string, by: bigint, options?: ExpiryOptions): Promise<bigint>;
  async incr(key: string, by: number | bigint = 1, options?: ExpiryOptions): Promise<number | bigint> {
    this.#open("increment key");
    checkIncr(key, by, options);
    const relative = options?.ttl !== undefined;
    const expiry = expiryOf(options ?? {}, 0, "increment key") ?? null;
    const exp = expiry === null ? "NULL::float8" : relative ? `${NOW} + $4` : "$4::float8";
    if (typeof by === "number" && Number.isSafeInteger(by)) {
      // The common cases, a new counter or a live integer one, in one statement.
      const q = this.#t.q;
      const rows = await this.#query(
        "increment key",
        `WITH w AS (INSERT INTO ${q} AS x (k, n, kind, expire_time, version) VALUES ($2, $3, 0, ${exp}, ${NOW} * 1024)
          ON CONFLICT (k) DO UPDATE SET
            n = CASE WHEN ${live("x")} THEN x.n + $3 ELSE $3 END, t = NULL, b = NULL, kind = 0,
            expire_time = CASE WHEN ${live("x")} THEN x.expire_time ELSE excluded.expire_time END,
            version = GREATEST(x.version + 1, ${NOW} * 1024),
            tagged = CASE WHEN ${live("x")} THEN x.tagged ELSE false END
          WHERE NOT ${live("x")} OR (x.kind = 0 AND x.n IS NOT NULL AND x.n = trunc(x.n)
            AND abs(x.n + $3) <= 9007199254740991)
          RETURNING k, n, tagged),
          d AS (DELETE FROM ${this.#t.tags} g USING w WHERE g.k = w.k AND NOT w.tagged)
          SELECT n FROM w, (SELECT $4::float8) AS typed`,
        [key, by, expiry],
      );
      if (rows.length > 0) return Number(rows[0]![0]);
    }
    // Anything else (a bigint, a fraction, an error to report) reads, adds and writes in one transaction.
    return await this.#atomic("increment key", async (tx) => {
      const rows = await tx.#query(
        "increment key",
        `SELECT t, n, b, kind FROM ${tx.#t.q} WHERE k = $2 AND ${LIVE} FOR UPDATE`,
        [key],
      );
      if (rows.length === 0) {
        await tx.#write("increment key", [[key, ...toColumns(...encodeValue(by, tx.#shared.codec))]], options);
        return by;
      }
      const next = add(fromColumns(rows[0]!, 0, tx.#shared.codec), by);
      await tx.#write("increment key", [[key, ...toColumns(...encodeValue(next, tx.#shared.codec))]], {
        ifPresent: true,
        keepTtl: true,
        ...(await tx.#keptTags(key)),
      });
      return next;
    });
  }

  /** `{ tags }` of a key that carries some, for a write that must keep them. */
  async #keptTags(key: string): Promise<{ tags?: string[] }> {
    const tags = await this.tags(key);
    return tags === undefined || tags.length === 0 ? {} : { tags };
  }

  /** Moves a key's value, expiry and tags (see {@link KvMethods.rename}). */
  async rename(from: string, to: string, options?: { overwrite?: boolean }): Promise<boolean> {
    this.#open("rename key");
    checkStoredKey(from, "rename key");
    checkKey(to, "rename key");
    checkOptions(options, ["overwrite"], "rename key");
    const overwrite = booleanOption(options, "overwrite", "rename key");
    return await this.#atomic("rename key", async (tx) => {
      const q = tx.#t.q;
      const source = await tx.#query("rename key", `SELECT 1 FROM ${q} WHERE k = $2 AND ${LIVE} FOR UPDATE`, [from]);
      if (source.length === 0) return false;
      if (from === to) return true;
      const target = await tx.#query("rename key", `SELECT ${LIVE} FROM ${q} WHERE k = $2 FOR UPDATE`, [to]);
      if (target.length > 0 && target[0]![0] === true && !overwrite) return false;
      await tx.#query("rename key", `DELETE FROM ${tx.#t.tags} WHERE k = $2`, [to]);
      await tx.#query("rename key", `DELETE FROM ${q} WHERE k = $2`, [to]);
      await tx.#query(
        "rename key",
        `UPDATE ${q} SET k = $2, version = GREATEST(version + 1, ${NOW} * 1024) WHERE k = $3`,
        [to, from],
      );
      await tx.#query("rename key", `UPDATE ${tx.#t.tags} SET k = $2 WHERE k = $3`, [to, from]);
      return true;
    });
  }

  // ---- expiry --------------------------------------------------------------

  async #setExpiry(what: string, key: string, expiry: string, params: unknown[]): Promise<boolean> {
    const rows = await this.#query(
      what,
      `UPDATE ${this.#t.q} SET expire_time = ${expiry} WHERE k = $2 AND ${LIVE} RETURNING 1`,
      [key, ...params],
    );
    return rows.length > 0;
  }

  /** Extends a live key's expiry and returns its value (see {@link KvMethods.touch}). */
  async touch<T = unknown>(key: string, ttl: number): Promise<T | undefined> {
    this.#open("touch key");
    checkKey(key, "touch key");
    const ms = ttlToTime(ttl, 0, "touch key");
    const rows = await this.#query(
      "touch key",
      `UPDATE ${this.#t.q} SET expire_time = ${NOW} + $3 WHERE k = $2 AND ${LIVE} RETURNING t, n, b, kind`,
      [key, ms],
    );
    return rows.length === 0 ? undefined : fromColumns(rows[0]!, 0, this.#shared.codec) as T;
  }

  /** Sets a live key to expire `ttl` ms from now (see {@link KvMethods.expire}). */
  expire(key: string, ttl: number): Promise<boolean> {
    return this.#guarded("set expiry", key, () =>
      this.#setExpiry("set expiry", key, `${NOW} + $3`, [
        ttlToTime(ttl, 0, "set expiry"),
      ]));
  }

  /** Sets a live key to expire at an absolute time (see {@link KvMethods.expireAt}). */
  expireAt(key: string, at: number | Date): Promise<boolean> {
    return this.#guarded(
      "set expiry",
      key,
      () => this.#setExpiry("set expiry", key, "$3", [atToTime(at, "set expiry")]),
    );
  }

  /** Removes a live key's expiry (see {@link KvMethods.persist}). */
  persist(key: string): Promise<boolean> {
    return this.#guarded("persist key", key, () => this.#setExpiry("persist key", key, "NULL", []));
  }

  async #guarded<R>(what: string, key: string, fn: () => Promise<R>): Promise<R> {
    this.#open(what);
    checkKey(key, what);
    return await fn();
  }

  /** Deletes the expired rows through the expiry index (see {@link KvMethods.purgeExpired}). */
  async purgeExpired(): Promise<number> {
    this.#open("purge expired keys");
    const rows = await this.#query(
      "purge expired keys",
      `WITH w AS (DELETE FROM ${this.#t.q} WHERE expire_time <= ${NOW} RETURNING k),
        d AS (DELETE FROM ${this.#t.tags} g USING w WHERE g.k = w.k)
        SELECT count(*) FROM w`,
    );
    this.#shared.counters.purged += Number(rows[0]![0]);
    return Number(rows[0]![0]);
  }

  // ---- listings ------------------------------------------------------------

  async #page(
    what: string,
    query: KeyQuery | undefined,
    options: ListOptions,
    after: string | undefined,
    limit: number | undefined,
  ): Promise<unknown[][]> {
    const [cond, params] = keyCondition(query, what, this.#t, 2);
    const all: unknown[] = [...params];
    let where = `${cond} AND ${LIVE}`;
    if (after !== undefined) where += ` AND k ${options.reverse ? "<" : ">"} $${all.push(after) + 1}`;
    const order = options.reverse ? "DESC" : "ASC";
    const lim = limit === undefined ? "" : ` LIMIT $${all.push(limit) + 1}`;
    return await this.#query(
      what,
      `SELECT k, t, n, b, kind, expire_time::float8, version::float8 FROM ${this.#t.q} WHERE ${where}
        ORDER BY k ${order}${lim}`,
      all,
    );
  }

  async #rows(what: string, query: KeyQuery | undefined, options: ListOptions | undefined): Promise<unknown[][]> {
    this.#open(what);
    const o = checkListOptions(options, what);
    const rows = await this.#page(what, query, o, o.after, o.limit); // the query is checked by #page's keyCondition
    this.#shared.counters.rowsIterated += rows.length;
    return rows;
  }

  /** Keys in byte order (see {@link KvMethods.keys}). */
  async keys(query?: KeyQuery, options?: ListOptions): Promise<string[]> {
    return (await this.#rows("list keys", query, options)).map((row) => row[0] as string);
  }

  /** Values in key order (see {@link KvMethods.values}). */
  async values<T = unknown>(query?: KeyQuery, options?: ListOptions): Promise<T[]> {
    return (await this.#rows("list values", query, options)).map((row) => fromColumns(row, 1, this.#shared.codec) as T);
  }

  /** `[key, value]` pairs in key order (see {@link KvMethods.entries}). */
  async entries<T = unknown>(query?: KeyQuery, options?: ListOptions): Promise<[string, T][]> {
    return (await this.#rows("list entries", query, options)).map((
      row,
    ) => [row[0] as string, fromColumns(row, 1, this.#shared.codec) as T]);
  }

  /** Entries in pages of 256 (see {@link KvMethods.list}). */
  async *list<T = unknown>(query?: KeyQuery, options?: ListOptions): AsyncIterableIterator<KvEntry<T>> {
    this.#open("list entries");
    const o = checkListOptions(options, "list entries");
    compileQuery(query, "list entries");
    let after = o.after;
    let left = o.limit ?? Infinity;
    while (left > 0) {
      const rows = await this.#page("list entries", query, o, after, Math.min(256, left));
      this.#shared.counters.rowsIterated += rows.length;
      for (const row of rows) {
        yield {
          key: row[0] as string,
          value: fromColumns(row, 1, this.#shared.codec) as T,
          expiresAt: row[5] === null ? null : Number(row[5]),
          version: Number(row[6]),
        };
      }
      if (rows.length < 256) return;
      left -= rows.length;
      after = rows.at(-1)![0] as string;
    }
  }

  /** Every live entry, in key order. */
  async *[Symbol.asyncIterator](): AsyncIterator<[string, unknown]> {
    for await (const entry of this.list()) yield [entry.key, entry.value];
  }

  /** How many live keys match (see {@link KvMethods.count}). */
  async count(query?: KeyQuery): Promise<number> {
    this.#open("count keys");
    const [cond, params] = keyCondition(query, "count keys", this.#t, 2);
    const rows = await this.#query("count keys", `SELECT count(*) FROM ${this.#t.q} WHERE ${cond} AND ${LIVE}`, params);
    return Number(rows[0]![0]);
  }

  /** Deletes every key of this key space (see {@link KvMethods.clear}). */
  async clear(): Promise<number> {
    this.#open("clear store");
    const rows = await this.#query(
      "clear store",
      `WITH w AS (DELETE FROM ${this.#t.q} RETURNING expire_time), d AS (DELETE FROM ${this.#t.tags})
        SELECT count(*) FILTER (WHERE expire_time IS NULL OR expire_time > ${NOW}) FROM w`,
    );
    return Number(rows[0]![0]);
  }

  // ---- transactions --------------------------------------------------------

  /**
   * Runs `fn` in one PostgreSQL transaction on one connection (a savepoint when
   * nested): committed when it resolves, rolled back when it throws. Never
   * retried: a serialization failure or a lost connection rejects with a
   * `KvError` whose code says so.
   */
  async transaction<R>(fn: (tx: KvMethods<"async">) => R | Promise<R>): Promise<R> {
    this.#open("run transaction");
    if (typeof fn !== "function") {
      throw new TypeError(`Cannot run transaction: fn must be a function, received ${typeName(fn)}`);
    }
    return await this.#atomic("run transaction", (tx) => fn(tx) as Promise<R>);
  }

  async #atomic<R>(what: string, fn: (tx: KvPostgres) => Promise<R>): Promise<R> {
    this.#open(what);
    const nested = this.#session !== undefined;
    const session = this.#session ?? await this.#shared.client.reserve();
    const depth = this.#depth + 1;
    const savepoint = `kvsqlite_${depth}`;
    let broken = false;
    const control = async (sql: string) => {
      try {
        await session.query(sql);
      } catch (error) {
        broken = true;
        throw pgError(error, what, sql);
      }
    };
    try {
      await control(nested ? `SAVEPOINT ${savepoint}` : "BEGIN");
      const tx = new KvPostgres(this.#shared, this.#root(), this.#ns, session, depth);
      let result: R;
      try {
        result = await fn(tx);
      } catch (error) {
        tx.#ended = true;
        // The caller's error, unchanged; a rollback that fails leaves the connection to be discarded.
        await session.query(nested ? `ROLLBACK TO SAVEPOINT ${savepoint}` : "ROLLBACK").catch(() => (broken = true));
        throw error;
      }
      tx.#ended = true;
      await control(nested ? `RELEASE SAVEPOINT ${savepoint}` : "COMMIT");
      if (!nested) {
        this.#shared.counters.transactions++;
        this.#shared.counters.commits++;
      }
      return result;
    } finally {
      if (!nested) (session as PgReserved).release(broken);
    }
  }

  // ---- namespaces ----------------------------------------------------------

  /** A key space of its own (see {@link KvMethods.namespace}). */
  namespace(name: string): KvMethods<"async"> {
    this.#open("open namespace");
    checkName(name, "name", "open namespace");
    if (name.includes("/")) throw new TypeError(`Cannot open namespace: name may not contain "/"`);
    let child = this.#children.get(name);
    if (child === undefined) {
      child = new KvPostgres(this.#shared, this.#root(), [...this.#ns, name], this.#session, this.#depth);
      if (this.#session === undefined) this.#children.set(name, child);
    }
    return child;
  }

  /** The namespaces directly inside this one (see {@link KvMethods.namespaces}). */
  async namespaces(): Promise<string[]> {
    this.#open("list namespaces");
    const prefix = `${this.#t.name}/`;
    const rows = await this.#query(
      "list namespaces",
      `SELECT substr(tablename, $3) FROM pg_tables WHERE schemaname = current_schema()
        AND starts_with(tablename, $2) AND strpos(substr(tablename, $3), '/') = 0
        ORDER BY substr(tablename, $3) COLLATE "C"`,
      [prefix, prefix.length + 1],
    );
    return rows.map((row) => row[0] as string);
  }

  /** Drops a namespace and those inside it (see {@link KvMethods.dropNamespace}). */
  async dropNamespace(name: string): Promise<boolean> {
    this.#open("drop namespace");
    checkName(name, "name", "drop namespace");
    const base = `${this.#t.name}/${name}`;
    const rows = await this.#query(
      "drop namespace",
      `SELECT tablename FROM pg_tables WHERE schemaname = current_schema()
        AND (tablename = $2 OR starts_with(tablename, $3)
          OR tablename = 'kvsqlite_tags/' || $2 OR starts_with(tablename, 'kvsqlite_tags/' || $3))`,
      [base, `${base}/`],
    );
    if (rows.length === 0) return false;
    const names = rows.map((row) => `"${String(row[0]).replaceAll('"', '""')}"`).join(", ");
    await this.#query("drop namespace", `DROP TABLE IF EXISTS ${names}`);
    for (const row of rows) this.#shared.made.delete(String(row[0]));
    this.#children.delete(name);
    return true;
  }

  // ---- what PostgreSQL does itself -----------------------------------------

  /** This process's counters of its calls; the gauges are the table's (see {@link KvMethods.stats}). */
  async stats(options?: { reset?: boolean }): Promise<KvStats> {
    this.#open("read stats");
    checkOptions(options, ["reset"], "read stats");
    booleanOption(options, "reset", "read stats");
    const rows = await this.#query(
      "read stats",
      `SELECT count(*) FILTER (WHERE ${LIVE}), pg_total_relation_size(to_regclass($2))::float8 FROM ${this.#t.q}`,
      [this.#t.q],
    );
    const bytes = Number(rows[0]![1]);
    const counters = { ...this.#shared.counters };
    if (options?.reset === true) Object.assign(this.#shared.counters, zeroCounters());
    return {
      ...counters,
      keys: Number(rows[0]![0]),
      pages: Math.ceil(bytes / 8192),
      pageSize: 8192,
      fileBytes: bytes,
      walBytes: null,
      driver: `PostgreSQL (${this.#shared.client.kind})`,
    };
  }

  /** Nothing to checkpoint from a client: PostgreSQL checkpoints itself. */
  checkpoint(mode: CheckpointMode = "passive"): Promise<CheckpointResult> {
    return this.#settled("checkpoint", () => {
      checkCheckpointMode(mode);
      this.#shared.counters.checkpoints++;
      return { busy: false, logFrames: -1, checkpointedFrames: -1 };
    });
  }

  /** `fn`'s result after the store's open check, for a method with nothing to await: a throw is a rejection. */
  #settled<R>(what: string, fn: () => R): Promise<R> {
    try {
      this.#open(what);
      return Promise.resolve(fn());
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** `VACUUM` of this key space's table. */
  async vacuum(options?: { pages?: number }): Promise<void> {
    this.#open("vacuum");
    checkOptions(options, ["pages"], "vacuum");
    if (options?.pages !== undefined) throw new TypeError("Cannot vacuum: pages is SQLite's, not PostgreSQL's");
    if (this.#session !== undefined) throw new KvError("Cannot vacuum: a transaction is open");
    await this.#query("vacuum", `VACUUM ${this.#t.q}`);
  }

  /** `ANALYZE` of this key space's table. */
  async optimize(): Promise<void> {
    await this.#query("optimize", `ANALYZE ${this.#t.q}`);
  }

  /** PostgreSQL checks its own pages; this checks that the table answers. */
  async integrityCheck(): Promise<void> {
    await this.#query("check integrity", `SELECT count(*) FROM ${this.#t.q}`);
  }

  /** Not on PostgreSQL: back it up with pg_dump, or export with the CLI. */
  backup(): Promise<void> {
    return Promise.reject(new KvError("Cannot back up: a PostgreSQL store is backed up by PostgreSQL (pg_dump)"));
  }

  /** Every write is committed when its promise resolves: nothing to flush. */
  flush(): Promise<void> {
    return this.#settled("flush", () => {});
  }

  /** Not yet on PostgreSQL. */
  changes(): Promise<KvChange[]> {
    return Promise.reject(new KvError("Cannot read changes: not yet on PostgreSQL"));
  }

  /** The state of some keys now, then at each change by any machine, expiry included (see {@link KvMethods.watch}). */
  watch<T = unknown>(keys: readonly string[], options?: WatchOptions): KvWatch<(KvEntry<T> | KvMissing)[]>;
  /** Every key a query matches, then what changed (see {@link KvMethods.watch}). */
  watch<T = unknown>(query: KeyQuery, options?: WatchOptions): KvWatch<WatchChanges<T>>;
  watch<T>(keysOrQuery: readonly string[] | KeyQuery, options?: WatchOptions): KvWatch<unknown> {
    this.#open("watch keys");
    checkWatch(keysOrQuery, options);
    const hub = this.#hub();
    const codec = this.#shared.codec;
    const entryOf = (row: unknown[]): KvEntry<T> => ({
      key: row[1] as string,
      value: fromColumns(row, 2, codec) as T,
      expiresAt: row[6] === null ? null : Number(row[6]),
      version: Number(row[7]),
    });
    const columns = `now.ms, k, t, n, b, kind, expire_time::float8, version::float8`;
    if (Array.isArray(keysOrQuery)) {
      const keys = keysOrQuery as readonly string[];
      let seen: Map<string, string> | undefined;
      return new PgWatch(hub, this.#t.name, async (first) => {
        const rows = await this.#query(
          "watch keys",
          `WITH now AS (SELECT ${NOW} AS ms) SELECT ${columns} FROM now LEFT JOIN ${this.#t.q}
            ON k = ANY($2::text[]) AND (expire_time IS NULL OR expire_time > now.ms)`,
          [keys],
        );
        const found = new Map<string, KvEntry<T>>();
        for (const row of rows) if (row[1] !== null) found.set(row[1] as string, entryOf(row));
        const versions = new Map([...found].map(([k, e]) => [k, signature(e)]));
        const r = { expiry: earliest(found.values()), now: Number(rows[0]![0]) };
        if (!first && sameVersions(seen!, versions)) return { ...r, state: undefined };
        seen = versions;
        return { ...r, state: keys.map((key) => found.get(key) ?? { key, value: undefined, version: null }) };
      }, this.#shared.clock);
    }
    let seen = new Map<string, string>();
    const [cond, params] = keyCondition(keysOrQuery as KeyQuery, "watch keys", this.#t, 2);
    return new PgWatch(hub, this.#t.name, async (first) => {
      const rows = await this.#query(
        "watch keys",
        `WITH now AS (SELECT ${NOW} AS ms) SELECT ${columns} FROM now LEFT JOIN ${this.#t.q}
          ON ${cond} AND (expire_time IS NULL OR expire_time > now.ms) ORDER BY k`,
        params,
      );
      const entries = rows.filter((row) => row[1] !== null).map(entryOf);
      const versions = new Map(entries.map((e) => [e.key, signature(e)]));
      const changed = first ? entries : entries.filter((e) => seen.get(e.key) !== versions.get(e.key));
      const deleted = [...seen.keys()].filter((k) => !versions.has(k));
      seen = versions;
      const r = { expiry: earliest(entries), now: Number(rows[0]![0]) };
      if (!first && changed.length === 0 && deleted.length === 0) return { ...r, state: undefined };
      return { ...r, state: { changed, deleted } };
    }, this.#shared.clock);
  }

  /**
   * A durable queue shared by every machine on the database (see
   * {@link KvMethods.queue}): claims take `FOR UPDATE SKIP LOCKED`; inside a
   * transaction, an enqueue commits or rolls back with it.
   */
  queue<T = unknown>(name = ""): QueueMethods<"async", T> {
    this.#open("open queue");
    checkQueueName(name, "open queue");
    const shared = this.#shared;
    let queue = this.#queueObjects.get(name);
    if (queue === undefined) {
      queue = new KvQueueAsync<unknown>((op, args) => this.#queueCall(op, args), name, {
        nextId: () => ++shared.listenerIds,
        listeners: shared.listeners,
      });
      this.#queueObjects.set(name, queue);
    }
    return queue as KvQueueAsync<T>;
  }

  /** The store's listening connection and tick, made by the first watch or queue wait. */
  #hub(): WatchHub {
    return this.#shared.hub ??= new WatchHub(this.#shared.client);
  }

  /** The queue statements' runner, on this store's connection (a transaction's, in one). */
  #queueRunner(what: string): QueueRunner {
    return {
      query: (sql, params) => this.#query(what, sql, params),
      atomic: (fn) => this.#atomic(what, (tx) => fn((sql, params) => tx.#query(what, sql, params))),
      setKey: async (key, columns) => void await this.#write(what, [[key, ...columns]], undefined),
      codec: this.#shared.codec,
      hub: () => this.#hub(),
      now: () => this.#shared.clock?.() ?? Date.now(),
    };
  }

  /** Answers a queue's call (as the async client's worker would). */
  async #queueCall(op: string, args: unknown[]): Promise<unknown> {
    const what = op === "enqueue" ? "enqueue" : op === "listen" || op === "listening" ? "listen" : "open queue";
    this.#open(what);
    await this.#make(what, queueTableName(this.#t.name), createQueueTableSql(this.#t.name));
    const named = (name: string) => {
      let store = this.#queues.get(name);
      if (store === undefined) {
        this.#queues.set(name, store = new PgQueueStore(this.#queueRunner(what), this.#t.name, name));
      }
      return store;
    };
    if (op === "enqueue") {
      const [name, v, kind, options] = args as [
        string,
        SqlValue | ArrayBuffer,
        number,
        Parameters<PgQueueStore["enqueue"]>[1],
      ];
      return await named(name).enqueue(toColumns(v, kind), options);
    }
    if (op === "queue") {
      const [name, method, a, b] = args as [string, string, number, number | undefined];
      const store = named(name);
      if (method === "claim") return await store.claim(a);
      if (method === "ack") return await store.ack(a);
      if (method === "nack") return await store.nack(a, b);
      if (method === "peek") return await store.peek(a);
      if (method === "size") return await store.size();
      if (method === "deadLetters") return await store.deadLetters();
      if (method === "retry") return await store.retry(a);
    }
    if (op === "listen") {
      const [id, name] = args as [number, string];
      this.#listening.set(id, {
        store: new PgQueueStore(this.#queueRunner("listen"), this.#t.name, name),
        stop: new AbortController(),
      });
      return undefined;
    }
    if (op === "listening") {
      const [id, method, a, b] = args as [number, string, number, number];
      const l = this.#listening.get(id);
      if (l === undefined) return undefined;
      if (method === "claim") return await l.store.claim(a);
      if (method === "ack") return await l.store.ack(a);
      if (method === "fail") return await l.store.nack(a, undefined);
      if (method === "renew") return await l.store.renew(a, b);
      if (method === "wait") return await l.store.wait(a, l.stop.signal);
      if (method === "stop") {
        l.stop.abort();
        this.#listening.delete(id);
        return undefined;
      }
    }
    throw new TypeError(`Cannot ${what}: unknown queue call ${op}`);
  }

  /** Closes the store: later calls reject with `KvClosedError`; the user's client stays open. */
  async close(options?: CloseOptions): Promise<void> {
    checkOptions(options, ["optimize"], "close store");
    booleanOption(options, "optimize", "close store");
    if (this.#ns.length === 0 && this.#session === undefined && !this.#shared.closed) {
      // Queue listeners stop first, and their running handlers settle (and acknowledge) before the store closes.
      const running = [...this.#shared.listeners];
      for (const listener of running) listener.stop();
      await Promise.all(running.map((listener) => listener.done));
    }
    // Closing a namespace closes that view; closing the root, the store and its watches.
    if (this.#ns.length === 0 && this.#session === undefined) {
      this.#shared.closed = true;
      this.#shared.hub?.close();
    } else this.#closed = true;
    return Promise.resolve();
  }

  /** `using` closes the store (without waiting: nothing is pending). */
  [Symbol.dispose](): void {
    void this.close();
  }

  /** `await using` closes the store. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
