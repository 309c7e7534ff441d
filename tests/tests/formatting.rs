//! Messages read as they do in Discord: its markdown rendered as elements
//! (never parsed as HTML), links only to the web and mail, opened apart;
//! hostile content inert. Real Chromium, real bridge.

use e2e::panel::{ensure, Scenario, FAST};
use e2e::Error;
use serde_json::{json, Value};
use std::time::Duration;

const SOON: Duration = Duration::from_secs(15);

const CONTENT: &str = "**bold** *italic* __under__ ~~gone~~ ||secret|| `a **code** span`\n\
> quoted\n\
## Heading\n\
- first item\n\
- **second** item\n\
[the docs](https://example.com/docs) and https://en.wikipedia.org/wiki/Rust_(programming_language).\n\
```rust\nlet x = *y*;\n```\n\
[bad](javascript:alert(1)) <b>not html</b> <img src=x onerror=\"window.__xss=1\">";

/// What the row of `id` holds, element by element.
const READ: &str = r#"
const row = document.querySelector(`li[data-message-id="${arguments[0]}"] .dp-content`);
const text = (sel) => [...row.querySelectorAll(sel)].map(e => e.textContent);
return {
  strong: text('strong'), em: text('em'), u: text('u'), s: text('s'),
  code: text(':not(pre) > code'), pre: text('pre'), lang: [...row.querySelectorAll('pre')].map(p => p.getAttribute('data-lang')),
  quote: text('blockquote'), heading: text('h4'), items: text('ul > li'),
  links: [...row.querySelectorAll('a')].map(a => [a.getAttribute('href'), a.textContent, a.target, a.rel]),
  spoiler: [...row.querySelectorAll('[data-spoiler]')].map(e => [e.textContent, e.hasAttribute('data-revealed')]),
  html: row.querySelectorAll('b, img, script').length,
  xss: window.__xss || 0,
  text: row.textContent,
};
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discord_markdown_is_rendered_and_hostile_content_is_inert() -> Result<(), Error> {
    let s = Scenario::live("discord_markdown", &format!("/?channel=general&{FAST}")).await?;
    let id = s.bridge.inject("general", "ann", CONTENT).await?;
    s.wait_for(SOON, "the message", |st| st.ids.contains(&id))
        .await?;
    let read = |s: &Scenario| {
        let id = id.clone();
        let client = s.browser.client.clone();
        async move { (client.execute(READ, vec![Value::String(id)]).await).map_err(|e| e.to_string()) }
    };
    let row = read(&s).await?;
    let strings =
        |key: &str| -> Vec<String> { serde_json::from_value(row[key].clone()).unwrap_or_default() };
    ensure(strings("strong") == ["bold", "second"], || format!("{row}"))?;
    ensure(strings("em") == ["italic"], || format!("{row}"))?;
    ensure(
        strings("u") == ["under"] && strings("s") == ["gone"],
        || format!("{row}"),
    )?;
    ensure(strings("code") == ["a **code** span"], || format!("{row}"))?;
    ensure(
        strings("pre") == ["let x = *y*;\n"] && row["lang"][0] == "rust",
        || format!("{row}"),
    )?;
    ensure(strings("quote") == ["quoted\n"], || format!("{row}"))?;
    ensure(strings("heading") == ["Heading"], || format!("{row}"))?;
    ensure(strings("items") == ["first item", "second item"], || {
        format!("{row}")
    })?;
    let links: Vec<(String, String, String, String)> =
        serde_json::from_value(row["links"].clone()).map_err(|e| e.to_string())?;
    let wiki = "https://en.wikipedia.org/wiki/Rust_(programming_language)";
    ensure(
        links.len() == 2
            && links[0].0 == "https://example.com/docs"
            && links[0].1 == "the docs"
            && links[1].0 == wiki
            && links[1].1 == wiki
            && (links.iter()).all(|l| l.2 == "_blank" && l.3 == "noopener noreferrer nofollow"),
        || format!("links: {links:?}"),
    )?;
    // Hostile content: no element of it, no script run, shown as text.
    ensure(row["html"] == 0 && row["xss"] == 0, || format!("{row}"))?;
    let text = row["text"].as_str().unwrap_or_default();
    ensure(
        text.contains("[bad](javascript:alert(1))") && text.contains("<b>not html</b>"),
        || format!("the row reads {text:?}"),
    )?;
    // A spoiler is hidden until clicked.
    ensure(
        row["spoiler"] == serde_json::json!([["secret", false]]),
        || format!("{row}"),
    )?;
    s.run_js(&format!(
        "document.querySelector('li[data-message-id=\"{id}\"] [data-spoiler]').click();"
    ))
    .await?;
    let row = read(&s).await?;
    ensure(
        row["spoiler"] == serde_json::json!([["secret", true]]),
        || format!("after a click: {row}"),
    )
}

