import { parseMandrillTime } from "@mandrill-kit/core/plugin";

/** `YYYY-MM-DD HH:MM:SS` in UTC, the format of every timestamp in Mandrill's API bodies (docs/mandrill.md#api-conventions). */
export function formatMandrillTime(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace("T", " ");
}

/** Like {@link formatMandrillTime}, `null` for `null`. */
export function formatOptionalTime(ms: number | null): string | null {
  return ms === null ? null : formatMandrillTime(ms);
}

/** Unix seconds, the unit of webhook `ts` values (docs/mandrill.md#api-conventions). */
export function unixSeconds(ms: number): number {
  return Math.floor(ms / 1000);
}

export { parseMandrillTime };
