/**
 * What the files beside a database say about its WAL, read without a lock and
 * without opening the database: the WAL's size, the frames in it and the frames
 * already checkpointed (the `-shm` index, as SQLite's walformat describes it),
 * when a checkpoint last wrote the database file, and Litestream's local state
 * when a Litestream process replicates it. For `kvsqlite FILE info`: a user
 * watching Litestream keep up.
 *
 * @module
 */

import { closeSync, existsSync, openSync, readdirSync, readFileSync, readSync, statSync } from "node:fs";
import { basename, dirname, join } from "node:path";

/** What {@link walInfo} reports. */
export interface WalInfo {
  /** The database file's size in bytes. */
  fileBytes: number;
  /** The WAL file's size in bytes (it keeps its largest size until truncated), or null without a WAL file. */
  walBytes: number | null;
  /** Frames written to the WAL since it was last restarted, or null without a `-shm` index. */
  walFrames: number | null;
  /** Of those, the frames a checkpoint has moved into the database file, or null without a `-shm` index. */
  checkpointedFrames: number | null;
  /** When a checkpoint last wrote the database file (its modification time: in WAL mode only checkpoints write it), ISO 8601. */
  lastCheckpoint: string;
  /** Litestream's state beside the file (`.NAME-litestream`), or null when there is none. */
  litestream: { generation: string | null; lastWalCopy: string | null } | null;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Reads `length` bytes at the start of `path`, or undefined when it is shorter. */
function head(path: string, length: number): Uint8Array | undefined {
  const fd = openSync(path, "r");
  try {
    const bytes = new Uint8Array(length);
    return readSync(fd, bytes, 0, length, 0) === length ? bytes : undefined;
  } finally {
    closeSync(fd);
  }
}

/** The newest modification time of the files under `dir` (recursively), or 0. */
function newest(dir: string): number {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    latest = Math.max(latest, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }
  return latest;
}

/**
 * Reads the WAL state of the database at `path`. The `-shm` index is shared
 * memory that connections change at any time: read without its lock, the
 * figures are a moment's, good for watching, not for deciding.
 */
export function walInfo(path: string): WalInfo {
  const file = statSync(path);
  const wal = `${path}-wal`;
  const shm = `${path}-shm`;
  let walFrames: number | null = null;
  let checkpointedFrames: number | null = null;
  // The index header (its first copy) holds mxFrame at byte 16 and isInit at
  // byte 12; the checkpoint info after both copies holds nBackfill at byte 96.
  // Both in the machine's byte order.
  const index = existsSync(shm) ? head(shm, 100) : undefined;
  if (index !== undefined && index[12] === 1) {
    const view = new DataView(index.buffer);
    walFrames = view.getUint32(16, LITTLE_ENDIAN);
    checkpointedFrames = view.getUint32(96, LITTLE_ENDIAN);
  }
  const state = join(dirname(path), `.${basename(path)}-litestream`);
  let litestream: WalInfo["litestream"] = null;
  if (existsSync(state)) {
    const generationFile = join(state, "generation");
    const generation = existsSync(generationFile) ? readFileSync(generationFile, "utf8").trim() || null : null;
    const copies = generation === null ? "" : join(state, "generations", generation, "wal");
    const last = copies !== "" && existsSync(copies) ? newest(copies) : 0;
    litestream = { generation, lastWalCopy: last === 0 ? null : new Date(last).toISOString() };
  }
  return {
    fileBytes: file.size,
    walBytes: existsSync(wal) ? statSync(wal).size : null,
    walFrames,
    checkpointedFrames,
    lastCheckpoint: file.mtime.toISOString(),
    litestream,
  };
}
