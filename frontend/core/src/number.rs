//! Whole numbers written as text without `core::fmt`: the panel's strings
//! are joined from pieces, so the wasm carries no formatting machinery
//! (`Formatter`, `pad_integral`, `format!`'s arguments at every caller).

/// `n` in decimal, as `n.to_string()` writes it.
pub fn digits(n: u64) -> String {
    let mut out = String::new();
    push_radix(&mut out, n, 10);
    out
}

/// `n` in lowercase hexadecimal, as `format!("{n:x}")` writes it.
pub fn hex_digits(n: u64) -> String {
    let mut out = String::new();
    push_radix(&mut out, n, 16);
    out
}

/// Appends `n` in decimal.
pub fn push_digits(out: &mut String, n: u64) {
    push_radix(out, n, 10);
}

/// What `text.parse::<u64>().ok()` gives (one `+` allowed before the
/// digits), read by the panel's one decimal reader
/// ([`crate::message::decimal`]) instead of std's second copy of it.
pub fn parse_u64(text: &str) -> Option<u64> {
    crate::message::decimal(text.strip_prefix('+').unwrap_or(text))
}

/// Appends `n`'s digits in `radix` (10 or 16), most significant first.
#[inline(never)]
fn push_radix(out: &mut String, mut n: u64, radix: u64) {
    // u64::MAX has 20 decimal digits.
    let mut written = [0u8; 20];
    let mut at = written.len();
    loop {
        at -= 1;
        written[at] = b"0123456789abcdef"[(n % radix) as usize];
        n /= radix;
        if n == 0 {
            break;
        }
    }
    for &digit in &written[at..] {
        out.push(char::from(digit));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_what_core_fmt_writes() {
        let mut cases = vec![0, 1, 9, 10, 99, 100, 4_294_967_296, u64::MAX - 1, u64::MAX];
        cases.extend((0..64).map(|bit| 1u64 << bit));
        cases.extend((0..64).map(|bit| (1u64 << bit) - 1));
        for n in cases {
            assert_eq!(digits(n), n.to_string());
            assert_eq!(hex_digits(n), format!("{n:x}"));
            let mut out = String::from("x");
            push_digits(&mut out, n);
            assert_eq!(out, format!("x{n}"));
        }
    }

    #[test]
    fn parses_what_std_parses() {
        let mut cases = vec![
            "",
            "+",
            "-",
            "++1",
            "+-1",
            "-1",
            "-0",
            "+0",
            "0",
            "00",
            "007",
            "+42",
            " 1",
            "1 ",
            "1_000",
            "1e3",
            "0x10",
            "18446744073709551615",
            "+18446744073709551615",
            "18446744073709551616",
            "99999999999999999999",
            "٣",
            "１",
        ];
        let owned: Vec<String> = (0..64).map(|bit| ((1u64 << bit) - 1).to_string()).collect();
        cases.extend(owned.iter().map(String::as_str));
        for text in cases {
            assert_eq!(parse_u64(text), text.parse::<u64>().ok(), "{text:?}");
        }
    }
}
