/** The PostgreSQL `credentials` repository. */
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
import type { PgContext } from "./connection.js";
import { q, tx } from "./queries.js";

export function pgCredentials({ pool, S, run }: PgContext): CredentialRepository {
  return {
    get: (account) =>
      run("credentials.get", async () => {
        const { rows } = await q<CredentialRow>(pool, `SELECT * FROM ${S}.credentials WHERE account = $1`, [
          requireAccountId(account),
        ]);
        return rows[0] === undefined ? undefined : toCredential(rows[0]);
      }),
    put: (account, write, options: CredentialPutOptions = {}) =>
      run("credentials.put", async () => {
        requireAccountId(account);
        checkCredentialWrite(write);
        const values = [
          account,
          JSON.stringify(write.settings),
          JSON.stringify(write.secrets),
          options.at ?? Date.now(),
        ];
        return tx(pool, async (client) => {
          const { rows } = await q<{ version: number }>(
            client,
            `SELECT version FROM ${S}.credentials WHERE account = $1 FOR UPDATE`,
            [account],
          );
          checkExpectedVersion(account, options.expectedVersion, rows[0]?.version ?? 0);
          // A concurrent first write makes this INSERT fail with 23505: tx() runs again and the
          // re-read finds the row (and the version check above applies).
          const written =
            rows[0] === undefined
              ? await q<CredentialRow>(
                  client,
                  `INSERT INTO ${S}.credentials (account, version, settings, secrets, created_at, updated_at)
                   VALUES ($1, 1, $2, $3, $4, $4) RETURNING *`,
                  values,
                )
              : await q<CredentialRow>(
                  client,
                  `UPDATE ${S}.credentials SET version = version + 1, settings = $2, secrets = $3, updated_at = $4
                   WHERE account = $1 RETURNING *`,
                  values,
                );
          return toCredential(written.rows[0] as CredentialRow);
        });
      }),
    delete: (account) =>
      run("credentials.delete", async () => {
        const { rowCount } = await q(pool, `DELETE FROM ${S}.credentials WHERE account = $1`, [
          requireAccountId(account),
        ]);
        return rowCount > 0;
      }),
    list: (options: PageOptions = {}) =>
      run("credentials.list", async () => {
        const limit = pageLimit(options);
        const { rows } = await q<CredentialRow>(
          pool,
          `SELECT * FROM ${S}.credentials WHERE account > $1 ORDER BY account LIMIT $2`,
          [afterKey(options) ?? "", limit + 1],
        );
        return page(rows.map(toCredential), limit, (r) => [r.account]);
      }),
  };
}
