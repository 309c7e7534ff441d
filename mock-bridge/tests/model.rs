//! The bridge against a model (issue 31): random sequences of creations,
//! replies and their retries, edits, deletions (one, or in bulk), reactions
//! (a few, or a crowd), listeners coming and going, polls, restarts (which
//! compact the history file) and a small retention drive the real `Hub` in
//! process, beside a plain reference model of each channel's truth. At
//! random points a client takes a cursor (the newest change id then, with a
//! snapshot of the truth). At the end, from every cursor, the stream's
//! replay (one channel and many), the changes route paged and the poll, each
//! applied to the snapshot, must show the truth now, or the bridge must
//! have said `resync`. The history answered at the end must be what the
//! model retains, as it is. Any silent difference fails with the shrunk
//! sequence.
//!
//! `MODEL_CASES` sets the number of cases (256 by default).

#[path = "model/bridge.rs"]
mod bridge;
#[path = "model/client.rs"]
mod client;
#[path = "model/reference.rs"]
mod reference;

use bridge::{Bridge, Op, Setup};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestError, TestRunner};
use std::sync::atomic::Ordering;

fn ops() -> impl Strategy<Value = Vec<Op>> {
    let pick = 0..1_000usize;
    let op = prop_oneof![
        8 => (0..2usize, 0..3usize, any::<bool>())
            .prop_map(|(channel, author, reply)| Op::Create { channel, author, reply }),
        2 => pick.clone().prop_map(Op::RetryPost),
        4 => (pick.clone(), 0..4usize, any::<bool>())
            .prop_map(|(pick, reader, client_id)| Op::Edit { pick, reader, client_id }),
        2 => pick.clone().prop_map(Op::RetryChange),
        3 => (pick.clone(), 0..4usize, any::<bool>())
            .prop_map(|(pick, reader, client_id)| Op::Delete { pick, reader, client_id }),
        1 => (proptest::collection::vec(pick.clone(), 1..4), any::<bool>())
            .prop_map(|(picks, repeat)| Op::BulkDelete { picks, repeat }),
        6 => (pick.clone(), prop_oneof![4 => 0..3usize, 1 => 0..22usize], 0..4usize, any::<bool>())
            .prop_map(|(pick, emoji, user, add)| Op::React { pick, emoji, user, add }),
        1 => (pick.clone(), 15..30usize).prop_map(|(pick, count)| Op::Crowd { pick, count }),
        2 => (0..3usize).prop_map(Op::Listen),
        2 => pick.clone().prop_map(Op::Unlisten),
        2 => (0..3usize).prop_map(Op::Poll),
        3 => Just(Op::Cursor),
        2 => Just(Op::Restart),
    ];
    proptest::collection::vec(op, 1..60)
}

fn setup() -> impl Strategy<Value = Setup> {
    (2..7usize, 2..40usize, 1..5usize).prop_map(|(capacity, max_replay, page)| Setup {
        capacity,
        max_replay,
        page,
    })
}

#[test]
fn the_bridge_agrees_with_the_model() {
    let cases = std::env::var("MODEL_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(256);
    let config = Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    };
    let began = std::time::Instant::now();
    let mut runner = TestRunner::new(config);
    let result = runner.run(&(setup(), ops()), |(setup, ops)| {
        Bridge::run(setup, ops).map_err(TestCaseError::fail)
    });
    let stats = &bridge::STATS;
    eprintln!(
        "model: {cases} cases in {:.1} s; catch-ups compared {}, resync {}; \
         operations {}, restarts {}, cursors {}",
        began.elapsed().as_secs_f64(),
        stats.compared.load(Ordering::Relaxed),
        stats.resynced.load(Ordering::Relaxed),
        stats.operations.load(Ordering::Relaxed),
        stats.restarts.load(Ordering::Relaxed),
        stats.cursors.load(Ordering::Relaxed),
    );
    match result {
        Ok(()) => {}
        Err(TestError::Fail(reason, (setup, ops))) => {
            panic!("{reason}\nminimal failing case: {setup:?}\n{ops:#?}")
        }
        Err(TestError::Abort(reason)) => panic!("aborted: {reason}"),
    }
}
