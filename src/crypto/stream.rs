//! Streaming encryption of attachments: plaintext goes in a piece at a time, age
//! ciphertext comes out as fixed-size [`SealedChunk`]s for the store. Nothing is
//! buffered beyond one chunk, so memory does not grow with the file.

use std::io::{self, Read, Write};

use sha2::{Digest, Sha256};

use super::{CryptoError, ReporterKey};

/// Size of the ciphertext pieces handed to a [`ChunkSink`]: large enough that writing
/// them costs few system calls, small enough that memory per upload stays tiny.
pub const CHUNK_BYTES: usize = 128 * 1024;

/// A piece of an age ciphertext stream, in order.
pub struct SealedChunk(Vec<u8>);

impl SealedChunk {
    /// The ciphertext bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

/// Where a [`BlobSealer`] puts ciphertext, a chunk at a time.
pub trait ChunkSink {
    /// Stores the next chunk.
    fn put(&mut self, chunk: SealedChunk) -> io::Result<()>;
}

/// Cuts the ciphertext written by age into [`CHUNK_BYTES`] pieces.
struct Chunker<S> {
    buf: Vec<u8>,
    sink: S,
}

impl<S: ChunkSink> Write for Chunker<S> {
    fn write(&mut self, mut data: &[u8]) -> io::Result<usize> {
        let written = data.len();
        while !data.is_empty() {
            let take = (CHUNK_BYTES - self.buf.len()).min(data.len());
            self.buf.extend_from_slice(&data[..take]);
            data = &data[take..];
            if self.buf.len() == CHUNK_BYTES {
                let full = std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK_BYTES));
                self.sink.put(SealedChunk(full))?;
            }
        }
        Ok(written)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<S: ChunkSink> Chunker<S> {
    fn finish(mut self) -> io::Result<S> {
        if !self.buf.is_empty() {
            let rest = std::mem::take(&mut self.buf);
            self.sink.put(SealedChunk(rest))?;
        }
        Ok(self.sink)
    }
}

/// Encrypts one attachment as a stream, counting its size and hashing its plaintext.
///
/// You **must** call [`BlobSealer::finish`]; without it the stored stream is truncated
/// and will not decrypt.
pub struct BlobSealer<S: ChunkSink> {
    writer: age::stream::StreamWriter<Chunker<S>>,
    size: u64,
    hash: Sha256,
}

/// What a finished stream reports about its plaintext.
pub struct SealedStream<S> {
    /// The sink, with every chunk delivered.
    pub sink: S,
    /// Plaintext size in bytes.
    pub size: u64,
    /// SHA-256 of the plaintext.
    pub sha256: [u8; 32],
}

impl<S: ChunkSink> BlobSealer<S> {
    pub(super) fn new(recipients: &[&dyn age::Recipient], sink: S) -> Result<Self, CryptoError> {
        let encryptor = age::Encryptor::with_recipients(recipients.iter().copied())
            .map_err(|e| CryptoError::Seal(e.to_string()))?;
        let chunker = Chunker {
            buf: Vec::with_capacity(CHUNK_BYTES),
            sink,
        };
        Ok(BlobSealer {
            writer: encryptor.wrap_output(chunker)?,
            size: 0,
            hash: Sha256::new(),
        })
    }

    /// Encrypts the next piece of plaintext.
    pub fn write(&mut self, plaintext: &[u8]) -> Result<(), CryptoError> {
        self.hash.update(plaintext);
        self.size += plaintext.len() as u64;
        self.writer.write_all(plaintext)?;
        Ok(())
    }

    /// Plaintext bytes written so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Ends the stream and delivers the last chunk.
    pub fn finish(self) -> Result<SealedStream<S>, CryptoError> {
        let chunker = self.writer.finish()?;
        Ok(SealedStream {
            sink: chunker.finish()?,
            size: self.size,
            sha256: self.hash.finalize().into(),
        })
    }
}

/// Opens an attachment stream read from storage, giving its plaintext as a reader.
pub fn open_stream<'a, R: Read + 'a>(
    identities: &[&dyn age::Identity],
    ciphertext: R,
) -> Result<Box<dyn Read + 'a>, CryptoError> {
    let decryptor =
        age::Decryptor::new_buffered(io::BufReader::with_capacity(CHUNK_BYTES, ciphertext))
            .map_err(|_| CryptoError::Open)?;
    let reader = decryptor
        .decrypt(identities.iter().copied())
        .map_err(|_| CryptoError::Open)?;
    Ok(Box::new(reader))
}

impl ReporterKey {
    /// Opens an attachment stream as the reporter.
    pub fn open_stream<'a, R: Read + 'a>(
        &self,
        ciphertext: R,
    ) -> Result<Box<dyn Read + 'a>, CryptoError> {
        open_stream(&[self.identity() as &dyn age::Identity], ciphertext)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct VecSink(Vec<Vec<u8>>);
    impl ChunkSink for VecSink {
        fn put(&mut self, chunk: SealedChunk) -> io::Result<()> {
            self.0.push(chunk.0);
            Ok(())
        }
    }

    #[test]
    fn stream_round_trip_in_chunks() {
        let id = age::x25519::Identity::generate();
        let mut sealer = BlobSealer::new(&[&id.to_public()], VecSink(vec![])).unwrap();
        let data: Vec<u8> = (0..700_000u32).map(|i| (i % 251) as u8).collect();
        for piece in data.chunks(7_777) {
            sealer.write(piece).unwrap();
        }
        let done = sealer.finish().unwrap();
        assert_eq!(done.size, data.len() as u64);
        assert_eq!(done.sha256, <[u8; 32]>::from(Sha256::digest(&data)));
        assert!(done.sink.0.iter().all(|c| c.len() <= CHUNK_BYTES));
        assert!(done.sink.0.len() >= 5);
        let joined: Vec<u8> = done.sink.0.concat();
        let mut out = Vec::new();
        open_stream(&[&id], &joined[..])
            .unwrap()
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, data);
    }
}
