//! A real nginx (Debian's `nginx-light`) in front of a test's bridge, running
//! the repository's own `deploy/nginx.conf`: as it is (HTTP/1.1), with TLS
//! and HTTP/2 on its listener (a certificate made for the test), or as a
//! middlebox that buffers responses (and ignores `X-Accel-Buffering`), which
//! a test can turn on and off while it runs.

use crate::{free_port, wait_until, workspace_root, Error};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// How the proxy listens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Listener {
    /// Plain HTTP/1.1, as the shipped file says.
    Http1,
    /// TLS with HTTP/2 (`listen … ssl http2`), the browser multiplexing every
    /// request and stream of the origin over one connection.
    Http2,
    /// HTTP/1.1 through a proxy that buffers whole responses, as some
    /// corporate proxies and antivirus do: a stream opens, and then nothing
    /// of it arrives.
    Buffering,
}

/// An nginx process; stopped on drop.
pub struct Nginx {
    pub port: u16,
    pub listener: Listener,
    child: Child,
    dir: PathBuf,
    /// The site as shipped (with this test's addresses), and as buffering.
    friendly: String,
    buffering: String,
}

/// What turns the shipped location into a buffering middlebox: it buffers
/// whatever the bridge's `X-Accel-Buffering: no` says, and compresses event
/// streams, which holds their bytes back until a compressed block fills (an
/// SSE-unaware compressing proxy, the commonest way streams stall). It sends
/// a response's head at once (`postpone_output 0`), as such proxies do: the
/// stream opens, and then nothing of it arrives.
const BUFFERING: &str = "proxy_buffering on;\n        proxy_ignore_headers X-Accel-Buffering;\n        postpone_output 0;\n        gzip on;\n        gzip_min_length 0;\n        gzip_types text/event-stream application/json;";

impl Nginx {
    /// Starts nginx with `deploy/nginx.conf` in front of the bridge on
    /// `bridge_port`, serving `dist/`.
    pub async fn start(bridge_port: u16, listener: Listener) -> Result<Nginx, Error> {
        let port = free_port();
        let dir = std::env::temp_dir().join(format!("e2e-nginx-{port}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|e| format!("nginx's folder: {e}"))?;
        let shipped = std::fs::read_to_string(workspace_root().join("deploy/nginx.conf"))
            .map_err(|e| format!("deploy/nginx.conf: {e}"))?;
        let dist = workspace_root().join("dist");
        let listen = match listener {
            Listener::Http1 | Listener::Buffering => format!("listen 127.0.0.1:{port};"),
            Listener::Http2 => {
                make_certificate(&dir)?;
                format!(
                    "listen 127.0.0.1:{port} ssl http2;\n    ssl_certificate {0}/cert.pem;\n    ssl_certificate_key {0}/key.pem;",
                    dir.display()
                )
            }
        };
        let site = replace_once(&shipped, "listen 127.0.0.1:8080;", &listen)?;
        let site = replace_once(
            &site,
            "server 127.0.0.1:8787;",
            &format!("server 127.0.0.1:{bridge_port};"),
        )?;
        let site = replace_once(
            &site,
            "root /srv/discussion-panel/dist;",
            &format!("root {};", dist.display()),
        )?;
        let buffering = replace_once(&site, "proxy_buffering off;", BUFFERING)?;
        let first = match listener {
            Listener::Buffering => &buffering,
            _ => &site,
        };
        std::fs::write(dir.join("site.conf"), first).map_err(|e| e.to_string())?;
        let main = format!(
            "daemon off;\nworker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/error.log info;\n\
             events {{ worker_connections 256; }}\n\
             http {{\n  access_log off;\n  types {{ text/html html; text/javascript js; application/wasm wasm; text/css css; }}\n\
             client_body_temp_path {d}/body;\n  proxy_temp_path {d}/proxy;\n  fastcgi_temp_path {d}/fastcgi;\n\
             uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n  include {d}/site.conf;\n}}\n",
            d = dir.display()
        );
        std::fs::write(dir.join("nginx.conf"), main).map_err(|e| e.to_string())?;
        let binary = std::env::var("NGINX").unwrap_or_else(|_| "/usr/sbin/nginx".into());
        let child = Command::new(&binary)
            .args(["-p", &dir.display().to_string(), "-c"])
            .arg(dir.join("nginx.conf"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| {
                format!("cannot start {binary} (scripts/setup.sh installs nginx-light): {e}")
            })?;
        let nginx = Nginx {
            port,
            listener,
            child,
            dir,
            friendly: site,
            buffering,
        };
        wait_until(Duration::from_secs(10), "nginx to listen", || async {
            std::net::TcpStream::connect(("127.0.0.1", port))
                .ok()
                .map(|_| ())
        })
        .await
        .map_err(|e| format!("{e}; nginx's log:\n{}", nginx.log_tail()))?;
        Ok(nginx)
    }

    /// Makes the proxy buffer (or stop buffering) from its next requests
    /// on: the site is rewritten and nginx reloads it (`SIGHUP`); streams
    /// already open stay as they were.
    pub async fn set_buffering(&self, buffering: bool) -> Result<(), Error> {
        let site = if buffering {
            &self.buffering
        } else {
            &self.friendly
        };
        std::fs::write(self.dir.join("site.conf"), site).map_err(|e| e.to_string())?;
        // Reloaded once its log says so (the new workers took over).
        let log = self.dir.join("error.log");
        let count = || {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            text.matches("start worker process").count()
        };
        let before = count();
        let reloaded = Command::new("kill")
            .args(["-HUP", &self.child.id().to_string()])
            .status()
            .map_err(|e| format!("signalling nginx: {e}"))?;
        if !reloaded.success() {
            return Err(format!("nginx did not take the reload ({reloaded})"));
        }
        wait_until(Duration::from_secs(10), "nginx to reload", || async {
            (count() > before).then_some(())
        })
        .await
    }

    /// The page's origin through the proxy.
    pub fn origin(&self) -> String {
        match self.listener {
            Listener::Http1 | Listener::Buffering => format!("http://127.0.0.1:{}", self.port),
            Listener::Http2 => format!("https://127.0.0.1:{}", self.port),
        }
    }

    pub fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.dir.join("error.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn replace_once(text: &str, from: &str, to: &str) -> Result<String, Error> {
    match text.matches(from).count() {
        1 => Ok(text.replacen(from, to, 1)),
        n => Err(format!(
            "deploy/nginx.conf has {n} copies of {from:?}, not one"
        )),
    }
}

/// A self-signed certificate for 127.0.0.1 (the browser is told to accept it).
fn make_certificate(dir: &Path) -> Result<(), Error> {
    let status = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
        ])
        .args(["-addext", "subjectAltName=IP:127.0.0.1"])
        .arg("-keyout")
        .arg(dir.join("key.pem"))
        .arg("-out")
        .arg(dir.join("cert.pem"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map_err(|e| format!("openssl: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("openssl could not make a certificate: {status}"))
    }
}
