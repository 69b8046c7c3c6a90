/** The SQLite `credentials` repository. */
import {
  type CredentialPutOptions,
  type CredentialRepository,
  type PageOptions,
  requireAccountId,
} from "@mandrill-kit/core";
import {
  afterKey,
  type CredentialRow,
  checkCredentialWrite,
  checkExpectedVersion,
  page,
  pageLimit,
  toCredential,
} from "@mandrill-kit/core/adapter";
import type { SqliteContext } from "./connection.js";

export function sqliteCredentials({ db, run, retiredPages }: SqliteContext): CredentialRepository {
  const sql = {
    get: db.prepare<[string], CredentialRow>("SELECT * FROM credentials WHERE account = ?"),
    insert: db.prepare(
      "INSERT INTO credentials (account, version, settings, secrets, created_at, updated_at) VALUES (@account, @version, @settings, @secrets, @at, @at)",
    ),
    update: db.prepare(
      "UPDATE credentials SET version = @version, settings = @settings, secrets = @secrets, updated_at = @at WHERE account = @account AND version = @previous",
    ),
    delete: db.prepare<[string]>("DELETE FROM credentials WHERE account = ?"),
    list: db.prepare<[string, number], CredentialRow>(
      "SELECT * FROM credentials WHERE account > ? ORDER BY account LIMIT ?",
    ),
  };

  const putTx = db.transaction(
    (account: string, settings: string, secrets: string, at: number, expected: number | undefined) => {
      const existing = sql.get.get(account);
      const current = existing?.version ?? 0;
      checkExpectedVersion(account, expected, current);
      if (existing === undefined) sql.insert.run({ account, version: 1, settings, secrets, at });
      else sql.update.run({ account, version: current + 1, settings, secrets, at, previous: current });
      return { row: sql.get.get(account) as CredentialRow, replaced: existing?.secrets };
    },
  );

  return {
    get: (account) =>
      run("credentials.get", () => {
        const row = sql.get.get(requireAccountId(account));
        return row === undefined ? undefined : toCredential(row);
      }),
    put: (account, write, options: CredentialPutOptions = {}) =>
      run("credentials.put", () => {
        requireAccountId(account);
        checkCredentialWrite(write);
        const secrets = JSON.stringify(write.secrets);
        const { row, replaced } = putTx.immediate(
          account,
          JSON.stringify(write.settings),
          secrets,
          options.at ?? Date.now(),
          options.expectedVersion,
        );
        // Ciphertexts that were replaced (a rotation, a new key) must not stay readable in the files.
        if (replaced !== undefined && replaced !== secrets) retiredPages.purge();
        return toCredential(row);
      }),
    delete: (account) =>
      run("credentials.delete", () => {
        const deleted = sql.delete.run(requireAccountId(account)).changes > 0;
        if (deleted) retiredPages.purge();
        return deleted;
      }),
    list: (options: PageOptions = {}) =>
      run("credentials.list", () => {
        const limit = pageLimit(options);
        const rows = sql.list.all(afterKey(options) ?? "", limit + 1).map(toCredential);
        return page(rows, limit, (r) => [r.account]);
      }),
  };
}
