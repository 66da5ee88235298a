//! Secrets kept out of everything popbench stores or prints: the API key, and credentials
//! written in a model URL (`openai:http://user:key@host/v1#model`).
//!
//! A URL's credentials are taken out of the URL before it is used or recorded
//! ([`split_userinfo`]) and sent as an `Authorization` header instead; what a server answers
//! (an error body that echoes the key…) goes through a [`Secrets`] before it reaches a
//! journal, a manifest or the terminal.

/// What stands in for a secret.
pub const REDACTED: &str = "[redacted]";

/// `text` with the credentials of every URL in it (`scheme://user:password@host`) replaced by
/// [`REDACTED`]: for specs and URLs that are printed or stored.
pub fn url_credentials(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        let (head, tail) = rest.split_at(at + 3);
        out.push_str(head);
        let end = tail
            .find(|c: char| matches!(c, '/' | '?' | '#') || c.is_whitespace())
            .unwrap_or(tail.len());
        let authority = &tail[..end];
        match authority.rfind('@') {
            Some(i) => {
                out.push_str(REDACTED);
                out.push_str(&authority[i..]);
            }
            None => out.push_str(authority),
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

/// A URL without its credentials, and the credentials (`user`, `password`, percent-decoded)
/// when it had some.
pub fn split_userinfo(url: &str) -> (String, Option<(String, String)>) {
    let Some(at) = url.find("://") else {
        return (url.to_string(), None);
    };
    let start = at + 3;
    let end = url[start..]
        .find(['/', '?', '#'])
        .map(|i| start + i)
        .unwrap_or(url.len());
    let Some(i) = url[start..end].rfind('@') else {
        return (url.to_string(), None);
    };
    let userinfo = &url[start..start + i];
    let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
    let clean = format!("{}{}", &url[..start], &url[start + i + 1..]);
    (
        clean,
        Some((percent_decode(user), percent_decode(password))),
    )
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        if b[i] == b'%' && i + 2 < b.len() {
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Standard base64 (RFC 4648, with padding), for a Basic `Authorization` header.
pub fn base64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | (b as u32) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The secrets of one backend, to take out of any text it stores or prints.
#[derive(Clone, Default)]
pub struct Secrets(Vec<String>);

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Secrets({} hidden)", self.0.len())
    }
}

impl Secrets {
    /// The secrets of an API key and URL credentials: each as it is, and the Basic header value
    /// the credentials become (a server may echo the headers it got).
    pub fn new(api_key: Option<&str>, credentials: Option<&(String, String)>) -> Secrets {
        let mut v: Vec<String> = Vec::new();
        if let Some(k) = api_key {
            v.push(k.to_string());
        }
        if let Some((user, password)) = credentials {
            v.push(format!("{user}:{password}"));
            v.push(base64(format!("{user}:{password}").as_bytes()));
            v.push(password.clone());
        }
        // Too short a secret would redact ordinary text; such a key is not a key.
        v.retain(|s| s.chars().count() >= 4);
        // Longest first, so that a secret inside another is not left half shown.
        v.sort_by_key(|s| std::cmp::Reverse(s.len()));
        v.dedup();
        Secrets(v)
    }

    /// `text` with every secret and every URL credential replaced by [`REDACTED`].
    pub fn redact(&self, text: &str) -> String {
        let mut s = url_credentials(text);
        for secret in &self.0 {
            if s.contains(secret.as_str()) {
                s = s.replace(secret.as_str(), REDACTED);
            }
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_credentials_are_redacted_wherever_a_url_is() {
        assert_eq!(
            url_credentials("openai:http://user:s3cret@host:8/v1#m"),
            "openai:http://[redacted]@host:8/v1#m"
        );
        assert_eq!(
            url_credentials("GET https://a:b@x/y and http://plain/z"),
            "GET https://[redacted]@x/y and http://plain/z"
        );
        assert_eq!(url_credentials("http://h/v1#user@x"), "http://h/v1#user@x");
        assert_eq!(url_credentials("no url here"), "no url here");
        assert_eq!(url_credentials("http://k@ey@h"), "http://[redacted]@h");
    }

    #[test]
    fn userinfo_is_split_off_and_decoded() {
        let (clean, creds) = split_userinfo("http://us%40er:p%3Ass@h:1/v1");
        assert_eq!(clean, "http://h:1/v1");
        assert_eq!(creds, Some(("us@er".into(), "p:ss".into())));
        assert_eq!(split_userinfo("http://h/v1"), ("http://h/v1".into(), None));
        assert_eq!(split_userinfo("http://h/a@b").1, None);
        assert_eq!(
            split_userinfo("http://%zz@h").1,
            Some(("%zz".into(), String::new()))
        );
        assert_eq!(
            split_userinfo("http://%4@h").1,
            Some(("%4".into(), String::new()))
        );
        assert_eq!(
            split_userinfo("http://%é1@h").1,
            Some(("%é1".into(), String::new()))
        );
    }

    #[test]
    fn base64_matches_rfc_4648() {
        for (plain, coded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(plain.as_bytes()), coded);
        }
    }

    #[test]
    fn every_form_of_a_secret_is_redacted() {
        let creds = ("alice".to_string(), "pa55word".to_string());
        let s = Secrets::new(Some("sk-abc123"), Some(&creds));
        let body = format!(
            "bad key sk-abc123; got Basic {}; alice:pa55word; pa55word; http://alice:pa55word@h",
            base64(b"alice:pa55word")
        );
        let r = s.redact(&body);
        assert!(!r.contains("sk-abc123") && !r.contains("pa55word"), "{r}");
        assert!(!r.contains(&base64(b"alice:pa55word")), "{r}");
        assert_eq!(r.matches(REDACTED).count(), 5, "{r}");
        assert_eq!(format!("{s:?}"), "Secrets(4 hidden)");
    }
}
