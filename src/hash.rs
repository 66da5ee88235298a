//! Content hashes for provenance.

use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::Path;

/// Hex sha256 of bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Hex sha256 of a file, streamed.
pub fn sha256_file(path: &Path) -> std::io::Result<String> {
    let mut f = std::fs::File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex::encode(h.finalize()))
}

/// Hex sha256 over several files, each prefixed by its name relative to `root`, in the given
/// order; used for the directory and policy hash.
pub fn sha256_files(root: &Path, files: &[std::path::PathBuf]) -> std::io::Result<String> {
    let mut h = Sha256::new();
    for f in files {
        let rel = f.strip_prefix(root).unwrap_or(f);
        h.update(rel.to_string_lossy().as_bytes());
        h.update([0]);
        h.update(std::fs::read(f)?);
        h.update([0]);
    }
    Ok(hex::encode(h.finalize()))
}
