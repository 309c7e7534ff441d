//! Which rendered rows to keep, remove or create when the held messages change.
//!
//! The view renders one row per held message, in id order. Re-rendering the
//! whole list costs time in proportion to its length; instead the view asks
//! [`reconcile`] for the few steps that turn the rows it has into the rows it
//! needs, and touches the DOM only for those. Both sides are ordered by id, so
//! one walk over the two finds them, and the steps are the fewest possible:
//! one removal per row that left, one creation per message that arrived.

use crate::message::MessageId;

/// One step of the walk, in order. A view applies them with a cursor over its
/// current rows: `Keep` and `Remove` consume the row under the cursor;
/// `Insert` creates a row and places it before the row under the cursor (at
/// the end when there is none).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RowStep {
    /// The row under the cursor stays.
    Keep,
    /// The row under the cursor goes (its message is no longer held).
    Remove,
    /// A row for `new[index]` is created here.
    Insert(usize),
}

/// The steps from rows for `old` to rows for `new`; both strictly ascending.
pub fn reconcile(old: &[MessageId], new: &[MessageId]) -> Vec<RowStep> {
    let mut steps = Vec::new();
    let mut old = old.iter().peekable();
    for (index, id) in new.iter().enumerate() {
        while old.next_if(|held| *held < id).is_some() {
            steps.push(RowStep::Remove);
        }
        if old.next_if(|held| *held == id).is_some() {
            steps.push(RowStep::Keep);
        } else {
            steps.push(RowStep::Insert(index));
        }
    }
    for _ in old {
        steps.push(RowStep::Remove);
    }
    steps
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ids(values: &[u64]) -> Vec<MessageId> {
        values.iter().copied().map(MessageId).collect()
    }

    /// Applies `steps` the way a view does, to a list of ids.
    fn apply(old: &[MessageId], new: &[MessageId], steps: &[RowStep]) -> Vec<MessageId> {
        let mut cursor = old.iter();
        let mut rows = Vec::new();
        for step in steps {
            match step {
                RowStep::Keep => rows.push(*cursor.next().expect("a row to keep")),
                RowStep::Remove => {
                    cursor.next().expect("a row to remove");
                }
                RowStep::Insert(index) => rows.push(new[*index]),
            }
        }
        assert!(cursor.next().is_none(), "rows left unvisited");
        rows
    }

    #[test]
    fn an_append_and_a_batch_eviction_touch_only_those_rows() {
        let steps = reconcile(&ids(&[1, 2, 3]), &ids(&[1, 2, 3, 4]));
        assert_eq!(
            steps,
            [
                RowStep::Keep,
                RowStep::Keep,
                RowStep::Keep,
                RowStep::Insert(3)
            ]
        );
        let steps = reconcile(&ids(&[1, 2, 3, 4]), &ids(&[3, 4, 5]));
        assert_eq!(
            steps,
            [
                RowStep::Remove,
                RowStep::Remove,
                RowStep::Keep,
                RowStep::Keep,
                RowStep::Insert(2)
            ]
        );
    }

    #[test]
    fn a_history_page_fills_a_hole_in_place() {
        let (old, new) = (ids(&[1, 5]), ids(&[1, 2, 3, 5]));
        let steps = reconcile(&old, &new);
        assert_eq!(
            steps,
            [
                RowStep::Keep,
                RowStep::Insert(1),
                RowStep::Insert(2),
                RowStep::Keep
            ]
        );
        assert_eq!(apply(&old, &new, &steps), new);
        assert_eq!(reconcile(&new, &[]), [RowStep::Remove; 4]);
    }

    proptest! {
        #[test]
        fn the_steps_turn_old_into_new_with_the_fewest_changes(
            old in proptest::collection::btree_set(0u64..80, 0..40),
            new in proptest::collection::btree_set(0u64..80, 0..40),
        ) {
            let changed = old.symmetric_difference(&new).count();
            let (old, new): (Vec<_>, Vec<_>) = (
                old.into_iter().map(MessageId).collect(),
                new.into_iter().map(MessageId).collect(),
            );
            let steps = reconcile(&old, &new);
            prop_assert_eq!(apply(&old, &new, &steps), new.clone());
            let touched = steps.iter().filter(|s| **s != RowStep::Keep).count();
            prop_assert_eq!(touched, changed);
        }
    }
}
