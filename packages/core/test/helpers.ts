import { MandrillKitConfigError } from "@mandrill-kit/core";
import { expect } from "vitest";

/** Runs `run`, expecting it to throw a MandrillKitConfigError, and returns that error. */
export function configError(run: () => unknown): MandrillKitConfigError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(MandrillKitConfigError);
    return error as MandrillKitConfigError;
  }
  throw new Error("expected a MandrillKitConfigError, nothing was thrown");
}
