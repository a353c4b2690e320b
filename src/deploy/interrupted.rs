//! What an interrupted `plan` leaves in `generated/<domain>/`, finished or undone by the next
//! plan, so that a kill or a full disk never needs files deleted by hand.
//!
//! `migrations::write` writes the migration, the state and the sum under hidden pending names,
//! the sum last, then renames them into place. So a complete pending sum that matches the files
//! it names is a write that only has renames left: they are done now. Pending files without one
//! never reached their commit record: they are removed, and the folder is as it was.
//!
//! Older vnext wrote `NNNN_slug.tmp`, `state.tmp` and `vnext.tmp` and renamed each as soon as it
//! was written. Those leftovers are removed too, and a newest migration that the sum does not
//! record is judged by its header: when the state on disk is the one it leads to (its
//! `State after`) and the sum records the one it starts from (`State before`), only the sum was
//! missing and it is written; when the state is still the one it starts from, the file never
//! counted (apply refuses a folder whose sum lacks it) and it is removed, for plan to write
//! again. Anything else is a folder changed by hand, and is left for `verify` to report.

use std::path::Path;

use crate::base::hash::checksum;
use crate::deploy::migrations::{
    self, STATE_FILE, SUM_FILE, checksum_file, header_state_hashes, parse_name, pending_name, sum,
    sum_of, sync_dir, write_synced,
};

/// Finishes or undoes an interrupted write in `dir`; says what it did, one sentence each.
pub fn recover(dir: &Path) -> std::io::Result<Vec<String>> {
    let mut done = Vec::new();
    let names = match std::fs::read_dir(dir) {
        Ok(entries) => {
            let mut names: Vec<String> = entries
                .filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect();
            names.sort();
            names
        }
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(done),
        Err(err) => return Err(err),
    };
    let pending: Vec<&String> = names.iter().filter(|n| is_pending(n)).collect();
    let pending_sum = dir.join(pending_name(SUM_FILE));
    if pending_sum.is_file() && finish_renames(dir, &pending_sum)? {
        done.push(
            "finished writing the migration an interrupted vnext plan had prepared".to_owned(),
        );
    } else if !pending.is_empty() {
        for name in &pending {
            remove(&dir.join(name))?;
        }
        done.push(format!(
            "removed what an interrupted vnext plan had begun to write ({})",
            join(&pending)
        ));
    }
    let legacy: Vec<&String> = names.iter().filter(|n| is_legacy_leftover(n)).collect();
    if !legacy.is_empty() {
        for name in &legacy {
            remove(&dir.join(name))?;
        }
        done.push(format!(
            "removed what an interrupted vnext plan had begun to write ({})",
            join(&legacy)
        ));
    }
    done.extend(settle_unrecorded_newest(dir)?);
    Ok(done)
}

/// `.NNNN_slug.sql.tmp`, `.state.json.tmp`, `.vnext.sum.tmp`.
fn is_pending(name: &str) -> bool {
    name.strip_prefix('.')
        .and_then(|rest| rest.strip_suffix(".tmp"))
        .is_some_and(|file| file == STATE_FILE || file == SUM_FILE || parse_name(file).is_some())
}

/// What older vnext wrote before renaming: `NNNN_slug.tmp`, `state.tmp`, `vnext.tmp`.
fn is_legacy_leftover(name: &str) -> bool {
    name == "state.tmp"
        || name == "vnext.tmp"
        || name
            .strip_suffix(".tmp")
            .is_some_and(|stem| parse_name(&format!("{stem}.sql")).is_some())
}

fn join(names: &[&String]) -> String {
    names
        .iter()
        .map(|n| n.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn remove(path: &Path) -> std::io::Result<()> {
    match std::fs::remove_file(path) {
        Err(err) if err.kind() != std::io::ErrorKind::NotFound => Err(err),
        _ => Ok(()),
    }
}

/// Whether the folder's sum names its newest migration (or it has none): then no newest
/// migration lacks its line, which is all `settle_unrecorded_newest` looks for.
fn newest_is_recorded(dir: &Path) -> std::io::Result<bool> {
    let mut newest: Option<(u32, String)> = None;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if !entry.file_type().is_ok_and(|t| t.is_file()) {
            continue;
        }
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(number) = parse_name(&name)
            && newest.as_ref().is_none_or(|(n, _)| number > *n)
        {
            newest = Some((number, name));
        }
    }
    let Some((_, newest)) = newest else {
        return Ok(true);
    };
    let sum_text = match std::fs::read_to_string(dir.join(SUM_FILE)) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(err) => return Err(err),
    };
    Ok(recorded(&sum_text)
        .0
        .iter()
        .any(|(name, _)| *name == newest))
}

/// The migrations a sum records, in order: `(name, chained hash)`, and its state checksum.
fn recorded(sum_text: &str) -> (Vec<(String, String)>, Option<String>) {
    let mut files = Vec::new();
    let mut state = None;
    for line in sum_text.lines().skip(1) {
        let Some((name, hash)) = line.split_once(' ') else {
            continue;
        };
        if name == STATE_FILE {
            state = Some(hash.to_owned());
        } else if parse_name(name).is_some() {
            files.push((name.to_owned(), hash.to_owned()));
        }
    }
    (files, state)
}

