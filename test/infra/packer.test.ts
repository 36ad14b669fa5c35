/**
 * The worker AMI's definition, checked offline:
 * - `packer validate` and `packer fmt -check` on packer/ with Debian's Packer (1.6.6: HCL2 with the
 *   built-in amazon-ebs builder; validation resolves every variable, the provisioners' files and
 *   the builder's settings, but contacts no AWS API);
 * - `systemd-analyze verify` on the worker unit. verify also checks that the ExecStart program
 *   exists; on the AMI that is /usr/local/bin/node (provision.sh links it), which this machine does
 *   not have. So a copy of the unit is verified with only that path replaced by the same program
 *   here (this Node 22); every other line is verified as written. provision.sh runs the same
 *   verify on the real path during the AMI build;
 * - no lifecycle watcher: the worker process completes the termination hook itself with the SDK
 *   (src/programs/terminationHook.ts), because snap's AWS CLI cannot run in a sandboxed unit;
 * - the numbers that must agree across the unit, the CLI and infra/fleet.ts (drain timeout < stop
 *   timeout < lifecycle hook heartbeat), and the shell scripts' syntax.
 */
import { execFileSync, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { drainTimeoutSeconds, lifecycleHeartbeatSeconds, stopTimeoutSeconds, workerUserData } from "../../infra/fleet.ts"

const repo = path.resolve(import.meta.dirname, "../..")
const packerDir = path.join(repo, "packer")
const workDir = fs.mkdtempSync(path.join(os.tmpdir(), "vidpipe-packer-"))
afterAll(() => fs.rmSync(workDir, { recursive: true, force: true }))

const run = (command: string, args: ReadonlyArray<string>, cwd = repo) => {
  // No Packer checkpoint (version check) call: nothing leaves this machine.
  const result = spawnSync(command, args, { cwd, encoding: "utf8", env: { ...process.env, CHECKPOINT_DISABLE: "1" } })
  if (result.error !== undefined) throw result.error
  return { status: result.status, out: `${result.stdout}${result.stderr}`.trim(), stderr: result.stderr.trim() }
}

/** `Key=value` lines of a unit's [Service] section (last one wins, like systemd). */
const directives = (unit: string) =>
  Object.fromEntries(unit.split("\n").map((line) => line.trim()).filter((line) => /^[A-Za-z]+=/.test(line)).map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]))

const workerUnit = fs.readFileSync(path.join(packerDir, "files/vidpipe-worker.service"), "utf8")

describe("packer template", () => {
  it("passes packer validate and packer fmt -check (Packer 1.6.6)", () => {
    const version = run("packer", ["version"])
    expect(version.status).toBe(0)
    // The app archive exactly as packer/build.sh makes it.
    const archive = path.join(workDir, "vidpipe-app.tar.gz")
    execFileSync("git", ["archive", "--format=tar.gz", "-o", archive, "HEAD", "package.json", "package-lock.json", "src"], { cwd: repo })
    const validate = run("packer", ["validate", "-var", `app_archive=${archive}`, "packer/"])
    // Packer 1.6.6 says nothing when the configuration is valid (newer versions print a line).
    expect(validate.status, validate.out).toBe(0)
    expect(validate.out).toMatch(/^(|The configuration is valid\.?)$/)
    const fmt = run("packer", ["fmt", "-check", "packer/"])
    expect(fmt.status, fmt.out).toBe(0)
    // A missing app archive is refused by validation, not discovered mid-build.
    const missing = run("packer", ["validate", "-var", `app_archive=${path.join(workDir, "absent.tar.gz")}`, "packer/"])
    expect(missing.status).not.toBe(0)
    expect(missing.out).toContain("absent.tar.gz")
  })

  it("builds from Canonical's Ubuntu 24.04 with the Node release the repository pins", () => {
    const template = fs.readFileSync(path.join(packerDir, "worker.pkr.hcl"), "utf8")
    expect(template).toContain('default     = "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-*"')
    expect(template).toContain('default     = "099720109477"')
    const pkg = JSON.parse(fs.readFileSync(path.join(repo, "package.json"), "utf8"))
    expect(template).toContain(`default     = "${pkg.devDependencies.node}"`)
    expect(pkg.devDependencies.node).toMatch(/^22\./)
  })

  it("has provisioning and helper scripts that bash accepts", () => {
    for (const script of ["provision.sh", "build.sh"]) {
      const check = run("bash", ["-n", path.join(packerDir, script)])
      expect(check.status, `${script}: ${check.out}`).toBe(0)
    }
    const userData = path.join(workDir, "user-data.sh")
    fs.writeFileSync(userData, workerUserData({
      region: "us-east-1",
      environment: { VIDPIPE_QUEUE: "sqs://sqs.us-east-1.amazonaws.com/123456789012/q.fifo" },
      redisUrlParameter: "/vidpipe/test/redis-url",
      lifecycleHookName: "drain"
    }))
    const check = run("bash", ["-n", userData])
    expect(check.status, check.out).toBe(0)
    const provision = fs.readFileSync(path.join(packerDir, "provision.sh"), "utf8")
    expect(provision).toContain('ln -sfn "/opt/node/bin/$tool" "/usr/local/bin/$tool"')
    expect(provision).toContain("systemd-analyze verify vidpipe-worker.service\n")
  })

  it("installs no lifecycle watcher: the worker completes the termination hook itself", () => {
    // Only the worker's unit ships; nothing on the AMI runs the snap CLI under systemd.
    expect(fs.readdirSync(path.join(packerDir, "files"))).toEqual(["vidpipe-worker.service"])
    const provision = fs.readFileSync(path.join(packerDir, "provision.sh"), "utf8")
    expect(provision).not.toMatch(/lifecycle-watch|vidpipe-lifecycle/)
    expect(workerUnit).not.toContain("/snap/bin/aws")
    // The worker reads the hook's name from its environment file.
    const workerCommand = fs.readFileSync(path.join(repo, "src/entry/cli/workerCommand.ts"), "utf8")
    expect(workerCommand).toContain('Config.String("VIDPIPE_LIFECYCLE_HOOK")')
    expect(directives(workerUnit)["EnvironmentFile"]).toBe("/etc/vidpipe/worker.env")
  })
})

