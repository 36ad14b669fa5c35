#!/usr/bin/env bash
# Builds the worker AMI: archives the committed app (package.json, package-lock.json, src/) with
# `git archive`, then runs `packer build` on packer/ with it. Extra arguments go to packer, e.g.
#   packer/build.sh -var region=eu-west-1
# Prints the AMI id at the end (also in out/packer-manifest.json); pass it to `sst deploy` as
# VIDPIPE_DEPLOY_WORKER_AMI.
set -euo pipefail
cd "$(dirname "$0")/.."

mkdir -p out
archive=out/vidpipe-app.tar.gz
git archive --format=tar.gz -o "$archive" HEAD package.json package-lock.json README.md src
packer validate -var "app_archive=$archive" "$@" packer/
packer build -var "app_archive=$archive" "$@" packer/
node -e '
  const m = JSON.parse(require("fs").readFileSync("out/packer-manifest.json", "utf8"))
  const last = m.builds.find((b) => b.packer_run_uuid === m.last_run_uuid) ?? m.builds.at(-1)
  console.log(`AMI: ${last.artifact_id.split(":").pop()}`)
'
