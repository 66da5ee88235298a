//! `openai:URL#MODEL` — any OpenAI-compatible chat-completions server (vLLM, llama.cpp
//! server, TGI, Ollama). Timeouts, retries with backoff, a concurrency limit for batches, and
//! an API key read from the environment that is never printed or stored.

use super::redact::{self, Secrets};
use super::{Backend, BackendError, Completion, Request};
use crate::types::{FinishReason, GenerationParams, ModelInfo, ServedModel, ServerInfo};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// Environment variables read for the API key, in order.
pub const API_KEY_ENV: &[&str] = &["POPBENCH_API_KEY", "OPENAI_API_KEY"];

/// Time allowed for each request that asks a server about itself ([`describe_server`]).
pub const SERVER_INFO_TIMEOUT: Duration = Duration::from_secs(3);

/// Characters kept of each raw self-report in [`ServerInfo::reports`].
const REPORT_CHARS: usize = 2000;

/// Strings in a self-report longer than this (a chat template…) are replaced by their sha256.
const REPORT_STRING_CHARS: usize = 200;

/// Settings of the HTTP client.
#[derive(Debug, Clone)]
pub struct HttpOptions {
    /// Time allowed for one request (connect + response).
    pub timeout: Duration,
    /// Retries after the first attempt, for timeouts, 408, 429 and 5xx.
    pub retries: u32,
    /// First backoff; doubles each retry, capped at 8 s (a Retry-After header wins, up to 30 s).
    pub backoff: Duration,
    /// Requests in flight at once when a batch is generated.
    pub concurrency: usize,
    /// Connection failures in a row (refused, reset, unresolvable; across requests) after which
    /// the server is taken for gone: the request in flight stops retrying and
    /// [`Backend::gone`] says so, so a run stops instead of spending every retry of every
    /// remaining item against a dead server.
    pub gone_after: u32,
}

impl Default for HttpOptions {
    fn default() -> Self {
        HttpOptions {
            timeout: Duration::from_secs(120),
            retries: 4,
            backoff: Duration::from_millis(500),
            concurrency: 4,
            gone_after: 8,
        }
    }
}

/// An OpenAI-compatible backend.
pub struct OpenAiBackend {
    info: ModelInfo,
    /// The base URL, without `/chat/completions`.
    base: String,
    endpoint: String,
    model: String,
    /// The `Authorization` header: the API key as a bearer token, else the URL's credentials
    /// as Basic.
    auth: Option<String>,
    /// The key and the URL's credentials, taken out of every error message.
    secrets: Secrets,
    agent: ureq::Agent,
    opts: HttpOptions,
    /// Connection failures in a row; any answer from the server resets it.
    connection_failures: AtomicU32,
}

impl std::fmt::Debug for OpenAiBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The API key is deliberately not shown.
        f.debug_struct("OpenAiBackend")
            .field("endpoint", &self.endpoint)
            .field("model", &self.model)
            .finish()
    }
}

impl OpenAiBackend {
    /// A backend for `url` (the base, e.g. `http://localhost:8000/v1`) and `model`.
    /// Credentials in the URL (`http://user:key@host/v1`) are taken out of it: sent as a Basic
    /// `Authorization` header (unless an API key is set), never recorded (the spec in
    /// [`Backend::info`] has them redacted) and redacted from every error message.
    pub fn new(url: &str, model: &str, spec: &str, opts: HttpOptions) -> OpenAiBackend {
        let api_key = API_KEY_ENV
            .iter()
            .find_map(|v| std::env::var(v).ok())
            .filter(|k| !k.is_empty());
        let (url, credentials) = redact::split_userinfo(url);
        let url = url.as_str();
        let secrets = Secrets::new(api_key.as_deref(), credentials.as_ref());
        let auth = match (&api_key, &credentials) {
            (Some(k), _) => Some(format!("Bearer {k}")),
            (None, Some((user, password))) => Some(format!(
                "Basic {}",
                redact::base64(format!("{user}:{password}").as_bytes())
            )),
            (None, None) => None,
        };
        let agent = ureq::AgentBuilder::new().timeout(opts.timeout).build();
        let trimmed = url.trim_end_matches('/');
        let (base, endpoint) = match trimmed.strip_suffix("/chat/completions") {
            Some(b) => (b.to_string(), trimmed.to_string()),
            None => (trimmed.to_string(), format!("{trimmed}/chat/completions")),
        };
        let info = ModelInfo {
            spec: redact::url_credentials(spec),
            name: super::ModelSpec::OpenAi {
                url: url.into(),
                model: model.into(),
            }
            .short_name(),
            backend: "openai".into(),
            device: "remote".into(),
            ..ModelInfo::default()
        };
        OpenAiBackend {
            info,
            base,
            endpoint,
            model: model.to_string(),
            auth,
            secrets,
            agent,
            opts,
            connection_failures: AtomicU32::new(0),
        }
    }

