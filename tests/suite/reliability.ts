import { assert } from "../assert.ts";
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { KvCodecError, KvError, KvReadOnlyError, KvSchemaError } from "../../src/errors.ts";
import { syncOnly, type Target, type TestFn } from "../harness.ts";
import { manualClock, rawAll, rawExec, tempDir, tempFile } from "../util.ts";

/** An array nested `depth` levels deep around `leaf`. */
export function nested(depth: number, leaf: unknown = "leaf"): unknown {
  let v: unknown = leaf;
  for (let i = 0; i < depth; i++) v = [v];
  return v;
}

/** How deep `nested` built a value (iteratively, so that it never overflows). */
export function depthOf(value: unknown): number {
  let d = 0;
  while (Array.isArray(value)) {
    value = value[0];
    d++;
  }
  return d;
}

/** Why this process cannot mount a tmpfs, or undefined when it can. */
export function cannotMount(): string | undefined {
  const p = globalThis as { process?: { platform?: string; getuid?: () => number } };
  if (p.process?.platform !== "linux") return "mounting a tmpfs needs Linux";
  if (p.process.getuid?.() !== 0) return "mounting a tmpfs needs root";
  return undefined;
}

/** Mounts a tmpfs of `size` (e.g. "1m") on a new folder; returns the folder and how to unmount it. */
export function mountTmpfs(size: string): { dir: string; readOnly(): void; unmount(): void } {
  const dir = join(tempDir(), "mnt");
  mkdirSync(dir);
  execFileSync("mount", ["-t", "tmpfs", "-o", `size=${size}`, "tmpfs", dir]);
  return {
    dir,
    readOnly: () => void execFileSync("mount", ["-o", "remount,ro", dir]),
    unmount: () => void execFileSync("umount", ["-l", dir]),
  };
}

