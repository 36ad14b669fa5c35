/**
 * A stand-in `ffmpeg` for end-to-end fault tests: a folder to put first on a process's PATH whose
 * `ffmpeg` runs the real one, except for calls whose arguments contain every string of `match`
 * while the fault file exists. The fault file says what such a call does:
 *   "crash": SIGKILLs the process that started ffmpeg (the worker), as an OOM kill would;
 *   "fail":  exits 1 with a message on stderr, as a failing encoder would (retryable).
 * Removing the file (`clear()`) removes the fault: the same calls then run the real ffmpeg.
 */
import { execFileSync } from "node:child_process"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"

export type FfmpegFault = "crash" | "fail"

export interface FaultyFfmpeg {
  /** Put this first on PATH. */
  readonly binDir: string
  /** The PATH to give a child process. */
  readonly path: string
  readonly set: (fault: FfmpegFault) => Promise<void>
  readonly clear: () => Promise<void>
  readonly close: () => Promise<void>
}

const shellQuote = (value: string) => `'${value.replace(/'/g, `'\\''`)}'`

export const makeFaultyFfmpeg = async (match: ReadonlyArray<string>, initial?: FfmpegFault): Promise<FaultyFfmpeg> => {
  const binDir = await fs.mkdtemp(path.join(os.tmpdir(), "vidpipe-faulty-ffmpeg-"))
  const faultFile = path.join(binDir, "fault")
  const realFfmpeg = execFileSync("sh", ["-c", "command -v ffmpeg"], { encoding: "utf8" }).trim()
  const checks = match.map((needle) => `case " $* " in *${shellQuote(needle)}*) ;; *) matched=no ;; esac`).join("\n")
  const script = `#!/bin/sh
matched=yes
${checks}
if [ "$matched" = yes ] && [ -e ${shellQuote(faultFile)} ]; then
  if [ "$(cat ${shellQuote(faultFile)})" = crash ]; then
    kill -9 "$PPID"
    exit 137
  fi
  echo "simulated encoder failure (fault injected by the test)" >&2
  exit 1
fi
exec ${shellQuote(realFfmpeg)} "$@"
`
  await fs.writeFile(path.join(binDir, "ffmpeg"), script, { mode: 0o755 })
  const set = (fault: FfmpegFault) => fs.writeFile(faultFile, fault)
  if (initial !== undefined) await set(initial)
  return {
    binDir,
    path: `${binDir}${path.delimiter}${process.env["PATH"] ?? ""}`,
    set,
    clear: () => fs.rm(faultFile, { force: true }),
    close: () => fs.rm(binDir, { recursive: true, force: true })
  }
}
