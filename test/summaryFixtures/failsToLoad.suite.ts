import { it } from "vitest"

// The module throws while it is collected: no test of it ever runs.
throw new Error("this suite fails to load")

it("is never collected", () => undefined)
