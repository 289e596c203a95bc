/**
 * The command line tool: look inside a store, change it, move it.
 *
 * ```sh
 * deno run -A jsr:@kvsqlite/kvsqlite/cli data/app.db keys --prefix session:
 * node src/cli.ts data/app.db get session:42     # or bun src/cli.ts ...
 * node src/cli.ts --help                         # every command; `FILE COMMAND --help` for one
 * ```
 *
 * `FILE COMMAND [ARGS] [OPTIONS]`; the commands, their arguments and examples are in
 * {@link HELP} and `--help`. Nothing is created unless the command writes: a command
 * that reads needs the file to exist, and a write to a new file needs `set`, `import`
 * or `--create`. Exit status: 0 done, 1 key not found, 2 usage or input error (the
 * message on stderr, an input error with its line), 3 the store failed (no such file,
 * damaged, locked, read-only).
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

import { walInfo } from "./walinfo.ts";
import { existsSync, readFileSync } from "node:fs";
import { openKv } from "../mod.ts";
import { taggedJson } from "./codec.ts";
import type { Kv } from "./kv.ts";
import { KvError } from "./errors.ts";
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
  /** The key's namespace; none: the root key space. */
  namespace?: string;
}

class UsageError extends Error {}

/** One command: its arguments, what it does, an example, and whether it writes or may create the file. */
interface Command {
  args: string;
  /** The fewest and the most arguments. */
  arity: [number, number];
  does: string;
  example: string;
  writes?: boolean;
  /** Makes the file when it is missing, as `--create` does. */
  creates?: boolean;
}

const QUERY = "[--prefix P | --like P | --glob P | --tag T]";
const COMMANDS: Record<string, Command> = {
  get: {
    args: "KEY [--json]",
    arity: [1, 1],
    does: "print a key's value (exit 1 when missing)",
    example: "get session:42",
  },
  set: {
    args: "KEY VALUE [--json] [--ttl MS]",
    arity: [2, 2],
    does: "store a value: a string, or JSON with --json; --ttl: expires after MS ms",
    example: `set user:1 '{"name":"ada"}' --json --ttl 60000`,
    writes: true,
    creates: true,
  },
  del: {
    args: "KEY...",
    arity: [1, Infinity],
    does: "delete keys (exit 1 when none was there)",
    example: "del user:1 user:2",
    writes: true,
  },
  keys: {
    args: `${QUERY} [--limit N] [--json]`,
    arity: [0, 0],
    does: "list keys in key order",
    example: "keys --prefix session: --limit 10",
  },
  count: { args: QUERY, arity: [0, 0], does: "count keys", example: "count --tag admin" },
  ttl: {
    args: "KEY",
    arity: [1, 1],
    does: 'ms left before a key expires, "never" without expiry (exit 1 when missing)',
    example: "ttl session:42",
  },
  expire: {
    args: "KEY MS",
    arity: [2, 2],
    does: "expire a key in MS ms",
    example: "expire session:42 60000",
    writes: true,
  },
  persist: { args: "KEY", arity: [1, 1], does: "remove a key's expiry", example: "persist session:42", writes: true },
  rename: {
    args: "FROM TO",
    arity: [2, 2],
    does: "rename a key (exit 1 when FROM is missing or TO is taken)",
    example: "rename tmp:1 final:1",
    writes: true,
  },
  namespaces: { args: "[--json]", arity: [0, 0], does: "list the namespaces", example: "namespaces" },
  stats: { args: "[--json]", arity: [0, 0], does: "counters, keys, pages and sizes, as JSON", example: "stats" },
  info: {
    args: "[--json]",
    arity: [0, 0],
    does: "file and WAL sizes, frames not yet checkpointed, the last checkpoint, Litestream's last WAL copy",
    example: "info",
  },
  check: { args: "", arity: [0, 0], does: 'check the file\'s integrity ("ok", or exit 3)', example: "check" },
  purge: { args: "", arity: [0, 0], does: "delete expired keys, print how many", example: "purge", writes: true },
  vacuum: { args: "", arity: [0, 0], does: "rebuild the file at its smallest size", example: "vacuum", writes: true },
  backup: {
    args: "DEST [--overwrite]",
    arity: [1, 1],
    does: "copy the store, consistent while it is in use, to DEST (--overwrite replaces DEST)",
    example: "backup backups/app.db --overwrite",
  },
  export: {
    args: "[--namespace NAME]",
    arity: [0, 0],
    does: "every key (of every namespace, each line naming its own) as NDJSON on stdout",
    example: "export > dump.ndjson",
  },
  import: {
    args: "[--namespace NAME]",
    arity: [0, 0],
    does: "NDJSON as export writes it, from stdin, in one transaction (an error names its line)",
    example: "import < dump.ndjson",
    writes: true,
    creates: true,
  },
};

