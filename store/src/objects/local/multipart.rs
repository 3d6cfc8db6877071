//! Multipart uploads of the embedded store, on disk, with S3's rules.
//!
//! ```text
//!  .multipart/{upload_id}/upload                 "bucket\nkey\ninitiated (Unix s)\n"
//!  .multipart/{upload_id}/{n:05}-{hash}.part     part n; its ETag is "\"{hash}\""
//!  create ─▶ dir + upload file      part PUT ─▶ .incoming/… ─rename─▶ {n:05}-{hash}.part
//!  complete ─▶ parts joined in .incoming/… ─rename─▶ bucket/key, then the dir is dropped
//!  abort ─▶ dir renamed to .multipart/.dropped-… (gone at once for every reader), removed
//! ```
//!
//! Upload ids are 128 random bits in lowercase hex: unguessable, and safe as a directory
//! name. `{hash}` is the first 32 hex digits of the part's SHA-256, so the part file's
//! name carries its ETag and a part is complete the moment it has a name (it is written
//! to `.incoming/` first and renamed, never listed half-sent). A part sent again replaces
//! the earlier one. Nothing here reads part bytes except completion.
//!
//! Abandoned uploads are not removed on open: a caller finds them with
//! [`pending_multiparts`](crate::objects::ObjectStore::pending_multiparts) and aborts them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use sha2::{Digest, Sha256};
use tokio::io::{AsyncRead, AsyncWriteExt};

use super::files::{TempFile, is_absent, sync_dir};
use super::{LocalObjects, WriteError};
use crate::error::{Result, StoreError, from_io as io_error};
use crate::objects::{Bucket, MAX_PARTS, MIN_PART_BYTES, ObjectInfo, PendingMultipart, UploadedPart, valid_key};

/// Name of the directory under the root that holds multipart uploads.
pub(super) const MULTIPART: &str = ".multipart";
/// Name of an upload's metadata file inside its directory.
const UPLOAD_FILE: &str = "upload";
/// Prefix of an upload directory that is being removed (never a valid upload id).
const DROPPED: &str = ".dropped-";
/// Hex digits of a part's SHA-256 that make its ETag.
const ETAG_HEX: usize = 32;

/// Whether `id` looks like an upload id this store makes (32 lowercase hex digits).
pub(super) fn valid_upload_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// What an upload's metadata file says.
struct UploadRecord {
    bucket: Bucket,
    key: String,
    initiated_at: i64,
}

impl UploadRecord {
    fn encode(&self) -> String {
        format!("{}\n{}\n{}\n", self.bucket.as_str(), self.key, self.initiated_at)
    }

    fn decode(text: &str) -> Option<UploadRecord> {
        let mut lines = text.lines();
        let bucket = Bucket::parse(lines.next()?)?;
        let key = lines.next().filter(|k| valid_key(k))?.to_owned();
        let initiated_at = lines.next()?.parse().ok()?;
        Some(UploadRecord { bucket, key, initiated_at })
    }
}

/// The file name of part `number` whose ETag digits are `hash`.
fn part_file_name(number: u32, hash: &str) -> String {
    format!("{number:05}-{hash}.part")
}

/// Part number and ETag digits of a part file's name (`None` for any other file).
fn parse_part_file_name(name: &str) -> Option<(u32, &str)> {
    let (number, rest) = name.strip_suffix(".part")?.split_once('-')?;
    let valid_hash = rest.len() == ETAG_HEX && rest.bytes().all(|b| b.is_ascii_hexdigit());
    if number.len() != 5 || !valid_hash {
        return None;
    }
    let number: u32 = number.parse().ok()?;
    (1..=MAX_PARTS).contains(&number).then_some((number, rest))
}

/// The ETag digits of an ETag as a client sends it back (quotes optional), or `None`
/// if it cannot be one of ours.
fn etag_digits(etag: &str) -> Option<String> {
    let digits = etag.trim().trim_matches('"').to_ascii_lowercase();
    (digits.len() == ETAG_HEX && digits.bytes().all(|b| b.is_ascii_hexdigit())).then_some(digits)
}

/// The current time in Unix seconds (an upload's `initiated`; the trait takes no `now`).
fn unix_now() -> i64 {
    SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(0))
}

