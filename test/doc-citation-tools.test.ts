// doc-citations: ignore-file (the inputs below are stale citations on purpose)
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { checkFile, githubSlug, markdownAnchors, Repository } from "../scripts/check-doc-citations.js";
import { expandSections, rewriteText } from "../scripts/rewrite-doc-citations.js";

describe("githubSlug — the anchors GitHub gives headings", () => {
  it.each([
    ["Webhook signature", "webhook-signature"],
    ["X-MC headers", "x-mc-headers"],
    ["`mandrillSettings({ authorize })` — the JSON API", "mandrillsettings-authorize---the-json-api"],
    ["Mandrill's own suppression behaviour", "mandrills-own-suppression-behaviour"],
    ["ERR_MK_CONFIG_INVALID", "err_mk_config_invalid"],
    ["[Linked](https://example.com) title", "linked-title"],
    ["Sending semantics (spec §2.3–2.4, §5)", "sending-semantics-spec-2324-5"],
  ])("%s → #%s", (heading, anchor) => {
    expect(githubSlug(heading)).toBe(anchor);
  });

  it("numbers repeated headings and ignores headings inside code blocks", () => {
    const anchors = markdownAnchors(
      '# A\n\n## Notes\n\n```md\n## Hidden\n```\n\n## Notes\n\n<a id="custom"></a>\n',
    );
    expect([...anchors].sort()).toEqual(["a", "custom", "notes", "notes-1"]);
  });
});

describe("checkFile — citations that do not resolve", () => {
  const root = mkdtempSync(path.join(tmpdir(), "mk-doc-citations-"));
  mkdirSync(path.join(root, "docs"));
  mkdirSync(path.join(root, "packages/core/src"), { recursive: true });
  writeFileSync(path.join(root, "docs/mandrill.md"), "# Mandrill\n\n## Webhook signature\n");
  writeFileSync(path.join(root, "packages/core/README.md"), "# core\n\n## Security notes\n");
  const repo = new Repository(root, [
    "docs/mandrill.md",
    "packages/core/README.md",
    "packages/core/src/a.ts",
  ]);
  const problems = (file: string, text: string) => checkFile(repo, file, text).map((p) => p.citation);
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it("accepts a cited file and heading that exist", () => {
    expect(
      problems(
        "packages/core/src/a.ts",
        "// docs/mandrill.md#webhook-signature, ../README.md#security-notes, packages/core/README.md",
      ),
    ).toEqual([]);
  });

  it("reports a heading anchor that does not exist", () => {
    expect(problems("packages/core/src/a.ts", "// see docs/mandrill.md#signature")).toEqual([
      "docs/mandrill.md#signature",
    ]);
  });

  it("reports files that are not in the repository, and old section numbers", () => {
    expect(problems("packages/core/src/a.ts", '// DESIGN.md "Storage", spec §3.2, docs/design.md')).toEqual([
      "§3.2",
      "DESIGN.md",
      "docs/design.md",
    ]);
  });

  it("checks Markdown links relative to the file, including same-page anchors", () => {
    const text =
      "# core\n\n[ok](../../docs/mandrill.md#webhook-signature) [bad](../../docs/mandrill.md#nope) [here](#core) [gone](#gone) [web](https://example.com/x.md#y)\n";
    expect(problems("packages/core/README.md", text)).toEqual(["../../docs/mandrill.md#nope", "#gone"]);
  });

  it("checks absolute links into this repository on GitHub (published READMEs) as paths", () => {
    const base = "https://github.com/mandrill-kit/mandrill-kit/blob/main";
    const text = `[ok](${base}/docs/mandrill.md#webhook-signature) [bad](${base}/docs/mandrill.md#nope) [gone](${base}/docs/gone.md) [dir](https://github.com/mandrill-kit/mandrill-kit/tree/main/packages/core)\n`;
    expect(problems("packages/core/README.md", text)).toEqual([
      `${base}/docs/mandrill.md#nope`.replace(`${base}/`, "/"),
      "/docs/gone.md",
    ]);
  });

  it("leaves another project's paths alone", () => {
    expect(problems("docs/mandrill.md", "`rails/rails` `guides/source/action_mailbox_basics.md`")).toEqual(
      [],
    );
  });
});

describe("rewrite-doc-citations — old citations to docs/*.md anchors", () => {
  it("expands ranges and lists of sections", () => {
    expect(expandSections("§2.3–2.4, §5")).toEqual(["2.3", "2.4", "5"]);
    expect(expandSections("§3.5–3.7")).toEqual(["3.5", "3.6", "3.7"]);
    expect(expandSections("§3–4")).toEqual(["3", "4"]);
    expect(expandSections("§3.5/§3.6")).toEqual(["3.5", "3.6"]);
  });

  it("writes plain citations in source files, keeping a comment's line break", () => {
    const text = [
      "/** Mandrill's error body (spec §2.5). */",
      " * sender-level entries (unsubscribes, spec",
      " * §5) only; the event model (mandrill-spec.md §3.5–3.6).",
      '/** Storage (DESIGN.md "Storage interfaces"); defaults of DESIGN.md. */',
    ].join("\n");
    expect(rewriteText("packages/x/src/a.ts", text).text).toBe(
      [
        "/** Mandrill's error body (docs/mandrill.md#api-errors). */",
        " * sender-level entries (unsubscribes,",
        " * docs/mandrill.md#rejection-denylist) only; the event model (docs/mandrill.md#message-events and docs/mandrill.md#sync-events).",
        "/** Storage (docs/design.md#storage-interfaces); defaults of docs/design.md#suppression-policy. */",
      ].join("\n"),
    );
  });

  it("writes relative links in Markdown prose, plain citations in code, and moves citations out of headings", () => {
    const text = [
      "### SMTP (spec §1)",
      "",
      "As spec §4 says (`spec §4` in code).",
      "",
      "```ts",
      "policy(); // DESIGN.md defaults",
      "```",
    ].join("\n");
    expect(rewriteText("examples/x/README.md", text).text).toBe(
      [
        "### SMTP",
        "",
        "Mandrill's behaviour: [SMTP](../../docs/mandrill.md#smtp).",
        "",
        "As [Webhook signature](../../docs/mandrill.md#webhook-signature) says (`docs/mandrill.md#webhook-signature` in code).",
        "",
        "```ts",
        "policy(); // the defaults of docs/design.md#suppression-policy",
        "```",
      ].join("\n"),
    );
  });

  it("writes absolute GitHub links in package READMEs, which are published to npm", () => {
    expect(rewriteText("packages/x/README.md", "As spec §4 says.").text).toBe(
      "As [Webhook signature](https://github.com/mandrill-kit/mandrill-kit/blob/main/docs/mandrill.md#webhook-signature) says.",
    );
  });

  it("changes nothing the second time, and reports sections it cannot map", () => {
    const once = rewriteText("a.ts", "// spec §2.3–2.4, §6").text;
    expect(rewriteText("a.ts", once).text).toBe(once);
    const unknown = rewriteText("a.ts", '// spec §4.9 and DESIGN.md "Nowhere"');
    expect(unknown.unknown).toEqual(["§4.9", 'DESIGN.md "Nowhere"']);
    expect(unknown.text).toBe('// spec §4.9 and DESIGN.md "Nowhere"');
  });
});
