/**
 * List prices the simulation turns instance-minutes into dollars with. Region us-east-1, Linux,
 * read 2026-12 (AWS changes them; re-read before relying on the dollars):
 * - c7i.large On-Demand: $0.08925 an hour (Amazon EC2 On-Demand pricing page).
 * - Spot: it moves with supply and demand, per zone; the simulation assumes 40 % of On-Demand,
 *   inside what AWS's own examples show for compute-optimized types (the Auto Scaling user guide's
 *   "Spot price per unit hour example" lists c5.2xlarge at $0.170-0.191 against $0.34 On-Demand,
 *   about 53 %) and AWS's "up to 90 %" claim. The Spot price history of the account is the truth.
 * - A stopped warm-pool instance pays for its volume only: gp3 $0.08 per GB-month (Amazon EBS
 *   pricing), 50 GB (VIDPIPE_DEPLOY_WORKER_VOLUME_GB's default) = $4.00 a month, $0.00548 an hour.
 * The infrastructure's default instance type is c7i.large (infra/settings.ts).
 */
export interface Prices {
  readonly onDemandPerHour: number
  readonly spotPerHour: number
  readonly stoppedPerHour: number
}

export const usEast1Prices: Prices = {
  onDemandPerHour: 0.08925,
  spotPerHour: 0.08925 * 0.4,
  stoppedPerHour: (0.08 * 50) / 730
}