/// The rows as `READ_ROWS` reads them.
async fn shown_rows(s: &Scenario) -> Result<Vec<Value>, Error> {
    serde_json::from_value(s.run_js(READ_ROWS).await?).map_err(|e| e.to_string())
}

/// The row of message `id` (`Null` when it is not shown).
fn row_of(rows: &[Value], id: &str) -> Value {
    (rows.iter().find(|r| r["id"] == id).cloned()).unwrap_or_default()
}

/// What the panel shows for Discord's tokens, replies, files and runs.
const READ_ROWS: &str = r#"
return [...document.querySelectorAll('li[data-message-id]')].map(li => ({
  id: li.getAttribute('data-message-id'),
  grouped: li.hasAttribute('data-grouped'),
  avatar: (li.querySelector('.dp-avatar') || {}).textContent || '',
  mentions: [...li.querySelectorAll('[data-mention]')].map(m => [m.textContent, m.hasAttribute('data-me')]),
  times: [...li.querySelectorAll('.dp-content time')].map(t => [t.getAttribute('datetime'), t.textContent, t.hasAttribute('data-relative')]),
  reply: li.querySelector('[data-reply-to]') ? [li.querySelector('[data-reply-to]').getAttribute('data-reply-to'), li.querySelector('[data-reply-to]').textContent] : null,
  files: [...li.querySelectorAll('.dp-attachments li')].map(f => [f.querySelector('a').getAttribute('href'), f.textContent]),
  text: li.querySelector('.dp-content').textContent,
}));
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mentions_timestamps_replies_files_and_runs_of_one_author() -> Result<(), Error> {
    let s = Scenario::live(
        "discord_tokens",
        &format!("/?channel=general&author=Ann&{FAST}"),
    )
    .await?;
    let first = s.bridge.inject("general", "bob lee", "one").await?;
    let second = s.bridge.inject("general", "bob lee", "two").await?;
    let soon = (e2e::epoch_ms() / 1000.0) as i64 + 75;
    let third = s
        .bridge
        .post_json(
            "general",
            serde_json::json!({
                "author": "cy",
                "content": format!("<@7> and <@8>, <@&9> in <#10> <:party:11> at <t:0:D>, due <t:{soon}:R>"),
                "mentions": { "7": "Ann", "8": "bob lee", "9": "editors", "10": "design" },
                "referenced_message": { "id": first, "author": "bob lee", "content": "one" },
                "attachments": [{ "filename": "plan.pdf", "size": 123456, "url": "https://example.com/plan.pdf" },
                                { "filename": "evil", "size": 1, "url": "https://example.com/x" }],
            }),
        )
        .await?;
    let unknown = s.bridge.inject("general", "cy", "hi <@999>").await?;
    s.wait_for(SOON, "the messages", |st| st.ids.contains(&unknown))
        .await?;
    let rows = shown_rows(&s).await?;
    let row = |id: &str| row_of(&rows, id);
    // A run of one author shares its header; another author, or a reply, starts one.
    ensure(!row(&first)["grouped"].as_bool().unwrap_or(true), || {
        format!("{rows:?}")
    })?;
    ensure(row(&second)["grouped"] == true, || format!("{rows:?}"))?;
    ensure(
        row(&third)["grouped"] == false && row(&unknown)["grouped"] == true,
        || format!("{rows:?}"),
    )?;
    ensure(
        row(&first)["avatar"] == "BL" && row(&third)["avatar"] == "C",
        || format!("{rows:?}"),
    )?;
    // Mentions by name, the reader's own marked; an unknown id says so.
    let r = row(&third);
    ensure(
        r["mentions"]
            == serde_json::json!([
                ["@Ann", true],
                ["@bob lee", false],
                ["@editors", false],
                ["#design", false]
            ]),
        || format!("{r}"),
    )?;
    ensure(
        row(&unknown)["mentions"] == serde_json::json!([["@unknown-user", false]]),
        || format!("{rows:?}"),
    )?;
    ensure(
        r["text"].as_str().unwrap_or_default().contains(":party:"),
        || format!("{r}"),
    )?;
    // Timestamps as time elements, in the reader's locale; `R` relative.
    ensure(r["times"][0][0] == "1970-01-01T00:00:00.000Z", || {
        format!("{r}")
    })?;
    let relative = r["times"][1][1].as_str().unwrap_or_default().to_owned();
    ensure(
        r["times"][1][2] == true && relative.contains("minute"),
        || format!("{r}"),
    )?;
    // The reply says what it answers; a click goes there.
    ensure(
        r["reply"][0] == first.as_str()
            && r["reply"][1]
                .as_str()
                .unwrap_or_default()
                .contains("bob lee"),
        || format!("{r}"),
    )?;
    ensure(
        r["files"][0] == serde_json::json!(["https://example.com/plan.pdf", "plan.pdf (123.5 KB)"]),
        || format!("{r}"),
    )?;
    s.run_js(&format!(
        "document.querySelector('li[data-message-id=\"{third}\"] [data-reply-to]').click();"
    ))
    .await?;
    let flashed = s
        .run_js(&format!("return document.querySelector('li[data-message-id=\"{first}\"]').hasAttribute('data-flash');"))
        .await?;
    ensure(flashed == true, || "the original was not shown".into())?;
    // A run stays one across an edit, and across a catch-up after a gap.
    s.bridge.edit("general", &second, "two, edited").await?;
    s.bridge
        .set_fault(Some(bridge_client::Fault::Reject(503)))
        .await?;
    s.bridge.disconnect(None).await?;
    s.wait_label("reconnecting", SOON).await?;
    let later = s.bridge.inject("general", "cy", "while away").await?;
    s.bridge.set_fault(None).await?;
    s.wait_for(SOON, "Live with the message from the gap", |st| {
        st.label() == "live" && st.ids.contains(&later)
    })
    .await?;
    let rows = shown_rows(&s).await?;
    let row = |id: &str| row_of(&rows, id);
    ensure(
        row(&second)["grouped"] == true && row(&second)["text"] == "two, edited",
        || format!("after the edit: {rows:?}"),
    )?;
    ensure(row(&later)["grouped"] == true, || {
        format!("after the catch-up: {rows:?}")
    })?;
    // The relative time stays current (rewritten every 10 s).
    e2e::wait_until(
        Duration::from_secs(30),
        "the relative time to move on",
        || async {
            let rows = shown_rows(&s).await.ok()?;
            let now = row_of(&rows, &third)["times"][1][1].as_str()?.to_owned();
            (now != relative && now.contains("second")).then_some(())
        },
    )
    .await
}

