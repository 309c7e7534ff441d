//! The run command as a visitor meets it: `scripts/run.sh` starts the bridge
//! with its demo and `trunk serve`; the page, served and proxied by trunk, is
//! Live with the demo's history, receives the chatter through the proxy, lets
//! the visitor reply at once (no sign-in, no query parameter), never reloads
//! itself while nothing is edited, and a signal stops both processes.

use bridge_client::BridgeClient;
use e2e::browser::Browser;
use e2e::panel::ensure;
use e2e::{free_port, wait_until, workspace_root, Error};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long the page is watched for a reload while the demo chatters.
const QUIET: Duration = Duration::from_secs(30);

/// `scripts/run.sh` in a process group of its own, stopped on drop.
struct RunCommand {
    child: Child,
    log: std::path::PathBuf,
    /// What its processes' command lines name (the ports), to find any left.
    marks: [String; 2],
}

impl RunCommand {
    fn start(bridge_port: u16, panel_port: u16, dir: &std::path::Path) -> RunCommand {
        use std::os::unix::process::CommandExt;
        let log = dir.join("run.log");
        let out = std::fs::File::create(&log).expect("a log file");
        let child = Command::new("bash")
            .arg(workspace_root().join("scripts/run.sh"))
            .env("BRIDGE_PORT", bridge_port.to_string())
            .env("PANEL_PORT", panel_port.to_string())
            .env("DEMO_CHATTER_SECONDS", "2")
            // The gateway stays connected: this test is about the page.
            .env("DEMO_FLAP_SECONDS", "3600")
            .env("DEMO_HISTORY_FILE", dir.join("history.jsonl"))
            // Its own output folder: the other suites serve dist/.
            .env("TRUNK_BUILD_DIST", dir.join("dist"))
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("a log file"))
            .stderr(out)
            .process_group(0)
            .spawn()
            .expect("bash runs scripts/run.sh");
        let marks = [
            format!("127.0.0.1:{bridge_port}"),
            format!("--port {panel_port}"),
        ];
        RunCommand { child, log, marks }
    }

    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    /// Sends SIGTERM to the script alone, as a supervisor or `kill` would.
    fn terminate(&self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
    }
}

impl Drop for RunCommand {
    /// Whatever happened, nothing of the run is left behind: the script is
    /// asked to stop (its trap stops trunk and the bridge, each in a process
    /// group of its own), then anything still there is killed.
    fn drop(&mut self) {
        self.terminate();
        for _ in 0..100 {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .status();
        let _ = self.child.wait();
        for mark in &self.marks {
            for process in processes_with(mark) {
                if let Some(pid) = process.split(':').next() {
                    let _ = Command::new("kill").args(["-KILL", pid]).status();
                }
            }
        }
    }
}

/// Processes whose command line mentions `needle`.
fn processes_with(needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if cmdline.contains(needle) {
            found.push(format!(
                "{}: {cmdline}",
                entry.file_name().to_string_lossy()
            ));
        }
    }
    found
}

const READ: &str = r#"
const status = document.querySelector('[data-connection-status]');
return {
  label: status ? status.getAttribute('data-connection-status') : null,
  ids: [...document.querySelectorAll('li[data-message-id]')].map(li => li.getAttribute('data-message-id')),
  marker: window.__loadedOnce === true,
  composer: document.querySelector('textarea[data-action="compose"]')?.disabled === false,
};
"#;

#[derive(serde::Deserialize, Debug, Default)]
struct Seen {
    label: Option<String>,
    ids: Vec<String>,
    marker: bool,
    composer: bool,
}

async fn read(browser: &Browser) -> Result<Seen, Error> {
    let value = (browser.client.execute(READ, vec![]).await).map_err(|e| format!("{e}"))?;
    serde_json::from_value(value).map_err(|e| format!("{e}"))
}

#[tokio::test]
async fn the_run_command_serves_a_live_demo_that_holds_still_and_takes_a_reply() {
    // Inside the project, as the run command's own history file is: what the
    // bridge writes there must not wake trunk's watcher.
    let scratch = tempfile::Builder::new()
        .prefix("e2e-run-command-")
        .tempdir_in(workspace_root().join("target"))
        .expect("a temporary folder");
    let dir = scratch.path();
    let (bridge_port, panel_port) = (free_port(), free_port());
    let began = Instant::now();
    let run = RunCommand::start(bridge_port, panel_port, dir);
    let result = scenario(&run, bridge_port, panel_port, began).await;
    if let Err(problem) = result {
        panic!("{problem}\n  run.sh's output (tail):\n{}", run.log_tail());
    }
    drop(run);
}

