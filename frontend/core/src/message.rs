//! A chat message and its id, in the bridge's JSON shape.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// A message id: an unsigned 64-bit number sent as a decimal string.
///
/// Ids grow strictly in the order the bridge accepted messages, so they order
/// messages. They are compared as numbers: `"9" < "10"` here, unlike as text.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MessageId(pub u64);

impl fmt::Display for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl FromStr for MessageId {
    type Err = std::num::ParseIntError;

    /// Accepts only plain decimal digits (no sign, no spaces), as the contract says.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            // Produce the standard "invalid digit" error for anything else.
            return "x".parse::<u64>().map(MessageId);
        }
        s.parse().map(MessageId)
    }
}

impl Serialize for MessageId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for MessageId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(|_| {
            serde::de::Error::custom(format!("message id \"{text}\" is not a decimal u64"))
        })
    }
}

/// One chat message. `content` is plain text and is only ever rendered as text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// Orders messages and deduplicates them across stream and history.
    pub id: MessageId,
    /// The channel the message belongs to; a panel ignores other channels' messages.
    pub channel_id: String,
    /// Display name of the sender.
    pub author: String,
    /// Plain text, up to 4000 characters.
    pub content: String,
    /// RFC 3339 time the bridge accepted the message, shown as given.
    pub timestamp: String,
    /// The id its sender gave it, for a reply posted from a panel: how the
    /// sender recognises its own reply when it comes back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
}

/// Whether `channel` is a valid channel name: `^[A-Za-z0-9_-]{1,64}$`.
pub fn is_valid_channel(channel: &str) -> bool {
    (1..=64).contains(&channel.len())
        && channel
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_names_follow_the_contract() {
        assert!(
            is_valid_channel("general")
                && is_valid_channel("a-b_C9")
                && is_valid_channel(&"x".repeat(64))
        );
        for bad in ["", "a b", "a/b", "ä", &"x".repeat(65), "../x"] {
            assert!(!is_valid_channel(bad), "{bad:?}");
        }
    }

    #[test]
    fn ids_compare_as_numbers_not_text() {
        let nine: MessageId = "9".parse().unwrap();
        let ten: MessageId = "10".parse().unwrap();
        assert!(nine < ten);
    }

    #[test]
    fn ids_reject_signs_spaces_and_overflow() {
        for bad in [
            "",
            "-1",
            "+1",
            " 1",
            "1 ",
            "0x10",
            "18446744073709551616",
            "1.0",
        ] {
            assert!(bad.parse::<MessageId>().is_err(), "{bad:?} was accepted");
        }
        assert_eq!(
            "18446744073709551615".parse::<MessageId>().unwrap().0,
            u64::MAX
        );
    }

    #[test]
    fn message_round_trips_with_id_as_string() {
        let json = r#"{"id":"1042","channel_id":"general","author":"alice","content":"hello","timestamp":"2026-11-22T12:00:00.000Z"}"#;
        let message: Message = serde_json::from_str(json).unwrap();
        assert_eq!(message.id, MessageId(1042));
        assert_eq!(serde_json::to_string(&message).unwrap(), json);
    }

    #[test]
    fn numeric_id_is_refused() {
        let json = r#"{"id":1042,"channel_id":"g","author":"a","content":"c","timestamp":"t"}"#;
        assert!(serde_json::from_str::<Message>(json).is_err());
    }
}
