//! The HTTP/1.1 request reading shared by the tests that stand up a real local server
//! (tests/openai_mock.rs, tests/judge_mock.rs, tests/robust.rs).

use std::io::BufRead;

/// One request read from a keep-alive connection: its head (request line and headers, up to
/// and including the blank line) and its body (`Content-Length` bytes). `None` when the
/// connection closed or the body was cut short.
pub fn read_request(reader: &mut impl BufRead) -> Option<(String, Vec<u8>)> {
    let mut head = String::new();
    let mut len = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return None;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            len = v.trim().parse().unwrap_or(0);
        }
        head.push_str(&line);
        if line == "\r\n" {
            break;
        }
    }
    let mut body = vec![0u8; len];
    reader.read_exact(&mut body).ok()?;
    Some((head, body))
}
