/**
 * Deno KV's limits and the checks of its arguments, with Deno KV's error
 * classes and message texts, so that code written against `Deno.Kv` sees the
 * same failures: key sizes, ranges per read, checks and mutations per commit,
 * total sizes, `expireIn`, queue delays and retry schedules.
 *
 * @module
 */
import { encodeKey } from "./key.ts";

/** The largest key a write may use, in encoded bytes. */
export const MAX_WRITE_KEY_BYTES = 2048;
/** The largest key a read may use, in encoded bytes (one more: a range end past every written key). */
export const MAX_READ_KEY_BYTES = MAX_WRITE_KEY_BYTES + 1;
/** The most ranges (keys) of one `getMany`. */
export const MAX_READ_RANGES = 10;
/** The most entries one read returns. */
export const MAX_READ_ENTRIES = 1000;
/** The most checks of one commit. */
export const MAX_CHECKS = 100;
/** The most mutations and enqueues of one commit. */
export const MAX_MUTATIONS = 1000;
/** The largest total of keys, values and payloads of one commit, bytes. */
export const MAX_TOTAL_MUTATION_BYTES = 800 * 1024;
/** The largest total of the keys of one commit's mutations, bytes. */
export const MAX_TOTAL_KEY_BYTES = 80 * 1024;
/** The most keys one `watch` follows. */
export const MAX_WATCHED_KEYS = 10;
/** The longest delay of an enqueued message, ms. */
export const MAX_QUEUE_DELAY = 30 * 24 * 60 * 60 * 1000;
/** The most retries of a message's backoff schedule, and the longest one, ms. */
export const MAX_BACKOFF_INTERVALS = 5;
/** The longest retry interval, ms. */
export const MAX_BACKOFF_INTERVAL = 60 * 60 * 1000;

/** The encoded size of a key a write uses; `TypeError` past the limit. */
export function checkWriteKey(bytes: Uint8Array): number {
  if (bytes.length > MAX_WRITE_KEY_BYTES) {
    throw new TypeError(`Key too large for write (max ${MAX_WRITE_KEY_BYTES} bytes)`);
  }
  return bytes.length;
}

/** The encoded bytes of a key a read uses (its parts checked); `TypeError` past the read limit. */
export function readKey(key: unknown): Uint8Array {
  const bytes = encodeKey(key);
  checkReadKey(bytes);
  return bytes;
}

/** The encoded size of a key a read uses; `TypeError` past the limit. */
export function checkReadKey(bytes: Uint8Array): number {
  if (bytes.length + 1 > MAX_READ_KEY_BYTES) {
    throw new TypeError(`Key too large for read (max ${MAX_READ_KEY_BYTES} bytes)`);
  }
  return bytes.length;
}

/** Checks `expireIn` (ms) as Deno KV does when a mutation is added: a whole number >= 0. */
export function checkExpireIn(expireIn: unknown): number | undefined {
  if (expireIn === undefined) return undefined;
  if (typeof expireIn !== "number" || !Number.isInteger(expireIn) || expireIn < 0) {
    throw new TypeError(`expireIn must be a non-negative integer: received ${String(expireIn)}`);
  }
  return expireIn;
}

/** The time a key set now for `expireIn` ms expires; `TypeError` at commit past what a date can hold. */
export function expiryOf(now: number, expireIn: number): number {
  // Deno KV's own backend panicked on such a time; it refuses it now, at commit.
  if (now + expireIn > 8.64e15) throw new TypeError("expireIn is too large");
  return now + expireIn;
}

/** Checks an enqueue's `delay` (Deno KV's messages). */
export function checkDelay(delay: unknown): number {
  if (delay === undefined) return 0;
  if (typeof delay !== "number") throw new TypeError(`Delay must be a number: received ${typeof delay}`);
  if (delay < 0) throw new TypeError(`Delay must be >= 0: received ${delay}`);
  if (delay > MAX_QUEUE_DELAY) throw new TypeError(`Delay cannot be greater than 30 days: received ${delay}`);
  if (Number.isNaN(delay)) throw new TypeError("Delay cannot be NaN");
  return delay;
}

/** Checks an enqueue's `backoffSchedule` (Deno KV's messages). */
export function checkBackoff(schedule: unknown): number[] | undefined {
  if (schedule === undefined || schedule === null) return undefined;
  if (!Array.isArray(schedule)) throw new TypeError("Invalid backoffSchedule, expected an array of numbers");
  if (schedule.length > MAX_BACKOFF_INTERVALS) {
    throw new TypeError(`Invalid backoffSchedule, max ${MAX_BACKOFF_INTERVALS} intervals allowed`);
  }
  schedule.forEach((interval, i) => {
    if (typeof interval !== "number" || !(interval >= 0 && interval <= MAX_BACKOFF_INTERVAL)) {
      throw new TypeError(`Invalid backoffSchedule, interval at index ${i} is invalid`);
    }
  });
  return schedule;
}

/** Running totals of one commit, checked against Deno KV's limits. */
export class CommitSize {
  #payload = 0;
  #keys = 0;

  /** A check's key. */
  check(bytes: Uint8Array): void {
    this.#payload += checkReadKey(bytes);
  }

  /** A mutation's key, and its value's size. */
  mutation(bytes: Uint8Array, valueSize: number): void {
    if (bytes.length === 0) throw new TypeError("Key cannot be empty");
    const size = checkWriteKey(bytes);
    this.#payload += size + valueSize;
    this.#keys += size;
  }

  /** An enqueue's payload, its keys if undelivered and its schedule. */
  enqueue(payloadSize: number, keys: Uint8Array[], schedule: number[] | undefined): void {
    this.#payload += payloadSize + 4 * (schedule?.length ?? 0);
    for (const key of keys) this.#payload += checkWriteKey(key);
  }

  /** Throws when a total is past its limit. */
  done(): void {
    if (this.#payload > MAX_TOTAL_MUTATION_BYTES) {
      throw new TypeError(`Total mutation size too large (max ${MAX_TOTAL_MUTATION_BYTES} bytes)`);
    }
    if (this.#keys > MAX_TOTAL_KEY_BYTES) {
      throw new TypeError(`Total key size too large (max ${MAX_TOTAL_KEY_BYTES} bytes)`);
    }
  }
}
