/**
 * Every public type, gathered so that each entry point can re-export them.
 *
 * @module
 */

export type { CheckpointMode, CheckpointResult, CloseOptions, Kv, KvEntry, SetOptions } from "./kv.ts";
export type { KvOptions } from "./options.ts";
export type { KvAsync, KvAsyncOptions } from "./async/client.ts";
export type { Counters, KvStats } from "./stats.ts";
export type { KeyQuery, ListOptions } from "./query.ts";
export type { ExpiryOptions } from "./expiry.ts";
export type { Codec } from "./codec.ts";
export type { Driver, SqlRow, SqlValue, Statement } from "./driver.ts";
export type { KvErrorCode, KvErrorOptions } from "./errors.ts";
