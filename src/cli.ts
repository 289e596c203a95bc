/**
 * The command line tool: look inside a store, change it, move it.
 *
 * ```sh
 * deno run -A jsr:@kvsqlite/kvsqlite/cli data/app.db keys --prefix session:
 * node src/cli.ts data/app.db get session:42     # or bun src/cli.ts ...
 * ```
 *
 * `FILE COMMAND [ARGS]`: `get KEY`, `set KEY VALUE [--ttl MS] [--json]`, `del KEY...`,
 * `keys [--prefix P | --like P | --glob P | --tag T] [--limit N]`, `count`, `ttl KEY`,
 * `expire KEY MS`, `persist KEY`, `rename FROM TO`, `stats`, `purge`, `check`, `vacuum`,
 * `backup DEST`, `export` (NDJSON to stdout), `import` (NDJSON from stdin, one transaction),
 * `namespaces`; `--namespace NAME`, `--table NAME`, `--json`. Exit status: 0 done, 1 key not
 * found, 2 usage error (message on stderr).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { run } from "@kvsqlite/kvsqlite/cli";
 * const out: string[] = [];
 * const io = { out: (s: string) => void out.push(s), err: () => {}, stdin: () => "" };
 * assert(run([":memory:", "set", "a", "1"], io) === 0 && run([":memory:", "count"], io) === 0);
 * ```
 *
 * @module
 */

import { readFileSync } from "node:fs";
import { openKv } from "../mod.ts";
import { taggedJson } from "./codec.ts";
import type { Kv } from "./kv.ts";
import type { KeyQuery } from "./query.ts";

/** Where the tool reads and writes: the process's streams, or a test's. */
export interface CliIo {
  /** Writes one line of output. */
  out(line: string): void;
  /** Writes one line of diagnostics. */
  err(line: string): void;
  /** All of standard input. */
  stdin(): string;
}

/** A line of `export`: the key, the value as tagged JSON, the expiry, the tags. */
interface Line {
  key: string;
  value: unknown;
  expiresAt: number | null;
  tags?: string[];
}

class UsageError extends Error {}

const FLAGS = ["--ttl", "--prefix", "--like", "--glob", "--tag", "--limit", "--namespace", "--table"];
const SWITCHES = ["--json"];

function parse(argv: string[]): { positional: string[]; flags: Map<string, string>; json: boolean } {
  const positional: string[] = [];
  const flags = new Map<string, string>();
  let json = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (SWITCHES.includes(a)) json = true;
    else if (FLAGS.includes(a)) {
      if (i + 1 >= argv.length) throw new UsageError(`${a} needs a value`);
      flags.set(a, argv[++i]!);
    } else if (a.startsWith("--")) throw new UsageError(`unknown option ${a}`);
    else positional.push(a);
  }
  return { positional, flags, json };
}

function number(text: string | undefined, what: string): number {
  const n = Number(text);
  if (text === undefined || text === "" || !Number.isFinite(n)) throw new UsageError(`${what} must be a number`);
  return n;
}

// Human output: strings as they are, the rest as JSON (bigint as "123n").
function show(value: unknown, json: boolean): string {
  if (!json && typeof value === "string") return value;
  return JSON.stringify(
    value,
    (_k, v) =>
      typeof v === "bigint"
        ? `${v}n`
        : v instanceof Map
        ? Object.fromEntries(v)
        : v instanceof Set
        ? [...v]
        : v === undefined
        ? null
        : v,
  ) ?? "null";
}

function query(flags: Map<string, string>): KeyQuery | undefined {
  const given = ["--prefix", "--like", "--glob", "--tag"].filter((f) => flags.has(f));
  if (given.length > 1) throw new UsageError(`give one of --prefix, --like, --glob, --tag, not ${given.join(" and ")}`);
  if (given.length === 0) return undefined;
  const field = given[0]!.slice(2);
  return { [field]: flags.get(given[0]!)! } as KeyQuery;
}

function exported(kv: Kv): string[] {
  const lines: string[] = [];
  for (const e of kv.list()) {
    const line: Line = { key: e.key, value: JSON.parse(taggedJson.encode(e.value) as string), expiresAt: e.expiresAt };
    const tags = kv.tags(e.key);
    if (tags !== undefined && tags.length > 0) line.tags = tags;
    lines.push(JSON.stringify(line));
  }
  return lines;
}

function imported(kv: Kv, text: string): number {
  const lines = text.split("\n").filter((l) => l.trim() !== "");
  const entries = lines.map((l, i) => {
    try {
      return JSON.parse(l) as Line;
    } catch {
      throw new UsageError(`line ${i + 1} of the input is not JSON`);
    }
  });
  return kv.transaction((tx) => {
    for (const e of entries) {
      const value = taggedJson.decode(JSON.stringify(e.value));
      const options: { expiresAt?: number; tags?: string[] } = {};
      if (e.expiresAt !== null && e.expiresAt !== undefined) options.expiresAt = e.expiresAt;
      if (e.tags !== undefined) options.tags = e.tags;
      tx.set(e.key, value, options);
    }
    return entries.length;
  });
}

