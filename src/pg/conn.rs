//! Connecting to PostgreSQL, and turning sqlx errors into one-line messages.
//!
//! Every message about a connection names the server as `user@host:port/database` and never
//! the password: the URL a user passes is parsed once (`pg::url`) and never formatted, not even
//! by `{:?}`. Every session is bounded before its first query (`Bounds`: `lock_timeout` and
//! `statement_timeout`), so no query vnext sends waits unbounded.
//! `sslmode` works as in libpq (`disable`, `allow`, `prefer`, `require`, `verify-ca`,
//! `verify-full`), through rustls; like libpq, `PG*` variables fill in what the
//! URL leaves out (sqlx reads them, not us). TCP connections have Nagle's algorithm off, as
//! libpq's do; sqlx 0.9.0 lost that, and `vendor/sqlx-core` puts it back (a step's batch spans
//! several TLS records, and each one after the first would wait 40 ms for a delayed ACK).

use std::time::Duration;

use sqlx::AssertSqlSafe;
use sqlx::ConnectOptions;
use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgDatabaseError};

/// Where to connect, parsed from a URL, and the bounds every session opened there runs under.
#[derive(Clone)]
pub struct Target {
    options: PgConnectOptions,
    bounds: Bounds,
}

/// The password must not reach a `{:?}` either: a target prints as the server it names.
impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Target({})", self.display())
    }
}

/// How long any statement of a session may wait: for a lock (`lock_timeout`) and in all
/// (`statement_timeout`, zero for none). Set as soon as a session is open, before anything
/// else runs on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounds {
    pub lock_timeout: Duration,
    pub statement_timeout: Duration,
}

impl Default for Bounds {
    /// What `drift`, `status` and the reads before apply's own settings run under.
    fn default() -> Bounds {
        Bounds {
            lock_timeout: Duration::from_secs(10),
            statement_timeout: Duration::from_secs(5 * 60),
        }
    }
}

impl Bounds {
    /// The `SET` statements, for a session or a migration file's header alike.
    pub(crate) fn sql(&self) -> String {
        format!(
            "SET lock_timeout = '{}ms'; SET statement_timeout = '{}ms';",
            ms(self.lock_timeout).max(1),
            ms(self.statement_timeout)
        )
    }
}

impl Target {
    /// Parses a `postgres://` URL. The error never contains any part of the URL (see `pg::url`).
    pub fn parse(url: &str) -> Result<Target, String> {
        let options = super::url::parse(url)?;
        // Statement logging would go through `log`/`tracing` to nobody; switch it off so an
        // index build that takes minutes is not a warning somewhere.
        let options = options
            .application_name("vnext")
            .disable_statement_logging();
        Ok(Target {
            options,
            bounds: Bounds::default(),
        })
    }

    /// Where libpq would connect without a URL: the `PG*` variables and the password file,
    /// which sqlx reads when it builds the options (vnext's own code reads no variable), so
    /// `vnext apply` connects where `psql` would.
    pub fn from_environment() -> Target {
        Target {
            options: PgConnectOptions::new()
                .application_name("vnext")
                .disable_statement_logging(),
            bounds: Bounds::default(),
        }
    }

    /// The same server, every session bounded by `bounds`.
    pub fn bounded(&self, bounds: Bounds) -> Target {
        Target {
            options: self.options.clone(),
            bounds,
        }
    }

    pub fn bounds(&self) -> Bounds {
        self.bounds
    }

    /// `user@host:port/database`, for messages.
    pub fn display(&self) -> String {
        let host = match self.options.get_socket() {
            Some(socket) => socket.display().to_string(),
            None => format!("{}:{}", self.options.get_host(), self.options.get_port()),
        };
        format!(
            "{}@{host}/{}",
            self.options.get_username(),
            self.options.get_database().unwrap_or("")
        )
    }

    pub fn database(&self) -> &str {
        self.options
            .get_database()
            .unwrap_or_else(|| self.options.get_username())
    }

    /// Opens a connection, with a bounded wait for the server.
    pub async fn connect(&self) -> Result<PgConnection, String> {
        let attempt = tokio::time::timeout(
            Duration::from_secs(30),
            PgConnection::connect_with(&self.options),
        )
        .await;
        let mut conn = match attempt {
            Err(_) => {
                return Err(format!(
                    "cannot connect to {}: no answer within 30 s",
                    self.display()
                ));
            }
            Ok(Ok(conn)) => conn,
            Ok(Err(err)) => return Err(self.connect_error(&err)),
        };
        // Set here, not in the startup packet, which connection poolers refuse to pass on.
        sqlx::raw_sql(AssertSqlSafe(self.bounds.sql()))
            .execute(&mut conn)
            .await
            .map_err(|err| {
                format!(
                    "cannot set lock_timeout and statement_timeout on {}: {}",
                    self.display(),
                    Failure::from_sqlx(&err)
                )
            })?;
        Ok(conn)
    }

