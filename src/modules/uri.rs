//! `uri`: an HTTP request made by `curl` on the target. Everything secret (password, headers,
//! body) goes to curl as a config file on stdin (`-K -`), never on a command line. Never
//! `changed`; skipped in check mode like Ansible (check_mode support none).

use async_trait::async_trait;

use super::args::{ArgSpec, Args, Opt};
use super::{Ctx, Module, ModuleError, Query};
use crate::connection::Cmd;
use crate::value::{Map, Value};

pub struct Uri;

const ALIASES: &[(&str, &str)] = &[("user", "url_username"), ("password", "url_password")];

/// The arguments, declared once (parsing, aliases, choices, docs).
const SPEC: ArgSpec = ArgSpec {
    options: &[&[
        Opt::str("url", "the http or https URL").required(),
        Opt::str("method", "the HTTP method").default("GET"),
        Opt::raw("body", "the request body (a mapping is encoded as `body_format` says)"),
        Opt::str("body_format", "how `body` is encoded").choices(&["form-urlencoded", "json", "raw"]).default("raw"),
        Opt::dict("headers", "extra request headers"),
        Opt::list("status_code", "the statuses that count as success").default("[200]"),
        Opt::bool("return_content", "return the body as `content` (a JSON body is also `json`)").default("false"),
        Opt::int("timeout", "seconds for the request").default("30"),
        Opt::bool("validate_certs", "check the server's TLS certificate").default("true"),
        Opt::path("client_cert", "a client certificate (PEM)"),
        Opt::path("client_key", "its private key (PEM)"),
        Opt::path("ca_path", "CA certificates to trust (PEM)"),
        Opt::str("url_username", "user for basic authentication"),
        Opt::str("url_password", "password for basic authentication"),
        Opt::bool("force_basic_auth", "send credentials without waiting for a 401").default("false"),
        Opt::str("follow_redirects", "which redirects to follow")
            .choices(&["all", "no", "none", "safe", "urllib2", "yes"])
            .default("safe"),
    ]],
    aliases: ALIASES,
    ..ArgSpec::NONE
};

const BODY_MARK: &[u8] = b"@@troupe:body@@\n";

#[derive(Debug, Clone, PartialEq)]
pub struct Want {
    pub url: String,
    pub method: String,
    pub status_code: Vec<i64>,
    pub return_content: bool,
    /// curl config lines (fed on stdin).
    pub config: Vec<String>,
    pub timeout: u64,
}

/// Quote a value for a curl config file.
fn conf(v: &str) -> String {
    let mut s = String::from("\"");
    for c in v.chars() {
        match c {
            '\\' => s.push_str("\\\\"),
            '"' => s.push_str("\\\""),
            '\n' => s.push_str("\\n"),
            '\r' => s.push_str("\\r"),
            '\t' => s.push_str("\\t"),
            c => s.push(c),
        }
    }
    s.push('"');
    s
}