function command(kv: Kv, name: string, args: string[], flags: Map<string, string>, json: boolean, io: CliIo): number {
  const arity = (n: number, usage: string) => {
    if (args.length !== n) throw new UsageError(`usage: ${usage}`);
  };
  switch (name) {
    case "get": {
      arity(1, "get KEY");
      const entry = kv.getEntry(args[0]!);
      if (entry === undefined) return 1;
      io.out(show(entry.value, json));
      return 0;
    }
    case "set": {
      arity(2, "set KEY VALUE [--ttl MS] [--json]");
      let value: unknown = args[1];
      if (json) {
        try {
          value = JSON.parse(args[1]!);
        } catch {
          throw new UsageError("with --json, VALUE must be JSON");
        }
      }
      kv.set(args[0]!, value, flags.has("--ttl") ? { ttl: number(flags.get("--ttl"), "--ttl") } : undefined);
      return 0;
    }
    case "del": {
      if (args.length === 0) throw new UsageError("usage: del KEY...");
      const n = kv.deleteMany(args);
      if (json) io.out(String(n));
      return n > 0 ? 0 : 1;
    }
    case "keys": {
      arity(0, "keys [--prefix P | --like P | --glob P | --tag T] [--limit N]");
      const limit = flags.has("--limit") ? { limit: number(flags.get("--limit"), "--limit") } : undefined;
      const keys = kv.keys(query(flags), limit);
      if (json) io.out(JSON.stringify(keys));
      else for (const k of keys) io.out(k);
      return 0;
    }
    case "count":
      arity(0, "count");
      io.out(String(kv.count(query(flags))));
      return 0;
    case "ttl": {
      arity(1, "ttl KEY");
      const ttl = kv.ttl(args[0]!);
      if (ttl === undefined) return 1;
      io.out(ttl === Infinity ? (json ? "null" : "never") : String(ttl));
      return 0;
    }
    case "expire":
      arity(2, "expire KEY MS");
      return kv.expire(args[0]!, number(args[1], "MS")) ? 0 : 1;
    case "persist":
      arity(1, "persist KEY");
      return kv.persist(args[0]!) ? 0 : 1;
    case "rename":
      arity(2, "rename FROM TO");
      return kv.rename(args[0]!, args[1]!) ? 0 : 1;
    case "stats":
      arity(0, "stats");
      io.out(JSON.stringify(kv.stats(), null, json ? undefined : 2));
      return 0;
    case "purge":
      arity(0, "purge");
      io.out(String(kv.purgeExpired()));
      return 0;
    case "check":
      arity(0, "check");
      kv.integrityCheck();
      io.out("ok");
      return 0;
    case "vacuum":
      arity(0, "vacuum");
      kv.vacuum();
      return 0;
    case "backup":
      arity(1, "backup DEST");
      kv.backup(args[0]!);
      return 0;
    case "export":
      arity(0, "export");
      for (const line of exported(kv)) io.out(line);
      return 0;
    case "import":
      arity(0, "import");
      io.err(`imported ${imported(kv, io.stdin())} entries`);
      return 0;
    case "namespaces":
      arity(0, "namespaces");
      if (json) io.out(JSON.stringify(kv.namespaces()));
      else for (const n of kv.namespaces()) io.out(n);
      return 0;
    default:
      throw new UsageError(`unknown command ${JSON.stringify(name)}`);
  }
}

/** The commands that only read the store. */
const READS = new Set(["get", "keys", "count", "ttl", "stats", "check", "export", "namespaces"]);

const USAGE = "usage: kvsqlite FILE COMMAND [ARGS] [--namespace NAME] [--table NAME] [--json]\n" +
  "commands: get set del keys count ttl expire persist rename stats purge check vacuum backup export import namespaces";

/**
 * Runs the tool on arguments, and returns its exit status: 0 done, 1 key not
 * found, 2 usage error (the message on `err`). Any other failure (a damaged
 * file, a lock held too long) is reported on `err` with status 3, so that a
 * script can tell it from bad usage.
 *
 * @param argv `FILE COMMAND [ARGS]` and options.
 * @param io Where to read and write.
 * @returns The exit status.
 */
export function run(argv: string[], io: CliIo): number {
  let kv: Kv | undefined;
  try {
    const { positional, flags, json } = parse(argv);
    const [file, name, ...args] = positional;
    if (file === undefined || name === undefined) throw new UsageError(USAGE);
    const table = flags.get("--table");
    // A command that only reads opens the file read-only: it works on a
    // read-only file system, and never creates or migrates anything.
    const readOnly = READS.has(name) && file !== ":memory:";
    kv = openKv(file, { ...(table === undefined ? {} : { table }), ...(readOnly ? { readOnly } : {}) });
    const ns = flags.get("--namespace");
    const store = ns === undefined ? kv : kv.namespace(ns);
    return command(store, name, args, flags, json, io);
  } catch (error) {
    if (error instanceof UsageError || error instanceof TypeError || error instanceof RangeError) {
      io.err(error.message);
      return 2;
    }
    io.err(`${(error as Error).name}: ${(error as Error).message}`);
    return 3;
  } finally {
    kv?.close();
  }
}

const meta = import.meta as ImportMeta & { main?: boolean };
if (meta.main) {
  const proc = (globalThis as unknown as {
    process: {
      argv: string[];
      exitCode?: number;
      stdout: { write(s: string): void };
      stderr: { write(s: string): void };
    };
  }).process;
  proc.exitCode = run(proc.argv.slice(2), {
    out: (line) => proc.stdout.write(`${line}\n`),
    err: (line) => proc.stderr.write(`${line}\n`),
    stdin: () => readFileSync(0, "utf8"),
  });
}
