import { assert } from "../assert.ts";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { KvClosedError, KvError, KvReadOnlyError } from "../../src/errors.ts";
import { syncOnly, type Target, type TestFn } from "../harness.ts";
import { noNodeSqlite } from "../../src/runtime.ts";
import { cannotMount, mountTmpfs, rawAll, tempDir, tempFile } from "../util.ts";

/** Opening and closing a store: options, paths, pragmas, fromDatabase, read-only stores, close and using. */
export function openTests(test: TestFn, t: Target): void {
  test("bad options are refused before anything is opened", async () => {
    const dir = tempDir();
    const path = join(dir, "sub", "x.db");
    await assert.rejects(
      async () => await t.open(path, { bogus: 1 } as never),
      (e: unknown) => e instanceof TypeError && /unknown option "bogus" \(known: .*durability.*\)/.test(e.message),
    );
    await assert.rejects(async () => await t.open(path, { journalMode: "memory" as never }), RangeError);
    await assert.rejects(async () => await t.open(path, { synchronous: "extra" as never }), RangeError);
    await assert.rejects(async () => await t.open(path, { busyTimeout: -1 }), RangeError);
    await assert.rejects(async () => await t.open(path, { sweepInterval: "1" as never }), TypeError);
    await assert.rejects(async () => await t.open(path, { now: 5 as never }), TypeError);
    await assert.rejects(async () => await t.open(path, { codec: {} as never }), TypeError);
    await assert.rejects(async () => await t.open(5 as never), TypeError);
    await assert.rejects(async () => await t.open(""), RangeError);
    assert.equal(existsSync(path), false);
  });

  test("node:sqlite missing: the error names the Node.js it needs and what works on this one", () => {
    assert.match(
      noNodeSqlite({ node: "20.20.2" }),
      /Node\.js 20\.20\.2: it needs Node\.js 22\.13 or newer.*better-sqlite3/,
    );
    assert.equal(noNodeSqlite({ node: "1.2.0", bun: "1.2.0" }), "node:sqlite is not available in this runtime");
  });

  test("a path that cannot hold a store says why: a file in the way (ENOTDIR), a folder in its place (EISDIR)", async () => {
    const dir = tempDir();
    const file = join(dir, "file");
    writeFileSync(file, "not a folder");
    const named = (code: string, path: string) => (e: unknown): boolean =>
      e instanceof KvError && !(e instanceof KvReadOnlyError) && e.message.includes(code) &&
      e.message.includes(JSON.stringify(path));
    await assert.rejects(async () => await t.open(join(file, "sub", "x.db")), named("ENOTDIR", file));
    writeFileSync(join(dir, "a-file"), "");
    await assert.rejects(async () => await t.open(join(dir, "a-file", "x.db")), named("ENOTDIR", join(dir, "a-file")));
    mkdirSync(join(dir, "folder.db"));
    await assert.rejects(async () => await t.open(join(dir, "folder.db")), named("EISDIR", join(dir, "folder.db")));
    assert.equal(existsSync(join(file, "sub")), false);
  });

  test("a folder that cannot be made on a read-only file system is KvReadOnlyError naming it and EROFS", async () => {
    const mount = mountTmpfs("1m");
    try {
      mount.readOnly();
      const path = join(mount.dir, "data", "x.db");
      await assert.rejects(
        async () => await t.open(path),
        (e: unknown) =>
          e instanceof KvReadOnlyError && e.message.includes("EROFS") && e.message.includes(join(mount.dir, "data")),
      );
    } finally {
      mount.unmount();
    }
  }, { skip: cannotMount() });

  test("parent folders are created, and no path means memory", async () => {
    const dir = tempDir();
    const path = join(dir, "a", "b", "c.db");
    await (await t.open(path)).close();
    assert.ok(existsSync(path));
    await using m = await t.open();
    await m.set("a", 1);
    assert.equal((await m.stats()).walBytes, null);
  });

  test("a store opens with WAL, synchronous NORMAL and a 5000 ms busy timeout unless told otherwise", async () => {
    const path = tempFile();
    const a = t.fromDatabase(path);
    assert.equal(a.pragma("journal_mode"), "wal");
    assert.equal(a.pragma("synchronous"), 1);
    assert.equal(a.pragma("busy_timeout"), 5000);
    assert.equal(a.pragma("mmap_size"), 268435456);
    await a.kv.close();
    a.closeUser();
    const b = t.fromDatabase(tempFile(), {
      journalMode: "delete",
      synchronous: "full",
      busyTimeout: 250,
      cacheSize: -4096,
      mmapSize: 0,
    });
    assert.equal(b.pragma("journal_mode"), "delete");
    assert.equal(b.pragma("synchronous"), 2);
    assert.equal(b.pragma("busy_timeout"), 250);
    assert.equal(b.pragma("cache_size"), -4096);
    assert.equal(b.pragma("mmap_size"), 0);
    await b.kv.close();
    b.closeUser();
  }, syncOnly(t, "reads the pragmas through the user's handle (fromDatabase)"));

  test("pageSize and autoVacuum apply when the file is created and leave an existing file alone", async () => {
    const path = tempFile();
    await (await t.open(path, { pageSize: 8192, autoVacuum: "incremental" })).close();
    assert.deepEqual(rawAll(t.raw, path, "PRAGMA page_size"), [[8192]]);
    assert.deepEqual(rawAll(t.raw, path, "PRAGMA auto_vacuum"), [[2]]);
    await (await t.open(path, { pageSize: 1024 })).close();
    assert.deepEqual(rawAll(t.raw, path, "PRAGMA page_size"), [[8192]], "an existing file keeps its page size");
    for (const pageSize of [0, 1000, 256, 131072, 1.5]) {
      await assert.rejects(async () => await t.open(":memory:", { pageSize }), RangeError, String(pageSize));
    }
    await assert.rejects(async () => await t.open(":memory:", { autoVacuum: "full" as never }), RangeError);
  });

  test("journalSizeLimit sets the WAL size limit", async () => {
    const { kv, pragma, closeUser } = t.fromDatabase(tempFile(), { journalSizeLimit: 1_048_576 });
    try {
      assert.equal(Number(pragma("journal_size_limit")), 1_048_576);
      await assert.rejects(async () => await t.open(":memory:", { journalSizeLimit: -2 }), RangeError);
    } finally {
      await kv.close();
      closeUser();
    }
  }, syncOnly(t, "reads the pragmas through the user's handle (fromDatabase)"));

  test("fromDatabase leaves the user's handle open unless closeDatabase is true", async () => {
    const path = tempFile();
    const a = t.fromDatabase(path);
    await a.kv.set("x", 1);
    await a.kv.close();
    assert.equal(a.userHandleWorks(), true);
    a.closeUser();
    const b = t.fromDatabase(path, { closeDatabase: true });
    assert.equal(await b.kv.get("x"), 1);
    await b.kv.close();
    assert.equal(b.userHandleWorks(), false);
  }, syncOnly(t, "fromDatabase wraps a handle of the calling thread"));

  test("a read-only store reads and refuses every write with KvReadOnlyError", async () => {
    const path = tempFile();
    {
      await using kv = await t.open(path);
      await kv.set("a", 1);
      await kv.namespace("n").set("x", 1);
    }
    await using ro = await t.open(path, { readOnly: true });
    assert.equal(await ro.get("a"), 1);
    assert.equal(await ro.namespace("n").get("x"), 1);
    for (
      const write of [
        async () => await ro.set("b", 1),
        async () => await ro.delete("a"),
        async () => await ro.incr("a"),
        async () => await ro.clear(),
        async () => await ro.purgeExpired(),
        async () => await ro.setMany({ c: 1 }),
        async () => await ro.rename("a", "z"),
        async () => await ro.expire("a", 5),
      ]
    ) {
      await assert.rejects(write, KvReadOnlyError);
    }
    await assert.rejects(async () => await ro.transaction((tx) => tx.set("b", 1)), KvReadOnlyError);
    assert.deepEqual(await ro.entries(), [["a", 1]]);
  });

  test("every method throws KvClosedError after close, and close is idempotent", async () => {
    const kv = await t.open();
    await kv.set("a", 1);
    const it = kv.list();
    const ns = kv.namespace("n");
    await kv.close();
    await kv.close();
    await ns.close(); // a namespace of a closed store closes quietly too
    await assert.rejects(async () => await ns.get("a"), KvClosedError);
    const calls: (() => unknown)[] = [
      async () => await kv.get("a"),
      async () => await kv.set("a", 1),
      async () => await kv.has("a"),
      async () => await kv.delete("a"),
      async () => await kv.keys(),
      async () => await kv.count(),
      async () => await kv.transaction(() => 1),
      async () => await kv.stats(),
      () => kv.namespace("x"),
      async () => await kv.incr("n"),
      async () => await kv.getMany(["a"]),
      async () => await kv.purgeExpired(),
      async () => await it.next(),
      async () => await Array.fromAsync(kv),
    ];
    for (const call of calls) await assert.rejects(async () => await call(), KvClosedError);
  });

  test("using disposes the store", async () => {
    let outer: { get(k: string): unknown } | undefined;
    {
      await using kv = await t.open();
      outer = kv;
      await kv.set("a", 1);
    }
    await assert.rejects(async () => await outer!.get("a"), KvClosedError);
  });
}
