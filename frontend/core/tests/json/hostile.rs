//! Hostile texts: deep nesting, huge numbers, broken UTF-16 escapes, cut
//! texts, the largest strings; and the four documented differences from
//! serde_json, each shown.

use crate::reference;
use panel_core::json;
use panel_core::wire::{decode, decode_history, DecodeError, Incoming, MAX_PAYLOAD_BYTES};
use panel_core::{decode_at, MessageId};

const MESSAGE: &str = r#"{"id":"7","channel_id":"g","author":"a","content":"c","timestamp":"t"}"#;

/// `MESSAGE` with `member` added.
fn message_with(member: &str) -> String {
    format!("{},{member}}}", MESSAGE.trim_end_matches('}'))
}

fn reaction_count(count: &str) -> Result<u32, String> {
    let data = format!(r#"{{"message_id":"1","channel_id":"g","emoji":"x","count":{count}}}"#);
    match decode("reaction", &data) {
        Ok(Incoming::Reaction(change)) => Ok(change.count),
        other => Err(format!("{other:?}")),
    }
}

#[test]
fn nesting_is_bounded_at_serde_jsons_depth_and_never_overflows_the_stack() {
    let nested = |depth: usize| format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    // 127 levels are read by both, 128 by neither.
    assert!(json::parse(&nested(127)).is_ok());
    assert!(serde_json::from_str::<serde_json::Value>(&nested(127)).is_ok());
    assert!(json::parse(&nested(128)).is_err());
    assert!(serde_json::from_str::<serde_json::Value>(&nested(128)).is_err());
    let objects = format!("{}1{}", r#"{"a":"#.repeat(127), "}".repeat(127));
    assert!(json::parse(&objects).is_ok());
    // The whole payload of '[' and of '{"a":', and a 16 MiB history of '[':
    // refused, and the checker holds no stack per level.
    let deep = "[".repeat(MAX_PAYLOAD_BYTES);
    let error = decode("heartbeat", &deep).unwrap_err().to_string();
    assert!(
        error.contains("nested deeper than 127 levels at byte 127"),
        "{error}"
    );
    assert!(decode("message", &r#"{"a":"#.repeat(MAX_PAYLOAD_BYTES / 5)).is_err());
    let history = decode_history(&"[".repeat(16 * 1024 * 1024)).unwrap_err();
    assert!(history.starts_with("unreadable history"), "{history}");
}

/// Documented difference: serde_json skipped an ignored value of any depth
/// (a heartbeat's, an unknown field's); the panel refuses past 127 levels
/// everywhere.
#[test]
fn deeper_than_127_levels_is_refused_even_where_serde_json_skipped_it() {
    let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
    assert!(reference::decode_at("heartbeat", &deep, "").is_ok());
    assert!(decode("heartbeat", &deep).is_err());
    let unknown = message_with(&format!(r#""extra":{deep}"#));
    assert!(reference::decode_at("message", &unknown, "").is_ok());
    assert!(decode("message", &unknown).is_err());
}

#[test]
fn huge_numbers_saturate_counts_and_are_refused_as_u64s() {
    let digits = "9".repeat(60_000);
    assert_eq!(reaction_count(&digits), Ok(u32::MAX));
    assert_eq!(reaction_count("1e99999999999999999999999"), Ok(u32::MAX));
    assert_eq!(reaction_count("1e-99999999999999999999999"), Ok(0));
    assert_eq!(reaction_count("0e99999999999999999999999"), Ok(0));
    let tiny = format!("0.{}1", "0".repeat(59_990));
    assert_eq!(reaction_count(&format!("{tiny}e60000")), Ok(1_000_000_000));
    assert_eq!(reaction_count(&format!("{tiny}e60010")), Ok(u32::MAX));
    assert_eq!(reaction_count(&tiny), Ok(0));
    assert_eq!(reaction_count("-1e400"), Ok(0));
    assert_eq!(reaction_count("4294967295.999"), Ok(u32::MAX));
    assert_eq!(reaction_count("4294967294.999"), Ok(4_294_967_294));
    assert_eq!(reaction_count("12.9e-1"), Ok(1));
    assert_eq!(reaction_count("0.000129e4"), Ok(1));
    // A u64 is a whole number in range, written without fraction or exponent.
    let status = |ms: &str| {
        decode(
            "status",
            &format!(r#"{{"gateway":"connected","heartbeat_interval_ms":{ms}}}"#),
        )
    };
    assert!(matches!(
        status("18446744073709551615"),
        Ok(Incoming::Status {
            heartbeat_interval_ms: Some(u64::MAX),
            ..
        })
    ));
    for refused in ["18446744073709551616", &digits, "1e3", "1.0", "-0", "-1"] {
        let error = status(refused).unwrap_err().to_string();
        assert!(
            error.contains("`heartbeat_interval_ms` is not a whole number"),
            "{error}"
        );
        assert!(reference::decode_at("status", &status_text(refused), "").is_err());
    }
    // Skipped where unknown, as serde_json skipped it.
    let unknown = message_with(&format!(r#""extra":{digits}e999999"#));
    assert!(decode("message", &unknown).is_ok());
    assert!(reference::decode_at("message", &unknown, "").is_ok());
}

fn status_text(ms: &str) -> String {
    format!(r#"{{"gateway":"connected","heartbeat_interval_ms":{ms}}}"#)
}

/// Documented difference: serde_json refused a count past `f64`'s range
/// (`1e400`); the panel saturates it like any other count too large.
#[test]
fn a_count_past_f64s_range_saturates_where_serde_json_refused_it() {
    let data = r#"{"message_id":"1","channel_id":"g","emoji":"x","count":1e400}"#;
    assert!(reference::decode_at("reaction", data, "").is_err());
    assert_eq!(reaction_count("1e400"), Ok(u32::MAX));
}

/// Documented difference: serde_json read a count through an `f64`, which
/// rounds a number with more digits than it holds, sometimes across a
/// whole number; the panel cuts the fraction from the digits as written.
#[test]
fn a_counts_fraction_is_cut_from_its_digits_not_rounded_through_f64() {
    for (count, serde, ours) in [
        ("1.9999999999999999999", 2, 1),
        ("4294967294.9999999999", u32::MAX, u32::MAX - 1),
        ("0.99999999999999999999e1", 10, 9),
    ] {
        let data = format!(r#"{{"message_id":"1","channel_id":"g","emoji":"x","count":{count}}}"#);
        match reference::decode_at("reaction", &data, "") {
            Ok(Incoming::Reaction(change)) => assert_eq!(change.count, serde, "{count}"),
            other => panic!("{count}: {other:?}"),
        }
        assert_eq!(reaction_count(count), Ok(ours), "{count}");
    }
    // Where an `f64` holds the digits, the two agree.
    assert_eq!(reaction_count("1.5"), Ok(1));
    assert_eq!(reaction_count("4294967294.5"), Ok(u32::MAX - 1));
}

/// Documented difference: serde_json read a struct from an array of its
/// fields in order; the panel wants the object the contract names.
#[test]
fn an_array_in_place_of_an_object_is_refused() {
    let data = r#"["7","g","a","c","t"]"#;
    assert!(reference::decode_at("message", data, "").is_ok());
    let error = decode("message", data).unwrap_err().to_string();
    assert!(error.contains("`message` is not an object"), "{error}");
    assert!(reference::decode_at("resync", "[]", "").is_ok());
    assert!(decode("resync", "[]").is_err());
}

#[test]
fn broken_utf16_escapes_are_refused_where_read_and_skipped_elsewhere() {
    let read = |text: &str| {
        let data = MESSAGE.replace(r#""content":"c""#, &format!(r#""content":"{text}""#));
        (
            decode("message", &data),
            reference::decode_at("message", &data, ""),
        )
    };
    for lone in [
        r"\ud800",
        r"\udbff",
        r"\udc00",
        r"\udfff",
        r"\ud800\u0041",
        r"\ud800x",
        r"\ud800\n",
        r"\ud83d\ud83d",
    ] {
        let (ours, theirs) = read(lone);
        assert!(
            ours.is_err() && theirs.is_err(),
            "{lone}: {ours:?} {theirs:?}"
        );
    }
    for broken in [r"\u12", r"\uZZZZ", r"\x", "\\", r"\u00"] {
        assert!(read(broken).0.is_err(), "{broken}");
    }
    match read(r#"\ud83d\ude00 \u00e9\u20AC \/\b\f\n\r\t\"\\"#).0 {
        Ok(Incoming::Message(m)) => assert_eq!(m.content, "😀 é€ /\u{8}\u{c}\n\r\t\"\\"),
        other => panic!("{other:?}"),
    }
    // In a value or a key nobody reads, a lone surrogate is skipped by both.
    for skipped in [r#""extra":"\ud800""#, r#""extra":{"\udc00":1}"#] {
        let data = message_with(skipped);
        assert!(decode("message", &data).is_ok(), "{data}");
        assert!(reference::decode_at("message", &data, "").is_ok(), "{data}");
    }
    // A key of the message itself is read: refused by both.
    let data = message_with(r#""\ud800":1"#);
    assert!(decode("message", &data).is_err());
    assert!(reference::decode_at("message", &data, "").is_err());
}

#[test]
fn every_cut_of_a_payload_is_refused_by_both() {
    let full = message_with(
        r#""reactions":[{"emoji":"\ud83d\ude00","count":2.5e0,"users":["b"]}],"mentions":{"1":"x"},"referenced_message":{"id":"3","author":"r","content":"q"},"attachments":[{"filename":"f","size":9,"url":"u"}],"version":null"#,
    );
    assert!(decode("message", &full).is_ok());
    for (cut, _) in full.char_indices().skip(1) {
        let part = &full[..cut];
        let ours = decode("message", part);
        assert!(ours.is_err(), "{part}");
        assert!(reference::decode_at("message", part, "").is_err(), "{part}");
        assert!(matches!(ours, Err(DecodeError::Malformed { .. })));
    }
}

#[test]
fn the_largest_strings_are_read_whole() {
    let room = MAX_PAYLOAD_BYTES - MESSAGE.len() + 1;
    let data = MESSAGE.replace(
        r#""content":"c""#,
        &format!(r#""content":"{}""#, "x".repeat(room)),
    );
    assert_eq!(data.len(), MAX_PAYLOAD_BYTES);
    match decode("message", &data) {
        Ok(Incoming::Message(m)) => assert_eq!(m.content.len(), room),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        decode("message", &format!("{data} ")),
        Err(DecodeError::TooLarge { .. })
    ));
    // 64 KiB of escapes, in a history answer (no payload bound there).
    let escaped = r#"\""#.repeat(32 * 1024);
    let page = format!(
        "[{}]",
        MESSAGE.replace(r#""content":"c""#, &format!(r#""content":"{escaped}""#))
    );
    let ours = decode_history(&page).unwrap();
    assert_eq!(ours[0].content, "\"".repeat(32 * 1024));
    assert_eq!(Ok(ours), reference::decode_history(&page));
}

#[test]
fn refusals_name_the_event_and_the_field() {
    let reason = |event: &str, data: &str| decode_at(event, data, "").unwrap_err().to_string();
    assert_eq!(
        reason("status", r#"{"gateway":"connected","heartbeat_interval_ms":"5"}"#),
        "dropped a malformed `status` event: `heartbeat_interval_ms` is not a whole number from 0 to 2^64-1; it read: {\"gateway\":\"connected\",\"heartbeat_interval_ms\":\"5\"}"
    );
    assert!(reason(
        "reaction",
        r#"{"message_id":"1","channel_id":"g","emoji":"x"}"#
    )
    .contains("missing field `count`"));
    assert!(reason("message_delete", r#"{"channel_id":"g","id":"-1"}"#)
        .contains("`id` is not a u64 in decimal digits"));
    assert!(reason("message", "{\"id\":\"7\" \"x\"").contains("expected `,` or `}` at byte 10"));
    assert!(reason("status", r#"{"gateway":"sideways"}"#)
        .contains(r#"unknown gateway state "sideways""#));
    assert!(reason("heartbeat", "").contains("the text ends where a value should be at byte 0"));
    assert!(
        reason("message", &message_with(r#""author":"b""#)).contains("duplicate field `author`")
    );
    let id = MessageId(7);
    assert!(matches!(decode("message", MESSAGE), Ok(Incoming::Message(m)) if m.id == id));
}
