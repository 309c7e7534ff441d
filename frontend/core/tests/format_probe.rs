//! Exploration probes of the formatter (all #[ignore]): timing of repeated
//! patterns (`probe_patterns`, `probe_random`, `probe_alphabet`, `probe_scaling`
//! with MOTIF=... PRE=...), panics on random strings (`probe_panics`) and the
//! events of given inputs (`probe_dump` with INPUTS separated by \x01).
//! Run with `cargo test --release -p panel-core --test format_probe -- --ignored --nocapture NAME`.

use panel_core::format::{parse, text_of};
use std::time::Instant;

fn time(text: &str) -> (f64, usize) {
    let t = Instant::now();
    let mut n = 0;
    for _ in 0..3 {
        n = parse(text).len();
    }
    (t.elapsed().as_secs_f64() * 1000.0 / 3.0, n)
}

#[test]
#[ignore]
fn probe_patterns() {
    let unit: Vec<String> = std::env::var("UNITS")
        .unwrap_or_default()
        .split("\u{1}")
        .map(|s| s.replace("\\n", "\n"))
        .collect();
    let mut pats: Vec<(String, String)> = Vec::new();
    let units = [
        "*",
        "**",
        "***",
        "*a",
        "*a ",
        "a*",
        "**a",
        "**a*",
        "*a**",
        "_a",
        "a_",
        "__a",
        "_a__",
        "*_",
        "_*",
        "~~",
        "~~a",
        "~~_",
        "||",
        "||a",
        "|",
        "[",
        "]",
        "[a]",
        "[a](",
        "](",
        "[a](x",
        "<",
        "<h",
        "<https://",
        "<https://a",
        "<@",
        "<@1",
        "<t:",
        "<t:0:R>",
        "<@1>",
        "`",
        "``",
        "`a",
        "``a`",
        "\\",
        "\\*",
        "\\_",
        "*\\",
        "> ",
        "> a\n",
        ">>> ",
        "- ",
        "- a\n",
        "1. a\n",
        "# a\n",
        "-# a\n",
        "\n",
        "*\n",
        "https://",
        "(https://",
        "http://a.b/(",
        "https://a.b/)",
        "*a **b",
        "_a __b",
        "~~a ||b",
        "||a **b",
        "**a ||b ~~c __d *e",
        "a\\**",
        "**\\*",
        "*\\**",
        "```",
        "```a",
        "``` ",
        "***a",
        "*a***",
        "__*",
        "*__",
        "_**",
        "**_",
        "[*",
        "[a](https://x.y/*",
        "[**](https://a.b/",
        "<https://x.y/ *",
        "||*",
        "*||",
        "`*",
        "*`",
    ];
    for u in units
        .iter()
        .map(|s| s.to_string())
        .chain(unit.into_iter().filter(|s| !s.is_empty()))
    {
        let text = u.repeat(4000 / u.len().max(1));
        pats.push((u.clone(), text));
        // opener prefix, then the repeated unit
        for pre in ["*", "**", "_", "__", "~~", "||", "`", "[", "<", "<https://"] {
            let mut t = pre.to_string();
            t.push_str(&u.repeat((4000 - pre.len()) / u.len().max(1)));
            pats.push((format!("{pre}+{u}"), t));
        }
    }
    let mut worst: Vec<(f64, String, usize)> = pats
        .iter()
        .map(|(n, t)| {
            let (ms, e) = time(t);
            (ms, n.clone(), e)
        })
        .collect();
    worst.sort_by(|a, b| b.0.partial_cmp(&a.0).unwrap());
    for (ms, n, e) in worst.iter().take(25) {
        println!("{ms:8.3} ms  {e:6} events  {n:?}");
    }
}

