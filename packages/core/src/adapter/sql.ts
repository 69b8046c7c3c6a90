/** Building SQL text that works in both SQL dialects the kit ships (SQLite and PostgreSQL). */

/**
 * Collects query parameters in order and hands back each one's placeholder: `?` for SQLite
 * (`new SqlParams(() => "?")`), `$1`, `$2`… for PostgreSQL (`new SqlParams((n) => `$${n}`)`).
 */
export class SqlParams {
  readonly values: unknown[] = [];
  readonly #placeholder: (position: number) => string;

  constructor(placeholder: (position: number) => string) {
    this.#placeholder = placeholder;
  }

  /** Adds a parameter and returns its placeholder. */
  add(value: unknown): string {
    this.values.push(value);
    return this.#placeholder(this.values.length);
  }
}

/** Escapes `%`, `_` and `\\` for a `LIKE … ESCAPE '\\'` pattern. */
export function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}
