/**
 * The SQL of one key table and its tag table, prepared lazily through the
 * connection's cache.
 *
 * @module
 */

import type { Connection, Prepared } from "./connection.ts";
import type { KeyCondition } from "./query.ts";
import { quoteName } from "./names.ts";
import { createTableSql, tagTableName } from "./schema.ts";
import { triggersSql } from "./changes.ts";

/** `?` is the current time; a row is live when it has no expiry or expires later. */
export const LIVE = "(expire_time IS NULL OR expire_time > ?)";

/** What a listing selects: its shape, numbered so that statements are found by index on every listing's path. */
export const Shape = { keys: 0, values: 1, entries: 2, list: 3 } as const;
/** One of {@link Shape}'s values. */
export type Shape = typeof Shape[keyof typeof Shape];

/** The columns of each {@link Shape}. */
const PAGE_COLUMNS = ["k", "v, kind", "k, v, kind", "k, v, kind, expire_time, version"] as const;

/** The largest listing limit written into a statement rather than bound; also `list()`'s page size. */
export const LITERAL_LIMIT = 256;

/** Which condition guards a write. */
export const Guard = { none: 0, absent: 1, present: 2, version: 3 } as const;

/**
 * The statements of one key table.
 *
 * Writes that replace a value carry `tagged = 0` in their condition: a row
 * with tags is left alone (no row changes) and the caller takes the slower
 * path that drops its tags first. A trigger would do it inside SQLite, but
 * measured 10-30% slower on every write; the condition measured free.
 */
export class Table {
  readonly name: string;
  readonly q: string;
  /** The quoted tag table. */
  readonly tq: string;
  readonly #conn: Connection;
  #ready = false;
  // Named statements in fields of their own, prepared on first use: the hot
  // path builds no SQL string and looks nothing up by name.
  #read: Prepared | undefined;
  #readEntry: Prepared | undefined;
  #readExpiry: Prepared | undefined;
  #readTagged: Prepared | undefined;
  #readMany: Prepared | undefined;
  #readEntries: Prepared | undefined;
  #readTags: Prepared | undefined;
  #anyTag: Prepared | undefined;
  #upsert: Prepared | undefined;
  #upsertNative: Prepared | undefined;
  #addInteger: Prepared | undefined;
  #remove: Prepared | undefined;
  #take: Prepared | undefined;
  #drop: Prepared | undefined;
  #setExpiry: Prepared | undefined;
  #move: Prepared | undefined;
  #touch: Prepared | undefined;
  #markTagged: Prepared | undefined;
  #addTag: Prepared | undefined;
  #dropTags: Prepared | undefined;
  #moveTags: Prepared | undefined;
  #clearTags: Prepared | undefined;
  #purgeTags: Prepared | undefined;
  #purge: Prepared | undefined;
  #clear: Prepared | undefined;
  readonly #writes: Prepared[] = [];
  readonly #byCond = new Map<string, Map<string, Prepared>>();
  readonly #pages = new Map<string, Prepared[][]>();

  constructor(conn: Connection, name: string) {
    this.#conn = conn;
    this.name = name;
    this.q = quoteName(name);
    this.tq = quoteName(tagTableName(name));
  }

