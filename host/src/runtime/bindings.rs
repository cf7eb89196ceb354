//! Host-side bindings generated from `wit/connector.wit`.

wasmtime::component::bindgen!({
    path: "../wit",
    world: "connector",
    additional_derives: [serde::Serialize, serde::Deserialize, PartialEq, Eq, Hash],
});

pub use apiary::connector::types::*;
