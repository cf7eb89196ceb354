//! The contract boundary: each supported version of the WIT contract `apiary:connector` in its
//! own module (frozen once published), converting into the host's own types in [`crate::model`].
//! A new version is a new module and a new [`ContractVersion`] variant; nothing else in the
//! host changes. What the versions share is written once, in `common`.

mod common;
mod v0_1;
mod v0_2;
mod v0_3;
mod v0_4;

use wasmtime::component::{Component, Linker};
use wasmtime::{Engine, Store};

use super::host_state::HostState;
use crate::model::{Exchange, Manifest, Page, ParseError, Request, SyncContext};

/// A version of the contract this host loads connectors for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContractVersion {
    /// `apiary:connector@0.1.x`.
    V0_1,
    /// `apiary:connector@0.2.x`: endpoints may declare a JSON Schema for their records.
    V0_2,
    /// `apiary:connector@0.3.x`: the host walks a response body for the connector (`scan-records`).
    V0_3,
    /// `apiary:connector@0.4.x`: `scan-records` answers flat, in one list of numbers.
    V0_4,
}

impl ContractVersion {
    /// Every version this host loads, oldest first: the one place that says so.
    pub const SUPPORTED: &[ContractVersion] =
        &[ContractVersion::V0_1, ContractVersion::V0_2, ContractVersion::V0_3, ContractVersion::V0_4];

    /// The WIT version range, e.g. `0.1.x`.
    pub fn range(self) -> &'static str {
        match self {
            ContractVersion::V0_1 => "0.1.x",
            ContractVersion::V0_2 => "0.2.x",
            ContractVersion::V0_3 => "0.3.x",
            ContractVersion::V0_4 => "0.4.x",
        }
    }

    /// The supported version a guest's semver belongs to: WIT matches `0.y.*` within a minor.
    pub fn of(semver: &str) -> Option<ContractVersion> {
        Self::SUPPORTED.iter().copied().find(|v| semver.starts_with(v.range().trim_end_matches('x')))
    }

    /// `apiary:connector@0.1.x`, for messages.
    pub fn supported_text() -> String {
        let ranges: Vec<String> = Self::SUPPORTED.iter().map(|v| format!("apiary:connector@{}", v.range())).collect();
        ranges.join(", ")
    }

    /// The `apiary:connector` version the component imports its types from, if it names one.
    pub fn imported_by(component: &Component, engine: &Engine) -> Option<String> {
        component.component_type().imports(engine).find_map(|(name, _)| {
            let (_, version) = name.strip_prefix("apiary:connector/")?.split_once('@')?;
            Some(version.to_string())
        })
    }
}

/// One linker per contract version: each world imports its own `log`.
#[derive(Clone)]
pub struct Linkers {
    v0_1: std::sync::Arc<Linker<HostState>>,
    v0_2: std::sync::Arc<Linker<HostState>>,
    v0_3: std::sync::Arc<Linker<HostState>>,
    v0_4: std::sync::Arc<Linker<HostState>>,
}

impl Linkers {
    /// The linkers of every supported version, each with an empty WASI (a wasm32-wasip2 guest
    /// imports it even when it uses nothing).
    pub fn new(engine: &Engine) -> wasmtime::Result<Linkers> {
        let base = || -> wasmtime::Result<Linker<HostState>> {
            let mut linker = Linker::new(engine);
            wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
            Ok(linker)
        };
        let mut v0_1 = base()?;
        v0_1::add_to_linker(&mut v0_1)?;
        let mut v0_2 = base()?;
        v0_2::add_to_linker(&mut v0_2)?;
        let mut v0_3 = base()?;
        v0_3::add_to_linker(&mut v0_3)?;
        let mut v0_4 = base()?;
        v0_4::add_to_linker(&mut v0_4)?;
        let shared = std::sync::Arc::new;
        Ok(Linkers { v0_1: shared(v0_1), v0_2: shared(v0_2), v0_3: shared(v0_3), v0_4: shared(v0_4) })
    }
}

/// A connector pre-instantiated against the world of its contract version.
pub enum Bound {
    /// A 0.1 connector.
    V0_1(v0_1::Pre),
    /// A 0.2 connector.
    V0_2(v0_2::Pre),
    /// A 0.3 connector.
    V0_3(v0_3::Pre),
    /// A 0.4 connector.
    V0_4(v0_4::Pre),
}

impl Bound {
    /// Check `component` against `version`'s world and pre-instantiate it.
    pub fn new(linkers: &Linkers, version: ContractVersion, component: &Component) -> wasmtime::Result<Bound> {
        match version {
            ContractVersion::V0_1 => Ok(Bound::V0_1(v0_1::Pre::new(&linkers.v0_1, component)?)),
            ContractVersion::V0_2 => Ok(Bound::V0_2(v0_2::Pre::new(&linkers.v0_2, component)?)),
            ContractVersion::V0_3 => Ok(Bound::V0_3(v0_3::Pre::new(&linkers.v0_3, component)?)),
            ContractVersion::V0_4 => Ok(Bound::V0_4(v0_4::Pre::new(&linkers.v0_4, component)?)),
        }
    }

    /// `manifest()` in a fresh instance in `store`.
    pub fn manifest(&self, store: &mut Store<HostState>) -> wasmtime::Result<Manifest> {
        match self {
            Bound::V0_1(pre) => pre.manifest(store),
            Bound::V0_2(pre) => pre.manifest(store),
            Bound::V0_3(pre) => pre.manifest(store),
            Bound::V0_4(pre) => pre.manifest(store),
        }
    }

    /// `start(endpoint, ctx)` in a fresh instance in `store`.
    pub fn start(
        &self,
        store: &mut Store<HostState>,
        endpoint: &str,
        ctx: &SyncContext,
    ) -> wasmtime::Result<Result<Vec<Request>, String>> {
        match self {
            Bound::V0_1(pre) => pre.start(store, endpoint, ctx),
            Bound::V0_2(pre) => pre.start(store, endpoint, ctx),
            Bound::V0_3(pre) => pre.start(store, endpoint, ctx),
            Bound::V0_4(pre) => pre.start(store, endpoint, ctx),
        }
    }

    /// `parse(exchange)` in a fresh instance in `store`.
    pub fn parse(
        &self,
        store: &mut Store<HostState>,
        exchange: &Exchange,
    ) -> wasmtime::Result<Result<Page, ParseError>> {
        match self {
            Bound::V0_1(pre) => pre.parse(store, exchange),
            Bound::V0_2(pre) => pre.parse(store, exchange),
            Bound::V0_3(pre) => pre.parse(store, exchange),
            Bound::V0_4(pre) => pre.parse(store, exchange),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_match_within_a_minor_only() {
        assert_eq!(ContractVersion::of("0.1.0"), Some(ContractVersion::V0_1));
        assert_eq!(ContractVersion::of("0.1.7"), Some(ContractVersion::V0_1));
        assert_eq!(ContractVersion::of("0.2.0"), Some(ContractVersion::V0_2));
        assert_eq!(ContractVersion::of("0.3.1"), Some(ContractVersion::V0_3));
        assert_eq!(ContractVersion::of("0.4.0"), Some(ContractVersion::V0_4));
        assert_eq!(ContractVersion::of("0.9.0"), None);
        assert_eq!(ContractVersion::of("1.1.0"), None);
        assert_eq!(
            ContractVersion::supported_text(),
            "apiary:connector@0.1.x, apiary:connector@0.2.x, apiary:connector@0.3.x, apiary:connector@0.4.x"
        );
    }
}
