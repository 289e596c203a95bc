/**
 * Every public type, gathered so that each entry point can re-export them.
 *
 * @module
 */

export type { AsyncKvStore, CloseOptions, Iter, KvEntry, KvMethods, Mode, Ret, TxResult } from "./api.ts";
export type { CheckpointMode, CheckpointResult, Kv, SetOptions } from "./kv.ts";
export type { KvOptions } from "./options.ts";
export type { KvAsync, KvAsyncOptions } from "./async/client.ts";
export type { Forwarded, HandWritten } from "./async/methods.ts";
export type { Counters, KvStats } from "./stats.ts";
export type { KeyQuery, ListOptions } from "./query.ts";
export type { ExpiryOptions } from "./expiry.ts";
export type { Codec } from "./codec.ts";
export type { Driver, SqlRow, SqlValue, Statement } from "./driver.ts";
export type { KvErrorCode, KvErrorOptions } from "./errors.ts";
export type { KvMissing, KvWatch, WatchChanges, WatchOptions } from "./watch/watch.ts";
export type { ChangeFeedRetention, ChangesOptions, KvChange } from "./changes.ts";
export type { QueueMethods } from "./api.ts";
export type { KvQueue } from "./queue/kv_queue.ts";
export type { KvQueueAsync } from "./async/queue.ts";
export type {
  ClaimOptions,
  EnqueueOptions,
  ListenOptions,
  NackOptions,
  QueueHandler,
  QueueMessage,
} from "./queue/queue.ts";
