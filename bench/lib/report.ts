import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { cpus, totalmem } from "node:os";
import { join } from "node:path";

/** A printed and written benchmark table. */
export interface Table {
  title: string;
  /** What is measured and how, in one or two sentences. */
  description: string;
  headers: string[];
  rows: string[][];
  /** Lines under the table: targets met or missed, notes. */
  notes: string[];
}

const require = createRequire(import.meta.url);

function versionOf(pkg: string, from: string): string {
  try {
    const path = require.resolve(`${pkg}/package.json`, { paths: [from] });
    return (JSON.parse(readFileSync(path, "utf8")) as { version: string }).version;
  } catch {
    return "?";
  }
}

export function machine(sqliteVersion: string): string[] {
  const cpu = cpus();
  const sqlitePkgDir = new URL("../../packages/sqlite/", import.meta.url).pathname;
  const root = new URL("../../", import.meta.url).pathname;
  return [
    `- Machine: ${cpu[0]?.model ?? "?"} × ${cpu.length} cores, ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, ${process.platform}/${process.arch}`,
    `- Node ${process.version}, SQLite ${sqliteVersion}, better-sqlite3 ${versionOf("better-sqlite3", sqlitePkgDir)}`,
    `- node-jose ${versionOf("node-jose", join(root, "packages/credentials/"))}, nodemailer ${versionOf("nodemailer", join(root, "packages/sender/"))}, undici ${versionOf("undici", join(root, "packages/sender/"))}, express ${versionOf("express", root)}, smtp-server ${versionOf("smtp-server", join(root, "packages/simulator/"))}, @mailchimp/mailchimp_transactional ${versionOf("@mailchimp/mailchimp_transactional", root)}, pg ${versionOf("pg", root)}`,
  ];
}

export function renderMarkdown(table: Table): string {
  const lines = [
    `### ${table.title}`,
    "",
    table.description,
    "",
    `| ${table.headers.join(" | ")} |`,
    `| ${table.headers.map(() => "---").join(" | ")} |`,
  ];
  for (const row of table.rows) lines.push(`| ${row.join(" | ")} |`);
  if (table.notes.length > 0) lines.push("", ...table.notes.map((n) => `- ${n}`));
  return `${lines.join("\n")}\n`;
}

export function printTable(table: Table): void {
  const widths = table.headers.map((h, i) =>
    Math.max(h.length, ...table.rows.map((r) => (r[i] ?? "").length)),
  );
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join("  ");
  process.stdout.write(
    `\n${table.title}\n${"=".repeat(table.title.length)}\n${line(table.headers)}\n${line(widths.map((w) => "-".repeat(w)))}\n`,
  );
  for (const row of table.rows) process.stdout.write(`${line(row)}\n`);
  for (const note of table.notes) process.stdout.write(`  * ${note}\n`);
}

/**
 * Replaces one `## ` section of a Markdown file (from its heading to the next `## ` heading) with
 * `section`, so a bench run alone updates its own part. A file without that section gets it after the
 * section headed `after` (or at the end).
 */
export function replaceSection(file: URL, heading: string, section: string, after?: string): void {
  const md = existsSync(file) ? readFileSync(file, "utf8") : "# Benchmarks\n";
  const body = `${section.trimEnd()}\n`;
  const nextHeading = (from: number) => {
    const i = md.indexOf("\n## ", from);
    return i === -1 ? md.length : i + 1;
  };
  const start = md.indexOf(`\n${heading}\n`);
  if (start !== -1) {
    const end = nextHeading(start + 1);
    writeFileSync(file, `${md.slice(0, start + 1)}${body}${end < md.length ? "\n" : ""}${md.slice(end)}`);
    return;
  }
  const anchor = after === undefined ? -1 : md.indexOf(`\n${after}\n`);
  if (anchor === -1) {
    writeFileSync(file, `${md.trimEnd()}\n\n${body}`);
    return;
  }
  const at = nextHeading(anchor + 1);
  writeFileSync(file, `${md.slice(0, at)}${body}${at < md.length ? "\n" : ""}${md.slice(at)}`);
}
