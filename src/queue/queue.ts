/**
 * Durable queues in the file (`kv.queue(name)`), shared by every process:
 * one table per key table holds the messages of all its named queues. A
 * message is claimed by one `UPDATE ... WHERE id = (SELECT ... ORDER BY due,
 * id LIMIT 1) RETURNING`, so two processes never claim the same one; a claim
 * is a lease (`due` moves to its end, `owner` names the claimer), renewed
 * while a handler runs, and a lease that lapses makes the message claimable
 * again: delivery is at least once. FORMAT.md describes the table.
 *
 * @module
 */

import { type Codec, decodeValue } from "../codec.ts";
import type { Connection } from "../connection.ts";
import type { SqlRow, SqlValue } from "../driver.ts";
import { checkOptions, typeName } from "../check.ts";
import { checkKey } from "../keys.ts";
import { quoteName } from "../names.ts";
import type { Table } from "../table.ts";
import * as writes from "../write.ts";

/** The queue table of key table `table`. */
export function queueTableName(table: string): string {
  return `kvsqlite_queue/${table}`;
}

/** The default retry schedule of a message whose handler failed (Deno KV's), ms. */
export const DEFAULT_BACKOFF: readonly number[] = [100, 1000, 5000, 30000, 60000];
/** The most retries a schedule may hold, and the longest wait of one (Deno KV's limits). */
export const MAX_BACKOFF_STEPS = 5;
/** The longest retry wait, ms. */
export const MAX_BACKOFF_MS = 3_600_000;
/** The longest `delay` of a message, ms (30 days, as Deno KV). */
export const MAX_DELAY_MS = 30 * 24 * 3_600_000;
/** How long a claim holds a message when no lease is given, ms. */
export const DEFAULT_LEASE = 30_000;

/** Options of `enqueue()`. */
export interface EnqueueOptions {
  /** ms before the message may be delivered. @default 0 */
  delay?: number;
  /** ms to wait before each retry after a failed delivery (at most 5 steps of at most 1 h). @default [100, 1000, 5000, 30000, 60000] */
  backoff?: number[];
  /** Keys the value is written to when every retry has failed (besides the dead-letter list). */
  deadLetterKeys?: string[];
}

/** A message as a queue hands it out. */
export interface QueueMessage<T = unknown> {
  /** Its id: ack, nack and retry take it. */
  id: number;
  /** The value enqueued. */
  value: T;
  /** Deliveries so far, this one included. */
  attempts: number;
  /** When it was enqueued, ms since the epoch. */
  enqueuedAt: number;
}

/** Options of `claim()`. */
export interface ClaimOptions {
  /** ms the message is held for this claimer; then it may be claimed again. @default 30000 */
  lease?: number;
}

/** Options of `nack()`. */
export interface NackOptions {
  /** ms until it may be delivered again; without it the message's retry schedule decides, and a spent schedule dead-letters it. */
  delay?: number;
}

/** Options of `listen()`. */
export interface ListenOptions {
  /** How many handlers may run at once. @default 1 */
  concurrency?: number;
  /** ms each claim holds its message; renewed every third of it while the handler runs. @default 30000 */
  lease?: number;
  /** Stops this listener when aborted (its running handlers still settle). */
  signal?: AbortSignal;
}

/** What `listen()` runs for each message: a throw or a rejection is a failed delivery. */
export type QueueHandler<T = unknown> = (value: T, message: QueueMessage<T>) => unknown;

function checkMs(value: unknown, field: string, what: string, max: number, min = 0): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "number") {
    throw new TypeError(`Cannot ${what}: ${field} must be a number of ms, received ${typeName(value)}`);
  }
  if (!Number.isFinite(value) || value < min || value > max) {
    throw new RangeError(
      `Cannot ${what}: ${field} must be a finite number of ms from ${min} to ${max}, received ${value}`,
    );
  }
  return value;
}

