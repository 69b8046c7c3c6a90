import type { Store } from "@mandrill-kit/core";
import { createCredentials, type OctJwk } from "@mandrill-kit/credentials";
// runCli is the CLI's entry point; the package exports only the library, so import it from source.
import { type CliIo, runCli } from "../src/cli.js";
import { keyIdOf } from "../src/jwe.js";

/** What one CLI run printed, and its exit code. */
export interface Captured {
  code: number;
  out: string;
  err: string;
}

/** Runs the CLI in-process with `argv` and the environment `env` (nothing else is read). */
export async function cli(argv: string[], env: Record<string, string | undefined> = {}): Promise<Captured> {
  let out = "";
  let err = "";
  const io: CliIo = {
    out: (text) => {
      out += text;
    },
    err: (text) => {
      err += text;
    },
    env,
  };
  const code = await runCli(argv, io);
  return { code, out, err };
}

/** Saves two accounts (`acme`, `beta`), each with an API key and a webhook key, encrypted under `key`. */
export async function seedTwoAccounts(store: Store, key: OctJwk): Promise<void> {
  const credentials = createCredentials({
    store,
    keys: { keys: [key] },
    publicUrl: "https://app.example.com",
  });
  for (const account of ["acme", "beta"]) {
    await credentials.save(account, {
      transport: "api",
      apiKey: `md-${account}-0123456789`,
      fromEmail: `${account}@example.com`,
      webhookKey: `wh-${account}-0123456789`,
    });
  }
}

/** The `kid` of every stored secret, account by account. */
export async function secretKids(store: Store): Promise<string[]> {
  const { items } = await store.credentials.list({ limit: 100 });
  return items.flatMap((r) =>
    Object.entries(r.secrets).map(([field, jwe]) => keyIdOf(jwe, r.account, field)),
  );
}

/** Runs `use` with the store, then closes it. */
export async function withStore<T>(
  opening: Store | Promise<Store>,
  use: (store: Store) => Promise<T>,
): Promise<T> {
  const store = await opening;
  try {
    return await use(store);
  } finally {
    await store.close();
  }
}
