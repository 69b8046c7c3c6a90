/**
 * The simple template language of the simulator: Mandrill's `*|NAME|*` merge tags (or `{{name}}` with
 * `merge_language: "handlebars"`) and `mc:edit` regions. Enough to see per-recipient content; not
 * Mailchimp's full language (no conditionals, no built-in tags beyond `*|UNSUB|*`).
 */

/** Merge variables for one recipient: global ones overridden by the recipient's, names case-insensitive. */
export function mergeValues(
  global: ReadonlyArray<{ name: string; content: unknown }>,
  perRecipient: ReadonlyArray<{ name: string; content: unknown }>,
): Map<string, string> {
  const values = new Map<string, string>();
  for (const v of [...global, ...perRecipient]) {
    values.set(v.name.toLowerCase(), v.content === null || v.content === undefined ? "" : String(v.content));
  }
  return values;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * Replaces merge tags in `text`. Unknown tags become empty, as Mandrill does. `*|UNSUB|*` and
 * `*|UNSUB:https://…|*` become `unsubscribeUrl(redirect)`.
 */
export function applyMergeTags(
  text: string,
  values: ReadonlyMap<string, string>,
  language: "mailchimp" | "handlebars",
  unsubscribeUrl: (redirect: string | null) => string,
): string {
  const withUnsub = text.replace(/\*\|UNSUB(?::([^|]*))?\|\*/g, (_, redirect: string | undefined) =>
    unsubscribeUrl(redirect ?? null),
  );
  if (language === "handlebars") {
    return withUnsub
      .replace(
        /\{\{\{\s*([A-Za-z0-9_.]+)\s*\}\}\}/g,
        (_, name: string) => values.get(name.toLowerCase()) ?? "",
      )
      .replace(/\{\{\s*([A-Za-z0-9_.]+)\s*\}\}/g, (_, name: string) =>
        escapeHtml(values.get(name.toLowerCase()) ?? ""),
      );
  }
  return withUnsub.replace(
    /\*\|([A-Za-z0-9_]+)\|\*/g,
    (_, name: string) => values.get(name.toLowerCase()) ?? "",
  );
}

/** Puts each `template_content` block into the element marked `mc:edit="<name>"` (replacing its content). */
export function fillEditableRegions(
  html: string,
  blocks: ReadonlyArray<{ name: string; content: string }>,
): string {
  let out = html;
  for (const block of blocks) {
    const name = block.name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    const region = new RegExp(
      `(<([A-Za-z][A-Za-z0-9]*)\\b[^>]*\\bmc:edit=["']${name}["'][^>]*>)[\\s\\S]*?(</\\2>)`,
    );
    out = out.replace(
      region,
      (_, open: string, _tag: string, close: string) => `${open}${block.content}${close}`,
    );
  }
  return out;
}
