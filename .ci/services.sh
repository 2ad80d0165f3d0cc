# shellcheck shell=bash
# The decisions .ci/run makes about PostgreSQL and Redis, as functions it sources (and
# tests/system/test_ci_run.py runs with stub commands on PATH):
#
# - a server the tests reach on this machine (127.0.0.1, localhost, ::1) that does not answer
#   gets installed from Debian when missing, and started;
# - a server elsewhere (CI's service containers) is only waited for, never installed;
# - a local PostgreSQL that refuses the default trust login gets a test role
#   (clinic_test, password clinic_test, CREATEDB, loopback only) and TEST_PG_ADMIN_URL points
#   at it; a TEST_PG_ADMIN_URL given from outside is never changed.
# - a pg_dump older than the server (which it refuses to dump) is noticed, for .ci/run to
#   install the server's client.
#
# Every step checks first, so a second run changes nothing.

TEST_ROLE=clinic_test
# The role only exists on a CI or developer machine, reachable from loopback: not a secret.
TEST_ROLE_PASSWORD=clinic_test # nosec - a local test database's password
: "${WAIT_SCALE:=1}"           # tests shorten the waits

log() { printf '== %s\n' "$*"; }

# wait_until SECONDS WHAT COMMAND...: retry COMMAND once a second until it succeeds.
wait_until() {
    local seconds=$(($1 * WAIT_SCALE)) what=$2
    shift 2
    local deadline=$((SECONDS + seconds))
    until "$@" >/dev/null 2>&1; do
        if ((SECONDS >= deadline)); then
            echo "$what did not answer within ${seconds} s" >&2
            return 1
        fi
        sleep 1
    done
}

# url_is_local URL: the URL's host is this machine.
url_is_local() {
    local rest=${1#*://}
    rest=${rest#*@}
    local host=${rest%%/*}
    host=${host%:*}
    case "$host" in
        127.0.0.1 | localhost | "[::1]" | "" | ::1) return 0 ;;
        *) return 1 ;;
    esac
}

pg_answers() { pg_isready -q -d "$1"; }
pg_accepts() { psql -w "$1" -tAc 'SELECT 1' >/dev/null 2>&1; }
redis_answers() { [[ "$(redis-cli -u "$1" ping 2>/dev/null)" == PONG ]]; }

# server_packages PG_URL REDIS_URL: the Debian packages of the servers to install.
server_packages() {
    local pg_url=$1 redis_url=$2
    if url_is_local "$pg_url" && ! command -v pg_ctlcluster >/dev/null 2>&1 &&
        ! pg_answers "$pg_url"; then
        echo postgresql
    fi
    if url_is_local "$redis_url" && ! command -v redis-server >/dev/null 2>&1 &&
        ! redis_answers "$redis_url"; then
        echo redis-server
    fi
}

start_postgres() {
    local pg_url=$1
    pg_answers "$pg_url" && return 0
    if url_is_local "$pg_url" && command -v pg_ctlcluster >/dev/null 2>&1; then
        local version
        version=$(find /etc/postgresql -mindepth 1 -maxdepth 1 -printf '%f\n' 2>/dev/null |
            sort -V | tail -n 1)
        if [[ -z "$version" ]]; then
            # The package made no cluster (a container without its post-install steps).
            version=$(find /usr/lib/postgresql -mindepth 1 -maxdepth 1 -printf '%f\n' |
                sort -V | tail -n 1)
            log "creating the PostgreSQL $version cluster"
            pg_createcluster "$version" main
        fi
        log "starting PostgreSQL $version"
        pg_ctlcluster --skip-systemctl-redirect "$version" main start ||
            log "pg_ctlcluster failed; waiting for PostgreSQL anyway"
    fi
    wait_until 60 "PostgreSQL ($pg_url)" pg_answers "$pg_url"
}

# test_role_url PG_URL: the URL the tests use; makes the test role when the default login
# is refused on a local server. Prints the URL.
test_role_url() {
    local pg_url=$1
    if [[ -n "${TEST_PG_ADMIN_URL:-}" ]] || pg_accepts "$pg_url" || ! url_is_local "$pg_url"; then
        echo "$pg_url"
        return 0
    fi
    local role_url="postgresql://$TEST_ROLE:$TEST_ROLE_PASSWORD@127.0.0.1:5432/postgres"
    if ! pg_accepts "$role_url"; then
        log "creating the test role $TEST_ROLE" >&2
        runuser -u postgres -- psql -v ON_ERROR_STOP=1 -q -c "DO \$\$ BEGIN
            IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$TEST_ROLE') THEN
                CREATE ROLE $TEST_ROLE LOGIN CREATEDB PASSWORD '$TEST_ROLE_PASSWORD';
            END IF; END \$\$;" >&2
    fi
    echo "$role_url"
}

start_redis() {
    local redis_url=$1
    redis_answers "$redis_url" && return 0
    if url_is_local "$redis_url" && command -v redis-server >/dev/null 2>&1; then
        log "starting Redis"
        mkdir -p /var/lib/redis /var/log/redis
        redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" \
            --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log ||
            log "redis-server failed to start; waiting for Redis anyway"
    fi
    wait_until 30 "Redis ($redis_url)" redis_answers "$redis_url"
}

# client_behind PG_URL: the server's major version when this machine's pg_dump is older than
# the server (pg_dump refuses to dump a newer server: the backup tests would fail), nothing
# when it keeps up or the server does not answer.
client_behind() {
    local server version
    server=$(psql -w "$1" -tAc 'SHOW server_version_num' 2>/dev/null) || return 0
    [[ "$server" =~ ^[0-9]+$ ]] || return 0
    server=$((server / 10000))
    # "pg_dump (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)"
    version=$(pg_dump --version 2>/dev/null) || return 0
    if [[ "$version" =~ \)\ ([0-9]+)\. ]] && ((BASH_REMATCH[1] < server)); then
        echo "$server"
    fi
}
