// @ts-check
// The rung an HLS media playlist belongs to. vidpipe writes each rung's playlist in the rung's
// folder ("video/720p/index.m3u8"), whose name is also the MPD's Representation@id ("720p"), so
// both formats show the same quality names.

/**
 * @param {string | null | undefined} uri a media playlist's URI, absolute or relative
 * @returns {string | undefined} the folder it is in, or undefined when it is not a playlist URI
 */
export const playlistRung = (uri) => {
  const folder = uri ? /([^/]+)\/[^/?#]+\.m3u8(?:[?#].*)?$/.exec(uri) : null
  return folder && folder[1] ? decodeURIComponent(folder[1]) : undefined
}
