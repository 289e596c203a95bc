/** Bun runner: kvsqlite on bun:sqlite and on node:sqlite, each beside its raw driver. */

import { openKv as openBunKv } from "../adapters/bun_sqlite.ts";
import { openKv as openNodeKv } from "../adapters/node_sqlite.ts";
import { cleanup, describe, dir, emit, PRAGMAS, quick, settings } from "./common.ts";
import { kvSubject, type RawDatabase, rawSubject } from "./subjects.ts";
import { fill, runWorkload, type Subject } from "./workload.ts";
import { runScale } from "./scale.ts";

type Loader = (id: string) => unknown;
const proc = (globalThis as unknown as { process: { getBuiltinModule: Loader; versions: Record<string, string> } })
  .process;
const { Database } = proc.getBuiltinModule("bun:sqlite") as { Database: new (path: string) => RawDatabase };
const { DatabaseSync } = proc.getBuiltinModule("node:sqlite") as { DatabaseSync: new (path: string) => RawDatabase };

const subjects: Subject[] = [
  kvSubject("kvsqlite (bun:sqlite)", "bun:sqlite", openBunKv(`${dir}/kv-bun.db`)),
  rawSubject("raw bun:sqlite", "bun:sqlite", new Database(`${dir}/raw-bun.db`), PRAGMAS),
  kvSubject("kvsqlite (node:sqlite)", "node:sqlite", openNodeKv(`${dir}/kv-node.db`)),
  rawSubject("raw node:sqlite", "node:sqlite", new DatabaseSync(`${dir}/raw-node.db`), PRAGMAS),
];
await fill(subjects, settings.keys);
const results = await runWorkload(subjects, settings);
for (const s of subjects) await s.close();

const scale = [
  await runScale(
    "bun:sqlite",
    (path, now) => openBunKv(path, now ? { now } : undefined),
    (path) => rawSubject("raw", "bun:sqlite", new Database(path), PRAGMAS),
    dir,
    settings.sizes,
    { rounds: settings.rounds, slice: settings.slice },
  ),
];
emit({
  runtime: "bun",
  version: proc.versions.bun!,
  quick,
  settings,
  subjects: describe(subjects),
  results,
  scale,
  notes: [],
});
cleanup();
