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
        # sftp-server reports new mail at once, and so does a dir: mailbox (inotify), so this
        # matters only for other servers and network file systems.
        poll_interval = "1s"
        # dir: mailboxes: "auto" watches the folder with inotify unless it is on a network file
        # system (NFS, SMB, FUSE, ...: another machine's writes raise no event here), where it
        # polls; "poll" always polls.
        watch = "auto"
        # When the own mailbox cannot be listed for longer than this (the relay down, the key
        # refused), /healthz answers 503 and names the failure.
        unreachable_after = "2m"

        [directory]
        # When this gateway joined a network (`gatehouse network join`): how often the running
        # gateway syncs the directory from its relay, and how old the directory's signed
        # checkpoint may get before doctor and /healthz warn that it is served stale.
        sync_interval = "1m"
        stale_after = "2d"

        [keys]
        # A new key manifest goes to every partner at once and is put in its mailbox again
        # this often until the partner's gateway confirms it with a signed receipt.
        manifest_resend = "10m"
        # A revocation a partner has not confirmed within this time is a warning in
        # `gatehouse keys status`, `gatehouse doctor` and /healthz.
        revocation_confirm_within = "1h"

        [limits]
        # What this gateway accepts from partners, checked against the sizes a bundle declares
        # and the spool's free space before anything is written; beyond them a bundle is
        # refused with a signed receipt (reason too-large) and kept in quarantine; a
        # bundle file beyond bundle_max_mb is not even downloaded.
        bundle_max_mb = 2048
        unpacked_max_mb = 4096
        files_max = 4096
        # Space left free in the spool after a bundle's files are written (at most 1% of
        # the file system).
        free_space_reserve_mb = 256
        # A bundle created further ahead of this clock than this (or older than the delivery
        # expiry plus this) is moved out of the mailbox into quarantine.
        clock_tolerance = "1h"
        # An item signed by a key or organisation not known here waits this long in the
        # mailbox for a newer key manifest, then goes to quarantine.
        unknown_sender_hold = "1h"
        # Refused items kept in spool/quarantine per sender (senders proven by their
        # signature; everything unverified counts as one sender), and in all (the oldest go
        # first; the log and the audit log keep every reason).
        quarantine_per_sender = 1000
        quarantine_max_mb = 1024
        # A bundle from an organisation whose card is not added here is held unopened in
        # spool/held/ (its sender gets a signed "held" receipt) and opened as soon as the card
        # is added (`gatehouse partners add`); after held_expire it is refused as expired. At
        # most held_per_sender per claimed sender and held_max_mb in all: beyond them a new one
        # is refused (unknown-sender) and nothing held is pushed out.
        held_expire = "24h"
        held_per_sender = 100
        held_max_mb = 2048

        # Where verified records are published for staff. Without [publish] they stay in
        # spool/received/, readable by the gateway's user only. With it, each bundle appears in
        # <folder>/<sender>/<bundle id>/ as files 0640 and folders 0750 of this group (set
        # before the bundle appears; the gateway's user must be a member: SupplementaryGroups=).
        # [publish]
        # folder = "/srv/gatehouse/published"
        # group = "healthcare"

        [workflows]
        # The kinds of pack this gateway sends, as MESH's workflow ids: what `gatehouse send
        # --workflow` and a pack's .gatehouse.toml may name (lower-case letters, digits and
        # hyphens). A pack that names none is sent as `default`.
        names = ["reception-summary", "release-summary", "gp-record", "medication", "other"]
        default = "other"

        # Publish received packs of one workflow (from any partner, whatever this gateway's own
        # list) in their own folder, as <folder>/<sender>/<bundle id>/, instead of
        # spool/received/: an absolute path, or relative to the home folder.
        # [workflows.reception-summary]
        # folder = "/srv/gatehouse/reception"

        # Notifications (docs/NOTIFY.md): tell people when a pack arrives, a delivery fails or
        # expires, a receipt is overdue, a key or partner card is about to expire, or a partner
        # has not confirmed a revocation. Events are JSON, without patient data unless
        # include_patient_data = true; they wait in spool/notify/ (kept across restarts) and
        # are retried until max_age. Check with `gatehouse notify test`.
        # [notify]
        # (events: the kinds sent, on one line; default: every kind; a target may set its own)
        # events = ["pack.received", "pack.held", "delivery.failed", "delivery.expired"]
        # include_patient_data = false
        # receipt_overdue = "4h"
        # expiry_warning = "14d"
        # queue_max = 1000
        # max_age = "24h"
        #
        # A program run directly (never through a shell) with the event on standard input:
        # [notify.command]
        # argv = ["/usr/local/bin/gatehouse-page", "--team", "it"]
        # timeout = "10s"
        #
        # An HTTP(S) POST of the event; the certificate is always verified (the system's
        # authorities, or ca_file). With secret_file (mode 0600), the body's HMAC-SHA256 is
        # sent as X-Gatehouse-Signature: sha256=<hex>.
        # [notify.webhook]
        # url = "https://hooks.example.nhs.uk/gatehouse"
        # timeout = "10s"
        # ca_file = "/etc/gatehouse/webhook-ca.pem"
        # secret_file = "/etc/gatehouse/webhook.secret"
        # events = ["delivery.failed", "delivery.expired", "receipt.overdue"]

        # The journal: without [journal], the SQLite file spool/journal.sqlite (one gateway).
        # With it, a PostgreSQL database shared by several `gatehouse run` nodes and many
        # organisations (see docs/OPERATIONS.md, "A hosted service on PostgreSQL"). The password
        # is read from password_file (mode 0600), never written here.
        # [journal]
        # url = "postgres://gatehouse@db.example.net:5432/gatehouse"
        # password_file = "/etc/gatehouse/journal-password"
        # tls = "require"          # or "disable", for a database on loopback only
        # ca_file = "/etc/gatehouse/db-ca.pem"
        # node = "node-a"          # unique per node; the host name unless set
        # lease = "6s"             # a dead node's work is taken over after this

        # A hosted service: this folder's gatehouse.toml lists the organisation homes that one
        # `gatehouse run` serves (each a complete home with its own gatehouse.toml).
        # [tenants]
        # homes = ["/srv/gatehouse/orgs/A81001"]
        # folder = "/srv/gatehouse/orgs"

        # Per-partner settings: override the mailbox on a partner's identity card.
        # [partners.YOI123]
        # mailbox = "sftp://gatehouse@relay.example.net:22 ssh-ed25519 AAAA..."

        [web]
        # The staff web pages (`gatehouse web`). With tls_certificate and tls_key (PEM; the key
        # mode 0600; `gatehouse web cert` makes a self-signed pair) it serves HTTPS on any
        # address. Without them it serves plain HTTP on loopback only, behind a reverse proxy
        # that terminates TLS (docs/OPERATIONS.md): then set behind_tls_proxy = true so session
        # cookies are Secure.
        listen = "127.0.0.1:8443"
        # tls_certificate = "/var/lib/gatehouse/web/tls-certificate.pem"
        # tls_key = "/var/lib/gatehouse/web/tls-key.pem"
        behind_tls_proxy = false
        # A session unused for idle_timeout, or older than session_lifetime, is signed out.
        idle_timeout = "15m"
        session_lifetime = "8h"
        # The most one Send upload may add up to.
        upload_max_mb = 2048
        # A second factor (TOTP, enrolled at first sign-in) for every account.
        totp = true
        # Behind a single-sign-on proxy (e.g. one fronting NHS Smartcard/CIS2 sign-in) that sets
        # this header to the signed-in account's name: that account is signed in (role from
        # `gatehouse users`). Only with a loopback listen address, and only if the proxy strips
        # any value a client sent (docs/OPERATIONS.md). Off when absent.
        # trusted_proxy_user_header = "X-Remote-User"
        # The password and TOTP form: on without trusted_proxy_user_header, off with it.
        # password_signin = false

        """
}
