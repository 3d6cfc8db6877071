//! File-system steps every write of the embedded store shares: temporary files that
//! vanish unless renamed into place, durable renames, and the clean-up of leftovers.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::error::{Result, from_io as io_error};

/// Temporary files older than this are leftovers of a crash and removed on open.
const STALE_AFTER: Duration = Duration::from_secs(24 * 3600);

/// A temporary upload file, removed on drop unless it was renamed into place.
pub(super) struct TempFile(pub(super) PathBuf);

impl TempFile {
    /// Renames the (complete, synced) file to `dest`, creating its directory and
    /// replacing what is there, and makes the rename durable.
    pub(super) async fn move_to(self, dest: &Path) -> Result<()> {
        let dir = dest.parent().expect("an object path is inside its bucket");
        tokio::fs::create_dir_all(dir).await.map_err(io_error)?;
        self.move_into_existing(dest).await
    }

    /// Like [`TempFile::move_to`], but `NotFound` if `dest`'s directory does not exist
    /// (a part arriving for an upload that was completed or aborted meanwhile).
    pub(super) async fn move_into_existing(self, dest: &Path) -> Result<()> {
        let dir = dest.parent().expect("a destination has a directory");
        tokio::fs::rename(&self.0, dest).await.map_err(io_error)?;
        // Renamed: dropping `self` now only finds nothing to remove at the old path.
        drop(self);
        sync_dir(dir).await;
        Ok(())
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_file(&self.0)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(path = %self.0.display(), error = %e, "could not remove a temporary upload");
        }
    }
}

/// Whether an io error means "there is nothing at this path".
pub(super) fn is_absent(e: &std::io::Error) -> bool {
    matches!(e.kind(), std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory)
}

/// Makes a rename in `dir` durable (best effort: not every platform can sync a directory).
pub(super) async fn sync_dir(dir: &Path) {
    if let Ok(d) = tokio::fs::File::open(dir).await {
        let _ = d.sync_all().await;
    }
}

/// Removes temporary files left in `incoming` by a crash (older than [`STALE_AFTER`]).
pub(super) async fn remove_stale(incoming: &Path) {
    let Ok(mut entries) = tokio::fs::read_dir(incoming).await else { return };
    while let Ok(Some(entry)) = entries.next_entry().await {
        let Ok(meta) = entry.metadata().await else { continue };
        let age = meta.modified().ok().and_then(|m| SystemTime::now().duration_since(m).ok());
        if meta.is_file() && age.is_some_and(|a| a > STALE_AFTER) {
            let _ = tokio::fs::remove_file(entry.path()).await;
        }
    }
}
