//! `Read + Seek` over a `Blob` (a user's `File`) inside a Web Worker: each read fetches only
//! the bytes asked for (at least [`MIN_FETCH`], to serve the many small reads of TIFF
//! directories) through `Blob.slice` and `FileReaderSync`, so a multi-gigabyte slide is never
//! read whole. Reads that go on where the last fetch ended (a band of tiles stored in order)
//! double the fetch, up to [`MAX_FETCH`]: each `FileReaderSync` call costs a round trip to the
//! browser, which made a third of an overview's time with one fetch per tile.
//!
//! The buffering ([`ReadAhead`]) is generic over a [`Source`] and tested natively; [`BlobSource`]
//! is the browser's source.

use std::io::{self, Read, Seek, SeekFrom};

use wasm_bindgen::JsCast;

use crate::reader::ByteCounter;

/// Smallest fetch from the source, in bytes.
pub const MIN_FETCH: usize = 16 << 10;

/// Largest fetch made for sequential reads, in bytes.
pub const MAX_FETCH: usize = 4 << 20;

/// Random-access bytes of a known size.
pub trait Source {
    /// Total size in bytes.
    fn size(&self) -> u64;
    /// Fills `buf` with the bytes starting at `start` (the range lies inside the source).
    fn fetch(&mut self, start: u64, buf: &mut [u8]) -> io::Result<()>;
}

/// `Read + Seek` over a [`Source`] with one read-ahead buffer; counts the bytes fetched.
#[derive(Debug)]
pub struct ReadAhead<S> {
    source: S,
    pos: u64,
    buf: Vec<u8>,
    buf_start: u64,
    /// The next fetch's size: doubled while reads run on, reset by a jump.
    window: usize,
    fetched: ByteCounter,
}

impl<S: Source> ReadAhead<S> {
    /// Reads `source` from its start; the counter follows the bytes fetched from it.
    pub fn new(source: S) -> (Self, ByteCounter) {
        let fetched = ByteCounter::default();
        let reader = ReadAhead {
            source,
            pos: 0,
            buf: Vec::new(),
            buf_start: 0,
            window: MIN_FETCH,
            fetched: fetched.clone(),
        };
        (reader, fetched)
    }

    /// Size of the source in bytes.
    pub fn size(&self) -> u64 {
        self.source.size()
    }
}

impl<S: Source> Read for ReadAhead<S> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let size = self.source.size();
        if self.pos >= size || out.is_empty() {
            return Ok(0);
        }
        let buf_end = self.buf_start + self.buf.len() as u64;
        if self.pos < self.buf_start || self.pos >= buf_end {
            self.window = if self.pos == buf_end && !self.buf.is_empty() {
                (self.window * 2).min(MAX_FETCH)
            } else {
                MIN_FETCH
            };
            let want = out.len().max(self.window) as u64;
            let len = want.min(size - self.pos) as usize;
            self.buf.resize(len, 0);
            self.source.fetch(self.pos, &mut self.buf)?;
            self.buf_start = self.pos;
            self.fetched.set(self.fetched.get() + len as u64);
        }
        let offset = (self.pos - self.buf_start) as usize;
        let n = out.len().min(self.buf.len() - offset);
        out[..n].copy_from_slice(&self.buf[offset..offset + n]);
        self.pos += n as u64;
        Ok(n)
    }
}

impl<S: Source> Seek for ReadAhead<S> {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        let target = match pos {
            SeekFrom::Start(p) => Some(p),
            SeekFrom::End(d) => self.source.size().checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        self.pos = target.ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "seek before the start of the file",
            )
        })?;
        Ok(self.pos)
    }
}

/// A `Blob` read synchronously with `FileReaderSync` (only available in workers).
#[derive(Debug)]
pub struct BlobSource {
    blob: web_sys::Blob,
    reader: web_sys::FileReaderSync,
    size: u64,
}

