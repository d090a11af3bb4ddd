//! `--format html`: one self-contained HTML file that replays a run in the
//! browser, step by step. The words on the page are the transcript's own,
//! drawn here by the same renderer, a block per step; the page steps
//! through them, marks the step's line in the lesson, and shows the
//! sockets as they were. The run's JSON events ride along, for tools.

use super::{Transcript, TranscriptOptions};
use crate::event::Event;
use crate::lesson::Lesson;
use serde::Serialize;

/// The page, with its style and script: no network, no fonts or scripts
/// from elsewhere.
const TEMPLATE: &str = include_str!("player.html");

/// One step of the run as the page shows it.
#[derive(Serialize)]
struct Frame {
    /// The step number of the call this step made (none for an actor's
    /// exit or a timer).
    step: Option<usize>,
    /// The lesson's line of that step.
    line: Option<usize>,
    /// The transcript's lines for this step.
    text: String,
    /// Every socket as the kernel reported them after it.
    table: String,
    /// RFC 9293's state diagram: each TCP socket at its state, the hops
    /// this step took drawn heavy.
    diagram: String,
    /// The step's narration.
    narration: String,
    /// A deadlock, a crash or an expectation not met.
    alert: bool,
    /// The step's events, as `--format json` writes them.
    events: Vec<serde_json::Value>,
}

#[derive(Serialize)]
struct Page {
    title: String,
    /// The transcript's lines before the first step: title, goal, the
    /// actors' columns, the introduction.
    header: String,
    /// The lesson's text, a line each (none for a trace).
    source: Vec<String>,
    /// The narration before the first step.
    intro: String,
    frames: Vec<Frame>,
    header_events: Vec<serde_json::Value>,
}

/// Collects a run's events and writes the page.
pub struct Player {
    transcript: Transcript,
    json: crate::json::Json,
    lines: Vec<usize>,
    page: Page,
    actors: Vec<String>,
    /// The sockets as last reported, for a step that reports none.
    sockets: Vec<crate::sock::Socket>,
    /// Whether the run's JSON events go into the page (they carry the
    /// kernel's own port numbers, which differ run to run).
    with_events: bool,
}

impl Player {
    /// For `lesson` (none for a trace); `width`: the transcript's columns.
    pub fn new(lesson: Option<&Lesson>, width: usize) -> Player {
        Player {
            transcript: Transcript::new(TranscriptOptions {
                color: false,
                stable: true,
                width,
                packets: true,
                sockets: false,
                // The narration has a pane of its own.
                narration: false,
            }),
            json: crate::json::Json::new(),
            lines: lesson
                .map(|l| l.steps.iter().map(|s| s.line).collect())
                .unwrap_or_default(),
            page: Page {
                title: lesson.map(|l| l.title.clone()).unwrap_or_default(),
                header: String::new(),
                source: lesson
                    .map(|l| l.source.lines().map(String::from).collect())
                    .unwrap_or_default(),
                frames: Vec::new(),
                header_events: Vec::new(),
                intro: String::new(),
            },
            with_events: true,
            actors: Vec::new(),
            sockets: Vec::new(),
        }
    }

    /// A page without the run's JSON events: the same every run, as the
    /// book keeps it.
    pub fn without_events(mut self) -> Player {
        self.with_events = false;
        self
    }

