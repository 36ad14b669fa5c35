import { it } from "vitest"

it("passes, but leaves a promise rejected with nobody listening", async () => {
  void Promise.reject(new Error("nobody handles this"))
  await new Promise((resolve) => setTimeout(resolve, 50))
})
