//! The dashboard in a real browser: headless Chromium (Debian's package) loads the page from
//! `apiary serve`, runs its script against the API, and the rendered DOM's numbers are checked
//! against the store; a screenshot is saved under the target folder (docs/dashboard.png is a
//! copy of it).

use std::path::{Path, PathBuf};
use std::process::Command;

use apiary_e2e::harness::{PipelineSpec, Scratch, binary, connector_wasm, profile_dir};
use apiary_e2e::serve::ServeProcess;
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