impl BlobSource {
    /// A source over `blob`; fails outside a Web Worker, where `FileReaderSync` is missing.
    pub fn new(blob: web_sys::Blob) -> crate::Result<Self> {
        let reader = web_sys::FileReaderSync::new().map_err(|_| {
            crate::Error::Input(
                "FileReaderSync is unavailable: slides are read inside a Web Worker".into(),
            )
        })?;
        let size = blob.size() as u64;
        Ok(BlobSource { blob, reader, size })
    }
}

impl Source for BlobSource {
    fn size(&self) -> u64 {
        self.size
    }

    fn fetch(&mut self, start: u64, buf: &mut [u8]) -> io::Result<()> {
        let end = start + buf.len() as u64;
        let js = |e: wasm_bindgen::JsValue| {
            io::Error::other(format!("cannot read the file: {}", describe(&e)))
        };
        let slice = self
            .blob
            .slice_with_f64_and_f64(start as f64, end as f64)
            .map_err(js)?;
        let bytes = self.reader.read_as_array_buffer(&slice).map_err(js)?;
        let view = js_sys::Uint8Array::new(&bytes);
        if view.length() as usize != buf.len() {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!(
                    "asked for {} bytes at {start}, got {}",
                    buf.len(),
                    view.length()
                ),
            ));
        }
        view.copy_to(buf);
        Ok(())
    }
}

/// A JavaScript exception as text.
fn describe(e: &wasm_bindgen::JsValue) -> String {
    e.as_string()
        .or_else(|| {
            e.dyn_ref::<js_sys::Error>()
                .map(|e| String::from(e.message()))
        })
        .unwrap_or_else(|| format!("{e:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Bytes(Vec<u8>, usize);

    impl Source for Bytes {
        fn size(&self) -> u64 {
            self.0.len() as u64
        }
        fn fetch(&mut self, start: u64, buf: &mut [u8]) -> io::Result<()> {
            self.1 += 1;
            let s = start as usize;
            buf.copy_from_slice(&self.0[s..s + buf.len()]);
            Ok(())
        }
    }

    #[test]
    fn reads_match_the_bytes_and_small_reads_share_a_fetch() {
        let data: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let (mut r, fetched) = ReadAhead::new(Bytes(data.clone(), 0));
        let mut small = [0u8; 10];
        for at in [0u64, 100, 5000, MIN_FETCH as u64 - 10] {
            r.seek(SeekFrom::Start(at)).expect("seek");
            r.read_exact(&mut small).expect("read");
            assert_eq!(&small[..], &data[at as usize..at as usize + 10]);
        }
        assert_eq!(
            r.source.1, 1,
            "one fetch serves reads inside the first window"
        );
        assert_eq!(fetched.get(), MIN_FETCH as u64);
        let mut big = vec![0u8; 100_000];
        r.seek(SeekFrom::End(-100_000)).expect("seek");
        r.read_exact(&mut big).expect("read");
        assert_eq!(big, data[100_000..]);
        assert_eq!(r.read(&mut small).expect("eof"), 0);
        assert!(r.seek(SeekFrom::Current(-300_000)).is_err());
    }

    #[test]
    fn reads_that_run_on_fetch_more_at_once_and_a_jump_starts_small_again() {
        let data: Vec<u8> = (0..(3 << 20) as u32).map(|i| (i % 253) as u8).collect();
        let (mut r, fetched) = ReadAhead::new(Bytes(data.clone(), 0));
        let mut piece = vec![0u8; 20_000];
        let mut back = Vec::new();
        while back.len() < data.len() {
            let n = r.read(&mut piece).expect("read");
            back.extend_from_slice(&piece[..n]);
        }
        assert_eq!(back, data);
        // 16, 32, 64 ... 2048 KiB: 8 fetches for 3 MiB instead of one per piece (158).
        assert_eq!(r.source.1, 8);
        assert_eq!(fetched.get(), data.len() as u64);
        r.seek(SeekFrom::Start(1000)).expect("seek");
        r.read_exact(&mut piece[..10]).expect("read");
        assert_eq!(fetched.get(), data.len() as u64 + MIN_FETCH as u64);
    }
}
