//! Where the keyboard goes in the message list: one tab stop (a roving
//! `tabindex`, as the ARIA feed pattern has it), moved between messages by
//! keys. The glue finds the focused row's place and carries out the move.

/// Where a key takes the focus.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Move {
    /// To the row at this index (of the rows shown, oldest first).
    To(usize),
    /// Back to the composer.
    Composer,
}

/// How many rows Page Up and Page Down move.
pub const PAGE_ROWS: usize = 10;

/// Where `key` (a `KeyboardEvent.key`) takes the focus from the row at
/// `at` of `len` rows; `None` for a key the list leaves alone.
pub fn key_move(key: &str, at: usize, len: usize) -> Option<Move> {
    let last = len.checked_sub(1)?;
    let to = match key {
        "ArrowUp" => at.saturating_sub(1),
        "ArrowDown" => at + 1,
        "PageUp" => at.saturating_sub(PAGE_ROWS),
        "PageDown" => at + PAGE_ROWS,
        "Home" => 0,
        "End" => last,
        "Escape" => return Some(Move::Composer),
        _ => return None,
    };
    Some(Move::To(to.min(last)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_move_within_the_rows_and_escape_leaves_for_the_composer() {
        assert_eq!(key_move("ArrowUp", 5, 200), Some(Move::To(4)));
        assert_eq!(
            key_move("ArrowUp", 0, 200),
            Some(Move::To(0)),
            "stays at the first"
        );
        assert_eq!(key_move("ArrowDown", 199, 200), Some(Move::To(199)));
        assert_eq!(key_move("PageUp", 5, 200), Some(Move::To(0)));
        assert_eq!(key_move("PageDown", 5, 200), Some(Move::To(15)));
        assert_eq!(key_move("PageDown", 195, 200), Some(Move::To(199)));
        assert_eq!(key_move("Home", 50, 200), Some(Move::To(0)));
        assert_eq!(key_move("End", 50, 200), Some(Move::To(199)));
        assert_eq!(key_move("Escape", 50, 200), Some(Move::Composer));
        assert_eq!(key_move("a", 50, 200), None);
        assert_eq!(
            key_move("Tab", 50, 200),
            None,
            "Tab leaves the list as usual"
        );
        assert_eq!(key_move("End", 0, 0), None, "no rows: nothing to move to");
    }
}
