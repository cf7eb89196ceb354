//! What every contract version's module has in common: the pre-instantiated component, its
//! three calls, the `log` import, and the conversions of every type that did not change between
//! versions. Each version's `bindgen!` output has its own types, structurally the same, so the
//! code is written once, as a macro expanded inside each version's module (which then adds only
//! the conversions of what differs, such as `endpoint`).

/// Expands to `Pre`, `add_to_linker`, the `log` import and the conversions. Expects, in the
/// calling module: the `bindgen!` output (`ConnectorPre`, `Connector`, `ConnectorImports`),
/// `wit` (its types interface), `model`, `HostState`, `Store`, `Component`, `HasSelf`, `Linker`.
/// `schema` reads an endpoint's declared schema (`None` before 0.2); `imports` are the world's
/// imports besides `log`, or `scan` the function that answers `scan-records` (0.3 on).
macro_rules! common_bindings {
    // 0.3 on: the `scan-records` import, answered by `$scan` (the version's layout of the SDK's
    // walk over the body), and the conversions it needs.
    (schema: $schema:expr, scan: $scan:path) => {
        super::common::common_bindings!(schema: $schema, imports: {
            fn scan_records(
                &mut self,
                body: Vec<u8>,
                at: wit::RecordsAt,
                fields: Vec<String>,
                pointer: Option<String>,
            ) -> Result<wit::BodyScan, String> {
                $scan(&body, &records_at(at), &fields, pointer.as_deref())
            }
        });
        super::common::scan_conversions!();
    };
    (schema: $schema:expr, imports: { $($imports:tt)* }) => {
        /// The pre-instantiated component of a connector of this contract version.
        pub struct Pre(ConnectorPre<HostState>);

        impl Pre {
            /// Check `component` against this version's world and pre-instantiate it.
            pub fn new(linker: &Linker<HostState>, component: &Component) -> wasmtime::Result<Pre> {
                Ok(Pre(ConnectorPre::new(linker.instantiate_pre(component)?)?))
            }

            /// `manifest()`, in a fresh instance.
            pub fn manifest(&self, store: &mut Store<HostState>) -> wasmtime::Result<model::Manifest> {
                let connector = self.0.instantiate(&mut *store)?;
                Ok(connector.call_manifest(store)?.into())
            }

            /// `start(endpoint, ctx)`, in a fresh instance.
            pub fn start(
                &self,
                store: &mut Store<HostState>,
                endpoint: &str,
                ctx: &model::SyncContext,
            ) -> wasmtime::Result<Result<Vec<model::Request>, String>> {
                let connector = self.0.instantiate(&mut *store)?;
                let ctx = wit::SyncContext {
                    config: ctx.config.clone(),
                    checkpoint: ctx.checkpoint.clone(),
                    now_ms: ctx.now_ms,
                };
                let started = connector.call_start(store, endpoint, &ctx)?;
                Ok(started.map(|requests| requests.into_iter().map(Into::into).collect()))
            }

            /// `parse(exchange)`, in a fresh instance.
            pub fn parse(
                &self,
                store: &mut Store<HostState>,
                exchange: &model::Exchange,
            ) -> wasmtime::Result<Result<model::Page, model::ParseError>> {
                let connector = self.0.instantiate(&mut *store)?;
                let parsed = connector.call_parse(store, &exchange.into())?;
                Ok(parsed.map(Into::into).map_err(Into::into))
            }
        }

        /// Add this version's world imports (`log`, the types interface) to `linker`.
        pub fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
            Connector::add_to_linker::<_, HasSelf<_>>(linker, |state| state)
        }

        impl wit::Host for HostState {}

        impl ConnectorImports for HostState {
            fn log(&mut self, level: wit::Level, message: String) {
                let level = match level {
                    wit::Level::Trace => model::LogLevel::Trace,
                    wit::Level::Debug => model::LogLevel::Debug,
                    wit::Level::Info => model::LogLevel::Info,
                    wit::Level::Warn => model::LogLevel::Warn,
                    wit::Level::Error => model::LogLevel::Error,
                };
                self.log(level, &message);
            }

            $($imports)*
        }

        impl From<wit::Method> for model::Method {
            fn from(m: wit::Method) -> Self {
                match m {
                    wit::Method::Get => model::Method::Get,
                    wit::Method::Head => model::Method::Head,
                    wit::Method::Post => model::Method::Post,
                    wit::Method::Put => model::Method::Put,
                    wit::Method::Patch => model::Method::Patch,
                    wit::Method::Delete => model::Method::Delete,
                }
            }
        }

        impl From<model::Method> for wit::Method {
            fn from(m: model::Method) -> Self {
                match m {
                    model::Method::Get => wit::Method::Get,
                    model::Method::Head => wit::Method::Head,
                    model::Method::Post => wit::Method::Post,
                    model::Method::Put => wit::Method::Put,
                    model::Method::Patch => wit::Method::Patch,
                    model::Method::Delete => wit::Method::Delete,
                }
            }
        }

        fn headers_in(headers: Vec<wit::Header>) -> Vec<model::Header> {
            headers.into_iter().map(|h| model::Header { name: h.name, value: h.value }).collect()
        }

        fn headers_out(headers: &[model::Header]) -> Vec<wit::Header> {
            headers.iter().map(|h| wit::Header { name: h.name.clone(), value: h.value.clone() }).collect()
        }

        impl From<wit::Request> for model::Request {
            fn from(r: wit::Request) -> Self {
                model::Request {
                    endpoint: r.endpoint,
                    method: r.method.into(),
                    url: r.url,
                    headers: headers_in(r.headers),
                    body: r.body,
                }
            }
        }

        impl From<&model::Exchange> for wit::Exchange {
            fn from(x: &model::Exchange) -> Self {
                let (request, response) = (&x.request, &x.response);
                wit::Exchange {
                    request: wit::Request {
                        endpoint: request.endpoint.clone(),
                        method: request.method.into(),
                        url: request.url.clone(),
                        headers: headers_out(&request.headers),
                        body: request.body.clone(),
                    },
                    response: wit::Response {
                        status: response.status,
                        headers: headers_out(&response.headers),
                        body: response.body.clone(),
                    },
                    fetched_at_ms: x.fetched_at_ms,
                }
            }
        }

        impl From<wit::Page> for model::Page {
            fn from(p: wit::Page) -> Self {
                model::Page {
                    records: p
                        .records
                        .into_iter()
                        .map(|r| model::Record { stream: r.stream, key: r.key, json: r.json })
                        .collect(),
                    rejects: p
                        .rejects
                        .into_iter()
                        .map(|r| model::Reject { reason: r.reason, payload: r.payload })
                        .collect(),
                    next: p.next.into_iter().map(Into::into).collect(),
                    checkpoint: p.checkpoint,
                }
            }
        }

        impl From<wit::ParseError> for model::ParseError {
            fn from(e: wit::ParseError) -> Self {
                match e {
                    wit::ParseError::Malformed(m) => model::ParseError::Malformed(m),
                    wit::ParseError::RetryLater(ms) => model::ParseError::RetryLater(ms),
                    wit::ParseError::Fatal(m) => model::ParseError::Fatal(m),
                }
            }
        }

        impl From<wit::Auth> for model::Auth {
            fn from(a: wit::Auth) -> Self {
                match a {
                    wit::Auth::None => model::Auth::None,
                    wit::Auth::Bearer(secret) => model::Auth::Bearer { secret },
                    wit::Auth::Header((name, secret)) => model::Auth::Header { name, secret },
                    wit::Auth::Query((param, secret)) => model::Auth::Query { param, secret },
                    wit::Auth::Basic((user, password)) => model::Auth::Basic { user, password },
                }
            }
        }

        impl From<wit::Manifest> for model::Manifest {
            fn from(m: wit::Manifest) -> Self {
                model::Manifest {
                    name: m.name,
                    version: m.version,
                    api_version: m.api_version,
                    base_url: m.base_url,
                    allowed_hosts: m.allowed_hosts,
                    auth: m.auth.into(),
                    buckets: m
                        .buckets
                        .into_iter()
                        .map(|b| model::Bucket { name: b.name, requests: b.requests, per_ms: b.per_ms, burst: b.burst })
                        .collect(),
                    endpoints: m.endpoints.into_iter().map(Into::into).collect(),
                    retry: model::RetryPolicy {
                        max_attempts: m.retry.max_attempts,
                        base_ms: m.retry.base_ms,
                        max_ms: m.retry.max_ms,
                        retry_statuses: m.retry.retry_statuses,
                    },
                    rate_limit_headers: m
                        .rate_limit_headers
                        .map(|h| model::RateLimitHeaders { remaining: h.remaining, reset: h.reset }),
                }
            }
        }

        impl From<wit::Endpoint> for model::Endpoint {
            fn from(e: wit::Endpoint) -> Self {
                let schema: fn(&wit::Endpoint) -> Option<String> = $schema;
                model::Endpoint {
                    schema: schema(&e),
                    name: e.name,
                    method: e.method.into(),
                    path: e.path,
                    buckets: e.buckets,
                    max_in_flight: e.max_in_flight,
                    primary_key: e.primary_key,
                    cursor_field: e.cursor_field,
                    idempotency_key: e.idempotency_key,
                }
            }
        }
    };
}

