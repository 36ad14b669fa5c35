// CSS of the web app page (see webApp.ts): plain, light, two columns (work area and the
// list of jobs) that fit a 1100x750 window, one column on narrow screens.
export const webAppStyle = `
  :root {
    --fg: #1d232b; --muted: #5b6572; --line: #d6dbe1; --bg: #f4f6f8; --card: #fff;
    --accent: #1f5fbf; --accent-fg: #fff; --ok: #1d7a3a; --bad: #b3261e; --warn: #8a5a00;
    font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; font-size: 15px;
    color: var(--fg); background: var(--bg);
  }
  * { box-sizing: border-box; }
  [hidden] { display: none !important; }
  body { margin: 0; }
  h1, h2 { margin: 0; font-weight: 600; }
  h1 { font-size: 1.25rem; }
  h2 { font-size: 1.05rem; }
  button, input, select { font: inherit; }
  button {
    border: 1px solid var(--line); background: var(--card); color: var(--fg);
    border-radius: 6px; padding: .3rem .75rem; cursor: pointer;
  }
  button:hover:not(:disabled) { border-color: #9aa4b1; }
  button:disabled { opacity: .55; cursor: default; }
  button.primary { background: var(--accent); color: var(--accent-fg); border-color: var(--accent); }
  button.danger { color: var(--bad); }
  button.danger.armed { background: var(--bad); color: #fff; border-color: var(--bad); }
  :focus-visible { outline: 3px solid #7aa7ea; outline-offset: 1px; }
  input[type=text], input[type=password] {
    border: 1px solid var(--line); border-radius: 6px; padding: .3rem .5rem; background: #fff; color: var(--fg);
  }
  input[aria-invalid=true] { border-color: var(--bad); }
  progress { appearance: none; -webkit-appearance: none; height: .7rem; width: 100%; border: 0; border-radius: 4px; background: #e3e7ec; overflow: hidden; }
  progress::-webkit-progress-bar { background: #e3e7ec; border-radius: 4px; }
  progress::-webkit-progress-value { background: var(--accent); border-radius: 4px; }
  progress.done::-webkit-progress-value { background: var(--ok); }
  progress.failed::-webkit-progress-value { background: var(--bad); }
  progress::-moz-progress-bar { background: var(--accent); }
  .sr-only { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
  .hint, .meta { color: var(--muted); font-size: .85rem; }
  .message { margin: .4rem 0 0; min-height: 0; }
  .message:empty { display: none; }
  .message.error { color: var(--bad); }
  .message.info { color: var(--muted); }
  code { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: .85em; }

  header.top {
    display: flex; flex-wrap: wrap; align-items: center; gap: .5rem 1.5rem;
    padding: .6rem 1rem; background: var(--card); border-bottom: 1px solid var(--line);
  }
  .key { display: flex; align-items: center; gap: .4rem; flex: 1; min-width: 20rem; }
  .key label { font-weight: 600; }
  .key input { flex: 1; max-width: 26rem; font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: .85rem; }
  header .message { flex-basis: 100%; margin: 0; }

  .layout {
    display: grid; grid-template-columns: minmax(0, 1fr) 20rem; gap: 1rem;
    padding: 1rem; max-width: 1280px; margin: 0 auto; align-items: start;
  }
  @media (max-width: 820px) { .layout { grid-template-columns: minmax(0, 1fr); } }
  .primary { display: flex; flex-direction: column; gap: 1rem; min-width: 0; }
  .card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: .8rem 1rem; }

  #upload-form { display: flex; flex-wrap: wrap; align-items: flex-end; gap: .6rem 1rem; margin-top: .6rem; }
  .field { display: flex; flex-direction: column; gap: .2rem; }
  .field label { font-size: .85rem; font-weight: 600; }
  #ladder { width: 11rem; }
  .upload-progress { display: grid; grid-template-columns: 5.5rem minmax(0, 1fr) 12rem; gap: .6rem; align-items: center; margin-top: .6rem; }
  .upload-progress span:last-child { font-variant-numeric: tabular-nums; color: var(--muted); font-size: .85rem; }

  .job-head { display: flex; align-items: center; gap: .6rem; }
  .job-head h2 { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; min-width: 0; }
  .job-head .actions { margin-left: auto; display: flex; gap: .5rem; align-items: center; white-space: nowrap; }
  .badge {
    display: inline-block; padding: .05rem .5rem; border-radius: 999px; font-size: .78rem; font-weight: 600;
    background: #e3e7ec; color: var(--muted); white-space: nowrap;
  }
  .badge.processing, .badge.running { background: #dce8fb; color: var(--accent); }
  .badge.ready, .badge.done { background: #dcf1e2; color: var(--ok); }
  .badge.failed { background: #fbe0de; color: var(--bad); }
  .badge.queued, .badge.awaiting-upload { background: #f6ecd5; color: var(--warn); }
  .overall { display: grid; grid-template-columns: 5.5rem minmax(0, 1fr) 3.5rem; gap: .6rem; align-items: center; margin: .6rem 0; }
  .overall span:last-child, td.num { font-variant-numeric: tabular-nums; text-align: right; }

  table { width: 100%; border-collapse: collapse; font-size: .9rem; }
  th, td { text-align: left; padding: .25rem .4rem; border-bottom: 1px solid var(--line); vertical-align: middle; }
  th { color: var(--muted); font-weight: 600; font-size: .8rem; }
  td.bar { width: 45%; }
  td .task-error { color: var(--bad); font-size: .8rem; }

  .player { margin-top: .8rem; }
  video { display: block; width: 100%; max-height: 22rem; background: #000; border-radius: 6px; }
  .player-bar { display: flex; align-items: center; gap: .6rem; margin-top: .4rem; flex-wrap: wrap; }
  .player-bar label { font-weight: 600; font-size: .9rem; }
  #player-status { color: var(--muted); font-size: .85rem; font-variant-numeric: tabular-nums; }
  .player-bar a { margin-left: auto; font-size: .85rem; }

  .jobs-head { display: flex; align-items: center; justify-content: space-between; }
  #jobs-list { list-style: none; margin: .6rem 0 0; padding: 0; max-height: calc(100vh - 12rem); overflow-y: auto; }
  #jobs-list li { display: flex; align-items: stretch; gap: .4rem; border-bottom: 1px solid var(--line); padding: .35rem 0; }
  #jobs-list li:last-child { border-bottom: 0; }
  .job-open {
    flex: 1; min-width: 0; text-align: left; border: 1px solid transparent; background: transparent;
    display: flex; flex-direction: column; gap: .15rem; padding: .3rem .4rem;
  }
  .job-open[aria-current=true] { background: #eef3fb; border-color: #b9cdee; }
  .job-open .name { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; font-weight: 600; }
  .job-open .line { display: flex; gap: .4rem; align-items: baseline; min-width: 0; }
  .job-open .meta { overflow: hidden; display: -webkit-box; -webkit-line-clamp: 2; -webkit-box-orient: vertical; }
  #jobs-list .danger { align-self: center; font-size: .8rem; padding: .2rem .5rem; }
  #jobs-more { margin-top: .5rem; width: 100%; }
  .empty { color: var(--muted); font-size: .9rem; }
`
