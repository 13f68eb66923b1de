//! The SDK's error type: what a plugin method returns, mapped onto the ABI's `PluginError`.

use crate::abi::{AbiString, ErrorCode, PluginError};

/// Why a plugin call failed. Messages are one line a person can act on, lowercase, no period.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SdkError {
    /// The component's config is unusable.
    #[error("{0}")]
    InvalidConfig(String),
    /// The request's parameters are unusable.
    #[error("{0}")]
    InvalidParams(String),
    /// The thing asked about does not exist.
    #[error("{0}")]
    NotFound(String),
    /// A dependency is down or unreachable; trying later may work.
    #[error("{0}")]
    Unavailable(String),
    /// Credentials are missing or lack a permission.
    #[error("{0}")]
    PermissionDenied(String),
    /// A remote service is rate limiting us.
    #[error("{message}")]
    RateLimited {
        /// What happened.
        message: String,
        /// When to try again, if the service said.
        retry_after_ms: Option<u64>,
    },
    /// The request conflicts with the current state.
    #[error("{0}")]
    Conflict(String),
    /// Ran out of time.
    #[error("{0}")]
    Timeout(String),
    /// The host cancelled the call.
    #[error("cancelled")]
    Cancelled,
    /// The method is not implemented by this component.
    #[error("{0}")]
    Unsupported(String),
    /// A bug or an unexpected state inside the plugin.
    #[error("{0}")]
    Internal(String),
    /// Any other code, for forward compatibility.
    #[error("{message}")]
    Other {
        /// The code to report.
        code: u32,
        /// What happened.
        message: String,
        /// Whether trying again may help.
        retryable: bool,
    },
}

impl SdkError {
    /// The ABI error code for this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            SdkError::InvalidConfig(_) => ErrorCode::INVALID_CONFIG,
            SdkError::InvalidParams(_) => ErrorCode::INVALID_PARAMS,
            SdkError::NotFound(_) => ErrorCode::NOT_FOUND,
            SdkError::Unavailable(_) => ErrorCode::UNAVAILABLE,
            SdkError::PermissionDenied(_) => ErrorCode::PERMISSION_DENIED,
            SdkError::RateLimited { .. } => ErrorCode::RATE_LIMITED,
            SdkError::Conflict(_) => ErrorCode::CONFLICT,
            SdkError::Timeout(_) => ErrorCode::TIMEOUT,
            SdkError::Cancelled => ErrorCode::CANCELLED,
            SdkError::Unsupported(_) => ErrorCode::UNSUPPORTED_METHOD,
            SdkError::Internal(_) => ErrorCode::INTERNAL,
            SdkError::Other { code, .. } => ErrorCode(*code),
        }
    }

    /// Whether the host may retry the call later.
    pub fn retryable(&self) -> bool {
        match self {
            SdkError::Unavailable(_) | SdkError::RateLimited { .. } | SdkError::Timeout(_) => true,
            SdkError::Other { retryable, .. } => *retryable,
            _ => false,
        }
    }
}

impl From<SdkError> for PluginError {
    fn from(e: SdkError) -> Self {
        let details = match &e {
            SdkError::RateLimited {
                retry_after_ms: Some(ms),
                ..
            } => serde_json::json!({ "retry_after_ms": ms }).to_string(),
            _ => String::new(),
        };
        PluginError {
            code: e.code(),
            message: AbiString::from(e.to_string()),
            retryable: e.retryable(),
            details_json: AbiString::from(details),
        }
    }
}

impl From<PluginError> for SdkError {
    /// Known codes come back as their variant, so `matches!(e, SdkError::NotFound(_))` works on
    /// an error the host returned; unknown codes are kept as `Other`.
    fn from(e: PluginError) -> Self {
        let message = e.message.into_string();
        match e.code {
            ErrorCode::INVALID_CONFIG => SdkError::InvalidConfig(message),
            ErrorCode::INVALID_PARAMS => SdkError::InvalidParams(message),
            ErrorCode::NOT_FOUND => SdkError::NotFound(message),
            ErrorCode::UNAVAILABLE if e.retryable => SdkError::Unavailable(message),
            ErrorCode::PERMISSION_DENIED => SdkError::PermissionDenied(message),
            ErrorCode::RATE_LIMITED => {
                let details: serde_json::Value =
                    serde_json::from_str(e.details_json.as_str()).unwrap_or_default();
                SdkError::RateLimited {
                    message,
                    retry_after_ms: details["retry_after_ms"].as_u64(),
                }
            }
            ErrorCode::CONFLICT => SdkError::Conflict(message),
            ErrorCode::TIMEOUT if e.retryable => SdkError::Timeout(message),
            ErrorCode::CANCELLED => SdkError::Cancelled,
            ErrorCode::UNSUPPORTED_METHOD => SdkError::Unsupported(message),
            ErrorCode::INTERNAL => SdkError::Internal(message),
            code => SdkError::Other {
                code: code.0,
                message,
                retryable: e.retryable,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limit_keeps_retry_after_in_details() {
        let e: PluginError = SdkError::RateLimited {
            message: "slow down".into(),
            retry_after_ms: Some(1500),
        }
        .into();
        assert_eq!(e.code, ErrorCode::RATE_LIMITED);
        assert!(e.retryable);
        assert_eq!(e.details_json.as_str(), r#"{"retry_after_ms":1500}"#);
    }

    #[test]
    fn known_codes_come_back_as_their_variant() {
        let cases = [
            SdkError::NotFound("gone".into()),
            SdkError::Unavailable("down".into()),
            SdkError::RateLimited {
                message: "slow".into(),
                retry_after_ms: Some(9),
            },
            SdkError::Cancelled,
        ];
        for e in cases {
            let back = SdkError::from(PluginError::from(e.clone()));
            assert_eq!(format!("{back:?}"), format!("{e:?}"));
        }
    }

    #[test]
    fn unknown_codes_survive_the_round_trip() {
        let e = PluginError::new(ErrorCode(777), "from the future");
        let back: PluginError = SdkError::from(e.clone()).into();
        assert_eq!(back.code, ErrorCode(777));
        assert_eq!(back.message, e.message);
    }
}
