import { type TemplateState, templateSlug, templateState } from "../account-state.js";
import { MandrillApiError, validationError } from "../api-error.js";
import { formatMandrillTime } from "../mandrill-time.js";
import { type ApiHandler, optionalParam, requireString } from "./api-call.js";

/** A template as the `templates/*` methods return it. */
export function templateJson(t: TemplateState): Record<string, unknown> {
  return {
    slug: t.slug,
    name: t.name,
    labels: [...t.labels],
    code: t.code,
    subject: t.subject,
    from_email: t.fromEmail,
    from_name: t.fromName,
    text: t.text,
    publish_name: t.name,
    publish_code: t.code,
    publish_subject: t.subject,
    publish_from_email: t.fromEmail,
    publish_from_name: t.fromName,
    publish_text: t.text,
    published_at: formatMandrillTime(t.updatedAt),
    created_at: formatMandrillTime(t.createdAt),
    updated_at: formatMandrillTime(t.updatedAt),
    is_broken_template: false,
  };
}

function find(templates: Map<string, TemplateState>, name: string): TemplateState {
  const t = templates.get(name) ?? templates.get(templateSlug(name));
  if (t === undefined) throw new MandrillApiError("Unknown_Template", `No such template "${name}"`);
  return t;
}

/** `templates/add`: stores a template (always published: the simulator keeps no drafts). */
export const add: ApiHandler = ({ ctx, account, params }) => {
  const name = requireString(params, "name");
  const slug = templateSlug(name);
  if (slug.length === 0)
    throw new MandrillApiError("Invalid_Template", `Template name "${name}" has no usable characters`);
  if (account.templates.has(slug)) {
    throw new MandrillApiError("Invalid_Template", `A template with name "${name}" already exists`);
  }
  const labels = params.labels ?? [];
  if (!Array.isArray(labels) || labels.some((l) => typeof l !== "string")) {
    throw validationError("labels must be an array of strings");
  }
  const t = templateState(
    {
      name,
      slug,
      subject: optionalParam(params, "subject") ?? undefined,
      code: optionalParam(params, "code") ?? undefined,
      text: optionalParam(params, "text") ?? undefined,
      from_email: optionalParam(params, "from_email") ?? undefined,
      from_name: optionalParam(params, "from_name") ?? undefined,
      labels: labels as string[],
    },
    ctx.now(),
  );
  account.templates.set(slug, t);
  return templateJson(t);
};

/** `templates/info`. */
export const info: ApiHandler = ({ account, params }) =>
  templateJson(find(account.templates, requireString(params, "name")));

/** `templates/list`. */
export const list: ApiHandler = ({ account }) => [...account.templates.values()].map(templateJson);

/** `templates/delete`: returns the deleted template. */
export const remove: ApiHandler = ({ account, params }) => {
  const t = find(account.templates, requireString(params, "name"));
  account.templates.delete(t.slug);
  return templateJson(t);
};