/** The tool's help: every command with its arguments, the options, the exit statuses, examples. */
export const HELP: string = [
  "usage: kvsqlite FILE COMMAND [ARGS] [OPTIONS]     kvsqlite [FILE] COMMAND --help",
  "",
  "A key-value store in one SQLite file: look inside it, change it, move it.",
  "",
  "commands:",
  ...Object.entries(COMMANDS).map(([name, c]) => `  ${`${name} ${c.args}`.padEnd(54)} ${c.does}`),
  "",
  "options:",
  "  --namespace NAME   work in that namespace (export without it: every namespace)",
  "  --table NAME       the key table (default kv)",
  "  --json             values and lists as JSON",
  "  --create           make FILE if it is missing (set and import make it anyway)",
  "  --help, -h         this help; with a command, that command's",
  "",
  "exit status: 0 done, 1 key not found, 2 usage or input error, 3 the store failed",
  "(no such file, damaged, locked, read-only); messages go to stderr.",
  "",
  "examples:",
  '  kvsqlite data/app.db set session:42 \'{"user":"ada"}\' --json --ttl 1800000',
  "  kvsqlite data/app.db keys --prefix session:",
  "  kvsqlite data/app.db export > dump.ndjson && kvsqlite copy.db import < dump.ndjson",
].join("\n");

function commandHelp(name: string): string {
  const c = COMMANDS[name]!;
  return [
    `usage: kvsqlite FILE ${name}${c.args ? ` ${c.args}` : ""} [--namespace NAME] [--table NAME]`,
    "",
    `${c.does[0]!.toUpperCase()}${c.does.slice(1)}.`,
    "",
    `example: kvsqlite data/app.db ${c.example}`,
  ].join("\n");
}

const FLAGS = ["--ttl", "--prefix", "--like", "--glob", "--tag", "--limit", "--namespace", "--table"];
const SWITCHES = ["--json", "--create", "--overwrite", "--help", "-h"];

function parse(argv: string[]): { positional: string[]; flags: Map<string, string>; switches: Set<string> } {
  const positional: string[] = [];
  const flags = new Map<string, string>();
  const switches = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (SWITCHES.includes(a)) switches.add(a === "-h" ? "--help" : a);
    else if (FLAGS.includes(a)) {
      if (i + 1 >= argv.length) throw new UsageError(`${a} needs a value`);
      flags.set(a, argv[++i]!);
    } else if (a.startsWith("--")) throw new UsageError(`unknown option ${a} (see --help)`);
    else positional.push(a);
  }
  return { positional, flags, switches };
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

const entries = (n: number) => `${n} ${n === 1 ? "entry" : "entries"}`;

/** Entries between progress lines of a long export or import. */
const PROGRESS = 100_000;

function exported(kv: Kv, all: boolean, io: CliIo): number {
  let n = 0;
  const spaces: [string | undefined, Kv][] = [[undefined, kv]];
  if (all) { for (const name of kv.namespaces()) spaces.push([name, kv.namespace(name)]); }
  for (const [namespace, space] of spaces) {
    for (const e of space.list()) {
      const line: Line = {
        key: e.key,
        value: JSON.parse(taggedJson.encode(e.value) as string),
        expiresAt: e.expiresAt,
      };
      const tags = space.tags(e.key);
      if (tags !== undefined && tags.length > 0) line.tags = tags;
      if (namespace !== undefined) line.namespace = namespace;
      io.out(JSON.stringify(line));
      if (++n % PROGRESS === 0) io.err(`exported ${n} entries...`);
    }
  }
  return n;
}

