/**
 * How AWS SDK failures are read (src/layers/aws/errors.ts): the reason a caller logs and whether
 * its own retry schedule should try again. Errors are the SDK's own exception classes where the
 * SDK throws them, and plain Node errors where the HTTP handler does.
 */
import { SQSServiceException } from "@aws-sdk/client-sqs"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import { TestClock } from "effect/testing"
import { awsCall, describeAwsError } from "../../../src/layers/aws/errors.ts"

const serviceError = (name: string, fault: "client" | "server", status: number | undefined, message = "m") =>
  new SQSServiceException({ name, $fault: fault, $metadata: status === undefined ? {} : { httpStatusCode: status }, message })

const nodeError = (code: string) => Object.assign(new Error(`connect ${code} 10.0.0.1:443`), { code })

describe("describeAwsError", () => {
  it("names the error, its HTTP status and its message", () => {
    assert.deepStrictEqual(describeAwsError(serviceError("Throttling", "client", 400, "Rate exceeded")), {
      reason: "Throttling (HTTP 400): Rate exceeded",
      retryable: true
    })
    assert.strictEqual(describeAwsError(serviceError("QueueDoesNotExist", "client", undefined, "")).reason, "QueueDoesNotExist: no message")
  })

  it("retryable: throttling (by name, by 429, by the $retryable trait)", () => {
    for (const name of ["Throttling", "ThrottlingException", "RequestLimitExceeded", "SlowDown", "TooManyRequestsException"]) {
      assert.isTrue(describeAwsError(serviceError(name, "client", 400)).retryable, name)
    }
    assert.isTrue(describeAwsError(serviceError("Whatever", "client", 429)).retryable)
    const trait = Object.assign(serviceError("Custom", "client", 400), { $retryable: { throttling: true } })
    assert.isTrue(describeAwsError(trait).retryable)
  })

  it("retryable: server faults, 5xx, timeouts and dropped connections (also as a cause)", () => {
    assert.isTrue(describeAwsError(serviceError("ServiceUnavailable", "server", 503)).retryable)
    assert.isTrue(describeAwsError(serviceError("InternalError", "server", 500)).retryable)
    assert.isTrue(describeAwsError(serviceError("NotImplementedYet", "server", 501)).retryable)
    assert.isTrue(describeAwsError(serviceError("InternalFailure", "server", undefined)).retryable)
    assert.isTrue(describeAwsError(Object.assign(new Error("socket hang up"), { name: "TimeoutError" })).retryable)
    for (const code of ["ECONNRESET", "ECONNREFUSED", "ETIMEDOUT", "ENOTFOUND", "EAI_AGAIN"]) {
      assert.isTrue(describeAwsError(nodeError(code)).retryable, code)
    }
    assert.isTrue(describeAwsError(new Error("request failed", { cause: nodeError("EPIPE") })).retryable)
  })

  it("retryable: Auto Scaling's ResourceContentionFault (a pending update), which the SDK calls a client error", () => {
    assert.isTrue(describeAwsError(serviceError("ResourceContentionFault", "client", 400)).retryable)
  })

  it("not retryable: the caller's own mistakes, missing things, denials, an aborted request, a non-error", () => {
    for (const [name, status] of [["ValidationError", 400], ["InvalidParameterValue", 400], ["AccessDenied", 403], ["NoSuchKey", 404]] as const) {
      assert.isFalse(describeAwsError(serviceError(name, "client", status)).retryable, name)
    }
    assert.isFalse(describeAwsError(Object.assign(new Error("aborted"), { name: "AbortError" })).retryable)
    assert.isFalse(describeAwsError(nodeError("EACCES")).retryable)
    assert.deepStrictEqual(describeAwsError("boom"), { reason: "boom", retryable: false })
    assert.deepStrictEqual(describeAwsError(null), { reason: "null", retryable: false })
  })
})

describe("awsCall", () => {
  const toFailure = (failure: { reason: string; retryable: boolean }) => failure

  it.effect("passes the answer through, and maps a rejection to the caller's error", () =>
    Effect.gen(function*() {
      assert.strictEqual(yield* awsCall(() => Promise.resolve(7), "1 second", toFailure), 7)
      const failed = yield* Effect.flip(awsCall(() => Promise.reject(serviceError("SlowDown", "client", 503)), "1 second", toFailure))
      assert.deepStrictEqual(failed, { reason: "SlowDown (HTTP 503): m", retryable: true })
    }))

  it.effect("gives up at the timeout, retryable, and aborts the request", () =>
    Effect.gen(function*() {
      let signal: AbortSignal | undefined
      const call = yield* Effect.forkChild(Effect.flip(awsCall((abortSignal) => {
        signal = abortSignal
        return new Promise<never>(() => {})
      }, "2 seconds", toFailure)))
      yield* Effect.yieldNow
      yield* TestClock.adjust("1999 millis")
      assert.isUndefined(call.pollUnsafe())
      yield* TestClock.adjust("1 millis")
      const failure = yield* Fiber.join(call)
      assert.deepStrictEqual(failure, { reason: "no answer within 2s", retryable: true })
      assert.isTrue(signal?.aborted)
    }))
})
