import { expect, it } from "vitest"

it("fails an assertion", () => expect(1).toBe(2))
