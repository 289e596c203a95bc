/**
 * WAL checkpoints: SQLite's four modes, with the stronger ones reporting a
 * reader that pins the WAL (Litestream's read lock) promptly instead of
 * waiting the whole busy timeout while holding the write lock.
 *
 * @module
 */

import type { Connection } from "./connection.ts";
import { typeName } from "./check.ts";
import { sleepSync } from "./runtime.ts";

/** What {@link checkpoint} reports (SQLite's `wal_checkpoint` row). */
export interface CheckpointResult {
  /**
   * Whether another connection kept the checkpoint from finishing: a writer
   * that held the lock past `busyTimeout`, or a reader on an older snapshot
   * (Litestream holds one all the time) that was still there after
   * {@link READER_GRACE} ms.
   */
  busy: boolean;
  /** Frames in the WAL, or -1 when the database is not in WAL mode. */
  logFrames: number;
  /** Frames moved into the database file, or -1 when not in WAL mode. */
  checkpointedFrames: number;
}

/** A WAL checkpoint mode, as SQLite names them. */
export type CheckpointMode = "passive" | "full" | "restart" | "truncate";

const CHECKPOINT_MODES = ["passive", "full", "restart", "truncate"];

/**
 * Checks a checkpoint mode.
 *
 * @throws {RangeError} When it is none of SQLite's four.
 */
export function checkCheckpointMode(mode: unknown): asserts mode is CheckpointMode {
  if (!CHECKPOINT_MODES.includes(mode as string)) {
    throw new RangeError(
      `Cannot checkpoint: mode must be one of ${CHECKPOINT_MODES.join(", ")}, received ${typeName(mode)}`,
    );
  }
}

/**
 * How long (ms, at most `busyTimeout`) a `full`, `restart` or `truncate`
 * checkpoint waits for a reader that holds an older snapshot before it reports
 * `busy`. SQLite would wait the whole busy timeout, holding the write lock
 * (every writer of the file waits with it); a reader that holds its snapshot
 * for good, as Litestream does, would make every such call cost that much.
 */
export const READER_GRACE = 100;

/**
 * Checkpoints the WAL into the database file, committing a batch first so that
 * the checkpoint can move it. The stronger modes first move what a passive
 * checkpoint can (it never waits); when frames stay pinned by a reader past
 * {@link READER_GRACE}, they report `busy` without taking the write lock.
 */
export function checkpoint(conn: Connection, mode: CheckpointMode): CheckpointResult {
  checkCheckpointMode(mode);
  if (conn.depth === 0) conn.batch?.flush();
  conn.counters.checkpoints++;
  if (mode !== "passive") {
    const pinned = readerPins(conn);
    if (pinned !== undefined) return pinned;
  }
  return walCheckpoint(conn, mode);
}

function walCheckpoint(conn: Connection, mode: CheckpointMode): CheckpointResult {
  const row = conn.prepare(`PRAGMA wal_checkpoint(${mode.toUpperCase()})`).get([])!;
  return { busy: row[0] !== 0, logFrames: Number(row[1]), checkpointedFrames: Number(row[2]) };
}

/**
 * Passive checkpoints until every frame of the WAL is in the database file:
 * `undefined` once they are (the stronger mode can then only wait for
 * transient locks), or the last result marked busy when a reader on an older
 * snapshot still pins frames after the grace.
 */
function readerPins(conn: Connection): CheckpointResult | undefined {
  const grace = Math.min(READER_GRACE, Number(conn.prepare("PRAGMA busy_timeout").get([])![0]));
  const deadline = Date.now() + grace;
  for (;;) {
    const result = walCheckpoint(conn, "passive");
    if (result.logFrames <= 0 || result.checkpointedFrames >= result.logFrames) return undefined;
    if (Date.now() >= deadline) return { ...result, busy: true };
    sleepSync(5);
  }
}