/** Each case found by probing the store as a careless or hostile caller would. */
export function reliabilityTests(test: TestFn, t: Target): void {
  test("a value nested deeper than the codec can read back is refused and the old value kept", async () => {
    await using kv = await t.openKv();
    await kv.set("deep", "old");
    await assert.rejects(async () => await kv.set("deep", nested(1001)), KvCodecError);
    await assert.rejects(async () => await kv.set("deep", nested(10_000)), /nested more than 1000 levels/);
    let obj: unknown = 1;
    for (let i = 0; i < 1001; i++) obj = { o: obj };
    await assert.rejects(async () => await kv.set("deep", obj), KvCodecError);
    await assert.rejects(async () => await kv.setMany([["x", 1], ["deep", nested(1001)]]), KvCodecError);
    assert.equal(await kv.get("deep"), "old");
    assert.equal(await kv.has("x"), false);
    assert.equal(await kv.set("deep", nested(1000)), true);
    assert.equal(depthOf(await kv.get("deep")), 1000);
    assert.equal(depthOf((await kv.entries())[0]![1]), 1000);
    assert.equal(depthOf((await Array.fromAsync(kv.list()))[0]!.value), 1000);
  });

  test("a string with a lone surrogate round-trips unchanged", async () => {
    await using kv = await t.openKv();
    const odd = ["a\uD800b", "\uDC00", "x\uDBFF", "\uD83D\uDE00\uD800", "nul\0and\uD800"];
    for (const [i, v] of odd.entries()) await kv.set(`s${i}`, v);
    for (const [i, v] of odd.entries()) assert.equal(await kv.get(`s${i}`), v);
    assert.deepEqual(await kv.values(), odd);
    assert.deepEqual(await kv.getMany(odd.map((_, i) => `s${i}`)), odd);
    assert.deepEqual((await Array.fromAsync(kv.list())).map((e) => e.value), odd);
    assert.equal(await kv.take("s0"), odd[0]);
    await kv.set("well", "fine \u{1F600}");
    assert.equal(await kv.get("well"), "fine \u{1F600}");
  });

  test("a query field that is present but undefined is a TypeError, never 'match everything'", async () => {
    await using kv = await t.openKv();
    await kv.setMany({ a: 1, b: 2 });
    for (const field of ["prefix", "like", "glob", "start", "end", "escape", "tag"]) {
      const q = { [field]: undefined } as never;
      await assert.rejects(async () => await kv.deleteMany(q), TypeError, field);
      await assert.rejects(async () => await kv.keys(q), TypeError, field);
      await assert.rejects(async () => await kv.count(q), TypeError, field);
      await assert.rejects(async () => await Array.fromAsync(kv.list(q)), TypeError, field);
    }
    await assert.rejects(async () => await kv.deleteMany({ like: "a%", escape: undefined } as never), TypeError);
    assert.deepEqual(await kv.keys(), ["a", "b"]);
    assert.deepEqual(await kv.keys({}), ["a", "b"], "an empty query still means every key");
  });

  test("query strings with lone surrogates are refused and delete nothing", async () => {
    await using kv = await t.openKv();
    await kv.set("\uFFFDsecret", 1);
    await assert.rejects(async () => await kv.deleteMany({ like: "\uD800%" }), RangeError);
    await assert.rejects(async () => await kv.deleteMany({ prefix: "\uD800" }), RangeError);
    await assert.rejects(async () => await kv.deleteMany({ glob: "\uDFFF*" }), RangeError);
    await assert.rejects(async () => await kv.deleteMany({ start: "\uD800" }), RangeError);
    await assert.rejects(async () => await kv.keys({ like: "%", escape: "\uD800" }), RangeError);
    await assert.rejects(async () => await kv.keys(undefined, { after: "\uD800" }), RangeError);
    assert.deepEqual(await kv.keys(), ["\uFFFDsecret"]);
  });

  test("another program's table of our name is refused and the file stays byte-identical", async () => {
    const foreign = [
      "CREATE TABLE kv (k TEXT, v BLOB)",
      "CREATE TABLE kv (k INTEGER PRIMARY KEY, v TEXT)",
      "CREATE TABLE kv (k TEXT PRIMARY KEY, v BLOB, owner TEXT)",
      "CREATE TABLE kv (k TEXT PRIMARY KEY, v TEXT)",
      "CREATE TABLE kv (k TEXT, v BLOB PRIMARY KEY)",
      "CREATE TABLE other (a); CREATE VIEW kv AS SELECT a AS k, a AS v FROM other",
    ];
    for (const sql of foreign) {
      const path = tempFile();
      rawExec(
        t.raw,
        path,
        `${sql}; INSERT INTO ${sql.includes("VIEW") ? "other" : "kv"} VALUES (1${sql.includes("VIEW") ? "" : ", 2"}${
          sql.includes("owner") ? ", 3" : ""
        });`,
      );
      const before = readFileSync(path);
      await assert.rejects(async () => await t.openKv(path), KvSchemaError, sql);
      await assert.rejects(async () => await t.openKv(path, { readOnly: true }), KvSchemaError, sql);
      assert.deepEqual(readFileSync(path), before, `${sql}: the file changed`);
    }
  });

  test("incr refuses to count a number past 2^53 instead of stalling", async () => {
    await using kv = await t.openKv();
    await kv.set("n", 2 ** 53 - 2);
    assert.equal(await kv.incr("n"), 2 ** 53 - 1);
    for (let i = 0; i < 3; i++) await assert.rejects(async () => await kv.incr("n"), RangeError);
    await assert.rejects(async () => await kv.incr("n", 1n), RangeError);
    assert.equal(await kv.get("n"), 2 ** 53 - 1);
    assert.equal(await kv.incr("n", -1), 2 ** 53 - 2);
    await kv.set("m", -(2 ** 53) + 1);
    await assert.rejects(async () => await kv.incr("m", -1), RangeError);
  });

  test("unknown options to any method are a TypeError and write nothing", async () => {
    await using kv = await t.openKv();
    for (const bad of [{ ttl_seconds: 5 }, { ttlSeconds: 5 }, { expire: 5 }, { ifabsent: true }]) {
      await assert.rejects(async () => await kv.set("k", 1, bad as never), /unknown option/);
      await assert.rejects(async () => await kv.setMany({ k: 1 }, bad as never), TypeError);
      await assert.rejects(async () => await kv.incr("c", 1, bad as never), TypeError);
    }
    await assert.rejects(async () => await kv.set("k", 1, { ifVersion: undefined }), TypeError);
    assert.equal(await kv.count(), 0);
    await kv.set("a", 1);
    await assert.rejects(async () => await kv.rename("a", "b", { overwrite: true, force: true } as never), TypeError);
    await assert.rejects(async () => await kv.keys(undefined, { limt: 1 } as never), TypeError);
    await assert.rejects(async () => await Array.fromAsync(kv.list(undefined, { max: 1 } as never)), TypeError);
    await assert.rejects(async () => await kv.close({ optimise: false } as never), TypeError);
    assert.deepEqual(await kv.keys(), ["a"]);
  });

  test("a clock that returns NaN or a non-number is refused at the first use, writing nothing", async () => {
    for (
      const [reading, error] of [[NaN, RangeError], [Infinity, RangeError], ["1", TypeError], [undefined, TypeError]]
    ) {
      let now: unknown = 1_700_000_000_000;
      await using kv = await t.openKv(":memory:", { now: () => now as number });
      await kv.set("before", 1, { ttl: 10 });
      now = reading;
      await assert.rejects(async () => await kv.set("k", 1, { ttl: 10 }), error as typeof Error);
      await assert.rejects(async () => await kv.get("before"), error as typeof Error);
      now = 1_700_000_000_000;
      assert.deepEqual(await kv.keys(), ["before"]);
    }
  });

  test("limit must be a safe whole number >= 0", async () => {
    await using kv = await t.openKv();
    await kv.set("a", 1);
    for (const limit of [2 ** 63, 2 ** 53, -1, 1.5, NaN, Infinity]) {
      await assert.rejects(async () => await kv.keys(undefined, { limit }), RangeError, String(limit));
      await assert.rejects(async () => await Array.fromAsync(kv.list(undefined, { limit })), RangeError, String(limit));
    }
    assert.deepEqual(await kv.keys(undefined, { limit: 2 ** 53 - 1 }), ["a"]);
    assert.deepEqual(await kv.keys(undefined, { limit: 0 }), []);
  });

  test("a stored key longer than the write limit can be read, listed, taken, renamed and deleted", async () => {
    const path = tempFile();
    const long = "L".repeat(3000);
    rawExec(
      t.raw,
      path,
      `CREATE TABLE "kv" (k VARCHAR(4096) PRIMARY KEY, v BLOB);
       INSERT INTO kv VALUES ('${long}', 'one'), ('${long}2', 'two'), ('${long}3', 'three');`,
    );
    await using kv = await t.openKv(path);
    assert.deepEqual(await kv.keys(), [long, `${long}2`, `${long}3`]);
    assert.equal(await kv.get(long), "one");
    assert.equal(await kv.has(long), true);
    assert.equal(await kv.ttl(long), Infinity);
    assert.deepEqual(await kv.getMany([long]), ["one"]);
    assert.equal((await kv.getEntry(long))!.value, "one");
    assert.equal(await kv.rename(`${long}2`, "short"), true);
    assert.equal(await kv.get("short"), "two");
    assert.equal(await kv.take(`${long}3`), "three");
    assert.equal(await kv.delete(long), true);
    await assert.rejects(async () => await kv.set(long, "again"), RangeError);
    await assert.rejects(async () => await kv.rename("short", long), RangeError);
    assert.deepEqual(await kv.keys(), ["short"]);
  });

  test("a WAL store on a read-only file system opens read-only, or says why it cannot", async () => {
    const why = cannotMount();
    if (why !== undefined) return console.log(`${t.name}: read-only file system test skipped: ${why}`);
    if (t.noUri !== undefined) return console.log(`${t.name}: read-only file system test skipped: ${t.noUri}`);
    const mnt = mountTmpfs("4m");
    try {
      const clean = join(mnt.dir, "clean.db");
      const kv = await t.openKv(clean);
      await kv.set("a", 1);
      await kv.close();
      // A -wal that still holds changes: copied while a writer keeps it.
      const src = tempFile();
      const writer = await t.openKv(src);
      await writer.set("b", 2);
      const pending = join(mnt.dir, "pending.db");
      copyFileSync(src, pending);
      copyFileSync(`${src}-wal`, `${pending}-wal`);
      await writer.close();
      mnt.readOnly();
      {
        await using ro = await t.openKv(clean, { readOnly: true });
        assert.equal(await ro.get("a"), 1);
        await assert.rejects(async () => await ro.set("a", 2), KvReadOnlyError);
      }
      await assert.rejects(
        async () => await t.openKv(pending, { readOnly: true }),
        (e: unknown) => e instanceof KvReadOnlyError && e.message.includes(pending) && e.message.includes("-shm"),
      );
    } finally {
      mnt.unmount();
    }
  });

  test("every ttl must be > 0: 0 and negatives are a RangeError and write nothing", async () => {
    await using kv = await t.openKv();
    await kv.set("k", "before");
    for (const ttl of [0, -1, -0, 0 - 1e-9]) {
      await assert.rejects(async () => await kv.set("k", "after", { ttl }), RangeError, String(ttl));
      await assert.rejects(async () => await kv.setMany({ k: "after" }, { ttl }), RangeError);
      await assert.rejects(async () => await kv.incr("counter", 1, { ttl }), RangeError);
      await assert.rejects(async () => await kv.expire("k", ttl), RangeError);
    }
    assert.equal(await kv.get("k"), "before");
    assert.equal(await kv.ttl("k"), Infinity);
    assert.equal(await kv.has("counter"), false);
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

  test("a clock moved by hand expires keys written with a fractional ttl", async () => {
    const clock = manualClock();
    await using kv = await t.openKv(":memory:", { now: clock.now });
    await kv.set("f", 1, { ttl: 1.5 });
    clock.advance(1);
    assert.equal(await kv.has("f"), true);
    clock.advance(1);
    assert.equal(await kv.has("f"), false);
    await kv.set("tiny", 1, { ttl: 0.5 });
    assert.equal(await kv.has("tiny"), true, "a fraction of a ms is still a ttl: it rounds up");
  });
}
