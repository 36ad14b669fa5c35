/**
 * Small pieces shared by the scripts (chaos, load). Their seeded PRNG is the simulation's
 * (`mulberry32` in src/simulation/arrivals.ts).
 */

/** An integer flag value within [min, max], or `fallback` when absent; throws with a readable message. */
export const integerOption = (name: string, raw: string | undefined, fallback: number, min: number, max: number) => {
  if (raw === undefined) return fallback
  const value = Number(raw)
  if (!/^-?\d+$/.test(raw.trim()) || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new Error(`--${name} must be an integer from ${min} to ${max} (got "${raw}")`)
  }
  return value
}
