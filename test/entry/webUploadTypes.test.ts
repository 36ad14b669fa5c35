/**
 * The web app's reading of the multipart upload API (web/types.ts) fits the API's own answers
 * (Api.ts), as test/entry/webAssets.test.ts checks for the job views: a renamed or retyped field
 * fails the type check here instead of the page at run time.
 */
import { describe, expectTypeOf, it } from "@effect/vitest"
import type { CreatedJob as ApiCreatedJob, PartUrls, UploadProgress } from "../../src/entry/http/api/Api.ts"
import type { CreatedJob, PartUrlList, StoredUpload } from "../../src/entry/http/web/types.ts"

describe("the web app's reading of the upload API (web/types.ts)", () => {
  it("fits the API's answers", () => {
    expectTypeOf<typeof ApiCreatedJob.Encoded>().toExtend<CreatedJob>()
    expectTypeOf<typeof PartUrls.Encoded>().toExtend<PartUrlList>()
    expectTypeOf<typeof UploadProgress.Encoded>().toExtend<StoredUpload>()
  })
})