    fn json(&mut self, events: &[Event]) -> Vec<serde_json::Value> {
        if !self.with_events {
            return Vec::new();
        }
        self.json
            .events(events)
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    /// The run's opening events (its header), or one step's.
    pub fn events(&mut self, events: &[Event]) {
        if events.iter().any(|e| matches!(e, Event::Start { .. })) {
            if let Some(Event::Start { title, actors, .. }) =
                events.iter().find(|e| matches!(e, Event::Start { .. }))
            {
                if self.page.title.is_empty() {
                    self.page.title = title.clone();
                }
                self.actors = actors.clone();
            }
            self.page.header.push_str(&self.transcript.events(events));
            for e in events {
                if let Event::Intro { lines } = e {
                    self.page.intro = lines.join("\n");
                }
            }
            let j = self.json(events);
            self.page.header_events.extend(j);
            return;
        }
        let step = events.iter().find_map(|e| match e {
            Event::Call { step, .. }
            | Event::Crashed { step, .. }
            | Event::Mismatch { step, .. } => Some(*step),
            _ => None,
        });
        let table = events
            .iter()
            .rev()
            .find_map(|e| match e {
                Event::Table { sockets } => Some(table(&self.transcript.table_text(sockets))),
                _ => None,
            })
            .or_else(|| self.page.frames.last().map(|f| f.table.clone()))
            .unwrap_or_default();
        let narration: Vec<String> = events
            .iter()
            .filter_map(|e| match e {
                Event::Narration { lines, .. } | Event::Section { lines, .. } => {
                    Some(lines.join("\n"))
                }
                _ => None,
            })
            .collect();
        let alert = events.iter().any(|e| {
            matches!(
                e,
                Event::Deadlock { .. }
                    | Event::ExpectFailed { .. }
                    | Event::Mismatch { .. }
                    | Event::Crashed {
                        expected: false,
                        ..
                    }
            )
        });
        for e in events {
            match e {
                Event::Table { sockets } => self.sockets = sockets.clone(),
                Event::Joined { actor, name, .. } => {
                    if self.actors.len() <= *actor {
                        self.actors.resize(*actor + 1, String::new());
                    }
                    self.actors[*actor] = name.clone();
                }
                _ => {}
            }
        }
        let transitions = super::diagram::transitions_of(events);
        let drawn = super::diagram::of_run(&self.sockets, &transitions, &self.actors);
        let diagram = format!("{}{}", drawn.text(), drawn.undrawn_text());
        let text = self.transcript.events(events);
        let output_only = events.iter().all(|e| matches!(e, Event::Output { .. }));
        let events = self.json(events);
        // What a traced program printed belongs to the step it came in.
        if output_only && let Some(last) = self.page.frames.last_mut() {
            last.text.push_str(&text);
            last.events.extend(events);
            return;
        }
        // A step with nothing to show (a quiet exit) joins the one before.
        if text.trim().is_empty() && step.is_none() {
            return;
        }
        self.page.frames.push(Frame {
            step,
            line: step.and_then(|s| self.lines.get(s.wrapping_sub(1)).copied()),
            text,
            table,
            diagram,
            narration: narration.join("\n\n"),
            alert,
            events,
        });
    }

    /// `check`'s verdict, as the run's last step: done or not yet, and why.
    pub fn verdict(&mut self, text: &str, done: bool) {
        self.page.frames.push(Frame {
            step: None,
            line: None,
            text: format!("{text}\n"),
            table: self
                .page
                .frames
                .last()
                .map(|f| f.table.clone())
                .unwrap_or_default(),
            diagram: self
                .page
                .frames
                .last()
                .map(|f| f.diagram.clone())
                .unwrap_or_default(),
            narration: String::new(),
            alert: !done,
            events: Vec::new(),
        });
    }

    /// The page.
    pub fn html(&self) -> String {
        let data = serde_json::to_string(&self.page)
            .expect("the page serializes")
            // Inside <script>, `</` would end the element.
            .replace("</", "<\\/");
        TEMPLATE
            .replace("{{TITLE}}", &escape(&self.page.title))
            .replace("{{DATA}}", &data)
    }
}

/// The transcript's table without its heading (the page's pane has one),
/// moved to the left edge.
fn table(text: &str) -> String {
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .skip(1)
        .collect();
    let indent = lines
        .iter()
        .map(|l| l.len() - l.trim_start().len())
        .min()
        .unwrap_or(0);
    lines
        .iter()
        .map(|l| format!("{}\n", &l[indent.min(l.len())..]))
        .collect()
}

/// Text for HTML.
fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
