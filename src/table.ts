/**
 * The SQL of one key table, prepared lazily through the connection's cache.
 *
 * @module
 */

import type { Connection, Prepared } from "./connection.ts";
import type { KeyCondition } from "./keys.ts";
import { quoteName } from "./keys.ts";
import { createTableSql } from "./schema.ts";

/** `?` is the current time; a row is live when it has no expiry or expires later. */
export const LIVE = "(expire_time IS NULL OR expire_time > ?)";

/** What a listing selects, by shape number. */
export const PAGE_COLUMNS = ["k", "v, kind", "k, v, kind", "k, v, kind, expire_time, version"] as const;

/** Which condition guards a write. */
export const Guard = { none: 0, absent: 1, present: 2, version: 3 } as const;

/** The statements of one key table. */
export class Table {
  readonly name: string;
  readonly q: string;
  readonly #conn: Connection;
  #ready = false;
  // Statements by slot, so that the hot path builds no SQL string and does no
  // map lookup by text.
  readonly #slots: (Prepared | undefined)[] = [];
  readonly #writes: (Prepared | undefined)[] = [];
  readonly #pages = new Map<string, (Prepared | undefined)[]>();

  constructor(conn: Connection, name: string) {
    this.#conn = conn;
    this.name = name;
    this.q = quoteName(name);
  }

  /** Creates the table if it is missing (namespaces are created on first use). */
  ensure(): void {
    if (this.#ready) return;
    if (!this.#conn.readOnly) this.#conn.exec(createTableSql(this.name));
    this.#ready = true;
  }

  /** Forgets every statement, after the table was dropped. */
  reset(): void {
    this.#conn.forget(this.q);
    this.#slots.length = 0;
    this.#writes.length = 0;
    this.#pages.clear();
    this.#ready = false;
  }

  #slot(slot: number, sql: () => string): Prepared {
    return this.#slots[slot] ??= this.prepare(sql());
  }

  prepare(sql: string): Prepared {
    this.ensure();
    return this.#conn.prepare(sql);
  }

  /** `v, kind, expire_time` of one key, live or not. */
  get read(): Prepared {
    return this.#slot(0, () => `SELECT v, kind, expire_time FROM ${this.q} WHERE k = ?`);
  }

  /** `v, kind, expire_time, version` of one key. */
  get readEntry(): Prepared {
    return this.#slot(1, () => `SELECT v, kind, expire_time, version FROM ${this.q} WHERE k = ?`);
  }

  /** `expire_time` of one key: its existence and liveness. */
  get readExpiry(): Prepared {
    return this.#slot(2, () => `SELECT expire_time FROM ${this.q} WHERE k = ?`);
  }

  /**
   * The unconditional write: every set without ifAbsent/ifPresent/ifVersion/
   * keepTtl. Parameters: k, v, kind, expire_time, version. Fewer parameters
   * than {@link write} measured about 5% faster per row on node:sqlite.
   */
  get upsert(): Prepared {
    return this.#slot(
      12,
      () =>
        `INSERT INTO ${this.q} (k, v, kind, expire_time, version) VALUES (?1, ?2, ?3, ?4, ?5)
ON CONFLICT (k) DO UPDATE SET v = excluded.v, kind = excluded.kind, expire_time = excluded.expire_time,
version = max(${this.q}.version + 1, excluded.version)`,
    );
  }

