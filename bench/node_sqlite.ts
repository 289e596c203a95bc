/** kvsqlite and the raw driver on node:sqlite, which every runtime's runner measures. */

import { DatabaseSync } from "node:sqlite";
import { openKv } from "../adapters/node_sqlite.ts";
import { dir, PRAGMAS, type RunnerSpec } from "./common.ts";
import { kvSubject, type RawDatabase, rawSubject } from "./subjects.ts";
import type { Subject } from "./workload.ts";

const openRaw = (path: string) => new DatabaseSync(path) as unknown as RawDatabase;

/** kvsqlite on node:sqlite and the raw node:sqlite statements, on files of their own. */
export function nodeSqliteSubjects(): Subject[] {
  return [
    kvSubject("kvsqlite (node:sqlite)", "node:sqlite", openKv(`${dir}/kv-node.db`)),
    rawSubject("raw node:sqlite", "node:sqlite", openRaw(`${dir}/raw-node.db`), PRAGMAS),
  ];
}

/** The scale part on node:sqlite. */
export const nodeSqliteScale: RunnerSpec["scale"] = { driver: "node:sqlite", openKv, openRaw };
