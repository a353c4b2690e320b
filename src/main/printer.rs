//! The binary's printer of apply events: a line per event for people (a progress bar on a
//! terminal) or a JSON object per line, and where the apply stands, for the message a
//! SIGTERM gets.

use std::io::IsTerminal;

use vnext::command::report;

/// Prints apply events: a line per file (or per event with --format json), and a progress bar
/// on a terminal.
pub(super) struct EventPrinter {
    json: bool,
    bar: Option<indicatif::ProgressBar>,
    done_before: u64,
    /// Where the apply is, for the message when it is stopped: the file running, the steps it
    /// finished of how many.
    file: Option<String>,
    step: usize,
    steps: usize,
}

impl EventPrinter {
    pub(super) fn new(json: bool) -> EventPrinter {
        EventPrinter {
            json,
            bar: None,
            done_before: 0,
            file: None,
            step: 0,
            steps: 0,
        }
    }

    fn line(&self, text: &str) {
        if super::global().quiet {
            return;
        }
        match &self.bar {
            Some(bar) => bar.println(text),
            None => eprintln!("{text}"),
        }
    }

    pub(super) fn event(&mut self, event: vnext::pg::events::Event) {
        use vnext::pg::events::Event;
        self.track(&event);
        if self.json {
            super::print(&report::event_json(&event));
            return;
        }
        if let Some(line) = report::event_line(&event) {
            self.line(&line);
        }
        match event {
            Event::Pending { files } => {
                let total: usize = files.iter().map(|f| f.statements - f.resume_at).sum();
                if std::io::stderr().is_terminal()
                    && total > 0
                    && !super::global().quiet
                    && !super::global().verbose
                {
                    let bar = indicatif::ProgressBar::new(u64::try_from(total).unwrap_or(u64::MAX));
                    bar.set_style(
                        indicatif::ProgressStyle::with_template(
                            "{bar:40} {pos}/{len} statements, {elapsed} {msg}",
                        )
                        .expect("the template is valid"),
                    );
                    self.bar = Some(bar);
                }
            }
            Event::FileStarted { file, .. } => {
                if let Some(bar) = &self.bar {
                    bar.set_message(file);
                }
            }
            Event::StepFinished {
                statements_done, ..
            } => {
                if let Some(bar) = &self.bar {
                    let done = u64::try_from(statements_done).unwrap_or(u64::MAX);
                    bar.set_position(self.done_before + done);
                }
            }
            Event::FileFinished { .. } => {
                if let Some(bar) = &self.bar {
                    self.done_before = bar.position();
                }
            }
            _ => {}
        }
    }

    fn track(&mut self, event: &vnext::pg::events::Event) {
        use vnext::pg::events::Event;
        match event {
            Event::FileStarted { file, steps, .. } => {
                self.file = Some(file.clone());
                self.step = 0;
                self.steps = *steps;
            }
            Event::StepFinished { step, .. } => self.step = *step,
            Event::FileFinished { .. } => self.file = None,
            _ => {}
        }
    }

    /// What to say when a signal stopped the apply: where it was, and that the next apply
    /// resumes. A step sent to the server as one batch may still commit with its history row
    /// after the connection is gone; either way the history says what committed.
    pub(super) fn stopped(&self, signal: &str) -> String {
        let at = match &self.file {
            Some(file) => format!(
                "in {file}, after step {} of {} (step {} was running)",
                self.step,
                self.steps,
                self.step + 1
            ),
            None => "between files".to_owned(),
        };
        format!(
            "vnext apply stopped by {signal} {at}. What committed stays committed, each step together with its history row; the step that was running is rolled back by the server, or commits whole if the server had it all. Run vnext apply again: it reads the history and resumes after the last step that committed."
        )
    }

    pub(super) fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}
