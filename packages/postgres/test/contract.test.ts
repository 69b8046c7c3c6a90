import { runStoreContract } from "@mandrill-kit/core/testing";
import { openPostgresStore } from "@mandrill-kit/postgres";
import * as vitest from "vitest";
import { available, databaseUrl, dropSchema, freshSchema, sql } from "./database.js";

// One schema for this file, emptied after every test and dropped at the end.
const schema = freshSchema("contract");

vitest.describe.skipIf(!available)("PostgreSQL", () => {
  vitest.afterAll(() => dropSchema(schema));

  runStoreContract(vitest, {
    name: "postgres",
    open: () => openPostgresStore({ connectionString: databaseUrl, schema }),
    cleanup: async () => {
      await sql(
        `TRUNCATE "${schema}".credentials, "${schema}".suppressions, "${schema}".inbox, "${schema}".quarantine, "${schema}".sends, "${schema}".mandrill_rows, "${schema}".mandrill_sync_runs RESTART IDENTITY`,
      );
    },
  });
});
