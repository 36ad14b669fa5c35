/**
 * Vitest's global setup: the command line's bundle (dist/cli, scripts/buildCli.ts) is rebuilt
 * before any test starts it when a source is newer, so the tests run what `npm run vidpipe` runs,
 * from this checkout's sources, however vitest was started.
 */
import { buildCli } from "../../scripts/buildCli.ts"

export default async function setup() {
  await buildCli()
}
