//! How long a reader whose network vanished (no FIN, no reset: a laptop put
//! to sleep, a phone out of range) stays "here" for everyone else.
//!
//! The reader runs in a network namespace joined to the bridge by a veth
//! pair; its link is then cut (its end of the pair taken down: the reader's
//! kernel sends nothing, no FIN, no reset, and receives nothing), so the
//! bridge's frames go unacknowledged. (netem's 100% loss would do as well;
//! this machine's kernel has no netem, nor iptables.) A watcher on
//! the bridge's side timestamps the `presence` frame that drops the
//! reader. The cut is made at several points between two heartbeats (the
//! first data the bridge sends after the cut is what goes unacknowledged).
//! Needs root (`ip netns`); it cleans up after itself.

use crate::bridge::BridgeProcess;
use crate::table::Table;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

const NAMESPACE: &str = "lg-vanish";
const BRIDGE_SIDE: &str = "lgv-b";
const READER_SIDE: &str = "lgv-c";

fn run(args: &[&str]) -> Result<(), String> {
    let status = (Command::new(args[0]).args(&args[1..]))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| format!("{}: {e}", args.join(" ")))?;
    if status.status.success() {
        Ok(())
    } else {
        let why = String::from_utf8_lossy(&status.stderr);
        Err(format!("{}: {}", args.join(" "), why.trim()))
    }
}

fn in_namespace(args: &[&str]) -> Result<(), String> {
    let mut all = vec!["ip", "netns", "exec", NAMESPACE];
    all.extend_from_slice(args);
    run(&all)
}

fn set_up() -> Result<(), String> {
    tear_down();
    run(&["ip", "netns", "add", NAMESPACE])?;
    run(&[
        "ip",
        "link",
        "add",
        BRIDGE_SIDE,
        "type",
        "veth",
        "peer",
        "name",
        READER_SIDE,
    ])?;
    run(&["ip", "link", "set", READER_SIDE, "netns", NAMESPACE])?;
    run(&["ip", "addr", "add", "10.77.0.1/24", "dev", BRIDGE_SIDE])?;
    run(&["ip", "link", "set", BRIDGE_SIDE, "up"])?;
    in_namespace(&["ip", "addr", "add", "10.77.0.2/24", "dev", READER_SIDE])?;
    in_namespace(&["ip", "link", "set", READER_SIDE, "up"])?;
    in_namespace(&["ip", "link", "set", "lo", "up"])
}

fn tear_down() {
    let _ = run(&["ip", "netns", "del", NAMESPACE]);
    let _ = run(&["ip", "link", "del", BRIDGE_SIDE]);
}

/// Every frame of a watcher's stream, with when it arrived.
async fn watch(
    addr: std::net::SocketAddr,
) -> Result<mpsc::UnboundedReceiver<(Instant, String)>, String> {
    let mut socket = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| e.to_string())?;
    let request = "GET /api/channels/vanish/events?as=Watcher HTTP/1.0\r\nHost: bench\r\n\r\n";
    socket
        .write_all(request.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let (sender, frames) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut text = String::new();
        let mut chunk = [0u8; 4096];
        while let Ok(read) = socket.read(&mut chunk).await {
            if read == 0 {
                return;
            }
            let now = Instant::now();
            text.push_str(&String::from_utf8_lossy(&chunk[..read]));
            while let Some(end) = text.find("\n\n") {
                let frame: String = text.drain(..end + 2).collect();
                let _ = sender.send((now, frame));
            }
        }
    });
    Ok(frames)
}

/// When the first frame that `wanted` comes.
async fn until(
    frames: &mut mpsc::UnboundedReceiver<(Instant, String)>,
    within: Duration,
    what: &str,
    wanted: impl Fn(&str) -> bool,
) -> Result<Instant, String> {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, frames.recv()).await {
            Ok(Some((at, frame))) if wanted(&frame) => return Ok(at),
            Ok(Some(_)) => {}
            Ok(None) => return Err(format!("the watcher's stream ended waiting for {what}")),
            Err(_) => return Err(format!("timed out waiting for {what}")),
        }
    }
}

pub async fn vanish(
    heartbeat: f64,
    dead: f64,
    grace: f64,
    cuts: usize,
) -> Result<Vec<Table>, String> {
    set_up()?;
    let measured = measure(heartbeat, dead, grace, cuts).await;
    tear_down();
    measured
}

async fn measure(heartbeat: f64, dead: f64, grace: f64, cuts: usize) -> Result<Vec<Table>, String> {
    let flags = [
        "--control-token".to_owned(),
        "bench".to_owned(),
        "--heartbeat-interval".to_owned(),
        heartbeat.to_string(),
        "--dead-client".to_owned(),
        dead.to_string(),
        "--presence-grace".to_owned(),
        grace.to_string(),
    ];
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    let bridge = BridgeProcess::start_on([10, 77, 0, 1].into(), &flags).await?;
    let mut frames = watch(bridge.addr).await?;
    let mut table = Table::new(
        &[
            "cut after a heartbeat (s)",
            "heartbeat / dead client / grace (s)",
            "seconds until the others saw the reader leave",
        ],
        2,
    );
    let patience = Duration::from_secs_f64(3.0 * (heartbeat + dead + grace) + 10.0);
    for cut in 0..cuts {
        let name = format!("Sleeper{cut}");
        let url = format!(
            "http://{}/api/channels/vanish/events?as={name}",
            bridge.addr
        );
        let mut reader = Command::new("ip")
            .args([
                "netns",
                "exec",
                NAMESPACE,
                "curl",
                "-sN",
                "-o",
                "/dev/null",
                &url,
            ])
            .stdin(Stdio::null())
            .spawn()
            .map_err(|e| format!("curl in the namespace: {e}"))?;
        let quoted = format!("\"{name}\"");
        let here = |frame: &str| frame.starts_with("event: presence") && frame.contains(&quoted);
        until(
            &mut frames,
            Duration::from_secs(10),
            "the reader to arrive",
            here,
        )
        .await?;
        let is_heartbeat = |frame: &str| frame.starts_with("event: heartbeat");
        until(&mut frames, patience, "a heartbeat", is_heartbeat).await?;
        let offset = heartbeat * cut as f64 / cuts as f64;
        tokio::time::sleep(Duration::from_secs_f64(offset)).await;
        in_namespace(&["ip", "link", "set", READER_SIDE, "down"])?;
        let cut_at = Instant::now();
        let gone = |frame: &str| frame.starts_with("event: presence") && !frame.contains(&quoted);
        let left = until(&mut frames, patience, "the reader to leave", gone).await;
        let _ = reader.kill();
        let _ = reader.wait();
        in_namespace(&["ip", "link", "set", READER_SIDE, "up"])?;
        let left = left?;
        table.row(vec![
            format!("{offset:.1}"),
            format!("{heartbeat} / {dead} / {grace}"),
            format!("{:.1}", left.duration_since(cut_at).as_secs_f64()),
        ]);
    }
    Ok(vec![table])
}
