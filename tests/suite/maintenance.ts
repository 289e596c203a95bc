import { assert } from "../assert.ts";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { KvCorruptError, KvError } from "../../src/errors.ts";
import { fromDriver } from "../../src/open.ts";
import type { AnyKv, Target, TestFn } from "../harness.ts";
import type { Driver } from "../../src/driver.ts";
import { manualClock, rawAll, tempDir, tempFile } from "../util.ts";

/** Stats, checkpoint, vacuum (pages included), optimize, integrityCheck and backup. */
export function maintenanceTests(test: TestFn, t: Target): void {
  test("stats counts operations since open and reads the file's gauges", async () => {
    const clock = manualClock();
    const path = tempFile();
    await using kv = await t.open(path, { now: clock.now });
    await kv.set("a", 1);
    await kv.set("b", 2, { ttl: 5 });
    await kv.set("a", 0, { ifAbsent: true });
    await kv.get("a");
    await kv.get("zz");
    clock.advance(5);
    await kv.get("b");
    await kv.delete("a");
    await kv.set("c", 1, { ttl: 1 });
    clock.advance(1);
    await kv.purgeExpired();
    await kv.transaction(() => {});
    await kv.set("d", 1);
    const s = await kv.stats();
    assert.equal(s.gets, 3);
    assert.equal(s.hits, 1);
    assert.equal(s.misses, 2);
    assert.equal(s.expiredReads, 1);
    assert.equal(s.sets, 4);
    assert.equal(s.deletes, 1);
    assert.equal(s.purged, 2);
    assert.equal(s.transactions, 1);
    assert.equal(s.keys, 1);
    assert.ok(s.pages > 0);
    assert.equal(s.fileBytes, s.pages * s.pageSize);
    assert.equal(typeof s.walBytes, "number");
    assert.ok((s.walBytes as number) > 0);
  }, { skip: t.noFile });

  test("stats counts rows iterated, errors and checkpoints, and { reset } returns and zeroes the counters", async () => {
    await using kv = await t.open(tempFile());
    await kv.setMany({ a: 1, b: 2, c: 3 });
    await kv.keys();
    await Array.fromAsync(kv.list({ prefix: "a" }));
    await kv.checkpoint();
    try {
      await kv.transaction(() => kv.vacuum());
    } catch { /* a vacuum inside a transaction is refused before SQLite is asked */ }
    const s = await kv.stats({ reset: true });
    assert.equal(s.rowsIterated, 4);
    assert.equal(s.checkpoints, 1);
    assert.equal(s.sets, 3);
    assert.equal(typeof s.errors, "number");
    const after = await kv.stats();
    assert.equal(after.sets, 0);
    assert.equal(after.rowsIterated, 0);
    assert.equal(after.keys, 3, "gauges are not counters");
    await assert.rejects(async () => await kv.stats({ reset: "yes" } as never), TypeError);
    await assert.rejects(async () => await kv.stats({ clear: true } as never), TypeError);
  });

  test("checkpoint, vacuum and optimize run, and bad modes are refused", async () => {
    const path = tempFile();
    await using kv = await t.open(path);
    await kv.setMany(Array.from({ length: 200 }, (_, i) => [`k${i}`, "x".repeat(100)] as const));
    const r = await kv.checkpoint("truncate");
    assert.equal(r.busy, false);
    assert.equal(statSync(`${path}-wal`).size, 0);
    assert.ok((await kv.checkpoint()).logFrames >= 0);
    await kv.clear();
    const before = (await kv.stats()).pages;
    await kv.vacuum();
    assert.ok((await kv.stats()).pages < before);
    await kv.optimize();
    await assert.rejects(async () => await kv.checkpoint("bogus" as never), RangeError);
    await assert.rejects(async () => await kv.transaction(() => kv.vacuum()), KvError);
  }, { skip: t.noFile });

  /** A raw connection holding a read snapshot taken before 200 writes, which stay in the WAL behind it. */
  async function pinnedByReader(kv: AnyKv, path: string): Promise<Driver> {
    await kv.set("a", 1);
    const reader = t.raw(path);
    reader.exec("BEGIN");
    reader.prepare("SELECT count(*) FROM kv").get([]);
    await kv.setMany(Array.from({ length: 200 }, (_, i) => [`k${i}`, "x".repeat(100)] as const));
    return reader;
  }

  test(
    "a reader on an older snapshot makes full, restart and truncate report busy at once, not after busyTimeout",
    async () => {
      const path = tempFile();
      await using kv = await t.open(path, { busyTimeout: 20_000 });
      // A reader that keeps its snapshot, as Litestream does all the time.
      const reader = await pinnedByReader(kv, path);
      try {
        for (const mode of ["full", "restart", "truncate"] as const) {
          const started = Date.now();
          const r = await kv.checkpoint(mode);
          const took = Date.now() - started;
          assert.equal(r.busy, true, mode);
          assert.ok(r.checkpointedFrames < r.logFrames, `${mode}: ${JSON.stringify(r)}`);
          // SQLite alone waits the whole busyTimeout (20 s) holding the write lock.
          assert.ok(took < 10_000, `${mode} took ${took} ms`);
        }
        assert.equal((await kv.checkpoint("passive")).busy, false, "passive never waits");
        assert.equal(await kv.get("k199"), "x".repeat(100));
        reader.exec("COMMIT");
        const done = await kv.checkpoint("truncate");
        assert.equal(done.busy, false);
        assert.equal(statSync(`${path}-wal`).size, 0, "truncated once the reader let go");
      } finally {
        reader.close();
      }
    },
    { skip: t.noFile },
  );

  test("a reader that lets go within the grace does not stop a truncate", async () => {
    const path = tempFile();
    await using kv = await t.open(path);
    const reader = await pinnedByReader(kv, path);
    try {
      const pending = kv.checkpoint("truncate");
      setTimeout(() => reader.exec("COMMIT"), 20);
      const r = await pending;
      assert.equal(r.busy, false, JSON.stringify(r));
      assert.equal(statSync(`${path}-wal`).size, 0);
    } finally {
      reader.close();
    }
  }, {
    skip: t.noFile ??
      (t.async ? undefined : "the checkpoint must run in another thread (the worker) while this one lets go"),
  });

  test("vacuum({ pages }) frees at most that many pages, on a file created for it", async () => {
    const path = tempFile();
    await using kv = await t.open(path, { autoVacuum: "incremental" });
    await kv.setMany(Array.from({ length: 2000 }, (_, i) => [`k${i}`, "x".repeat(500)] as [string, string]));
    await kv.clear();
    await kv.checkpoint("truncate");
    const free = () => Number(rawAll(t.raw, path, "PRAGMA freelist_count")[0]![0]);
    const before = free();
    assert.ok(before > 20, `${before} free pages`);
    await kv.vacuum({ pages: 10 });
    await kv.checkpoint("truncate");
    assert.equal(free(), before - 10);
    await assert.rejects(async () => await kv.vacuum({ pages: 0 }), RangeError);
    await using plain = await t.open(tempFile());
    await assert.rejects(async () => await plain.vacuum({ pages: 5 }), /autoVacuum: "incremental"/);
    await plain.vacuum();
  }, { skip: t.noFile });

  test("integrityCheck passes on a sound file and throws KvCorruptError on a damaged one", async () => {
    const path = tempFile();
    {
      await using kv = await t.open(path, { journalMode: "delete" });
      await kv.setMany(Array.from({ length: 3000 }, (_, i) => [`key${i}`, `value ${i} `.repeat(10)] as const));
      await kv.integrityCheck();
    }
    const bytes = readFileSync(path);
    for (let i = 8192; i < bytes.length - 4096; i += 4096) bytes.fill(0x5a, i + 100, i + 3000);
    writeFileSync(path, bytes);
    await assert.rejects(async () => {
      const kv = await t.open(path, { journalMode: "delete" });
      try {
        await kv.integrityCheck();
      } finally {
        await kv.close({ optimize: false });
      }
    }, KvCorruptError);
  }, { skip: t.noFile });

  test("backup writes a consistent copy while the store stays open", async () => {
    const dir = tempDir();
    await using kv = await t.open(join(dir, "a.db"));
    await kv.set("a", { n: 1 });
    await kv.namespace("ns").set("b", 2);
    await kv.backup(join(dir, "copy.db"));
    await kv.set("after", 1);
    await using copy = await t.open(join(dir, "copy.db"));
    assert.deepEqual(await copy.entries(), [["a", { n: 1 }]]);
    assert.equal(await copy.namespace("ns").get("b"), 2);
    await assert.rejects(async () => await kv.backup(join(dir, "copy.db")), KvError);
    await assert.rejects(async () => await kv.backup(""), RangeError);
  }, { skip: t.noFile });

  test("backup creates parent folders and refuses an existing target unless overwrite", async () => {
    const path = tempFile();
    await using kv = await t.open(path);
    await kv.set("a", 1);
    const target = join(tempDir(), "deep", "er", "copy.db");
    await kv.backup(target);
    {
      await using copy = await t.open(target, { readOnly: true });
      assert.equal(await copy.get("a"), 1);
    }
    await kv.set("a", 2);
    const before = readFileSync(target);
    await assert.rejects(
      async () => await kv.backup(target),
      (e: unknown) => e instanceof KvError && /exists/.test(e.message),
    );
    assert.ok(readFileSync(target).equals(before), "a refused backup leaves the target alone");
    await kv.backup(target, { overwrite: true });
    await using copy = await t.open(target, { readOnly: true });
    assert.equal(await copy.get("a"), 2);
    await assert.rejects(async () => await kv.backup(target, { overwite: true } as never), TypeError);
  }, { skip: t.noFile });

  test("backup works where SQLite may not attach a database, as on Deno without -A", async () => {
    const path = tempFile();
    await (await t.open(path)).close();
    const driver = t.raw(path);
    const refusing = {
      ...driver,
      prepare(sql: string) {
        if (/VACUUM INTO/.test(sql)) throw new Error("too many attached databases - max 0");
        return driver.prepare(sql);
      },
    };
    const kv = fromDriver(refusing, { path, closeDatabase: true });
    try {
      await kv.setMany({ a: 1, b: 2 });
      const target = join(tempDir(), "copy.db");
      await kv.backup(target);
      await kv.set("c", 3);
      await using copy = await t.open(target, { readOnly: true });
      assert.deepEqual(await copy.entries(), [["a", 1], ["b", 2]]);
      await copy.integrityCheck();
    } finally {
      await kv.close();
    }
  }, { skip: t.noFile });

  test("an existing file that is not ours is never a backup's casualty", async () => {
    await using kv = await t.open();
    const target = join(tempDir(), "notes.txt");
    writeFileSync(target, "mine");
    await assert.rejects(async () => await kv.backup(target), KvError);
    assert.equal(readFileSync(target, "utf8"), "mine");
    assert.equal(existsSync(target), true);
  }, { skip: t.noFile });
}
