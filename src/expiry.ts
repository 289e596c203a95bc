/**
 * Expiry: every expiry is an absolute time in milliseconds since the epoch,
 * computed from the injected clock, never from SQLite's.
 *
 * @module
 */

import { typeName } from "./check.ts";

/** How long a written key lives. Give at most one of the two. */
export interface ExpiryOptions {
  /** Time to live in ms from now: a finite number > 0. */
  ttl?: number;
  /** Absolute expiry, ms since the epoch or a `Date`. In the past: written already expired. */
  expiresAt?: number | Date;
}

/** A row is live when it has no expiry or its expiry is after `now`. */
export function isLive(expireTime: unknown, now: number): boolean {
  return expireTime === null || (expireTime as number) > now;
}

/** Checks a ttl argument and returns the absolute expiry it means. */
export function ttlToTime(ttl: unknown, now: number, what: string): number {
  if (typeof ttl !== "number") {
    throw new TypeError(`Cannot ${what}: ttl must be a number of milliseconds, received ${typeName(ttl)}`);
  }
  // 0 is refused, not read as "never" (Keyv) nor "already expired": a TTL
  // that rounds to 0 must fail loudly, as Redis refuses it.
  if (!Number.isFinite(ttl) || ttl <= 0) {
    throw new RangeError(`Cannot ${what}: ttl must be a finite number > 0, received ${ttl}`);
  }
  // Up, so that any ttl > 0 leaves the key alive for at least 1 ms.
  return Math.ceil(now + ttl);
}

/** Checks an absolute time argument (ms or `Date`) and returns it in ms. */
export function atToTime(at: unknown, what: string): number {
  const ms = at instanceof Date ? at.getTime() : at;
  if (typeof ms !== "number") {
    throw new TypeError(`Cannot ${what}: expiresAt must be a number of ms or a Date, received ${typeName(at)}`);
  }
  if (!Number.isFinite(ms)) {
    throw new RangeError(`Cannot ${what}: expiresAt must be a finite time, received ${ms}`);
  }
  return Math.floor(ms);
}

/**
 * The expiry that `options` asks for: a time, `null` for none, or
 * `undefined` when the options say nothing about expiry.
 */
export function expiryOf(options: ExpiryOptions, now: number, what: string): number | undefined {
  if (options.ttl !== undefined) {
    if (options.expiresAt !== undefined) {
      throw new TypeError(`Cannot ${what}: give ttl or expiresAt, not both`);
    }
    return ttlToTime(options.ttl, now, what);
  }
  if (options.expiresAt !== undefined) return atToTime(options.expiresAt, what);
  return undefined;
}
