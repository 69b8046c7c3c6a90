/** The PostgreSQL `sends` repository. */
import type { SendRecordInput, SendRepository } from "@mandrill-kit/core";
import {
  beforeSeq,
  normalizeSendRecord,
  page,
  pageLimit,
  type SendRow,
  sendListEmail,
  toSend,
} from "@mandrill-kit/core/adapter";
import type { PgContext } from "./connection.js";
import { q } from "./queries.js";

export function pgSends({ pool, S, run }: PgContext): SendRepository {
  return {
    record: (entries: readonly SendRecordInput[]) =>
      run("sends.record", async () => {
        const rows = entries.map(normalizeSendRecord);
        if (rows.length === 0) return;
        // One multi-row INSERT: all of a send's recipients or none.
        await q(
          pool,
          `INSERT INTO ${S}.sends (account, email, status, message_id, reject_reason, transport, correlation_id, subject, at)
           SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::bigint[])`,
          [
            rows.map((r) => r.account),
            rows.map((r) => r.email),
            rows.map((r) => r.status),
            rows.map((r) => r.messageId),
            rows.map((r) => r.rejectReason),
            rows.map((r) => r.transport),
            rows.map((r) => r.correlationId),
            rows.map((r) => r.subject),
            rows.map((r) => r.at),
          ],
        );
      }),
    findByMessageId: (messageId) =>
      run("sends.findByMessageId", async () => {
        const { rows } = await q<SendRow>(
          pool,
          `SELECT * FROM ${S}.sends WHERE message_id = $1 ORDER BY seq DESC LIMIT 1`,
          [messageId],
        );
        return rows[0] === undefined ? undefined : toSend(rows[0]);
      }),
    list: (account, query = {}) =>
      run("sends.list", async () => {
        const limit = pageLimit(query);
        const email = sendListEmail(query);
        if (email === null) return { items: [], next: null };
        const values: unknown[] = [account, beforeSeq(query), limit + 1];
        if (email !== undefined) values.push(email);
        const { rows } = await q<SendRow>(
          pool,
          `SELECT * FROM ${S}.sends WHERE account = $1 AND seq < $2 ${email === undefined ? "" : "AND email = $4"}
           ORDER BY seq DESC LIMIT $3`,
          values,
        );
        return page(rows.map(toSend), limit, (s) => [s.seq]);
      }),
  };
}