describe("systemd units", () => {
  /** Verifies a copy of `unit` with `from` (its ExecStart program on the AMI) replaced by `to`. */
  const verify = (name: string, unit: string, from: string, to: string) => {
    expect(unit).toContain(`ExecStart=${from}`)
    fs.accessSync(to, fs.constants.X_OK)
    const copy = path.join(workDir, name)
    fs.writeFileSync(copy, unit.replace(`ExecStart=${from}`, `ExecStart=${to}`))
    const result = run("systemd-analyze", ["verify", copy])
    // verify exits 0 on some warnings (an unknown key is only "ignoring"): any output is a failure.
    expect(result.out, result.out).toBe("")
    expect(result.status).toBe(0)
  }

  it("the worker unit passes systemd-analyze verify", () => {
    verify("vidpipe-worker.service", workerUnit, "/usr/local/bin/node", process.execPath)
  })

  it("a broken unit does fail the check", () => {
    const copy = path.join(workDir, "broken.service")
    fs.writeFileSync(copy, workerUnit.replace("/usr/local/bin/node", process.execPath).replace("Restart=on-failure", "Restart=sometimes"))
    // Exit status 0 ("ignoring"), which is why the checks above require silence.
    expect(run("systemd-analyze", ["verify", copy]).out).toMatch(/broken\.service:\d+: Failed to parse service restart specifier/)
  })

  it("the worker restarts on failure, drains on SIGTERM and gets longer to stop than its drain", () => {
    const service = directives(workerUnit)
    expect(service["Restart"]).toBe("on-failure")
    expect(service["KillSignal"]).toBe("SIGTERM")
    // SIGTERM to the worker only: its ffmpeg children keep encoding while it drains.
    expect(service["KillMode"]).toBe("mixed")
    expect(service["User"]).toBe("vidpipe")
    expect(service["EnvironmentFile"]).toBe("/etc/vidpipe/worker.env")
    expect(service["ExecStart"]).toBe(`/usr/local/bin/node /opt/vidpipe/src/entry/cli/main.ts worker --drain-timeout ${drainTimeoutSeconds}`)
    expect(fs.existsSync(path.join(repo, "src/entry/cli/main.ts"))).toBe(true)
    expect(service["TimeoutStopSec"]).toBe(String(stopTimeoutSeconds))
    expect(stopTimeoutSeconds).toBeGreaterThan(drainTimeoutSeconds)
    expect(lifecycleHeartbeatSeconds).toBeGreaterThan(stopTimeoutSeconds)
    // The CLI's own default drain is the same number, so a manual `vidpipe worker` behaves alike.
    const workerCommand = fs.readFileSync(path.join(repo, "src/entry/cli/workerCommand.ts"), "utf8")
    expect(workerCommand).toMatch(new RegExp(`Flag\\.Finite\\("drain-timeout"\\)[\\s\\S]*?Flag\\.withDefault\\(${drainTimeoutSeconds}\\)`))
  })
})