/// A random search for slow inputs from pieces.
#[test]
#[ignore]
fn probe_random() {
    let pieces = panel_core::format::PIECES;
    let extra = [
        "a", "b", " ", "\\", "*a", "a*", "_a", "a_", "](", "<h", "https://", "||", "~~", "**", "__",
    ];
    let all: Vec<&str> = pieces.iter().copied().chain(extra).collect();
    let mut seed: u64 = std::env::var("SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    let mut rnd = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut best = (0.0, String::new());
    let tries: usize = std::env::var("TRIES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2000);
    for _ in 0..tries {
        // a short motif, repeated to 4000 bytes
        let k = 1 + (rnd() % 6) as usize;
        let motif: String = (0..k)
            .map(|_| all[(rnd() % all.len() as u64) as usize])
            .collect();
        let pre: String = (0..(rnd() % 3))
            .map(|_| all[(rnd() % all.len() as u64) as usize])
            .collect();
        let mut text = pre.clone();
        while text.len() + motif.len() <= 4000 {
            text.push_str(&motif);
        }
        let (ms, _) = time(&text);
        if ms > best.0 {
            best = (ms, format!("{pre:?} + {motif:?}*"));
            println!("{ms:8.3} ms {}", best.1);
        }
    }
    let _ = text_of(&parse(""));
}

#[test]
#[ignore]
fn probe_scaling() {
    let pre = std::env::var("PRE")
        .unwrap_or_default()
        .replace("\\n", "\n");
    let motif = std::env::var("MOTIF").unwrap().replace("\\n", "\n");
    for n in [1000, 2000, 4000, 8000, 16000] {
        let mut text = pre.clone();
        while text.len() + motif.len() <= n {
            text.push_str(&motif);
        }
        let (ms, e) = time(&text);
        println!("{n:6} bytes {ms:9.3} ms {e} events");
    }
}

#[test]
#[ignore]
fn probe_panics() {
    let chars: Vec<char> = "*_~|`[]()<>\\:@&#!-. \n\t>1234567890aht:psRFé🦀\u{202e}\u{0}/mailto"
        .chars()
        .collect();
    let pieces = panel_core::format::PIECES;
    let mut seed: u64 = 0x9e3779b97f4a7c15;
    let mut rnd = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let n: usize = std::env::var("TRIES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100000);
    for _ in 0..n {
        let len = (rnd() % 60) as usize;
        let mut s = String::new();
        for _ in 0..len {
            if rnd() % 3 == 0 {
                s.push_str(pieces[(rnd() % pieces.len() as u64) as usize]);
            } else {
                s.push(chars[(rnd() % chars.len() as u64) as usize]);
            }
        }
        let r = std::panic::catch_unwind(|| parse(&s).len());
        if r.is_err() {
            panic!("panic on {s:?}");
        }
    }
}

#[test]
#[ignore]
fn probe_dump() {
    for line in std::env::var("INPUTS").unwrap().split('\u{1}') {
        let line = line.replace("\\n", "\n");
        println!("{line:?}\n   => {:?}", parse(&line));
    }
}

#[test]
#[ignore]
fn probe_alphabet() {
    let alpha: Vec<u8> = std::env::var("ALPHA")
        .unwrap_or("*_\\a \n`~|[]()<>h:/s.t@#-1>!".into())
        .into_bytes();
    let size: usize = std::env::var("SIZE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(16000);
    let mut seed: u64 = std::env::var("SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    let mut rnd = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let tries: usize = std::env::var("TRIES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20000);
    let mut best = 0.0;
    for _ in 0..tries {
        let k = 1 + (rnd() % 7) as usize;
        let motif: Vec<u8> = (0..k)
            .map(|_| alpha[(rnd() % alpha.len() as u64) as usize])
            .collect();
        let p = (rnd() % 4) as usize;
        let pre: Vec<u8> = (0..p)
            .map(|_| alpha[(rnd() % alpha.len() as u64) as usize])
            .collect();
        let mut text = pre.clone();
        while text.len() + motif.len() <= size {
            text.extend_from_slice(&motif);
        }
        let text = String::from_utf8(text).unwrap();
        let t = Instant::now();
        let _ = parse(&text);
        let ms = t.elapsed().as_secs_f64() * 1000.0;
        if ms > best {
            best = ms;
            println!(
                "{ms:8.3} ms pre {:?} motif {:?}",
                String::from_utf8_lossy(&pre),
                String::from_utf8_lossy(&motif)
            );
        }
    }
}
