//! Reading objects of the embedded store as streams, whole or a byte range of them.

use std::io::SeekFrom;
use std::path::Path;

use tokio::io::{AsyncReadExt, AsyncSeekExt};

use super::files::is_absent;
use crate::error::{Result, StoreError, from_io as io_error};
use crate::objects::{ByteRange, ObjectBody};

/// Opens the file at `path` for reading `range` of it (all of it when `None`).
/// `NotFound` when there is no file; `Conflict("range")` when the range starts at or
/// past the end of the file, or ends before it starts (as S3 answers 416).
pub(super) async fn open_range(path: &Path, range: Option<ByteRange>) -> Result<ObjectBody> {
    let mut file = match tokio::fs::File::open(path).await {
        Ok(file) => file,
        Err(e) if is_absent(&e) => return Err(StoreError::NotFound),
        Err(e) => return Err(io_error(e)),
    };
    let meta = file.metadata().await.map_err(io_error)?;
    if !meta.is_file() {
        return Err(StoreError::NotFound);
    }
    let Some(range) = range else { return Ok(Box::pin(file)) };
    let (start, len) = span(range, meta.len())?;
    file.seek(SeekFrom::Start(start)).await.map_err(io_error)?;
    Ok(Box::pin(file.take(len)))
}

/// Where `range` starts in an object of `size` bytes and how many bytes it covers (an
/// end past the object is cut to it, as S3 does).
pub(crate) fn span(range: ByteRange, size: u64) -> Result<(u64, u64)> {
    let last = range.end.map_or(size.saturating_sub(1), |end| end.min(size.saturating_sub(1)));
    if range.start >= size || range.end.is_some_and(|end| end < range.start) {
        return Err(StoreError::Conflict("range".into()));
    }
    Ok((range.start, last - range.start + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(start: u64, end: Option<u64>) -> ByteRange {
        ByteRange { start, end }
    }

    #[test]
    fn spans_are_cut_to_the_object() {
        assert_eq!(span(range(0, None), 10).unwrap(), (0, 10));
        assert_eq!(span(range(3, Some(5)), 10).unwrap(), (3, 3));
        assert_eq!(span(range(9, Some(9)), 10).unwrap(), (9, 1));
        assert_eq!(span(range(4, Some(1_000)), 10).unwrap(), (4, 6));
    }

    #[test]
    fn ranges_outside_the_object_are_conflicts() {
        for (r, size) in
            [(range(10, None), 10), (range(0, None), 0), (range(5, Some(4)), 10), (range(11, Some(20)), 10)]
        {
            assert!(matches!(span(r, size), Err(StoreError::Conflict(what)) if what == "range"), "{r:?} of {size}");
        }
    }
}
