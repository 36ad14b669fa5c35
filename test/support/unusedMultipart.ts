/**
 * The multipart calls of UploadSlots for tests about something else (the API's tenancy, CORS,
 * rate limits…) that give single PUT slots only: reaching one fails the test.
 */
import { Effect } from "effect"
import type { UploadSlotsShape } from "../../src/services/UploadSlots.ts"

const unused = (name: string) => () => Effect.die(`UploadSlots.${name} is not used by this test`)

export const unusedMultipart: Omit<UploadSlotsShape, "create"> = {
  startMultipart: unused("startMultipart"),
  signParts: unused("signParts"),
  listParts: unused("listParts"),
  completeMultipart: unused("completeMultipart"),
  abortMultipart: unused("abortMultipart")
}
