//! Streaming encryption of attachments: plaintext goes in a piece at a time, age
//! ciphertext comes out as [`SealedChunk`]s for the store. Nothing is
//! buffered beyond one chunk, so memory does not grow with the file.

use std::io::{self, Read, Write};

use sha2::{Digest, Sha256};

use super::CryptoError;

/// A piece of an age ciphertext stream, in order, as age writes it (the header, then
/// 64 KiB chunks plus their tags).
pub struct SealedChunk<'a>(&'a [u8]);

impl SealedChunk<'_> {
    /// The ciphertext bytes.
    pub fn as_bytes(&self) -> &[u8] {
        self.0
    }
}

/// Where a [`BlobSealer`] puts ciphertext.
pub trait ChunkSink {
    /// Stores the next piece.
    fn put(&mut self, chunk: SealedChunk<'_>) -> io::Result<()>;
}

/// Hands every piece of ciphertext age writes to the sink, unbuffered and uncopied.
struct SinkWriter<S>(S);

impl<S: ChunkSink> Write for SinkWriter<S> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.0.put(SealedChunk(data))?;
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Encrypts one attachment as a stream.
///
/// You **must** call [`BlobSealer::finish`]; without it the stored stream is truncated
/// and will not decrypt.
pub struct BlobSealer<S: ChunkSink> {
    writer: age::stream::StreamWriter<SinkWriter<S>>,
}

/// Size and SHA-256 of a plaintext seen a piece at a time. Kept apart from
/// [`BlobSealer`] so that hashing and encryption can run on two cores.
#[derive(Default)]
pub struct PlainDigest {
    size: u64,
    hash: Sha256,
}

impl PlainDigest {
    /// Counts and hashes the next piece.
    pub fn update(&mut self, plaintext: &[u8]) {
        self.hash.update(plaintext);
        self.size += plaintext.len() as u64;
    }

    /// Plaintext bytes seen so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The size and the SHA-256.
    pub fn finish(self) -> (u64, [u8; 32]) {
        (self.size, self.hash.finalize().into())
    }
}

impl<S: ChunkSink> BlobSealer<S> {
    pub(super) fn new(recipients: &[&dyn age::Recipient], sink: S) -> Result<Self, CryptoError> {
        let encryptor = age::Encryptor::with_recipients(recipients.iter().copied())
            .map_err(|e| CryptoError::Seal(e.to_string()))?;
        Ok(BlobSealer {
            writer: encryptor.wrap_output(SinkWriter(sink))?,
        })
    }

    /// Encrypts the next piece of plaintext.
    pub fn write(&mut self, plaintext: &[u8]) -> Result<(), CryptoError> {
        self.writer.write_all(plaintext)?;
        Ok(())
    }

    /// Ends the stream, delivers the last chunk and gives the sink back.
    pub fn finish(self) -> Result<S, CryptoError> {
        let SinkWriter(sink) = self.writer.finish()?;
        Ok(sink)
    }
}

/// Opens an attachment stream read from storage, giving its plaintext as a reader.
pub fn open_stream<'a, R: Read + 'a>(
    identities: &[&dyn age::Identity],
    ciphertext: R,
) -> Result<Box<dyn Read + 'a>, CryptoError> {
    let decryptor =
        age::Decryptor::new_buffered(io::BufReader::with_capacity(128 * 1024, ciphertext))
            .map_err(|_| CryptoError::Open)?;
    let reader = decryptor
        .decrypt(identities.iter().copied())
        .map_err(|_| CryptoError::Open)?;
    Ok(Box::new(reader))
}

#[cfg(test)]
mod tests {
    use super::*;

    struct VecSink(Vec<Vec<u8>>);
    impl ChunkSink for VecSink {
        fn put(&mut self, chunk: SealedChunk<'_>) -> io::Result<()> {
            self.0.push(chunk.0.to_vec());
            Ok(())
        }
    }

    #[test]
    fn stream_round_trip_in_chunks() {
        let id = age::x25519::Identity::generate();
        let mut sealer = BlobSealer::new(&[&id.to_public()], VecSink(vec![])).unwrap();
        let mut digest = PlainDigest::default();
        let data: Vec<u8> = (0..700_000u32).map(|i| (i % 251) as u8).collect();
        for piece in data.chunks(7_777) {
            sealer.write(piece).unwrap();
            digest.update(piece);
        }
        let sink = sealer.finish().unwrap();
        let (size, sha256) = digest.finish();
        assert_eq!(size, data.len() as u64);
        assert_eq!(sha256, <[u8; 32]>::from(Sha256::digest(&data)));
        assert!(sink.0.len() >= 5);
        let joined: Vec<u8> = sink.0.concat();
        let mut out = Vec::new();
        open_stream(&[&id], &joined[..])
            .unwrap()
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, data);
    }
}
