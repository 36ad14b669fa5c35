/**
 * `vidpipe demo`: makes a sample clip, processes it, and says where the result is and how to watch it.
 */
import * as path from "node:path"
import { Console, Effect } from "effect"
import { Command } from "effect/cli"
import { processPresentation } from "./processCommand.ts"
import { reportingFailures } from "./runCommand.ts"
import { writeSample } from "./sampleCommand.ts"

export const demoCommand = Command.make("demo", {}, () =>
  Effect.gen(function*() {
    const clip = path.join("out", "demo-sample.mp4")
    yield* Console.log(`making a 12 s 1280x720 sample clip: ${clip}`)
    yield* writeSample({ out: clip, duration: 12, size: "1280x720", fps: "30", audioChannels: 2, sampleRate: 48000 })
    const result = yield* processPresentation({ input: clip, out: path.join("out", "demo"), ladder: undefined, json: false })
    yield* Console.log("")
    yield* Console.log("Watch it in a browser (dash.js player, quality selector):")
    yield* Console.log(`  npm run vidpipe -- play ${path.relative(process.cwd(), path.dirname(result.manifest))}`)
    yield* Console.log("or with any DASH player, e.g.:")
    yield* Console.log(`  ffplay ${result.manifest}`)
  }).pipe(reportingFailures({ json: false }))
).pipe(Command.withDescription("Make a sample clip, process it, and show how to watch the result"))
