/**
 * `vidpipe play [folder]`: serves presentations on this machine and prints the player link.
 */
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { Console, Effect } from "effect"
import { masterPlaylistName } from "../../domain/Hls.ts"
import { Argument, Command, Flag } from "effect/cli"
import { startPresentationServer } from "../http/presentationServer.ts"
import { InvalidOption } from "./InvalidOption.ts"
import { reportingFailures } from "./runCommand.ts"

export const playCommand = Command.make(
  "play",
  {
    folder: Argument.String("folder").pipe(
      Argument.withDescription("A presentation folder (with manifest.mpd) or a folder of them"),
      Argument.withDefault("out")
    ),
    port: Flag.Int("port").pipe(Flag.withDescription("Port to listen on (0 picks a free one)"), Flag.withDefault(8080)),
    host: Flag.String("host").pipe(Flag.withDescription("Address to listen on"), Flag.withDefault("127.0.0.1"))
  },
  ({ folder, host, port }) =>
    Effect.gen(function*() {
      const root = path.resolve(folder)
      const isFolder = yield* Effect.promise(() => fs.stat(root).then((s) => s.isDirectory(), () => false))
      if (!isFolder) return yield* new InvalidOption({ reason: `${folder} is not a folder; pass the --out folder of vidpipe process` })
      const hasManifest = yield* Effect.promise(() => fs.access(path.join(root, "manifest.mpd")).then(() => true, () => false))
      const base = yield* startPresentationServer({ root, port, host, logAddress: false })
      yield* Console.log(hasManifest ? `playing ${root}` : `serving the presentations under ${root}`)
      yield* Console.log(`open ${base}${hasManifest ? `/player?src=${encodeURIComponent("/manifest.mpd")}` : "/"}`)
      const hasHls = hasManifest && (yield* Effect.promise(() => fs.access(path.join(root, masterPlaylistName)).then(() => true, () => false)))
      if (hasHls) yield* Console.log(`HLS ${base}/player?engine=hlsjs&src=${encodeURIComponent(`/${masterPlaylistName}`)}`)
      yield* Console.log("(Ctrl-C to stop)")
      return yield* Effect.never
    }).pipe(Effect.scoped, reportingFailures({ json: false }))
).pipe(Command.withDescription("Serve presentations locally and play them in a browser (dash.js, Shaka or hls.js)"))
