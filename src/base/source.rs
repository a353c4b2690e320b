//! Every input text the tool reads, and positions inside it.
//!
//! A `SourceSet` owns the text of each file once; everything else refers to a file by its
//! `FileId` and to a place in it by a byte range. Line and column numbers are computed only
//! when a diagnostic is rendered, from the line-start table built on first use, so files that
//! have nothing to report never pay for it.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

/// Index of a file in its `SourceSet`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct FileId(pub u32);

impl FileId {
    /// The id of the file at this position of a set.
    pub fn at(index: usize) -> FileId {
        FileId(u32::try_from(index).expect("a run reads fewer than 2^32 files"))
    }
}

/// How a file's text is to be parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Yaml,
}

impl Format {
    /// The format a file name implies, or `None` for files that are not definitions.
    pub fn from_path(path: &Path) -> Option<Format> {
        let found = Self::from_name_bytes(path);
        debug_assert_eq!(found, Self::from_extension(path), "{}", path.display());
        found
    }

    /// `from_extension`, read off the path's bytes: the extension of what follows its last
    /// separator, when that is a plain name. Discovery asks this of every file of a workspace
    /// (50,000 at 10,000 workflows), and `Path::extension` parses the path's components each
    /// time. Anything else (a path that ends in a separator, `.` or `..`) is `from_extension`'s.
    fn from_name_bytes(path: &Path) -> Option<Format> {
        let bytes = path.as_os_str().as_encoded_bytes();
        let start = bytes
            .iter()
            .rposition(|b| std::path::is_separator(char::from(*b)))
            .map_or(0, |cut| cut + 1);
        let name = &bytes[start..];
        if name.is_empty() || name == b"." || name == b".." {
            return Self::from_extension(path);
        }
        // A name whose only dot leads it (`.json`) has no extension.
        let dot = name
            .iter()
            .rposition(|b| *b == b'.')
            .filter(|dot| *dot > 0)?;
        Self::of_extension(&name[dot + 1..])
    }

    fn from_extension(path: &Path) -> Option<Format> {
        Self::of_extension(path.extension()?.as_encoded_bytes())
    }

    fn of_extension(extension: &[u8]) -> Option<Format> {
        if extension.eq_ignore_ascii_case(b"json") {
            Some(Format::Json)
        } else if extension.eq_ignore_ascii_case(b"yaml") || extension.eq_ignore_ascii_case(b"yml")
        {
            Some(Format::Yaml)
        } else {
            None
        }
    }
}

/// One input file: where it came from, how to show its name, and its text.
#[derive(Debug)]
pub struct SourceFile {
    /// The path used to read the file.
    pub path: PathBuf,
    /// The name shown in diagnostics: relative to the workspace root where possible, with `/`.
    pub name: String,
    pub format: Format,
    /// The text, with a leading byte-order mark removed. The front end keeps the text only of
    /// files that have something to report (`loaded` says whether it is here), because a large
    /// workspace would otherwise hold every file in memory for nothing.
    pub text: Arc<str>,
    pub loaded: bool,
    line_starts: OnceLock<Vec<usize>>,
    /// How many times the text was scanned to locate labels: rendering scans a file once for
    /// all its labels, and a test holds it to that.
    locate_passes: AtomicUsize,
}

impl SourceFile {
    pub fn new(path: PathBuf, name: String, format: Format, text: Arc<str>) -> SourceFile {
        SourceFile {
            path,
            name,
            format,
            text,
            loaded: true,
            line_starts: OnceLock::new(),
            locate_passes: AtomicUsize::new(0),
        }
    }

    /// A file whose text was not kept; see `SourceSet::set_text`.
    pub fn unloaded(path: PathBuf, name: String, format: Format) -> SourceFile {
        SourceFile {
            loaded: false,
            ..SourceFile::new(path, name, format, Arc::from(""))
        }
    }

    /// Counts one scan of the text for label positions.
    pub fn count_locate_pass(&self) {
        self.locate_passes.fetch_add(1, Ordering::Relaxed);
    }

    /// How many scans for label positions the text has had.
    pub fn locate_passes(&self) -> usize {
        self.locate_passes.load(Ordering::Relaxed)
    }

