//! Headless Chromium for dashboard tests, driven over the DevTools protocol by `chromiumoxide`
//! (never a downloaded browser: Debian's `/usr/bin/chromium`). The browser process is started
//! like every test server, so it dies with the test process.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use apiary_testenv::CHROMIUM;
use chromiumoxide::cdp::browser_protocol::page::CaptureScreenshotFormat;
use chromiumoxide::error::CdpError;
use chromiumoxide::page::ScreenshotParams;
use futures_util::StreamExt;
use tokio::task::JoinHandle;

use super::process::Launch;
use super::scratch::server_dir;
use super::server::{Server, port_open};

/// Flags that keep a headless Chromium on loopback and quiet on this machine (as root too).
const FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--hide-scrollbars",
    "--mute-audio",
    "--window-size=1280,800",
    "--remote-debugging-address=127.0.0.1",
];

/// How often [`Page::wait_for_text`] looks again.
const POLL: Duration = Duration::from_millis(50);

/// Chromium's path; panics naming the Debian package when it is not installed.
pub fn chromium() -> PathBuf {
    CHROMIUM.find().unwrap_or_else(|| panic!("{}", CHROMIUM.missing_message()))
}

/// What went wrong while driving the browser.
#[derive(Debug, thiserror::Error)]
pub enum BrowserError {
    /// A DevTools command failed.
    #[error("browser: {action}: {source}")]
    Cdp {
        /// What the test asked for.
        action: String,
        /// The protocol error.
        source: CdpError,
    },
    /// The text never appeared.
    #[error("browser: `{selector}` did not show {expected:?} within {timeout:?}; it showed {last:?}")]
    Timeout {
        /// The element looked at.
        selector: String,
        /// The text waited for.
        expected: String,
        /// How long the test waited.
        timeout: Duration,
        /// The element's text at the end (`None`: no such element).
        last: Option<String>,
    },
}

fn cdp(action: impl Into<String>) -> impl FnOnce(CdpError) -> BrowserError {
    let action = action.into();
    move |source| BrowserError::Cdp { action, source }
}

/// A headless Chromium with a fresh profile, killed when dropped.
pub struct Browser {
    browser: chromiumoxide::Browser,
    handler: JoinHandle<()>,
    server: Server,
}

impl Browser {
    /// Start Chromium and connect to it; panics naming its log when it does not start.
    pub async fn launch() -> Browser {
        let server = tokio::task::spawn_blocking(start_chromium).await.expect("starting chromium");
        let url = format!("http://127.0.0.1:{}", server.port());
        let (browser, mut events) = chromiumoxide::Browser::connect(&url)
            .await
            .unwrap_or_else(|e| panic!("connecting to chromium's DevTools at {url}: {e}"));
        // The handler must be polled for any command to complete. Events this crate's protocol
        // version does not know come out as errors: skip them rather than stop.
        let handler = tokio::spawn(async move { while events.next().await.is_some() {} });
        Browser { browser, handler, server }
    }

    /// Open `url` in a new tab and wait for it to load.
    pub async fn open(&self, url: &str) -> Result<Page, BrowserError> {
        let page = self.browser.new_page(url).await.map_err(cdp(format!("opening {url}")))?;
        Ok(Page { page })
    }

    /// The browser's process id.
    pub fn pid(&self) -> Option<u32> {
        self.server.pid()
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // The server, dropped next, kills the browser and removes its profile.
        self.handler.abort();
    }
}

fn start_chromium() -> Server {
    let program = chromium();
    let dir = server_dir("chromium");
    let profile = dir.join("profile");
    let launch = move |port: u16| {
        let mut launch = Launch::new(&program, FLAGS);
        launch.args.push(format!("--remote-debugging-port={port}").into());
        launch.args.push(format!("--user-data-dir={}", profile.display()).into());
        launch.args.push("about:blank".into());
        launch
    };
    Server::start("chromium", dir, Box::new(launch), Box::new(port_open))
}

/// A tab.
pub struct Page {
    page: chromiumoxide::Page,
}

impl Page {
    /// The rendered text (`innerText`) of the first element matching the CSS `selector`.
    pub async fn text(&self, selector: &str) -> Result<String, BrowserError> {
        let element = self.page.find_element(selector).await.map_err(cdp(format!("finding `{selector}`")))?;
        let text = element.inner_text().await.map_err(cdp(format!("reading the text of `{selector}`")))?;
        Ok(text.unwrap_or_default())
    }

    /// Click the first element matching `selector`, as a user would with the mouse.
    pub async fn click(&self, selector: &str) -> Result<(), BrowserError> {
        let element = self.page.find_element(selector).await.map_err(cdp(format!("finding `{selector}`")))?;
        element.click().await.map_err(cdp(format!("clicking `{selector}`")))?;
        Ok(())
    }

    /// Wait until the element's text contains `expected` (the page changes it after a fetch,
    /// say) and return that text.
    pub async fn wait_for_text(
        &self,
        selector: &str,
        expected: &str,
        timeout: Duration,
    ) -> Result<String, BrowserError> {
        let deadline = Instant::now() + timeout;
        loop {
            let last = self.text(selector).await.ok();
            if let Some(text) = last.as_ref().filter(|text| text.contains(expected)) {
                return Ok(text.clone());
            }
            if Instant::now() > deadline {
                let (selector, expected) = (selector.to_string(), expected.to_string());
                return Err(BrowserError::Timeout { selector, expected, timeout, last });
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Save a PNG screenshot of the whole page to `path`.
    pub async fn screenshot(&self, path: &Path) -> Result<(), BrowserError> {
        let params = ScreenshotParams::builder().format(CaptureScreenshotFormat::Png).full_page(true).build();
        self.page
            .save_screenshot(params, path)
            .await
            .map_err(cdp(format!("saving a screenshot to {}", path.display())))?;
        Ok(())
    }
}
