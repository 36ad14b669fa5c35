import { beforeAll, it } from "vitest"

beforeAll(() => {
  throw new Error("the setup fails")
})
it("needs the setup (1)", () => undefined)
it("needs the setup (2)", () => undefined)
