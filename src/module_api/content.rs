//! What a whole-file write puts on a host: bytes in memory (inline `content`, a rendered
//! template, an edited file) or a controller file, hashed in chunks and streamed to the host
//! so a big `src` never sits in memory whole.

use std::io::Read;
use std::path::{Path, PathBuf};

use super::ModuleError;

pub enum Content<'a> {
    Bytes(&'a [u8]),
    File(LocalFile),
}

/// A controller file with the size and SHA-1 it had when it was read.
#[derive(Debug, Clone)]
pub struct LocalFile {
    pub path: PathBuf,
    pub size: u64,
    pub sha1: String,
}

impl LocalFile {
    pub fn open(path: &Path) -> Result<LocalFile, ModuleError> {
        let (size, sha1) =
            sha1_file(path).map_err(|e| ModuleError::failed(format!("cannot read {}: {e}", path.display())))?;
        Ok(LocalFile { path: path.to_path_buf(), size, sha1 })
    }

    /// Fails when the file at `path` no longer has the SHA-1 it had when it was compared (it
    /// must not change between the compare and the write).
    pub fn unchanged(path: &Path, sha1: &str) -> Result<(), ModuleError> {
        if LocalFile::open(path)?.sha1 != sha1 {
            return Err(ModuleError::failed(format!("{} changed while the task ran", path.display())));
        }
        Ok(())
    }
}

impl Content<'_> {
    pub fn size(&self) -> u64 {
        match self {
            Content::Bytes(b) => b.len() as u64,
            Content::File(f) => f.size,
        }
    }

    pub fn sha1(&self) -> String {
        match self {
            Content::Bytes(b) => sha1_hex(b),
            Content::File(f) => f.sha1.clone(),
        }
    }

    /// The bytes, when there are at most `max` of them (for `--diff`).
    pub fn small(&self, max: u64) -> Option<Vec<u8>> {
        match self {
            Content::Bytes(b) if b.len() as u64 <= max => Some(b.to_vec()),
            Content::File(f) if f.size <= max => std::fs::read(&f.path).ok(),
            _ => None,
        }
    }
}

pub use crate::facts::batch::sha1_hex;

/// (size, SHA-1) of a file, read in 64 KiB chunks.
pub fn sha1_file(path: &Path) -> std::io::Result<(u64, String)> {
    use sha1::{Digest, Sha1};
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha1::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut size = 0u64;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        size += n as u64;
    }
    Ok((size, hex(&hasher.finalize())))
}

fn hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_and_bytes_agree_and_changes_are_caught() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("f");
        let data: Vec<u8> = (0..300_000u32).map(|i| (i % 253) as u8).collect();
        std::fs::write(&path, &data).expect("write");
        let file = LocalFile::open(&path).expect("open");
        assert_eq!((file.size, file.sha1.as_str()), (300_000, sha1_hex(&data).as_str()));
        assert_eq!(Content::File(file.clone()).sha1(), Content::Bytes(&data).sha1());
        assert!(Content::File(file.clone()).small(1000).is_none());
        assert_eq!(Content::Bytes(b"abc").small(3), Some(b"abc".to_vec()));
        LocalFile::unchanged(&path, &file.sha1).expect("unchanged");
        std::fs::write(&path, b"other").expect("write");
        let err = LocalFile::unchanged(&path, &file.sha1).expect_err("changed");
        assert!(err.to_string().contains("changed while the task ran"), "{err}");
        assert!(LocalFile::open(&dir.path().join("missing")).is_err());
    }
}
