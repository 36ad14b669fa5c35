/**
 * This process's default identity: host name and pid, unique on a host and readable in logs. The
 * one default for a worker's id, a queue consumer's name and a local fleet member (a deployment
 * names instances with VIDPIPE_INSTANCE_ID instead, `instanceIdConfig`).
 */
import * as os from "node:os"

export const thisProcessId = () => `${os.hostname()}-${process.pid}`