/** Checks a queue's name: a string of at most 256 characters, well-formed, without NUL. */
export function checkQueueName(name: unknown, what: string): asserts name is string {
  if (typeof name !== "string") {
    throw new TypeError(`Cannot ${what}: the queue's name must be a string, received ${typeName(name)}`);
  }
  if (name.length > 256 || name.includes("\0") || !name.isWellFormed()) {
    throw new RangeError(
      `Cannot ${what}: the queue's name must be at most 256 characters, well-formed, without NUL, received ${
        typeName(name)
      }`,
    );
  }
}

/** Checks the options of `enqueue()`; returns the backoff and dead-letter keys as stored (JSON or null). */
export function checkEnqueue(options: unknown): { delay: number; backoff: string | null; dead: string | null } {
  const what = "enqueue";
  checkOptions(options, ["delay", "backoff", "deadLetterKeys"], what);
  const o = (options ?? {}) as EnqueueOptions;
  const delay = checkMs(o.delay, "delay", what, MAX_DELAY_MS) ?? 0;
  let backoff: string | null = null;
  if (o.backoff !== undefined) {
    if (!Array.isArray(o.backoff)) {
      throw new TypeError(`Cannot ${what}: backoff must be an array of ms, received ${typeName(o.backoff)}`);
    }
    if (o.backoff.length > MAX_BACKOFF_STEPS) {
      throw new RangeError(
        `Cannot ${what}: backoff holds at most ${MAX_BACKOFF_STEPS} retries, received ${o.backoff.length}`,
      );
    }
    for (const step of o.backoff) {
      if (typeof step !== "number") {
        throw new TypeError(`Cannot ${what}: every backoff step must be a number of ms, received ${typeName(step)}`);
      }
      if (!Number.isSafeInteger(step) || step < 0 || step > MAX_BACKOFF_MS) {
        throw new RangeError(
          `Cannot ${what}: every backoff step must be a whole number of ms from 0 to ${MAX_BACKOFF_MS}, received ${step}`,
        );
      }
    }
    backoff = JSON.stringify(o.backoff);
  }
  let dead: string | null = null;
  if (o.deadLetterKeys !== undefined) {
    if (!Array.isArray(o.deadLetterKeys)) {
      throw new TypeError(
        `Cannot ${what}: deadLetterKeys must be an array of keys, received ${typeName(o.deadLetterKeys)}`,
      );
    }
    for (const key of o.deadLetterKeys) checkKey(key, what);
    dead = JSON.stringify(o.deadLetterKeys);
  }
  return { delay, backoff, dead };
}

/** Checks a lease in ms (claim, listen). */
export function checkLease(value: unknown, what: string): number {
  return checkMs(value, "lease", what, MAX_DELAY_MS, 1) ?? DEFAULT_LEASE;
}

/** Checks a message id. */
export function checkId(id: unknown, what: string): asserts id is number {
  if (typeof id !== "number") throw new TypeError(`Cannot ${what}: id must be a message id, received ${typeName(id)}`);
  if (!Number.isSafeInteger(id) || id < 1) {
    throw new RangeError(`Cannot ${what}: id must be a message id (a whole number >= 1), received ${id}`);
  }
}

/** Checks the options of `nack()`; returns the delay, or `undefined` for the retry schedule. */
export function checkNack(options: unknown): number | undefined {
  checkOptions(options, ["delay"], "nack message");
  return checkMs((options as NackOptions | undefined)?.delay, "delay", "nack message", MAX_DELAY_MS);
}