    /// Asks the server what it is ([`describe_server`], a few seconds at most) and records the
    /// answer as the `server` of [`Backend::info`], so the run manifest keeps it. Best effort:
    /// a server that does not answer leaves `server` empty and fails nothing.
    pub fn with_server_info(mut self) -> OpenAiBackend {
        self.info.server = describe_server(&self.base, self.auth.as_deref(), SERVER_INFO_TIMEOUT)
            .map(|mut s| {
                // What a server says about itself is stored: no secret of ours goes with it.
                for r in s.reports.values_mut() {
                    *r = self.secrets.redact(r);
                }
                Box::new(s)
            });
        self
    }

    fn body(&self, request: &Request<'_>) -> Value {
        let p = request.params;
        let mut body = json!({
            "model": self.model,
            "messages": request.messages,
            "max_tokens": p.max_tokens,
            "temperature": p.temperature,
            "seed": p.seed,
            "stream": false,
        });
        if p.top_p < 1.0 {
            body["top_p"] = json!(p.top_p);
        }
        if p.top_k > 0 {
            body["top_k"] = json!(p.top_k);
        }
        if !p.stop.is_empty() {
            body["stop"] = json!(p.stop);
        }
        body
    }

    /// One completion; an error's message (a server's error body included) has the key and
    /// the URL's credentials redacted, as it is journaled and printed.
    fn call(&self, request: &Request<'_>) -> Result<Completion, BackendError> {
        self.call_unredacted(request)
            .map_err(|e| e.map_message(|m| self.secrets.redact(&m)))
    }

    fn call_unredacted(&self, request: &Request<'_>) -> Result<Completion, BackendError> {
        let body = self.body(request);
        let start = Instant::now();
        let mut attempt = 0u32;
        loop {
            let mut req = self
                .agent
                .post(&self.endpoint)
                .set("Content-Type", "application/json");
            if let Some(a) = &self.auth {
                req = req.set("Authorization", a);
            }
            let tries = attempt + 1;
            let (failure, retry_after) = match req.send_json(&body) {
                Ok(resp) => {
                    self.connection_failures.store(0, Ordering::SeqCst);
                    match resp.into_json::<Value>() {
                        Ok(v) => {
                            return parse_completion(&v, start.elapsed())
                                .map(|c| cut_at_stop(c, request.params))
                                .map_err(|e| {
                                    BackendError::Remote(format!("{}: {e}", self.endpoint))
                                });
                        }
                        Err(e) if e.kind() == std::io::ErrorKind::TimedOut => (
                            BackendError::Timeout(format!(
                                "{} after {tries} attempt(s): timed out reading the response",
                                self.endpoint
                            )),
                            None,
                        ),
                        Err(e) => {
                            return Err(BackendError::Remote(format!(
                                "{}: response is not JSON: {e}",
                                self.endpoint
                            )))
                        }
                    }
                }
                Err(ureq::Error::Status(code, resp)) => {
                    self.connection_failures.store(0, Ordering::SeqCst);
                    let retry_after = resp
                        .header("Retry-After")
                        .and_then(|s| s.trim().parse::<u64>().ok());
                    let text: String = resp
                        .into_string()
                        .unwrap_or_default()
                        .chars()
                        .take(300)
                        .collect();
                    let message = format!(
                        "{} after {tries} attempt(s): HTTP {code}: {text}",
                        self.endpoint
                    );
                    let retryable = code == 408 || code == 429 || code >= 500;
                    if !retryable {
                        return Err(if code == 400 && mentions_context_length(&text) {
                            BackendError::ContextOverflow(message)
                        } else {
                            BackendError::HttpStatus {
                                status: code,
                                message,
                            }
                        });
                    }
                    (
                        BackendError::HttpStatus {
                            status: code,
                            message,
                        },
                        retry_after,
                    )
                }
                Err(ureq::Error::Transport(t)) => {
                    // The transport error names the URL itself.
                    let message = format!("after {tries} attempt(s): {t}");
                    if is_timeout(&t) {
                        (BackendError::Timeout(message), None)
                    } else {
                        let n = self.connection_failures.fetch_add(1, Ordering::SeqCst) + 1;
                        if n >= self.opts.gone_after.max(1) {
                            return Err(BackendError::Connection(message));
                        }
                        (BackendError::Connection(message), None)
                    }
                }
            };
            if attempt >= self.opts.retries || self.gone().is_some() {
                return Err(failure);
            }
            let backoff = self
                .opts
                .backoff
                .saturating_mul(1 << attempt.min(5))
                .min(Duration::from_secs(8));
            let wait = retry_after
                .map(|s| Duration::from_secs(s.min(30)))
                .unwrap_or(backoff);
            std::thread::sleep(wait);
            attempt += 1;
        }
    }
}

