//! Contract `apiary:connector@0.4.x`: 0.3 with `scan-records` answering flat (one list of
//! numbers for every record, instead of a list of records each with its own list of fields).
//! Its bindings, and their conversion to and from the host's own types in [`crate::model`].

use wasmtime::Store;
use wasmtime::component::{Component, HasSelf, Linker};

use super::super::host_state::HostState;
use crate::model;

wasmtime::component::bindgen!({ path: "wit/0.4", world: "connector" });

use apiary::connector::types as wit;

super::common::common_bindings!(schema: |e| e.schema.clone(), scan: scan);

/// 0.4's answer: the records flat, in one list of numbers (`wit/0.4`).
fn scan(body: &[u8], at: &sdk::RecordsAt, fields: &[String], pointer: Option<&str>) -> Result<wit::BodyScan, String> {
    let scan = apiary_sdk::records::on_host::scan_body(body, at, fields, pointer)?;
    Ok(wit::BodyScan { records: scan.records, texts: scan.texts, pointer: scan.pointer.map(picked) })
}
