//! Semantic versions as the vNext runtime orders them.
//!
//! `MAJOR.MINOR.PATCH[-pre][+build]`. Which version of a component is the latest follows the
//! runtime's own comparer (`runtime_cmp`: package versions `-pkg.X.Y.Z` above their artifact,
//! pre-releases as text). `Version` is strict semantic versioning, for parsing and resolving
//! partial references. References may name a version exactly,
//! partially (`1` or `1.2`: the highest match) or as `latest`.

use std::cmp::Ordering;

/// A parsed version. Build metadata is kept for display only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Version {
    pub major: u64,
    pub minor: u64,
    pub patch: u64,
    pub pre: Vec<String>,
    pub build: Option<String>,
}

impl Version {
    pub(crate) fn parse(text: &str) -> Option<Version> {
        let (rest, build) = match text.split_once('+') {
            Some((rest, build)) => (rest, Some(build.to_owned())),
            None => (text, None),
        };
        let (core, pre) = match rest.split_once('-') {
            Some((core, pre)) => (core, pre.split('.').map(str::to_owned).collect()),
            None => (rest, Vec::new()),
        };
        let mut numbers = core.split('.');
        let mut next = || -> Option<u64> {
            let part = numbers.next()?;
            if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            part.parse().ok()
        };
        let version = Version {
            major: next()?,
            minor: next()?,
            patch: next()?,
            pre,
            build,
        };
        if numbers.next().is_some() || version.pre.iter().any(String::is_empty) {
            return None;
        }
        Some(version)
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Version) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Version) -> Ordering {
        (self.major, self.minor, self.patch)
            .cmp(&(other.major, other.minor, other.patch))
            .then_with(|| match (self.pre.is_empty(), other.pre.is_empty()) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                (false, false) => compare_pre(&self.pre, &other.pre),
            })
    }
}

fn compare_pre(a: &[String], b: &[String]) -> Ordering {
    for (x, y) in a.iter().zip(b) {
        let ordering = match (x.parse::<u64>(), y.parse::<u64>()) {
            (Ok(x), Ok(y)) => x.cmp(&y),
            (Ok(_), Err(_)) => Ordering::Less,
            (Err(_), Ok(_)) => Ordering::Greater,
            (Err(_), Err(_)) => x.cmp(y),
        };
        if ordering != Ordering::Equal {
            return ordering;
        }
    }
    a.len().cmp(&b.len())
}

/// Compares two version strings as the runtime does (`runtime_cmp`), then by text, so that
/// versions the runtime holds equal still have one order.
pub(crate) fn compare_text(a: &str, b: &str) -> Ordering {
    runtime_cmp(a, b).then_with(|| a.cmp(b))
}

/// The runtime's `InstanceDataVersionComparer.CompareVersionStrings` (burgan-tech/vnext
/// `src/BBT.Workflow.Domain/Instances/InstanceDataVersionComparer.cs@5a0cf11`), which decides
/// `"IsLatest"` on publish: build metadata (from the first `+`) ignored; the artifact version
/// first, then the package version of a `…-pkg.X.Y.Z` suffix (none is lowest); within each, the
/// core as a .NET `System.Version` (unparsable cores lowest), then a release above its
/// pre-release, and pre-releases compared as text, ignoring case (so `rc.10` < `rc.2`).
pub(crate) fn runtime_cmp(a: &str, b: &str) -> Ordering {
    match (blank(a), blank(b)) {
        (true, true) => return Ordering::Equal,
        (true, false) => return Ordering::Less,
        (false, true) => return Ordering::Greater,
        (false, false) => {}
    }
    let (artifact_a, package_a) = split_package(a);
    let (artifact_b, package_b) = split_package(b);
    compare_semantic(Some(artifact_a), Some(artifact_b))
        .then_with(|| compare_semantic(package_a, package_b))
}

/// Whether a version carries the runtime's package suffix (`ARTIFACT-pkg.X.Y.Z[+name]`), as
/// the runtime's package publisher writes every version it publishes.
pub(crate) fn has_package_version(version: &str) -> bool {
    split_package(version).1.is_some()
}

fn blank(text: &str) -> bool {
    text.chars().all(char::is_whitespace)
}

/// `ParseVersion`: the artifact and package parts of `ARTIFACT-pkg.X.Y.Z`, build metadata
/// dropped; a version without a well-formed suffix is all artifact.
fn split_package(version: &str) -> (&str, Option<&str>) {
    let version = version.split_once('+').map_or(version, |(rest, _)| rest);
    if let Some((artifact, package)) = version.rsplit_once("-pkg.")
        && is_artifact(artifact)
        && is_core(package, 3)
    {
        return (artifact, Some(package));
    }
    (version, None)
}