/// The `Conflict("parts")` the seam promises for a refused completion (`why` goes to the log).
fn parts_conflict(why: &str) -> StoreError {
    tracing::debug!(%why, "multipart completion refused");
    StoreError::Conflict("parts".into())
}

impl LocalObjects {
    /// The directory of all multipart uploads.
    fn multipart_root(&self) -> PathBuf {
        self.root.join(MULTIPART)
    }

    /// The directory of upload `id` if it exists for `bucket/key`, else `NotFound`
    /// (like S3, an upload is only known under the key it was created for).
    async fn upload_dir(&self, bucket: Bucket, key: &str, id: &str) -> Result<PathBuf> {
        if !valid_upload_id(id) {
            return Err(StoreError::NotFound);
        }
        let dir = self.multipart_root().join(id);
        let record = match tokio::fs::read_to_string(dir.join(UPLOAD_FILE)).await {
            Ok(text) => UploadRecord::decode(&text),
            Err(e) if is_absent(&e) => return Err(StoreError::NotFound),
            Err(e) => return Err(io_error(e)),
        };
        match record {
            Some(r) if r.bucket == bucket && r.key == key => Ok(dir),
            Some(_) => Err(StoreError::NotFound),
            None => Err(StoreError::Internal(format!("unreadable multipart record in {}", dir.display()))),
        }
    }

    /// Starts an upload: its directory with the metadata file, written through a
    /// temporary name so that a listed upload always has a whole record.
    pub(super) async fn start_multipart(&self, bucket: Bucket, key: &str) -> Result<String> {
        self.valid_path(bucket, key)?;
        let id = format!("{:032x}", rand::random::<u128>());
        let dir = self.multipart_root().join(&id);
        tokio::fs::create_dir_all(&dir).await.map_err(io_error)?;
        let record = UploadRecord { bucket, key: key.to_owned(), initiated_at: unix_now() };
        let temp = TempFile(dir.join(".upload.tmp"));
        let mut file = tokio::fs::File::create(&temp.0).await.map_err(io_error)?;
        file.write_all(record.encode().as_bytes()).await.map_err(io_error)?;
        file.sync_all().await.map_err(io_error)?;
        drop(file);
        temp.move_into_existing(&dir.join(UPLOAD_FILE)).await?;
        sync_dir(&self.multipart_root()).await;
        Ok(id)
    }

    /// Stores part `number` of upload `upload_id` of `bucket/key` from `body`, at most
    /// `max_bytes` long, replacing an earlier copy of that part. The part is received in
    /// `.incoming/` and renamed into the upload only when complete, so a half-sent part
    /// is never listed. `Store(NotFound)` if the upload is unknown (or was completed or
    /// aborted while the part arrived).
    pub async fn write_part<R: AsyncRead + Unpin + Send>(
        &self,
        bucket: Bucket,
        key: &str,
        upload_id: &str,
        number: u32,
        body: R,
        max_bytes: u64,
    ) -> Result<UploadedPart, WriteError> {
        if !(1..=MAX_PARTS).contains(&number) {
            return Err(StoreError::Internal(format!("part number {number} out of 1..={MAX_PARTS}")).into());
        }
        let dir = self.upload_dir(bucket, key, upload_id).await?;
        let mut hasher = Sha256::new();
        let (temp, size) = self.receive(bucket, body, max_bytes, Some(&mut hasher)).await?;
        let hash = hex::encode(hasher.finalize())[..ETAG_HEX].to_owned();
        let name = part_file_name(number, &hash);
        temp.move_into_existing(&dir.join(&name)).await?;
        remove_other_copies(&dir, number, &name).await;
        Ok(UploadedPart { number, size, etag: format!("\"{hash}\"") })
    }

    /// The parts of an upload, by number (the newest copy of a part sent twice).
    pub(super) async fn parts_of(&self, bucket: Bucket, key: &str, upload_id: &str) -> Result<Vec<UploadedPart>> {
        let dir = self.upload_dir(bucket, key, upload_id).await?;
        let mut newest: BTreeMap<u32, (SystemTime, UploadedPart)> = BTreeMap::new();
        let mut entries = tokio::fs::read_dir(&dir).await.map_err(io_error)?;
        while let Some(entry) = entries.next_entry().await.map_err(io_error)? {
            let name = entry.file_name();
            let Some((number, hash)) = name.to_str().and_then(parse_part_file_name) else { continue };
            // A copy replaced (and removed) while we list it is skipped.
            let Ok(meta) = entry.metadata().await else { continue };
            let modified = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
            let part = UploadedPart { number, size: meta.len(), etag: format!("\"{hash}\"") };
            if newest.get(&number).is_none_or(|(seen, _)| modified >= *seen) {
                newest.insert(number, (modified, part));
            }
        }
        Ok(newest.into_values().map(|(_, part)| part).collect())
    }

