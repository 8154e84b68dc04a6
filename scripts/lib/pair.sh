# A practice (A81001) and a prison (YOI123) that know each other, for the crash and cluster
# tests. Source this file with $gatehouse and $work set.

# The organisations of pair P in the cluster tests and benchmarks: practice A81P and prison YOIP.
practice() { printf 'A81%03d' "$1"; }
prison() { printf 'YOI%03d' "$1"; }

# pair_setup HOME ORG NAME MAILBOX: a home with short intervals, so a run takes seconds.
pair_setup() {
    "$gatehouse" init --home "$1" --org "$2" --name "$3" --mailbox "$4" >/dev/null
    sed -i 's/^poll_interval = .*/poll_interval = "100ms"/; s/^stable_window = .*/stable_window = "200ms"/;
            s/^retry_max = .*/retry_max = "2s"/; s/^rescan_interval = .*/rescan_interval = "'"${RESCAN:-2s}"'"/' \
        "$1/gatehouse.toml"
}

# pair_exchange PRACTICE PRISON: each imports the other's identity card.
pair_exchange() {
    local one="$work/$(basename "$1").card" other="$work/$(basename "$2").card"
    "$gatehouse" identity export --home "$1" -o "$one" >/dev/null
    "$gatehouse" identity export --home "$2" -o "$other" >/dev/null
    "$gatehouse" partners add --home "$2" "$one" --yes >/dev/null
    "$gatehouse" partners add --home "$1" "$other" --yes >/dev/null
}

# pair_drop HOME PARTNER SENDER INDEX [NAME]: a record kept in $work/expected/SENDER and dropped
# into HOME's outbox for PARTNER, written as .part and renamed in, as producers should.
pair_drop() {
    local name=${5:-"record-$4 é.txt"}
    mkdir -p "$work/expected/$3" "$1/spool/outbox/$2"
    printf 'record %s from %s, NHS 999%07d, %s\n' "$4" "$3" "$4" "$(head -c 2000 /dev/urandom | base64 -w0)" \
        > "$work/expected/$3/$name"
    cp "$work/expected/$3/$name" "$1/spool/outbox/$2/.$name.part"
    mv "$1/spool/outbox/$2/.$name.part" "$1/spool/outbox/$2/$name"
}