/// A spoiler and what is inside it, as eyes, a mouse and a keyboard meet it:
/// the elements inside that can be read (visible, coloured), whether the
/// middle of its link is the link (a click there follows it), and whether
/// the link takes the focus.
const READ_SPOILER: &str = r#"
const spoiler = document.querySelector(`li[data-message-id="${arguments[0]}"] [data-spoiler]`);
spoiler.scrollIntoView({ block: 'center' });
const link = spoiler.querySelector('a');
const box = link.getBoundingClientRect();
const x = box.left + box.width / 2, y = box.top + box.height / 2;
const hit = document.elementFromPoint(x, y);
link.focus();
const focusable = document.activeElement === link;
link.blur();
const clear = (e) => { const s = getComputedStyle(e); return s.visibility !== 'hidden' && s.color !== 'rgba(0, 0, 0, 0)'; };
return {
  revealed: spoiler.hasAttribute('data-revealed'),
  button: [spoiler.getAttribute('role'), spoiler.getAttribute('tabindex'), spoiler.getAttribute('aria-expanded')],
  readable: [...spoiler.querySelectorAll('a, [data-mention]')].filter(clear).map(e => e.textContent),
  followable: !!(hit && hit.closest('a') === link),
  focusable,
  at: [x, y],
};
"#;

