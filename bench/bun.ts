/** Bun runner: kvsqlite on bun:sqlite and on node:sqlite, each beside its raw driver. */

import { openKv as openBunKv } from "../adapters/bun_sqlite.ts";
import { dir, PRAGMAS, runRunner } from "./common.ts";
import { kvSubject, type RawDatabase, rawSubject } from "./subjects.ts";
import type { Subject } from "./workload.ts";
import { nodeSqliteSubjects } from "./node_sqlite.ts";

type Loader = (id: string) => unknown;
const proc = (globalThis as unknown as { process: { getBuiltinModule: Loader; versions: Record<string, string> } })
  .process;
const { Database } = proc.getBuiltinModule("bun:sqlite") as { Database: new (path: string) => RawDatabase };

const subjects: Subject[] = [
  kvSubject("kvsqlite (bun:sqlite)", "bun:sqlite", openBunKv(`${dir}/kv-bun.db`)),
  rawSubject("raw bun:sqlite", "bun:sqlite", new Database(`${dir}/raw-bun.db`), PRAGMAS),
  ...nodeSqliteSubjects(),
];
await runRunner({
  runtime: "bun",
  version: proc.versions.bun!,
  subjects,
  notes: [],
  scale: { driver: "bun:sqlite", openKv: openBunKv, openRaw: (path) => new Database(path) },
});
