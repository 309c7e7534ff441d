//! The bridge as a child process, and a client for its control API.

use crate::{free_port, wait_until_answers, workspace_root, Error};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// How a test wants its bridge.
#[derive(Clone, Debug)]
pub struct BridgeOptions {
    /// The bridge executable: integration tests pass `env!("CARGO_BIN_EXE_e2e-bridge")`.
    pub binary: PathBuf,
    /// Extra flags.
    pub args: Vec<String>,
    /// A history file, to survive restarts.
    pub history_file: Option<PathBuf>,
}

impl BridgeOptions {
    /// Fast heartbeats and a fast browser retry, so that every fault plays out in about a second.
    pub fn new(binary: impl Into<PathBuf>) -> Self {
        let args = ["--heartbeat-interval", "0.3", "--retry-ms", "300"]
            .map(String::from)
            .to_vec();
        BridgeOptions {
            binary: binary.into(),
            args,
            history_file: None,
        }
    }

    /// Adds flags.
    pub fn with_args(mut self, args: &[&str]) -> Self {
        self.args.extend(args.iter().map(|a| a.to_string()));
        self
    }
}

/// The `e2e-bridge` binary cargo built beside the running test (test binaries
/// live in `target/<profile>/deps/`, binaries one level up).
pub fn binary() -> PathBuf {
    let exe = std::env::current_exe().expect("the test knows its own path");
    let profile = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("a target directory");
    profile.join("e2e-bridge")
}

/// A running bridge process; killed on drop.
pub struct Bridge {
    pub port: u16,
    options: BridgeOptions,
    child: Option<Child>,
    http: reqwest::Client,
    log: PathBuf,
}

impl Bridge {
    /// Starts a bridge serving `dist/` on a free port and waits until it answers.
    pub async fn start(options: BridgeOptions) -> Result<Bridge, Error> {
        let dist = workspace_root().join("dist");
        if !dist.join("index.html").is_file() {
            return Err(format!(
                "{} has no index.html: build the panel first (scripts/test.sh does: trunk build --release)",
                dist.display()
            ));
        }
        let port = free_port();
        let log = std::env::temp_dir().join(format!("e2e-bridge-{port}.log"));
        let mut bridge = Bridge {
            port,
            options,
            child: None,
            http: reqwest::Client::new(),
            log,
        };
        bridge.spawn().await?;
        Ok(bridge)
    }

    async fn spawn(&mut self) -> Result<(), Error> {
        let mut command = Command::new(&self.options.binary);
        command
            .args(["--listen", &format!("127.0.0.1:{}", self.port)])
            .arg("--static-dir")
            .arg(workspace_root().join("dist"))
            .args(&self.options.args);
        if let Some(file) = &self.options.history_file {
            command.arg("--history-file").arg(file);
        }
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .map_err(|e| e.to_string())?;
        let log_err = log.try_clone().map_err(|e| e.to_string())?;
        command
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            .env("RUST_LOG", "info");
        self.child = Some(
            command
                .spawn()
                .map_err(|e| format!("cannot start the bridge: {e}"))?,
        );
        wait_until_answers(
            &self.url("/healthz"),
            Duration::from_secs(10),
            "the bridge to answer /healthz",
        )
        .await
    }

    /// `http://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Kills the process at once (SIGKILL): no graceful anything.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the bridge again on the same port (after [`Bridge::kill`]).
    pub async fn restart(&mut self) -> Result<(), Error> {
        self.kill();
        self.spawn().await
    }

    /// The bridge's log so far, for failure reports.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, Error> {
        let mut request = self.http.request(method.clone(), self.url(path));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request
            .send()
            .await
            .map_err(|e| format!("{method} {path}: {e}"))?;
        let status = response.status();
        let value: Value = response.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            return Err(format!("{method} {path} answered {status}: {value}"));
        }
        Ok(value)
    }

    /// Injects a message; returns its id.
    pub async fn inject(
        &self,
        channel: &str,
        author: &str,
        content: &str,
    ) -> Result<String, Error> {
        let body = json!({ "author": author, "content": content });
        let message = self
            .call(
                reqwest::Method::POST,
                &format!("/internal/channels/{channel}/messages"),
                Some(body),
            )
            .await?;
        message["id"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| format!("no id in {message}"))
    }

    /// Sends a raw, possibly malformed, frame to a channel's streams.
    pub async fn inject_raw(&self, channel: &str, frame: &str) -> Result<(), Error> {
        let body = json!({ "frame": frame });
        self.call(
            reqwest::Method::POST,
            &format!("/internal/channels/{channel}/raw"),
            Some(body),
        )
        .await
        .map(|_| ())
    }

    pub async fn set_gateway(&self, status: &str) -> Result<(), Error> {
        self.call(
            reqwest::Method::PUT,
            "/internal/gateway",
            Some(json!({ "status": status })),
        )
        .await
        .map(|_| ())
    }

    pub async fn pause_heartbeats(&self, paused: bool) -> Result<(), Error> {
        self.call(
            reqwest::Method::PUT,
            "/internal/heartbeats",
            Some(json!({ "paused": paused })),
        )
        .await
        .map(|_| ())
    }

    /// Ends the streams of `channel` (all when `None`); returns how many.
    pub async fn disconnect(&self, channel: Option<&str>) -> Result<u64, Error> {
        let body = channel.map_or(json!({}), |c| json!({ "channel": c }));
        let answer = self
            .call(reqwest::Method::POST, "/internal/disconnect", Some(body))
            .await?;
        Ok(answer["closed"].as_u64().unwrap_or(0))
    }

    pub async fn set_fault(&self, fault: Value) -> Result<(), Error> {
        self.call(reqwest::Method::PUT, "/internal/sse-fault", Some(fault))
            .await
            .map(|_| ())
    }

    /// How many streams the bridge has opened since it started.
    pub async fn connections_opened(&self) -> Result<u64, Error> {
        let report = self
            .call(reqwest::Method::GET, "/internal/connections", None)
            .await?;
        Ok(report["opened_total"].as_u64().unwrap_or(0))
    }

    /// The channels of the streams open now.
    pub async fn active_streams(&self) -> Result<Vec<String>, Error> {
        let report = self
            .call(reqwest::Method::GET, "/internal/connections", None)
            .await?;
        let active = report["active"].as_array().cloned().unwrap_or_default();
        Ok(active
            .iter()
            .filter_map(|c| c["channel"].as_str().map(str::to_owned))
            .collect())
    }

    /// Every message id of a channel, oldest first, paging through history.
    pub async fn history_ids(&self, channel: &str) -> Result<Vec<String>, Error> {
        let mut ids = Vec::new();
        let mut after = "0".to_owned();
        loop {
            let path = format!("/api/channels/{channel}/messages?limit=500&after={after}");
            let page = self.call(reqwest::Method::GET, &path, None).await?;
            let page: Vec<String> = page
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|m| m["id"].as_str().map(str::to_owned))
                .collect();
            let Some(last) = page.last().cloned() else {
                return Ok(ids);
            };
            ids.extend(page);
            after = last;
        }
    }
}

impl Drop for Bridge {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_file(&self.log);
    }
}
