//! The SQLite schema, as `rusqlite_migration` steps tracked in `PRAGMA user_version`.
//!
//! Append new migrations; never edit one that has shipped.

use rusqlite_migration::{M, Migrations};

/// All migrations, oldest first.
pub(super) fn migrations() -> Migrations<'static> {
    Migrations::new(vec![
        M::up(include_str!("0001_init.sql")).comment("users, sessions, videos, videos_fts"),
        M::up(include_str!("0002_live.sql")).comment("live streams"),
        M::up(include_str!("0003_servers.sql")).comment("server registry"),
        M::up(include_str!("0004_sfu_media.sql")).comment("SFU media addresses in the registry"),
        M::up(include_str!("0005_staged_uploads.sql")).comment("staged uploads"),
        M::up(include_str!("0006_live_host.sql")).comment("live streams' media servers"),
        M::up(include_str!("0007_recordings.sql")).comment("recordings of live streams"),
        M::up(include_str!("0008_live_record.sql")).comment("live streams that are not recorded"),
        M::up(include_str!("0009_jobs.sql")).comment("the job queue: transcoding into HLS"),
        M::up(include_str!("0010_product.sql"))
            .comment("unlisted videos, follows, view counts, purge jobs")
            .foreign_key_check(),
    ])
}

#[cfg(test)]
mod tests {
    #[test]
    fn migrations_are_valid() {
        super::migrations().validate().expect("migrations apply to an empty database");
    }
}