  /** Creates the table if it is missing (namespaces are created on first use). */
  ensure(): void {
    if (this.#ready) return;
    if (!this.#conn.readOnly) {
      this.#conn.claimWrite();
      this.#conn.exec(createTableSql(this.name));
      if (this.#conn.changeFeed) this.#conn.exec(triggersSql(this.name));
    }
    this.#ready = true;
  }

  /** Forgets every statement, after the table was dropped. */
  reset(): void {
    this.#conn.forget(this.q);
    this.#conn.forget(this.tq);
    this.#writes.length = 0;
    this.#read = undefined;
    this.#readEntry = undefined;
    this.#readExpiry = undefined;
    this.#readTagged = undefined;
    this.#readMany = undefined;
    this.#readEntries = undefined;
    this.#readTags = undefined;
    this.#anyTag = undefined;
    this.#upsert = undefined;
    this.#upsertNative = undefined;
    this.#addInteger = undefined;
    this.#remove = undefined;
    this.#take = undefined;
    this.#drop = undefined;
    this.#setExpiry = undefined;
    this.#move = undefined;
    this.#touch = undefined;
    this.#markTagged = undefined;
    this.#addTag = undefined;
    this.#dropTags = undefined;
    this.#moveTags = undefined;
    this.#clearTags = undefined;
    this.#purgeTags = undefined;
    this.#purge = undefined;
    this.#clear = undefined;
    this.#byCond.clear();
    this.#pages.clear();
    this.#ready = false;
  }

  #make(sql: () => string): Prepared {
    return this.prepare(sql());
  }

  prepare(sql: string): Prepared {
    this.ensure();
    return this.#conn.prepare(sql);
  }

  // ---- reads ---------------------------------------------------------------

  /** `v, kind, expire_time` of one key, live or not. */
  get read(): Prepared {
    return this.#read ??= this.#make(() => `SELECT v, kind, expire_time FROM ${this.q} WHERE k = ?`);
  }

  /** `v, kind, expire_time, version` of one key. */
  get readEntry(): Prepared {
    return this.#readEntry ??= this.#make(() => `SELECT v, kind, expire_time, version FROM ${this.q} WHERE k = ?`);
  }

  /** `expire_time` of one key: its existence and liveness. */
  get readExpiry(): Prepared {
    return this.#readExpiry ??= this.#make(() => `SELECT expire_time FROM ${this.q} WHERE k = ?`);
  }

  /** `expire_time, tagged` of one key. */
  get readTagged(): Prepared {
    return this.#readTagged ??= this.#make(() => `SELECT expire_time, tagged FROM ${this.q} WHERE k = ?`);
  }

  /** Live rows among a JSON array of keys. */
  get readMany(): Prepared {
    return this.#readMany ??= this.#make(
      () => `SELECT k, v, kind FROM ${this.q} WHERE k IN (SELECT value FROM json_each(?)) AND ${LIVE}`,
    );
  }