/// Records every click that reaches the page: whether it was on a link and
/// whether the link would be followed (the recorder then stops it, so the
/// test opens no tab).
const RECORD_CLICKS: &str = "window.__clicks = [];
addEventListener('click', (e) => {
  const link = e.target.closest && e.target.closest('a');
  window.__clicks.push(!!link && !e.defaultPrevented);
  if (link) e.preventDefault();
});";

/// A real (trusted) mouse click at a point of the page.
async fn click_at(s: &Scenario, at: &Value) -> Result<(), Error> {
    let (x, y) = (at[0].as_f64().unwrap_or(0.0), at[1].as_f64().unwrap_or(0.0));
    for kind in ["mousePressed", "mouseReleased"] {
        let event =
            serde_json::json!({ "type": kind, "x": x, "y": y, "button": "left", "clickCount": 1 });
        s.browser.cdp("Input.dispatchMouseEvent", event).await?;
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hidden_spoiler_hides_its_links_until_a_click_or_a_key_reveals_it() -> Result<(), Error> {
    let s = Scenario::live("spoiler_links", &format!("/?channel=general&{FAST}")).await?;
    let id = s
        .bridge
        .post_json(
            "general",
            serde_json::json!({
                "author": "cy",
                "content": "||see [the docs](https://example.com/docs) and <@7>||",
                "mentions": { "7": "Ann" },
            }),
        )
        .await?;
    let keys = s
        .bridge
        .inject("general", "cy", "||one|| and ||two||")
        .await?;
    s.wait_for(SOON, "the spoilers", |st| st.ids.contains(&keys))
        .await?;
    s.run_js(RECORD_CLICKS).await?;
    let read = || async {
        (s.browser
            .client
            .execute(READ_SPOILER, vec![Value::String(id.clone())])
            .await)
            .map_err(|e| e.to_string())
    };
    // Hidden: a button that says so (out of the Tab order: its row is not
    // the list's one tab stop); nothing inside readable, followable or focusable.
    let hidden = read().await?;
    ensure(
        hidden["button"] == serde_json::json!(["button", "-1", "false"]),
        || format!("a hidden spoiler is not a collapsed button: {hidden}"),
    )?;
    ensure(
        hidden["readable"] == serde_json::json!([])
            && hidden["followable"] == false
            && hidden["focusable"] == false,
        || format!("a hidden spoiler shows or offers its link: {hidden}"),
    )?;
    // The first click, on the link's place, reveals and follows nothing.
    click_at(&s, &hidden["at"]).await?;
    let shown = read().await?;
    let clicks = s.run_js("return window.__clicks;").await?;
    ensure(
        shown["revealed"] == true && clicks == serde_json::json!([false]),
        || format!("after the first click: {shown}, clicks (followed?) {clicks}"),
    )?;
    // Revealed: plain content, the link and the mention readable, the link works.
    ensure(
        shown["button"] == serde_json::json!([null, null, null])
            && shown["readable"] == serde_json::json!(["the docs", "@Ann"])
            && shown["followable"] == true
            && shown["focusable"] == true,
        || format!("a revealed spoiler: {shown}"),
    )?;
    click_at(&s, &shown["at"]).await?;
    let clicks = s.run_js("return window.__clicks;").await?;
    ensure(clicks == serde_json::json!([false, true]), || {
        format!("the second click did not follow the link: {clicks}")
    })?;
    // The keyboard: Enter reveals one, Space the other.
    use fantoccini::{key::Key, Locator};
    let selector = format!("li[data-message-id=\"{keys}\"] [data-spoiler]");
    let spoilers =
        (s.browser.client.find_all(Locator::Css(&selector)).await).map_err(|e| e.to_string())?;
    ensure(spoilers.len() == 2, || {
        format!("{} spoilers", spoilers.len())
    })?;
    for (spoiler, key) in spoilers.iter().zip([char::from(Key::Enter), ' ']) {
        (spoiler.send_keys(&key.to_string()).await)
            .map_err(|e| format!("a spoiler takes no key {key:?}: {e}"))?;
    }
    let revealed = s
        .run_js(&format!(
            "return [...document.querySelectorAll('{}')].map(e => e.hasAttribute('data-revealed'));",
            selector.replace('\'', "\\'")
        ))
        .await?;
    ensure(revealed == serde_json::json!([true, true]), || {
        format!("revealed by Enter and Space: {revealed}")
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn avatars_have_their_authors_colours_under_the_pages_csp() -> Result<(), Error> {
    // Three of the palette's eight colours (authors chosen to differ: any
    // palette gives some authors the same one).
    let authors = [("ann", "one"), ("bob", "two"), ("cy", "three")];
    let (s, ids) =
        Scenario::watched("avatar_csp", &format!("/?channel=general&{FAST}"), &authors).await?;
    s.wait_for(SOON, "the messages", |st| {
        ids.iter().all(|id| st.ids.contains(id))
    })
    .await?;
    let colours = s
        .run_js(
            "return [...document.querySelectorAll('li[data-message-id] .dp-avatar')]
               .map(a => getComputedStyle(a).backgroundColor);",
        )
        .await?;
    let colours: Vec<String> = serde_json::from_value(colours).map_err(|e| e.to_string())?;
    let mut distinct = colours.clone();
    distinct.sort();
    distinct.dedup();
    ensure(distinct.len() == authors.len(), || {
        format!("three authors' avatars are coloured {colours:?}")
    })?;
    let violations = s.run_js("return window.__csp;").await?;
    let problems = s.browser.page_problems().await?;
    ensure(violations == 0, || {
        format!("{violations} CSP violations: {problems:#?}")
    })
}

/// A Live panel on `general` in a browser that watches the page
/// ([`e2e::browser::WATCH_PAGE`]).
async fn watched(name: &str) -> Result<Scenario, Error> {
    let page = format!("/?channel=general&{FAST}");
    let (s, _) = Scenario::watched(name, &page, &[]).await?;
    s.wait_label("live", SOON).await?;
    Ok(s)
}

/// Nothing went wrong in the page: no uncaught error, unhandled rejection,
/// `console.error` or CSP violation.
async fn no_problems(s: &Scenario) -> Result<(), Error> {
    let problems = s.browser.page_problems().await?;
    ensure(problems.is_empty(), || {
        format!("the page reported problems: {problems:#?}")
    })
}

/// Helpers for the tests below: `row(id)`, and `clear(el)`, the text of
/// `el` that is not inside a hidden spoiler.
const ROWS: &str = r#"
const row = (id) => document.querySelector(`li[data-message-id="${id}"]`);
const clear = (el) => {
  const walk = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
  const out = [];
  for (let n = walk.nextNode(); n; n = walk.nextNode()) {
    if (!n.parentElement.closest('[data-spoiler]:not([data-revealed])')) out.push(n.data);
  }
  return out.join('');
};
"#;

/// A reply's line shows what it answers without what a spoiler there
/// hides: closed, or cut by the bridge (at 100 characters) inside it. It
/// showed "@bobthe ending: ||the butler did it||" (the original's raw text).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_line_keeps_the_spoilers_of_what_it_answers_hidden() -> Result<(), Error> {
    let s = watched("reply_spoiler").await?;
    let ending = "the ending: ||the butler did it||";
    let long = format!(
        "{} ||the gardener, who {}||",
        "x".repeat(80),
        "y".repeat(60)
    );
    let blocks = "# Title\n```rust\nfn main() {}\n```\n> quoted\n- item\n-# small ||print||";
    let mut replies = Vec::new();
    for original in [ending.to_owned(), long, blocks.to_owned()] {
        let id = s.bridge.inject("general", "bob", &original).await?;
        let reply = json!({ "author": "cy", "content": "no way",
            "referenced_message": { "id": id, "author": "bob", "content": original } });
        replies.push(s.bridge.post_json("general", reply).await?);
    }
    s.wait_for(SOON, "the replies", |st| st.ids.contains(&replies[2]))
        .await?;
    let seen = s
        .run_js(&format!(
            "{ROWS} return {replies:?}.map(id => {{
               const line = row(id).querySelector('.dp-reply');
               return [clear(line), line.getBoundingClientRect().height];
             }});"
        ))
        .await?;
    for line in seen.as_array().into_iter().flatten() {
        let text = line[0].as_str().unwrap_or_default();
        ensure(
            text.starts_with("@bob")
                && !["butler", "gardener", "print"]
                    .iter()
                    .any(|w| text.contains(w)),
            || format!("a reply's line reads {text:?}: a spoiler of what it answers, in the clear"),
        )?;
    }
    // One line each, whatever blocks the original holds.
    ensure(seen[2][1] == seen[0][1], || {
        format!("a reply's line to a message of blocks is not one line: [text, height] {seen}")
    })?;
    no_problems(&s).await
}

/// `||```code```||` (how Discord users hide code) and a spoiler over a
/// quote line: a code block and a quote in the clear between bars, before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spoiler_over_a_code_block_or_a_quote_hides_it_until_revealed() -> Result<(), Error> {
    let s = watched("spoiler_block").await?;
    let id = (s.bridge)
        .inject(
            "general",
            "bob",
            "||```the answer is 42```||\n||the killer is\n> the butler||",
        )
        .await?;
    s.wait_for(SOON, "the message", |st| st.ids.contains(&id))
        .await?;
    let read = format!(
        "{ROWS} const r = row('{id}'), pre = r.querySelector('pre'), quote = r.querySelector('blockquote');
         const hidden = (e) => !!e && !!e.closest('[data-spoiler]:not([data-revealed])') && getComputedStyle(e).visibility === 'hidden';
         const bar = pre && pre.closest('[data-spoiler]');
         return [clear(r.querySelector('.dp-content')).trim(), hidden(pre), hidden(quote),
                 bar ? bar.getBoundingClientRect().height >= pre.getBoundingClientRect().height : false];"
    );
    let shown = s.run_js(&read).await?;
    ensure(shown == json!(["", true, true, true]), || {
        format!("[text in the clear, code block hidden, quote hidden, the bar covers the block]: {shown}")
    })?;
    // A click shows each.
    s.run_js(&format!(
        "document.querySelectorAll('li[data-message-id=\"{id}\"] [data-spoiler]').forEach(e => e.click());"
    ))
    .await?;
    let shown = s.run_js(&read).await?;
    ensure(
        shown[0] == "the answer is 42\nthe killer is\nthe butler" && shown[1] == false,
        || format!("revealed: {shown}"),
    )?;
    no_problems(&s).await
}

