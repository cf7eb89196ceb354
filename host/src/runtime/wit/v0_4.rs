//! Contract `apiary:connector@0.4.x`: 0.3 with `scan-records` answering flat (one list of
//! numbers for every record, instead of a list of records each with its own list of fields).
//! Its bindings, and their conversion to and from the host's own types in [`crate::model`].

use wasmtime::Store;
use wasmtime::component::{Component, HasSelf, Linker};

use super::super::host_state::HostState;
use crate::model;

wasmtime::component::bindgen!({ path: "wit/0.4", world: "connector" });

use apiary::connector::types as wit;
use apiary_sdk::__private::bindings::apiary::connector::types as sdk;
use apiary_sdk::records::on_host;

super::common::common_bindings!(schema: |e| e.schema.clone(), imports: {
    fn scan_records(
        &mut self,
        body: Vec<u8>,
        at: wit::RecordsAt,
        fields: Vec<String>,
        pointer: Option<String>,
    ) -> Result<wit::BodyScan, String> {
        let scan = on_host::scan_body(&body, &records_at(at), &fields, pointer.as_deref())?;
        Ok(wit::BodyScan { records: scan.records, texts: scan.texts, pointer: scan.pointer.map(picked) })
    }
});

super::common::scan_conversions!();