    /// Joins the listed parts into `bucket/key` (see
    /// [`complete_multipart`](crate::objects::ObjectStore::complete_multipart)): every
    /// part is checked before a byte is copied, the object appears whole by a rename, and
    /// the upload is removed after.
    pub(super) async fn join_parts(
        &self,
        bucket: Bucket,
        key: &str,
        upload_id: &str,
        parts: &[UploadedPart],
    ) -> Result<ObjectInfo> {
        let dest = self.valid_path(bucket, key)?;
        let dir = self.upload_dir(bucket, key, upload_id).await?;
        let files = checked_part_files(&dir, parts).await?;
        let temp = TempFile(self.temp_path(bucket));
        let mut out = tokio::fs::File::create_new(&temp.0).await.map_err(io_error)?;
        let mut size = 0;
        for path in &files {
            // A part gone now was removed by an abort running meanwhile.
            let mut part = tokio::fs::File::open(path).await.map_err(io_error)?;
            size += tokio::io::copy(&mut part, &mut out).await.map_err(io_error)?;
        }
        out.flush().await.map_err(io_error)?;
        out.sync_all().await.map_err(io_error)?;
        drop(out);
        temp.move_to(&dest).await?;
        self.drop_upload_dir(upload_id).await?;
        Ok(ObjectInfo { size })
    }

