//! Contract `apiary:connector@0.1.x` (frozen): its bindings, and their conversion to and from
//! the host's own types in [`crate::model`]. A 0.1 endpoint declares no schema.

use wasmtime::Store;
use wasmtime::component::{Component, HasSelf, Linker};

use super::super::host_state::HostState;
use crate::model;

wasmtime::component::bindgen!({ path: "wit/0.1", world: "connector" });

use apiary::connector::types as wit;

super::common::common_bindings!(schema: |_| None, imports: {});
