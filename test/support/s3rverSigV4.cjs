// Test peer: @20minutes/s3rver on 127.0.0.1 with SigV4 checks usable by AWS SDK v3 path-style
// requests. Run with: node --openssl-legacy-provider s3rverSigV4.cjs PORT DATA_DIR
// Fix 1 (no node_modules edit): SDK v3 signs bucket-level requests as "/bucket/" but s3rver
//   canonicalises them as "/bucket" -> SignatureDoesNotMatch on CreateBucket/ListObjectsV2/DeleteObjects.
//   We wrap s3rver's authentication middleware (via require.cache, before s3rver loads its routes)
//   so the canonical URI keeps the trailing slash.
// Fix 2: ListObjectsV2 continuation tokens use DES -> needs --openssl-legacy-provider on Node >= 17.
const path = require("node:path");
const fs = require("node:fs");
const os = require("node:os");
const base = require.resolve("@20minutes/s3rver");
const authPath = path.join(path.dirname(base), "middleware", "authentication.js");
const original = require(authPath);
require.cache[authPath].exports = () => {
  const mw = original();
  return function authentication(ctx, next) {
    if (ctx.params.bucket && !ctx.params.key && ctx.path.endsWith("/")) {
      const bucket = ctx.params.bucket;
      ctx.params.bucket = bucket + "/";
      return mw(ctx, () => { ctx.params.bucket = bucket; return next(); });
    }
    return mw(ctx, next);
  };
};
const S3rver = require(base);
const port = Number(process.argv[2] ?? 0);
const dir = process.argv[3] ?? fs.mkdtempSync(path.join(os.tmpdir(), "vidpipe-s3rver-"));
const server = new S3rver({ port, address: "127.0.0.1", silent: true, directory: dir, resetOnClose: true });
server.run().then((address) => console.log(`s3rver listening ${address.port}`));
const stop = () => server.close().then(() => process.exit(0), () => process.exit(1));
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
// Stop with the test process even if it dies without killing us.
process.on("disconnect", stop);
