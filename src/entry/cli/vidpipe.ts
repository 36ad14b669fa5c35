/**
 * The `vidpipe` command line (started through `main.ts`).
 */
import * as NodeServices from "@effect/platform-node/NodeServices"
import { Effect, Exit, Layer, Logger } from "effect"
import { Command } from "effect/cli"
import { onSigterm } from "./signals.ts"
import { logLevelLayer } from "./cliConfig.ts"

/**
 * Each subcommand's module, loaded on demand: a command's imports (HTTP server, Redis, the AWS
 * SDK) are most of the start-up, and `vidpipe process` should not pay for `serve`'s.
 */
const subcommands = {
  process: () => import("./processCommand.ts").then((m) => m.processCommand),
  serve: () => import("./serveCommand.ts").then((m) => m.serveCommand),
  submit: () => import("./submitCommand.ts").then((m) => m.submitCommand),
  worker: () => import("./workerCommand.ts").then((m) => m.workerCommand),
  fleet: () => import("./fleetCommand.ts").then((m) => m.fleetCommand),
  status: () => import("./statusCommand.ts").then((m) => m.statusCommand),
  sample: () => import("./sampleCommand.ts").then((m) => m.sampleCommand),
  play: () => import("./playCommand.ts").then((m) => m.playCommand),
  demo: () => import("./demoCommand.ts").then((m) => m.demoCommand)
}
const isSubcommand = (name: string | undefined): name is keyof typeof subcommands => name !== undefined && Object.hasOwn(subcommands, name)

// The named subcommand alone when the first argument names one; every one otherwise (help, version, a typo).
const requested = process.argv[2]
const loaded = await Promise.all(
  (isSubcommand(requested) ? [subcommands[requested]] : Object.values(subcommands)).map((load) => load())
)

const vidpipe = Command.make("vidpipe").pipe(
  Command.withDescription("Video on demand: turn video files into adaptive-bitrate MPEG-DASH"),
  Command.withSubcommands(loaded)
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
