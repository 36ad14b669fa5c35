import { it } from "vitest"

it("passes", () => undefined)
it("is skipped at run time", (context) => context.skip())
