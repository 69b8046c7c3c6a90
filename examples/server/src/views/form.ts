import type { FieldError } from "@mandrill-kit/core";
import { attr, html, type SafeHtml } from "./html.js";

/** Markup helpers for a form re-rendered with field errors (ids `<field>-error`, linked from the summary). */
export interface FieldMarkup {
  /** ` aria-describedby="…"` naming the help text and the field's error, when there are any. */
  describedBy(field: string, help?: string): SafeHtml | "";
  /** ` aria-invalid="true"` when the field has an error. */
  invalid(field: string): SafeHtml;
  /** The field's error message, next to it. */
  error(field: string): SafeHtml | "";
}

/** The helpers for one form and its errors. */
export function fieldMarkup(
  errors: readonly FieldError[],
  labels: Readonly<Record<string, string>> = {},
): FieldMarkup {
  const errorFor = (field: string) => errors.find((e) => e.field === field);
  return {
    describedBy(field, help) {
      const ids = [help, errorFor(field) ? `${field}-error` : undefined].filter((x) => x !== undefined);
      return ids.length === 0 ? "" : html` aria-describedby="${ids.join(" ")}"`;
    },
    invalid: (field) => attr('aria-invalid="true"', errorFor(field) !== undefined),
    error(field) {
      const e = errorFor(field);
      return e === undefined
        ? ""
        : html`<span class="field-error" id="${field}-error">${labels[field] ?? "This field"} ${e.message}</span>`;
    },
  };
}

/**
 * The error summary above a form: one link per field error, to the field, named by its label (a
 * field the form does not show is named in words). Focus moves to it when the page loads.
 */
export function errorSummary(
  intro: string,
  errors: readonly FieldError[],
  labels: Readonly<Record<string, string>> = {},
  ids: Readonly<Record<string, string>> = {},
): SafeHtml | "" {
  if (errors.length === 0) return "";
  return html`<div class="flash flash-error" role="alert" id="error-summary" tabindex="-1" data-autofocus><p><strong>${intro}</strong></p><ul>${errors.map(
    (e) =>
      html`<li><a href="#${ids[e.field] ?? e.field}">${labels[e.field] ?? (e.field === "" ? "The form" : e.field)}</a> ${e.message}</li>`,
  )}</ul></div>`;
}

/** `n thing`/`n things`. */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}
