import { assert } from "../assert.ts";
import fc from "fast-check";
import type { Target, TestFn } from "../harness.ts";
import type { KvMethods, Mode } from "../../src/api.ts";
import { manualClock, rawAll, rawExec, tempFile } from "../util.ts";
import { memoize } from "../../src/cache.ts";
import { KeyvKvsqlite } from "../../src/keyv.ts";
import { run } from "../../src/cli.ts";

/**
 * Pieces of names that would change a statement if a name were ever pasted
 * into SQL as text: quotes of every kind, comments, statement ends, every
 * placeholder form SQLite knows, and the tag table's old `$tags` stand-in.
 */
const PIECES = [
  "$tags",
  "$",
  '"',
  "'",
  "`",
  "[",
  "]",
  "*/",
  "/*",
  "--",
  "?",
  "?1",
  "?2",
  ":a",
  "@a",
  "$a",
  ";",
  "(",
  ")",
  "*",
  "%",
  "_",
  "\\",
  " ",
  "\n",
  "kv",
  "victim",
  "DROP TABLE plain",
  "é",
  "\u{1F600}",
];

/** Names made of those pieces that a name may be (1 to 128 characters, no "/", not kvsqlite's own prefix). */
const names = fc.array(fc.constantFrom(...PIECES), { minLength: 1, maxLength: 5 }).map((parts) => parts.join(""))
  .filter((name) => name.length <= 128 && !name.includes("/") && !/^(kv)?sqlite_/i.test(name));

const RUNS = 12;

/**
 * A file holding what a name must never reach: kvsqlite tables named
 * "victim" and "*" (with a tagged key and an expired one) and a table of
 * another program. Returns a snapshot function of all of it.
 */
async function victims(t: Target, path: string, now: () => number): Promise<() => string> {
  for (const table of ["victim", "*"]) {
    await using kv = await t.open(path, { table, now });
    await kv.set("v1", "keep", { tags: ["t"] });
    await kv.set("v2", 2, { expiresAt: 1 });
    await kv.namespace("inner").set("v3", 3);
  }
  rawExec(t.raw, path, `CREATE TABLE plain (x); INSERT INTO plain VALUES (1), ('two')`);
  return () =>
    JSON.stringify([
      rawAll(t.raw, path, `SELECT k, v, kind, expire_time, tagged FROM "victim" ORDER BY k`),
      rawAll(t.raw, path, `SELECT k, v, kind, expire_time, tagged FROM "*" ORDER BY k`),
      rawAll(t.raw, path, `SELECT k, v FROM "victim/inner" ORDER BY k`),
      rawAll(t.raw, path, `SELECT tag, k FROM "kvsqlite_tags/victim" ORDER BY tag, k`),
      rawAll(t.raw, path, `SELECT tag, k FROM "kvsqlite_tags/*" ORDER BY tag, k`),
      rawAll(t.raw, path, `SELECT x FROM plain ORDER BY rowid`),
    ]);
}

/** Every kind of call on a key space, checked against what it must answer. */
async function exercise(kv: KvMethods<Mode>, clock: ReturnType<typeof manualClock>, label: string): Promise<void> {
  await kv.set("a", 1, { tags: ["t", "u"] });
  await kv.set("b", "two", { ttl: 1000 });
  await kv.setMany({ c: 3, d: { nested: [1] } }, { tags: ["t"] });
  assert.equal(await kv.count(), 4, label);
  assert.equal(await kv.count({ tag: "t" }), 3, label);
  assert.deepEqual(await kv.keys({ tag: "u" }), ["a"], label);
  assert.deepEqual(await kv.keys({ prefix: "" }), ["a", "b", "c", "d"], label);
  assert.deepEqual(await kv.keys({ glob: "[ab]" }), ["a", "b"], label);
  assert.deepEqual(await kv.keys({ like: "C" }), ["c"], label);
  assert.deepEqual(await kv.tags("a"), ["t", "u"], label);
  assert.equal(await kv.incr("a"), 2, label);
  assert.equal(await kv.rename("c", "e"), true, label);
  assert.deepEqual(await kv.entries({ start: "d" }), [["d", { nested: [1] }], ["e", 3]], label);
  assert.equal((await Array.fromAsync(kv.list({ tag: "t" }))).length, 3, label);
  clock.advance(2000);
  assert.equal(await kv.has("b"), false, label);
  assert.equal(await kv.purgeExpired(), 1, label);
  assert.equal(await kv.deleteMany({ tag: "u" }), 1, label);
  assert.deepEqual(await kv.take("d"), { nested: [1] }, label);
  assert.equal(await kv.clear(), 1, label);
  assert.equal(await kv.count(), 0, label);
}

