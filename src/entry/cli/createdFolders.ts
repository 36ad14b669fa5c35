/**
 * Folders a command may create and should not leave behind: those of `folders` (and their
 * parents) that do not exist when it starts are removed again when it ends, if they are empty
 * then. `keepOnSuccess` folders stay when the command succeeds (the presentation it wrote).
 */
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { Effect, Exit } from "effect"

/** `folder` and each parent of it that does not exist yet, deepest first. */
const missingChain = async (folder: string): Promise<ReadonlyArray<string>> => {
  const missing: Array<string> = []
  for (let current = path.resolve(folder); current !== path.dirname(current); current = path.dirname(current)) {
    if (await fs.stat(current).then(() => true, () => false)) break
    missing.push(current)
  }
  return missing
}

const removeIfEmpty = (folders: ReadonlyArray<string>) =>
  Effect.promise(async () => {
    // Deepest first, so a parent is empty by the time it is tried.
    for (const folder of [...folders].sort((a, b) => b.length - a.length)) await fs.rmdir(folder).catch(() => undefined)
  })

export const removingCreatedFolders = (folders: { readonly always: ReadonlyArray<string>; readonly keepOnSuccess: ReadonlyArray<string> }) =>
<A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.acquireUseRelease(
    Effect.promise(async () => ({
      always: (await Promise.all(folders.always.map(missingChain))).flat(),
      keepOnSuccess: (await Promise.all(folders.keepOnSuccess.map(missingChain))).flat()
    })),
    () => effect,
    (missing, exit) => removeIfEmpty(Exit.isSuccess(exit) ? missing.always : [...missing.always, ...missing.keepOnSuccess])
  )
