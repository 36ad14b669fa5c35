/**
 * The `vidpipe` command line (started through `main.ts`).
 */
import * as NodeServices from "@effect/platform-node/NodeServices"
import { Effect, Exit, Layer, Logger } from "effect"
import { Command } from "effect/cli"
import { demoCommand } from "./demoCommand.ts"
import { fleetCommand } from "./fleetCommand.ts"
import { playCommand } from "./playCommand.ts"
import { processCommand } from "./processCommand.ts"
import { sampleCommand } from "./sampleCommand.ts"
import { serveCommand } from "./serveCommand.ts"
import { onSigterm } from "./signals.ts"
import { statusCommand } from "./statusCommand.ts"
import { submitCommand } from "./submitCommand.ts"
import { workerCommand } from "./workerCommand.ts"
import { logLevelLayer } from "./cliConfig.ts"

const vidpipe = Command.make("vidpipe").pipe(
  Command.withDescription("Video on demand: turn video files into adaptive-bitrate MPEG-DASH"),
  Command.withSubcommands([processCommand, serveCommand, submitCommand, workerCommand, fleetCommand, statusCommand, sampleCommand, playCommand, demoCommand])
)

// Logs go to stderr: stdout carries results (and `--json`).
const logging = Layer.mergeAll(
  Logger.layer([Logger.withConsoleError(Logger.formatSimple)]),
  logLevelLayer("Warn")
)

const program = vidpipe.pipe(
  Command.run({ version: "0.1.0" }),
  Effect.provide(Layer.mergeAll(NodeServices.layer, logging))
)

// Our own main loop rather than NodeRuntime.runMain: SIGTERM must be able to drain a worker
// instead of interrupting it.
const fiber = Effect.runFork(program)
const interrupt = () => fiber.interruptUnsafe(fiber.id)
process.on("SIGINT", interrupt)
process.on("SIGTERM", () => onSigterm(interrupt))
fiber.addObserver((exit) => {
  const code = Exit.isSuccess(exit) ? (process.exitCode ?? 0) : Exit.hasInterrupts(exit) ? 130 : 1
  process.exit(code)
})
