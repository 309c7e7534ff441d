//! What the composer may send, and what its counter says.

use crate::number::digits;

/// The longest reply the bridge takes, in characters.
pub const MAX_REPLY_CHARS: usize = 4_000;

/// Past this many characters the counter shows how many are left.
const COUNT_FROM_CHARS: usize = 3_500;

/// Whether a draft can be sent: something besides white space, within the limit.
pub fn can_send(draft: &str) -> bool {
    !draft.trim().is_empty() && draft.chars().count() <= MAX_REPLY_CHARS
}

/// The counter under the draft: nothing far from the limit, then what is
/// left, then how many characters are too many.
pub fn counter(draft: &str) -> String {
    let count = draft.chars().count();
    if count <= COUNT_FROM_CHARS {
        String::new()
    } else if count <= MAX_REPLY_CHARS {
        digits((MAX_REPLY_CHARS - count) as u64) + " left"
    } else {
        digits((count - MAX_REPLY_CHARS) as u64) + " too many"
    }
}

/// The composer's text after a refused reply is taken back to edit: the
/// reply, or, when the reader is already writing something, their draft with
/// the reply after it (a blank line between), so neither is lost.
pub fn take_back(draft: &str, reply: &str) -> String {
    if draft.trim().is_empty() {
        reply.to_owned()
    } else {
        [draft.trim_end(), "\n\n", reply].concat()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reply_taken_back_never_overwrites_a_draft() {
        assert_eq!(take_back("", "refused"), "refused");
        assert_eq!(take_back(" \n", "refused"), "refused");
        assert_eq!(
            take_back("half a thought", "refused"),
            "half a thought\n\nrefused"
        );
        assert_eq!(take_back("line\n\n", "refused"), "line\n\nrefused");
    }

    #[test]
    fn a_draft_goes_when_it_has_words_and_fits() {
        assert!(can_send("hi"));
        assert!(can_send(&"é".repeat(4_000)), "characters, not bytes");
        for bad in ["", "  \n\t", &"x".repeat(4_001)] {
            assert!(!can_send(bad), "{bad:?}");
        }
        assert_eq!(counter(&"x".repeat(3_500)), "");
        assert_eq!(counter(&"x".repeat(3_501)), "499 left");
        assert_eq!(counter(&"x".repeat(4_000)), "0 left");
        assert_eq!(counter(&"x".repeat(4_001)), "1 too many");
    }
}