async fn scenario(
    run: &RunCommand,
    bridge_port: u16,
    panel_port: u16,
    began: Instant,
) -> Result<(), Error> {
    let page = format!("http://127.0.0.1:{panel_port}/");
    // A cold machine compiles the standard library for wasm first.
    let http = reqwest::Client::new();
    wait_until(Duration::from_secs(900), "trunk to serve the page", || {
        let (http, page) = (http.clone(), page.clone());
        async move {
            let answer = http.get(&page).send().await.ok()?;
            let text = answer.text().await.ok()?;
            text.contains("demo-sidebar").then_some(())
        }
    })
    .await?;
    let browser = Browser::start().await?;
    (browser.client.goto(&page).await).map_err(|e| format!("cannot open {page}: {e}"))?;
    let live = wait_until(
        Duration::from_secs(30),
        "the page Live with history",
        || async {
            let seen = read(&browser).await.ok()?;
            (seen.label.as_deref() == Some("live") && !seen.ids.is_empty()).then_some(seen)
        },
    )
    .await?;
    println!(
        "run command: {:.1} s from start to a Live page ({} messages of history through trunk's proxy)",
        began.elapsed().as_secs_f64(),
        live.ids.len()
    );
    ensure(live.composer, || {
        "the composer is disabled: the demo must let a visitor reply at once".into()
    })?;
    (browser
        .client
        .execute("window.__loadedOnce = true;", vec![])
        .await)
        .map_err(|e| format!("{e}"))?;

    // A reply, typed as a visitor would, stored once and shown once.
    let bridge = BridgeClient::new(format!("http://127.0.0.1:{bridge_port}"));
    let text = format!("first reply from the demo {}", std::process::id());
    e2e::browser::type_reply(&browser.client, &text).await?;
    let count_shown = format!(
        "return [...document.querySelectorAll('li[data-message-id] .dp-content')].filter(e => e.textContent === {text:?}).length;"
    );
    wait_until(
        Duration::from_secs(15),
        "the reply stored once and shown once",
        || async {
            let stored = bridge.history("general", Some("0"), 500).await.ok()?;
            let stored: Vec<_> = stored.iter().filter(|m| m.content == text).collect();
            let shown = browser.client.execute(&count_shown, vec![]).await.ok()?;
            (stored.len() == 1 && stored[0].author == "visitor" && shown.as_u64() == Some(1))
                .then_some(())
        },
    )
    .await?;

    // The chatter streams in through trunk's proxy; the page never reloads.
    let before = read(&browser).await?.ids.len();
    let watch_began = Instant::now();
    let mut arrived = 0;
    while watch_began.elapsed() < QUIET {
        let seen = read(&browser).await?;
        ensure(seen.marker, || {
            format!(
                "the page reloaded itself {:.1} s into {QUIET:?} of chatter",
                watch_began.elapsed().as_secs_f64()
            )
        })?;
        arrived = seen.ids.len().saturating_sub(before);
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    println!("run command: {arrived} chatter messages arrived in {QUIET:?}, no reload");
    ensure(arrived >= 5, || {
        format!("only {arrived} chatter messages arrived in {QUIET:?} (one every 2 s expected)")
    })?;
    drop(browser);

    // A signal stops the script, and it stops both of its processes.
    run.terminate();
    let bridge_flag = format!("127.0.0.1:{bridge_port}");
    let trunk_flag = format!("--port {panel_port}");
    wait_until(
        Duration::from_secs(20),
        "the bridge and trunk to exit",
        || async {
            let left = [processes_with(&bridge_flag), processes_with(&trunk_flag)].concat();
            left.is_empty().then_some(())
        },
    )
    .await
    .map_err(|e| {
        let left = [processes_with(&bridge_flag), processes_with(&trunk_flag)].concat();
        format!("{e}; still running: {left:?}")
    })
}
