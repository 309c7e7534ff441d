//! The bridge as a child process, with the typed client of its API.

use crate::{free_port, wait_until_answers, workspace_root, Error};
use bridge_client::BridgeClient;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
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
    /// The folder of this bridge's files, removed with the last copy of these
    /// options (the bridge holds one), whether the test passed or not.
    scratch: Option<Arc<tempfile::TempDir>>,
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
            scratch: None,
        }
    }

    /// The bridge's own scratch folder, made on first use.
    pub fn scratch(&mut self) -> PathBuf {
        let dir = self.scratch.get_or_insert_with(|| {
            let dir = tempfile::Builder::new().prefix("e2e-bridge-").tempdir();
            Arc::new(dir.expect("a temporary folder"))
        });
        dir.path().to_path_buf()
    }

    /// Keeps the history in `history.jsonl` in the scratch folder, so that it
    /// survives restarts.
    pub fn with_history_file(mut self) -> Self {
        self.history_file = Some(self.scratch().join("history.jsonl"));
        self
    }

    /// Signs readers in with a users file of these `token name` lines.
    pub fn with_users(mut self, lines: &str) -> Self {
        let path = self.scratch().join("users.txt");
        std::fs::write(&path, lines).expect("a users file");
        let path = path.display().to_string();
        self.with_args(&["--users", &path])
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
    /// Its control API and history.
    pub api: BridgeClient,
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
            api: BridgeClient::new(format!("http://127.0.0.1:{port}")),
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

    /// The streams open now, each as the channels it carries, comma-separated
    /// (`general` for a stream of one channel, whichever route it came by).
    pub async fn active_streams(&self) -> Result<Vec<String>, Error> {
        let report = self.api.connections().await?;
        Ok(report
            .active
            .iter()
            .map(|stream| stream.carries().join(","))
            .collect())
    }

    /// How many streams the bridge has opened since it started.
    pub async fn connections_opened(&self) -> Result<u64, Error> {
        Ok(self.api.connections().await?.opened_total)
    }
}

/// The control API and history, typed: `bridge.inject(…)`, `bridge.set_fault(…)`.
impl std::ops::Deref for Bridge {
    type Target = BridgeClient;

    fn deref(&self) -> &BridgeClient {
        &self.api
    }
}

impl Drop for Bridge {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_file(&self.log);
    }
}

/// Whose read marker a call is about: a name (a bridge without `--users`:
/// `?as=` and `"author"`), or a signed-in reader's token.
#[derive(Clone, Copy, Debug)]
pub enum Reader<'a> {
    Named(&'a str),
    Token(&'a str),
}

impl Bridge {
    /// The reader's marker in `channel` as `GET /api/channels/{channel}/read`
    /// answers it: the id of the last message read, `None` before any.
    pub async fn read_marker(
        &self,
        channel: &str,
        reader: Reader<'_>,
    ) -> Result<Option<String>, Error> {
        let mut request =
            reqwest::Client::new().get(self.url(&format!("/api/channels/{channel}/read")));
        request = match reader {
            Reader::Named(name) => request.query(&[("as", name)]),
            Reader::Token(token) => request.bearer_auth(token),
        };
        let answer = read_answer(request, &format!("GET the read marker of {reader:?}")).await?;
        Ok(answer["last_read"].as_str().map(str::to_owned))
    }

    /// Sets the reader's marker in `channel` as another device of theirs
    /// would (`PUT /api/channels/{channel}/read`): forward only, unless
    /// `unread` (mark unread, exact). Answers the marker as it then is.
    pub async fn put_read_marker(
        &self,
        channel: &str,
        reader: Reader<'_>,
        last_read: &str,
        unread: bool,
    ) -> Result<String, Error> {
        let mut body = serde_json::json!({ "last_read": last_read });
        if unread {
            body["unread"] = true.into();
        }
        let mut request =
            reqwest::Client::new().put(self.url(&format!("/api/channels/{channel}/read")));
        request = match reader {
            Reader::Named(name) => {
                body["author"] = name.into();
                request
            }
            Reader::Token(token) => request.bearer_auth(token),
        };
        let what = format!("PUT the read marker of {reader:?} to {last_read}");
        let answer = read_answer(request.json(&body), &what).await?;
        (answer["last_read"].as_str().map(str::to_owned))
            .ok_or_else(|| format!("{what}: the answer has no last_read: {answer}"))
    }
}

/// A read route's JSON answer; a status other than 2xx is an error with the
/// bridge's sentence.
async fn read_answer(
    request: reqwest::RequestBuilder,
    what: &str,
) -> Result<serde_json::Value, Error> {
    let response = (request.timeout(Duration::from_secs(10)).send().await)
        .map_err(|e| format!("{what}: {e}"))?;
    let status = response.status();
    let body: serde_json::Value = response.json().await.unwrap_or_default();
    if !status.is_success() {
        return Err(format!("{what}: {status}: {body}"));
    }
    Ok(body)
}
