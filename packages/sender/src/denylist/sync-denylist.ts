/**
 * `sender.syncDenylist(account)`: reads Mandrill's denylist and allowlist for the account and
 * reconciles the local suppression list with them (docs/design.md#mandrill-denylist-sync). Rows are
 * staged in the store as they are read and applied in one transaction at the end; any failure
 * discards the run, so the list stays as it was.
 */
import { randomUUID } from "node:crypto";
import {
  type CredentialsReader,
  MandrillKitConfigError,
  type MandrillListRow,
  type MandrillSyncCounts,
  type Store,
} from "@mandrill-kit/core";
import type { ComponentLogger } from "@mandrill-kit/core/plugin";
import type { ApiClient } from "../api-client.js";
import type { NetworkGuard } from "../network-guard.js";
import { requireSettings } from "../require-settings.js";
import { csvRecords, download, type ExportLimits, removeDownload, runExportJob } from "./export-file.js";
import { allowRow, denyRow, REQUIRED_COLUMNS } from "./rows.js";

/** Options of `syncDenylist`. */
export interface SyncDenylistOptions {
  /**
   * `"list"`: `rejects/list` and `allowlists/list` only (at most 1,000 entries each; refused when a
   * list is longer). `"export"`: always through exports. `"auto"`: the lists first, an export for a
   * list that reached 1,000 entries. @default "auto"
   */
  via?: "auto" | "list" | "export";
  /** Give up (nothing changed) when the exports are not complete and read by then. @default 600000 (10 min) */
  deadlineMs?: number;
  /** First wait between `exports/info` polls; doubles each time up to `pollMaxMs`. @default 1000 */
  pollMs?: number;
  /** @default 15000 */
  pollMaxMs?: number;
  /** Largest zip downloaded. @default 1 GiB */
  maxBytes?: number;
}

/** What a sync did. */
export interface DenylistSyncReport extends MandrillSyncCounts {
  account: string;
  /** How the lists were read. */
  via: { denylist: "list" | "export"; allowlist: "list" | "export" };
  /** Denylist entries whose `expires_at` had passed: not imported. */
  expiredSkipped: number;
  /** Rows read from Mandrill (both lists). */
  read: number;
  durationMs: number;
  /** When the run was applied. */
  syncedAt: number;
}

/** What the sync needs from the sender. */
export interface DenylistDeps {
  store: Store;
  credentials: CredentialsReader;
  api: ApiClient;
  guard: NetworkGuard;
  log: ComponentLogger;
  /** The time of the records (expiry, sync time): the sender's clock. */
  now: () => number;
}

/** Deadlines and durations run on real time, whatever clock the records use. */
const realNow = (): number => performance.now();

/** The 1,000-entry cap of `rejects/list` and `allowlists/list` (docs/mandrill.md#exports-rejects-and-allowlists). */
const LIST_CAP = 1000;
const STAGE_BATCH = 1000;
const OPTION_KEYS = ["via", "deadlineMs", "pollMs", "pollMaxMs", "maxBytes"];

function checkSyncOptions(options: SyncDenylistOptions): Required<SyncDenylistOptions> {
  for (const key of Object.keys(options)) {
    if (!OPTION_KEYS.includes(key)) {
      throw new MandrillKitConfigError(
        "ERR_MK_CONFIG_UNKNOWN_OPTION",
        key,
        `syncDenylist() has no option "${key}".`,
      );
    }
  }
  const o = {
    via: "auto",
    deadlineMs: 600_000,
    pollMs: 1000,
    pollMaxMs: 15_000,
    maxBytes: 2 ** 30,
    ...options,
  };
  if (!["auto", "list", "export"].includes(o.via)) {
    throw new MandrillKitConfigError(
      "ERR_MK_CONFIG_INVALID",
      "via",
      `via must be "auto", "list" or "export".`,
    );
  }
  for (const k of ["deadlineMs", "pollMs", "pollMaxMs", "maxBytes"] as const) {
    if (!Number.isFinite(o[k]) || o[k] <= 0) {
      throw new MandrillKitConfigError("ERR_MK_CONFIG_INVALID", k, `${k} must be a positive number.`);
    }
  }
  return o as Required<SyncDenylistOptions>;
}