    fn connect_error(&self, err: &sqlx::Error) -> String {
        let target = self.display();
        if let Some(db) = err.as_database_error() {
            let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
            let message = one_line(db.message());
            return match code.as_str() {
                "28P01" | "28000" => format!(
                    "cannot connect to {target}: authentication failed for user `{}` ({message})",
                    self.options.get_username()
                ),
                "3D000" => format!(
                    "cannot connect to {target}: database `{}` does not exist",
                    self.database()
                ),
                "53300" => {
                    format!("cannot connect to {target}: the server has too many connections")
                }
                "57P03" => format!(
                    "cannot connect to {target}: the server is starting up or shutting down"
                ),
                _ => format!("cannot connect to {target}: {message} (SQLSTATE {code})"),
            };
        }
        match err {
            sqlx::Error::Io(io) => match io.kind() {
                std::io::ErrorKind::ConnectionRefused => format!(
                    "cannot connect to {target}: connection refused (is PostgreSQL running and listening there?)"
                ),
                std::io::ErrorKind::NotFound => {
                    format!("cannot connect to {target}: no such host or socket")
                }
                _ => format!("cannot connect to {target}: {}", one_line(&io.to_string())),
            },
            sqlx::Error::Tls(tls) => format!(
                "cannot connect to {target}: TLS failed: {}",
                one_line(&tls.to_string())
            ),
            other => format!(
                "cannot connect to {target}: {}",
                one_line(&other.to_string())
            ),
        }
    }
}

/// A message on one line.
pub fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// What a failed statement said, without sqlx's additions (the C source line of the server).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerError {
    pub code: String,
    pub message: String,
    pub detail: Option<String>,
    pub hint: Option<String>,
    /// 1-based character position in the statement.
    pub position: Option<usize>,
}

/// How a statement failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The server rejected it.
    Server(ServerError),
    /// The connection broke: the server went away, or the network.
    Connection(String),
    Other(String),
}

impl Failure {
    pub fn from_sqlx(err: &sqlx::Error) -> Failure {
        if let Some(db) = err.as_database_error() {
            if let Some(pg) = db.try_downcast_ref::<PgDatabaseError>() {
                let position = match pg.position() {
                    Some(sqlx::postgres::PgErrorPosition::Original(p)) => Some(p),
                    _ => None,
                };
                return Failure::Server(ServerError {
                    code: pg.code().to_owned(),
                    message: one_line(pg.message()),
                    detail: pg.detail().map(one_line),
                    hint: pg.hint().map(one_line),
                    position,
                });
            }
            return Failure::Server(ServerError {
                code: db.code().map(|c| c.into_owned()).unwrap_or_default(),
                message: one_line(db.message()),
                detail: None,
                hint: None,
                position: None,
            });
        }
        match err {
            sqlx::Error::Io(io) => Failure::Connection(one_line(&io.to_string())),
            sqlx::Error::Protocol(text) => Failure::Connection(one_line(text)),
            sqlx::Error::WorkerCrashed => {
                Failure::Connection("the connection worker stopped".into())
            }
            other => Failure::Other(one_line(&other.to_string())),
        }
    }

    /// SQLSTATE 55P03: `lock_timeout` ran out.
    pub fn is_lock_timeout(&self) -> bool {
        matches!(self, Failure::Server(e) if e.code == "55P03")
    }

    /// SQLSTATE 57014: `statement_timeout` ran out (or the statement was cancelled).
    pub fn is_statement_timeout(&self) -> bool {
        matches!(self, Failure::Server(e) if e.code == "57014")
    }

    /// 40001/40P01: serialization failure or deadlock; worth a retry.
    pub fn is_transient(&self) -> bool {
        matches!(self, Failure::Server(e) if e.code == "40001" || e.code == "40P01")
    }

    /// The server ended the session (admin shutdown, crash) or the network broke.
    pub fn is_connection_lost(&self) -> bool {
        match self {
            Failure::Connection(_) => true,
            Failure::Server(e) => matches!(
                e.code.as_str(),
                "57P01" | "57P02" | "57P03" | "08006" | "08003"
            ),
            Failure::Other(_) => false,
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Server(e) => {
                write!(f, "{} (SQLSTATE {})", e.message, e.code)?;
                if let Some(detail) = &e.detail {
                    write!(f, "; {detail}")?;
                }
                if let Some(hint) = &e.hint {
                    write!(f, "; hint: {hint}")?;
                }
                Ok(())
            }
            Failure::Connection(text) => write!(f, "the connection to the server was lost: {text}"),
            Failure::Other(text) => f.write_str(text),
        }
    }
}

/// A duration in whole milliseconds, for events and messages.
pub fn ms(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_target_shows_the_server_never_the_password() {
        let target = Target::parse("postgres://app:s3cret@db:6543/loans?sslmode=require").unwrap();
        assert_eq!(target.display(), "app@db:6543/loans");
        assert_eq!(format!("{target:?}"), "Target(app@db:6543/loans)");
        let err = Target::parse("postgres://app:s3cret@db:notaport/x").unwrap_err();
        assert!(!err.contains("s3cret"), "{err}");
    }
}