/**
 * Names are identifiers, never SQL text: tables and namespaces named with
 * quotes, comments, placeholders and `$tags` hold their own keys and reach no
 * other table (`table` option, `namespace()`, `dropNamespace()`).
 */
export function nameTests(test: TestFn, t: Target): void {
  test("a table or namespace name is an identifier: whatever its characters, it reaches no other table", async () => {
    let seen = 0;
    await fc.assert(
      fc.asyncProperty(names, async (name) => {
        seen++;
        const path = tempFile();
        const clock = manualClock();
        const snapshot = await victims(t, path, clock.now);
        const before = snapshot();
        {
          await using kv = await t.open(path, { table: name, now: clock.now });
          await exercise(kv, clock, `table ${JSON.stringify(name)}`);
          await kv.set("left", 1);
        }
        {
          await using kv = await t.open(path, { now: clock.now });
          const space = kv.namespace(name);
          await exercise(space, clock, `namespace ${JSON.stringify(name)}`);
          await space.set("left", 1);
          assert.deepEqual(await kv.namespaces(), [name]);
          assert.equal(await kv.dropNamespace(name), true);
          assert.deepEqual(await kv.namespaces(), []);
        }
        {
          await using kv = await t.open(path, { table: name, now: clock.now });
          assert.deepEqual(await kv.keys(), ["left"], "the named table kept its key");
        }
        assert.equal(snapshot(), before, `a store named ${JSON.stringify(name)} changed another table`);
      }),
      { numRuns: RUNS, seed: 0x5eed },
    );
    assert.equal(seen, RUNS);
  }, { skip: t.noFile });
}

/** The same for the entry points that take a name besides the store: memoize and Keyv. */
export function namedEntryPointTests(test: TestFn, t: Target): void {
  test("memoize and Keyv namespaces of any name reach no other table", async () => {
    await fc.assert(
      fc.asyncProperty(names, async (name) => {
        const path = tempFile();
        const clock = manualClock();
        const snapshot = await victims(t, path, clock.now);
        const before = snapshot();
        {
          using kv = t.openKv(path, { now: clock.now });
          let computed = 0;
          const square = memoize((n: number) => (computed++, n * n), {
            kv,
            name: "square",
            namespace: name,
            tags: ["t"],
          });
          assert.equal(square(3), 9);
          assert.equal(square(3), 9);
          assert.equal(computed, 1);
          assert.equal(kv.namespace(name).count({ tag: "t" }), 1);
          assert.equal(square.clear(), 1);

          const keyv = new KeyvKvsqlite(kv);
          keyv.namespace = name;
          await keyv.set("k", "v");
          assert.equal(await keyv.get("k"), "v");
          assert.deepEqual(kv.namespace(name).keys(), ["k"]);
          await keyv.clear();
          assert.equal(kv.namespace(name).count(), 0);
        }
        assert.equal(snapshot(), before, `the name ${JSON.stringify(name)} changed another table`);
      }),
      { numRuns: RUNS, seed: 0xcafe },
    );
  });
}

/**
 * The CLI's `--namespace` and `--table` of any name, on the runtime's
 * built-in driver (the CLI's own; `t` must be that driver's target).
 */
export function cliNameTests(test: TestFn, t: Target): void {
  test("cli: --namespace and --table of any name reach no other table", async () => {
    await fc.assert(
      fc.asyncProperty(names, async (name) => {
        const path = tempFile();
        const snapshot = await victims(t, path, Date.now);
        const before = snapshot();
        const io = { out: () => {}, err: (line: string) => assert.ok(false, line), stdin: () => "" };
        assert.equal(run([path, "set", "k", "v", "--namespace", name], io), 0);
        assert.equal(run([path, "set", "k", "v", "--table", name], io), 0);
        const out: string[] = [];
        const read = { ...io, out: (line: string) => void out.push(line) };
        assert.equal(run([path, "keys", "--namespace", name], read), 0);
        assert.equal(run([path, "get", "k", "--table", name], read), 0);
        assert.deepEqual(out, ["k", "v"]);
        assert.equal(snapshot(), before, `the name ${JSON.stringify(name)} changed another table`);
      }),
      { numRuns: RUNS, seed: 0xbeef },
    );
  });
}
