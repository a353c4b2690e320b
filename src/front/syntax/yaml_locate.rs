//! Finds the byte ranges of JSON Pointer targets in YAML text, from one pass over the parser's
//! event stream.
//!
//! granit-parser reports byte offsets for every event, so this walks events once while keeping
//! the pointer path of the current node, and records every node whose path is wanted; it stops
//! when all are found. Aliases count as leaf nodes: a pointer into an aliased structure
//! resolves to the alias.

use std::collections::{BTreeMap, BTreeSet};

use serde_saphyr::granit_parser::{Event, Parser};

use super::NodeSpan;

enum Frame {
    Map {
        /// The key scalar read and waiting for its value, with its byte range.
        pending_key: Option<(String, std::ops::Range<usize>)>,
    },
    Seq {
        next: usize,
    },
    /// A collection used as a mapping key: its content is never addressed by a pointer.
    ComplexKey,
}

/// The nodes at `wanted` paths (token lists), by path. A path that is not in the text, or
/// that lies past a point the parser cannot read, is absent.
pub(super) fn locate_all(
    text: &str,
    wanted: &BTreeSet<Vec<String>>,
) -> BTreeMap<Vec<String>, NodeSpan> {
    let mut found = BTreeMap::new();
    // `None` means the parser gave up; what was found before that point stands.
    let _ = scan(text, wanted, &mut found);
    found
}

fn scan(
    text: &str,
    wanted: &BTreeSet<Vec<String>>,
    found: &mut BTreeMap<Vec<String>, NodeSpan>,
) -> Option<()> {
    let mut stack: Vec<Frame> = Vec::new();
    // Path tokens of the open collections, excluding the root.
    let mut path: Vec<String> = Vec::new();
    let mut documents = 0;

    for item in Parser::new_from_str(text) {
        if found.len() == wanted.len() {
            return Some(());
        }
        let (event, span) = item.ok()?;
        let start = span.start.byte_offset()?;
        let end = span.end.byte_offset()?.max(start);
        let is_collection_start =
            matches!(event, Event::MappingStart(..) | Event::SequenceStart(..));
        match event {
            Event::DocumentStart(..) => {
                documents += 1;
                if documents > 1 {
                    return None;
                }
                continue;
            }
            Event::MappingEnd | Event::SequenceEnd => {
                match stack.pop()? {
                    Frame::ComplexKey => {}
                    _ => {
                        // Closing a container that was a mapping value consumes its key.
                        if !stack.is_empty() {
                            path.pop();
                        }
                        if let Some(Frame::Map { pending_key }) = stack.last_mut() {
                            *pending_key = None;
                        }
                    }
                }
                continue;
            }
            Event::Scalar(..)
            | Event::Alias(..)
            | Event::MappingStart(..)
            | Event::SequenceStart(..) => {}
            _ => continue,
        }

        // A node: decide which member of its parent it is.
        let (token, key_range) = match stack.last_mut() {
            None => (None, None),
            Some(Frame::ComplexKey) => {
                if is_collection_start {
                    stack.push(Frame::ComplexKey);
                }
                continue;
            }
            Some(Frame::Seq { next }) => {
                let token = next.to_string();
                *next += 1;
                (Some(token), None)
            }
            Some(Frame::Map { pending_key }) => match pending_key.take() {
                None => {
                    // This node is a key.
                    match &event {
                        Event::Scalar(value, ..) => {
                            *pending_key = Some((value.to_string(), start..end));
                        }
                        _ if is_collection_start => {
                            *pending_key = Some((String::new(), start..end));
                            stack.push(Frame::ComplexKey);
                        }
                        _ => *pending_key = Some((String::new(), start..end)),
                    }
                    continue;
                }
                Some((key, range)) => (Some(key), Some(range)),
            },
        };

        if let Some(token) = &token {
            path.push(token.clone());
        }
        if wanted.contains(&path) && !found.contains_key(&path) {
            let value = if is_collection_start {
                start..(start + 1).min(text.len()).max(start)
            } else {
                start..end
            };
            found.insert(
                path.clone(),
                NodeSpan {
                    key: key_range,
                    value,
                },
            );
        }
        if is_collection_start {
            stack.push(match event {
                Event::MappingStart(..) => Frame::Map { pending_key: None },
                _ => Frame::Seq { next: 0 },
            });
        } else if token.is_some() {
            path.pop();
        }
    }
    Some(())
}
