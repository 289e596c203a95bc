/**
 * Which methods of the declared surface (`api.ts`) the async client forwards
 * to its worker as they are, and which it writes by hand. The client installs
 * a forwarder for each of {@link FORWARDED}; the worker answers those and the
 * hand-written ones' requests, and nothing else.
 *
 * @module
 */

import type { KvMethods } from "../api.ts";

/**
 * The methods with logic of their own on the calling thread: `get` (a
 * fallback stays here), `set`/`setMany` (encoded here), `list` (pages),
 * `transaction`, `namespace` (at once), `watch` and `queue` (objects of this
 * thread that call the worker), `close`, and disposal.
 */
export type HandWritten =
  | "get"
  | "set"
  | "setMany"
  | "list"
  | "transaction"
  | "namespace"
  | "watch"
  | "queue"
  | "close"
  | typeof Symbol.dispose;

/** Every other method: its name and arguments cross to the worker, its result comes back. */
export type Forwarded = Exclude<keyof KvMethods<"async">, HandWritten>;

// The compiler holds this object to exactly the forwarded methods: a method
// added to the surface fails to build here until it is forwarded or written.
const FORWARD: { [K in Forwarded]: true } = {
  getEntry: true,
  getMany: true,
  has: true,
  tags: true,
  delete: true,
  deleteMany: true,
  take: true,
  incr: true,
  rename: true,
  ttl: true,
  touch: true,
  expire: true,
  expireAt: true,
  persist: true,
  purgeExpired: true,
  keys: true,
  values: true,
  entries: true,
  count: true,
  clear: true,
  namespaces: true,
  dropNamespace: true,
  stats: true,
  checkpoint: true,
  vacuum: true,
  optimize: true,
  integrityCheck: true,
  backup: true,
  flush: true,
  changes: true,
};

/** The forwarded methods, by name. */
export const FORWARDED: readonly Forwarded[] = Object.keys(FORWARD) as Forwarded[];

/**
 * The call each request stands for, in the words the synchronous store's
 * messages use ("Cannot set key: ..."), so that a message of the async client
 * names what the user called, never a request of its own (`setEncoded`).
 */
const CALLS: Record<string, string> = {
  get: "get key",
  getOr: "get key",
  getEntry: "get entry",
  getMany: "get many keys",
  has: "check key",
  tags: "read tags",
  set: "set key",
  setEncoded: "set key",
  setMany: "set many keys",
  setManyEncoded: "set many keys",
  delete: "delete key",
  deleteMany: "delete many keys",
  take: "take key",
  incr: "increment key",
  rename: "rename key",
  ttl: "read ttl",
  touch: "touch key",
  expire: "set expiry",
  expireAt: "set expiry",
  persist: "persist key",
  purgeExpired: "purge expired keys",
  sweep: "purge expired keys",
  keys: "list keys",
  values: "list values",
  entries: "list entries",
  list: "list entries",
  count: "count keys",
  clear: "clear store",
  transaction: "run transaction",
  commit: "run transaction",
  rollback: "run transaction",
  namespace: "open namespace",
  namespaces: "list namespaces",
  dropNamespace: "drop namespace",
  stats: "read stats",
  checkpoint: "checkpoint",
  vacuum: "vacuum",
  optimize: "optimize",
  integrityCheck: "check integrity",
  backup: "back up",
  flush: "flush",
  close: "close store",
  changes: "read changes",
  watch: "watch keys",
  watchNext: "watch keys",
  unwatch: "watch keys",
  queue: "open queue",
  enqueue: "enqueue",
  claim: "claim message",
  ack: "ack message",
  nack: "nack message",
  peek: "peek queue",
  size: "read queue size",
  deadLetters: "read dead letters",
  retry: "retry message",
  listen: "listen",
  queueWait: "listen",
  queueUnlisten: "listen",
};

/** What a request does, for a message: "set key" for `set` (and its encoded request). */
export function callOf(op: string): string {
  return CALLS[op] ?? op;
}
