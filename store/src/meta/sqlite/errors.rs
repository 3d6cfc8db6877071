//! Mapping of SQLite errors to [`StoreError`].

use rusqlite::ErrorCode;
use rusqlite::ffi;

use crate::error::StoreError;

/// Translates a rusqlite error into the store's terms: uniqueness violations become
/// `Conflict(column)`, busy/locked `MetadataUnavailable`, read-only/full `ReadOnly`, anything
/// else `Internal`.
pub(super) fn map_sqlite(e: rusqlite::Error) -> StoreError {
    if let rusqlite::Error::SqliteFailure(failure, message) = &e {
        match failure.code {
            ErrorCode::ConstraintViolation
                if matches!(
                    failure.extended_code,
                    ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY
                ) =>
            {
                return StoreError::Conflict(conflicting_column(message.as_deref()));
            }
            ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => {
                return StoreError::MetadataUnavailable(e.to_string());
            }
            ErrorCode::ReadOnly | ErrorCode::DiskFull => return StoreError::ReadOnly(e.to_string()),
            _ => {}
        }
    }
    StoreError::Internal(e.to_string())
}

/// Translates a migration failure.
pub(super) fn map_migration(e: rusqlite_migration::Error) -> StoreError {
    match e {
        rusqlite_migration::Error::RusqliteError { err, .. } => map_sqlite(err),
        other => StoreError::Internal(format!("schema migration: {other}")),
    }
}

/// The column named by a message like `UNIQUE constraint failed: users.username`
/// (the first one if several are listed).
fn conflicting_column(message: Option<&str>) -> String {
    let Some(list) = message.and_then(|m| m.rsplit_once(": ")).map(|(_, list)| list) else {
        return "unknown".to_owned();
    };
    let first = list.split(", ").next().unwrap_or(list);
    first.rsplit_once('.').map_or(first, |(_, column)| column).to_owned()
}

#[cfg(test)]
mod tests {
    use super::conflicting_column;

    #[test]
    fn column_is_taken_from_the_message() {
        assert_eq!(conflicting_column(Some("UNIQUE constraint failed: users.username")), "username");
        assert_eq!(conflicting_column(Some("UNIQUE constraint failed: videos.id")), "id");
        assert_eq!(conflicting_column(Some("UNIQUE constraint failed: t.a, t.b")), "a");
        assert_eq!(conflicting_column(None), "unknown");
    }
}
