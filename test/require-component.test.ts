import { afterEach, describe, expect, it, vi } from "vitest";
import { componentMissing } from "./require-component.js";

describe("a test whose component is missing", () => {
  afterEach(() => {
    vi.unstubAllEnvs();
    vi.restoreAllMocks();
  });

  it("skips with the message on a machine that does not require the component", () => {
    vi.stubEnv("MK_REQUIRE_EXAMPLE", undefined);
    const warn = vi.spyOn(console, "warn").mockImplementation(() => undefined);
    expect(() => componentMissing("MK_REQUIRE_EXAMPLE", "Example not found.")).not.toThrow();
    expect(warn).toHaveBeenCalledWith(expect.stringContaining("Example not found."));
  });

  it("fails under MK_REQUIRE_<NAME>=1, as .ci/run sets it", () => {
    vi.stubEnv("MK_REQUIRE_EXAMPLE", "1");
    expect(() => componentMissing("MK_REQUIRE_EXAMPLE", "Example not found.")).toThrow(
      /Example not found\.\nMK_REQUIRE_EXAMPLE=1 is set/,
    );
  });
});
