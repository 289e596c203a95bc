/**
 * `watch()` on PostgreSQL: the state of some keys (or of every key a query
 * matches) now, and again whenever it changes through any machine. Every
 * write statement on a key table notifies the channel `kvsqlite` with the
 * table's name (a statement trigger, FORMAT.md); one listening connection per
 * store, held while watches exist, marks the watches of that table for a new
 * read. A watch reads when asked for its next state and something may have
 * changed; intermediate states may be coalesced, the last one is never missed.
 * Expiry is a change: a tick (every 5 ms, unref'd) compares the clock with the
 * earliest expiry read. A client that cannot listen (Bun's SQL) has its
 * watches read again every 100 ms instead.
 *
 * @module
 */

import type { KvWatch } from "../watch/watch.ts";
import { streamOf } from "../watch/watch.ts";
import { unrefInterval } from "../runtime.ts";
import type { PgClient } from "./client.ts";

/** The channel every key table's writes notify. */
export const CHANNEL = "kvsqlite";

/** What one read of a watch gives: the state (undefined: unchanged), the earliest expiry, and the clock then. */
export interface PgRead<T> {
  state: T | undefined;
  expiry: number | undefined;
  now: number;
}

/** What the hub wakes: a watch, or a queue listener's wait. */
export interface Member {
  table: string;
  touch(): void;
  tick(now: number): void;
  /** Ends it for good when the store closes (a wait has none: it is woken instead). */
  end?(): void;
}

/** The listening connection and the tick of one store's watches. */
export class WatchHub {
  readonly #client: PgClient;
  readonly #members = new Set<Member>();
  #unlisten: Promise<(() => Promise<void>) | undefined> | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;
  #ticks = 0;
  /** The tables marked watched, each with the promise of its mark; renewed while watched. */
  readonly #marked = new Map<string, { at: number; done: Promise<void> }>();

  constructor(client: PgClient) {
    this.#client = client;
  }

  /**
   * Resolves once the connection listens and `table` is marked watched: a
   * watch reads its first state after that, so no later write goes unseen.
   */
  async ready(table: string): Promise<void> {
    await this.#unlisten;
    await this.#marked.get(table)?.done;
  }

  /** Marks `table` watched for 30 s (the triggers then notify its writes). */
  #mark(table: string): void {
    const done = this.#client.query(
      `INSERT INTO "kvsqlite_watched" (tbl, until) VALUES ($1, floor(extract(epoch FROM clock_timestamp()) * 1000) + 30000)
        ON CONFLICT (tbl) DO UPDATE SET until = excluded.until`,
      [table],
    ).then(() => {}, () => {});
    this.#marked.set(table, { at: Date.now(), done });
  }

  /** Adds a watch; the first one starts listening and ticking. */
  add(member: Member): void {
    this.#members.add(member);
    const mark = this.#marked.get(member.table);
    if (this.#client.listen !== undefined && (mark === undefined || Date.now() - mark.at > 10_000)) {
      this.#mark(member.table);
    }
    if (this.#members.size > 1) return;
    this.#unlisten = this.#client.listen?.(CHANNEL, (table) => {
      for (const m of this.#members) if (m.table === table) m.touch();
    }).catch(() => undefined);
    const polls = this.#client.listen === undefined;
    this.#timer = unrefInterval(() => {
      const now = Date.now();
      const tick = ++this.#ticks;
      const poll = polls && tick % 20 === 0; // every 100 ms
      if (!polls && tick % 2000 === 0) {
        // Every 10 s: the marks of the tables still watched are renewed; the others lapse.
        const watched = new Set([...this.#members].map((m) => m.table));
        for (const table of [...this.#marked.keys()]) {
          if (watched.has(table)) this.#mark(table);
          else this.#marked.delete(table);
        }
      }
      for (const m of this.#members) {
        if (poll) m.touch();
        m.tick(now);
      }
    }, 5);
  }

  /** Removes a watch; the last one stops listening and ticking. */
  delete(member: Member): void {
    if (!this.#members.delete(member) || this.#members.size > 0) return;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    const unlisten = this.#unlisten;
    this.#unlisten = undefined;
    void unlisten?.then((stop) => stop?.()).catch(() => {});
  }

  /** Ends every watch (the store closed). */
  close(): void {
    for (const m of [...this.#members]) {
      if (m.end !== undefined) m.end();
      else m.touch();
    }
  }
}

/** One watch: a source read on demand, woken by notifications of its table and by expiry. */
export class PgWatch<T> implements KvWatch<T>, Member {
  readonly table: string;
  readonly #hub: WatchHub;
  readonly #read: (first: boolean) => Promise<PgRead<T>>;
  readonly #clock: () => number;
  /** Whether the store has a clock of its own (else expiry is due by this machine's time, see #dueAt). */
  readonly #hasClock: boolean;
  #first = true;
  #dirty = false;
  #done = false;
  #expiry: number | undefined;
  /** Local time at which the expiry read last is due, when the store has no clock of its own. */
  #dueAt: number | undefined;
  #wake: (() => void) | undefined;

  constructor(
    hub: WatchHub,
    table: string,
    read: (first: boolean) => Promise<PgRead<T>>,
    clock: (() => number) | undefined,
  ) {
    this.table = table;
    this.#hub = hub;
    this.#read = read;
    this.#clock = clock ?? Date.now;
    this.#hasClock = clock !== undefined;
    hub.add(this);
  }

  touch(): void {
    this.#dirty = true;
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  tick(now: number): void {
    if (this.#expiry === undefined) return;
    if (this.#hasClock ? this.#clock() >= this.#expiry : now >= this.#dueAt!) this.touch();
  }

  #noted(r: PgRead<T>): T | undefined {
    this.#expiry = r.expiry;
    this.#dueAt = r.expiry === undefined ? undefined : Date.now() + (r.expiry - r.now);
    return r.state;
  }

  async next(): Promise<IteratorResult<T, undefined>> {
    if (this.#first && !this.#done) {
      this.#first = false;
      await this.#hub.ready(this.table);
      const state = this.#noted(await this.#read(true))!;
      return { done: false, value: state };
    }
    for (;;) {
      if (this.#done) return { done: true, value: undefined };
      if (this.#dirty) {
        this.#dirty = false;
        const state = this.#noted(await this.#read(false));
        if (this.#done) return { done: true, value: undefined };
        if (state !== undefined) return { done: false, value: state };
      }
      await new Promise<void>((resolve) => (this.#wake = resolve));
    }
  }

  return(): Promise<IteratorResult<T, undefined>> {
    this.end();
    return Promise.resolve({ done: true, value: undefined });
  }

  /** Ends the watch. */
  end(): void {
    if (this.#done) return;
    this.#done = true;
    this.#hub.delete(this);
    this.touch();
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  stream(): ReadableStream<T> {
    return streamOf(this);
  }
}