fn form_encode(m: &Map) -> String {
    let enc = |s: &str| {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
                b' ' => "+".into(),
                b => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    m.iter().map(|(k, v)| format!("{}={}", enc(k), enc(&crate::value::to_text(v)))).collect::<Vec<_>>().join("&")
}

impl Want {
    pub fn parse(raw: &Map) -> Result<Want, ModuleError> {
        let a = Args::parse("uri", raw, &SPEC)?;
        let url = a.req_str("url")?;
        let method = a.str("method")?.unwrap_or_else(|| "GET".into());
        if method.is_empty() || !method.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(a.error("Parameter 'method' needs to be a single word in uppercase, like GET or POST."));
        }
        let status_code: Vec<i64> = match a.list("status_code")?.unwrap_or_default() {
            v if v.is_empty() => vec![200],
            v => v
                .iter()
                .map(|s| {
                    s.parse().map_err(|_| a.error(format_args!("'status_code' entries must be integers, got '{s}'")))
                })
                .collect::<Result<_, _>>()?,
        };
        let timeout = a.int("timeout")?.unwrap_or(30).max(1) as u64;
        let mut config = Vec::new();
        if method == "HEAD" {
            config.push("head".to_string());
        } else {
            config.push(format!("request = {}", conf(&method)));
        }
        config.push(format!("url = {}", conf(&url)));
        config.push(format!("max-time = {timeout}"));
        let follow = a.choice("follow_redirects", &["all", "no", "none", "safe", "urllib2", "yes"])?.unwrap_or("safe");
        let follow = match follow {
            "all" | "yes" => true,
            "safe" | "urllib2" => method == "GET" || method == "HEAD",
            _ => false,
        };
        if follow {
            config.push("location".into());
        }
        if !a.bool("validate_certs", true)? {
            config.push("insecure".into());
        }
        for (arg, opt) in [("client_cert", "cert"), ("client_key", "key"), ("ca_path", "cacert")] {
            if let Some(p) = a.str(arg)? {
                config.push(format!("{opt} = {}", conf(&p)));
            }
        }
        if let Some(u) = a.str("url_username")? {
            let p = a.str("url_password")?.unwrap_or_default();
            config.push(format!("user = {}", conf(&format!("{u}:{p}"))));
        }
        let mut headers: Vec<(String, String)> = match a.get("headers") {
            None => Vec::new(),
            Some(Value::Object(m)) => m.iter().map(|(k, v)| (k.clone(), crate::value::to_text(v))).collect(),
            Some(other) => return Err(a.error(format_args!("'headers' must be a mapping, got {other}"))),
        };
        let has_ct = headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("content-type"));
        let format = a.choice("body_format", &["form-urlencoded", "json", "raw"])?.unwrap_or("raw");
        let body = match (a.get("body"), format) {
            (None, _) => None,
            (Some(Value::String(s)), _) => Some(s.clone()),
            (Some(v), "json") => Some(v.to_string()),
            (Some(Value::Object(m)), "form-urlencoded") => Some(form_encode(m)),
            (Some(v), _) => Some(crate::value::to_text(v)),
        };
        if !has_ct && body.is_some() {
            match format {
                "json" => headers.push(("Content-Type".into(), "application/json".into())),
                "form-urlencoded" => headers.push(("Content-Type".into(), "application/x-www-form-urlencoded".into())),
                _ => {}
            }
        }
        for (k, v) in &headers {
            config.push(format!("header = {}", conf(&format!("{k}: {v}"))));
        }
        if let Some(b) = body {
            config.push(format!("data-binary = {}", conf(&b)));
        }
        Ok(Want { url, method, status_code, return_content: a.bool("return_content", false)?, config, timeout })
    }

    pub fn script() -> &'static str {
        "b=$(mktemp) && h=$(mktemp) || exit 90\ntrap 'rm -f \"$b\" \"$h\"' EXIT\n\
         w=$(curl -q -sS -K - -o \"$b\" -D \"$h\" -w '%{http_code} %{time_total} %{url_effective}')\nrc=$?\n\
         echo \"rc=$rc\"; echo \"w=$w\"\necho '@@troupe:headers@@'; cat \"$h\"\necho '@@troupe:body@@'; cat \"$b\"\n"
    }
}

/// What came back from the script.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Response {
    pub curl_rc: i32,
    pub status: i64,
    pub elapsed: f64,
    pub url: String,
    pub reason: String,
    /// Header names lower-cased with `-` → `_`, last response only.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

pub fn parse_response(stdout: &[u8]) -> Response {
    let split = stdout.windows(BODY_MARK.len()).position(|w| w == BODY_MARK);
    let (head, body) = match split {
        Some(i) => (&stdout[..i], stdout[i + BODY_MARK.len()..].to_vec()),
        None => (stdout, Vec::new()),
    };
    let head = String::from_utf8_lossy(head);
    let mut r = Response { body, ..Response::default() };
    let mut in_headers = false;
    for line in head.lines() {
        let line = line.trim_end_matches('\r');
        if line == "@@troupe:headers@@" {
            in_headers = true;
        } else if !in_headers {
            if let Some(v) = line.strip_prefix("rc=") {
                r.curl_rc = v.trim().parse().unwrap_or(-1);
            } else if let Some(v) = line.strip_prefix("w=") {
                let mut parts = v.splitn(3, ' ');
                r.status = parts.next().and_then(|s| s.parse().ok()).unwrap_or(0);
                r.elapsed = parts.next().and_then(|s| s.parse().ok()).unwrap_or(0.0);
                r.url = parts.next().unwrap_or_default().to_string();
            }
        } else if line.starts_with("HTTP/") {
            // A new response (redirect or 100-continue): keep only the last one's headers.
            r.headers.clear();
            r.reason = line.splitn(3, ' ').nth(2).unwrap_or_default().to_string();
        } else if let Some((k, v)) = line.split_once(':') {
            r.headers.push((k.trim().to_ascii_lowercase().replace('-', "_"), v.trim().to_string()));
        }
    }
    r
}

