//! The one error type of `store-clickhouse`.

use migrate_core::convert::{UnsupportedColumn, ValueColumn, list_unsupported, list_values};

/// An error the server returned, with its code and name (`60 UNKNOWN_TABLE`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerError {
    /// ClickHouse's error code (`Code: 60`).
    pub code: u32,
    /// Its name (`UNKNOWN_TABLE`), when the server said it (18.16 does not; see [`error_name`]).
    pub name: String,
    /// The message after `DB::Exception: `, without the version suffix.
    pub message: String,
}

impl ServerError {
    /// Parses `Code: 60. DB::Exception: Table x doesn't exist. (UNKNOWN_TABLE) (version …)`.
    pub fn parse(text: &str) -> Option<ServerError> {
        let at = text.find("Code: ")?;
        let rest = &text[at + 6..];
        let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        let code: u32 = rest[..digits].parse().ok()?;
        // 18.16: `Code: 60, e.displayText() = DB::Exception: …, e.what() = DB::Exception`;
        // current servers: `Code: 60. DB::Exception: … (UNKNOWN_TABLE) (version 26.9.2.1)`.
        let message = rest[digits..].trim_start_matches([',', '.', ' ']);
        let message = message.strip_prefix("e.displayText() = ").unwrap_or(message);
        let message = message.strip_prefix("DB::Exception: ").unwrap_or(message);
        let message = message.split(", e.what() = ").next().unwrap_or(message);
        let message = match message.rfind(" (version ") {
            Some(v) => &message[..v],
            None => message,
        };
        let mut message = message.trim().trim_end_matches(',').to_string();
        let mut name = error_name(code).to_string();
        if message.ends_with(')')
            && let Some(open) = message.rfind(" (")
        {
            let inner = &message[open + 2..message.len() - 1];
            if !inner.is_empty()
                && inner.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
            {
                name = inner.to_string();
                message.truncate(open);
            }
        }
        Some(ServerError { code, name, message })
    }

    /// Whether trying again may succeed: timeouts, lost ZooKeeper sessions, an alter that could
    /// not be assigned yet, too many parts or simultaneous queries, a replica not ready.
    pub fn is_retryable(&self) -> bool {
        RETRYABLE.contains(&self.code)
    }
}

impl std::fmt::Display for ServerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Code: {} ({}): {}", self.code, self.name, self.message)
    }
}

/// Codes worth a retry with backoff.
const RETRYABLE: &[u32] = &[
    159, // TIMEOUT_EXCEEDED
    209, // SOCKET_TIMEOUT
    202, // TOO_MANY_SIMULTANEOUS_QUERIES
    203, // NO_FREE_CONNECTION
    210, // NETWORK_ERROR
    225, // NO_ZOOKEEPER
    242, // TABLE_IS_READ_ONLY (replica lost its ZooKeeper session)
    252, // TOO_MANY_PARTS
    285, // TOO_FEW_LIVE_REPLICAS
    286, // UNSATISFIED_QUORUM_FOR_PREVIOUS_WRITE (another quorum insert is in flight)
    319, // UNKNOWN_STATUS_OF_INSERT
    425, // SYSTEM_ERROR
    517, // CANNOT_ASSIGN_ALTER
    999, // KEEPER_EXCEPTION (ZooKeeper session expired, connection loss)
];

/// The name of a code the tools act on, for servers (18.16) whose messages do not carry it.
pub fn error_name(code: u32) -> &'static str {
    match code {
        36 => "BAD_ARGUMENTS",
        47 => "UNKNOWN_IDENTIFIER",
        53 => "TYPE_MISMATCH",
        57 => "TABLE_ALREADY_EXISTS",
        60 => "UNKNOWN_TABLE",
        62 => "SYNTAX_ERROR",
        81 => "UNKNOWN_DATABASE",
        82 => "DATABASE_ALREADY_EXISTS",
        115 => "UNKNOWN_SETTING",
        159 => "TIMEOUT_EXCEEDED",
        164 => "READONLY",
        192 => "UNKNOWN_USER",
        193 => "WRONG_PASSWORD",
        202 => "TOO_MANY_SIMULTANEOUS_QUERIES",
        209 => "SOCKET_TIMEOUT",
        210 => "NETWORK_ERROR",
        225 => "NO_ZOOKEEPER",
        242 => "TABLE_IS_READ_ONLY",
        252 => "TOO_MANY_PARTS",
        285 => "TOO_FEW_LIVE_REPLICAS",
        286 => "UNSATISFIED_QUORUM_FOR_PREVIOUS_WRITE",
        319 => "UNKNOWN_STATUS_OF_INSERT",
        341 => "UNFINISHED",
        425 => "SYSTEM_ERROR",
        516 => "AUTHENTICATION_FAILED",
        517 => "CANNOT_ASSIGN_ALTER",
        701 => "CLUSTER_DOESNT_EXIST",
        999 => "KEEPER_EXCEPTION",
        _ => "UNKNOWN",
    }
}

