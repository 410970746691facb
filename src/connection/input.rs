//! What a command reads on stdin: bytes held in memory, or a controller file streamed in
//! chunks (an archive or a big `copy` source never sits in memory whole).

use std::path::PathBuf;

use tokio::io::{AsyncWrite, AsyncWriteExt};

/// A command's stdin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    Bytes(Vec<u8>),
    /// Read when the command starts; its size then must not change.
    File(PathBuf),
}

/// What a connection feeds one command: the become password line, then the input.
pub struct Feed<'a> {
    pub prefix: Vec<u8>,
    pub input: Option<&'a Input>,
}

impl Feed<'_> {
    /// Total bytes, known before sending (the remote side reads exactly that many).
    pub fn size(&self) -> std::io::Result<u64> {
        let body = match self.input {
            None => 0,
            Some(Input::Bytes(b)) => b.len() as u64,
            Some(Input::File(p)) => std::fs::metadata(p).map_err(|e| in_file(p, e))?.len(),
        };
        Ok(self.prefix.len() as u64 + body)
    }

    /// Write exactly [`Feed::size`] bytes; a file that shrank meanwhile is an error.
    pub async fn write_to<W: AsyncWrite + Unpin>(&self, w: &mut W, len: u64) -> std::io::Result<()> {
        w.write_all(&self.prefix).await?;
        match self.input {
            None => {}
            Some(Input::Bytes(b)) => w.write_all(b).await?,
            Some(Input::File(p)) => {
                use tokio::io::AsyncReadExt;
                let want = len - self.prefix.len() as u64;
                let file = tokio::fs::File::open(p).await.map_err(|e| in_file(p, e))?;
                let sent = tokio::io::copy(&mut file.take(want), w).await?;
                if sent != want {
                    let msg = format!("{} shrank while it was sent ({sent} of {want} bytes)", p.display());
                    return Err(std::io::Error::other(msg));
                }
            }
        }
        w.flush().await
    }
}

fn in_file(p: &std::path::Path, e: std::io::Error) -> std::io::Error {
    std::io::Error::new(e.kind(), format!("{}: {e}", p.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feeds_prefix_then_bytes_or_file() {
        let rt = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("f");
        std::fs::write(&path, vec![7u8; 200_000]).expect("write");
        let file = Input::File(path.clone());
        let feed = Feed { prefix: b"pw\n".to_vec(), input: Some(&file) };
        let len = feed.size().expect("len");
        assert_eq!(len, 200_003);
        let mut out = Vec::new();
        rt.block_on(feed.write_to(&mut out, len)).expect("write");
        assert_eq!((&out[..3], out.len()), (&b"pw\n"[..], 200_003));
        // The file shrinks after its size was taken: an error, never a short stream.
        std::fs::write(&path, b"short").expect("write");
        assert!(rt.block_on(feed.write_to(&mut Vec::new(), len)).is_err());
        let bytes = Input::Bytes(b"abc".to_vec());
        let feed = Feed { prefix: vec![], input: Some(&bytes) };
        let mut out = Vec::new();
        rt.block_on(feed.write_to(&mut out, 3)).expect("write");
        assert_eq!(out, b"abc");
        let missing = Input::File(dir.path().join("missing"));
        let err = Feed { prefix: vec![], input: Some(&missing) }.size().expect_err("missing file");
        assert!(err.to_string().contains("missing"), "{err}");
    }
}
