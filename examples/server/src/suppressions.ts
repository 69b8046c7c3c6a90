import {
  type FieldError,
  isEmail,
  MandrillKitValidationError,
  type Store,
  SUPPRESSION_REASONS,
  type Suppression,
  type SuppressionInput,
  type SuppressionReason,
} from "@mandrill-kit/core";

/** A suppression as the JSON API and the CSV export show it. */
export interface SuppressionItem {
  email: string;
  reason: SuppressionReason;
  source: string;
  detail: string | null;
  createdAt: string;
  expiresAt: string | null;
}

/** The API/CSV view of a stored suppression (ISO 8601 times). */
export function suppressionItem(s: Suppression): SuppressionItem {
  return {
    email: s.email,
    reason: s.reason,
    source: s.source,
    detail: s.detail,
    createdAt: new Date(s.createdAt).toISOString(),
    expiresAt: s.expiresAt === null ? null : new Date(s.expiresAt).toISOString(),
  };
}

/** `reason` from a form or JSON, or `undefined` when it is not one of the kit's reasons. */
export function parseReason(value: unknown): SuppressionReason | undefined {
  return typeof value === "string" && (SUPPRESSION_REASONS as readonly string[]).includes(value)
    ? (value as SuppressionReason)
    : undefined;
}

/** Validates a manual add; throws `ERR_MK_VALIDATION_FAILED` with fields. */
export function manualSuppression(account: string, body: Record<string, unknown>): SuppressionInput {
  const fields: FieldError[] = [];
  const email = typeof body.email === "string" ? body.email.trim() : "";
  if (!isEmail(email)) fields.push({ field: "email", message: "must be an email address" });
  const reason = body.reason === undefined || body.reason === "" ? "custom" : parseReason(body.reason);
  if (reason === undefined)
    fields.push({ field: "reason", message: `must be one of ${SUPPRESSION_REASONS.join(", ")}` });
  const detail = typeof body.detail === "string" && body.detail.trim() !== "" ? body.detail.trim() : null;
  if (detail !== null && detail.length > 500)
    fields.push({ field: "detail", message: "must be at most 500 characters" });
  let expiresAt: number | null = null;
  if (typeof body.expiresAt === "string" && body.expiresAt.trim() !== "") {
    expiresAt = Date.parse(body.expiresAt);
    if (!Number.isFinite(expiresAt))
      fields.push({ field: "expiresAt", message: "must be a date such as 2027-01-31" });
  }
  if (fields.length > 0) {
    throw new MandrillKitValidationError("ERR_MK_VALIDATION_FAILED", "The suppression is not valid.", fields);
  }
  return { account, email, reason: reason ?? "custom", source: "manual", detail, expiresAt };
}

const CSV_COLUMNS = ["email", "reason", "source", "detail", "createdAt", "expiresAt"] as const;

function csvCell(value: string | null): string {
  let v = value ?? "";
  // Spreadsheets run cells starting with these as formulas: neutralise them (undone on import).
  if (/^[=+\-@\t\r]/.test(v)) v = `'${v}`;
  return /[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

/** Every active suppression of the account as CSV (header line first). */
export async function exportCsv(store: Store, account: string): Promise<string> {
  const lines = [CSV_COLUMNS.join(",")];
  let after: string | null = null;
  do {
    const page = await store.suppressions.list(account, { limit: 1000, after });
    for (const s of page.items) {
      const item = suppressionItem(s);
      lines.push(CSV_COLUMNS.map((c) => csvCell(item[c])).join(","));
    }
    after = page.next;
  } while (after !== null);
  return `${lines.join("\r\n")}\r\n`;
}

/** Parses RFC 4180 CSV (quoted fields, doubled quotes, CRLF or LF). */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          cell += '"';
          i++;
        } else quoted = false;
      } else cell += c;
    } else if (c === '"' && cell === "") quoted = true;
    else if (c === ",") {
      row.push(cell);
      cell = "";
    } else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i++;
      row.push(cell);
      rows.push(row);
      row = [];
      cell = "";
    } else cell += c;
  }
  if (cell !== "" || row.length > 0) {
    row.push(cell);
    rows.push(row);
  }
  return rows.filter((r) => !(r.length === 1 && r[0]?.trim() === ""));
}

const MAX_IMPORT_ROWS = 10_000;

/**
 * Imports CSV with at least an `email` column (optional `reason`, `detail`, `expiresAt`; the export's
 * format works as is). All or nothing: any bad line fails the import with a field per line.
 */
export async function importCsv(store: Store, account: string, text: string): Promise<{ imported: number }> {
  const rows = parseCsv(text.replace(/^\uFEFF/, ""));
  const header = (rows.shift() ?? []).map((h) => h.trim().replace(/^'/, ""));
  const col = (name: string) => header.indexOf(name);
  if (col("email") < 0) {
    throw new MandrillKitValidationError(
      "ERR_MK_VALIDATION_FAILED",
      "The CSV needs a header line with an email column.",
      [{ field: "csv", message: "first line must name the columns, e.g. email,reason,detail,expiresAt" }],
    );
  }
  if (rows.length > MAX_IMPORT_ROWS) {
    throw new MandrillKitValidationError(
      "ERR_MK_VALIDATION_FAILED",
      `At most ${MAX_IMPORT_ROWS} lines per import.`,
      [{ field: "csv", message: `has ${rows.length} lines` }],
    );
  }
  const fields: FieldError[] = [];
  const inputs: SuppressionInput[] = [];
  const get = (row: string[], name: string) => {
    const i = col(name);
    const v = i < 0 ? "" : (row[i] ?? "").trim();
    return /^'[=+\-@\t\r]/.test(v) ? v.slice(1) : v;
  };
  rows.forEach((row, i) => {
    const line = i + 2;
    try {
      const input = manualSuppression(account, {
        email: get(row, "email"),
        reason: get(row, "reason"),
        detail: get(row, "detail"),
        expiresAt: get(row, "expiresAt"),
      });
      inputs.push({ ...input, source: "import" });
    } catch (error) {
      const problems = error instanceof MandrillKitValidationError ? error.fields : [];
      for (const p of problems) fields.push({ field: `line ${line}`, message: `${p.field} ${p.message}` });
    }
  });
  if (fields.length > 0) {
    throw new MandrillKitValidationError(
      "ERR_MK_VALIDATION_FAILED",
      `Nothing was imported: ${fields.length} line(s) are not valid.`,
      fields.slice(0, 50),
    );
  }
  if (inputs.length > 0) await store.suppressions.addMany(inputs);
  return { imported: inputs.length };
}
