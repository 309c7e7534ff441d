//! History answers and error bodies: decoded whole or refused, and whatever is
//! accepted merges into the store without breaking its order, bound or dedupe.
#![no_main]

use libfuzzer_sys::fuzz_target;
use panel_core::store::MessageStore;
use panel_core::wire::decode_changes;
use panel_core::{decode_history, error_sentence, MessageId};

fuzz_target!(|input: &[u8]| {
    let Ok(body) = std::str::from_utf8(input) else {
        return;
    };
    let _ = error_sentence(body);
    // A catch-up's page of changes: applied, it keeps the store's order and
    // bound, and applied again changes nothing.
    if let Ok(changes) = decode_changes(body) {
        let mut store = MessageStore::new(8);
        let after = MessageId(body.len() as u64 % 5);
        store.merge_changes(changes.messages.clone(), after, changes.last);
        for id in &changes.deleted {
            store.delete(*id);
        }
        assert!(store.len() <= 8);
        let ids: Vec<_> = store.iter().map(|m| m.id).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "held ids out of order");
        let again = store.merge_changes(changes.messages, after, changes.last);
        assert!(
            !again.changed(),
            "a repeated page of changes changed the store"
        );
    }
    let Ok(page) = decode_history(body) else {
        return;
    };
    let mut store = MessageStore::new(8);
    let first = store.merge(page.clone());
    assert!(store.len() <= 8);
    let ids: Vec<_> = store.iter().map(|m| m.id).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "held ids out of order");
    assert!(first.added <= page.len());
    // The same page again (a replayed answer) changes nothing.
    let again = store.merge(page);
    assert!(!again.changed(), "a repeated page changed the store");
});