/// Errors of this crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ChError {
    /// The connection settings do not make sense (a malformed URL, an unknown scheme).
    #[error("ClickHouse connection settings: {0}")]
    Config(String),

    /// The server could not be reached, or the connection broke.
    #[error("ClickHouse {target}: cannot reach the server: {detail}")]
    Connect {
        /// The server, with its password masked.
        target: String,
        /// What the library said.
        detail: String,
    },

    /// The server refused a statement.
    #[error("ClickHouse {target}: {error}{}", advice(.error))]
    Server {
        /// The server, with its password masked.
        target: String,
        /// The server's code, name and message.
        error: ServerError,
    },

    /// A table the operation needs does not exist.
    #[error("table {table} does not exist in ClickHouse {target}")]
    NotFound {
        /// The server, with its password masked.
        target: String,
        /// The table.
        table: String,
    },

    /// Columns with no lossless form on this server: every one of the table's, at once.
    #[error("table {table}: ClickHouse {version} cannot store these columns without loss: {}; {}", list_unsupported(.columns), remedies(.columns))]
    Unsupported {
        /// The table.
        table: String,
        /// The server's version.
        version: String,
        /// Every column concerned.
        columns: Vec<UnsupportedColumn>,
    },

    /// Values this server cannot hold without loss: every such column of the batch, at once.
    #[error("table {table}, {}; the previous table is untouched", list_values(.columns))]
    Value {
        /// The table.
        table: String,
        /// Each column, the first value it cannot hold and the column type that would.
        columns: Vec<ValueColumn>,
    },

    /// A column type the reader does not turn into Arrow.
    #[error(
        "table {table}, column {column}: ClickHouse type {ch_type} cannot be read as Arrow yet; select it cast (toString({column}) AS {column}) in a query"
    )]
    UnreadableType {
        /// The table or query.
        table: String,
        /// The column.
        column: String,
        /// Its ClickHouse type.
        ch_type: String,
    },

    /// Data from the server did not decode as its announced types.
    #[error("table {table}: cannot decode the server's data: {detail}")]
    Decode {
        /// The table.
        table: String,
        /// What went wrong.
        detail: String,
    },

    /// The feature is not available on this server (`EXCHANGE TABLES` on 18.16, ON CLUSTER on a
    /// server without clusters).
    #[error("ClickHouse {version} at {target} does not support {feature}")]
    NotSupported {
        /// The server, with its password masked.
        target: String,
        /// The server's version.
        version: String,
        /// What is missing.
        feature: String,
    },

    /// ON CLUSTER DDL that some hosts did not finish in time, or failed on.
    #[error("{statement}: {}", .hosts.join("; "))]
    Cluster {
        /// The statement, abbreviated.
        statement: String,
        /// Each host that failed or is still working, with why.
        hosts: Vec<String>,
    },

    /// A mutation that failed or did not finish in time.
    #[error("mutation {mutation_id} on {table}: {detail}")]
    Mutation {
        /// The table.
        table: String,
        /// The mutation's id.
        mutation_id: String,
        /// Why (the server's `latest_fail_reason`, or how long it was waited for).
        detail: String,
    },

    /// An Arrow error while encoding or decoding.
    #[error(transparent)]
    Arrow(#[from] arrow::error::ArrowError),
}

impl ChError {
    /// The server's error code, when the server refused something.
    pub fn code(&self) -> Option<u32> {
        match self {
            ChError::Server { error, .. } => Some(error.code),
            _ => None,
        }
    }

    /// Whether trying again may succeed (see [`ServerError::is_retryable`]); connection failures
    /// are retryable too.
    pub fn is_retryable(&self) -> bool {
        match self {
            ChError::Server { error, .. } => error.is_retryable(),
            ChError::Connect { .. } => true,
            _ => false,
        }
    }
}

/// `set column_types: at: one of DateTime, Int64, String`: the override that stores each column.
fn remedies(columns: &[UnsupportedColumn]) -> String {
    use migrate_core::convert::Remedy;
    let each: Vec<String> = columns
        .iter()
        .map(|c| match &c.fix {
            Remedy::OneOf(types) => format!("{}: one of {types}", c.column),
            Remedy::Exclude => format!("{}: leave it out or cast it in the source", c.column),
        })
        .collect();
    format!("set column_types for {}", each.join("; "))
}

/// One sentence on what to do, for the errors an operator meets first.
fn advice(error: &ServerError) -> &'static str {
    match error.code {
        516 | 192 | 193 => " (check the user and password: CLICKHOUSE_USER / CLICKHOUSE_PASSWORD or the URL)",
        81 => " (create the database first, or name an existing one in the URL)",
        701 => " (this server has no such cluster: see system.clusters, or leave the cluster out)",
        _ => "",
    }
}

/// Result alias for this crate.
pub type Result<T, E = ChError> = std::result::Result<T, E>;

impl From<ChError> for migrate_core::CoreError {
    fn from(e: ChError) -> Self {
        match e {
            ChError::NotFound { target, table } => {
                migrate_core::CoreError::TableNotFound { table, store: format!("clickhouse:{target}") }
            }
            other => migrate_core::CoreError::Store { store: "clickhouse".into(), source: Box::new(other) },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_modern_and_old_messages() {
        let modern = ServerError::parse(
            "Code: 60. DB::Exception: Unknown table expression identifier 'nope'. (UNKNOWN_TABLE) (version 26.9.2.1)",
        )
        .unwrap();
        assert_eq!((modern.code, modern.name.as_str()), (60, "UNKNOWN_TABLE"));
        assert_eq!(modern.message, "Unknown table expression identifier 'nope'.");
        let old = ServerError::parse(
            "Code: 81, e.displayText() = DB::Exception: Database x doesn't exist, e.what() = DB::Exception\n",
        )
        .unwrap();
        assert_eq!((old.code, old.name.as_str()), (81, "UNKNOWN_DATABASE"));
        assert_eq!(old.message, "Database x doesn't exist");
        assert!(ServerError::parse("bad gateway").is_none());
    }

    #[test]
    fn retryable_codes() {
        let e = |code| ServerError { code, name: String::new(), message: String::new() };
        assert!(e(517).is_retryable());
        assert!(e(159).is_retryable());
        assert!(!e(60).is_retryable());
        assert!(!e(516).is_retryable());
    }
}