/** The entries of an import's input, each with its line, checked before the store is opened. */
function parseDump(text: string): [number, Line][] {
  const lines = text.split("\n");
  const entries: [number, Line][] = [];
  lines.forEach((l, i) => {
    if (l.trim() === "") return;
    let line: unknown;
    try {
      line = JSON.parse(l);
    } catch (error) {
      throw new UsageError(`line ${i + 1} of the input is not JSON: ${(error as Error).message}`);
    }
    if (line === null || typeof line !== "object" || Array.isArray(line)) {
      throw new UsageError(
        `line ${i + 1} of the input is not an entry: expected {"key", "value", ...}, got JSON ${
          Array.isArray(line) ? "array" : line === null ? "null" : typeof line
        }`,
      );
    }
    const e = line as Line;
    if (typeof e.key !== "string") throw new UsageError(`line ${i + 1} of the input has no string "key"`);
    if (!("value" in e)) throw new UsageError(`line ${i + 1} of the input has no "value"`);
    entries.push([i + 1, e]);
  });
  return entries;
}

function imported(kv: Kv, entries: [number, Line][], io: CliIo): number {
  return kv.transaction((tx) => {
    for (const [at, e] of entries) {
      try {
        const value = taggedJson.decode(JSON.stringify(e.value));
        const options: { expiresAt?: number; tags?: string[] } = {};
        if (e.expiresAt !== null && e.expiresAt !== undefined) options.expiresAt = e.expiresAt;
        if (e.tags !== undefined) options.tags = e.tags;
        (e.namespace === undefined ? tx : tx.namespace(e.namespace)).set(e.key, value, options);
      } catch (error) {
        const what = `line ${at} of the input: ${(error as Error).message}`;
        throw error instanceof TypeError || error instanceof RangeError ? new UsageError(what) : new KvError(what, {
          cause: error,
        });
      }
      if (at % PROGRESS === 0) io.err(`imported up to line ${at}...`);
    }
    return entries.length;
  });
}

function command(
  kv: Kv,
  name: string,
  args: string[],
  flags: Map<string, string>,
  switches: Set<string>,
  io: CliIo,
  dump: [number, Line][],
): number {
  const json = switches.has("--json");
  switch (name) {
    case "get": {
      const entry = kv.getEntry(args[0]!);
      if (entry === undefined) return 1;
      io.out(show(entry.value, json));
      return 0;
    }
    case "set": {
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
      const n = kv.deleteMany(args);
      if (json) io.out(String(n));
      return n > 0 ? 0 : 1;
    }
    case "keys": {
      const limit = flags.has("--limit") ? { limit: number(flags.get("--limit"), "--limit") } : undefined;
      const keys = kv.keys(query(flags), limit);
      if (json) io.out(JSON.stringify(keys));
      else for (const k of keys) io.out(k);
      return 0;
    }
    case "count":
      io.out(String(kv.count(query(flags))));
      return 0;
    case "ttl": {
      const ttl = kv.ttl(args[0]!);
      if (ttl === undefined) return 1;
      io.out(ttl === Infinity ? (json ? "null" : "never") : String(ttl));
      return 0;
    }
    case "expire":
      return kv.expire(args[0]!, number(args[1], "MS")) ? 0 : 1;
    case "persist":
      return kv.persist(args[0]!) ? 0 : 1;
    case "rename":
      return kv.rename(args[0]!, args[1]!) ? 0 : 1;
    case "stats":
      io.out(JSON.stringify(kv.stats(), null, json ? undefined : 2));
      return 0;
    case "purge":
      io.out(String(kv.purgeExpired()));
      return 0;
    case "check":
      kv.integrityCheck();
      io.out("ok");
      return 0;
    case "vacuum":
      kv.vacuum();
      return 0;
    case "backup":
      if (!switches.has("--overwrite") && existsSync(args[0]!)) {
        io.err(`Cannot back up to ${JSON.stringify(args[0])}: the file exists; give --overwrite to replace it`);
        return 3;
      }
      kv.backup(args[0]!, { overwrite: switches.has("--overwrite") });
      return 0;
    case "export":
      io.err(`exported ${entries(exported(kv, !flags.has("--namespace"), io))}`);
      return 0;
    case "import":
      io.err(`imported ${entries(imported(kv, dump, io))}`);
      return 0;
    default: // namespaces
      if (json) io.out(JSON.stringify(kv.namespaces()));
      else for (const n of kv.namespaces()) io.out(n);
      return 0;
  }
}

