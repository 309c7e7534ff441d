//! Messages read as they do in Discord: its markdown rendered as elements
//! (never parsed as HTML), links only to the web and mail, opened apart;
//! hostile content inert. Real Chromium, real bridge.

use e2e::panel::{ensure, Scenario, FAST};
use e2e::Error;
use serde_json::Value;
use std::time::Duration;

const SOON: Duration = Duration::from_secs(15);

const CONTENT: &str = "**bold** *italic* __under__ ~~gone~~ ||secret|| `a **code** span`\n\
> quoted\n\
## Heading\n\
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
  quote: text('blockquote'), heading: text('h4'),
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
    ensure(strings("strong") == ["bold"], || format!("{row}"))?;
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
