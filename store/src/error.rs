//! The one error type both storage seams return.

/// What went wrong in a storage backend, in the terms a caller acts on.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The record or object does not exist.
    #[error("not found")]
    NotFound,
    /// A uniqueness or state rule was broken; the string names what clashed (e.g.
    /// `username`, or `live_state` for a live stream asked to go back in its life).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The backend cannot answer now (down, timed out); retrying later may work.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    /// The metadata store cannot answer now (no database node reachable and ready, a
    /// cluster without quorum, timed out); nothing was written. Retrying later may work.
    #[error("metadata store unavailable: {0}")]
    MetadataUnavailable(String),
    /// The backend accepts reads but refuses writes (e.g. a degraded cluster or a full disk).
    #[error("storage is read-only: {0}")]
    ReadOnly(String),
    /// Anything else: a bug or corrupt data. The detail is for logs, not for clients.
    #[error("storage failure: {0}")]
    Internal(String),
}

/// Shorthand used throughout the crate.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Maps a filesystem error: missing → `NotFound`, refused writes (permissions,
/// read-only filesystem, full disk or quota) → `ReadOnly`, anything else → `Internal`.
pub(crate) fn from_io(e: std::io::Error) -> StoreError {
    use std::io::ErrorKind;
    match e.kind() {
        ErrorKind::NotFound => StoreError::NotFound,
        ErrorKind::PermissionDenied
        | ErrorKind::ReadOnlyFilesystem
        | ErrorKind::StorageFull
        | ErrorKind::QuotaExceeded => StoreError::ReadOnly(e.to_string()),
        _ => StoreError::Internal(e.to_string()),
    }
}
