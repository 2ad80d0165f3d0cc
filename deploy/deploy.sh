#!/usr/bin/env bash
# Roll out one image on a docker compose host, gated by /health/ready, with automatic rollback.
#
#   deploy/deploy.sh IMAGE       pull IMAGE, migrate, start web/worker/beat/flower on it, wait
#                                for /health/ready; healthy: switch to it (the previous image is
#                                kept for rollback); not started or not ready in time: start
#                                the previous image again and exit 1; a failed migration
#                                exits 1 before anything is switched
#   deploy/deploy.sh rollback    start the previous image again (after a bad release noticed later)
#
# Run in the directory holding docker-compose.yml and .env (or set DEPLOY_DIR); CI runs it
# over SSH (see .github/workflows/ci-cd.yml and docs/operations.md). Settings, from the
# environment:
#   HEALTH_URL       readiness URL of the web container on this host (default: where
#                    docker-compose.yml publishes it, CLINIC_WEB_ADDRESS and CLINIC_WEB_PORT
#                    from the environment or .env: http://127.0.0.1:8000/health/ready)
#   HEALTH_TIMEOUT   seconds the new release has to become ready (default 180)
#   HEALTH_INTERVAL  seconds between probes (default 3)
#   COMPOSE          the compose command (default "docker compose")
#   DEPLOY_STATE     folder remembering the current and previous image (default .deploy)
#
# Migrations run before the switch and are not rolled back: each release's migrations must
# keep the previous release working (add columns and tables first, drop them a release later).
set -euo pipefail

usage() {
    sed -n '2,10p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

[[ $# -eq 1 && -n "$1" ]] || usage
cd "${DEPLOY_DIR:-.}"

# env_setting NAME: NAME's value in .env (empty when unset), as docker compose reads it.
env_setting() {
    if [[ -f .env ]]; then
        sed -n "s/^$1=//p" .env | tail -n 1 | tr -d '\r"'"'"
    fi
}
# Where docker-compose.yml publishes the web port: a release probed anywhere else never
# looks ready, and every deploy would be rolled back.
web_address="${CLINIC_WEB_ADDRESS:-$(env_setting CLINIC_WEB_ADDRESS)}"
web_port="${CLINIC_WEB_PORT:-$(env_setting CLINIC_WEB_PORT)}"
[[ -n "$web_address" && "$web_address" != 0.0.0.0 ]] || web_address=127.0.0.1
health_url="${HEALTH_URL:-http://${web_address}:${web_port:-8000}/health/ready}"
health_timeout="${HEALTH_TIMEOUT:-180}"
health_interval="${HEALTH_INTERVAL:-3}"
state="${DEPLOY_STATE:-.deploy}"
read -r -a compose <<<"${COMPOSE:-docker compose}"
# Everything that runs the application image; postgres and redis are never touched.
services=(web worker beat flower)

log() { printf '== deploy: %s\n' "$*"; }

# compose_with IMAGE ARGS...: docker compose with CLINIC_IMAGE (read by docker-compose.yml).
compose_with() {
    local image=$1
    shift
    CLINIC_IMAGE="$image" "${compose[@]}" "$@"
}

ready_within() {
    local deadline=$((SECONDS + health_timeout))
    until curl --fail --silent --show-error --output /dev/null --max-time 5 "$health_url"; do
        if ((SECONDS >= deadline)); then
            log "$health_url not ready within ${health_timeout} s"
            return 1
        fi
        sleep "$health_interval"
    done
}

# The image .env names is the one a plain `docker compose up -d` (or a reboot) starts.
pin_image() {
    local image=$1
    if [[ -f .env ]] && grep -q '^CLINIC_IMAGE=' .env; then
        sed -i "s|^CLINIC_IMAGE=.*|CLINIC_IMAGE=${image}|" .env
    else
        printf 'CLINIC_IMAGE=%s\n' "$image" >>.env
    fi
}

start() {
    compose_with "$1" up --detach --no-deps --remove-orphans "${services[@]}"
}

mkdir -p "$state"
current="$(cat "$state/current" 2>/dev/null || true)"
previous="$(cat "$state/previous" 2>/dev/null || true)"

if [[ "$1" == rollback ]]; then
    [[ -n "$previous" ]] || {
        log "no previous image recorded in $state/previous"
        exit 1
    }
    log "rolling back from ${current:-unknown} to $previous"
    start "$previous"
    ready_within || exit 1
    printf '%s\n' "$previous" >"$state/current"
    printf '%s\n' "$current" >"$state/previous"
    pin_image "$previous"
    log "running $previous"
    exit 0
fi

image=$1
log "pulling $image"
compose_with "$image" pull "${services[@]}"
log "migrating the database with $image"
if compose_with "$image" run --rm migrate; then
    :
else
    status=$?
    log "the migration with $image failed (exit $status): nothing was switched;" \
        "${current:-the running release} keeps running. Its output is above; a migration" \
        "that stopped half-way is rolled back by PostgreSQL with its transaction"
    exit 1
fi
log "starting ${services[*]} on $image"
# A release whose containers cannot even start fails its gate like one that never gets ready.
if start "$image" && ready_within; then
    if [[ -n "$current" && "$current" != "$image" ]]; then
        printf '%s\n' "$current" >"$state/previous"
    fi
    printf '%s\n' "$image" >"$state/current"
    pin_image "$image"
    log "switched to $image (kept for rollback: ${current:-none})"
    exit 0
fi

if [[ -z "$current" || "$current" == "$image" ]]; then
    log "the health gate failed and there is no previous image to go back to"
    exit 1
fi
log "the health gate failed: rolling back to $current"
start "$current"
if ready_within; then
    log "rolled back: $current is running and ready"
else
    log "rolled back to $current, but it is not ready either: look at 'docker compose logs'"
fi
exit 1
