/**
 * What differs between Deno, Bun and Node, asked in one place: built-in
 * modules (`process.getBuiltinModule`, synchronous on all three), which
 * runtime this is, timers that never keep the process alive, waiting, and a
 * call's exception as a rejection.
 *
 * @module
 */

/** A built-in module (`node:sqlite`, `bun:sqlite`, `node:crypto`), or `undefined` where the runtime lacks it. */
export function builtin<T>(id: string): T | undefined {
  const proc = (globalThis as { process?: { getBuiltinModule?(id: string): unknown } }).process;
  return proc?.getBuiltinModule?.(id) as T | undefined;
}

/** Whether this is Deno. */
/** `process.versions` (empty where there is no `process`). */
export function processVersions(): Record<string, string | undefined> {
  return (globalThis as { process?: { versions?: Record<string, string> } }).process?.versions ?? {};
}

/**
 * Why `node:sqlite` cannot be loaded here, for the error that says so: on a
 * Node.js before 22.13 (where it is missing or behind a flag), which version is
 * needed and what works on this one.
 *
 * @param versions `process.versions` of the runtime.
 * @returns The sentence.
 */
export function noNodeSqlite(versions: Record<string, string | undefined>): string {
  const node = versions.node;
  if (versions.bun === undefined && versions.deno === undefined && node !== undefined) {
    return `node:sqlite is not available in Node.js ${node}: it needs Node.js 22.13 or newer; ` +
      `on this Node.js, open the store with better-sqlite3 ("@kvsqlite/kvsqlite/better-sqlite3")`;
  }
  return "node:sqlite is not available in this runtime";
}

export function isDeno(): boolean {
  return typeof (globalThis as { Deno?: unknown }).Deno !== "undefined";
}

/** Whether this is Bun. */
export function isBun(): boolean {
  return typeof (globalThis as { Bun?: unknown }).Bun !== "undefined";
}

/** Whether `fn` was declared `async` (a function that returns a promise without being async is not). */
export function isAsyncFunction(fn: unknown): boolean {
  return typeof fn === "function" && fn.constructor?.name === "AsyncFunction";
}

/** Blocks this thread for `ms` (for waits inside a synchronous call). */
export function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise<void>((resolve) => setTimeout(resolve, ms));
}

/** Runs `fn` once the current event-loop task has ended (setImmediate where it exists: setTimeout(0) waits 1 ms on Node). */
export const later: (fn: () => void) => void = typeof setImmediate === "function"
  ? (fn) => void setImmediate(fn)
  : (fn) => void setTimeout(fn, 0);

/** Runs `tick` every `interval` ms on a timer that never keeps the process alive. */
export function unrefInterval(tick: () => void, interval: number): ReturnType<typeof setInterval> {
  const timer = setInterval(tick, interval);
  const t = timer as unknown as { unref?: () => void };
  if (typeof t.unref === "function") t.unref();
  else (globalThis as { Deno?: { unrefTimer(id: number): void } }).Deno?.unrefTimer(timer as unknown as number);
  return timer;
}

/** Runs `fn` now: its result as a promise, its exception as a rejected one (for APIs whose calls are all async). */
export function settle<T>(fn: () => T | Promise<T>): Promise<T> {
  try {
    return Promise.resolve(fn());
  } catch (error) {
    return Promise.reject(error);
  }
}
