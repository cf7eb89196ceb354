//! Contract `apiary:connector@0.3.x`: 0.2 plus `scan-records`, the walk over a response body
//! done in the host's native code (the SDK's own walk, compiled into the host). Its
//! bindings, and their conversion to and from the host's own types in [`crate::model`].

use wasmtime::Store;
use wasmtime::component::{Component, HasSelf, Linker};

use super::super::host_state::HostState;
use crate::model;

wasmtime::component::bindgen!({ path: "wit/0.3", world: "connector" });

use apiary::connector::types as wit;
use apiary_sdk::__private::bindings::apiary::connector::types as sdk;

super::common::common_bindings!(schema: |e| e.schema.clone(), imports: {
    fn scan_records(
        &mut self,
        body: Vec<u8>,
        at: wit::RecordsAt,
        fields: Vec<String>,
        pointer: Option<String>,
    ) -> Result<wit::BodyScan, String> {
        let at = match at {
            wit::RecordsAt::Array => sdk::RecordsAt::Array,
            wit::RecordsAt::Field(name) => sdk::RecordsAt::Field(name),
        };
        let scan = apiary_sdk::records::on_host::scan_body(&body, &at, &fields, pointer.as_deref())?;
        let records = scan.records.into_iter().map(|r| wit::FoundRecord { at: span(r.at), fields: values(r.fields) });
        Ok(wit::BodyScan { records: records.collect(), pointer: scan.pointer.map(value) })
    }
});

fn values(fields: Vec<Option<sdk::Picked>>) -> Vec<Option<wit::Picked>> {
    fields.into_iter().map(|field| field.map(value)).collect()
}

fn value(picked: sdk::Picked) -> wit::Picked {
    match picked {
        sdk::Picked::Null => wit::Picked::Null,
        sdk::Picked::TextAt(at) => wit::Picked::TextAt(span(at)),
        sdk::Picked::Text(text) => wit::Picked::Text(text),
        sdk::Picked::JsonAt(at) => wit::Picked::JsonAt(span(at)),
    }
}

fn span(at: sdk::Span) -> wit::Span {
    wit::Span { start: at.start, end: at.end }
}
