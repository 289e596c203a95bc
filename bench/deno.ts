/**
 * Deno runner: kvsqlite on node:sqlite beside raw node:sqlite and Deno KV
 * (`--unstable-kv`), plus @db/sqlite when it can be resolved.
 */

import { dir, PRAGMAS, runRunner } from "./common.ts";
import { kvSubject, type RawDatabase, rawSubject } from "./subjects.ts";
import { nodeSqliteScale, nodeSqliteSubjects } from "./node_sqlite.ts";
import type { Subject } from "./workload.ts";

interface DenoKv {
  get(key: unknown[]): Promise<{ value: unknown; versionstamp: string | null }>;
  getMany(keys: unknown[][]): Promise<{ value: unknown }[]>;
  set(key: unknown[], value: unknown): Promise<unknown>;
  delete(key: unknown[]): Promise<void>;
  list(
    selector: { start: unknown[]; end: unknown[] },
    options: { limit?: number },
  ): AsyncIterable<{ key: unknown[]; value: unknown }>;
  atomic(): {
    set(key: unknown[], value: unknown): unknown;
    sum(key: unknown[], n: unknown): unknown;
    commit(): Promise<{ ok: boolean }>;
  };
  close(): void;
}
declare const Deno: {
  openKv?(path: string): Promise<DenoKv>;
  version: { deno: string };
};

const notes: string[] = [];

async function denoKvSubject(): Promise<Subject | undefined> {
  if (typeof Deno.openKv !== "function") {
    notes.push("Deno KV skipped: run with --unstable-kv");
    return undefined;
  }
  const kv = await Deno.openKv(`${dir}/denokv.db`);
  return {
    name: "Deno KV",
    role: "peer",
    driver: "Deno KV",
    async: true,
    get: async (k) => (await kv.get([k])).value,
    set: (k, v) => kv.set([k], v),
    async setBatch(entries) {
      // Deno KV takes at most 1000 mutations per atomic operation.
      const op = kv.atomic();
      for (const [k, v] of entries) op.set([k], v);
      await op.commit();
    },
    has: async (k) => (await kv.get([k])).versionstamp !== null,
    delete: (k) => kv.delete([k]),
    // getMany takes at most 10 keys.
    async getMany(keys) {
      const out: unknown[] = [];
      for (let i = 0; i < keys.length; i += 10) {
        out.push(...(await kv.getMany(keys.slice(i, i + 10).map((k) => [k]))).map((e) => e.value));
      }
      return out;
    },
    async list(start, end, limit) {
      const out: [unknown, unknown][] = [];
      for await (const e of kv.list({ start: [start], end: [end] }, { limit })) out.push([e.key[0], e.value]);
      return out;
    },
    async keys(start, end, limit) {
      const out: unknown[] = [];
      for await (const e of kv.list({ start: [start], end: [end] }, { limit })) out.push(e.key[0]);
      return out;
    },
    async count(start, end) {
      let n = 0;
      for await (const _ of kv.list({ start: [start], end: [end] }, {})) n++;
      return n;
    },
    incr: async (k) => {
      const op = kv.atomic();
      op.sum([k], 1n);
      await op.commit();
    },
    close: () => kv.close(),
  };
}

async function dbSqliteSubjects(): Promise<Subject[]> {
  try {
    const adapter = await import("../adapters/db_sqlite.ts");
    const { Database } = await import("@db/sqlite");
    const db = new Database(`${dir}/raw-db.db`, { int64: true });
    const raw = rawSubject("raw @db/sqlite", "@db/sqlite", db as unknown as RawDatabase, PRAGMAS);
    return [kvSubject("kvsqlite (@db/sqlite)", "@db/sqlite", adapter.openKv(`${dir}/kv-db.db`)), raw];
  } catch (error) {
    notes.push(`@db/sqlite skipped: ${(error as Error).message.split("\n")[0]}`);
    return [];
  }
}

const subjects: Subject[] = [
  ...nodeSqliteSubjects(),
  ...(await dbSqliteSubjects()),
];
const denoKv = await denoKvSubject();
if (denoKv) subjects.push(denoKv);
await runRunner({
  runtime: "deno",
  version: Deno.version.deno,
  subjects,
  notes,
  scale: nodeSqliteScale,
});
