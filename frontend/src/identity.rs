//! Who the reader is, as far as what a panel shares and keeps is concerned.
//!
//! Tabs share a stream only with tabs of the same person, and unsent replies
//! are kept per person, so a shared computer or a host that switches accounts
//! never mixes two people's streams or sends one person's reply as another's.
//! A panel that signs in (a token, or cookies) asks the bridge who that is
//! (`GET /api/me`); one that does not is anonymous, and its replies carry the
//! `author` it was given.

use crate::auth::Auth;
use crate::browser::{text, Request};
use crate::connection::signed_in;
use std::cell::RefCell;

/// What the bridge said of a sign-in.
pub enum Whoami {
    /// The person's name (`None`: the bridge has no sign-in).
    User(Option<String>),
    /// 401: the sign-in is not (or no longer) valid.
    Refused,
    /// No answer to go by (network, 5xx): asked again on the next attempt.
    Unknown,
}

/// Asks the bridge who the panel's sign-in is.
pub async fn whoami(bridge_url: &str, auth: &Auth) -> Whoami {
    let url = [bridge_url, "/api/me"].concat();
    let Ok(response) = signed_in(Request::get(&url), auth).await.send().await else {
        return Whoami::Unknown;
    };
    match response.status() {
        401 => return Whoami::Refused,
        // A bridge from before `/api/me`: it cannot tell people apart, and
        // shares as it always did.
        404 => return Whoami::User(None),
        status if !(200..300).contains(&status) => return Whoami::Unknown,
        _ => {}
    }
    let Ok(text) = text(&response).await else {
        return Whoami::Unknown;
    };
    let user = js_sys::JSON::parse(&text)
        .ok()
        .and_then(|answer| crate::browser::property(&answer, "user"))
        .and_then(|user| user.as_string());
    Whoami::User(user)
}

/// The key of a person's things (a sharing group, saved replies): the
/// signed-in user, or for an anonymous panel, the author its replies carry.
pub fn person(user: Option<&str>, author: &str) -> String {
    match user {
        Some(user) => ["user:", user].concat(),
        None => ["author:", author].concat(),
    }
}

thread_local! {
    /// The outbox keys panels of this tab use now.
    static OUTBOX_KEYS: RefCell<Vec<String>> = RefCell::default();
}

/// A panel's claim on where its unsent replies are saved in the tab's session
/// storage: per bridge, channel and person, and, for a second panel of the
/// same channel in one tab, a slot of its own (`#1`, …), so that two panels
/// never overwrite each other's. Panels mount in the same order after a
/// reload, so each finds its own again. Released on drop.
pub struct OutboxKey(String);

impl OutboxKey {
    pub fn claim(bridge_url: &str, channel: &str, person: &str) -> OutboxKey {
        let base = [
            "discussion-panel:outbox:",
            bridge_url,
            ":",
            channel,
            ":",
            person,
        ]
        .concat();
        OUTBOX_KEYS.with(|keys| {
            let mut keys = keys.borrow_mut();
            let key = (0..)
                .map(|slot| match slot {
                    0 => base.clone(),
                    n => [&base, "#", &panel_core::number::digits(n)].concat(),
                })
                .find(|key| !keys.contains(key))
                .expect("a free slot");
            keys.push(key.clone());
            OutboxKey(key)
        })
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Drop for OutboxKey {
    fn drop(&mut self) {
        OUTBOX_KEYS.with(|keys| keys.borrow_mut().retain(|key| key != &self.0));
    }
}
