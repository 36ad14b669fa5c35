/**
 * Encoders left behind by a worker that died (SIGKILL, OOM): ffmpeg ignores SIGPIPE, so losing
 * its parent does not stop it, and it would go on burning CPU into a temporary folder nobody
 * reads. A worker starting on the same machine ends them. They are recognised by their work
 * folder (`<tmp>/vidpipe-task-*`) and by a parent that is no longer a Node process. Linux only
 * (it reads /proc); elsewhere nothing is done.
 */
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"

const workFolderMark = path.join(os.tmpdir(), "vidpipe-task-")

const readProc = (pid: string, file: string) => fs.readFile(`/proc/${pid}/${file}`, "utf8").catch(() => "")

const parentOf = async (pid: string) => (await readProc(pid, "stat")).replace(/^.*\)\s+\S+\s+/, "").split(" ")[0] ?? ""

export const reapOrphanedEncoders = async (): Promise<ReadonlyArray<number>> => {
  const entries = await fs.readdir("/proc").catch(() => [] as Array<string>)
  const reaped: Array<number> = []
  for (const pid of entries.filter((entry) => /^\d+$/.test(entry))) {
    if ((await readProc(pid, "comm")).trim() !== "ffmpeg") continue
    const args = (await readProc(pid, "cmdline")).split("\0")
    const folder = args.find((arg) => arg.startsWith(workFolderMark))
    if (folder === undefined) continue
    const parent = await parentOf(pid)
    if ((await readProc(parent, "comm")).trim() === "node") continue
    try {
      process.kill(Number(pid), "SIGKILL")
      reaped.push(Number(pid))
      await fs.rm(path.dirname(folder), { recursive: true, force: true })
    } catch {
      // gone already, or not ours to kill
    }
  }
  return reaped
}
