// dash.js glue for the /player page (see playerPage.ts for the variables it
// may use: video, state, report, describeMediaError, setRepresentations and
// the `selectEngine` hook it must assign).
import { createRequire } from "node:module"

export const dashJsRoute = "/_player/dash.all.min.js"

// The package's "require" export condition is the UMD bundle (defines
// `window.dashjs`); the "import" one is ESM and would need a module loader.
export const dashJsFile: string = createRequire(import.meta.url).resolve("dashjs")

export const dashJsGlue = `
  if (typeof dashjs === "undefined") { report("dash.js failed to load"); return; }

  var player = dashjs.MediaPlayer().create();
  var events = dashjs.MediaPlayer.events;
  state.player = player;

  selectEngine = function (id) {
    var auto = id === "auto";
    player.updateSettings({ streaming: { abr: { autoSwitchBitrate: { video: auto } } } });
    if (!auto) player.setRepresentationForTypeById("video", id, true);
  };

  player.on(events.ERROR, function (e) {
    var err = e && e.error;
    report("dash.js error " + (err ? err.code + ": " + err.message : String(e)));
  });
  player.on(events.PLAYBACK_ERROR, function (e) { report("playback error " + describeMediaError(e.error)); });

  player.on(events.STREAM_INITIALIZED, function () {
    setRepresentations(player.getRepresentationsByType("video").map(function (r) {
      return { id: r.id, width: r.width, height: r.height, bandwidth: r.bandwidth };
    }));
    state.ready = true;
  });
  // Rendered, not just requested: fires once the new quality is on screen.
  player.on(events.QUALITY_CHANGE_RENDERED, function (e) {
    if (e.mediaType === "video" && e.newRepresentation) state.currentRepresentation = e.newRepresentation.id;
  });

  player.initialize(video, state.src, true);
`
