//! [`export_connector!`](crate::export_connector): makes a [`Connector`](crate::Connector) type
//! the exports of the WebAssembly component.

/// Export a [`Connector`](crate::Connector) implementation as the component's `manifest`,
/// `start` and `parse` functions. Call it once per connector crate, at the crate root.
///
/// On a native build (unit tests) it expands to nothing, so the crate still compiles and its
/// parser can be tested directly.
#[macro_export]
macro_rules! export_connector {
    ($connector:ty) => {
        #[cfg(target_arch = "wasm32")]
        const _: () = {
            struct __ApiaryExports;

            impl $crate::__private::Guest for __ApiaryExports {
                fn manifest() -> $crate::Manifest {
                    <$connector as $crate::Connector>::manifest()
                }
                fn start(
                    endpoint: ::std::string::String,
                    ctx: $crate::SyncContext,
                ) -> ::std::result::Result<::std::vec::Vec<$crate::Request>, ::std::string::String> {
                    <$connector as $crate::Connector>::start(&endpoint, &ctx)
                }
                fn parse(exchange: $crate::Exchange) -> ::std::result::Result<$crate::Page, $crate::ParseError> {
                    <$connector as $crate::Connector>::parse(&exchange)
                }
            }

            $crate::__private::bindings::__export_connector_world!(
                __ApiaryExports with_types_in $crate::__private::bindings
            );
        };
    };
}
