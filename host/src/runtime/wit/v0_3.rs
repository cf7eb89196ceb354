//! Contract `apiary:connector@0.3.x`: 0.2 plus `scan-records`, the walk over a response body
//! done in the host's native code (the SDK's own walk, compiled into the host), answered as a
//! list of records. Its bindings, and their conversion to and from the host's own types in
//! [`crate::model`].

use wasmtime::Store;
use wasmtime::component::{Component, HasSelf, Linker};

use super::super::host_state::HostState;
use crate::model;

wasmtime::component::bindgen!({ path: "wit/0.3", world: "connector" });

use apiary::connector::types as wit;

super::common::common_bindings!(schema: |e| e.schema.clone(), scan: scan);

/// 0.3's answer: a list of records, each with its own list of the fields' values.
fn scan(body: &[u8], at: &sdk::RecordsAt, fields: &[String], pointer: Option<&str>) -> Result<wit::BodyScan, String> {
    let mut records = Vec::new();
    let walked = apiary_sdk::records::on_host::walk_for_host(body, at, fields, pointer, |at, values| {
        records.push(wit::FoundRecord { at: span(at), fields: values.map(|value| value.map(picked)).collect() });
    });
    Ok(wit::BodyScan { records, pointer: walked?.map(picked) })
}