    fn line_starts(&self) -> &[usize] {
        self.line_starts.get_or_init(|| {
            let mut starts = vec![0];
            for (idx, byte) in self.text.bytes().enumerate() {
                if byte == b'\n' {
                    starts.push(idx + 1);
                }
            }
            starts
        })
    }

    /// 1-based line and column (in characters) of a byte offset. Offsets past the end or
    /// inside a character are clamped to the nearest valid position.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = clamp_to_char_boundary(&self.text, offset);
        let starts = self.line_starts();
        let line_idx = match starts.binary_search(&offset) {
            Ok(idx) => idx,
            Err(idx) => idx - 1,
        };
        let line_start = starts[line_idx];
        let column = self.text[line_start..offset].chars().count() + 1;
        (line_idx + 1, column)
    }

    /// Byte offset of a 1-based line and column (in characters), clamped to the text.
    pub fn offset_of(&self, line: usize, column: usize) -> usize {
        let starts = self.line_starts();
        let Some(&line_start) = starts.get(line.saturating_sub(1)) else {
            return self.text.len();
        };
        let rest = &self.text[line_start..];
        let line_len = rest.find('\n').unwrap_or(rest.len());
        let within = rest[..line_len]
            .char_indices()
            .nth(column.saturating_sub(1))
            .map(|(idx, _)| idx)
            .unwrap_or(line_len);
        line_start + within
    }
}

/// The largest char boundary at or before `offset`, never past the end.
pub fn clamp_to_char_boundary(text: &str, offset: usize) -> usize {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

/// All files of one run, addressed by `FileId`.
#[derive(Debug, Default)]
pub struct SourceSet {
    files: Vec<SourceFile>,
}

impl SourceSet {
    pub fn new() -> SourceSet {
        SourceSet::default()
    }

    pub fn add(&mut self, file: SourceFile) -> FileId {
        let id = FileId::at(self.files.len());
        self.files.push(file);
        id
    }

    /// Replaces a file's entry, keeping its id.
    pub fn replace(&mut self, id: FileId, file: SourceFile) {
        self.files[id.0 as usize] = file;
    }

    /// Supplies the text of a file that was not kept.
    pub fn set_text(&mut self, id: FileId, text: Arc<str>) {
        let file = &mut self.files[id.0 as usize];
        file.text = text;
        file.loaded = true;
        file.line_starts = OnceLock::new();
    }

    pub fn get(&self, id: FileId) -> &SourceFile {
        &self.files[id.0 as usize]
    }

    pub fn len(&self) -> usize {
        self.files.len()
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (FileId, &SourceFile)> {
        self.files
            .iter()
            .enumerate()
            .map(|(idx, file)| (FileId::at(idx), file))
    }
}

/// A byte range in one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Span {
    pub file: FileId,
    pub range: Range<usize>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_format_read_off_the_name_is_the_one_of_its_extension() {
        for path in [
            "a/b.json",
            "a/b.JSON",
            "b.yaml",
            "/x/y.Yml",
            "a/b.yml.txt",
            "a/b",
            "a/.json",
            "a/.b.json",
            "a/b.",
            "a/b.json/",
            "a/b.json/.",
            "a/..",
            "..",
            ".",
            "",
            "/",
            "a.json/b",
            "a/b.tar.json",
            "dir.d/file",
            "ü/é.json",
        ] {
            let path = Path::new(path);
            assert_eq!(
                Format::from_name_bytes(path),
                Format::from_extension(path),
                "{}",
                path.display()
            );
        }
    }

    fn file(text: &str) -> SourceFile {
        SourceFile::new(
            PathBuf::from("t.json"),
            "t.json".into(),
            Format::Json,
            text.into(),
        )
    }

    #[test]
    fn line_col_counts_characters_not_bytes() {
        let f = file("ab\ncafé x\n");
        assert_eq!(f.line_col(0), (1, 1));
        assert_eq!(f.line_col(3), (2, 1));
        // "x" sits after the two-byte "é".
        assert_eq!(f.line_col(9), (2, 6));
        assert_eq!(f.offset_of(2, 6), 9);
    }

    #[test]
    fn offsets_inside_a_character_are_clamped() {
        let f = file("é");
        assert_eq!(f.line_col(1), (1, 1));
        assert_eq!(f.line_col(99), (1, 2));
    }
}
