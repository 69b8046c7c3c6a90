/**
 * Ingest sends its column arrays in PostgreSQL's binary format (binary.ts): the server must read back
 * exactly the values given — NULLs, every kind of character, integers of any sign and size.
 */
import { describe, expect, it } from "vitest";
import { int4Array, int8Array, textArray } from "../src/binary.js";
import { available, sql } from "./database.js";

const TEXTS = [
  "plain",
  "",
  null,
  'quotes " and \\ back, {braces}, commas, NULL',
  "caf\u00e9 \u65e5\u672c \ud83d\udce8",
  "\ud83d\ude00".repeat(300),
  undefined,
  "x".repeat(5000),
];
const INT8S = [
  0,
  1,
  -1,
  null,
  2 ** 31,
  -(2 ** 31) - 1,
  2 ** 32,
  Number.MAX_SAFE_INTEGER,
  Number.MIN_SAFE_INTEGER,
  1_764_590_000_123,
];
const INT4S = [0, 1, -1, 2 ** 31 - 1, -(2 ** 31), 719_689];

describe("binary array encoding", () => {
  it("leaves bigints that are not all safe integers to pg's text form", () => {
    expect(int8Array([1, 1.5])).toEqual([1, 1.5]);
    expect(int8Array([2 ** 60, null])).toEqual([2 ** 60, null]);
  });

  it("encodes ASCII-only and other text arrays byte for byte as one element at a time would", () => {
    // The reference: each element's length word and UTF-8 bytes in turn (-1 for NULL), after the header.
    const reference = (values: readonly (string | null | undefined)[]) => {
      const header = Buffer.alloc(20);
      header.writeInt32BE(1, 0);
      header.writeInt32BE(values.some((v) => v == null) ? 1 : 0, 4);
      header.writeInt32BE(25, 8);
      header.writeInt32BE(values.length, 12);
      header.writeInt32BE(1, 16);
      const parts = values.map((v) => {
        if (v == null) return Buffer.from([255, 255, 255, 255]);
        const bytes = Buffer.from(v, "utf8");
        const length = Buffer.alloc(4);
        length.writeInt32BE(bytes.length, 0);
        return Buffer.concat([length, bytes]);
      });
      return Buffer.concat([header, ...parts]);
    };
    // Lengths whose bytes are 0x80 or more (128, 255, 256, 70,000) and control characters.
    const ascii = [
      "a",
      "",
      null,
      "x".repeat(128),
      "y".repeat(255),
      "z".repeat(256),
      "\u0001\t\u007f",
      "w".repeat(70_000),
      undefined,
    ];
    expect(textArray(ascii).equals(reference(ascii))).toBe(true);
    expect(textArray(TEXTS).equals(reference(TEXTS))).toBe(true);
    expect(textArray(["plain", "\u00e9"]).equals(reference(["plain", "\u00e9"]))).toBe(true);
  });

  it("encodes empty arrays", () => {
    expect(textArray([]).length).toBe(20);
    expect((int8Array([]) as Buffer).length).toBe(20);
    expect(int4Array([]).length).toBe(20);
  });
});

describe.skipIf(!available)("binary arrays read by PostgreSQL", () => {
  it("keeps every text, NULLs included, in order", async () => {
    const { rows } = await sql(
      "SELECT t, ord FROM unnest($1::text[]) WITH ORDINALITY AS u(t, ord) ORDER BY ord",
      [textArray(TEXTS)],
    );
    expect(rows.map((r) => r.t)).toEqual(TEXTS.map((t) => t ?? null));
  });

  it("keeps every text of an all-ASCII array (one latin1 write), NULLs and long ones included", async () => {
    const ascii = ["k1", null, "x".repeat(300), "", '\u0001 {a,b} "q" \\', undefined, "y".repeat(70_000)];
    const { rows } = await sql(
      "SELECT t, ord FROM unnest($1::text[]) WITH ORDINALITY AS u(t, ord) ORDER BY ord",
      [textArray(ascii)],
    );
    expect(rows.map((r) => r.t)).toEqual(ascii.map((t) => t ?? null));
  });

  it("sends other values as their text, as pg does", async () => {
    const { rows } = await sql("SELECT $1::text[] AS a", [textArray([42, true])]);
    expect(rows[0]?.a).toEqual(["42", "true"]);
  });

  it("keeps every bigint and int exactly", async () => {
    const { rows } = await sql("SELECT $1::bigint[]::text[] AS big, $2::int[] AS small", [
      int8Array(INT8S),
      int4Array(INT4S),
    ]);
    expect(rows[0]?.big).toEqual(INT8S.map((n) => (n === null ? null : String(n))));
    expect(rows[0]?.small).toEqual(INT4S);
  });

  it("leaves a bigint that is not a safe integer for the server to refuse", async () => {
    await expect(sql("SELECT $1::bigint[] AS a", [int8Array([1, 1.5])])).rejects.toThrow(/bigint/);
  });

  it("is refused by the server when a text is not valid in the database encoding", async () => {
    await expect(sql("SELECT $1::text[] AS a", [textArray(["a\u0000b"])])).rejects.toThrow(/0x00/);
  });
});
