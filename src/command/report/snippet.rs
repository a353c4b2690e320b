//! A file's text as miette reads it, with a line table, so that showing a snippet costs the
//! few lines around it instead of a scan from the start of the file.
//!
//! miette's own `SourceCode` for `str` walks the text from byte 0 for every span it shows, so a
//! file with thousands of diagnostics took quadratic time to render. `Lined` cuts a window of
//! whole lines around the span (one line more than miette asks for on each side) and lets
//! miette's reader work on the window, then moves the result back to file coordinates. The
//! window starts at a line start, so the reader sees the same lines it would in the whole text
//! and the output is the same byte for byte. Line breaks are counted as miette counts them:
//! `\n`, `\r\n` and a lone `\r`.

use std::sync::Arc;

use miette::{MietteError, MietteSpanContents, SourceCode, SourceSpan, SpanContents};

/// A file's text and the byte offsets where its lines start.
#[derive(Debug, Clone)]
pub(super) struct Lined {
    text: Arc<str>,
    starts: Arc<[usize]>,
}

impl Lined {
    pub(super) fn new(text: Arc<str>) -> Lined {
        let bytes = text.as_bytes();
        let mut starts = vec![0];
        for (idx, byte) in bytes.iter().enumerate() {
            let breaks = match byte {
                b'\n' => true,
                b'\r' => bytes.get(idx + 1) != Some(&b'\n'),
                _ => false,
            };
            if breaks {
                starts.push(idx + 1);
            }
        }
        Lined {
            text,
            starts: starts.into(),
        }
    }

    /// The index of the line holding byte `offset`.
    fn line_of(&self, offset: usize) -> usize {
        match self.starts.binary_search(&offset) {
            Ok(line) => line,
            Err(next) => next.saturating_sub(1),
        }
    }
}

impl SourceCode for Lined {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let first_line = self
            .line_of(span.offset())
            .saturating_sub(context_lines_before + 1);
        let last_line = self.line_of(span.offset() + span.len()) + context_lines_after + 2;
        let window_start = self.starts[first_line];
        let window_end = self
            .starts
            .get(last_line)
            .copied()
            .unwrap_or(self.text.len());
        let window = &self.text.as_bytes()[window_start..window_end];
        let inner = SourceSpan::new(
            span.offset().saturating_sub(window_start).into(),
            span.len(),
        );
        let contents = window.read_span(&inner, context_lines_before, context_lines_after)?;
        Ok(Box::new(MietteSpanContents::new(
            contents.data(),
            SourceSpan::new(
                (contents.span().offset() + window_start).into(),
                contents.span().len(),
            ),
            contents.line() + first_line,
            contents.column(),
            contents.line_count() + first_line,
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Read = (Vec<u8>, usize, usize, usize, usize, usize);

    fn read(source: &dyn SourceCode, span: SourceSpan, around: usize) -> Read {
        let contents = source.read_span(&span, around, around).unwrap();
        (
            contents.data().to_vec(),
            contents.span().offset(),
            contents.span().len(),
            contents.line(),
            contents.column(),
            contents.line_count(),
        )
    }

    #[test]
    fn every_span_reads_as_miette_reads_it() {
        let text = "a: 1\nbb: [2,\r\n  3]\rc: \"é\"\n\nlast: x";
        for start in 0..text.len() {
            for len in 0..4.min(text.len() - start) {
                for around in 0..3 {
                    let span = SourceSpan::new(start.into(), len);
                    // miette's own reader is the reference.
                    assert_eq!(
                        read(&Lined::new(Arc::from(text)), span, around),
                        read(&text, span, around),
                        "span {start}+{len}, {around} lines around"
                    );
                }
            }
        }
    }
}
