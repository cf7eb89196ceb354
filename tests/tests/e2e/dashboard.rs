//! The dashboard in a real browser: headless Chromium (Debian's package) loads the page from
//! `apiary serve`, runs its script against the API, and the rendered DOM's numbers are checked
//! against the store; a screenshot is saved under the target folder (docs/dashboard.png is a
//! copy of it). A second test drives Chromium over DevTools and clicks "replay dead letters".

use std::path::{Path, PathBuf};
use std::process::Command;

use apiary_e2e::harness::{PipelineSpec, Scratch, binary, connector_wasm, profile_dir};
use apiary_e2e::serve::ServeProcess;
use apiary_e2e::services::Browser;
use apiary_e2e::spawn::MockProcess;
use apiary_host::store::{LetterOrigin, Store};

/// Debian's Chromium; `cargo xtask setup` (or `apt-get install chromium`) installs it.
fn chromium() -> PathBuf {
    let path = PathBuf::from("/usr/bin/chromium");
    assert!(path.exists(), "{} is missing: run `cargo xtask setup` or `apt-get install chromium`", path.display());
    path
}

/// Run headless Chromium on `url` with `args`; virtual time lets the page's fetches finish.
fn chromium_run(url: &str, args: &[&str]) -> String {
    let output = Command::new(chromium())
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--virtual-time-budget=5000"])
        .args(args)
        .arg(url)
        .output()
        .expect("running chromium");
    assert!(output.status.success(), "chromium failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The text of the first element after `marker` in `html` (`<td class="num records">60</td>`).
fn text_after<'a>(html: &'a str, marker: &str) -> &'a str {
    let at = html.find(marker).unwrap_or_else(|| panic!("{marker} not rendered"));
    let rest = &html[at..];
    let start = rest.find('>').expect("tag end") + 1;
    let end = rest[start..].find('<').expect("text end");
    &rest[start..start + end]
}

/// The rendered row of pipeline `name`.
fn row<'a>(html: &'a str, name: &str) -> &'a str {
    let start = html.find(&format!("data-pipeline=\"{name}\"")).unwrap_or_else(|| panic!("no row for {name}"));
    let end = html[start..].find("</tr>").expect("row end");
    &html[start..start + end]
}

fn pipelines(dir: &Path, base_url: &str) {
    std::fs::create_dir_all(dir).unwrap();
    let github = connector_wasm("github_connector");
    let config = [("owner", "\"apiary-mock\""), ("repo", "\"generated\""), ("per_page", "10")];
    let extra = "[buckets.core]\nrequests = 1000\nper-ms = 1000\nburst = 100\nallow-raise = true\n";
    let issues =
        PipelineSpec { name: "issues", connector: &github, base_url, streams: &["issues"], config: &config, extra };
    std::fs::write(dir.join("issues.toml"), format!("every = \"1h\"\n{}", issues.toml())).unwrap();
    let v1 = connector_wasm("versioned_v1");
    let broken =
        PipelineSpec { name: "versioned", connector: &v1, base_url, streams: &["issues"], config: &[], extra: "" };
    std::fs::write(dir.join("versioned.toml"), broken.toml()).unwrap();
}

