import { assert } from "../assert.ts";
import { syncOnly, type Target, type TestFn } from "../harness.ts";

/** transaction(fn): commit and rollback, savepoints, and the fn it refuses. */
export function transactionTests(test: TestFn, t: Target): void {
  test("a transaction commits on return and rolls back on throw", async () => {
    await using kv = await t.open();
    assert.equal(
      await kv.transaction((tx) => {
        tx.set("a", 1);
        tx.set("b", 2);
        return "done";
      }),
      "done",
    );
    const boom = new Error("boom");
    await assert.rejects(async () =>
      await kv.transaction((tx) => {
        tx.set("a", 100);
        tx.delete("b");
        throw boom;
      }), (e: unknown) => e === boom);
    assert.deepEqual(await kv.entries(), [["a", 1], ["b", 2]]);
  });

  test("nested transactions are savepoints", async () => {
    await using kv = await t.open();
    await kv.transaction((tx) => {
      tx.set("outer", 1);
      assert.throws(() =>
        tx.transaction((inner) => {
          inner.set("inner", 1);
          throw new Error("inner fails");
        })
      );
      tx.transaction((inner) => inner.set("kept", 1));
    });
    assert.deepEqual(await kv.keys(), ["kept", "outer"]);
  }, syncOnly(t, "transaction(fn) takes an async fn (see its own tests)"));

  test("an async callback is refused with TypeError and nothing is committed", async () => {
    using kv = t.openKv();
    // deno-lint-ignore require-await
    const asyncFn = async (tx: typeof kv) => tx.set("a", 1);
    assert.throws(() => kv.transaction(asyncFn as never), TypeError);
    assert.throws(
      () =>
        kv.transaction(
          ((tx: typeof kv) => {
            tx.set("b", 1);
            return Promise.resolve(1);
          }) as never,
        ),
      /fn must be synchronous, received a promise/,
    );
    await new Promise((r) => setTimeout(r, 5));
    assert.equal(kv.count(), 0);
    assert.throws(() => kv.transaction("x" as never), TypeError);
  }, syncOnly(t, "transaction(fn) takes an async fn"));

  test("transaction refuses a fn that is not a function, and nothing is committed", async () => {
    await using kv = await t.open();
    await assert.rejects(async () => await kv.transaction("x" as never), TypeError);
    await assert.rejects(async () => await kv.transaction(undefined as never), /fn must be a function/);
    assert.equal(await kv.count(), 0);
  });

  test("a failed call inside a transaction leaves the transaction usable", async () => {
    await using kv = await t.open();
    await kv.transaction((tx) => {
      tx.set("a", 1);
      assert.throws(() => tx.set("b", () => 1), Error);
      tx.set("c", 3);
    });
    assert.deepEqual(await kv.keys(), ["a", "c"]);
  }, syncOnly(t, "transaction(fn) takes an async fn (see its own tests)"));
}
