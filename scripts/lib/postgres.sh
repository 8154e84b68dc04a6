# Starts a throw-away PostgreSQL server for a script, from Debian's `postgresql` package:
# initdb in "$1" (a new folder), listening on 127.0.0.1:"$2" (or $PG_LISTEN) with password authentication.
# As root it runs as `nobody` (PostgreSQL refuses root). Sets PG_URL, PG_PASSWORD_FILE, PG_PID;
# pg_stop stops it. Source this file.

pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }

pg_as_server() {
    if [[ $(id -u) -eq 0 ]]; then setpriv --reuid=65534 --regid=65534 --clear-groups -- "$@"; else "$@"; fi
}

pg_start() { # folder port
    local folder=$1 port=$2 bin
    bin=$(pg_bin)
    [[ -x $bin/postgres ]] || { echo "postgres.sh: error: PostgreSQL is not installed (scripts/install-deps.sh)" >&2; return 1; }
    mkdir -p "$folder"
    chmod 700 "$folder"
    head -c 24 /dev/urandom | base64 | tr -d '/+=' > "$folder/pwfile"
    cp "$folder/pwfile" "$folder/journal-password"
    chmod 600 "$folder/journal-password"
    [[ $(id -u) -eq 0 ]] && chown 65534:65534 "$folder" "$folder/pwfile"
    (cd "$folder" && pg_as_server "$bin/initdb" -D "$folder/data" -U gatehouse --pwfile="$folder/pwfile" \
        --auth-host=scram-sha-256 --auth-local=trust -E UTF8 --locale=C --no-sync >/dev/null)
    # Off loopback (a network namespace of its own), clients on the server's own subnets too.
    [[ ${PG_LISTEN:-127.0.0.1} == 127.0.0.1 ]] || echo "host all all samenet scram-sha-256" >> "$folder/data/pg_hba.conf"
    pg_resume "$folder" "$port"
    (cd "$folder" && pg_as_server "$bin/createdb" -h "$folder" -p "$port" -U gatehouse gatehouse)
    PG_URL="postgres://gatehouse@${PG_LISTEN:-127.0.0.1}:$port/gatehouse"
    PG_PASSWORD_FILE="$folder/journal-password"
}

pg_resume() { # folder port: start the server of an existing folder
    local folder=$1 port=$2 bin
    bin=$(pg_bin)
    (cd "$folder" && pg_as_server "$bin/postgres" -D "$folder/data" -p "$port" -k "$folder" \
        -c listen_addresses="${PG_LISTEN:-127.0.0.1}" -c max_connections=200 >>"$folder/log" 2>&1 &)
    for _ in $(seq 100); do
        [[ -S $folder/.s.PGSQL.$port ]] && (cd "$folder" && "$bin/pg_isready" -q -h "$folder" -p "$port") && break
        sleep 0.1
    done
    PG_PID=$(head -1 "$folder/data/postmaster.pid")
}

pg_sql() { # folder port [psql arguments…]: unaligned rows, no headers, as the superuser over the socket
    local folder=$1 port=$2
    shift 2
    (cd "$folder" && "$(pg_bin)/psql" -X -q -t -A -v ON_ERROR_STOP=1 -h "$folder" -p "$port" -U gatehouse "$@")
}

pg_stop() { # folder: fast shutdown
    [[ -f $1/data/postmaster.pid ]] || return 0
    local pid
    pid=$(head -1 "$1/data/postmaster.pid")
    kill -INT "$pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
}
