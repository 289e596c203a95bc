import { assert } from "../assert.ts";
import { createRequire } from "node:module";
import { openKv, openKvAsync } from "../../mod.ts";
import { KeyvKvsqlite } from "../../src/keyv.ts";
import type { TestFn } from "../harness.ts";
import { tempFile } from "../util.ts";

const require = createRequire(import.meta.url);

/** KeyvKvsqlite under Keyv and cacheable (npm dev dependencies). */
export function keyvTests(test: TestFn): void {
  const { default: Keyv } = require("keyv") as { default: new (o: object) => KeyvLike };
  const { Cacheable } = require("cacheable") as { Cacheable: new (o: object) => CacheableLike };

  test("Keyv on KeyvKvsqlite: namespaces are kv namespaces, ttl is the key's expiry, values as Keyv gave them", async () => {
    const path = tempFile();
    const kv = openKv(path);
    const sessions = new Keyv({ store: new KeyvKvsqlite(kv), namespace: "sessions" });
    const other = new Keyv({ store: new KeyvKvsqlite(kv), namespace: "other" });
    assert.equal(await sessions.set("42", { user: "ada" }, 60_000), true);
    await other.set("42", "elsewhere");
    assert.deepEqual(await sessions.get("42"), { user: "ada" });
    assert.deepEqual(kv.namespaces().sort(), ["other", "sessions"]);
    const row = kv.namespace("sessions").getEntry("sessions:42")!;
    assert.equal(typeof row.value, "string", "Keyv's serialized text, stored as given");
    assert.ok(row.expiresAt! > Date.now() + 50_000 && row.expiresAt! <= Date.now() + 60_000);
    await sessions.clear();
    assert.equal(await sessions.get("42"), undefined);
    assert.equal(await other.get("42"), "elsewhere", "clear() empties its namespace only");
    await sessions.disconnect();
    assert.equal(kv.get("x"), undefined, "a store passed in stays open");
    kv.close();
  });

  test("KeyvKvsqlite over a store from openKvAsync: the same namespaces, expiry, many-key calls and errors", async () => {
    const path = tempFile();
    const kv = await openKvAsync(path);
    const store = new KeyvKvsqlite(kv);
    const sessions = new Keyv({ store, namespace: "sessions" });
    assert.equal(await sessions.set("42", { user: "ada" }, 60_000), true);
    assert.deepEqual(await sessions.get("42"), { user: "ada" });
    const row = (await kv.namespace("sessions").getEntry("sessions:42"))!;
    assert.ok(row.expiresAt! > Date.now() + 50_000 && row.expiresAt! <= Date.now() + 60_000);
    store.namespace = "sessions";
    assert.deepEqual(
      await store.setMany([{ key: "sessions:a", value: "1" }, { key: "sessions:b", value: "2", ttl: 1000 }]),
      [
        true,
        true,
      ],
    );
    assert.deepEqual(await store.getMany(["sessions:a", "sessions:b", "sessions:none"]), ["1", "2", undefined]);
    const listed: string[] = [];
    for await (const [key] of store.iterator("sessions")) listed.push(key);
    assert.deepEqual(listed, ["sessions:42", "sessions:a", "sessions:b"]);
    assert.equal(await store.deleteMany(["sessions:a", "sessions:none"]), true);
    assert.equal(await store.has("sessions:a"), false);
    await sessions.disconnect();
    assert.equal(await kv.get("x"), undefined, "a store passed in stays open");
    await kv.close();
    const errors: unknown[] = [];
    store.on("error", (e: unknown) => errors.push(e));
    await assert.rejects(store.get("sessions:42"), (e: unknown) => (e as Error).name === "KvClosedError");
    assert.equal(errors.length, 1, "a rejected call of the async store is emitted as error");
    assert.throws(
      () => new KeyvKvsqlite(5 as never),
      /pass a store from openKv\(\) or openKvAsync\(\), or a file path/,
    );
  });

  test("an error of the store reaches Keyv's error event", async () => {
    const kv = openKv(tempFile());
    const keyv = new Keyv({ store: new KeyvKvsqlite(kv) });
    const errors: unknown[] = [];
    keyv.on("error", (e: unknown) => errors.push(e));
    kv.close();
    assert.equal(await keyv.get("a"), undefined);
    assert.ok(errors.length > 0 && (errors[0] as Error).name === "KvClosedError", String(errors[0]));
  });

  test("cacheable with KeyvKvsqlite as its secondary store keeps a value across a restart", async () => {
    const path = tempFile();
    const first = new Cacheable({ secondary: new Keyv({ store: new KeyvKvsqlite(path) }) });
    await first.set("report", { rows: 3 }, "1h");
    await first.disconnect();
    const second = new Cacheable({ secondary: new Keyv({ store: new KeyvKvsqlite(path) }) });
    assert.deepEqual(await second.get("report"), { rows: 3 }, "read back from the file, not memory");
    await second.disconnect();
  });
}

interface KeyvLike {
  set(key: string, value: unknown, ttl?: number): Promise<boolean>;
  get(key: string): Promise<unknown>;
  clear(): Promise<void>;
  disconnect(): Promise<void>;
  on(event: string, fn: (e: unknown) => void): unknown;
}
interface CacheableLike {
  set(key: string, value: unknown, ttl?: string | number): Promise<unknown>;
  get(key: string): Promise<unknown>;
  disconnect(): Promise<void>;
}