/// "2020. What a year" was shown "1. What a year".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_numbered_line_shows_its_own_number() -> Result<(), Error> {
    let s = watched("list_number").await?;
    let id = s
        .bridge
        .inject("general", "bob", "2020. What a year\n2021. And another")
        .await?;
    s.wait_for(SOON, "the message", |st| st.ids.contains(&id))
        .await?;
    let shown = s
        .run_js(&format!(
            "{ROWS} const ol = row('{id}').querySelector('ol'); return ol ? [ol.start, ol.children.length] : null;"
        ))
        .await?;
    ensure(shown == json!([2020, 2]), || {
        format!("\"2020. What a year\" is shown as a list [start, items] {shown}")
    })?;
    no_problems(&s).await
}

/// Selecting a hidden spoiler painted its text (the selection's colours
/// over its own, transparent text): nothing may change on screen when the
/// selection covers it. A selection of visible text does change it (so the
/// comparison can tell).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn selecting_a_hidden_spoiler_paints_nothing() -> Result<(), Error> {
    let s = watched("spoiler_selection").await?;
    let id = s
        .bridge
        .inject(
            "general",
            "bob",
            "plain words ||the butler did it with **the rope**||",
        )
        .await?;
    s.wait_for(SOON, "the message", |st| st.ids.contains(&id))
        .await?;
    let shot =
        || async { (s.browser.client.screenshot().await).map_err(|e| format!("screenshot: {e}")) };
    let select = |what: &'static str| {
        format!(
            "{ROWS} const c = row('{id}').querySelector('.dp-content');
             const r = document.createRange(); const sel = getSelection(); sel.removeAllRanges();
             if ('{what}' === 'spoiler') r.selectNodeContents(c.querySelector('[data-spoiler]'));
             else r.selectNodeContents(c.firstChild);
             sel.addRange(r); return sel.toString();"
        )
    };
    s.run_js("getSelection().removeAllRanges(); return 1;")
        .await?;
    let before = shot().await?;
    let copied = s.run_js(&select("spoiler")).await?;
    let spoiler = shot().await?;
    s.run_js(&select("words")).await?;
    let words = shot().await?;
    ensure(words != before, || {
        "a selection of visible words changed nothing on screen: the comparison cannot tell".into()
    })?;
    ensure(spoiler == before, || {
        format!("selecting the hidden spoiler changed the screen (the selection copies {copied})")
    })?;
    ensure(
        !copied.as_str().unwrap_or_default().contains("butler"),
        || format!("a selection of the hidden spoiler copies {copied}"),
    )?;
    no_problems(&s).await
}

