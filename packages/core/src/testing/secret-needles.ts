/** A string to look for in logs, responses or files when checking that a secret never leaks. */
export interface Needle {
  label: string;
  text: string;
}

/**
 * The forms a leaked secret could take: raw, and base64 / base64url at each of the 3 byte alignments,
 * keeping only the characters that depend on the secret alone (the first group of a shifted encoding
 * and the last, incomplete one mix in whatever surrounds it). Whatever surrounds the secret in an
 * encoded value, one of these strings appears if it was encoded.
 */
export function secretNeedles(
  name: string,
  text: string,
  bytes: Buffer = Buffer.from(text, "utf8"),
): Needle[] {
  const out: Needle[] = [{ label: `${name} (raw)`, text }];
  for (const offset of [0, 1, 2]) {
    const shifted = Buffer.concat([Buffer.alloc(offset), bytes]);
    const from = offset === 0 ? 0 : 4;
    const to = Math.floor(shifted.length / 3) * 4;
    for (const encoding of ["base64", "base64url"] as const) {
      out.push({
        label: `${name} (${encoding}, alignment ${offset})`,
        text: shifted.toString(encoding).slice(from, to),
      });
    }
  }
  return out;
}
