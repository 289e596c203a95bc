/**
 * The options of `openKv()` and `fromDatabase()`, with their checks.
 *
 * @module
 */

import type { Codec } from "./codec.ts";
import type { KvError } from "./errors.ts";
import { type ChangeFeedRetention, checkRetention } from "./changes.ts";
import { checkName } from "./names.ts";
import { checkBoolean, checkChoice, checkInteger, typeName } from "./check.ts";

/** How a store is opened. Every option is optional. */
export interface KvOptions {
  /** The table that holds the keys (namespaces get `table/name`). @default "kv" */
  table?: string;
  /** Replaces the codec of structured values (objects, arrays, Map, Date, ...). @default tagged JSON */
  codec?: Codec;
  /** The clock, in ms since the epoch. Inject one to test expiry without sleeping. @default Date.now */
  now?: () => number;
  /** Open the file read-only: every write throws `KvReadOnlyError`. @default false */
  readOnly?: boolean;
  /** How long to wait for a lock before `KvBusyError`, in ms. @default 5000 */
  busyTimeout?: number;
  /** SQLite's journal mode. @default "wal" */
  journalMode?: "wal" | "delete";
  /** SQLite's synchronous setting. @default "normal" */
  synchronous?: "normal" | "full" | "off";
  /** `PRAGMA cache_size`: pages when positive, KiB when negative. @default SQLite's (-2000) */
  cacheSize?: number;
  /** `PRAGMA mmap_size` in bytes; 0 turns memory mapping off. @default 268435456 (256 MiB) */
  mmapSize?: number;
  /** Purge expired keys every this many ms on a timer that never keeps the process alive; 0 = off. @default 0 */
  sweepInterval?: number;
  /** With `fromDatabase()`: close the user's database handle on `kv.close()`. @default false */
  closeDatabase?: boolean;
  /**
   * `"immediate"`: every write call commits before it returns. `"batched"`: writes
   * share one transaction that commits at the end of the event-loop task (or after
   * `commitInterval`), on `flush()` and on `close()`; a crash loses at most the
   * uncommitted batch. @default "immediate"
   */
  durability?: "immediate" | "batched";
  /** With `durability: "batched"`: commit this many ms after a batch's first write instead of at the end of the task. */
  commitInterval?: number;
  /** With `durability: "batched"`: told of a commit that failed (the batch was rolled back). */
  onCommitError?: (error: KvError) => void;
  /** SQLite's page size in bytes (a power of two, 512 to 65536); applies only when the file is created. @default SQLite's (4096) */
  pageSize?: number;
  /** `"incremental"` lets `vacuum({ pages })` free pages a few at a time; applies only when the file is created. @default "none" */
  autoVacuum?: "none" | "incremental";
  /** The size in bytes the WAL is truncated to after a checkpoint (`PRAGMA journal_size_limit`); -1: no limit. @default SQLite's (-1) */
  journalSizeLimit?: number;
  /** ms between two looks for other processes' commits (`PRAGMA data_version`) while something watches or listens. @default 5 */
  pollInterval?: number;
  /**
   * `true` turns the change feed on for the file (`kv.changes()`): every write to its key tables is logged in the
   * same transaction. It stays on for every later open. @default false
   */
  changeFeed?: boolean;
  /** With `changeFeed: true`: how much of the log to keep, `{ rows }` and/or `{ ms }`; stored in the file. @default everything */
  changeFeedRetention?: ChangeFeedRetention;
}

/** Options after defaults. */
export interface ResolvedOptions {
  table: string;
  codec: Codec | undefined;
  now: () => number;
  readOnly: boolean;
  busyTimeout: number;
  journalMode: "wal" | "delete";
  synchronous: "normal" | "full" | "off";
  cacheSize: number | undefined;
  mmapSize: number | undefined;
  sweepInterval: number;
  closeDatabase: boolean;
  durability: "immediate" | "batched";
  commitInterval: number | undefined;
  onCommitError: ((error: KvError) => void) | undefined;
  pageSize: number | undefined;
  autoVacuum: "none" | "incremental";
  journalSizeLimit: number | undefined;
  pollInterval: number;
  changeFeed: boolean;
  changeFeedRetention: ChangeFeedRetention | undefined;
}

/** The defaults of the options that tune SQLite, chosen by measurement (bench/README.md). */
export const DEFAULTS: { busyTimeout: number; mmapSize: number; cacheSize: number | undefined } = {
  busyTimeout: 5000,
  // 256 MiB: point reads +34% at 1M keys on node:sqlite, listings +9%; a
  // larger map or page cache measured no better (bench/README.md).
  mmapSize: 256 * 2 ** 20,
  cacheSize: undefined,
};

const OPEN = "open store";

/** The names of `openKv`'s options. */
export const OPEN_OPTIONS: readonly string[] = [
  "table",
  "codec",
  "now",
  "readOnly",
  "busyTimeout",
  "journalMode",
  "synchronous",
  "cacheSize",
  "mmapSize",
  "sweepInterval",
  "closeDatabase",
  "durability",
  "commitInterval",
  "onCommitError",
  "pageSize",
  "autoVacuum",
  "journalSizeLimit",
  "pollInterval",
  "changeFeed",
  "changeFeedRetention",
];