  /** `k, v, kind, expire_time, version` of the live rows among a JSON array of keys (what a watch reads). */
  get readEntries(): Prepared {
    return this.#readEntries ??= this.#make(
      () =>
        `SELECT k, v, kind, expire_time, version FROM ${this.q} WHERE k IN (SELECT value FROM json_each(?)) AND ${LIVE}`,
    );
  }

  /** The tags of one key, sorted. */
  get readTags(): Prepared {
    return this.#readTags ??= this.#make(() => `SELECT tag FROM ${this.tq} WHERE k = ? ORDER BY tag`);
  }

  /** One row when the table has any tag at all. */
  get anyTag(): Prepared {
    return this.#anyTag ??= this.#make(() => `SELECT 1 FROM ${this.tq} LIMIT 1`);
  }

  // ---- writes --------------------------------------------------------------

  /**
   * The unconditional write of an untagged row: every set without
   * ifAbsent/ifPresent/ifVersion/keepTtl. Parameters: k, v, kind,
   * expire_time, version. Fewer parameters than {@link write} measured about
   * 5% faster per row on node:sqlite.
   */
  get upsert(): Prepared {
    return this.#upsert ??= this.#make(
      () =>
        `INSERT INTO ${this.q} (k, v, kind, expire_time, version) VALUES (?1, ?2, ?3, ?4, ?5)
ON CONFLICT (k) DO UPDATE SET v = excluded.v, kind = excluded.kind, expire_time = excluded.expire_time,
version = max(${this.q}.version + 1, excluded.version) WHERE tagged = 0`,
    );
  }

  /** {@link upsert} of a native value without expiry. Parameters: k, v, version. */
  get upsertNative(): Prepared {
    return this.#upsertNative ??= this.#make(
      () =>
        `INSERT INTO ${this.q} (k, v, version) VALUES (?1, ?2, ?3)
ON CONFLICT (k) DO UPDATE SET v = excluded.v, kind = 0, expire_time = NULL,
version = max(${this.q}.version + 1, excluded.version) WHERE tagged = 0`,
    );
  }

  /**
   * The write for a guard and a TTL mode. Parameters: now, the expected
   * version (read by {@link Guard.version} only), k, v, kind, expire_time,
   * version. `keepTags` (for `incr`) writes over a tagged row and keeps its
   * tags. (Multi-row upserts measured half as fast as single rows.)
   */
  write(guard: number, keepTtl: boolean, keepTags = false): Prepared {
    const slot = guard * 4 + (keepTtl ? 2 : 0) + (keepTags ? 1 : 0);
    return this.#writes[slot] ??= this.#make(() => {
      const q = this.q;
      const untagged = keepTags ? "" : " AND tagged = 0";
      if (guard === Guard.none || guard === Guard.absent) {
        const expiry = keepTtl
          ? `expire_time = CASE WHEN ${q}.expire_time IS NULL OR ${q}.expire_time > ?1 THEN ${q}.expire_time ELSE excluded.expire_time END`
          : "expire_time = excluded.expire_time";
        // Every variant binds "now" and the expected version; a variant that
        // does not need them still names them, so that the layout is fixed.
        const where = guard === Guard.absent ? `${q}.expire_time IS NOT NULL AND ${q}.expire_time <= ?1` : "?1 IS ?1";
        return `INSERT INTO ${q} (k, v, kind, expire_time, version) VALUES (?3, ?4, ?5, ?6, ?7)
ON CONFLICT (k) DO UPDATE SET v = excluded.v, kind = excluded.kind, ${expiry},
version = max(${q}.version + 1, excluded.version) WHERE ${where} AND ?2 IS ?2${untagged}`;
      }
      const expiry = keepTtl ? "" : ", expire_time = ?6";
      const version = guard === Guard.version ? " AND version = ?2" : " AND ?2 IS ?2";
      let sql = `UPDATE ${q} SET v = ?4, kind = ?5${expiry}, version = max(version + 1, ?7)
WHERE k = ?3 AND (expire_time IS NULL OR expire_time > ?1)${version}${untagged}`;
      if (keepTtl) sql += " AND ?6 IS ?6";
      return sql;
    });
  }

  /**
   * Counts in one statement: creates the key with `by` (and the given expiry)
   * or adds `by` to a live integer value while the sum stays a safe integer;
   * returns no row when neither applies. Keeps tags. An upsert, because it
   * measured faster than the equivalent UPDATE. Parameters: by (a bigint),
   * version, k, now, expire_time.
   */
  get addInteger(): Prepared {
    return this.#addInteger ??= this.#make(
      () =>
        `INSERT INTO ${this.q} (k, v, kind, expire_time, version) VALUES (?3, ?1, 0, ?5, ?2)
ON CONFLICT (k) DO UPDATE SET v = v + ?1, version = max(version + 1, ?2)
WHERE kind = 0 AND typeof(v) = 'integer' AND abs(v + ?1) <= 9007199254740991
AND (expire_time IS NULL OR expire_time > ?4) RETURNING v`,
    );
  }

  /**
   * Deletes one live untagged key. An expired row is left for purgeExpired:
   * asking for it back (RETURNING) cost more than the row does.
   * Parameters: k, now.
   */
  get remove(): Prepared {
    return this.#remove ??= this.#make(() => `DELETE FROM ${this.q} WHERE k = ? AND ${LIVE} AND tagged = 0`);
  }

  /** Deletes one untagged key and returns what it held. */
  get take(): Prepared {
    return this.#take ??= this.#make(() =>
      `DELETE FROM ${this.q} WHERE k = ? AND tagged = 0 RETURNING v, kind, expire_time`
    );
  }

  /** Deletes a key whatever its state. Its tags must be gone first. */
  get drop(): Prepared {
    return this.#drop ??= this.#make(() => `DELETE FROM ${this.q} WHERE k = ?`);
  }

  /** Sets the expiry of a live key. Parameters: expire_time, k, now. */
  get setExpiry(): Prepared {
    return this.#setExpiry ??= this.#make(() => `UPDATE ${this.q} SET expire_time = ? WHERE k = ? AND ${LIVE}`);
  }

  /** Sets a live key's expiry and returns its value, in one statement. Parameters: expire_time, k, now. */
  get touch(): Prepared {
    return this.#touch ??= this.#make(() =>
      `UPDATE ${this.q} SET expire_time = ? WHERE k = ? AND ${LIVE} RETURNING v, kind, expire_time`
    );
  }

  /** Moves a key. Parameters: new key, version, old key. */
  get move(): Prepared {
    return this.#move ??= this.#make(() => `UPDATE ${this.q} SET k = ?, version = max(version + 1, ?) WHERE k = ?`);
  }

  // ---- tags ----------------------------------------------------------------

  /** Marks a key tagged or untagged. Parameters: tagged (0 or 1), k. */
  get markTagged(): Prepared {
    return this.#markTagged ??= this.#make(() => `UPDATE ${this.q} SET tagged = ? WHERE k = ?`);
  }

  /** Adds one tag to a key. Parameters: tag, k. */
  get addTag(): Prepared {
    return this.#addTag ??= this.#make(() => `INSERT OR IGNORE INTO ${this.tq} (tag, k) VALUES (?, ?)`);
  }

  /** Deletes a key's tag rows, whatever the key's state. Parameter: k. */
  get dropTags(): Prepared {
    return this.#dropTags ??= this.#make(() => `DELETE FROM ${this.tq} WHERE k = ?`);
  }

  /** Gives a key's tag rows to its new name. Parameters: new key, old key. */
  get moveTags(): Prepared {
    return this.#moveTags ??= this.#make(() => `UPDATE ${this.tq} SET k = ? WHERE k = ?`);
  }

  /** Deletes every tag row. */
  get clearTags(): Prepared {
    return this.#clearTags ??= this.#make(() => `DELETE FROM ${this.tq}`);
  }

  /** Deletes the tag rows of the expired rows, through the expiry index. Parameter: now. */
  get purgeTags(): Prepared {
    return this.#purgeTags ??= this.#make(
      () => `DELETE FROM ${this.tq} WHERE k IN (SELECT k FROM ${this.q} WHERE expire_time <= ? AND tagged = 1)`,
    );
  }

  // ---- by condition --------------------------------------------------------

  /** Counts live keys matching a condition. Parameters: the condition's, then now. */
  count(cond: KeyCondition): Prepared {
    return this.#byCondition(cond, "count", (where) => `SELECT count(*) FROM ${this.q} WHERE ${where} AND ${LIVE}`);
  }

  /** Deletes live keys matching a condition. Parameters: the condition's, then now. */
  deleteWhere(cond: KeyCondition): Prepared {
    return this.#byCondition(cond, "delete", (where) => `DELETE FROM ${this.q} WHERE ${where} AND ${LIVE}`);
  }

  /** {@link deleteWhere} that returns `k, tagged` of each deleted row. */
  deleteWhereReturning(cond: KeyCondition): Prepared {
    return this.#byCondition(
      cond,
      "deleteReturning",
      (where) => `DELETE FROM ${this.q} WHERE ${where} AND ${LIVE} RETURNING k, tagged`,
    );
  }

  /**
   * A page of live rows in key order. A limit up to {@link LITERAL_LIMIT} is
   * written into the statement (a bound `LIMIT ?` measured 3.5-7 us slower per
   * call on node:sqlite), no limit means no `LIMIT` clause, and a larger one is
   * bound. Parameters: the condition's, now, [after], [limit when bound].
   */
  page(cond: KeyCondition, shape: Shape, reverse: boolean, after: boolean, limit: number | undefined): Prepared {
    // Indexed by numbers, not by a name built per call: this is every listing's path.
    let pages = this.#pages.get(cond.id);
    if (pages === undefined) this.#pages.set(cond.id, pages = []);
    const slot = (shape * 2 + (reverse ? 1 : 0)) * 2 + (after ? 1 : 0);
    const byLimit = pages[slot] ??= [];
    const at = limit === undefined ? 0 : limit <= LITERAL_LIMIT ? limit + 1 : LITERAL_LIMIT + 2;
    return byLimit[at] ??= this.#pageStatement(cond, shape, reverse, after, limit);
  }

  #pageStatement(cond: KeyCondition, shape: Shape, reverse: boolean, after: boolean, limit: number | undefined) {
    const seek = after ? (reverse ? " AND k < ?" : " AND k > ?") : "";
    const clause = limit === undefined ? "" : limit <= LITERAL_LIMIT ? ` LIMIT ${limit}` : " LIMIT ?";
    const where = cond.where(this.tq);
    return this.prepare(
      `SELECT ${PAGE_COLUMNS[shape]} FROM ${this.q} WHERE ${where} AND ${LIVE}${seek} ORDER BY k ${
        reverse ? "DESC" : "ASC"
      }${clause}`,
    );
  }

  // Conditions come in a handful of forms, so they key a small cache without
  // building the whole statement's text on every call.
  #byCondition(cond: KeyCondition, name: string, sql: (where: string) => string): Prepared {
    let named = this.#byCond.get(cond.id);
    if (named === undefined) this.#byCond.set(cond.id, named = new Map());
    let st = named.get(name);
    if (st === undefined) named.set(name, st = this.prepare(sql(cond.where(this.tq))));
    return st;
  }

  /** Deletes expired rows through the expiry index. Parameter: now. */
  get purge(): Prepared {
    return this.#purge ??= this.#make(() => `DELETE FROM ${this.q} WHERE expire_time <= ?`);
  }

  /** Deletes every row. */
  get clear(): Prepared {
    return this.#clear ??= this.#make(() => `DELETE FROM ${this.q}`);
  }
}
