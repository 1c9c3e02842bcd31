/**
 * An error the emulator answers with the AWS JSON 1.1 error shape: the HTTP status, the
 * `x-amzn-errortype` header and `{"__type": code, "message": ...}`. The SDKs turn `code` into the
 * thrown error's `name`, so `code` must be the AWS error name a real client would see.
 */
export class EventBridgeApiError extends Error {
  override readonly name = 'EventBridgeApiError';
  readonly code: string;
  readonly statusCode: number;

  constructor(code: string, message: string, statusCode = 400) {
    super(message);
    this.code = code;
    this.statusCode = statusCode;
  }
}

/** A rule or fault setting the emulator cannot honour; thrown at configuration time, never on the wire. */
export class EventBridgeConfigError extends Error {
  override readonly name = 'EventBridgeConfigError';
}
