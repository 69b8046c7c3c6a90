import {
  errorResponse,
  MandrillKitNotFoundError,
  MandrillKitSendError,
  MandrillKitStoreError,
  MandrillKitValidationError,
  type SendResult,
} from "@mandrill-kit/core";
import { describe, expect, it } from "vitest";

describe("errorResponse", () => {
  it("maps kit errors to their status with code and message, and field errors to 422", () => {
    const invalid = errorResponse(
      new MandrillKitValidationError("ERR_MK_VALIDATION_FAILED", "bad", [
        { field: "port", message: "is out of range" },
      ]),
    );
    expect(invalid).toEqual({
      status: 422,
      body: {
        error: {
          code: "ERR_MK_VALIDATION_FAILED",
          message: "bad",
          fields: [{ field: "port", message: "is out of range" }],
        },
      },
    });
    expect(errorResponse(new MandrillKitNotFoundError("none")).status).toBe(404);
    expect(errorResponse(new MandrillKitStoreError("ERR_MK_STORE_CONFLICT", "stale")).status).toBe(409);
  });

  it("keeps each recipient's outcome when Mandrill rejected every recipient", () => {
    const result: SendResult = {
      account: "acme",
      transport: "api",
      correlationId: "c1",
      recipients: [
        {
          email: "a@example.com",
          status: "rejected",
          messageId: "m1",
          rejectReason: "unsigned",
          rejectSide: "sender",
          queuedReason: null,
        },
      ],
    };
    const { status, body } = errorResponse(new MandrillKitSendError("rejected", result));
    expect(status).toBe(422);
    expect(body.error.result).toEqual(result);
  });

  it("hides anything that is not a kit error behind a generic 500", () => {
    const { status, body } = errorResponse(new Error("SQLITE_BUSY: internal path /var/lib/x"));
    expect(status).toBe(500);
    expect(body.error.code).toBe("ERR_MK_INTERNAL");
    expect(body.error.message).not.toContain("SQLITE");
  });
});