/** Checks the options of `listen()` (the handler's type included). */
export function checkListen(
  handler: unknown,
  options: unknown,
): { concurrency: number; lease: number; signal?: AbortSignal } {
  const what = "listen";
  if (typeof handler !== "function") {
    throw new TypeError(`Cannot ${what}: handler must be a function, received ${typeName(handler)}`);
  }
  checkOptions(options, ["concurrency", "lease", "signal"], what);
  const o = (options ?? {}) as ListenOptions;
  const concurrency = o.concurrency ?? 1;
  if (typeof concurrency !== "number") {
    throw new TypeError(`Cannot ${what}: concurrency must be a number, received ${typeName(concurrency)}`);
  }
  if (!Number.isSafeInteger(concurrency) || concurrency < 1 || concurrency > 1000) {
    throw new RangeError(`Cannot ${what}: concurrency must be a whole number from 1 to 1000, received ${concurrency}`);
  }
  if (o.signal !== undefined && !(o.signal instanceof AbortSignal)) {
    throw new TypeError(`Cannot ${what}: signal must be an AbortSignal, received ${typeName(o.signal)}`);
  }
  return { concurrency, lease: checkLease(o.lease, what), ...(o.signal === undefined ? {} : { signal: o.signal }) };
}

/** The SQL that creates the queue table of key table `table`. */
export function createQueueSql(table: string): string {
  const q = quoteName(queueTableName(table));
  return `CREATE TABLE IF NOT EXISTS ${q} (
  id INTEGER PRIMARY KEY,
  queue TEXT NOT NULL,
  due INTEGER NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  owner TEXT,
  v BLOB,
  kind INTEGER NOT NULL,
  backoff TEXT,
  dead_keys TEXT,
  dead INTEGER NOT NULL DEFAULT 0,
  enqueued INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS ${quoteName(`${queueTableName(table)}.due`)} ON ${q} (queue, dead, due, id);`;
}

/**
 * The statements of one named queue, on one connection: the same work for the
 * synchronous store and for the async client's worker.
 */
export class QueueStore {
  readonly conn: Connection;
  readonly table: Table;
  readonly name: string;
  /** This claimer's token: ack, nack and renew act only on the messages it holds. */
  readonly owner: string = globalThis.crypto.randomUUID();
  readonly #q: string;
  #ready = false;

  constructor(conn: Connection, table: Table, name: string) {
    this.conn = conn;
    this.table = table;
    this.name = name;
    this.#q = quoteName(queueTableName(table.name));
  }

  /** The queue table's name: writes to it wake the file's listeners. */
  get tableName(): string {
    return queueTableName(this.table.name);
  }

