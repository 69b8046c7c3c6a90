import { expect, it } from "vitest";
import { findCitationProblems, formatProblems } from "../scripts/check-doc-citations.js";

it("every documentation citation points at a file and heading that exist in the repository", () => {
  expect(formatProblems(findCitationProblems())).toBe("");
});
