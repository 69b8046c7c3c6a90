import { existsSync, readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import type { Store } from "@mandrill-kit/core";
import type { CliIo } from "./cli.js";
import { DATABASE_URL_ENV, KEYS_ENV } from "./cli-usage.js";
import { createCredentials } from "./credentials-service.js";
import { checkKeySet } from "./key-ring.js";

/** Where `keys rotate` finds the store. */
type Target =
  | { kind: "sqlite"; filename: string }
  | { kind: "postgres"; url: string; schema: string | undefined };

async function openStore(target: Target): Promise<Store> {
  // The store packages are optional peers of this package: only `keys rotate` needs one of them.
  if (target.kind === "sqlite") {
    const sqlite = (await import("@mandrill-kit/sqlite")) as {
      openSqliteStore(o: { filename: string }): Store;
    };
    return sqlite.openSqliteStore({ filename: target.filename });
  }
  const postgres = (await import("@mandrill-kit/postgres")) as {
    openPostgresStore(o: { connectionString: string; schema?: string; migrate: boolean }): Promise<Store>;
  };
  // migrate: false — rotating must never create or upgrade a schema (a typo would "rotate" nothing).
  return postgres.openPostgresStore({
    connectionString: target.url,
    ...(target.schema === undefined ? {} : { schema: target.schema }),
    migrate: false,
  });
}

/** The store named by the options (or the environment); a message and exit code 2 when there is none. */
function targetOf(
  values: { database?: string; "database-url"?: string; schema?: string },
  io: CliIo,
): Target | string {
  const { database, schema } = values;
  const url = values["database-url"] ?? (database === undefined ? io.env[DATABASE_URL_ENV] : undefined);
  if (database !== undefined && values["database-url"] !== undefined) {
    return "keys rotate takes one store: --database FILE (SQLite) or --database-url URL (PostgreSQL), not both.";
  }
  if (database !== undefined) {
    if (schema !== undefined)
      return "--schema names a PostgreSQL schema; it does not apply to --database FILE.";
    return { kind: "sqlite", filename: database };
  }
  if (url !== undefined && url.trim() !== "") return { kind: "postgres", url: url.trim(), schema };
  return `keys rotate needs the kit's store: --database FILE (SQLite), or --database-url URL (PostgreSQL; or set ${DATABASE_URL_ENV}).`;
}

/** `mandrill-kit keys rotate`: resolves to the exit code. */
export async function rotateCommand(args: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args: [...args],
    options: {
      database: { type: "string" },
      "database-url": { type: "string" },
      schema: { type: "string" },
      "keys-file": { type: "string" },
      "keys-env": { type: "string" },
      "active-kid": { type: "string" },
    },
    strict: true,
  });
  const target = targetOf(values, io);
  if (typeof target === "string") {
    io.err(`${target}\n`);
    return 2;
  }
  const envName = values["keys-env"] ?? KEYS_ENV;
  const keys =
    values["keys-file"] !== undefined ? readFileSync(values["keys-file"], "utf8") : io.env[envName];
  if (keys === undefined || keys.trim() === "") {
    io.err(`No keys: pass --keys-file FILE or set ${envName}.\n`);
    return 2;
  }
  checkKeySet(keys, values["active-kid"]); // a bad key set fails before anything is opened
  if (target.kind === "sqlite" && !existsSync(target.filename)) {
    // Opening would create an empty database and "rotate" nothing: an operator could then retire a key still in use.
    io.err(`No database at ${target.filename}; check the path (keys rotate never creates one).\n`);
    return 2;
  }
  const store = await openStore(target);
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
