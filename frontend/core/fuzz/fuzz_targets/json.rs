//! The panel's JSON reader against serde_json on any text: the same tree
//! (every string and key unescaped, every number read), or both refuse.
//! Never a panic, whatever the nesting, escapes or numbers.
#![no_main]

use libfuzzer_sys::fuzz_target;
use panel_core::json::{self, Value};

/// A checked value read whole into serde_json's tree; a number is read by
/// serde_json, so one past `f64`'s range fails here as it fails there.
fn tree(value: Value<'_>) -> Option<serde_json::Value> {
    use serde_json::Value as T;
    let raw = value.raw();
    Some(match raw.as_bytes().first()? {
        b'n' => T::Null,
        b't' | b'f' => T::Bool(value.bool("").ok()?),
        b'"' => T::String(value.string("").ok()?),
        b'[' => T::Array(value.array("").ok()?.map(tree).collect::<Option<_>>()?),
        b'{' => {
            let mut map = serde_json::Map::new();
            for (key, value) in value.object("").ok()? {
                map.insert(key.string("").ok()?, tree(value)?);
            }
            T::Object(map)
        }
        _ => T::Number(serde_json::from_str(raw).ok()?),
    })
}

fuzz_target!(|input: &[u8]| {
    let Ok(text) = std::str::from_utf8(input) else {
        return;
    };
    let ours = json::parse(text).ok().and_then(tree);
    let theirs = serde_json::from_str::<serde_json::Value>(text).ok();
    assert_eq!(ours, theirs, "{text:?}");
});
