import { assert } from "../assert.ts";
import { copyFileSync, mkdirSync, readdirSync, readFileSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { KvBusyError, KvCorruptError, KvError, KvReadOnlyError } from "../../src/errors.ts";
import { syncOnly, type Target, type TestFn } from "../harness.ts";
import { cannotMount, mountTmpfs, rawAll, tempDir, tempFile } from "../util.ts";

const escape = (s: string) => new RegExp(s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));

/** Damaged, full, locked and read-only files, on every target: a clear error, and nothing lost. */
export function faultTests(test: TestFn, t: Target): void {
  test("a file that is not a database is reported as KvCorruptError", async () => {
    const path = tempFile();
    writeFileSync(path, "this is not a sqlite file at all, but it is long enough to have a header".repeat(100));
    await assert.rejects(async () => await t.open(path), KvCorruptError);
  });

  test("a full database is KvError KV_FULL naming the file, and keeps every committed key", async () => {
    const path = tempFile();
    const { kv, pragma, closeUser } = t.fromDatabase(path);
    let written = 0;
    try {
      await kv.set("first", "kept");
      await kv.flush();
      pragma(`max_page_count = ${Number(pragma("page_count")) + 2}`);
      let caught: unknown;
      const big = "x".repeat(3000);
      try {
        for (let i = 0; i < 200; i++) {
          await kv.setMany(Array.from({ length: 10 }, (_, j) => [`k${i}:${j}`, big] as [string, string]));
          await kv.flush(); // acknowledged: committed (a no-op in the default mode)
          written += 10;
        }
      } catch (error) {
        caught = error;
      }
      assert.ok(caught instanceof KvError, String(caught));
      assert.equal((caught as KvError).code, "KV_FULL");
      assert.match((caught as KvError).message, new RegExp(path.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")));
      assert.equal(await kv.get("first"), "kept");
      assert.equal(await kv.count(), written + 1, "the failed batch wrote nothing");
      await kv.integrityCheck();
    } finally {
      await kv.close();
      closeUser();
    }
    assert.equal(rawAll(t.raw, path, "SELECT count(*) FROM kv")[0]![0], written + 1, "after reopening");
  }, syncOnly(t, "reads the pragmas through the user's handle (fromDatabase)"));

  test("a held write lock makes a writer fail with KvBusyError after busyTimeout, changing nothing", async () => {
    const path = tempFile();
    await using a = await t.open(path);
    await using b = await t.open(path, { busyTimeout: 50 });
    await a.set("k", "a");
    await a.transaction(() => {
      a.set("k", "held");
      let error: unknown;
      try {
        b.set("k", "b");
      } catch (e) {
        error = e;
      }
      assert.ok(error instanceof KvBusyError, `expected KvBusyError, got ${error}`);
      assert.equal((error as KvBusyError).code, "KV_BUSY");
      assert.ok((error as Error).cause !== undefined, "the driver's error is kept as cause");
      assert.match((error as KvBusyError).sql ?? "", /BEGIN|INSERT/);
    });
    await a.flush(); // committed for b to see (a no-op in the default mode)
    assert.equal(await b.get("k"), "held");
  }, syncOnly(t, "transaction(fn) takes an async fn (see its own tests)"));

  test("opening for writing on a read-only file system is KvReadOnlyError naming the path and the cause", async () => {
    const mnt = mountTmpfs("4m");
    try {
      const file = join(mnt.dir, "clean.db");
      const kv = await t.open(file);
      await kv.set("a", 1);
      await kv.close();
      mnt.readOnly();
      const refused = (path: string, what: RegExp) => (e: unknown) =>
        e instanceof KvReadOnlyError && e.message.includes(JSON.stringify(path)) && what.test(e.message);
      await assert.rejects(async () => await t.open(file), refused(file, /read-only file system \(EROFS\)/));
      const fresh = join(mnt.dir, "sub", "new.db");
      await assert.rejects(
        async () => await t.open(fresh),
        refused(fresh, new RegExp(`the folder ${JSON.stringify(mnt.dir)} is on a read-only file system`)),
      );
    } finally {
      mnt.unmount();
    }
  }, { skip: cannotMount() ?? t.keepsFileOpen });

  test("a WAL store on a read-only file system opens read-only, or says why it cannot", async () => {
    const mnt = mountTmpfs("4m");
    try {
      const clean = join(mnt.dir, "clean.db");
      const kv = await t.open(clean);
      await kv.set("a", 1);
      await kv.close();
      // A -wal that still holds changes: copied while a writer keeps it.
      const src = tempFile();
      const writer = await t.open(src);
      await writer.set("b", 2);
      const pending = join(mnt.dir, "pending.db");
      copyFileSync(src, pending);
      copyFileSync(`${src}-wal`, `${pending}-wal`);
      await writer.close();
      mnt.readOnly();
      {
        await using ro = await t.open(clean, { readOnly: true });
        assert.equal(await ro.get("a"), 1);
        await assert.rejects(async () => await ro.set("a", 2), KvReadOnlyError);
      }
      await assert.rejects(
        async () => await t.open(pending, { readOnly: true }),
        (e: unknown) => e instanceof KvReadOnlyError && e.message.includes(pending) && e.message.includes("-shm"),
      );
    } finally {
      mnt.unmount();
    }
  }, { skip: cannotMount() ?? t.noUri });
}

/** Damaged and impossible files through the synchronous store: a clear error, and nothing changed on disk. */
export function syncFaultTests(test: TestFn, t: Target): void {
  test("a full disk is KV_FULL naming the file; every acknowledged write survives", () => {
    const mnt = mountTmpfs("1m");
    try {
      const path = join(mnt.dir, "full.db");
      const acked: string[] = [];
      let caught: unknown;
      {
        using kv = t.openKv(path);
        try {
          for (let i = 0; i < 10_000; i++) {
            kv.set(`k${i}`, "v".repeat(500));
            kv.flush(); // acknowledged: committed (a no-op in the default mode)
            acked.push(`k${i}`);
          }
        } catch (error) {
          caught = error;
        }
        assert.ok(caught instanceof KvError, String(caught));
        assert.equal(caught.code, "KV_FULL", caught.message);
        assert.match(caught.message, escape(path));
        assert.ok(acked.length > 100, `wrote ${acked.length} keys before the disk filled`);
        assert.equal(kv.get(acked.at(-1)!), "v".repeat(500));
      }
      using again = t.openKv(path, { readOnly: true });
      again.integrityCheck();
      assert.equal(again.count(), acked.length);
    } finally {
      mnt.unmount();
    }
  }, { skip: cannotMount() });

  test("a file truncated mid-page is reported as KvCorruptError and left as it was", () => {
    const path = tempFile();
    {
      using kv = t.openKv(path, { journalMode: "delete" });
      kv.setMany(Array.from({ length: 2000 }, (_, i) => [`key:${i}`, `value ${i} `.repeat(10)] as [string, string]));
    }
    const size = readFileSync(path).length;
    truncateSync(path, Math.floor(size / 2 / 4096) * 4096 + 1000);
    const before = readFileSync(path);
    let caught: unknown;
    try {
      using kv = t.openKv(path, { journalMode: "delete" });
      for (const entry of kv.list()) void entry;
      kv.integrityCheck();
    } catch (error) {
      caught = error;
    }
    assert.ok(caught instanceof KvCorruptError, String(caught));
    assert.ok(readFileSync(path).equals(before), "the damaged file was changed");
  });

  test("a file that is not SQLite is KvCorruptError naming it, and is left as it was", () => {
    const path = tempFile("notes.txt");
    writeFileSync(path, "these are my notes, not a database\n".repeat(200));
    const before = readFileSync(path);
    assert.throws(() => t.openKv(path), (e: unknown) => e instanceof KvCorruptError && escape(path).test(e.message));
    assert.throws(() => t.openKv(path, { readOnly: true }), KvCorruptError);
    assert.ok(readFileSync(path).equals(before), "the file was changed");
  });

  test("a directory as the path is a KvError naming it, and nothing is created in it", () => {
    const dir = join(tempDir(), "a-folder");
    mkdirSync(dir);
    assert.throws(() => t.openKv(dir), (e: unknown) => e instanceof KvError && escape(dir).test(e.message));
    assert.throws(() => t.openKv(dir, { readOnly: true }), KvError);
    assert.deepEqual(readdirSync(dir), []);
  });
}
