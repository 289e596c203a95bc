/**
 * Node runner: kvsqlite on node:sqlite beside raw node:sqlite, raw
 * better-sqlite3, lmdb-js, and keyv with @keyv/sqlite.
 */

import { createRequire } from "node:module";
import { dir, PRAGMAS, runRunner } from "./common.ts";
import { kvSubject, type RawDatabase, rawSubject } from "./subjects.ts";
import { openKv as openBetter } from "../adapters/better_sqlite3.ts";
import { nodeSqliteScale, nodeSqliteSubjects } from "./node_sqlite.ts";
import type { Subject } from "./workload.ts";

const require = createRequire(import.meta.url);
const notes: string[] = [];

function lmdbSubject(): Subject | undefined {
  try {
    const { open } = require("lmdb");
    // noSync: like SQLite's WAL with synchronous=NORMAL, a power cut may lose the
    // last commits but never corrupts the file.
    const db = open({ path: `${dir}/lmdb`, noSync: true, compression: false });
    return {
      name: "lmdb-js",
      role: "peer",
      driver: "lmdb",
      get: (k) => db.get(k),
      set: (k, v) => db.putSync(k, v),
      setBatch: (entries) => db.transactionSync(() => entries.forEach(([k, v]) => db.putSync(k, v))),
      has: (k) => db.doesExist(k),
      delete: (k) => db.removeSync(k),
      getMany: (keys) => keys.map((k) => db.get(k)),
      list: (start, end, limit) => [...db.getRange({ start, end, limit })],
      keys: (start, end, limit) => [...db.getKeys({ start, end, limit })],
      count: (start, end) => db.getKeysCount({ start, end }),
      incr: (k) => db.transactionSync(() => db.putSync(k, (db.get(k) ?? 0) + 1)),
      close: () => db.close(),
    };
  } catch (error) {
    notes.push(`lmdb-js skipped: ${(error as Error).message.split("\n")[0]}`);
  }
}

function keyvSubject(): Subject | undefined {
  try {
    const Keyv = require("keyv").default ?? require("keyv");
    const KeyvSqlite = require("@keyv/sqlite").default ?? require("@keyv/sqlite");
    const keyv = new Keyv({ store: new KeyvSqlite(`sqlite://${dir}/keyv.sqlite`) });
    return {
      name: "keyv + @keyv/sqlite",
      role: "peer",
      driver: "sqlite3",
      async: true,
      get: (k) => keyv.get(k),
      set: (k, v) => keyv.set(k, v),
      setBatch: (entries) => keyv.setMany(entries.map(([key, value]) => ({ key, value }))),
      has: (k) => keyv.has(k),
      delete: (k) => keyv.delete(k),
      getMany: (keys) => keyv.getMany(keys),
      incr: async (k) => keyv.set(k, ((await keyv.get(k)) ?? 0) + 1),
      close: () => keyv.disconnect(),
    };
  } catch (error) {
    notes.push(`keyv skipped: ${(error as Error).message.split("\n")[0]}`);
  }
}

/** kvsqlite over better-sqlite3 and libsql, each beside the same driver's hand-written SQL. */
function betterLike(module: "better-sqlite3" | "libsql"): Subject[] {
  try {
    const Database = require(module);
    return [
      kvSubject(`kvsqlite (${module})`, module, openBetter(`${dir}/kv-${module}.db`, { Database })),
      rawSubject(`raw ${module}`, module, new Database(`${dir}/raw-${module}.db`) as RawDatabase, PRAGMAS),
    ];
  } catch (error) {
    notes.push(`${module} skipped: ${(error as Error).message.split("\n")[0]}`);
    return [];
  }
}

const subjects: Subject[] = [
  ...nodeSqliteSubjects(),
  ...betterLike("better-sqlite3"),
  ...betterLike("libsql"),
  ...[lmdbSubject(), keyvSubject()].filter((s): s is Subject => s !== undefined),
];
notes.push("keyv offers no key listing, range count or incr of its own (incr is get + set)");
await runRunner({
  runtime: "node",
  version: process.version,
  subjects,
  notes,
  scale: nodeSqliteScale,
});
