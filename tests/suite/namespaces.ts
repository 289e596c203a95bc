import { assert } from "../assert.ts";
import { KvClosedError } from "../../src/errors.ts";
import type { Target, TestFn } from "../harness.ts";
import { tempFile } from "../util.ts";

/** Namespaces: key spaces of their own in one file, sharing its transactions. */
export function namespaceTests(test: TestFn, t: Target): void {
  test("namespaces are isolated key spaces sharing the file and the transactions", async () => {
    const path = tempFile();
    await using kv = await t.open(path);
    const users = kv.namespace("users");
    const posts = kv.namespace("posts");
    assert.equal(kv.namespace("users"), users);
    await kv.set("1", "root");
    await users.set("1", "ada");
    await posts.set("1", "hello");
    assert.equal(await kv.get("1"), "root");
    assert.equal(await users.get("1"), "ada");
    assert.deepEqual(await kv.keys(), ["1"]);
    assert.deepEqual(await kv.namespaces(), ["posts", "users"]);
    await assert.rejects(async () =>
      await kv.transaction(() => {
        users.set("2", "bob");
        posts.delete("1");
        throw new Error("undo");
      })
    );
    assert.deepEqual(await users.keys(), ["1"]);
    assert.equal(await posts.get("1"), "hello");
    assert.equal(await users.clear(), 1);
    assert.equal(await kv.get("1"), "root");
    assert.equal(await posts.count(), 1);
    const deep = users.namespace("admins");
    await deep.set("x", 1);
    assert.deepEqual(await users.namespaces(), ["admins"]);
    assert.deepEqual(await kv.namespaces(), ["posts", "users"]);
    assert.equal(await kv.dropNamespace("users"), true);
    assert.equal(await kv.dropNamespace("users"), false);
    assert.deepEqual(await kv.namespaces(), ["posts"]);
    assert.equal(await users.get("1"), undefined, "a dropped namespace reads empty");
    await users.set("again", 1);
    assert.deepEqual(await kv.namespace("users").keys(), ["again"]);
    for (const bad of ["", "a/b", "sqlite_x", "x".repeat(129)]) assert.throws(() => kv.namespace(bad), RangeError);
    assert.throws(() => kv.namespace(5 as unknown as string), TypeError);
  }, { skip: t.manyConnections });

  test("closing a namespace closes only that view", async () => {
    await using kv = await t.open();
    const ns = kv.namespace("n");
    await ns.close();
    await assert.rejects(async () => await ns.get("a"), KvClosedError);
    await kv.set("a", 1);
    assert.equal(await kv.get("a"), 1);
  });
}
