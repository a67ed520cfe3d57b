//! Zip archives: each entry landed as its own input, with the decompressed size and the
//! compression ratio capped.

use super::*;

pub(super) fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

pub(super) fn land_zip(
    ctx: &LandCtx,
    file: std::fs::File,
    format: IngestFormat,
) -> Result<Landed, ServiceError> {
    let size = file
        .metadata()
        .map_err(|e| ctx.input_error(format!("cannot read: {e}")))?
        .len();
    let mut archive = zip::ZipArchive::new(BufReader::new(file))
        .map_err(|e| ctx.input_error(format!("not a readable zip archive: {e}")))?;
    // A zip bomb is refused by what its directory declares, before anything is inflated, and
    // by what inflating it actually yields, should the directory lie.
    let allowed = ctx
        .limits
        .max_decompressed_bytes
        .min(size.saturating_mul(ctx.limits.max_compression_ratio));
    let declared: u64 = (0..archive.len())
        .filter_map(|i| archive.by_index_raw(i).ok().map(|e| e.size()))
        .fold(0u64, u64::saturating_add);
    let too_big = |n: u64| {
        format!(
            "the archive expands to {n} bytes or more, beyond the {allowed} allowed for an \
             archive of {size} bytes (HORIZON_INGEST_MAX_DECOMPRESSED_BYTES = {}, \
             HORIZON_INGEST_MAX_COMPRESSION_RATIO = {})",
            ctx.limits.max_decompressed_bytes, ctx.limits.max_compression_ratio
        )
    };
    if declared > allowed {
        return Err(ctx.input_error(too_big(declared)));
    }
    let mut budget = allowed;
    let mut total = Landed::default();
    let mut entries = 0;
    for i in 0..archive.len() {
        let entry = archive
            .by_index(i)
            .map_err(|e| ctx.input_error(format!("zip entry {i}: {e}")))?;
        if entry.is_dir() {
            continue;
        }
        entries += 1;
        let mut sub = ctx.clone();
        let name = entry
            .name()
            .map(|n| n.into_owned())
            .unwrap_or_else(|_| format!("entry {i}"));
        sub.source = format!("{}!{name}", ctx.source);
        let mut capped = Capped {
            inner: entry,
            remaining: budget,
        };
        let landed = land_reader(&sub, BufReader::with_capacity(1 << 20, &mut capped), format)
            .map_err(|e| match capped.remaining {
                0 => ctx.input_error(too_big(allowed)),
                _ => e,
            })?;
        budget = capped.remaining;
        let stop = landed.interrupted;
        total.absorb(landed);
        if stop {
            break;
        }
    }
    if entries == 0 {
        return Err(ctx.input_error("the zip archive holds no file".into()));
    }
    Ok(total)
}

/// A reader that fails once more than `remaining` bytes have been read through it.
pub(super) struct Capped<R> {
    pub(super) inner: R,
    pub(super) remaining: u64,
}

impl<R: Read> Read for Capped<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.remaining == 0 {
            // One byte more would exceed the cap: is there one?
            let mut probe = [0u8; 1];
            return match self.inner.read(&mut probe)? {
                0 => Ok(0),
                _ => Err(std::io::Error::other(
                    "the archive expands beyond its limit",
                )),
            };
        }
        let want = buf
            .len()
            .min(self.remaining.min(usize::MAX as u64) as usize);
        let n = self.inner.read(&mut buf[..want])?;
        self.remaining -= n as u64;
        Ok(n)
    }
}