#[test]
fn chromium_renders_the_stores_numbers_and_a_screenshot_is_saved() {
    let api = MockProcess::start(&binary("apiary-mock"), &["--pages", "6", "--deprecate", "generated"]).unwrap();
    let scratch = Scratch::new();
    let dir = scratch.path().join("pipelines");
    pipelines(&dir, api.base_url());
    let mut serve = ServeProcess::start(&scratch.home(), &dir, &[], &[]).unwrap();
    assert_eq!(serve.post("/api/pipelines/versioned/run").0, 202);
    serve.wait_for("/api/pipelines", "both pipelines to run", |v| {
        v["pipelines"].as_array().unwrap().iter().all(|p| p["status"] == "succeeded")
    });

    let html = chromium_run(&format!("{}/", serve.base_url()), &["--dump-dom"]);
    assert!(html.contains("data-loaded=\"true\""), "the script ran against the API: {html}");
    let store = Store::open_read_only(&scratch.home().join("apiary.redb")).unwrap();
    let runs = store.runs().unwrap();
    for name in ["issues", "versioned"] {
        let last = runs.iter().rev().find(|r| r.pipeline == name).unwrap();
        let rendered = text_after(row(&html, name), "class=\"num records\"");
        assert_eq!(rendered.replace(',', ""), last.counts.records.to_string(), "{name}'s records as stored");
    }
    let open = store.dead_letters(|l| l.resolved_by.is_none() && l.origin == LetterOrigin::Live).unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(text_after(&html, "id=\"open-letters\""), "1");
    assert!(html.contains(&format!("data-letter=\"{}\"", open[0].id)), "the letter is listed");
    let link = format!("href=\"/api/exchanges/{}\"", open[0].exchange.unwrap());
    assert!(html.contains(&link), "with a link to its raw exchange");
    assert_eq!(html.matches("<rect class=\"records\"").count(), runs.len(), "one bar per run");
    assert!(html.contains("sunset 2026-07-01"), "the sunset notice is shown");
    assert!(html.contains("data-bucket=\"issues/core\""), "the bucket's use is shown");

    let screenshot = profile_dir().join("screenshots").join("dashboard.png");
    std::fs::create_dir_all(screenshot.parent().unwrap()).unwrap();
    let _ = std::fs::remove_file(&screenshot);
    let target = format!("--screenshot={}", screenshot.display());
    chromium_run(&format!("{}/", serve.base_url()), &[&target, "--window-size=1280,1300"]);
    let png = std::fs::read(&screenshot).expect("the screenshot is saved");
    assert!(png.starts_with(b"\x89PNG") && png.len() > 20_000, "a real picture ({} bytes)", png.len());
    assert!(serve.terminate().success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clicking_replay_resolves_the_dead_letter_shown() {
    let api = MockProcess::start(&binary("apiary-mock"), &["--pages", "6"]).unwrap();
    let scratch = Scratch::new();
    let dir = scratch.path().join("pipelines");
    std::fs::create_dir_all(&dir).unwrap();
    let versioned = |release: &str| {
        let wasm = connector_wasm(&format!("versioned_{release}"));
        let spec = PipelineSpec {
            name: "versioned",
            connector: &wasm,
            base_url: api.base_url(),
            streams: &["issues"],
            config: &[],
            extra: "",
        };
        spec.toml()
    };
    std::fs::write(dir.join("versioned.toml"), versioned("v1")).unwrap();
    let serve = ServeProcess::start(&scratch.home(), &dir, &["--rescan-every", "1h"], &[]).unwrap();
    assert_eq!(serve.post("/api/pipelines/versioned/run").0, 202);
    let letters = serve.wait_for("/api/dead-letters", "v1's letter", |l| l.as_array().unwrap().len() == 1);
    let letter = letters[0]["id"].as_u64().unwrap();
    let letter_id = apiary_host::store::DeadLetterId(letter);
    // The fixed connector is put in place, as an engineer would before pressing replay.
    std::fs::remove_file(dir.join("versioned.toml")).unwrap();
    std::fs::write(dir.join("versioned-v2.toml"), versioned("v2")).unwrap();
    serve.signal("HUP");
    serve.wait_for("/api/pipelines", "the v2 file", |v| {
        v["pipelines"][0]["file"].as_str().is_some_and(|f| f.ends_with("versioned-v2.toml"))
    });

    let browser = Browser::launch().await;
    let page = browser.open(&format!("{}/", serve.base_url())).await.expect("the dashboard loads");
    let shown = page.wait_for_text(&format!("tr[data-letter=\"{letter}\"]"), "versioned", WAIT).await.unwrap();
    assert!(shown.contains("issues"), "the letter's row: {shown}");
    assert_eq!(page.text("#open-letters").await.unwrap(), "1");
    page.click("button.replay[data-pipeline=\"versioned\"]").await.unwrap();
    let runs = serve.wait_for("/api/runs", "the replay run", |r| {
        r[0]["kind"] == "replay" && r[0]["outcome"]["state"] == "succeeded"
    });
    assert_eq!(runs[0]["counts"]["records"].as_u64(), Some(20), "pages 3-6 after the replay: {runs}");
    // The page refreshes itself: the letter is gone from the open ones.
    page.wait_for_text("#open-letters", "0", WAIT).await.unwrap();
    let store = Store::open_read_only(&scratch.home().join("apiary.redb")).unwrap();
    assert!(store.dead_letter(letter_id).unwrap().resolved_by.is_some(), "resolved in the store");
}

/// How long the page may take to show what the server did.
const WAIT: std::time::Duration = std::time::Duration::from_secs(20);