fn python_list(codes: &[i64]) -> String {
    format!("[{}]", codes.iter().map(i64::to_string).collect::<Vec<_>>().join(", "))
}

/// The registered result, or the failure Ansible would report.
pub fn build_result(want: &Want, r: &Response) -> Result<Map, ModuleError> {
    let mut m = Map::new();
    let status = if r.curl_rc != 0 || r.status == 0 { -1 } else { r.status };
    for (k, v) in &r.headers {
        m.insert(k.clone(), v.clone().into());
    }
    m.insert("url".into(), if r.url.is_empty() { want.url.clone() } else { r.url.clone() }.into());
    m.insert("redirected".into(), (!r.url.is_empty() && r.url != want.url).into());
    m.insert("status".into(), status.into());
    m.insert("elapsed".into(), (r.elapsed as i64).into());
    m.insert("cookies".into(), Value::Object(Map::new()));
    let length = r.headers.iter().find(|(k, _)| k == "content_length").map(|(_, v)| v.clone());
    m.insert("msg".into(), format!("OK ({} bytes)", length.unwrap_or_else(|| "unknown".into())).into());
    let ctype =
        r.headers.iter().find(|(k, _)| k == "content_type").map(|(_, v)| v.to_ascii_lowercase()).unwrap_or_default();
    let is_json = ctype.split(';').next().is_some_and(|t| t.trim().ends_with("json"));
    let ok = want.status_code.contains(&status);
    let text = String::from_utf8_lossy(&r.body).into_owned();
    if want.return_content || is_json || !ok {
        m.insert("content".into(), text.clone().into());
    }
    if is_json {
        if let Ok(v) = serde_json::from_str::<Value>(&text) {
            m.insert("json".into(), v);
        }
    }
    if !ok {
        let why = if status == -1 {
            format!("Request failed: {}", r.reason)
        } else {
            format!("HTTP Error {status}: {}", r.reason)
        };
        let msg = format!("Status code was {status} and not {}: {why}", python_list(&want.status_code));
        m.insert("msg".into(), msg.clone().into());
        return Err(ModuleError::Failed { msg, result: m });
    }
    Ok(m)
}

