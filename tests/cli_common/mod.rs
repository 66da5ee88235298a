//! Shared helpers of the tests that run the `popbench` binary on replayed or served responses
//! (no model): running it in the repository root, and the server side of a bare HTTP/1.1
//! exchange for OpenAI-compatible mocks on loopback.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::Duration;

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs popbench in the repository root (its data root), with `POPBENCH_DATA` unset.
pub fn popbench(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_popbench"))
        .current_dir(root())
        .env_remove("POPBENCH_DATA")
        .args(args)
        .output()
        .unwrap()
}

/// Exit code, stdout and stderr, for assertion messages.
pub fn show(o: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Reads one HTTP request: its request line (`POST /v1/chat/completions HTTP/1.1`) and body.
pub fn read_request(stream: &mut TcpStream) -> Option<(String, Vec<u8>)> {
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut first = String::new();
    if reader.read_line(&mut first).ok()? == 0 {
        return None;
    }
    let mut len = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            len = v.trim().parse().ok()?;
        }
        if line == "\r\n" {
            break;
        }
    }
    let mut buf = vec![0u8; len];
    reader.read_exact(&mut buf).ok()?;
    Some((first, buf))
}

/// Answers with `status` and a JSON `body`, closing the connection.
pub fn reply(stream: &mut TcpStream, status: u16, body: &str) {
    let r = format!(
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(r.as_bytes());
}