/// Expands to the conversions `scan-records` needs between a version's types (`wit`) and the
/// SDK's (`sdk`), which have the same shape since 0.3: `records_at`, `picked` and `span`.
macro_rules! scan_conversions {
    () => {
        use apiary_sdk::__private::bindings::apiary::connector::types as sdk;

        /// Where the records are, as the SDK's walk takes it.
        fn records_at(at: wit::RecordsAt) -> sdk::RecordsAt {
            match at {
                wit::RecordsAt::Array => sdk::RecordsAt::Array,
                wit::RecordsAt::Field(name) => sdk::RecordsAt::Field(name),
            }
        }

        /// A value the SDK's walk picked, in this version's type.
        fn picked(value: sdk::Picked) -> wit::Picked {
            match value {
                sdk::Picked::Null => wit::Picked::Null,
                sdk::Picked::TextAt(at) => wit::Picked::TextAt(span(at)),
                sdk::Picked::Text(text) => wit::Picked::Text(text),
                sdk::Picked::JsonAt(at) => wit::Picked::JsonAt(span(at)),
            }
        }

        /// Positions in the body, in this version's type.
        fn span(at: sdk::Span) -> wit::Span {
            wit::Span { start: at.start, end: at.end }
        }
    };
}

pub(super) use {common_bindings, scan_conversions};