/// A spoiler in a link's text was shown, bars and all; hidden now, and the
/// click that reveals it follows nothing. A masked link says where it goes
/// (its address as a tooltip); one whose text is another address is none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spoiler_in_a_links_text_hides_it_and_a_masked_link_says_where_it_goes(
) -> Result<(), Error> {
    let s = watched("spoiler_link_text").await?;
    let id = (s.bridge)
        .inject(
            "general",
            "bob",
            "[||the butler||](https://example.com/ending) [docs](https://example.com/docs) [https://bank.example/login](https://evil.example/login)",
        )
        .await?;
    s.wait_for(SOON, "the message", |st| st.ids.contains(&id))
        .await?;
    s.run_js(RECORD_CLICKS).await?;
    let read = format!(
        "{ROWS} const c = row('{id}').querySelector('.dp-content'), sp = c.querySelector('a [data-spoiler]') || c;
         sp.scrollIntoView({{ block: 'center' }});
         const b = sp.getBoundingClientRect();
         return [clear(c), [...c.querySelectorAll('a')].map(a => [a.getAttribute('href'), a.title, a.textContent]),
                 [b.left + b.width / 2, b.top + b.height / 2], sp.hasAttribute('data-revealed')];"
    );
    let shown = s.run_js(&read).await?;
    let text = shown[0].as_str().unwrap_or_default();
    ensure(!text.contains("butler"), || {
        format!("the link's text reads {text:?}")
    })?;
    let links = &shown[1];
    ensure(
        links[0]
            == json!([
                "https://example.com/ending",
                "https://example.com/ending",
                "the butler"
            ])
            && links[1]
                == json!([
                    "https://example.com/docs",
                    "https://example.com/docs",
                    "docs"
                ])
            && (links.as_array().into_iter().flatten()).all(|l| {
                l[2].as_str()
                    .is_none_or(|t| !t.starts_with("https://") || l[0] == l[2])
            }),
        || format!("links [href, title, text]: {links}"),
    )?;
    click_at(&s, &shown[2]).await?;
    let after = s.run_js(&read).await?;
    let clicks = s.run_js("return window.__clicks;").await?;
    ensure(after[3] == true && clicks == json!([false]), || {
        format!(
            "after a click on the spoiler: revealed {}, clicks (followed?) {clicks}",
            after[3]
        )
    })?;
    no_problems(&s).await
}
