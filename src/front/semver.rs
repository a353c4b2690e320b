//! Semantic versions as the vNext runtime orders them.
//!
//! `MAJOR.MINOR.PATCH[-pre][+build]`: numeric parts compare as numbers, a pre-release sorts
//! below its release, pre-release identifiers compare numerically when both are numbers and
//! lexically otherwise, and build metadata is ignored. References may name a version exactly,
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

/// Compares two version strings; unparsable ones sort below parsable ones, then by text.
pub(crate) fn compare_text(a: &str, b: &str) -> Ordering {
    match (Version::parse(a), Version::parse(b)) {
        (Some(x), Some(y)) => x.cmp(&y).then_with(|| a.cmp(b)),
        (Some(_), None) => Ordering::Greater,
        (None, Some(_)) => Ordering::Less,
        (None, None) => a.cmp(b),
    }
}

/// The version a reference selects among `available`: exact, `latest`, or a partial
/// `MAJOR` / `MAJOR.MINOR` that picks the highest matching release.
pub(crate) fn resolve<'a>(wanted: &str, available: &[&'a str]) -> Option<&'a str> {
    if let Some(exact) = available.iter().find(|v| **v == wanted) {
        return Some(exact);
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
            "1.2.0-alpha",
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
                "1.2.0",
                "1.10.0"
            ]
        );
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
    }

    #[test]
    fn rejects_malformed_versions() {
        assert!(Version::parse("1.0").is_none());
        assert!(Version::parse("1.0.0.0").is_none());
        assert!(Version::parse("1.0.0-").is_none());
        assert!(Version::parse("v1.0.0").is_none());
    }
}
