//! Which requests may be retried, and which statuses are worth retrying.

use crate::runtime::Method;

/// Statuses retried for every connector: timeouts, too early, too many requests, server errors.
pub const RETRY_STATUSES: [u16; 7] = [408, 425, 429, 500, 502, 503, 504];

/// Whether `status` is retried, given the policy's extra statuses.
pub fn is_retryable_status(status: u16, extra: &[u16]) -> bool {
    RETRY_STATUSES.contains(&status) || extra.contains(&status)
}

/// Whether a request can be sent again blindly: GET, HEAD, PUT and DELETE.
pub fn is_idempotent(method: Method) -> bool {
    matches!(method, Method::Get | Method::Head | Method::Put | Method::Delete)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_server_errors_and_throttling_but_not_client_errors() {
        for s in [408, 425, 429, 500, 502, 503, 504] {
            assert!(is_retryable_status(s, &[]), "{s}");
        }
        for s in [200, 201, 301, 400, 401, 403, 404, 422, 501] {
            assert!(!is_retryable_status(s, &[]), "{s}");
        }
        assert!(is_retryable_status(520, &[520]));
    }

    #[test]
    fn only_idempotent_methods_are_retried_blindly() {
        assert!(is_idempotent(Method::Get) && is_idempotent(Method::Put) && is_idempotent(Method::Delete));
        assert!(!is_idempotent(Method::Post) && !is_idempotent(Method::Patch));
    }
}