/** Stages rows in batches. */
class Stager {
  #batch: MandrillListRow[] = [];
  read = 0;
  expired = 0;
  constructor(
    private readonly store: Store,
    private readonly account: string,
    private readonly run: string,
  ) {}
  async add(row: MandrillListRow | "expired"): Promise<void> {
    this.read += 1;
    if (row === "expired") {
      this.expired += 1;
      return;
    }
    this.#batch.push(row);
    if (this.#batch.length >= STAGE_BATCH) await this.flush();
  }
  async flush(): Promise<void> {
    if (this.#batch.length === 0) return;
    const batch = this.#batch;
    this.#batch = [];
    await this.store.suppressions.stageMandrillRows(this.account, this.run, batch);
  }
}

type ListKind = "deny" | "allow";

async function readList(
  deps: DenylistDeps,
  key: string,
  kind: ListKind,
  o: Required<SyncDenylistOptions>,
  limits: ExportLimits,
  stager: Stager,
  now: number,
): Promise<"list" | "export"> {
  if (o.via !== "export") {
    const rows =
      kind === "deny"
        ? await deps.api.call<Record<string, unknown>[]>("rejects/list", key, { include_expired: true })
        : await deps.api.call<Record<string, unknown>[]>("allowlists/list", key, {});
    if (rows.length < LIST_CAP || o.via === "list") {
      const method = kind === "deny" ? "rejects/list" : "allowlists/list";
      for (const [i, fields] of rows.entries()) {
        const where = `${method}, entry ${i + 1}`;
        await stager.add(kind === "deny" ? denyRow(fields, where, now) : allowRow(fields, where));
      }
      return "list";
    }
  }
  const url = await runExportJob(deps.api, key, kind === "deny" ? "rejects" : "whitelist", limits);
  const file = await download(url, deps.guard, limits);
  try {
    const name = kind === "deny" ? "rejects.csv" : "whitelist.csv";
    for await (const { fields, line } of csvRecords(file, name, REQUIRED_COLUMNS[kind])) {
      const where = `${name}, line ${line}`;
      await stager.add(kind === "deny" ? denyRow(fields, where, now) : allowRow(fields, where));
    }
  } finally {
    await removeDownload(file);
  }
  return "export";
}

/** Reads both lists, stages them, applies them; discards the run on any failure. */
export async function syncDenylist(
  deps: DenylistDeps,
  account: string,
  options: SyncDenylistOptions = {},
): Promise<DenylistSyncReport> {
  const o = checkSyncOptions(options);
  const started = deps.now();
  const startedReal = realNow();
  const settings = await requireSettings(deps.credentials, account);
  const key = settings.apiKey?.reveal() ?? "";
  const run = `sync-${randomUUID()}`;
  const stager = new Stager(deps.store, account, run);
  const limits: ExportLimits = {
    deadlineAt: startedReal + o.deadlineMs,
    pollMs: o.pollMs,
    pollMaxMs: o.pollMaxMs,
    downloadTimeoutMs: Math.min(o.deadlineMs, 120_000),
    maxBytes: o.maxBytes,
    now: realNow,
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  };
  try {
    const denylist = await readList(deps, key, "deny", o, limits, stager, started);
    const allowlist = await readList(deps, key, "allow", o, limits, stager, started);
    await stager.flush();
    const at = deps.now();
    const counts = await deps.store.suppressions.applyMandrillRun(account, run, { at });
    const report: DenylistSyncReport = {
      account,
      ...counts,
      via: { denylist, allowlist },
      expiredSkipped: stager.expired,
      read: stager.read,
      durationMs: Math.round(realNow() - startedReal),
      syncedAt: at,
    };
    deps.log.info(
      {
        account,
        imported: counts.imported,
        updated: counts.updated,
        lifted: counts.lifted,
        read: stager.read,
      },
      "Mandrill denylist synced",
    );
    return report;
  } catch (error) {
    await deps.store.suppressions.discardMandrillRun(account, run).catch(() => undefined);
    deps.log.warn(
      { account, error: (error as Error).message },
      "Mandrill denylist sync failed; nothing changed",
    );
    throw error;
  }
}
