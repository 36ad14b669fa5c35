/**
 * Scaling policies and the CloudWatch alarms that drive them: the infrastructure's rendering of
 * `src/domain/ScalingPolicy.ts` (the fleet sized to the estimated work, never below the tasks in
 * flight nor above the tasks in the system; scale-out at once, scale-in only onto idle instances).
 *
 * | alarm                   | metric (1-minute periods)                                                    | policy |
 * |-------------------------|------------------------------------------------------------------------------|--------|
 * | `…-scale-out-on-ingest` | tasks ingest just enqueued (`Vidpipe/ScaleOut`, Sum) + in flight − desired: new tasks no free worker can take | add that many instances (steps 1, 2, 4, 8, 16) |
 * | `…-backlog-high`        | wanted / desired capacity above 1, wanted = max(in flight, min(visible + in flight, `Vidpipe/BacklogWorkSeconds` ÷ `drainTargetSeconds`)) | add 25 %…1000 % (about the wanted count) |
 * | `…-idle`                | idle workers (`Vidpipe/ScaleIn` empty polls ÷ polls per minute), at most desired − wanted; ≥ 1 for the scale-in cooldown | remove 1, 2, 3 or 5 instances |
 *
 * `BacklogWorkSeconds` (the estimated encode seconds waiting plus what is left of the running
 * tasks, from the job records) is reported by every worker's sweeper pass and by the sweeper
 * Lambda; the alarm takes the largest report of the minute. With no report (no worker running yet)
 * it counts as 0, and the ingest alarm starts the fleet. `wanted > desired` is the same test as the
 * policy's `ceil(work / drain) > desired`, since desired is a whole number (no CEIL needed).
 *
 * The ScaleOut/ScaleIn metrics are the pipeline's own (namespace `Vidpipe`, dimensions
 * `AutoScalingGroupName` and `QueueName`, CloudWatchMetrics.ts); the queue's are AWS/SQS, the
 * group's AWS/AutoScaling (group metrics are enabled in fleet.ts). Scale-in can only ever remove
 * what the protector names: instances in the idle set for at least 20 s (one empty long poll). Missing data (no
 * metric points: no traffic) never alarms.
 */
import * as aws from "@pulumi/aws"
import type * as pulumi from "@pulumi/pulumi"
import type { MetricName } from "../src/services/PipelineMetrics.ts"
import { metricNamespace } from "./policies.ts"
import type { DeploySettings } from "./settings.ts"

/** The metric ingest records with the number of tasks it enqueued. */
export const scaleOutMetric: MetricName = "ScaleOut"
/** The metric a worker records on every empty long poll. */
export const scaleInMetric: MetricName = "ScaleIn"
/** The backlog in estimated encode seconds, from the sweepers. */
export const backlogWorkMetric: MetricName = "BacklogWorkSeconds"

const period = 60

interface Step {
  readonly from: number
  readonly to?: number
  readonly adjust: number
}

const stepAdjustments = (steps: ReadonlyArray<Step>) =>
  steps.map((s) => ({
    metricIntervalLowerBound: String(s.from),
    ...(s.to === undefined ? {} : { metricIntervalUpperBound: String(s.to) }),
    scalingAdjustment: s.adjust
  }))

export interface ScalingInputs {
  readonly autoScalingGroupName: pulumi.Input<string>
  readonly queueName: pulumi.Input<string>
}