  /** {@link upsert} of a native value without expiry. Parameters: k, v, version. */
  get upsertNative(): Prepared {
    return this.#slot(
      13,
      () =>
        `INSERT INTO ${this.q} (k, v, version) VALUES (?1, ?2, ?3)
ON CONFLICT (k) DO UPDATE SET v = excluded.v, kind = 0, expire_time = NULL,
version = max(${this.q}.version + 1, excluded.version)`,
    );
  }

  /**
   * The write for a guard and a TTL mode. Parameters: now, the expected
   * version (read by {@link Guard.version} only), k, v, kind, expire_time,
   * version. (Multi-row upserts measured half as fast as single rows.)
   */
  write(guard: number, keepTtl: boolean): Prepared {
    const slot = guard * 2 + (keepTtl ? 1 : 0);
    const cached = this.#writes[slot];
    if (cached !== undefined) return cached;
    const q = this.q;
    let sql: string;
    if (guard === Guard.none || guard === Guard.absent) {
      const expiry = keepTtl
        ? `expire_time = CASE WHEN ${q}.expire_time IS NULL OR ${q}.expire_time > ?1 THEN ${q}.expire_time ELSE excluded.expire_time END`
        : "expire_time = excluded.expire_time";
      // Every variant binds "now" and the expected version; a variant that does
      // not need them still names them, so that the parameter layout is fixed.
      const where = guard === Guard.absent ? `${q}.expire_time IS NOT NULL AND ${q}.expire_time <= ?1` : "?1 IS ?1";
      sql = `INSERT INTO ${q} (k, v, kind, expire_time, version) VALUES (?3, ?4, ?5, ?6, ?7)
ON CONFLICT (k) DO UPDATE SET v = excluded.v, kind = excluded.kind, ${expiry},
version = max(${q}.version + 1, excluded.version) WHERE ${where} AND ?2 IS ?2`;
    } else {
      const expiry = keepTtl ? "" : ", expire_time = ?6";
      const version = guard === Guard.version ? " AND version = ?2" : " AND ?2 IS ?2";
      sql = `UPDATE ${q} SET v = ?4, kind = ?5${expiry}, version = max(version + 1, ?7)
WHERE k = ?3 AND (expire_time IS NULL OR expire_time > ?1)${version}`;
      if (keepTtl) sql += " AND ?6 IS ?6";
    }
    const st = this.prepare(sql);
    this.#writes[slot] = st;
    return st;
  }

  /**
   * Counts in one statement: creates the key with `by` (and the given expiry)
   * or adds `by` to a live integer value while the sum stays a safe integer;
   * returns no row when neither applies. An upsert, because it measured
   * faster than the equivalent UPDATE. Parameters: by (a bigint), version,
   * k, now, expire_time.
   */
  get addInteger(): Prepared {
    return this.#slot(
      11,
      () =>
        `INSERT INTO ${this.q} (k, v, kind, expire_time, version) VALUES (?3, ?1, 0, ?5, ?2)
ON CONFLICT (k) DO UPDATE SET v = v + ?1, version = max(version + 1, ?2)
WHERE kind = 0 AND typeof(v) = 'integer' AND abs(v + ?1) <= 9007199254740991
AND (expire_time IS NULL OR expire_time > ?4) RETURNING v`,
    );
  }

  /**
   * Deletes one live key. An expired row is left for purgeExpired: asking
   * for it back (RETURNING) cost more than the row does. Parameters: k, now.
   */
  get remove(): Prepared {
    return this.#slot(3, () => `DELETE FROM ${this.q} WHERE k = ? AND ${LIVE}`);
  }

  /** Deletes one key and returns what it held. */
  get take(): Prepared {
    return this.#slot(4, () => `DELETE FROM ${this.q} WHERE k = ? RETURNING v, kind, expire_time`);
  }

  /** Sets the expiry of a live key. Parameters: expire_time, k, now. */
  get setExpiry(): Prepared {
    return this.#slot(5, () => `UPDATE ${this.q} SET expire_time = ? WHERE k = ? AND ${LIVE}`);
  }

  /** Deletes a key whatever its state. */
  get drop(): Prepared {
    return this.#slot(6, () => `DELETE FROM ${this.q} WHERE k = ?`);
  }

  /** Moves a key. Parameters: new key, version, old key. */
  get move(): Prepared {
    return this.#slot(7, () => `UPDATE ${this.q} SET k = ?, version = max(version + 1, ?) WHERE k = ?`);
  }

  /** Live rows among a JSON array of keys. */
  get readMany(): Prepared {
    return this.#slot(
      10,
      () => `SELECT k, v, kind FROM ${this.q} WHERE k IN (SELECT value FROM json_each(?)) AND ${LIVE}`,
    );
  }

  /** Counts live keys matching a condition. Parameters: the condition's, then now. */
  count(cond: KeyCondition): Prepared {
    return this.#byCondition(cond, 16, () => `SELECT count(*) FROM ${this.q} WHERE ${cond.sql} AND ${LIVE}`);
  }

  /** Deletes live keys matching a condition. Parameters: the condition's, then now. */
  deleteWhere(cond: KeyCondition): Prepared {
    return this.#byCondition(cond, 17, () => `DELETE FROM ${this.q} WHERE ${cond.sql} AND ${LIVE}`);
  }

  /**
   * A page of live rows in key order.
   * Parameters: the condition's, now, [after], limit.
   */
  page(cond: KeyCondition, shape: number, reverse: boolean, after: boolean): Prepared {
    const seek = after ? (reverse ? " AND k < ?" : " AND k > ?") : "";
    return this.#byCondition(
      cond,
      shape * 4 + (reverse ? 2 : 0) + (after ? 1 : 0),
      () =>
        `SELECT ${PAGE_COLUMNS[shape]} FROM ${this.q} WHERE ${cond.sql} AND ${LIVE}${seek} ORDER BY k ${
          reverse ? "DESC" : "ASC"
        } LIMIT ?`,
    );
  }

  // Conditions come from a handful of constant SQL fragments, so they key a
  // small cache without building the whole statement's text on every call.
  #byCondition(cond: KeyCondition, slot: number, sql: () => string): Prepared {
    let slots = this.#pages.get(cond.sql);
    if (slots === undefined) this.#pages.set(cond.sql, slots = []);
    return slots[slot] ??= this.prepare(sql());
  }

  /** Deletes expired rows through the expiry index. Parameter: now. */
  get purge(): Prepared {
    return this.#slot(8, () => `DELETE FROM ${this.q} WHERE expire_time <= ?`);
  }

  /** Deletes every row. */
  get clear(): Prepared {
    return this.#slot(9, () => `DELETE FROM ${this.q}`);
  }
}
