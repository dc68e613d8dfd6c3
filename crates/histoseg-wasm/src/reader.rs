//! A `Read + Seek` wrapper that counts the bytes read through it.

use std::cell::Cell;
use std::io::{Read, Result, Seek, SeekFrom};
use std::rc::Rc;

/// A shared count of bytes, readable while the reader is owned by a slide.
pub type ByteCounter = Rc<Cell<u64>>;

/// Counts every byte `inner` returns.
///
/// ```
/// use std::io::{Cursor, Read};
/// use histoseg_wasm::reader::CountingReader;
/// let (mut r, count) = CountingReader::new(Cursor::new(vec![7u8; 100]));
/// let mut buf = [0u8; 30];
/// r.read_exact(&mut buf).unwrap();
/// assert_eq!(count.get(), 30);
/// ```
#[derive(Debug)]
pub struct CountingReader<R> {
    inner: R,
    count: ByteCounter,
}

impl<R> CountingReader<R> {
    /// Wraps `inner`; the returned counter follows the reader.
    pub fn new(inner: R) -> (Self, ByteCounter) {
        let count = ByteCounter::default();
        let reader = CountingReader {
            inner,
            count: Rc::clone(&count),
        };
        (reader, count)
    }
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.set(self.count.get() + n as u64);
        Ok(n)
    }
}

impl<R: Seek> Seek for CountingReader<R> {
    fn seek(&mut self, pos: SeekFrom) -> Result<u64> {
        self.inner.seek(pos)
    }
}
