//! Errors of the engine, by whose fault they are: the user's SQL, an external system, or a bug.

use weir_api::{ApiError, Span};

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The script does not parse or does not type-check.
    #[error("{message} (at {span})")]
    Sql { message: String, span: Span },
    /// The script uses a construct Weir does not support yet.
    #[error("not supported yet: {construct} (at {span})")]
    Unsupported { construct: String, span: Span },
    /// A connector option is missing or wrong.
    #[error("table '{table}': option '{option}': {message} (at {span})")]
    Option {
        table: String,
        option: String,
        message: String,
        span: Span,
    },
    /// A catalog option is missing or wrong.
    #[error("catalog '{catalog}': option '{option}': {message} (at {span})")]
    CatalogOption {
        catalog: String,
        option: String,
        message: String,
        span: Span,
    },
    /// Bad input data that the script's options say must fail the job.
    #[error("{0}")]
    Data(String),
    /// A file, database or broker failed.
    #[error("{0}")]
    External(String),
    /// A bug in Weir.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    pub fn code(&self) -> &'static str {
        match self {
            Error::Sql { .. } => "sql.invalid",
            Error::Unsupported { .. } => "sql.unsupported",
            Error::Option { .. } | Error::CatalogOption { .. } => "sql.option",
            Error::Data(_) => "data.invalid",
            Error::External(_) => "external",
            Error::Internal(_) => "internal",
        }
    }

    pub fn span(&self) -> Option<Span> {
        match self {
            Error::Sql { span, .. }
            | Error::Unsupported { span, .. }
            | Error::Option { span, .. }
            | Error::CatalogOption { span, .. } => Some(*span),
            _ => None,
        }
    }

    /// The error as the UI receives it.
    pub fn to_api(&self) -> ApiError {
        ApiError {
            code: self.code().into(),
            message: self.to_string(),
            span: self.span(),
        }
    }
}

impl From<duckdb::Error> for Error {
    fn from(e: duckdb::Error) -> Self {
        Error::External(format!("duckdb: {e}"))
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::External(format!("i/o: {e}"))
    }
}

/// Arrow refuses a batch or an array only when Weir built it wrong.
impl From<arrow::error::ArrowError> for Error {
    fn from(e: arrow::error::ArrowError) -> Self {
        Error::Internal(format!("arrow: {e}"))
    }
}
