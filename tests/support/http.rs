//! A tiny HTTP server on the controller for tests whose hosts download from it (`get_url`).
//!
//! It binds the controller's address on the route to a test host (found by "connecting" a UDP
//! socket, which sends nothing), on an ephemeral port. `GET /<name>` answers the bytes last
//! given for `<name>` by [`Server::put`], anything else 404. It stops when dropped, and on its
//! own after [`MAX_REQUESTS`] requests or [`LIFETIME`].

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

pub const MAX_REQUESTS: usize = 500;
pub const LIFETIME: Duration = Duration::from_secs(600);

type Files = Arc<Mutex<HashMap<String, Vec<u8>>>>;

pub struct Server {
    pub addr: SocketAddr,
    files: Files,
    requests: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    worker: Option<JoinHandle<()>>,
}

/// The address this machine uses to reach `host_ip` (no packet is sent).
pub fn local_addr_towards(host_ip: &str) -> Result<IpAddr, String> {
    let socket = UdpSocket::bind("0.0.0.0:0").map_err(|e| format!("udp bind: {e}"))?;
    socket.connect((host_ip, 9)).map_err(|e| format!("no route to {host_ip}: {e}"))?;
    socket.local_addr().map(|a| a.ip()).map_err(|e| format!("local address towards {host_ip}: {e}"))
}

impl Server {
    /// Serves on `ip` (an ephemeral port).
    pub fn start(ip: IpAddr) -> Result<Server, String> {
        let listener = TcpListener::bind((ip, 0)).map_err(|e| format!("bind {ip}: {e}"))?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        listener.set_nonblocking(true).map_err(|e| e.to_string())?;
        let files: Files = Arc::default();
        let requests: Arc<Mutex<Vec<String>>> = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let (f, r, s) = (files.clone(), requests.clone(), stop.clone());
        let worker = thread::spawn(move || {
            let deadline = Instant::now() + LIFETIME;
            let mut served = 0;
            while !s.load(Ordering::Relaxed) && Instant::now() < deadline && served < MAX_REQUESTS {
                match listener.accept() {
                    Ok((stream, _)) => {
                        served += 1;
                        if let Some(line) = answer(stream, &f) {
                            r.lock().map(|mut all| all.push(line)).ok();
                        }
                    }
                    Err(_) => thread::sleep(Duration::from_millis(20)),
                }
            }
        });
        Ok(Server { addr, files, requests, stop, worker: Some(worker) })
    }

    /// `http://ip:port/name`.
    pub fn url(&self, name: &str) -> String {
        format!("http://{}/{name}", self.addr)
    }

    /// Serve `bytes` at `/name` from now on.
    pub fn put(&self, name: &str, bytes: &[u8]) {
        self.files.lock().map(|mut f| f.insert(name.to_string(), bytes.to_vec())).ok();
    }

    /// Request lines seen so far (`GET /name HTTP/1.1`).
    pub fn requests(&self) -> Vec<String> {
        self.requests.lock().map(|r| r.clone()).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(worker) = self.worker.take() {
            let _ = worker.join();
        }
    }
}

/// Reads one request head and answers it; returns its request line.
fn answer(mut stream: TcpStream, files: &Files) -> Option<String> {
    stream.set_nonblocking(false).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 64 * 1024 {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let line = head.lines().next().unwrap_or_default().to_string();
    let mut words = line.split_whitespace();
    let (method, path) = (words.next().unwrap_or_default(), words.next().unwrap_or_default());
    let body = files.lock().ok().and_then(|f| f.get(path.trim_start_matches('/')).cloned());
    let (status, body) = match body {
        Some(b) if method == "GET" || method == "HEAD" => ("200 OK", b),
        _ => ("404 Not Found", b"not found\n".to_vec()),
    };
    let reply = format!("HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len());
    stream.write_all(reply.as_bytes()).ok()?;
    if method != "HEAD" {
        stream.write_all(&body).ok()?;
    }
    Some(line)
}
