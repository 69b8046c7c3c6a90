import {
  type FieldError,
  MandrillKitValidationError,
  type Store,
  type SuppressionInput,
} from "@mandrill-kit/core";
import { CsvError, parse } from "csv-parse/sync";
import { stringify } from "csv-stringify/sync";
import type { Response } from "express";
import { manualSuppression, suppressionItem } from "./input.js";

const CSV_COLUMNS = ["email", "reason", "source", "detail", "createdAt", "expiresAt"] as const;

/**
 * Cells a spreadsheet would run as a formula or split: `= + - @`, their full-width forms `＝ ＋ － ＠`,
 * tab, CR and LF at the start (OWASP "CSV injection").
 */
const FORMULA_START = /^[=+\-@\t\r\n\uFF1D\uFF0B\uFF0D\uFF20]/u;

/** A cell made inert for spreadsheets with a leading `'` (the import takes it off again). */
export function neutraliseCell(value: string): string {
  return FORMULA_START.test(value) ? `'${value}` : value;
}

function restoreCell(value: string): string {
  return value.startsWith("'") && FORMULA_START.test(value.slice(1)) ? value.slice(1) : value;
}

/** Every active suppression of the account as CSV (header line first, CRLF line ends). */
export async function exportCsv(store: Store, account: string): Promise<string> {
  const rows: (string | null)[][] = [[...CSV_COLUMNS]];
  let after: string | null = null;
  do {
    const page = await store.suppressions.list(account, { limit: 1000, after });
    for (const s of page.items) {
      const item = suppressionItem(s);
      rows.push(CSV_COLUMNS.map((c) => item[c]));
    }
    after = page.next;
  } while (after !== null);
  return stringify(rows, {
    record_delimiter: "\r\n",
    quoted_match: /[\r\n]/,
    cast: { string: neutraliseCell },
  });
}

/** Answers the account's CSV export as a download. */
export async function sendCsvExport(res: Response, store: Store, account: string): Promise<void> {
  res
    .type("text/csv")
    .set("Content-Disposition", `attachment; filename="suppressions-${account}.csv"`)
    .send(await exportCsv(store, account));
}

/** Parses RFC 4180 CSV (quoted fields, doubled quotes, CRLF, LF or CR, a BOM) with csv-parse. */
export function parseCsv(text: string): string[][] {
  let rows: string[][];
  try {
    rows = parse(text, {
      bom: true,
      relax_column_count: true,
      relax_quotes: true,
      skip_empty_lines: true,
      record_delimiter: ["\r\n", "\n", "\r"],
    });
  } catch (error) {
    if (!(error instanceof CsvError)) throw error;
    throw new MandrillKitValidationError(
      "ERR_MK_VALIDATION_FAILED",
      "Nothing was imported: the CSV could not be read.",
      [{ field: "csv", message: `is not valid CSV near line ${error.lines} (check the quotes)` }],
    );
  }
  return rows.filter((r) => !(r.length === 1 && r[0]?.trim() === ""));
}

const MAX_IMPORT_ROWS = 10_000;

function checkHeader(header: string[], rows: number): void {
  if (!header.includes("email")) {
    throw new MandrillKitValidationError(
      "ERR_MK_VALIDATION_FAILED",
      "The CSV needs a header line with an email column.",
      [{ field: "csv", message: "first line must name the columns, e.g. email,reason,detail,expiresAt" }],
    );
  }
  if (rows > MAX_IMPORT_ROWS) {
    throw new MandrillKitValidationError(
      "ERR_MK_VALIDATION_FAILED",
      `At most ${MAX_IMPORT_ROWS} lines per import.`,
      [{ field: "csv", message: `has ${rows} lines` }],
    );
  }
}

/**
 * Imports CSV with at least an `email` column (optional `reason`, `detail`, `expiresAt`; the export's
 * format works as is). All or nothing: any bad line fails the import with a field per line.
 */
/** Column names as the import's messages say them. */
const COLUMN_WORDS: Readonly<Record<string, string>> = {
  email: "the address (email)",
  reason: "the reason",
  detail: "the detail",
  expiresAt: "the end date (expiresAt)",
};

export async function importCsv(store: Store, account: string, text: string): Promise<{ imported: number }> {
  const rows = parseCsv(text);
  const header = (rows.shift() ?? []).map((h) => restoreCell(h.trim()));
  checkHeader(header, rows.length);
  const get = (row: string[], name: string) => {
    const i = header.indexOf(name);
    return restoreCell(i < 0 ? "" : (row[i] ?? "").trim());
  };
  const fields: FieldError[] = [];
  const inputs: SuppressionInput[] = [];
  rows.forEach((row, i) => {
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
      for (const p of problems)
        fields.push({ field: `line ${i + 2}`, message: `${COLUMN_WORDS[p.field] ?? p.field} ${p.message}` });
    }
  });
  if (fields.length > 0) {
    throw new MandrillKitValidationError(
      "ERR_MK_VALIDATION_FAILED",
      `Nothing was imported: ${fields.length === 1 ? "1 line is" : `${fields.length} lines are`} not valid.`,
      fields.slice(0, 50),
    );
  }
  if (inputs.length > 0) await store.suppressions.addMany(inputs);
  return { imported: inputs.length };
}
