// Headless playback checks with Debian's Chromium (never a downloaded browser).
// Debian's build plays H.264/AAC in MSE through its system ffmpeg.
import { chromium, type Browser, type Page } from "playwright-core"
import type { PlayerEngineName, PlayerPageState } from "../../src/entry/http/web/types.ts"

export const chromiumExecutable = "/usr/bin/chromium"

export const chromiumArgs: ReadonlyArray<string> = [
  "--headless",
  "--no-sandbox", // containers/CI usually lack the user namespaces the sandbox needs
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--no-first-run",
  "--disable-quic",
  "--disable-sync",
  "--autoplay-policy=no-user-gesture-required"
]

export const launchChromium = (): Promise<Browser> =>
  chromium.launch({ executablePath: chromiumExecutable, args: [...chromiumArgs] })

export interface PlaybackResult {
  /** Engine the page actually ran (`window.__player.engine`). */
  readonly engine: string | null
  readonly currentTime: number
  readonly videoWidth: number
  readonly videoHeight: number
  /** From `window.__player.errors` (engine, playback and page errors). */
  readonly errors: ReadonlyArray<string>
  readonly representations: ReadonlyArray<{ id: string; width: number; height: number; bandwidth: number }>
  readonly currentRepresentation: string | null
  /** With `switchDown`: the representation pinned and on screen before the switch. */
  readonly switchedFrom?: string | null
}

export interface PlayDashOptions {
  readonly minAdvanceSeconds?: number
  readonly timeoutMs?: number
  /** Pin this video representation id (via the quality selector) instead of ABR. */
  readonly representation?: string
  /**
   * A quality switch down: pin the highest-bandwidth representation and wait until it is on screen
   * at its size, then pin the lowest one and wait for that (the usual wait below). Adaptation on
   * loopback only ever climbs, so a pin that did nothing cannot pass the second step.
   * The result's `switchedFrom` is the first one.
   */
  readonly switchDown?: boolean
  /** Player engine (`&engine=` on the page URL); the page defaults to dash.js. */
  readonly engine?: PlayerEngineName
  /** Seek here (seconds) once the player is ready, and count `minAdvanceSeconds` from it. */
  readonly startAt?: number
  /** Open the page in this browser (a fresh page, closed after) instead of launching one. */
  readonly browser?: Browser
}

// Runs in the page: keep it self-contained (no closures over Node values).
const snapshot = (page: Page): Promise<PlaybackResult & { readonly readyState: number }> =>
  page.evaluate(() => {
    const video = document.querySelector("video")
    const state = (window as unknown as { __player?: Partial<PlaybackResult> }).__player
    return {
      engine: state?.engine ?? null,
      currentTime: video?.currentTime ?? 0,
      videoWidth: video?.videoWidth ?? 0,
      videoHeight: video?.videoHeight ?? 0,
      readyState: video?.readyState ?? 0,
      errors: [...(state?.errors ?? ["window.__player missing"])],
      representations: [...(state?.representations ?? [])],
      currentRepresentation: state?.currentRepresentation ?? null
    }
  })

/** `playerUrl` with `engine=` set, when an engine is asked for. */
export const withEngine = (playerUrl: string, engine: PlayerEngineName | undefined): string => {
  if (engine === undefined) return playerUrl
  const url = new URL(playerUrl)
  url.searchParams.set("engine", engine)
  return url.toString()
}

/**
 * Opens the /player page at `playerUrl` (with `options.engine`) and waits until the video has played
 * `minAdvanceSeconds` (on `representation`, when given), returning early if
 * the player reports errors.
 * Throws (with the last observed state) when it times out.
 */
export const playDash = async (playerUrl: string, options: PlayDashOptions = {}): Promise<PlaybackResult> => {
  const minAdvanceSeconds = options.minAdvanceSeconds ?? 2
  const timeoutMs = options.timeoutMs ?? 30_000
  const browser = options.browser ?? await launchChromium()
  const page = await browser.newPage()
  try {
    await page.goto(withEngine(playerUrl, options.engine), { waitUntil: "load", timeout: timeoutMs })
    let start = await page.evaluate(() => document.querySelector("video")?.currentTime ?? 0)
    let representation = options.representation ?? null
    let switchedFrom: string | null = null
    try {
      if (representation !== null || options.startAt !== undefined || options.switchDown === true) {
        await page.waitForFunction(() => {
          const state = (window as unknown as { __player?: PlayerPageState }).__player
          return state !== undefined && (state.playerReady || state.errors.length > 0)
        }, undefined, { timeout: timeoutMs, polling: 50 })
      }
      if (options.switchDown === true) {
        const byBandwidth = await page.evaluate(() =>
          [...(window as unknown as { __player: PlayerPageState }).__player.representations].sort((a, b) => b.bandwidth - a.bandwidth).map((r) => r.id)
        )
        const [top, bottom] = [byBandwidth[0] ?? null, byBandwidth.at(-1) ?? null]
        await page.evaluate((id) => (window as unknown as { __player: PlayerPageState }).__player.select(id ?? "auto"), top)
        await page.waitForFunction((id) => {
          const state = (window as unknown as { __player?: PlayerPageState }).__player
          const wanted = state?.representations.find((r) => r.id === id)
          return (state?.errors.length ?? 0) > 0 ||
            (state?.currentRepresentation === id && document.querySelector("video")?.videoWidth === wanted?.width)
        }, top, { timeout: timeoutMs, polling: 50 })
        switchedFrom = top
        start = await page.evaluate(() => document.querySelector("video")?.currentTime ?? 0)
        representation = bottom
      }
      if (representation !== null) {
        await page.evaluate((id) => (window as unknown as { __player: PlayerPageState }).__player.select(id), representation)
      }
      if (options.startAt !== undefined) {
        start = await page.evaluate((at) => {
          const video = document.querySelector("video")
          if (video !== null) video.currentTime = at
          return at
        }, options.startAt)
      }
      await page.waitForFunction(
        ({ target, representation }) => {
          const video = document.querySelector("video")
          const state = (window as unknown as { __player?: PlayerPageState }).__player
          if ((state?.errors.length ?? 0) > 0) return true
          // The rendered-quality event can precede the first frame of the new size.
          const wanted = state?.representations.find((r) => r.id === representation)
          const pinned = representation === null ||
            (state?.currentRepresentation === representation && video?.videoWidth === wanted?.width)
          return video !== null && video.currentTime >= target && pinned
        },
        { target: start + minAdvanceSeconds, representation },
        { timeout: timeoutMs, polling: 100 }
      )
    } catch (cause) {
      const last = await snapshot(page).catch(() => undefined)
      throw new Error(`playback did not advance ${minAdvanceSeconds}s within ${timeoutMs}ms: ${JSON.stringify(last)}`, {
        cause
      })
    }
    const { readyState: _readyState, ...result } = await snapshot(page)
    return { ...result, switchedFrom }
  } finally {
    await page.close()
    if (options.browser === undefined) await browser.close()
  }
}
