/**
 * One change detector per file and process: what watchers and queue
 * listeners wake on. A write through any store of this process on the file
 * reaches it at once (the file's change feed); a commit of another process (or
 * of another thread of this one) is seen through `PRAGMA data_version`, read
 * every `pollInterval` ms while anyone listens (about 2 µs a read). The timer
 * starts with the first subscriber and stops with the last, and never keeps
 * the process alive.
 *
 * @module
 */

import type { Connection } from "../connection.ts";
import type { ChangeFeed, ChangeListener } from "../feed.ts";
import { later, unrefInterval } from "../runtime.ts";

/** What a subscriber is told. */
export interface Subscriber {
  /** The connection it reads through (polled for data_version while it is open). */
  readonly conn: Connection;
  /**
   * Something may have changed: `table` (and `key`) when a write of this
   * process says which, `undefined` for a commit of another connection.
   * Called after the writing task, never inside a write.
   */
  changed(table: string | undefined, key: string | undefined): void;
  /** A poll found nothing new: a chance to look at the clock (expiry, due messages). */
  tick?(): void;
}

/** The detector of one file in this process. */
export class Detector {
  readonly #feed: ChangeFeed;
  readonly #subscribers = new Set<Subscriber>();
  #timer: ReturnType<typeof setInterval> | undefined;
  #interval = 0;
  /** The connection whose data_version is read, and what it last said. */
  #polled: Connection | undefined;
  #version: unknown;
  /** Writes of this process told since the last delivery: table and key, or a whole table. */
  #pending: [string | undefined, string | undefined][] = [];
  #scheduled = false;
  readonly #listener: ChangeListener = (table, key) => this.#local(table, key);

  constructor(feed: ChangeFeed) {
    this.#feed = feed;
  }

  /** Adds a subscriber; returns its unsubscribe. The poll runs every `interval` ms (the smallest asked for). */
  subscribe(subscriber: Subscriber, interval: number): () => void {
    if (this.#subscribers.size === 0) this.#feed.listeners.add(this.#listener);
    this.#subscribers.add(subscriber);
    // Read now, so that any commit after this call is seen (the subscriber reads its state after subscribing).
    if (this.#polled === undefined || this.#polled.closed) this.#pick();
    if (this.#timer === undefined || interval < this.#interval) this.#start(interval);
    return () => this.#unsubscribe(subscriber);
  }

  /** Polls through another open connection of a subscriber; false when none is left. */
  #pick(): boolean {
    const conn = [...this.#subscribers].find((s) => !s.conn.closed)?.conn;
    this.#polled = conn;
    if (conn === undefined) return false;
    this.#version = this.#read(conn);
    return true;
  }

  #unsubscribe(subscriber: Subscriber): void {
    if (!this.#subscribers.delete(subscriber)) return;
    if (this.#subscribers.size > 0) return;
    this.#feed.listeners.delete(this.#listener);
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#polled = undefined;
  }

  #start(interval: number): void {
    clearInterval(this.#timer);
    this.#interval = interval;
    this.#timer = unrefInterval(() => this.#poll(), interval);
  }

  /** Whether writes of this process are waiting to be delivered (once the current task has ended). */
  get delivering(): boolean {
    return this.#scheduled;
  }

  /** A write of this process: delivered once the writing task has ended (a batch has committed by then). */
  #local(table: string | undefined, key: string | undefined): void {
    this.#pending.push([table, key]);
    if (this.#scheduled) return;
    this.#scheduled = true;
    later(() => {
      this.#scheduled = false;
      const pending = this.#pending;
      this.#pending = [];
      const whole = pending.some(([table]) => table === undefined);
      for (const subscriber of [...this.#subscribers]) {
        if (whole) subscriber.changed(undefined, undefined);
        else for (const [table, key] of pending) subscriber.changed(table, key);
      }
    });
  }

  #poll(): void {
    const conn = this.#polled;
    if (conn === undefined || conn.closed) {
      // What the closed connection would have seen since its last read is not known: everyone looks.
      if (this.#pick()) { for (const subscriber of this.#subscribers) subscriber.changed(undefined, undefined); }
      return;
    }
    const version = this.#read(conn);
    if (version === undefined) return;
    if (version !== this.#version) {
      this.#version = version;
      for (const subscriber of this.#subscribers) subscriber.changed(undefined, undefined);
    } else {
      // Iterated as it is, not copied: no subscriber leaves the set while it is told.
      for (const subscriber of this.#subscribers) subscriber.tick?.();
    }
  }

  /** data_version, or `undefined` when the connection cannot answer now (it is busy, or closing). */
  #read(conn: Connection): unknown {
    try {
      conn.counters.polls++;
      return conn.prepare("PRAGMA data_version").get([])![0];
    } catch {
      return undefined;
    }
  }
}

const detectors = new WeakMap<ChangeFeed, Detector>();

/** The detector of the file `conn` is open on, in this process (thread). */
export function detectorFor(conn: Connection): Detector {
  let detector = detectors.get(conn.feed);
  if (detector === undefined) detectors.set(conn.feed, detector = new Detector(conn.feed));
  return detector;
}