/**
 * A user's clock, checked on every reading: a clock that returns NaN or a
 * string would make every TTL key immortal without a word.
 */
export function checkedClock(now: () => unknown): () => number {
  return () => {
    const t = now();
    if (typeof t !== "number") {
      throw new TypeError(`Cannot read the clock: now() must return a number of ms, received ${typeName(t)}`);
    }
    if (!Number.isFinite(t)) {
      throw new RangeError(`Cannot read the clock: now() must return a finite time, received ${t}`);
    }
    return t;
  };
}

function checkPageSize(value: unknown): number | undefined {
  const size = checkInteger(value, "pageSize", 512, OPEN);
  if (size !== undefined && (size > 65536 || (size & (size - 1)) !== 0)) {
    throw new RangeError(`Cannot open store: pageSize must be a power of two from 512 to 65536, received ${size}`);
  }
  return size;
}

function batching(
  o: Record<string, unknown>,
): Pick<ResolvedOptions, "durability" | "commitInterval" | "onCommitError"> {
  const durability = checkChoice(o.durability, "durability", ["immediate", "batched"], "immediate", OPEN);
  const commitInterval = checkInteger(o.commitInterval, "commitInterval", 1, OPEN);
  if (o.onCommitError !== undefined && typeof o.onCommitError !== "function") {
    throw new TypeError(`Cannot open store: onCommitError must be a function, received ${typeName(o.onCommitError)}`);
  }
  if (durability !== "batched" && (commitInterval !== undefined || o.onCommitError !== undefined)) {
    throw new TypeError(`Cannot open store: commitInterval and onCommitError go with durability: "batched"`);
  }
  return { durability, commitInterval, onCommitError: o.onCommitError as ResolvedOptions["onCommitError"] };
}

function feed(o: Record<string, unknown>): Pick<ResolvedOptions, "changeFeed" | "changeFeedRetention"> {
  const changeFeed = checkBoolean(o.changeFeed, "changeFeed", OPEN);
  const changeFeedRetention = checkRetention(o.changeFeedRetention);
  if (changeFeedRetention !== undefined && !changeFeed) {
    throw new TypeError("Cannot open store: changeFeedRetention goes with changeFeed: true");
  }
  return { changeFeed, changeFeedRetention };
}

/** Validates options and fills in the defaults. */
export function resolveOptions(options: unknown): ResolvedOptions {
  if (options === undefined) options = {};
  if (options === null || typeof options !== "object") {
    throw new TypeError(`Cannot open store: options must be an object, received ${typeName(options)}`);
  }
  const o = options as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!OPEN_OPTIONS.includes(key)) {
      throw new TypeError(
        `Cannot open store: unknown option ${JSON.stringify(key)} (known: ${OPEN_OPTIONS.join(", ")})`,
      );
    }
  }
  const table = o.table ?? "kv";
  checkName(table, "table", "open store");
  if (o.codec !== undefined) {
    const c = o.codec as Partial<Codec> | null;
    if (c === null || typeof c !== "object" || typeof c.encode !== "function" || typeof c.decode !== "function") {
      throw new TypeError(`Cannot open store: codec must have encode and decode functions, received ${typeName(c)}`);
    }
  }
  if (o.now !== undefined && typeof o.now !== "function") {
    throw new TypeError(`Cannot open store: now must be a function returning ms, received ${typeName(o.now)}`);
  }
  return {
    table,
    codec: o.codec as Codec | undefined,
    now: o.now === undefined ? Date.now : checkedClock(o.now as () => unknown),
    readOnly: checkBoolean(o.readOnly, "readOnly", OPEN),
    busyTimeout: checkInteger(o.busyTimeout, "busyTimeout", 0, OPEN) ?? DEFAULTS.busyTimeout,
    journalMode: checkChoice(o.journalMode, "journalMode", ["wal", "delete"], "wal", OPEN),
    synchronous: checkChoice(o.synchronous, "synchronous", ["normal", "full", "off"], "normal", OPEN),
    cacheSize: checkInteger(o.cacheSize, "cacheSize", -(2 ** 40), OPEN) ?? DEFAULTS.cacheSize,
    mmapSize: checkInteger(o.mmapSize, "mmapSize", 0, OPEN) ?? DEFAULTS.mmapSize,
    sweepInterval: checkInteger(o.sweepInterval, "sweepInterval", 0, OPEN) ?? 0,
    closeDatabase: checkBoolean(o.closeDatabase, "closeDatabase", OPEN),
    ...batching(o),
    pageSize: checkPageSize(o.pageSize),
    autoVacuum: checkChoice(o.autoVacuum, "autoVacuum", ["none", "incremental"], "none", OPEN),
    journalSizeLimit: checkInteger(o.journalSizeLimit, "journalSizeLimit", -1, OPEN),
    pollInterval: checkInteger(o.pollInterval, "pollInterval", 1, OPEN) ?? 5,
    ...feed(o),
  };
}
