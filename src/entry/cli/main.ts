/**
 * The `vidpipe` command line.
 */
import { NodeRuntime, NodeServices } from "@effect/platform-node"
import { Effect, Layer, Logger, type LogLevel, References } from "effect"
import { Command } from "effect/cli"
import { demoCommand } from "./demoCommand.ts"
import { playCommand } from "./playCommand.ts"
import { processCommand } from "./processCommand.ts"
import { sampleCommand } from "./sampleCommand.ts"

const vidpipe = Command.make("vidpipe").pipe(
  Command.withDescription("Video on demand: turn video files into adaptive-bitrate MPEG-DASH"),
  Command.withSubcommands([processCommand, sampleCommand, playCommand, demoCommand])
)

const logLevel = (process.env["VIDPIPE_LOG_LEVEL"] ?? "Warn") as LogLevel.LogLevel
// Logs go to stderr: stdout carries results (and `--json`).
const logging = Layer.mergeAll(
  Logger.layer([Logger.withConsoleError(Logger.formatSimple)]),
  Layer.succeed(References.MinimumLogLevel, logLevel)
)

vidpipe.pipe(
  Command.run({ version: "0.1.0" }),
  Effect.provide(Layer.mergeAll(NodeServices.layer, logging)),
  NodeRuntime.runMain({ disableErrorReporting: true })
)
