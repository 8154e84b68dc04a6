# Sourced by the benchmark scripts (bench.sh, bench-seal.sh, bench-sftp.sh): test data cached
# in bench/work/data (git-ignored), the relay and two gateways on loopback, OpenSSH's sftp
# options for the baselines, and the machine facts every results file starts with.
# Expects $root (the repository) and $gatehouse (the binary).

bench_cache=$root/bench/work/data

# bench_big_files SIZE_MB: prints the folder holding records.xml (compressible, gen-records.py)
# and scans.bin (random) of SIZE_MB MiB each, generating what is missing.
bench_big_files() {
    local dir=$bench_cache/$1
    mkdir -p "$dir"
    if [[ ! -f $dir/records.xml ]]; then
        echo "generating $1 MiB of compressible records…" >&2
        python3 "$root/scripts/gen-records.py" --size-mb "$1" -o "$dir/records.xml.part"
        mv "$dir/records.xml.part" "$dir/records.xml"
    fi
    if [[ ! -f $dir/scans.bin ]]; then
        echo "generating $1 MiB of random bytes…" >&2
        head -c $(($1 * 1048576)) /dev/urandom > "$dir/scans.bin.part"
        mv "$dir/scans.bin.part" "$dir/scans.bin"
    fi
    echo "$dir"
}

# bench_record_files COUNT SIZE_KB: prints a folder of COUNT distinct records of about SIZE_KB KB.
bench_record_files() {
    local dir=$bench_cache/records-$1x$2k
    if [[ ! -d $dir ]]; then
        echo "generating $1 records of $2 KB…" >&2
        mkdir -p "$bench_cache"
        python3 "$root/scripts/gen-bench-data.py" --count "$1" --size-kb "$2" -o "$dir"
    fi
    echo "$dir"
}

# bench_homes: in the current folder, a relay (relay/, listening on 127.0.0.1:$port, not started)
# with a practice (gp/, A81001) and a prison (yoi/, YOI123) registered, each pinning the other;
# known_hosts for the relay's host key; sets port, user, age_recipient and sftp_opts (OpenSSH's
# sftp as the practice: same key, same pinned host key, same options as Gatehouse's client).
bench_homes() {
    port=$(free_port)
    "$gatehouse" relay init --home relay --listen "127.0.0.1:$port" >/dev/null
    local address home
    address=$("$gatehouse" relay address --home relay)
    "$gatehouse" init --home gp --org A81001 --name "Bench Practice" --mailbox "$address" >/dev/null
    "$gatehouse" init --home yoi --org YOI123 --name "Bench Prison" --mailbox "$address" >/dev/null
    for home in gp yoi; do "$gatehouse" identity export --home $home -o $home.card >/dev/null; done
    "$gatehouse" partners add --home yoi gp.card --yes >/dev/null
    "$gatehouse" partners add --home gp yoi.card --yes >/dev/null
    for home in gp yoi; do "$gatehouse" relay add --home relay $home.card --yes >/dev/null; done
    echo "[127.0.0.1]:$port $(awk '{print $1, $2}' relay/ssh_host_ed25519_key.pub)" > known_hosts
    sftp_opts=(-q -F /dev/null -i "$(ls "$PWD"/gp/keys/ssh-*.key)" -P "$port" -o BatchMode=yes -o IdentitiesOnly=yes
               -o StrictHostKeyChecking=yes -o UserKnownHostsFile="$PWD/known_hosts" -o GlobalKnownHostsFile=/dev/null)
    user=$(id -un)
    age-keygen -o age.key 2>/dev/null
    age_recipient=$(grep -o 'age1[0-9a-z]*' age.key)
    bench_pipe_sshd
}

# bench_pipe_sshd: the streaming-pipe baseline's `ssh relay 'cat > mailbox/file'` needs a shell
# command, which the relay's forced `gatehouse sftp-server` never allows. A second, plain OpenSSH
# sshd (pipe-sshd/, not started here) on the same machine with the relay's host key and the
# practice's SSH key, unconfined, stands in for "the relay" an administrator would reach by hand.
# Sets pipe_sshd_config and ssh_opts (OpenSSH's ssh as the practice, that sshd's port).
bench_pipe_sshd() {
    local pipe_port
    pipe_port=$(free_port)
    mkdir -p pipe-sshd
    ssh-keygen -y -f "$(ls "$PWD"/gp/keys/ssh-*.key)" > pipe-sshd/authorized_keys
    cat > pipe-sshd/sshd_config <<CONFIG
Port $pipe_port
ListenAddress 127.0.0.1
HostKey $PWD/relay/ssh_host_ed25519_key
PidFile $PWD/pipe-sshd/sshd.pid
AuthorizedKeysFile $PWD/pipe-sshd/authorized_keys
AllowUsers $user
AuthenticationMethods publickey
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PrintMotd no
LogLevel ERROR
CONFIG
    pipe_sshd_config=$PWD/pipe-sshd/sshd_config
    ssh_opts=(-q -F /dev/null -i "$(ls "$PWD"/gp/keys/ssh-*.key)" -p "$pipe_port" -o BatchMode=yes -o IdentitiesOnly=yes
              -o StrictHostKeyChecking=yes -o UserKnownHostsFile="$PWD/known_hosts.pipe" -o GlobalKnownHostsFile=/dev/null)
    echo "[127.0.0.1]:$pipe_port $(awk '{print $1, $2}' relay/ssh_host_ed25519_key.pub)" > known_hosts.pipe
}

# bench_machine FOLDER: Markdown lines describing this machine, its tools and FOLDER's disk.
bench_machine() {
    local fs device
    read -r device fs < <(df -T "$1" | awk 'NR == 2 {print $1, $2}')
    echo "- Machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo) memory, Linux $(uname -r)"
    echo "- Work folder: $fs on $device ($(df -h "$1" | awk 'NR == 2 {print $2}'), lsblk ROTA=$(lsblk -dno ROTA "$device" 2>/dev/null | tr -d " " || echo unknown))"
    echo "- $(swift --version 2>/dev/null | head -1 || echo 'Swift: not on PATH'); $(ssh -V 2>&1); age $(age --version 2>/dev/null || echo 'not installed')"
    echo "- libdeflate $(dpkg-query -W -f '${Version}' libdeflate0 2>/dev/null), zlib $(dpkg-query -W -f '${Version}' zlib1g 2>/dev/null), libsodium $(dpkg-query -W -f '${Version}' 'libsodium23' 2>/dev/null), SQLite $(python3 -c 'import sqlite3; print(sqlite3.sqlite_version)'); gatehouse release build (Swift runtime linked statically)"
    echo "- Date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
}
