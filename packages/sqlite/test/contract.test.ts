import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runStoreContract } from "@mandrill-kit/core/testing";
import { openSqliteStore } from "@mandrill-kit/sqlite";
import * as vitest from "vitest";

runStoreContract(vitest, { name: "sqlite :memory:", open: () => openSqliteStore({ filename: ":memory:" }) });

let dir: string | undefined;
runStoreContract(vitest, {
  name: "sqlite file",
  open: () => {
    dir = mkdtempSync(join(tmpdir(), "mk-sqlite-"));
    return openSqliteStore({ filename: join(dir, "nested", "mandrill.db") });
  },
  cleanup: () => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  },
});