export const scaling = (settings: DeploySettings, inputs: ScalingInputs) => {
  const group = { AutoScalingGroupName: inputs.autoScalingGroupName }
  const pipelineDimensions = { AutoScalingGroupName: inputs.autoScalingGroupName, QueueName: inputs.queueName }
  const metric = (id: string, namespace: string, metricName: string, dimensions: Record<string, pulumi.Input<string>>, stat: string) => ({
    id,
    returnData: false,
    metric: { namespace, metricName, dimensions, period, stat }
  })
  const visible = metric("visible", "AWS/SQS", "ApproximateNumberOfMessagesVisible", { QueueName: inputs.queueName }, "Maximum")
  const inFlight = metric("inflight", "AWS/SQS", "ApproximateNumberOfMessagesNotVisible", { QueueName: inputs.queueName }, "Maximum")
  const desired = metric("desired", "AWS/AutoScaling", "GroupDesiredCapacity", group, "Maximum")
  const enqueued = metric("enqueued", metricNamespace, scaleOutMetric, pipelineDimensions, "Sum")
  const emptyPolls = metric("emptypolls", metricNamespace, scaleInMetric, pipelineDimensions, "Sum")
  const backlogWork = metric("backlogwork", metricNamespace, backlogWorkMetric, pipelineDimensions, "Maximum")
  const expression = (id: string, label: string, text: string) => ({ id, label, expression: text, returnData: true })
  const backlog = "(FILL(visible, 0) + FILL(inflight, 0))"
  const capacity = "IF(FILL(desired, 0) > 0, FILL(desired, 0), 1)"
  // The instances the policy wants (ScalingPolicy.targetCapacity, before the clamp): by work when
  // a drain target is set, else by tasks (targetBacklogPerInstance per instance).
  const drain = settings.scaling.drainTargetSeconds
  const byWork = `(FILL(backlogwork, 0) / ${drain})`
  const capped = `IF(${byWork} < ${backlog}, ${byWork}, ${backlog})`
  const wanted = drain > 0
    ? `IF(FILL(inflight, 0) > ${capped}, FILL(inflight, 0), ${capped})`
    : `(${backlog} / ${settings.scaling.targetBacklogPerInstance})`
  const workQueries = drain > 0 ? [backlogWork] : []

  const stepPolicy = (name: string, adjustmentType: string, steps: ReadonlyArray<Step>, scaleOut: boolean) =>
    new aws.autoscaling.Policy(name, {
      autoscalingGroupName: inputs.autoScalingGroupName,
      policyType: "StepScaling",
      adjustmentType,
      metricAggregationType: "Maximum",
      stepAdjustments: stepAdjustments(steps),
      ...(scaleOut ? { estimatedInstanceWarmup: settings.scaling.instanceWarmupSeconds } : {}),
      ...(adjustmentType === "PercentChangeInCapacity" ? { minAdjustmentMagnitude: 1 } : {})
    })

  // 1. Tasks just enqueued that no free worker can take: add that many (the SQS metrics lag a minute or more).
  const scaleOutOnIngest = stepPolicy("ScaleOutOnIngest", "ChangeInCapacity", [
    { from: 0, to: 1.5, adjust: 1 },
    { from: 1.5, to: 2.5, adjust: 2 },
    { from: 2.5, to: 4.5, adjust: 4 },
    { from: 4.5, to: 8.5, adjust: 8 },
    { from: 8.5, adjust: 16 }
  ], true)
  const ingestAlarm = new aws.cloudwatch.MetricAlarm("ScaleOutOnIngestAlarm", {
    name: `${settings.prefix}-scale-out-on-ingest`,
    alarmDescription: "Tasks enqueued by ingest beyond the free workers (Vidpipe ScaleOut)",
    comparisonOperator: "GreaterThanThreshold",
    threshold: 0,
    evaluationPeriods: 1,
    treatMissingData: "notBreaching",
    metricQueries: [enqueued, inFlight, desired, expression("excess", "tasks without a worker", "FILL(enqueued, 0) + FILL(inflight, 0) - FILL(desired, 0)")],
    alarmActions: [scaleOutOnIngest.arn]
  })

  // 2. More instances wanted than there are: grow towards the wanted count in one step.
  const target = 1
  const scaleOutOnBacklog = stepPolicy("ScaleOutOnBacklog", "PercentChangeInCapacity", [
    { from: 0, to: 0.25 * target, adjust: 25 },
    { from: 0.25 * target, to: 0.5 * target, adjust: 50 },
    { from: 0.5 * target, to: target, adjust: 100 },
    { from: target, to: 2 * target, adjust: 200 },
    { from: 2 * target, to: 4 * target, adjust: 400 },
    { from: 4 * target, adjust: 1000 }
  ], true)
  const backlogAlarm = new aws.cloudwatch.MetricAlarm("BacklogPerInstanceAlarm", {
    name: `${settings.prefix}-backlog-high`,
    alarmDescription: "Instances the backlog's work wants, per instance, above 1",
    comparisonOperator: "GreaterThanThreshold",
    threshold: target,
    evaluationPeriods: 1,
    treatMissingData: "notBreaching",
    metricQueries: [visible, inFlight, desired, ...workQueries, expression("perinstance", "wanted per instance", `${wanted} / ${capacity}`)],
    alarmActions: [scaleOutOnBacklog.arn]
  })

  // 3. Idle workers while the backlog needs fewer instances: remove some (the protector picks which).
  const pollsPerMinute = 60 / settings.pipeline.pollSeconds
  const scaleInWhenIdle = stepPolicy("ScaleInWhenIdle", "ChangeInCapacity", [
    { from: 0, to: 1, adjust: -1 },
    { from: 1, to: 2, adjust: -2 },
    { from: 2, to: 4, adjust: -3 },
    { from: 4, adjust: -5 }
  ], false)
  const idleAlarm = new aws.cloudwatch.MetricAlarm("IdleWorkersAlarm", {
    name: `${settings.prefix}-idle`,
    alarmDescription: "Idle workers (Vidpipe ScaleIn) the backlog does not need",
    comparisonOperator: "GreaterThanOrEqualToThreshold",
    threshold: 1,
    // Two minutes: longer than the protector's minimum idle time and the policy's scale-in cooldown.
    evaluationPeriods: settings.scaling.scaleInCooldownSeconds / period,
    datapointsToAlarm: settings.scaling.scaleInCooldownSeconds / period,
    treatMissingData: "notBreaching",
    metricQueries: [
      emptyPolls,
      visible,
      inFlight,
      desired,
      ...workQueries,
      expression("idle", "idle workers", `FILL(emptypolls, 0) / ${pollsPerMinute}`),
      expression("room", "instances the backlog does not need", `FILL(desired, 0) - ${wanted}`),
      expression("removable", "idle workers the backlog does not need", "IF(room > 0, IF(idle < room, idle, room), 0)")
    ].map((q) => (q.id === "removable" ? q : { ...q, returnData: false })),
    alarmActions: [scaleInWhenIdle.arn]
  })

  return { scaleOutOnIngest, ingestAlarm, scaleOutOnBacklog, backlogAlarm, scaleInWhenIdle, idleAlarm }
}
