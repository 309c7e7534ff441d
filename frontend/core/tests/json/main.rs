//! `panel_core::json` against serde_json, which the panel read with before:
//! random JSON values read whole, and the panel's real payloads decoded by
//! the old serde decoders (`reference`) and the new ones, must come out the
//! same, or be refused by both. Then hostile texts.

mod generate;
mod hostile;
mod reference;
mod shapes;

use generate::{mutate, space, value};
use panel_core::json::{self, Value};
use panel_core::wire::{self, decode_at, decode_changes, decode_history, error_sentence};
use proptest::prelude::*;

/// A checked value read whole into serde_json's tree: every string and
/// key unescaped, every number read by serde_json (so a number past
/// `f64`'s range fails here as it fails there).
fn tree(value: Value<'_>) -> Result<serde_json::Value, String> {
    use serde_json::Value as T;
    let raw = value.raw();
    Ok(match raw.as_bytes().first() {
        Some(b'n') => T::Null,
        Some(b't' | b'f') => T::Bool(value.bool("").map_err(|e| e.to_string())?),
        Some(b'"') => T::String(value.string("").map_err(|e| e.to_string())?),
        Some(b'[') => T::Array(
            value
                .array("")
                .map_err(|e| e.to_string())?
                .map(tree)
                .collect::<Result<_, _>>()?,
        ),
        Some(b'{') => {
            let mut map = serde_json::Map::new();
            for (key, value) in value.object("").map_err(|e| e.to_string())? {
                let key = key.string("").map_err(|e| e.to_string())?;
                // The last of a key given twice wins, as in serde_json's map.
                map.insert(key, tree(value)?);
            }
            T::Object(map)
        }
        _ => T::Number(serde_json::from_str(raw).map_err(|e| e.to_string())?),
    })
}

/// Both readers on `text`: the same tree, or both refuse.
fn same_tree(text: &str) -> Result<(), TestCaseError> {
    let ours = json::parse(text).map_err(|e| e.to_string()).and_then(tree);
    let theirs = serde_json::from_str::<serde_json::Value>(text).map_err(|e| e.to_string());
    match (&ours, &theirs) {
        (Ok(a), Ok(b)) => prop_assert_eq!(a, b, "{}", text),
        (Err(_), Err(_)) => {}
        _ => prop_assert!(false, "{text:?}: ours {ours:?}, serde_json {theirs:?}"),
    }
    Ok(())
}

/// Both results the same value, or both refusals.
fn same<T: PartialEq + std::fmt::Debug, E1: std::fmt::Debug, E2: std::fmt::Debug>(
    what: &str,
    text: &str,
    ours: Result<T, E1>,
    theirs: Result<T, E2>,
) -> Result<(), TestCaseError> {
    match (&ours, &theirs) {
        (Ok(a), Ok(b)) => prop_assert_eq!(a, b, "{} {}", what, text),
        (Err(_), Err(_)) => {}
        _ => prop_assert!(false, "{what} {text:?}: ours {ours:?}, serde {theirs:?}"),
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn random_values_read_as_serde_json_reads_them(value in value(), space in space()) {
        same_tree(&value.write(space))?;
    }

    #[test]
    fn broken_values_are_refused_as_serde_json_refuses_them(
        text in (value(), space()).prop_flat_map(|(v, s)| mutate(v.write(s)))
    ) {
        same_tree(&text)?;
    }

    #[test]
    fn events_decode_as_they_did(
        (event, text) in shapes::event().prop_flat_map(|(event, payload)| {
            (Just(event), shapes::written(Just(payload).boxed()))
        }),
        id in proptest::sample::select(vec!["", "12", "x", "18446744073709551616"]),
    ) {
        let ours = decode_at(event, &text, id).map_err(|e| {
            // Every refusal names the event, for the console line.
            assert!(e.to_string().contains(event), "{e}");
            e.to_string()
        });
        same(event, &text, ours, reference::decode_at(event, &text, id))?;
        if event == "resync" {
            same("channels", &text, Ok::<_, ()>(wire::resync_channels(&text)),
                Ok::<_, ()>(reference::resync_channels(&text)))?;
        }
    }

    #[test]
    fn history_answers_decode_as_they_did(text in shapes::written(shapes::history())) {
        same("history", &text, decode_history(&text), reference::decode_history(&text))?;
    }

    #[test]
    fn pages_of_changes_decode_as_they_did(text in shapes::written(shapes::changes())) {
        same("changes", &text, decode_changes(&text), reference::decode_changes(&text))?;
    }

    #[test]
    fn error_answers_read_as_they_did(text in shapes::written(shapes::error())) {
        same("error", &text, Ok::<_, ()>(error_sentence(&text)),
            Ok::<_, ()>(reference::error_sentence(&text)))?;
    }
}