/// Renames a prepared write into place when its pending sum matches the files it names (under
/// their final or pending names) and the state; whether it did.
fn finish_renames(dir: &Path, pending_sum: &Path) -> std::io::Result<bool> {
    let sum_text = std::fs::read_to_string(pending_sum)?;
    let state_path = |pending: bool| {
        dir.join(if pending {
            pending_name(STATE_FILE)
        } else {
            STATE_FILE.to_owned()
        })
    };
    let state_file = if state_path(true).is_file() {
        state_path(true)
    } else {
        state_path(false)
    };
    let Ok(state) = std::fs::read_to_string(&state_file) else {
        return Ok(false);
    };
    let mut entries = Vec::new();
    let mut renames = Vec::new();
    for (name, _) in recorded(&sum_text).0 {
        let (final_path, pending_path) = (dir.join(&name), dir.join(pending_name(&name)));
        let path = if pending_path.is_file() {
            renames.push((pending_path.clone(), final_path));
            pending_path
        } else if final_path.is_file() {
            final_path
        } else {
            return Ok(false);
        };
        entries.push((name, checksum_file(&path)?));
    }
    if sum_of(&entries, &state) != sum_text {
        return Ok(false);
    }
    if state_file != state_path(false) {
        renames.push((state_file, state_path(false)));
    }
    renames.push((pending_sum.to_path_buf(), dir.join(SUM_FILE)));
    for (from, to) in renames {
        std::fs::rename(from, to)?;
    }
    sync_dir(dir)?;
    Ok(true)
}