/// Asks an OpenAI-compatible server at `base` (e.g. `http://127.0.0.1:8080/v1`) about itself:
/// `GET base/models`, then the first of llama.cpp's `/props`, vLLM's `/version`, TGI's `/info`
/// and Ollama's `/api/version` (at the server root: `base` without a trailing `/v1`) that answers
/// with JSON. Each request may take `timeout`; none is retried. `None` when the server cannot be
/// reached at all; otherwise what it told, possibly little. The `Authorization` header value,
/// if any, is sent (some servers guard `/v1/models` with it) and never stored.
pub fn describe_server(
    base: &str,
    authorization: Option<&str>,
    timeout: Duration,
) -> Option<ServerInfo> {
    let base = base.trim_end_matches('/');
    let root = base.strip_suffix("/v1").unwrap_or(base);
    let agent = ureq::AgentBuilder::new().timeout(timeout).build();
    // Ok(None): the server answered, not with JSON (404…); Err: it could not be reached.
    let get = |url: &str| -> Result<Option<Value>, ()> {
        let mut req = agent.get(url);
        if let Some(a) = authorization {
            req = req.set("Authorization", a);
        }
        match req.call() {
            Ok(resp) => Ok(resp
                .into_string()
                .ok()
                .and_then(|t| serde_json::from_str::<Value>(&t).ok())),
            Err(ureq::Error::Status(..)) => Ok(None),
            Err(ureq::Error::Transport(_)) => Err(()),
        }
    };
    let mut info = ServerInfo {
        base_url: base.to_string(),
        ..ServerInfo::default()
    };
    let models_path = format!("{}/models", &base[root.len()..]);
    if let Some(v) = get(&format!("{base}/models")).ok()? {
        info.models = v
            .get("data")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|m| {
                        Some(ServedModel {
                            id: m.get("id")?.as_str()?.to_string(),
                            owned_by: m
                                .get("owned_by")
                                .and_then(Value::as_str)
                                .map(str::to_string),
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        info.reports.insert(models_path, report(&v));
    }
    let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
    for path in ["/props", "/version", "/info", "/api/version"] {
        let Ok(Some(v)) = get(&format!("{root}{path}")) else {
            continue;
        };
        let engine = match path {
            "/props" if v.get("build_info").is_some() || v.get("model_path").is_some() => {
                info.version = text(&v, "build_info");
                info.model_path = text(&v, "model_path");
                "llama.cpp"
            }
            "/version" if v.get("version").is_some() => {
                info.version = text(&v, "version");
                "vllm"
            }
            "/info" if v.get("model_id").is_some() => {
                info.version = text(&v, "version");
                info.model_path = text(&v, "model_id");
                "tgi"
            }
            "/api/version" if v.get("version").is_some() => {
                info.version = text(&v, "version");
                "ollama"
            }
            _ => continue,
        };
        info.engine = Some(engine.to_string());
        info.reports.insert(path.to_string(), report(&v));
        break;
    }
    Some(info)
}

/// A self-report as kept in the manifest: long strings replaced by their sha256, the whole cut
/// to [`REPORT_CHARS`] characters (a cut report ends with `…`).
fn report(v: &Value) -> String {
    fn shorten(v: &Value) -> Value {
        match v {
            Value::String(s) if s.chars().count() > REPORT_STRING_CHARS => Value::String(format!(
                "sha256:{:x} ({} chars)",
                Sha256::digest(s.as_bytes()),
                s.chars().count()
            )),
            Value::Array(a) => Value::Array(a.iter().map(shorten).collect()),
            Value::Object(o) => {
                Value::Object(o.iter().map(|(k, v)| (k.clone(), shorten(v))).collect())
            }
            other => other.clone(),
        }
    }
    let full = shorten(v).to_string();
    if full.chars().count() <= REPORT_CHARS {
        return full;
    }
    let mut cut: String = full.chars().take(REPORT_CHARS - 1).collect();
    cut.push('…');
    cut
}

/// Whether a transport error is a timeout (connect or read).
fn is_timeout(t: &ureq::Transport) -> bool {
    let mut source = std::error::Error::source(t);
    while let Some(e) = source {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            if matches!(
                io.kind(),
                std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
            ) {
                return true;
            }
        }
        source = e.source();
    }
    t.to_string().contains("timed out")
}

/// Whether a 400 answer says the prompt is longer than the model's context (vLLM, llama.cpp
/// server and TGI word it differently; all name the context and its length or limit).
fn mentions_context_length(text: &str) -> bool {
    let t = text.to_ascii_lowercase();
    t.contains("context")
        && (t.contains("length") || t.contains("exceed") || t.contains("too long"))
}

/// A server that honours `stop` ends the text before the stop string (OpenAI's semantics); one
/// that returns it anyway (or text past it) is cut here the same way, finish reason stop, so a
/// reply never holds a stop string whichever server wrote it. Usage stays as the server said.
fn cut_at_stop(mut c: Completion, params: &GenerationParams) -> Completion {
    if let Some(at) = params.stop_position(&c.text) {
        c.text.truncate(at);
        c.finish_reason = FinishReason::Stop;
    }
    c
}

/// Reads a chat-completions response.
fn parse_completion(v: &Value, elapsed: Duration) -> Result<Completion, String> {
    let choice = v
        .get("choices")
        .and_then(|c| c.get(0))
        .ok_or("no choices in the response")?;
    let text = match choice.get("message").and_then(|m| m.get("content")) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => return Err(format!("message content is not text: {other}")),
    };
    let finish_reason = match choice.get("finish_reason").and_then(Value::as_str) {
        Some("length") => FinishReason::Length,
        _ => FinishReason::Stop,
    };
    let usage = |k: &str| {
        v.get("usage")
            .and_then(|u| u.get(k))
            .and_then(Value::as_u64)
            .unwrap_or(0) as usize
    };
    Ok(Completion {
        text,
        prompt_tokens: usage("prompt_tokens"),
        completion_tokens: usage("completion_tokens"),
        prompt_ms: 0.0,
        generation_ms: elapsed.as_secs_f64() * 1000.0,
        finish_reason,
    })
}

impl Backend for OpenAiBackend {
    fn preferred_batch(&self) -> usize {
        self.opts.concurrency.max(1)
    }

    fn gone(&self) -> Option<String> {
        let n = self.connection_failures.load(Ordering::SeqCst);
        (n >= self.opts.gone_after.max(1)).then(|| {
            format!(
                "{}: {n} connection failures in a row; the server looks gone",
                self.endpoint
            )
        })
    }

    fn info(&self) -> &ModelInfo {
        &self.info
    }

    fn generate(&mut self, request: &Request<'_>) -> Result<Completion, BackendError> {
        self.call(request)
    }

    fn generate_batch(
        &mut self,
        requests: &[Request<'_>],
    ) -> Vec<Result<Completion, BackendError>> {
        let n = self.opts.concurrency.max(1);
        let this: &OpenAiBackend = self;
        let mut out: Vec<Option<Result<Completion, BackendError>>> =
            (0..requests.len()).map(|_| None).collect();
        for (chunk_reqs, chunk_out) in requests.chunks(n).zip(out.chunks_mut(n)) {
            std::thread::scope(|s| {
                let handles: Vec<_> = chunk_reqs
                    .iter()
                    .map(|r| s.spawn(move || this.call(r)))
                    .collect();
                for (slot, h) in chunk_out.iter_mut().zip(handles) {
                    *slot = Some(h.join().unwrap_or_else(|_| {
                        Err(BackendError::Remote("request thread panicked".into()))
                    }));
                }
            });
        }
        out.into_iter()
            .map(|r| r.unwrap_or_else(|| Err(BackendError::Remote("no result".into()))))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{ChatMessage, ItemKey};

    fn params(stop: &[&str]) -> GenerationParams {
        GenerationParams {
            stop: stop.iter().map(|s| s.to_string()).collect(),
            ..GenerationParams::default()
        }
    }

    #[test]
    fn stop_strings_are_sent_only_when_given() {
        let b = OpenAiBackend::new(
            "http://127.0.0.1:9/v1",
            "m",
            "openai:x",
            HttpOptions::default(),
        );
        let key = ItemKey {
            scenario_id: "s".into(),
            context: "c".into(),
            sample: 0,
        };
        let messages = [ChatMessage::new("user", "hi")];
        for (stop, sent) in [
            (params(&[]), None),
            (params(&[".", "\n"]), Some(json!([".", "\n"]))),
        ] {
            let body = b.body(&Request {
                key: &key,
                messages: &messages,
                params: &stop,
            });
            assert_eq!(body.get("stop").cloned(), sent, "{body}");
        }
    }

    #[test]
    fn a_stop_string_the_server_left_in_is_cut() {
        let v = json!({
            "choices": [{"message": {"content": "Hello. World."}, "finish_reason": "length"}],
            "usage": {"prompt_tokens": 5, "completion_tokens": 7}
        });
        let c = parse_completion(&v, Duration::ZERO).unwrap();
        assert_eq!(c.finish_reason, FinishReason::Length);
        let cut = cut_at_stop(c.clone(), &params(&["World", ". "]));
        assert_eq!(cut.text, "Hello");
        assert_eq!(cut.finish_reason, FinishReason::Stop);
        assert_eq!(cut.completion_tokens, 7, "usage stays as the server said");
        // No stop string in the text: unchanged.
        assert_eq!(cut_at_stop(c.clone(), &params(&["xyz"])), c);
        assert_eq!(cut_at_stop(c.clone(), &params(&[])), c);
    }
}
