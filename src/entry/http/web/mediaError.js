// @ts-check

/**
 * "code N: message" for a media error (the <video> element's, or one an engine passes on).
 * @param {{ readonly code: number, readonly message?: string } | null | undefined} error
 */
export function describeMediaError(error) {
  return error ? "code " + error.code + (error.message ? ": " + error.message : "") : "unknown"
}