/// `\d+\.\d+\.\d+(?:-[a-zA-Z0-9]+(?:\.[a-zA-Z0-9]+)*)?`
fn is_artifact(text: &str) -> bool {
    let (core, pre) = match text.split_once('-') {
        Some((core, pre)) => (core, Some(pre)),
        None => (text, None),
    };
    is_core(core, 3)
        && pre.is_none_or(|pre| {
            pre.split('.')
                .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_alphanumeric()))
        })
}

/// Exactly `parts` dot-separated runs of ASCII digits.
fn is_core(text: &str, parts: usize) -> bool {
    let pieces: Vec<&str> = text.split('.').collect();
    pieces.len() == parts
        && pieces
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

/// `CompareSemanticVersion`.
fn compare_semantic(a: Option<&str>, b: Option<&str>) -> Ordering {
    let a = a.filter(|text| !blank(text));
    let b = b.filter(|text| !blank(text));
    let (a, b) = match (a, b) {
        (None, None) => return Ordering::Equal,
        (None, Some(_)) => return Ordering::Less,
        (Some(_), None) => return Ordering::Greater,
        (Some(a), Some(b)) => (a, b),
    };
    let (core_a, pre_a) = semver_parts(a);
    let (core_b, pre_b) = semver_parts(b);
    compare_core(core_a, core_b).then_with(|| match (pre_a, pre_b) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Greater,
        (Some(_), None) => Ordering::Less,
        (Some(x), Some(y)) => ordinal_ignore_case(x, y),
    })
}

/// `ParseSemVerParts`: a dash starts a pre-release only when a letter follows it.
fn semver_parts(version: &str) -> (&str, Option<&str>) {
    match version.split_once('-') {
        Some((core, pre)) if pre.chars().next().is_some_and(char::is_alphabetic) => {
            (core, Some(pre).filter(|pre| !pre.is_empty()))
        }
        _ => (version, None),
    }
}

/// `CompareCoreVersion`: missing minor and patch read as 0, then `System.Version` order
/// (an absent fourth part is below 0); a core that does not parse is below one that does, and
/// two that do not compare as text, ignoring case.
fn compare_core(a: &str, b: &str) -> Ordering {
    match (dotnet_version(a), dotnet_version(b)) {
        (Some(x), Some(y)) => x.cmp(&y),
        (Some(_), None) => Ordering::Greater,
        (None, Some(_)) => Ordering::Less,
        (None, None) => ordinal_ignore_case(a, b),
    }
}

/// `Version.TryParse` of the normalized core: 2 to 4 parts, each an `int` of at least 0
/// (surrounding white space and a sign allowed, as `NumberStyles.Integer` does).
fn dotnet_version(core: &str) -> Option<[i64; 4]> {
    let mut parts: Vec<&str> = core.split('.').collect();
    match parts.len() {
        1 => parts.extend(["0", "0"]),
        2 => parts.push("0"),
        _ => {}
    }
    if !(2..=4).contains(&parts.len()) {
        return None;
    }
    let mut out = [-1i64; 4];
    for (slot, part) in out.iter_mut().zip(&parts) {
        let trimmed = part.trim_matches(|c: char| matches!(c, '\t'..='\r' | ' '));
        let digits = trimmed.strip_prefix(['+', '-']).unwrap_or(trimmed);
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let value: i32 = trimmed.strip_prefix('+').unwrap_or(trimmed).parse().ok()?;
        if value < 0 {
            return None;
        }
        *slot = i64::from(value);
    }
    Some(out)
}

/// `string.Compare(a, b, StringComparison.OrdinalIgnoreCase)`: UTF-16 code units, upper-cased.
fn ordinal_ignore_case(a: &str, b: &str) -> Ordering {
    let upper = |text: &str| -> Vec<u16> {
        let mut units = Vec::new();
        for ch in text.chars() {
            let mut upper = ch.to_uppercase();
            let mapped = match (upper.next(), upper.next()) {
                (Some(single), None) => single,
                _ => ch,
            };
            let mut buf = [0u16; 2];
            units.extend_from_slice(mapped.encode_utf16(&mut buf));
        }
        units
    };
    upper(a).cmp(&upper(b))
}

