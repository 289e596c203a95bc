import { assert } from "../assert.ts";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { openKv } from "../../mod.ts";
import type { TestFn } from "../harness.ts";
import { SAMPLE } from "../fixtures/sample.ts";
import { cannotMount, mountTmpfs, tempDir } from "../util.ts";
import { existsSync, readdirSync, statSync } from "node:fs";

const root = fileURLToPath(new URL("../..", import.meta.url));
const CLI = join(root, "src", "cli.ts");
const RUNTIMES: [string, string, string[]][] = [
  ["node", join(root, "node_modules/.bin/node"), []],
  ["bun", join(root, "node_modules/.bin/bun"), []],
  ["deno", join(root, "node_modules/.bin/deno"), ["run", "-A"]],
];

/** The CLI on a runtime (`[name, command, args]`), with `stdin` as its input. */
export function cli(
  rt: [string, string, string[]],
  args: string[],
  stdin = "",
): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(rt[1], [...rt[2], CLI, ...args], { stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (c) => (out += c));
    child.stderr.on("data", (c) => (err += c));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, out, err }));
    child.stdin.end(stdin);
  });
}

/** The CLI, spawned on every runtime. */
export function cliTests(test: TestFn): void {
  for (const rt of RUNTIMES) {
    test(`cli on ${rt[0]}: get, set, keys, ttl, del and their exit statuses`, async () => {
      const file = join(tempDir(), "cli.db");
      assert.equal((await cli(rt, [file, "set", "user:1", "ada"])).code, 0);
      assert.equal((await cli(rt, [file, "set", "user:2", '{"n":[1,2]}', "--json", "--ttl", "60000"])).code, 0);
      assert.equal((await cli(rt, [file, "set", "x", "in ns", "--namespace", "other"])).code, 0);
      assert.deepEqual(await cli(rt, [file, "get", "user:1"]), { code: 0, out: "ada\n", err: "" });
      assert.equal((await cli(rt, [file, "get", "user:2", "--json"])).out, '{"n":[1,2]}\n');
      assert.equal((await cli(rt, [file, "keys", "--prefix", "user:"])).out, "user:1\nuser:2\n");
      assert.equal((await cli(rt, [file, "keys", "--glob", "*:2", "--json"])).out, '["user:2"]\n');
      assert.equal((await cli(rt, [file, "count"])).out, "2\n");
      assert.equal((await cli(rt, [file, "namespaces"])).out, "other\n");
      assert.equal((await cli(rt, [file, "get", "x", "--namespace", "other"])).out, "in ns\n");
      const ttl = Number((await cli(rt, [file, "ttl", "user:2"])).out);
      assert.ok(ttl > 50_000 && ttl <= 60_000, String(ttl));
      assert.equal((await cli(rt, [file, "ttl", "user:1"])).out, "never\n");
      assert.equal((await cli(rt, [file, "persist", "user:2"])).code, 0);
      assert.equal((await cli(rt, [file, "rename", "user:2", "user:3"])).code, 0);
      assert.equal((await cli(rt, [file, "get", "missing"])).code, 1, "a missing key is status 1");
      assert.equal((await cli(rt, [file, "del", "user:1", "user:3"])).code, 0);
      assert.equal((await cli(rt, [file, "del", "user:1"])).code, 1);
      assert.equal((await cli(rt, [file, "check"])).out, "ok\n");
      const usage = await cli(rt, [file, "frobnicate"]);
      assert.equal(usage.code, 2);
      assert.match(usage.err, /unknown command/);
      assert.equal((await cli(rt, [file, "set", "k"])).code, 2, "a missing argument is a usage error");
      assert.equal((await cli(rt, [file, "keys", "--prefix", "a", "--like", "b"])).code, 2);
      assert.equal((await cli(rt, [])).code, 2);
      const stats = JSON.parse((await cli(rt, [file, "stats", "--json"])).out);
      assert.equal(typeof stats.pages, "number");
    });
  }

  for (const rt of RUNTIMES) {
    test(`cli on ${rt[0]}: info shows the file, the WAL, its frames checkpointed and the last checkpoint`, async () => {
      const file = join(tempDir(), "app.db");
      using kv = openKv(file);
      kv.setMany(Array.from({ length: 300 }, (_, i) => [`k${i}`, "x".repeat(200)] as [string, string]));
      const info = async () => JSON.parse((await cli(rt, [file, "info", "--json"])).out);
      const before = await info();
      const moved = kv.checkpoint("passive");
      assert.equal(before.walFrames, moved.logFrames, "the frames the WAL holds");
      const after = await info();
      assert.equal(after.walFrames, moved.logFrames);
      assert.equal(after.checkpointedFrames, moved.checkpointedFrames, "the frames the checkpoint moved");
      kv.set("one more", 1);
      const restarted = await info();
      assert.ok(restarted.walFrames < moved.logFrames, "a write after a whole checkpoint starts the WAL over");
      assert.equal(restarted.checkpointedFrames, 0);
      assert.equal(restarted.walBytes, statSync(`${file}-wal`).size);
      assert.equal(restarted.fileBytes, statSync(file).size);
      // The file's modification time (runtimes round its sub-millisecond part differently).
      assert.ok(Math.abs(Date.parse(restarted.lastCheckpoint) - statSync(file).mtimeMs) < 2, restarted.lastCheckpoint);
      assert.equal(restarted.litestream, null);
      const text = await cli(rt, [file, "info"]);
      assert.equal(text.code, 0, text.err);
      assert.match(text.out, /^file +[\d,]+ bytes$/m);
      assert.match(text.out, /^wal +[\d,]+ bytes$/m);
      assert.match(
        text.out,
        new RegExp(`^frames +${restarted.walFrames.toLocaleString("en-US")} in the WAL, 0 checkpointed$`, "m"),
      );
      assert.doesNotMatch(text.out, /litestream/);
      const memory = await cli(rt, [":memory:", "info"]);
      assert.equal(memory.code, 2);
      assert.match(memory.err, /info needs a file/);
    });
  }

  for (const rt of RUNTIMES) {
    test(`cli on ${rt[0]}: --help, nothing created unless the command writes, import errors with their line, --overwrite`, async () => {
      const dir = tempDir();
      const file = join(dir, "app.db");
      const help = await cli(rt, ["--help"]);
      assert.equal(help.code, 0, help.err);
      for (const name of ["get KEY", "set KEY VALUE", "backup DEST [--overwrite]", "export", "import", "exit status"]) {
        assert.ok(help.out.includes(name), `--help names ${name}`);
      }
      const one = await cli(rt, [file, "rename", "--help"]);
      assert.equal(one.code, 0);
      assert.match(one.out, /^usage: kvsqlite FILE rename FROM TO/);
      assert.match(one.out, /example: kvsqlite data\/app\.db rename tmp:1 final:1/);
      // Reads, typos and missing arguments leave no file behind.
      const missing = await cli(rt, [file, "get", "k"]);
      assert.equal(missing.code, 3);
      assert.match(missing.err, /no store at ".*app\.db": get needs an existing file \(--create makes one\)/);
      assert.equal((await cli(rt, [file, "gte", "k"])).code, 2);
      assert.equal((await cli(rt, [file, "set", "k"])).code, 2);
      assert.equal((await cli(rt, [file, "del", "k"])).code, 3);
      assert.deepEqual(readdirSync(dir), [], "nothing was created");
      assert.equal((await cli(rt, [file, "count", "--create"])).out, "0\n");
      assert.ok(existsSync(file), "--create makes the file");
      // Namespaces travel in the dump; an import error names its line and changes nothing.
      assert.equal((await cli(rt, [file, "set", "a", "root"])).code, 0);
      assert.equal((await cli(rt, [file, "set", "a", "in ns", "--namespace", "ns"])).code, 0);
      const dump = await cli(rt, [file, "export"]);
      assert.deepEqual(dump.out.trim().split("\n").map((l) => JSON.parse(l)), [
        { key: "a", value: "root", expiresAt: null },
        { key: "a", value: "in ns", expiresAt: null, namespace: "ns" },
      ]);
      assert.match(dump.err, /exported 2 entries/);
      const copy = join(dir, "copy.db");
      assert.equal((await cli(rt, [copy, "import"], dump.out)).code, 0);
      assert.equal((await cli(rt, [copy, "get", "a", "--namespace", "ns"])).out, "in ns\n");
      const bad = await cli(rt, [copy, "import"], `${dump.out}[1, 2]\n`);
      assert.equal(bad.code, 2);
      assert.match(bad.err, /^line 3 of the input is not an entry/);
      const badKey = await cli(rt, [copy, "import"], '{"key":"b","value":1}\n{"key":"","value":1}\n');
      assert.equal(badKey.code, 2);
      assert.match(badKey.err, /^line 2 of the input: Cannot set key/);
      assert.equal((await cli(rt, [copy, "get", "b"])).code, 1, "a failed import changes nothing");
      const badJson = await cli(rt, [join(dir, "never.db"), "import"], "{nope\n");
      assert.equal(badJson.code, 2);
      assert.match(badJson.err, /^line 1 of the input is not JSON/);
      assert.equal(existsSync(join(dir, "never.db")), false, "an input that fails its check makes no file");
      // backup: an existing destination needs --overwrite, which the message names.
      const dest = join(dir, "backup.db");
      assert.equal((await cli(rt, [file, "backup", dest])).code, 0);
      const again = await cli(rt, [file, "backup", dest]);
      assert.equal(again.code, 3);
      assert.match(again.err, /the file exists; give --overwrite to replace it/);
      assert.equal((await cli(rt, [file, "backup", dest, "--overwrite"])).code, 0);
    });
  }

  test(
    "cli: the commands that only read work on a file of a read-only file system; a write says why it cannot",
    async () => {
      const mnt = mountTmpfs("4m");
      try {
        const file = join(mnt.dir, "ro.db");
        {
          using kv = openKv(file);
          kv.set("user:1", "ada", { tags: ["t"] });
          kv.namespace("other").set("x", 1);
        }
        mnt.readOnly();
        for (const rt of RUNTIMES) {
          assert.deepEqual(await cli(rt, [file, "get", "user:1"]), { code: 0, out: "ada\n", err: "" }, rt[0]);
          assert.equal((await cli(rt, [file, "keys", "--tag", "t"])).out, "user:1\n", rt[0]);
          assert.equal((await cli(rt, [file, "count"])).out, "1\n", rt[0]);
          assert.equal((await cli(rt, [file, "namespaces"])).out, "other\n", rt[0]);
          assert.equal((await cli(rt, [file, "check"])).out, "ok\n", rt[0]);
          assert.match((await cli(rt, [file, "export"])).out, /"key":"user:1"/, rt[0]);
          const write = await cli(rt, [file, "set", "user:2", "bob"]);
          assert.equal(write.code, 3, rt[0]);
          assert.match(
            write.err,
            /KvReadOnlyError: Cannot open ".*ro\.db" for writing: it is on a read-only file system \(EROFS\)/,
          );
        }
      } finally {
        mnt.unmount();
      }
    },
    { skip: cannotMount() },
  );

  test("cli: export on one runtime then import on another gives an identical store, every value type, expiry and tags", async () => {
    const dir = tempDir();
    const source = join(dir, "source.db");
    {
      using kv = openKv(source);
      kv.setMany(SAMPLE);
      kv.set("expiring", { soon: true }, { expiresAt: Date.now() + 3_600_000, tags: ["t1", "t2"] });
    }
    const runs = RUNTIMES.map((rt, i) => [rt, RUNTIMES[(i + 1) % RUNTIMES.length]!] as const);
    for (const [exporter, importer] of runs) {
      const dump = await cli(exporter, [source, "export"]);
      assert.equal(dump.code, 0, dump.err);
      const target = join(dir, `copy-${exporter[0]}-${importer[0]}.db`);
      const imp = await cli(importer, [target, "import"], dump.out);
      assert.equal(imp.code, 0, imp.err);
      using a = openKv(source);
      using b = openKv(target);
      assert.deepEqual(
        [...b.list()].map((e) => [e.key, e.value, e.expiresAt]),
        [...a.list()].map((e) => [e.key, e.value, e.expiresAt]),
      );
      assert.deepEqual(b.tags("expiring"), ["t1", "t2"]);
      assert.equal((await cli(exporter, [target, "export"])).out, dump.out, `${exporter[0]} -> ${importer[0]}`);
    }
  });
}
