#!/usr/bin/env bash
# From a CI runner: roll IMAGE out on a docker compose host over SSH, then check it from
# outside; when the public check fails, roll back on the host and fail.
#
#   deploy/remote-deploy.sh IMAGE
#
# Environment (from the GitHub environment's secrets and variables):
#   DEPLOY_HOST, DEPLOY_USER      where to SSH
#   DEPLOY_SSH_KEY                the private key (a deploy-only account on the host)
#   DEPLOY_KNOWN_HOSTS            the host's public key line(s): no trust on first use
#   DEPLOY_DIR                    the folder with .env on the host (default /srv/clinic)
#   PUBLIC_URL                    the system's address as users reach it (through the proxy)
#   PUBLIC_TIMEOUT                seconds the public /health/ready gets (default 120)
set -euo pipefail

image=${1:?usage: remote-deploy.sh IMAGE}
: "${DEPLOY_HOST:?}" "${DEPLOY_USER:?}" "${DEPLOY_SSH_KEY:?}" "${DEPLOY_KNOWN_HOSTS:?}"
: "${PUBLIC_URL:?}"
dir="${DEPLOY_DIR:-/srv/clinic}"
public_timeout="${PUBLIC_TIMEOUT:-120}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

keys="$(mktemp -d)"
trap 'rm -rf "$keys"' EXIT
printf '%s\n' "$DEPLOY_SSH_KEY" >"$keys/id"
printf '%s\n' "$DEPLOY_KNOWN_HOSTS" >"$keys/known_hosts"
chmod 600 "$keys/id"
ssh_options=(-i "$keys/id" -o "UserKnownHostsFile=$keys/known_hosts" -o StrictHostKeyChecking=yes
    -o BatchMode=yes)
target="$DEPLOY_USER@$DEPLOY_HOST"

# The release's own compose file, deploy and backup scripts, so the host runs what was tested
# (the nightly backup in cron runs $dir/backup.sh: docs/operations.md).
scp "${ssh_options[@]}" "$here/../docker-compose.yml" "$here/deploy.sh" "$here/backup.sh" \
    "$target:$dir/"
# shellcheck disable=SC2029 # expanded here on purpose: the values are ours
ssh "${ssh_options[@]}" "$target" "cd '$dir' && bash ./deploy.sh '$image'"

echo "== checking ${PUBLIC_URL}/health/ready from outside"
deadline=$((SECONDS + public_timeout))
until curl --fail --silent --show-error --output /dev/null --max-time 10 \
    "${PUBLIC_URL%/}/health/ready"; do
    if ((SECONDS >= deadline)); then
        echo "== not ready from outside: rolling back" >&2
        # shellcheck disable=SC2029
        ssh "${ssh_options[@]}" "$target" "cd '$dir' && bash ./deploy.sh rollback"
        exit 1
    fi
    sleep 5
done
echo "== $image is live at $PUBLIC_URL"