    /// Drops an upload (idempotent; an upload of another key is left alone, as unknown).
    pub(super) async fn drop_upload(&self, bucket: Bucket, key: &str, upload_id: &str) -> Result<()> {
        match self.upload_dir(bucket, key, upload_id).await {
            Ok(_) => self.drop_upload_dir(upload_id).await,
            Err(StoreError::NotFound) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Renames an upload's directory out of sight (one step for every reader), then
    /// removes it.
    async fn drop_upload_dir(&self, upload_id: &str) -> Result<()> {
        let dropped = self.multipart_root().join(format!("{DROPPED}{upload_id}-{:016x}", rand::random::<u64>()));
        match tokio::fs::rename(self.multipart_root().join(upload_id), &dropped).await {
            Ok(()) => {}
            Err(e) if is_absent(&e) => return Ok(()),
            Err(e) => return Err(io_error(e)),
        }
        sync_dir(&self.multipart_root()).await;
        tokio::fs::remove_dir_all(&dropped).await.map_err(io_error)
    }

    /// The uploads of `bucket` not completed or aborted, oldest first.
    pub(super) async fn pending_of(&self, bucket: Bucket) -> Result<Vec<PendingMultipart>> {
        let mut pending = Vec::new();
        let mut entries = tokio::fs::read_dir(self.multipart_root()).await.map_err(io_error)?;
        while let Some(entry) = entries.next_entry().await.map_err(io_error)? {
            let Some(id) = entry.file_name().to_str().filter(|id| valid_upload_id(id)).map(str::to_owned) else {
                continue;
            };
            // An upload removed meanwhile, or one whose creation crashed before its
            // record was written, is not pending.
            let Ok(text) = tokio::fs::read_to_string(entry.path().join(UPLOAD_FILE)).await else { continue };
            let Some(record) = UploadRecord::decode(&text) else { continue };
            if record.bucket == bucket {
                pending.push(PendingMultipart { key: record.key, upload_id: id, initiated_at: record.initiated_at });
            }
        }
        pending.sort_by(|a, b| (a.initiated_at, &a.upload_id).cmp(&(b.initiated_at, &b.upload_id)));
        Ok(pending)
    }

    /// Removes what a crash left of uploads being dropped (never a pending upload).
    pub(super) async fn remove_dropped_uploads(&self) {
        let Ok(mut entries) = tokio::fs::read_dir(self.multipart_root()).await else { return };
        while let Ok(Some(entry)) = entries.next_entry().await {
            if entry.file_name().to_str().is_some_and(|name| name.starts_with(DROPPED)) {
                let _ = tokio::fs::remove_dir_all(entry.path()).await;
            }
        }
    }
}

/// The files of `parts` in `dir`, after S3's checks: at least one part, numbers
/// ascending, every part present with the ETag given, every part but the last at
/// least [`MIN_PART_BYTES`]. Any failure is `Conflict("parts")`.
async fn checked_part_files(dir: &Path, parts: &[UploadedPart]) -> Result<Vec<PathBuf>> {
    if parts.is_empty() {
        return Err(parts_conflict("no parts"));
    }
    if parts.windows(2).any(|pair| pair[0].number >= pair[1].number) {
        return Err(parts_conflict("part numbers not ascending"));
    }
    let mut files = Vec::with_capacity(parts.len());
    for (i, part) in parts.iter().enumerate() {
        let Some(hash) = etag_digits(&part.etag) else { return Err(parts_conflict("not an ETag of ours")) };
        if !(1..=MAX_PARTS).contains(&part.number) {
            return Err(parts_conflict("part number out of range"));
        }
        let path = dir.join(part_file_name(part.number, &hash));
        let size = match tokio::fs::metadata(&path).await {
            Ok(meta) => meta.len(),
            Err(e) if is_absent(&e) => return Err(parts_conflict("part missing or with another ETag")),
            Err(e) => return Err(io_error(e)),
        };
        if i + 1 < parts.len() && size < MIN_PART_BYTES {
            return Err(parts_conflict("a part but the last is too small"));
        }
        files.push(path);
    }
    Ok(files)
}

/// Removes earlier copies of part `number` in `dir`, all but the file `keep`.
async fn remove_other_copies(dir: &Path, number: u32, keep: &str) {
    let Ok(mut entries) = tokio::fs::read_dir(dir).await else { return };
    while let Ok(Some(entry)) = entries.next_entry().await {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if name != keep && parse_part_file_name(name).is_some_and(|(n, _)| n == number) {
            let _ = tokio::fs::remove_file(entry.path()).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn part_file_names_round_trip_and_nothing_else_parses() {
        let hash = "0123456789abcdef0123456789abcdef";
        assert_eq!(parse_part_file_name(&part_file_name(7, hash)), Some((7, hash)));
        assert_eq!(parse_part_file_name(&part_file_name(MAX_PARTS, hash)), Some((MAX_PARTS, hash)));
        for bad in
            ["upload", ".upload.tmp", "00000-0123456789abcdef0123456789abcdef.part", "1-abc.part", "00001-xyz.part"]
        {
            assert_eq!(parse_part_file_name(bad), None, "{bad}");
        }
    }

    #[test]
    fn etags_are_read_back_with_or_without_quotes() {
        let hash = "0123456789abcdef0123456789abcdef";
        assert_eq!(etag_digits(&format!("\"{hash}\"")).as_deref(), Some(hash));
        assert_eq!(etag_digits(&hash.to_ascii_uppercase()).as_deref(), Some(hash));
        assert_eq!(etag_digits("\"../../etc\""), None);
        assert_eq!(etag_digits(""), None);
    }

    #[test]
    fn upload_records_round_trip_and_refuse_bad_keys() {
        let record = UploadRecord { bucket: Bucket::Staging, key: "v1/video".into(), initiated_at: 1_700_000_000 };
        let back = UploadRecord::decode(&record.encode()).unwrap();
        assert_eq!((back.bucket, back.key.as_str(), back.initiated_at), (Bucket::Staging, "v1/video", 1_700_000_000));
        assert!(UploadRecord::decode("staging\n../x\n1\n").is_none());
        assert!(UploadRecord::decode("nope\nv1/video\n1\n").is_none());
    }

    #[test]
    fn upload_ids_are_lowercase_hex_of_128_bits() {
        assert!(valid_upload_id("0123456789abcdef0123456789abcdef"));
        assert!(!valid_upload_id("0123456789ABCDEF0123456789abcdef"));
        assert!(!valid_upload_id("../../staging/x"));
        assert!(!valid_upload_id(".dropped-0123456789abcdef01234567"));
    }
}
