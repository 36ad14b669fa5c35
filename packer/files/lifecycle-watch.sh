#!/usr/bin/env bash
# Waits until Auto Scaling wants this instance terminated, drains the worker, then lets Auto
# Scaling proceed. Run by vidpipe-lifecycle.service with /etc/vidpipe/lifecycle.env:
#   AWS_REGION, VIDPIPE_ASG_NAME, VIDPIPE_LIFECYCLE_HOOK, VIDPIPE_INSTANCE_ID
set -euo pipefail

imds=http://169.254.169.254
aws=/snap/bin/aws

# IMDSv2 only (the launch template requires tokens): a fresh token for each read.
metadata() {
  local token
  token=$(curl -fsS -m 2 -X PUT "$imds/latest/api/token" -H "X-aws-ec2-metadata-token-ttl-seconds: 60")
  curl -fsS -m 2 -H "X-aws-ec2-metadata-token: $token" "$imds/latest/meta-data/$1"
}

# InService until Auto Scaling decides otherwise; the category appears shortly after boot.
until [ "$(metadata autoscaling/target-lifecycle-state 2>/dev/null || true)" = "Terminated" ]; do
  sleep 5
done

echo "vidpipe-lifecycle: termination requested; draining the worker"
# Blocks until the worker has drained and exited (TimeoutStopSec bounds it).
systemctl stop vidpipe-worker.service || true

echo "vidpipe-lifecycle: worker stopped; completing the lifecycle action"
"$aws" autoscaling complete-lifecycle-action \
  --region "$AWS_REGION" \
  --auto-scaling-group-name "$VIDPIPE_ASG_NAME" \
  --lifecycle-hook-name "$VIDPIPE_LIFECYCLE_HOOK" \
  --instance-id "$VIDPIPE_INSTANCE_ID" \
  --lifecycle-action-result CONTINUE

# Nothing more to do on an instance being terminated.
sleep infinity
