import { assert } from "../assert.ts";
import { syncOnly, type Target, type TestFn } from "../harness.ts";
import { rawAll, tempFile } from "../util.ts";

/** SNKV's configuration and stats: page size, WAL size limit, incremental vacuum, counters with reset. */
export function lineageTests(test: TestFn, t: Target): void {
  test("pageSize and autoVacuum apply when the file is created and leave an existing file alone", async () => {
    const path = tempFile();
    await (await t.openKv(path, { pageSize: 8192, autoVacuum: "incremental" })).close();
    assert.deepEqual(rawAll(t.raw, path, "PRAGMA page_size"), [[8192]]);
    assert.deepEqual(rawAll(t.raw, path, "PRAGMA auto_vacuum"), [[2]]);
    await (await t.openKv(path, { pageSize: 1024 })).close();
    assert.deepEqual(rawAll(t.raw, path, "PRAGMA page_size"), [[8192]], "an existing file keeps its page size");
    for (const pageSize of [0, 1000, 256, 131072, 1.5]) {
      await assert.rejects(async () => await t.openKv(":memory:", { pageSize }), RangeError, String(pageSize));
    }
    await assert.rejects(async () => await t.openKv(":memory:", { autoVacuum: "full" as never }), RangeError);
  });

  test("journalSizeLimit sets the WAL size limit", async () => {
    const { kv, pragma, closeUser } = t.fromDatabase(tempFile(), { journalSizeLimit: 1_048_576 });
    try {
      assert.equal(Number(pragma("journal_size_limit")), 1_048_576);
      await assert.rejects(async () => await t.openKv(":memory:", { journalSizeLimit: -2 }), RangeError);
    } finally {
      await kv.close();
      closeUser();
    }
  }, syncOnly(t, "reads the pragmas through the user's handle (fromDatabase)"));

  test("vacuum({ pages }) frees at most that many pages, on a file created for it", async () => {
    const path = tempFile();
    await using kv = await t.openKv(path, { autoVacuum: "incremental" });
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
    await using plain = await t.openKv(tempFile());
    await assert.rejects(async () => await plain.vacuum({ pages: 5 }), /autoVacuum: "incremental"/);
    await plain.vacuum();
  });

  test("stats counts rows iterated, errors and checkpoints, and { reset } returns and zeroes the counters", async () => {
    await using kv = await t.openKv(tempFile());
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
}
