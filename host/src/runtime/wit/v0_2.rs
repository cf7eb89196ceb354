//! Contract `apiary:connector@0.2.x`: 0.1 plus a JSON Schema an endpoint may declare for its
//! records. Its bindings, and their conversion to and from the host's own types in
//! [`crate::model`].

use wasmtime::Store;
use wasmtime::component::{Component, HasSelf, Linker};

use super::super::host_state::HostState;
use crate::model;

wasmtime::component::bindgen!({ path: "wit/0.2", world: "connector" });

use apiary::connector::types as wit;

super::common::common_bindings!(schema: |e| e.schema.clone(), imports: {});
