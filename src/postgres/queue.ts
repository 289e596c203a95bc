/**
 * Queues on PostgreSQL: the messages of every named queue of a key table in
 * one table (FORMAT.md), claimed with `FOR UPDATE SKIP LOCKED` so that many
 * machines' listeners never take the same message, with the core's leases,
 * retry schedules and dead letters. The queue object and its `listen()` loop
 * are the async client's ({@link KvQueueAsync}): its calls are answered here
 * instead of by a worker, and a listener with nothing to claim waits for the
 * queue table's notification or its next message coming due.
 *
 * @module
 */

import type { Codec } from "../codec.ts";
import { quoteName } from "../names.ts";
import { DEFAULT_BACKOFF, type QueueMessage, queueTableName } from "../queue/queue.ts";
import type { Member, WatchHub } from "./watch.ts";
import { fromColumns, NOW } from "./sql.ts";

/** How the queue runs a statement (`$1` is the time, as in the store) and a transaction. */
export interface QueueRunner {
  query(sql: string, params: unknown[]): Promise<unknown[][]>;
  atomic<R>(fn: (query: (sql: string, params: unknown[]) => Promise<unknown[][]>) => Promise<R>): Promise<R>;
  /** Writes an encoded value (`t, n, b` as hex, kind) to a key of the queue's key table (a dead letter's keys). */
  setKey(key: string, columns: [string | null, number | null, string | null, number]): Promise<void>;
  codec: Codec;
  hub: () => WatchHub;
  /** The clock's reading, ms, for a listener's wait (the store's clock, or this machine's). */
  now(): number;
}

/** The statements that make a key table's queue table, its index and its trigger. */
export function createQueueTableSql(table: string): string[] {
  const q = quoteName(queueTableName(table));
  return [
    `CREATE TABLE IF NOT EXISTS ${q} (
      id BIGSERIAL PRIMARY KEY,
      queue TEXT COLLATE "C" NOT NULL,
      due BIGINT NOT NULL,
      attempts INTEGER NOT NULL DEFAULT 0,
      owner TEXT,
      t TEXT,
      n DOUBLE PRECISION,
      b BYTEA,
      kind SMALLINT NOT NULL,
      backoff TEXT,
      dead_keys TEXT,
      dead BOOLEAN NOT NULL DEFAULT false,
      enqueued BIGINT NOT NULL
    )`,
    `CREATE INDEX IF NOT EXISTS ${quoteName(`${queueTableName(table)}.due`)} ON ${q} (queue, dead, due, id)`,
    `CREATE OR REPLACE TRIGGER "kvsqlite_notify" AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON ${q}
      FOR EACH STATEMENT EXECUTE FUNCTION kvsqlite_notify()`,
  ];
}

/** A message's columns as the statements return them, in the order {@link PgQueueStore}'s `#message` reads. */
const MESSAGE = "id::float8, t, n, b, kind, attempts, enqueued::float8";

/** The statements of one named queue of a key table, for one claimer. */
export class PgQueueStore {
  readonly #run: QueueRunner;
  readonly #q: string;
  readonly tableName: string;
  readonly name: string;
  /** This claimer's token: ack, nack and renew act only on the messages it holds. */
  readonly owner: string = globalThis.crypto.randomUUID();

  constructor(run: QueueRunner, table: string, name: string) {
    this.#run = run;
    this.tableName = queueTableName(table);
    this.#q = quoteName(this.tableName);
    this.name = name;
  }

  #message(row: unknown[]): QueueMessage {
    // MESSAGE's columns
    return {
      id: Number(row[0]),
      value: fromColumns(row, 1, this.#run.codec),
      attempts: Number(row[5]),
      enqueuedAt: Number(row[6]),
    };
  }