#[async_trait]
impl Module for Uri {
    fn name(&self) -> &'static str {
        "uri"
    }

    fn args(&self) -> Option<&'static ArgSpec> {
        Some(&SPEC)
    }

    async fn query(&self, cx: &Ctx<'_>, args: &Map) -> Result<Query, ModuleError> {
        let want = Want::parse(args)?;
        if cx.check_mode {
            // Ansible's uri runs through an action plugin, whose wording this is.
            let q = Query { check_skip: true, ..Query::default() };
            return Ok(q.with("msg", "This action (uri) does not support check mode."));
        }
        let mut stdin = want.config.join("\n");
        stdin.push('\n');
        let mut cmd = Cmd::new(Want::script()).stdin(stdin.into_bytes());
        cmd.timeout = Some(std::time::Duration::from_secs(want.timeout + 30));
        let out = cx.run(cmd).await?;
        if out.rc == 90 {
            return Err(ModuleError::failed(format!("uri: cannot create temporary files on {}", cx.host)));
        }
        let mut r = parse_response(&out.stdout);
        if r.curl_rc != 0 {
            let err = out.stderr_text().trim().to_string();
            r.reason = if err.is_empty() { format!("curl exited with {}", r.curl_rc) } else { err };
        }
        Ok(Query { result: build_result(&want, &r)?, ..Query::default() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::testutil::Harness;
    use serde_json::json;

    fn want(v: Value) -> Want {
        Want::parse(v.as_object().unwrap()).unwrap()
    }

    #[test]
    fn golden_curl_config() {
        let w = want(json!({"url": "https://10.0.0.1:2379/v3/kv/put", "method": "POST", "body_format": "json",
            "body": {"key": "a\"b"}, "url_username": "root", "url_password": "pa ss", "validate_certs": false,
            "client_cert": "/etc/etcd/c.pem", "status_code": [200, "201"], "headers": {"X-Token": "t"}}));
        assert_eq!(
            w.config,
            vec![
                "request = \"POST\"",
                "url = \"https://10.0.0.1:2379/v3/kv/put\"",
                "max-time = 30",
                "insecure",
                "cert = \"/etc/etcd/c.pem\"",
                "user = \"root:pa ss\"",
                "header = \"X-Token: t\"",
                "header = \"Content-Type: application/json\"",
                "data-binary = \"{\\\"key\\\":\\\"a\\\\\\\"b\\\"}\"",
            ]
        );
        assert_eq!(w.status_code, vec![200, 201]);
        assert!(!Want::script().contains("pa ss"));
        let g = want(json!({"url": "http://x/health"}));
        assert!(g.config.contains(&"location".to_string()), "safe redirects follow GET");
        assert!(Want::parse(json!({"url": "u", "method": "post"}).as_object().unwrap()).is_err());
    }

    #[test]
    fn parses_responses_and_failures() {
        let raw = b"rc=0\nw=200 0.012 http://x/health\n@@troupe:headers@@\nHTTP/1.1 301 Moved\r\nLocation: /h\r\n\r\nHTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 16\r\n\r\n@@troupe:body@@\n{\"health\":\"true\"}";
        let r = parse_response(raw);
        assert_eq!(r.status, 200);
        assert_eq!(r.headers.len(), 2, "only the last response's headers");
        let w = want(json!({"url": "http://x/health"}));
        let m = build_result(&w, &r).unwrap();
        assert_eq!(m["json"]["health"], "true");
        assert_eq!(m["content_type"], "application/json");
        assert_eq!(m["msg"], "OK (16 bytes)");
        let mut nf = r.clone();
        nf.status = 404;
        nf.reason = "Not Found".into();
        let e = build_result(&w, &nf).unwrap_err();
        assert_eq!(e.to_string(), "Status code was 404 and not [200]: HTTP Error 404: Not Found");
        let down = Response { curl_rc: 7, reason: "curl: (7) Failed to connect".into(), ..Response::default() };
        let e = build_result(&w, &down).unwrap_err().to_string();
        assert!(e.starts_with("Status code was -1 and not [200]: Request failed: curl: (7)"));
    }

    #[tokio::test]
    async fn real_request_to_a_local_server() {
        if std::process::Command::new("sh")
            .arg("-c")
            .arg("command -v curl")
            .output()
            .map(|o| !o.status.success())
            .unwrap_or(true)
        {
            return;
        }
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = std::thread::spawn(move || {
            use std::io::{Read, Write};
            let (mut s, _) = listener.accept().unwrap();
            let mut req = String::new();
            let mut buf = [0u8; 4096];
            // Read until the whole body ("hi") arrived; it may come in a second packet.
            while !req.ends_with("hi") {
                let n = s.read(&mut buf).unwrap();
                if n == 0 {
                    break;
                }
                req.push_str(&String::from_utf8_lossy(&buf[..n]));
            }
            let body = "{\"ok\":true}";
            let _ = write!(s, "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
            req
        });
        let h = Harness::new();
        let args = json!({"url": format!("http://127.0.0.1:{port}/x"), "method": "PUT", "body": "hi",
                          "status_code": 201, "url_username": "u", "url_password": "p"});
        let (changed, res) = h.run(&Uri, args.clone()).await.unwrap();
        assert!(!changed);
        assert_eq!(res["status"], 201);
        assert_eq!(res["json"]["ok"], true);
        let req = server.join().unwrap();
        assert!(req.starts_with("PUT /x") && req.contains("Authorization: Basic dTpw") && req.ends_with("hi"));
    }
}