/** `info`: what the files beside the store say about its WAL (see {@link walInfo}). */
function info(file: string, json: boolean, io: CliIo): number {
  if (file === ":memory:") throw new UsageError("info needs a file, not :memory:");
  const w = walInfo(file);
  if (json) {
    io.out(JSON.stringify(w));
    return 0;
  }
  const n = (x: number) => x.toLocaleString("en-US");
  io.out(`file        ${n(w.fileBytes)} bytes`);
  io.out(`wal         ${w.walBytes === null ? "none" : `${n(w.walBytes)} bytes`}`);
  if (w.walFrames !== null) {
    io.out(`frames      ${n(w.walFrames)} in the WAL, ${n(w.checkpointedFrames!)} checkpointed`);
  }
  io.out(`checkpoint  ${w.lastCheckpoint} (the file's last write)`);
  if (w.litestream !== null) {
    io.out(
      `litestream  generation ${w.litestream.generation ?? "none"}, WAL copied ${w.litestream.lastWalCopy ?? "never"}`,
    );
  }
  return 0;
}

/**
 * Runs the tool on arguments, and returns its exit status: 0 done, 1 key not
 * found, 2 usage or input error (the message on `err`), 3 the store failed (no
 * such file, damaged, locked, read-only), so that a script can tell them apart.
 * Bad usage is found before the file is opened, and nothing is created unless
 * the command writes.
 *
 * @param argv `FILE COMMAND [ARGS]` and options.
 * @param io Where to read and write.
 * @returns The exit status.
 */
export function run(argv: string[], io: CliIo): number {
  let kv: Kv | undefined;
  try {
    const { positional, flags, switches } = parse(argv);
    if (switches.has("--help")) {
      const name = positional.find((p) => Object.hasOwn(COMMANDS, p));
      io.out(name === undefined ? HELP : commandHelp(name));
      return 0;
    }
    const [file, name, ...args] = positional;
    if (file === undefined) throw new UsageError(HELP);
    if (name === undefined) throw new UsageError(`no command after ${file} (see --help)`);
    if (!Object.hasOwn(COMMANDS, name)) throw new UsageError(`unknown command ${JSON.stringify(name)} (see --help)`);
    const c = COMMANDS[name]!;
    if (args.length < c.arity[0] || args.length > c.arity[1]) {
      throw new UsageError(`usage: kvsqlite FILE ${name} ${c.args}`.trimEnd());
    }
    if (file !== ":memory:" && !existsSync(file) && !c.creates && !switches.has("--create")) {
      io.err(`no store at ${JSON.stringify(file)}: ${name} needs an existing file (--create makes one)`);
      return 3;
    }
    const dump = name === "import" ? parseDump(io.stdin()) : [];
    const table = flags.get("--table");
    // A command that neither writes nor makes a file opens it read-only: it works on a read-only file system, and
    // never creates or migrates anything.
    const readOnly = !c.writes && !c.creates && name !== "backup" && file !== ":memory:" && !switches.has("--create");
    kv = openKv(file, { ...(table === undefined ? {} : { table }), ...(readOnly ? { readOnly } : {}) });
    if (name === "info") return info(file, switches.has("--json"), io);
    const ns = flags.get("--namespace");
    const store = ns === undefined ? kv : kv.namespace(ns);
    return command(store, name, args, flags, switches, io, dump);
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
