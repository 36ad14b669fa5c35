#!/usr/bin/env bash
# Provisions the vidpipe worker AMI (run by packer/worker.pkr.hcl as root on Ubuntu 24.04 LTS).
#   - ffmpeg/ffprobe from Ubuntu's archive;
#   - Node.js $NODE_VERSION, the official linux build from nodejs.org, checked against its
#     SHASUMS256.txt: the same release the repository pins (package.json's `node` package) and that
#     the test suite runs on; Ubuntu's own nodejs is 18, too old for TypeScript type stripping;
#   - the AWS CLI (snap, published by AWS) for the boot script only (it reads the Redis URL from
#     SSM as root, outside systemd's sandboxing). The termination lifecycle hook is completed by
#     the worker process itself, with the SDK (src/programs/terminationHook.ts): snap's CLI cannot
#     run under a unit with ProtectHome=yes and NoNewPrivileges=yes (it needs /root/snap and an
#     AppArmor transition);
#   - the app in /opt/vidpipe (a `git archive` of package.json, package-lock.json and src/, made by
#     packer/build.sh), its production dependencies by `npm ci --omit=dev`;
#   - the worker's systemd unit, installed but not enabled: the instance's user data writes the
#     configuration and starts it.
set -euo pipefail
: "${NODE_VERSION:?}" "${APP_ARCHIVE:?}" "${FILES:?}"
export DEBIAN_FRONTEND=noninteractive

# Let cloud-init finish its own apt work first.
cloud-init status --wait >/dev/null || true

apt-get update -qq
apt-get install -y -qq --no-install-recommends ffmpeg curl ca-certificates xz-utils >/dev/null
apt-get upgrade -y -qq >/dev/null

# Node.js
case "$(uname -m)" in
  x86_64) node_arch=x64 ;;
  aarch64) node_arch=arm64 ;;
  *) echo "unsupported architecture $(uname -m)" >&2; exit 1 ;;
esac
node_dist="node-v${NODE_VERSION}-linux-${node_arch}"
work=$(mktemp -d)
curl -fsSL -o "$work/$node_dist.tar.xz" "https://nodejs.org/dist/v${NODE_VERSION}/$node_dist.tar.xz"
curl -fsSL -o "$work/SHASUMS256.txt" "https://nodejs.org/dist/v${NODE_VERSION}/SHASUMS256.txt"
(cd "$work" && grep " $node_dist.tar.xz\$" SHASUMS256.txt | sha256sum -c -)
tar -xJf "$work/$node_dist.tar.xz" -C /opt
ln -sfn "/opt/$node_dist" /opt/node
for tool in node npm npx; do ln -sfn "/opt/node/bin/$tool" "/usr/local/bin/$tool"; done
rm -rf "$work"
node --version

# AWS CLI
snap install aws-cli --classic
/snap/bin/aws --version

# The service account: no login, no home of its own beyond its state directory.
id vidpipe >/dev/null 2>&1 || useradd --system --home-dir /var/lib/vidpipe --no-create-home --shell /usr/sbin/nologin vidpipe

# The app, owned by root and only readable by the worker.
rm -rf /opt/vidpipe
install -d -m 0755 /opt/vidpipe
tar -xzf "$APP_ARCHIVE" -C /opt/vidpipe
(cd /opt/vidpipe && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error)
chown -R root:root /opt/vidpipe
chmod -R u=rwX,go=rX /opt/vidpipe
# A smoke test: the CLI loads with its production dependencies, and ffmpeg is there.
node /opt/vidpipe/src/entry/cli/main.ts --help >/dev/null
ffmpeg -hide_banner -version | head -1
ffprobe -hide_banner -version | head -1

# The worker's unit; the configuration directory is filled at boot.
install -d -m 0750 -o root -g vidpipe /etc/vidpipe
install -m 0644 "$FILES/vidpipe-worker.service" /etc/systemd/system/vidpipe-worker.service
systemctl daemon-reload
systemd-analyze verify vidpipe-worker.service

# Leave nothing of the build behind.
rm -rf "$APP_ARCHIVE" "$FILES" /root/.npm
apt-get clean
rm -rf /var/lib/apt/lists/*
