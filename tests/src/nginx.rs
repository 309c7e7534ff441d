//! A real nginx (Debian's `nginx-light`) in front of a test's bridge, running
//! the repository's own `deploy/nginx.conf`: as it is (HTTP/1.1), or with
//! TLS and HTTP/2 on its listener (a certificate made for the test).

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
}

/// An nginx process; stopped on drop.
pub struct Nginx {
    pub port: u16,
    pub listener: Listener,
    child: Child,
    dir: PathBuf,
}

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
            Listener::Http1 => format!("listen 127.0.0.1:{port};"),
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
        std::fs::write(dir.join("site.conf"), site).map_err(|e| e.to_string())?;
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

    /// The page's origin through the proxy.
    pub fn origin(&self) -> String {
        match self.listener {
            Listener::Http1 => format!("http://127.0.0.1:{}", self.port),
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
