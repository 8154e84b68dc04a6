extension GatehouseConfig {
    /// The commented default written by `gatehouse init`; it parses to `GatehouseConfig()`.
    public static let defaultText = """
        # Gatehouse gateway configuration. Every setting is optional; these are the defaults.
        # Durations are quoted: "500ms", "30s", "5m", "24h", "5d".
        # Check this file with `gatehouse config check`.

        [organisation]
        # Where this gateway collects its mail. Default: the mailbox on this organisation's
        # identity card (set it with `gatehouse identity set-mailbox`). A relay's address, with
        # its host key, is what `gatehouse relay address` prints; dir:/path is a shared folder.
        # mailbox = "sftp://gatehouse@relay.example.org:2222 ssh-ed25519 AAAA..."
        # mailbox = "dir:/srv/gatehouse/mailboxes"

        [delivery]
        # A bundle not delivered and acknowledged within this time expires, and the sender
        # gets a non-delivery report in spool/failed/.
        expiry = "24h"
        # Retries back off exponentially with full jitter, from retry_initial up to retry_max.
        retry_initial = "1s"
        retry_max = "5m"
        # After this many consecutive failures to one partner, wait breaker_cooldown before
        # trying that partner again.
        breaker_failures = 5
        breaker_cooldown = "1m"

        [spool]
        # A full rescan of spool/outbox/ (inotify catches most changes at once).
        rescan_interval = "30s"
        # A file not renamed in counts as complete once its size is unchanged this long.
        stable_window = "2s"
        # Acknowledged originals: "keep" (move to spool/sent/) or "delete".
        retention = "keep"
        # Records waiting for the same partner travel together in one bundle, with one
        # receipt: at most bundle_max_files records and bundle_max_mb MiB of them (a larger
        # record travels alone). bundle_max_files = 1 sends each record in its own bundle.
        bundle_max_files = 256
        bundle_max_mb = 16

        [collector]
        # How often this gateway's own mailbox is checked. A relay running gatehouse
        # sftp-server reports new mail at once, so this matters only for other servers.
        poll_interval = "1s"

        # Per-partner settings: override the mailbox on a partner's identity card.
        # [partners.YOI123]
        # mailbox = "sftp://gatehouse@relay.example.net:22 ssh-ed25519 AAAA..."

        """
}