  #prepare(sql: string) {
    if (!this.#ready) {
      if (!this.conn.readOnly) {
        this.conn.claimWrite();
        this.conn.exec(createQueueSql(this.table.name));
      }
      this.#ready = true;
    }
    return this.conn.prepare(sql);
  }

  #changed(): void {
    this.conn.changed(this.tableName);
  }

  /** Adds an encoded message; returns its id. */
  enqueue(v: SqlValue, kind: number, options: { delay: number; backoff: string | null; dead: string | null }): number {
    this.conn.claimWrite();
    const now = this.conn.now();
    const row = this.#prepare(
      `INSERT INTO ${this.#q} (queue, due, v, kind, backoff, dead_keys, enqueued) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`,
    ).get([this.name, Math.ceil(now + options.delay), v, kind, options.backoff, options.dead, now])!;
    this.#changed();
    return Number(row[0]);
  }

  /** Claims the next message that is due, for `lease` ms. */
  claim(lease: number, codec: Codec): QueueMessage | undefined {
    this.conn.claimWrite();
    const now = this.conn.now();
    const row = this.#prepare(
      `UPDATE ${this.#q} SET owner = ?, due = ?, attempts = attempts + 1 WHERE id = (SELECT id FROM ${this.#q}
WHERE queue = ? AND dead = 0 AND due <= ? ORDER BY due, id LIMIT 1) RETURNING id, v, kind, attempts, enqueued`,
    ).get([this.owner, Math.ceil(now + lease), this.name, now]);
    return row === undefined ? undefined : this.#message(row, codec);
  }

  #message(row: SqlRow, codec: Codec): QueueMessage {
    return {
      id: Number(row[0]),
      value: decodeValue(row[1], row[2], codec),
      attempts: Number(row[3]),
      enqueuedAt: Number(row[4]),
    };
  }

  /** Deletes a message this claimer holds; false when it does not hold it (any more). */
  ack(id: number): boolean {
    this.conn.claimWrite();
    return this.#prepare(`DELETE FROM ${this.#q} WHERE id = ? AND owner = ? AND queue = ?`).run([
      id,
      this.owner,
      this.name,
    ]) > 0;
  }

  /** Extends the lease of a message this claimer holds. */
  renew(id: number, lease: number): boolean {
    this.conn.claimWrite();
    return this.#prepare(`UPDATE ${this.#q} SET due = ? WHERE id = ? AND owner = ? AND queue = ? AND dead = 0`).run([
      Math.ceil(this.conn.now() + lease),
      id,
      this.owner,
      this.name,
    ]) > 0;
  }

  /**
   * Gives back a message this claimer holds: after `delay` ms, or as its
   * retry schedule says, and to the dead-letter list (its dead-letter keys
   * written) once the schedule is spent. False when it does not hold it.
   */
  nack(id: number, delay: number | undefined): boolean {
    this.conn.claimWrite();
    return this.conn.atomic(() => {
      const row = this.#prepare(
        `SELECT attempts, backoff, dead_keys, v, kind FROM ${this.#q} WHERE id = ? AND owner = ? AND queue = ? AND dead = 0`,
      ).get([id, this.owner, this.name]);
      if (row === undefined) return false;
      const now = this.conn.now();
      const attempts = Number(row[0]);
      const schedule = row[1] === null ? DEFAULT_BACKOFF : JSON.parse(row[1] as string) as number[];
      if (delay === undefined && attempts > schedule.length) {
        this.#prepare(`UPDATE ${this.#q} SET dead = 1, owner = NULL, due = ? WHERE id = ?`).run([now, id]);
        const keys = row[2] === null ? [] : JSON.parse(row[2] as string) as string[];
        for (const key of keys) writes.set(this.conn, this.table, key, row[3]!, Number(row[4]), undefined);
      } else {
        const wait = delay ?? schedule[attempts - 1]!;
        this.#prepare(`UPDATE ${this.#q} SET owner = NULL, due = ? WHERE id = ?`).run([Math.ceil(now + wait), id]);
      }
      this.#changed();
      return true;
    });
  }

  /** The next `n` messages in delivery order that nobody holds, without claiming them. */
  peek(n: number, codec: Codec): QueueMessage[] {
    return this.#prepare(
      `SELECT id, v, kind, attempts, enqueued FROM ${this.#q} WHERE queue = ? AND dead = 0
AND (owner IS NULL OR due <= ?) ORDER BY due, id LIMIT ?`,
    ).all([this.name, this.conn.now(), n]).map((row) => this.#message(row, codec));
  }

  /** How many messages are waiting or being handled (dead letters aside). */
  size(): number {
    return Number(this.#prepare(`SELECT count(*) FROM ${this.#q} WHERE queue = ? AND dead = 0`).get([this.name])![0]);
  }

  /** The dead-letter list, oldest first. */
  deadLetters(codec: Codec): QueueMessage[] {
    return this.#prepare(
      `SELECT id, v, kind, attempts, enqueued FROM ${this.#q} WHERE queue = ? AND dead = 1 ORDER BY due, id`,
    ).all([this.name]).map((row) => this.#message(row, codec));
  }

  /** Puts a dead letter back in the queue, due now, its attempts counted from 0; false when it is not one. */
  retry(id: number): boolean {
    this.conn.claimWrite();
    const done = this.#prepare(
      `UPDATE ${this.#q} SET dead = 0, attempts = 0, owner = NULL, due = ? WHERE id = ? AND queue = ? AND dead = 1`,
    ).run([this.conn.now(), id, this.name]) > 0;
    if (done) this.#changed();
    return done;
  }

  /** When the next message not held by anyone becomes due, ms; `undefined` when the queue is empty. */
  nextDue(): number | undefined {
    const row = this.#prepare(`SELECT min(due) FROM ${this.#q} WHERE queue = ? AND dead = 0`).get([this.name])!;
    return row[0] === null ? undefined : Number(row[0]);
  }
}
