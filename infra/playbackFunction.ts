/**
 * Signed playback at the edge: a CloudFront Function (viewer request) that admits only
 * `/_t/<token>/<jobId>/…`, checks the token exactly as `vidpipe serve` does
 * (src/entry/http/playbackToken.ts: HMAC-SHA256 of `<jobId>\n<expires ms>` with the shared secret,
 * `<expires base 36>.<hex>`), and rewrites the URI to `/<jobId>/…` before the cache lookup, so
 * every viewer's token shares one cached copy of each segment. Anything else is answered 403.
 *
 * Why not CloudFront signed URLs or cookies with a key group: a signed URL's signature is its query
 * string, and players resolve the manifest's relative segment URLs without it; signed cookies reach
 * the distribution only from a page on its own site. A token in the path travels with every
 * relative URL, in every player.
 *
 * The code is what CloudFront runs: "cloudfront-js-2.0", whose `crypto` module has `createHmac`
 * ("hmac.digest() – Return type is changed to Buffer if no encoding is provided", CloudFront
 * Developer Guide, JavaScript runtime features): the digest is asked for as hex. `const`/`let` are
 * avoided (runtime 1.0 has neither), so the code runs on either runtime.
 */

export const playbackFunctionRuntime = "cloudfront-js-2.0"

/** The function's source, with the secret in it (CloudFront Functions have no environment). */
export const playbackFunctionCode = (secret: string) => `var crypto = require('crypto');
var SECRET = ${JSON.stringify(secret)};
function refuse(message) {
  return { statusCode: 403, statusDescription: 'Forbidden', headers: { 'content-type': { value: 'application/json' }, 'cache-control': { value: 'no-store' } },
    body: JSON.stringify({ error: { _tag: 'PlaybackForbidden', message: message } }) };
}
function handler(event) {
  var request = event.request;
  if (request.method === 'OPTIONS') return request;
  var match = /^\\/_t\\/([0-9a-z]{1,12})\\.([0-9a-f]{64})\\/([^\\/.][^\\/]*)(\\/.*)$/.exec(request.uri);
  if (!match) return refuse('playback needs a token: ask the API for the job\\'s playback URL');
  var expires = parseInt(match[1], 36);
  var expected = crypto.createHmac('sha256', SECRET).update(match[3] + '\\n' + expires).digest('hex');
  var same = expected.length === match[2].length;
  for (var i = 0; i < expected.length; i++) if (expected.charCodeAt(i) !== match[2].charCodeAt(i)) same = false;
  if (!same) return refuse('the playback token is not valid for this job');
  if (Date.now() >= expires) return refuse('the playback token has expired: ask the API for the job again');
  request.uri = '/' + match[3] + match[4];
  return request;
}
`
