//! Values from the command line, checked before anything runs: numbers of seconds within the
//! ranges PostgreSQL and vnext accept (never infinite, never NaN), and the objects
//! `--allow-data-loss` names. The binary hands them to clap as value parsers. And clap's usage
//! errors without the arguments that may hold a password.

use std::time::Duration;

/// The longest timeout PostgreSQL accepts: INT_MAX milliseconds.
const MAX_TIMEOUT_SECONDS: f64 = 2_147_483.0;

/// A number of seconds from the command line: finite, and within `min..=max`.
fn seconds_within(text: &str, min: f64, max: f64) -> Result<Duration, String> {
    let value: f64 = text
        .trim()
        .parse()
        .map_err(|_| "is not a number of seconds".to_owned())?;
    if !value.is_finite() || value < min || value > max {
        return Err(format!("must be a number of seconds from {min} to {max}"));
    }
    Ok(Duration::from_secs_f64(value))
}

/// An object as `--allow-data-loss` names it: `schema:NAME`, `table:SCHEMA.TABLE` or
/// `column:SCHEMA.TABLE.COLUMN` (a pattern that matches nothing would allow nothing, silently).
pub fn data_loss_object(text: &str) -> Result<String, String> {
    let segments = match text.split_once(':') {
        Some(("schema", path)) => (path.split('.').count() == 1).then_some(path),
        Some(("table", path)) => (path.split('.').count() == 2).then_some(path),
        Some(("column", path)) => (path.split('.').count() == 3).then_some(path),
        _ => None,
    };
    match segments {
        Some(path) if path.split('.').all(|name| !name.is_empty()) => Ok(text.to_owned()),
        _ => Err("must be schema:NAME, table:SCHEMA.TABLE or column:SCHEMA.TABLE.COLUMN (`*` for any one name)".to_owned()),
    }
}

/// `--lock-wait`: 0 to 86400 s.
pub fn lock_wait(text: &str) -> Result<Duration, String> {
    seconds_within(text, 0.0, 86_400.0)
}

/// `--lock-timeout`: 0.001 s (0 would switch PostgreSQL's off) to INT_MAX ms.
pub fn lock_timeout(text: &str) -> Result<Duration, String> {
    seconds_within(text, 0.001, MAX_TIMEOUT_SECONDS)
}

/// `--statement-timeout`: 0 (none) to INT_MAX ms.
pub fn statement_timeout(text: &str) -> Result<Duration, String> {
    seconds_within(text, 0.0, MAX_TIMEOUT_SECONDS)
}

/// clap's usage error with every argument that looks like a connection string (URL or
/// keyword/value; `candidates` are the arguments and `DATABASE_URL`'s value) taken out, or
/// `None` when none appears in it. A database URL passed where clap expects none
/// (`vnext apply $DATABASE_URL`) would otherwise be echoed into the deploy log.
pub fn scrub_usage(text: &str, candidates: impl Iterator<Item = String>) -> Option<String> {
    let secrets: Vec<String> = candidates.filter(|arg| may_hold_a_password(arg)).collect();
    if !secrets.iter().any(|secret| text.contains(secret.as_str())) {
        return None;
    }
    let mut scrubbed = text.to_owned();
    for secret in &secrets {
        scrubbed = scrubbed.replace(
            secret.as_str(),
            "<an argument that may hold a password, not repeated>",
        );
    }
    Some(scrubbed)
}

/// Whether a command-line argument looks like a connection string (URL or keyword/value).
fn may_hold_a_password(arg: &str) -> bool {
    arg.contains("://") || arg.contains('@') || arg.to_ascii_lowercase().contains("password")
}
