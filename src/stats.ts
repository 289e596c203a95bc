/**
 * `kv.stats()`: the counters kept since open and gauges read from SQLite.
 *
 * @module
 */

import { statSync } from "node:fs";
import type { Connection, Counters } from "./connection.ts";
import type { SqlRow } from "./driver.ts";
import { isLive } from "./expiry.ts";

export type { Counters } from "./connection.ts";

/** What {@link Kv.stats} reports. */
export interface KvStats extends Counters {
  /** Live keys in this key space. */
  keys: number;
  /** Pages in the database file. */
  pages: number;
  /** The page size in bytes. */
  pageSize: number;
  /** The database file's size in bytes (`pages * pageSize`). */
  fileBytes: number;
  /** The WAL file's size in bytes: 0 when there is none, `null` when it cannot be read (in memory, or no read permission). */
  walBytes: number | null;
  /** The driver's name. */
  driver: string;
}

function walBytes(path: string): number | null {
  if (path === ":memory:") return null;
  try {
    return statSync(`${path}-wal`).size;
  } catch (error) {
    return (error as { code?: string }).code === "ENOENT" ? 0 : null;
  }
}

/** Reads the gauges and copies the counters. */
export function readStats(conn: Connection, keys: number): KvStats {
  const pages = Number(conn.prepare("PRAGMA page_count").get([])![0]);
  const pageSize = Number(conn.prepare("PRAGMA page_size").get([])![0]);
  return {
    ...conn.counters,
    keys,
    pages,
    pageSize,
    fileBytes: pages * pageSize,
    walBytes: walBytes(conn.path),
    driver: conn.driver.name,
  };
}

/** Counts one look-up of a row whose third column is its expiry; true when the row is live. */
export function countLookup(conn: Connection, row: SqlRow | undefined): row is SqlRow {
  const counters = conn.counters;
  counters.gets++;
  if (row === undefined) {
    counters.misses++;
    return false;
  }
  if (row[2] !== null && !isLive(row[2], conn.now())) {
    counters.misses++;
    counters.expiredReads++;
    return false;
  }
  counters.hits++;
  return true;
}
