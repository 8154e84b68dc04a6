/// Gatehouse's version: the one place it is written. `gatehouse --version` prints it.
public enum GatehouseVersion {
    /// The version, `MAJOR.MINOR.PATCH`. The formats have their own version (docs/FORMAT.md,
    /// "Gatehouse formats, version 1"), which this does not change.
    public static let current = "0.14.0"
}