/// The older vnext's interruption between its renames: a newest migration the sum lacks.
fn settle_unrecorded_newest(dir: &Path) -> std::io::Result<Vec<String>> {
    if newest_is_recorded(dir)? {
        // Nothing below can apply (the sum's lines would have to be the earlier files' only):
        // the folder is not read and hashed for it, which would double a re-plan's reading.
        return Ok(Vec::new());
    }
    let folder = migrations::read(dir)?;
    if migrations::verify(&folder).is_empty() {
        return Ok(Vec::new());
    }
    let Some((newest, earlier)) = folder.files.split_last() else {
        return Ok(Vec::new());
    };
    let (Some(before), Some(after)) = header_state_hashes(&newest.read_text()?) else {
        return Ok(Vec::new());
    };
    let state = folder.state.as_deref().map(checksum);
    let (lines, recorded_state) = match folder.sum.as_deref() {
        Some(text) => recorded(text),
        None => (Vec::new(), None),
    };
    let chain: Vec<(String, String)> = recorded(&sum(earlier, "")).0.into_iter().collect();
    let earlier_recorded = lines == chain;
    let starts_where_recorded = match &recorded_state {
        Some(recorded) => *recorded == before,
        None => earlier.is_empty() && before == "empty",
    };
    if !(earlier_recorded && starts_where_recorded) {
        return Ok(Vec::new());
    }
    if state.as_deref() == Some(after.as_str()) {
        let pending = dir.join(pending_name(SUM_FILE));
        let text = sum(&folder.files, folder.state.as_deref().unwrap_or_default());
        write_synced(&pending, &text)?;
        std::fs::rename(&pending, dir.join(SUM_FILE))?;
        sync_dir(dir)?;
        return Ok(vec![format!(
            "recorded {} in {SUM_FILE}, which an interrupted vnext plan had written with its state",
            newest.name
        )]);
    }
    if state == recorded_state || (state.is_none() && before == "empty") {
        remove(&dir.join(&newest.name))?;
        sync_dir(dir)?;
        return Ok(vec![format!(
            "removed {}, which an interrupted vnext plan had written without its state (it is planned again)",
            newest.name
        )]);
    }
    Ok(Vec::new())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deploy::migrations::Folder;

    /// A folder with one migration, written as `write` writes it.
    fn folder_with_one(dir: &Path) -> Folder {
        let folder = Folder {
            dir: dir.to_path_buf(),
            ..Folder::default()
        };
        let text = "-- vnext migration 0001_a.sql\n-- State before: empty\n-- State after:  STATE1\n\nSELECT 1;\n";
        let state1 = "{\"one\":1}";
        let text = text.replace("STATE1", &checksum(state1));
        migrations::write(&folder, "0001_a.sql", state1, |sink| {
            sink.write_all(text.as_bytes())?;
            Ok(((), checksum(&text)))
        })
        .unwrap();
        migrations::read(dir).unwrap()
    }

    /// The second migration's text and state, starting from `folder`'s state.
    fn second(folder: &Folder) -> (String, String) {
        let state2 = "{\"two\":2}".to_owned();
        let text = format!(
            "-- vnext migration 0002_b.sql\n-- State before: {}\n-- State after:  {}\n\nSELECT 2;\n",
            checksum(folder.state.as_deref().unwrap()),
            checksum(&state2)
        );
        (text, state2)
    }

    fn write_second(folder: &Folder) -> Folder {
        let (text, state) = second(folder);
        migrations::write(folder, "0002_b.sql", &state, |sink| {
            sink.write_all(text.as_bytes())?;
            Ok(((), checksum(&text)))
        })
        .unwrap();
        migrations::read(&folder.dir).unwrap()
    }

    /// The folder's files as (name, checksum), and its state.
    fn contents(dir: &Path) -> (Vec<(String, String)>, Option<String>) {
        let folder = migrations::read(dir).unwrap();
        assert!(
            migrations::verify(&folder).is_empty(),
            "{:?}",
            migrations::verify(&folder)
        );
        let files = folder
            .files
            .iter()
            .map(|f| (f.name.clone(), f.checksum.clone()))
            .collect();
        (files, folder.state)
    }

    #[test]
    fn pending_files_without_their_sum_are_removed_and_with_it_renamed() {
        let temp = tempfile::tempdir().unwrap();
        let dir = temp.path();
        let one = folder_with_one(dir);
        let (text, state) = second(&one);
        let before = contents(dir);
        let written = write_second(&one);
        let after = contents(dir);
        let sum_text = written.sum.clone().unwrap();
        // Every point between the first pending file and the last rename: (file, renamed yet).
        let stages: [&[(&str, bool)]; 5] = [
            &[("0002_b.sql", false)],
            &[("0002_b.sql", false), (STATE_FILE, false)],
            &[
                ("0002_b.sql", false),
                (STATE_FILE, false),
                (SUM_FILE, false),
            ],
            &[("0002_b.sql", true), (STATE_FILE, false), (SUM_FILE, false)],
            &[("0002_b.sql", true), (STATE_FILE, true), (SUM_FILE, false)],
        ];
        for stage in stages {
            for entry in std::fs::read_dir(dir).unwrap() {
                std::fs::remove_file(entry.unwrap().path()).unwrap();
            }
            folder_with_one(dir);
            for (file, renamed) in stage {
                let content = match *file {
                    "0002_b.sql" => &text,
                    STATE_FILE => &state,
                    _ => &sum_text,
                };
                let name = if *renamed {
                    (*file).to_owned()
                } else {
                    pending_name(file)
                };
                std::fs::write(dir.join(name), content).unwrap();
            }
            let report = recover(dir).unwrap();
            assert!(!report.is_empty(), "{stage:?}");
            let with_sum = stage.iter().any(|(f, _)| *f == SUM_FILE);
            let expected = if with_sum { &after } else { &before };
            assert_eq!(&contents(dir), expected, "{stage:?}: {report:?}");
            let hidden = std::fs::read_dir(dir)
                .unwrap()
                .filter(|e| {
                    e.as_ref()
                        .unwrap()
                        .file_name()
                        .to_string_lossy()
                        .starts_with('.')
                })
                .count();
            assert_eq!(hidden, 0, "{stage:?}");
            // Nothing is left to do.
            assert!(recover(dir).unwrap().is_empty(), "{stage:?}");
        }
    }

    #[test]
    fn an_older_plans_leftovers_are_finished_or_undone() {
        let temp = tempfile::tempdir().unwrap();
        let dir = temp.path();
        let one = folder_with_one(dir);
        let (text, state) = second(&one);
        let sum_before = one.sum.clone().unwrap();
        // Renamed the migration, killed before the state: it is removed and planned again.
        std::fs::write(dir.join("0002_b.sql"), &text).unwrap();
        std::fs::write(dir.join("state.tmp"), "{\"tw").unwrap();
        let report = recover(dir).unwrap();
        assert_eq!(report.len(), 2, "{report:?}");
        let after = migrations::read(dir).unwrap();
        assert!(migrations::verify(&after).is_empty(), "{report:?}");
        assert_eq!(after.files.len(), 1);
        // Renamed the migration and the state, killed before the sum: the sum is written.
        std::fs::write(dir.join("0002_b.sql"), &text).unwrap();
        std::fs::write(dir.join(STATE_FILE), &state).unwrap();
        std::fs::write(dir.join("vnext.tmp"), "vnext-sum 1\n").unwrap();
        let report = recover(dir).unwrap();
        let after = migrations::read(dir).unwrap();
        assert!(migrations::verify(&after).is_empty(), "{report:?}");
        assert_eq!(after.files.len(), 2);
        assert_ne!(after.sum.unwrap(), sum_before);
        // An edit by hand is not mistaken for an interruption.
        std::fs::write(dir.join("0002_b.sql"), format!("{text}-- edited\n")).unwrap();
        let before = migrations::read(dir).unwrap();
        assert!(!migrations::verify(&before).is_empty());
        recover(dir).unwrap();
        assert!(!migrations::verify(&migrations::read(dir).unwrap()).is_empty());
    }
}
