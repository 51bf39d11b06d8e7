//! The controller's one error type, classified by what a retry can achieve.

use std::time::Duration;

/// Why a reconcile failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The object changed since it was read (HTTP 409); a retry decides again on fresh state.
    #[error("conflict: {}", describe(.0))]
    Conflict(#[source] kube::Error),
    /// The API server or the network failed (5xx, 429, 403, timeouts); a retry may succeed.
    #[error("transient API error: {}", describe(.0))]
    Transient(#[source] kube::Error),
    /// The API server rejected the request itself (400, 404, 422, ...); retrying it unchanged cannot
    /// succeed, so the object waits for a change.
    #[error("request rejected: {}", describe(.0))]
    Rejected(#[source] kube::Error),
    /// The watched object lacks a field every API object has.
    #[error("object has no {0}")]
    InvalidObject(&'static str),
}

/// First delay of a retry after a retryable failure.
const BACKOFF_BASE: Duration = Duration::from_secs(1);
/// Longest delay between retries.
const BACKOFF_MAX: Duration = Duration::from_secs(300);

impl Error {
    /// The `reason` label of the failures metric.
    pub fn metric_label(&self) -> &'static str {
        match self {
            Self::Conflict(_) => "conflict",
            Self::Transient(_) => "transient",
            Self::Rejected(_) => "rejected",
            Self::InvalidObject(_) => "invalid_object",
        }
    }

    /// Whether a retry of the same reconcile can succeed; otherwise the object waits for a change.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Conflict(_) | Self::Transient(_))
    }
}

impl From<kube::Error> for Error {
    fn from(error: kube::Error) -> Self {
        match &error {
            kube::Error::Api(status) => match status.code {
                409 => Self::Conflict(error),
                400 | 404 | 405 | 410 | 413 | 415 | 422 => Self::Rejected(error),
                _ => Self::Transient(error),
            },
            kube::Error::SerdeError(_) | kube::Error::BuildRequest(_) => Self::Rejected(error),
            _ => Self::Transient(error),
        }
    }
}

/// A kube error in one line: the API server's message, code and reason, or the client's error.
fn describe(error: &kube::Error) -> String {
    match error {
        kube::Error::Api(status) => {
            format!(
                "{} (HTTP {} {})",
                status.message, status.code, status.reason
            )
        }
        other => other.to_string(),
    }
}

/// The delay before retry number `attempt` (1-based): exponential from 1 s, capped at 5 minutes.
pub fn backoff(attempt: u32) -> Duration {
    let factor = 2u32.saturating_pow(attempt.saturating_sub(1));
    BACKOFF_BASE.saturating_mul(factor).min(BACKOFF_MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api_error(code: u16) -> Error {
        let status = kube::core::Status::failure("boom", "Reason").with_code(code);
        kube::Error::Api(Box::new(status)).into()
    }

    #[test]
    fn classifies_api_errors() {
        assert_eq!(api_error(409).metric_label(), "conflict");
        assert_eq!(api_error(500).metric_label(), "transient");
        assert_eq!(api_error(429).metric_label(), "transient");
        assert_eq!(api_error(403).metric_label(), "transient");
        assert_eq!(api_error(422).metric_label(), "rejected");
        assert_eq!(api_error(404).metric_label(), "rejected");
        assert!(api_error(409).is_retryable());
        assert!(!api_error(422).is_retryable());
        assert!(!Error::InvalidObject("namespace").is_retryable());
    }

    #[test]
    fn api_errors_read_as_one_line() {
        assert_eq!(
            api_error(409).to_string(),
            "conflict: boom (HTTP 409 Reason)"
        );
    }

    #[test]
    fn backoff_doubles_up_to_five_minutes() {
        assert_eq!(backoff(1), Duration::from_secs(1));
        assert_eq!(backoff(2), Duration::from_secs(2));
        assert_eq!(backoff(5), Duration::from_secs(16));
        assert_eq!(backoff(9), Duration::from_secs(256));
        assert_eq!(backoff(10), Duration::from_secs(300));
        assert_eq!(backoff(u32::MAX), Duration::from_secs(300));
    }
}
