#!/usr/bin/env bash
# Database backups: a consistent pg_dump (custom format) and its restore.
#
#   deploy/backup.sh backup [DIR]     dump to DIR/clinic-<UTC time>.dump (default ./backups),
#                                     check it can be read back, keep the newest BACKUP_KEEP
#   deploy/backup.sh restore FILE     replace the database's contents with FILE's (its schema
#                                     public is dropped and made again from FILE)
#
# DATABASE_URL names the database (postgresql://user:pass@host/db). On a docker compose
# host, run the PostgreSQL tools inside the postgres container, where the clinic user
# connects over the local socket:
#
#   PG_EXEC="docker compose exec -T postgres" DATABASE_URL=postgresql://clinic@/clinic \
#       deploy/backup.sh backup /srv/clinic/backups
#
# Restoring: stop web, worker and beat first (docs/operations.md), restore, start them.
# BACKUP_KEEP (default 14) dumps are kept; older ones are deleted after a good backup.
set -euo pipefail

usage() {
    sed -n '2,7p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

[[ $# -ge 1 ]] || usage
: "${DATABASE_URL:?set DATABASE_URL (postgresql://user:pass@host/db)}"
# psycopg's spelling works for the app; libpq's tools want the plain scheme.
url="${DATABASE_URL/#postgresql+psycopg:/postgresql:}"
read -r -a exec_prefix <<<"${PG_EXEC:-}"
keep="${BACKUP_KEEP:-14}"

log() { printf '== backup: %s\n' "$*" >&2; }

# Dumps hold every patient's data: readable by their owner only.
umask 077

backup() {
    local dir=${1:-backups}
    mkdir -p "$dir"
    local file
    file="$dir/clinic-$(date -u +%Y%m%dT%H%M%SZ).dump"
    log "dumping to $file"
    # Written under a temporary name: a cut-short dump never looks like a backup, and is not
    # left behind to fill the disk.
    partial="$file.partial"
    trap 'rm -f "$partial"' EXIT
    "${exec_prefix[@]}" pg_dump --format=custom --no-owner --dbname "$url" >"$file.partial"
    "${exec_prefix[@]}" pg_restore --list <"$file.partial" >/dev/null
    mv "$file.partial" "$file"
    trap - EXIT
    log "$(du -h "$file" | cut -f1) written and readable"
    # The newest $keep dumps stay; names sort by time.
    find "$dir" -maxdepth 1 -name 'clinic-*.dump' -printf '%f\n' | sort -r | tail -n "+$((keep + 1))" |
        while read -r old; do
            log "removing the old $old"
            rm -f "$dir/$old"
        done
    printf '%s\n' "$file"
}

restore() {
    local file=${1:?usage: backup.sh restore FILE}
    [[ -f "$file" ]] || {
        log "no such file: $file"
        exit 1
    }
    "${exec_prefix[@]}" pg_restore --list <"$file" >/dev/null
    log "restoring $file (the schema is emptied and made again from it)"
    # The whole schema goes, not only what the dump holds: a table made by a migration newer
    # than the dump would stay behind, and the next `clinic db upgrade` fail to make it. One
    # transaction, committed only once the whole dump was read: any error undoes it all.
    {
        printf 'SET client_min_messages = warning;\nBEGIN;\nDROP SCHEMA public CASCADE;\nCREATE SCHEMA public;\n'
        printf 'GRANT USAGE ON SCHEMA public TO PUBLIC;\n'
        "${exec_prefix[@]}" pg_restore --no-owner --file=- <"$file" && printf 'COMMIT;\n'
    } | "${exec_prefix[@]}" psql --no-psqlrc --quiet --set ON_ERROR_STOP=1 --dbname "$url" \
        >/dev/null
    log "restored"
}

case "$1" in
    backup) backup "${2:-}" ;;
    restore) restore "${2:-}" ;;
    *) usage ;;
esac
