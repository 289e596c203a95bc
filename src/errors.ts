/**
 * The errors kvsqlite throws. Bad arguments are the built-in `TypeError` and
 * `RangeError`; every failure a caller may want to catch is a {@link KvError}.
 *
 * @module
 */

/** The machine-readable kind of a {@link KvError}. */
export type KvErrorCode =
  | "KV_ERROR"
  | "KV_CLOSED"
  | "KV_BUSY"
  | "KV_READ_ONLY"
  | "KV_CORRUPT"
  | "KV_SCHEMA"
  | "KV_CODEC"
  | "KV_FULL"
  | "KV_CHANGES_GAP"
  | "KV_CONFLICT"
  | "KV_CONNECTION"
  | "TRANSACTION_TIMEOUT"
  | "WORKER_EXITED";

/** Options accepted by every kvsqlite error constructor. */
export interface KvErrorOptions {
  /** The underlying error, usually the driver's. */
  cause?: unknown;
  /** The SQL statement that failed, when there was one. Bound values are never kept. */
  sql?: string;
}

/**
 * The base class of every kvsqlite error.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { KvError, openKv } from "@kvsqlite/kvsqlite";
 * const kv = openKv();
 * kv.close();
 * try {
 *   kv.get("a");
 * } catch (error) {
 *   assert(error instanceof KvError && error.code === "KV_CLOSED");
 * }
 * ```
 */
export class KvError extends Error {
  /** What kind of failure this is. */
  readonly code: KvErrorCode;
  /** The SQL statement that failed, if any. */
  readonly sql: string | undefined;

  /**
   * Creates the error.
   * @param message What went wrong, in a sentence.
   * @param options The cause and the failing SQL.
   * @param code The kind of failure.
   */
  constructor(message: string, options: KvErrorOptions = {}, code: KvErrorCode = "KV_ERROR") {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.sql = options.sql;
  }
}

/** The store was closed; no call can be made on it any more. */
export class KvClosedError extends KvError {
  /**
   * Creates the error.
   * @param message What was attempted.
   * @param options The cause and the failing SQL.
   */
  constructor(message = "The store is closed", options: KvErrorOptions = {}) {
    super(message, options, "KV_CLOSED");
  }
}

/** SQLite stayed busy or locked for longer than `busyTimeout`. */
export class KvBusyError extends KvError {
  /**
   * Creates the error.
   * @param message What was attempted.
   * @param options The cause and the failing SQL.
   */
  constructor(message: string, options: KvErrorOptions = {}) {
    super(message, options, "KV_BUSY");
  }
}

/** A write was attempted on a store opened read-only or on a read-only file. */
export class KvReadOnlyError extends KvError {
  /**
   * Creates the error.
   * @param message What was attempted.
   * @param options The cause and the failing SQL.
   */
  constructor(message: string, options: KvErrorOptions = {}) {
    super(message, options, "KV_READ_ONLY");
  }
}

/** The database file is damaged or is not a SQLite database. */
export class KvCorruptError extends KvError {
  /**
   * Creates the error.
   * @param message What was found.
   * @param options The cause and the failing SQL.
   */
  constructor(message: string, options: KvErrorOptions = {}) {
    super(message, options, "KV_CORRUPT");
  }
}

/** The file's schema is one this version of kvsqlite does not know. */
export class KvSchemaError extends KvError {
  /**
   * Creates the error.
   * @param message What was found.
   * @param options The cause and the failing SQL.
   */
  constructor(message: string, options: KvErrorOptions = {}) {
    super(message, options, "KV_SCHEMA");
  }
}

/** A value could not be encoded or a stored value could not be decoded. */
export class KvCodecError extends KvError {
  /**
   * Creates the error.
   * @param message What could not be encoded.
   * @param options The cause and the failing SQL.
   */
  constructor(message: string, options: KvErrorOptions = {}) {
    super(message, options, "KV_CODEC");
  }
}

/**
 * `changes({ since })` was given a cursor older than what the change log
 * still holds (its retention dropped the changes after it): the feed cannot
 * be followed on from there without missing changes.
 */
export class KvChangesGapError extends KvError {
  /**
   * Creates the error.
   * @param message What was asked and what the log holds.
   * @param options The cause and the failing SQL.
   */
  constructor(message: string, options: KvErrorOptions = {}) {
    super(message, options, "KV_CHANGES_GAP");
  }
}

// SQLite's own result strings (sqlite3_errstr), the same in every build, for
// drivers that report an error only by its message.
const MESSAGE_CODES: [RegExp, number][] = [
  [/database is locked/i, 5],
  [/database table is locked|database schema is locked/i, 6],
  [/readonly database|read-only database/i, 8],
  [/database or disk is full/i, 13],
  [/unable to open database file/i, 14],
  [/disk image is malformed|database corruption/i, 11],
  [/file is not a database|file is encrypted/i, 26],
];

/** SQLite's primary result code of a driver error, from the driver or from SQLite's standard message. */
export function primaryCode(error: unknown, driverCode: number | undefined): number | undefined {
  if (driverCode !== undefined) return driverCode & 0xff;
  const message = error instanceof Error ? error.message : String(error);
  for (const [pattern, code] of MESSAGE_CODES) {
    if (pattern.test(message)) return code;
  }
  return undefined;
}

/**
 * Turns a driver failure into the kvsqlite error of the same meaning, keeping
 * the driver's error as `cause` and the SQL text, never the bound values.
 */
export function wrapDriverError(
  error: unknown,
  what: string,
  driverCode: number | undefined,
  sql?: string,
): KvError {
  if (error instanceof KvError) return error;
  const detail = error instanceof Error ? error.message : String(error);
  const options: KvErrorOptions = sql === undefined ? { cause: error } : { cause: error, sql };
  switch (primaryCode(error, driverCode)) {
    case 5:
    case 6:
      return new KvBusyError(`${what}: the database stayed locked (${detail})`, options);
    case 8:
      return new KvReadOnlyError(`${what}: the database is read-only (${detail})`, options);
    case 11:
    case 26:
      return new KvCorruptError(`${what}: the database file is damaged (${detail})`, options);
    case 13:
      // Not a subclass: the store is sound, and a caller reacts by code (free space, then retry).
      return new KvError(`${what}: the disk is full (${detail}); nothing of this call was written`, options, "KV_FULL");
    default:
      return new KvError(`${what}: ${detail}`, options);
  }
}