/// The version a reference selects among `available`: exact, `latest`, or a partial
/// `MAJOR` / `MAJOR.MINOR` that picks the highest matching release.
pub(crate) fn resolve<'a>(wanted: &str, available: &[&'a str]) -> Option<&'a str> {
    if let Some(exact) = available.iter().find(|v| **v == wanted) {
        return Some(exact);
    }
    // The runtime's `FindBestMatch`: an artifact version names the highest package version
    // published of it (`1.0.0` → `1.0.0-pkg.1.2.0+core`).
    if is_artifact(wanted) {
        let packaged = available
            .iter()
            .filter(|v| matches!(split_package(v), (artifact, Some(_)) if artifact == wanted))
            .max_by(|a, b| compare_text(a, b));
        if let Some(found) = packaged {
            return Some(found);
        }
    }
    let highest = |filter: &dyn Fn(&Version) -> bool| {
        available
            .iter()
            .filter_map(|text| Version::parse(text).map(|v| (v, *text)))
            .filter(|(v, _)| filter(v))
            .max_by(|a, b| a.0.cmp(&b.0))
            .map(|(_, text)| text)
    };
    if wanted == "latest" {
        return highest(&|_| true);
    }
    let parts: Vec<&str> = wanted.split('.').collect();
    let numbers: Option<Vec<u64>> = parts.iter().map(|p| p.parse::<u64>().ok()).collect();
    match numbers.as_deref() {
        Some([major]) => highest(&|v| v.major == *major && v.pre.is_empty()),
        Some([major, minor]) => {
            highest(&|v| v.major == *major && v.minor == *minor && v.pre.is_empty())
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_like_semver() {
        let mut versions = vec![
            "1.10.0",
            "1.2.0",
            "1.2.0-rc.1",
            "1.2.0-rc.10",
            "1.2.0-rc.2",
            "1.2.0-alpha",
            "1.2.0-pkg.1.0.0+core",
            "0.9.9",
        ];
        versions.sort_by(|a, b| compare_text(a, b));
        assert_eq!(
            versions,
            vec![
                "0.9.9",
                "1.2.0-alpha",
                "1.2.0-rc.1",
                "1.2.0-rc.10",
                "1.2.0-rc.2",
                "1.2.0",
                "1.2.0-pkg.1.0.0+core",
                "1.10.0"
            ]
        );
    }

    /// The runtime's order: a packaged version sits above its plain artifact, package versions
    /// order the same artifact, pre-releases compare as text ignoring case, build metadata never
    /// counts, an unparsable core is lowest.
    #[test]
    fn orders_like_the_runtime() {
        use Ordering::*;
        let cases = [
            ("1.0.0-pkg.1.0.0+core", "1.0.0", Greater),
            ("1.0.0-pkg.1.0.0+core", "1.0.1", Less),
            ("1.0.0-pkg.1.10.0+core", "1.0.0-pkg.1.9.0+core", Greater),
            ("1.0.0-pkg.1.0.0+core", "1.0.0-pkg.1.0.0+other", Equal),
            ("1.0.0-alpha.1-pkg.2.0.0+a", "1.0.0-pkg.1.0.0+a", Less),
            ("1.0.0-alpha.1-pkg.2.0.0+a", "1.0.0-alpha.1", Greater),
            ("1.2.0-rc.10", "1.2.0-rc.2", Less),
            ("1.2.0-ALPHA", "1.2.0-alpha", Equal),
            ("1.2.0-beta", "1.2.0", Less),
            ("1.0.0+build.5", "1.0.0", Equal),
            ("1.0.0.0", "1.0.0", Greater),
            ("1.0", "1.0.0", Equal),
            ("1.0.0-1", "0.0.1", Less),
            ("", "0.0.1", Less),
            ("10.0.0", "9.9.9", Greater),
        ];
        for (a, b, expected) in cases {
            assert_eq!(runtime_cmp(a, b), expected, "{a} vs {b}");
            assert_eq!(runtime_cmp(b, a), expected.reverse(), "{b} vs {a}");
        }
    }

    #[test]
    fn resolves_exact_partial_and_latest() {
        let available = ["1.0.0", "1.2.0", "1.2.3", "2.0.0-rc.1"];
        assert_eq!(resolve("1.2.0", &available), Some("1.2.0"));
        assert_eq!(resolve("1", &available), Some("1.2.3"));
        assert_eq!(resolve("1.2", &available), Some("1.2.3"));
        assert_eq!(resolve("latest", &available), Some("2.0.0-rc.1"));
        assert_eq!(resolve("3", &available), None);
        assert_eq!(resolve("1.3.0", &available), None);
        let packaged = ["1.0.0-pkg.1.0.0+core", "1.0.0-pkg.1.2.0+core", "2.0.0"];
        assert_eq!(resolve("1.0.0", &packaged), Some("1.0.0-pkg.1.2.0+core"));
        assert_eq!(
            resolve("1.0.0-pkg.1.0.0+core", &packaged),
            Some("1.0.0-pkg.1.0.0+core")
        );
    }

    #[test]
    fn rejects_malformed_versions() {
        assert!(Version::parse("1.0").is_none());
        assert!(Version::parse("1.0.0.0").is_none());
        assert!(Version::parse("1.0.0-").is_none());
        assert!(Version::parse("v1.0.0").is_none());
    }
}
