import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { isMandrillKitError, type Store } from "@mandrill-kit/core";
import { createCredentials } from "./credentials-service.js";
import { addKey, checkKeySet } from "./key-ring.js";

const USAGE = `mandrill-kit — maintenance commands for mandrill-kit

Usage:
  mandrill-kit keys generate [--kid ID] [--add-to FILE] [--out FILE]
      Print a JWK Set with a new 256-bit key first (the active one). With --add-to, the keys of
      that set follow it (they keep decrypting until a rotation has finished). With --out, write
      the set to FILE (mode 0600) instead of printing it.

  mandrill-kit keys rotate --database FILE [--keys-file FILE | --keys-env NAME] [--active-kid ID]
      Re-encrypt every stored secret under the active key (the first of the set, or --active-kid).
      Safe to interrupt and run again: it resumes where it stopped. The keys come from --keys-file,
      or the environment variable named by --keys-env (default MANDRILL_KIT_KEYS).

  mandrill-kit help
`;

/** What the CLI writes to; injectable for tests. */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  env: Record<string, string | undefined>;
}

async function openStore(database: string): Promise<Store> {
  // The SQLite store is an optional peer of this package: only `keys rotate` needs it.
  const sqlite = (await import("@mandrill-kit/sqlite")) as {
    openSqliteStore(o: { filename: string }): Store;
  };
  return sqlite.openSqliteStore({ filename: database });
}

/** Runs the CLI with `argv` (without node and script); resolves to the exit code. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const [group, command, ...rest] = argv;
  if (group === undefined || group === "help" || group === "--help" || group === "-h") {
    io.out(USAGE);
    return group === undefined ? 2 : 0;
  }
  try {
    if (group === "keys" && command === "generate") {
      const { values } = parseArgs({
        args: rest,
        options: { kid: { type: "string" }, "add-to": { type: "string" }, out: { type: "string" } },
        strict: true,
      });
      const existing = values["add-to"] === undefined ? undefined : readFileSync(values["add-to"], "utf8");
      const set = addKey(existing, values.kid);
      const text = `${JSON.stringify(set, null, 2)}\n`;
      if (values.out !== undefined) {
        writeFileSync(values.out, text, { mode: 0o600 });
        // The mode option only applies when the file is created: an existing file must become private too.
        chmodSync(values.out, 0o600);
        io.err(
          `Wrote a key set with ${set.keys.length} key(s) to ${values.out}; the active key is "${set.keys[0]?.kid}".\n`,
        );
      } else {
        io.out(text);
      }
      return 0;
    }
    if (group === "keys" && command === "rotate") {
      const { values } = parseArgs({
        args: rest,
        options: {
          database: { type: "string" },
          "keys-file": { type: "string" },
          "keys-env": { type: "string" },
          "active-kid": { type: "string" },
        },
        strict: true,
      });
      if (values.database === undefined) {
        io.err("keys rotate needs --database FILE (the SQLite file of the kit).\n");
        return 2;
      }
      const envName = values["keys-env"] ?? "MANDRILL_KIT_KEYS";
      const keys =
        values["keys-file"] !== undefined ? readFileSync(values["keys-file"], "utf8") : io.env[envName];
      if (keys === undefined || keys.trim() === "") {
        io.err(`No keys: pass --keys-file FILE or set ${envName}.\n`);
        return 2;
      }
      checkKeySet(keys, values["active-kid"]); // a bad key set fails before anything is opened
      if (!existsSync(values.database)) {
        // Opening would create an empty database and "rotate" nothing: an operator could then retire a key still in use.
        io.err(`No database at ${values.database}; check the path (keys rotate never creates one).\n`);
        return 2;
      }
      const store = await openStore(values.database);
      try {
        // publicUrl only shapes Callback URLs, which rotation does not touch.
        const credentials = createCredentials({
          store,
          keys,
          publicUrl: "http://localhost",
          ...(values["active-kid"] === undefined ? {} : { activeKid: values["active-kid"] }),
          cacheTtlMs: 0,
        });
        const report = await credentials.rotate({
          onProgress: ({ done }) => io.err(`rotated ${done} account(s)\n`),
        });
        io.out(`${JSON.stringify(report, null, 2)}\n`);
        return report.failed.length === 0 ? 0 : 1;
      } finally {
        await store.close();
      }
    }
    io.err(`Unknown command "${argv.join(" ").slice(0, 80)}".\n\n${USAGE}`);
    return 2;
  } catch (error) {
    io.err(
      `${isMandrillKitError(error) ? `${error.code}: ` : ""}${error instanceof Error ? error.message : String(error)}\n`,
    );
    return 1;
  }
}
