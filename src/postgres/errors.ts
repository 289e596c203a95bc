/**
 * PostgreSQL's failures as kvsqlite's errors: a serialization failure or a
 * deadlock is `KV_CONFLICT`, a lost or refused connection `KV_CONNECTION`, a
 * standby refusing a write `KvReadOnlyError`, a full disk `KV_FULL`; anything
 * else a `KvError` carrying PostgreSQL's message and the statement.
 *
 * @module
 */

import { KvError, KvReadOnlyError } from "../errors.ts";

const CONNECTION =
  /ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|Connection terminated|connection closed|CONNECTION_|socket|terminating connection/i;

/** `error` from the client, as the error of the call `what`. */
export function pgError(error: unknown, what: string, sql?: string): Error {
  if (error instanceof KvError || error instanceof TypeError || error instanceof RangeError) return error;
  const e = error as { code?: unknown; message?: unknown; errno?: unknown } | null;
  const code = typeof e?.code === "string" ? e.code : "";
  const message = typeof e?.message === "string" ? e.message : String(error);
  const options = { cause: error, ...(sql === undefined ? {} : { sql }) };
  if (code === "40001" || code === "40P01") {
    return new KvError(
      `Cannot ${what}: the transaction conflicted with another one (${message})`,
      options,
      "KV_CONFLICT",
    );
  }
  if (code === "25006") return new KvReadOnlyError(`Cannot ${what}: the server is read-only (${message})`, options);
  if (code === "53100") {
    return new KvError(`Cannot ${what}: the server's disk is full (${message})`, options, "KV_FULL");
  }
  if (
    code.startsWith("08") || code === "57P01" || code === "57P02" || code === "57P03" || CONNECTION.test(message) ||
    CONNECTION.test(code)
  ) {
    return new KvError(`Cannot ${what}: the connection to PostgreSQL was lost (${message})`, options, "KV_CONNECTION");
  }
  return new KvError(`Cannot ${what}: ${message}`, options);
}