  /** Adds an encoded message; returns its id. */
  async enqueue(
    columns: [string | null, number | null, string | null, number],
    options: { delay: number; backoff: string | null; dead: string | null },
  ): Promise<number> {
    const rows = await this.#run.query(
      `INSERT INTO ${this.#q} (queue, due, t, n, b, kind, backoff, dead_keys, enqueued)
        VALUES ($2, ceil(${NOW} + $3), $4, $5, decode($6, 'hex'), $7, $8, $9, ${NOW}) RETURNING id::float8`,
      [this.name, options.delay, ...columns, options.backoff, options.dead],
    );
    return Number(rows[0]![0]);
  }

  /** Claims the next due message for `lease` ms, skipping those other claimers are taking. */
  async claim(lease: number): Promise<QueueMessage | undefined> {
    const rows = await this.#run.query(
      `UPDATE ${this.#q} SET owner = $2, due = ceil(${NOW} + $3), attempts = attempts + 1
        WHERE id = (SELECT id FROM ${this.#q} WHERE queue = $4 AND NOT dead AND due <= ${NOW}
          ORDER BY due, id LIMIT 1 FOR UPDATE SKIP LOCKED)
        RETURNING ${MESSAGE}`,
      [this.owner, lease, this.name],
    );
    return rows.length === 0 ? undefined : this.#message(rows[0]!);
  }

  /** Deletes a message this claimer holds; false when it does not hold it (any more). */
  async ack(id: number): Promise<boolean> {
    const rows = await this.#run.query(
      `DELETE FROM ${this.#q} WHERE id = $2 AND owner = $3 AND queue = $4 RETURNING 1`,
      [id, this.owner, this.name],
    );
    return rows.length > 0;
  }

  /** Extends the lease of a message this claimer holds. */
  async renew(id: number, lease: number): Promise<boolean> {
    const rows = await this.#run.query(
      `UPDATE ${this.#q} SET due = ceil(${NOW} + $2) WHERE id = $3 AND owner = $4 AND queue = $5 AND NOT dead
        RETURNING 1`,
      [lease, id, this.owner, this.name],
    );
    return rows.length > 0;
  }

  /** Gives back a message this claimer holds: after `delay`, by its schedule, or to the dead letters (keys written). */
  async nack(id: number, delay: number | undefined): Promise<boolean> {
    return await this.#run.atomic(async (query) => {
      const rows = await query(
        `SELECT attempts, backoff, dead_keys, t, n, encode(b, 'hex'), kind FROM ${this.#q}
          WHERE id = $2 AND owner = $3 AND queue = $4 AND NOT dead FOR UPDATE`,
        [id, this.owner, this.name],
      );
      if (rows.length === 0) return false;
      const [attempts, backoff, deadKeys, t, n, b, kind] = rows[0]!;
      const schedule = backoff === null ? DEFAULT_BACKOFF : JSON.parse(backoff as string) as number[];
      if (delay === undefined && Number(attempts) > schedule.length) {
        await query(`UPDATE ${this.#q} SET dead = true, owner = NULL, due = ${NOW} WHERE id = $2`, [id]);
        const keys = deadKeys === null ? [] : JSON.parse(deadKeys as string) as string[];
        for (const key of keys) {
          await this.#run.setKey(key, [
            t as string | null,
            n === null ? null : Number(n),
            b as string | null,
            Number(kind),
          ]);
        }
      } else {
        const wait = delay ?? schedule[Number(attempts) - 1]!;
        await query(`UPDATE ${this.#q} SET owner = NULL, due = ceil(${NOW} + $2) WHERE id = $3`, [wait, id]);
      }
      return true;
    });
  }

  /** The next `n` messages in delivery order that nobody holds, without claiming them. */
  async peek(n: number): Promise<QueueMessage[]> {
    const rows = await this.#run.query(
      `SELECT ${MESSAGE} FROM ${this.#q} WHERE queue = $2 AND NOT dead
        AND (owner IS NULL OR due <= ${NOW}) ORDER BY due, id LIMIT $3`,
      [this.name, n],
    );
    return rows.map((row) => this.#message(row));
  }

  /** How many messages are waiting or being handled (dead letters aside). */
  async size(): Promise<number> {
    const rows = await this.#run.query(`SELECT count(*) FROM ${this.#q} WHERE queue = $2 AND NOT dead`, [this.name]);
    return Number(rows[0]![0]);
  }

  /** The dead-letter list, oldest first. */
  async deadLetters(): Promise<QueueMessage[]> {
    const rows = await this.#run.query(
      `SELECT ${MESSAGE} FROM ${this.#q} WHERE queue = $2 AND dead ORDER BY due, id`,
      [this.name],
    );
    return rows.map((row) => this.#message(row));
  }

  /** Puts a dead letter back, due now, its attempts counted from 0; false when it is not one. */
  async retry(id: number): Promise<boolean> {
    const rows = await this.#run.query(
      `UPDATE ${this.#q} SET dead = false, attempts = 0, owner = NULL, due = ${NOW}
        WHERE id = $2 AND queue = $3 AND dead RETURNING 1`,
      [id, this.name],
    );
    return rows.length > 0;
  }

  /** Ms from now until the next message not held by anyone comes due; `undefined` when the queue is empty. */
  async nextDue(): Promise<number | undefined> {
    const rows = await this.#run.query(
      `SELECT min(due) - ${NOW} FROM ${this.#q} WHERE queue = $2 AND NOT dead`,
      [this.name],
    );
    return rows[0]![0] === null ? undefined : Number(rows[0]![0]);
  }

  /**
   * Resolves when the queue table is written by anyone (its notification),
   * when its next message comes due, after `max` ms, or when `stop` aborts.
   */
  async wait(max: number, stop: AbortSignal): Promise<void> {
    if (stop.aborted) return;
    const hub = this.#run.hub();
    let member!: Member;
    const done = new Promise<void>((resolve) => {
      member = { table: this.tableName, touch: resolve, tick: () => {} };
    });
    hub.add(member);
    try {
      await hub.ready(this.tableName);
      const due = await this.nextDue();
      const wait = Math.max(0, Math.min(max, due ?? max));
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        done,
        new Promise<void>((resolve) => (timer = setTimeout(resolve, wait))),
        new Promise<void>((resolve) => stop.addEventListener("abort", () => resolve(), { once: true })),
      ]);
      clearTimeout(timer);
    } finally {
      hub.delete(member);
    }
  }
}
