/**
 * `vidpipe`'s entry point. Node's compile cache (on disk, in the system's temporary folder)
 * keeps the compiled code of the few hundred modules the CLI loads, so every later start skips
 * compiling them (about 0.1 s of the 0.4 s start-up on the machines here). It must be on before
 * they load, hence the dynamic import.
 */
import * as nodeModule from "node:module"

nodeModule.enableCompileCache?.()
await import("./vidpipe.ts")
