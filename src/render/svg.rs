//! `--format svg`: the whole run as one sequence diagram, for slides and
//! print. A lifeline per actor; each call a box at its step with its result
//! (the transcript's own words, drawn by the same renderer); a call that
//! waits, a bracket from where it blocked to where it returned; packets as
//! arrows between the lifelines with their flags and sequence numbers;
//! state changes as small labels on the lifeline; a deadlock or a failure
//! as a boxed line across. Black on white, no colour, text as text.

use super::{Transcript, TranscriptOptions};
use crate::event::Event;
use std::collections::HashMap;
use std::fmt::Write;

const COL: usize = 320;
const LEFT: usize = 60;
const TOP: usize = 70;
const CHAR: f64 = 7.2;
const LINE: usize = 15;

enum Item {
    /// A call: its step's line, and the lines under it.
    Call {
        actor: usize,
        y: usize,
        text: String,
        notes: Vec<String>,
        failed: bool,
    },
    Arrow {
        from: Option<usize>,
        to: Option<usize>,
        y: usize,
        label: String,
    },
    State {
        actor: usize,
        y: usize,
        text: String,
    },
    /// A call that waited, from where it blocked to where it returned.
    Wait {
        actor: usize,
        from: usize,
        to: usize,
    },
    /// A deadlock, a crash, an expectation not met: lines across.
    Banner { y: usize, lines: Vec<String> },
}

/// Collects a run's events and draws the diagram.
pub struct Svg {
    transcript: Transcript,
    title: String,
    actors: Vec<String>,
    items: Vec<Item>,
    y: usize,
    waiting: HashMap<(usize, usize), usize>,
}

impl Default for Svg {
    fn default() -> Svg {
        Svg::new()
    }
}

impl Svg {
    pub fn new() -> Svg {
        Svg {
            transcript: Transcript::new(TranscriptOptions {
                color: false,
                stable: true,
                width: 400,
                packets: true,
                sockets: false,
                narration: false,
            }),
            title: String::new(),
            actors: Vec::new(),
            items: Vec::new(),
            y: TOP,
            waiting: HashMap::new(),
        }
    }

    /// The transcript's lines for one event, trimmed.
    fn lines(&mut self, e: &Event) -> Vec<String> {
        self.transcript
            .events(std::slice::from_ref(e))
            .lines()
            .map(|l| l.trim().to_string())
            .filter(|l| !l.is_empty())
            .collect()
    }

    pub fn events(&mut self, events: &[Event]) {
        for e in events {
            match e {
                Event::Start { title, actors, .. } => {
                    self.title = title.clone();
                    self.actors = actors.clone();
                    self.lines(e);
                }
                Event::Joined { actor, name, .. } => {
                    if self.actors.len() <= *actor {
                        self.actors.resize(*actor + 1, String::new());
                    }
                    self.actors[*actor] = name.clone();
                    self.lines(e);
                }
                Event::Call {
                    step,
                    actor,
                    outcome,
                    ..
                }
                | Event::Completed {
                    step,
                    actor,
                    outcome,
                    ..
                } => {
                    let lines = self.lines(e);
                    let (first, notes) = match lines.split_first() {
                        Some((f, n)) => (f.clone(), n.to_vec()),
                        None => continue,
                    };
                    // The step's number, then the call: without the room
                    // between them that puts the call in its column.
                    let first = match first.split_once(char::is_whitespace) {
                        Some((number, call)) => format!("{number}  {}", call.trim()),
                        None => first,
                    };
                    let y = self.y;
                    let blocked = matches!(outcome, crate::event::Outcome::Blocked { .. });
                    if blocked {
                        self.waiting.insert((*actor, *step), y);
                    } else if let Some(from) = self.waiting.remove(&(*actor, *step)) {
                        self.items.push(Item::Wait {
                            actor: *actor,
                            from,
                            to: y,
                        });
                    }
                    // Notes are the call's own lines (its fds, its errno, its
                    // wait), not the state changes that follow.
                    let notes: Vec<String> = notes
                        .into_iter()
                        .take_while(|l| !l.starts_with('◆'))
                        .take(3)
                        .collect();
                    self.y += 24 + notes.len() * LINE;
                    self.items.push(Item::Call {
                        actor: *actor,
                        y,
                        text: first,
                        notes,
                        failed: matches!(outcome, crate::event::Outcome::Failed { .. }),
                    });
                }
                Event::Packets { packets } => {
                    let lines = self.lines(e);
                    // The transcript cuts a bulk transfer short: so does
                    // the picture.
                    if lines.len() != packets.len() {
                        self.items.push(Item::Banner {
                            y: self.y,
                            lines: lines.into_iter().take(2).collect(),
                        });
                        self.y += 30;
                        continue;
                    }
                    for (p, line) in packets.iter().zip(lines) {
                        let label = line
                            .trim_matches(|c: char| matches!(c, '◀' | '▶' | '─' | ' '))
                            .to_string();
                        self.items.push(Item::Arrow {
                            from: p.from,
                            to: p.to,
                            y: self.y,
                            label,
                        });
                        self.y += 26;
                    }
                }
                Event::States { transitions } => {
                    self.lines(e);
                    for t in transitions {
                        let Some(s) = t.after.as_ref().or(t.before.as_ref()) else {
                            continue;
                        };
                        let Some(actor) = s.holder.actor() else {
                            continue;
                        };
                        let fd = s
                            .fd()
                            .map(|f| format!("fd {}", f.fd))
                            .unwrap_or("no fd".into());
                        let words = self.transcript.words();
                        let after = match &t.after {
                            Some(a) => words.state_of(a),
                            None => "gone".into(),
                        };
                        let state = match &t.before {
                            Some(b) if words.state_of(b) != after => {
                                format!("{} → {after}", words.state_of(b))
                            }
                            _ => after,
                        };
                        self.items.push(Item::State {
                            actor,
                            y: self.y,
                            text: format!("{fd}: {state}"),
                        });
                        self.y += LINE;
                    }
                }
                Event::Deadlock { .. }
                | Event::Crashed { .. }
                | Event::ExpectFailed { .. }
                | Event::Mismatch { .. }
                | Event::NotRun { .. } => {
                    let lines = self.lines(e);
                    if lines.is_empty() {
                        continue;
                    }
                    let y = self.y;
                    self.y += 16 + lines.len() * LINE;
                    self.items.push(Item::Banner { y, lines });
                }
                _ => {
                    self.lines(e);
                }
            }
        }
    }

    fn x(&self, actor: usize) -> usize {
        LEFT + COL / 2 + actor * COL
    }

    /// The SVG document.
    pub fn finish(&self) -> String {
        // Room on the right for the last lifeline's state labels.
        let width = LEFT * 2 + COL * self.actors.len().max(1) + 100;
        let height = self.y + 40;
        let mut s = String::new();
        let _ = writeln!(
            s,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="DejaVu Sans Mono, Menlo, Consolas, monospace" font-size="12">"#
        );
        let _ = writeln!(
            s,
            r#"<title>{}</title>
<rect width="100%" height="100%" fill="white"/>
<defs><marker id="head" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="black"/></marker></defs>"#,
            esc(&self.title)
        );
        let _ = writeln!(
            s,
            r#"<text x="{LEFT}" y="24" font-size="15" font-weight="bold">{}</text>"#,
            esc(&self.title)
        );
        for (i, a) in self.actors.iter().enumerate() {
            let x = self.x(i);
            let _ = writeln!(
                s,
                r#"<g class="actor"><text x="{x}" y="52" text-anchor="middle" font-weight="bold" font-size="14">{}</text><line x1="{x}" y1="58" x2="{x}" y2="{}" stroke="black" stroke-dasharray="4 4"/></g>"#,
                esc(a),
                height - 20
            );
        }
        for item in &self.items {
            match item {
                Item::Wait { actor, from, to } => {
                    let x = self.x(*actor) - 6;
                    let _ = writeln!(
                        s,
                        r#"<path class="wait" d="M{} {from} H{x} V{to} H{}" fill="none" stroke="black" stroke-width="3"/>"#,
                        x + 6,
                        x + 6
                    );
                }
                Item::Call {
                    actor,
                    y,
                    text,
                    notes,
                    failed,
                } => {
                    let x = self.x(*actor);
                    let w = (text.chars().count() as f64 * CHAR + 12.0).round() as usize;
                    let left = x.saturating_sub(w / 2);
                    let dash = if *failed {
                        r#" stroke-dasharray="6 3""#
                    } else {
                        ""
                    };
                    let _ = writeln!(
                        s,
                        r#"<g class="call"><rect x="{left}" y="{}" width="{w}" height="20" fill="white" stroke="black"{dash}/><text x="{x}" y="{}" text-anchor="middle">{}</text>"#,
                        y,
                        y + 14,
                        esc(text)
                    );
                    for (k, n) in notes.iter().enumerate() {
                        let _ = writeln!(
                            s,
                            r#"<text x="{x}" y="{}" text-anchor="middle" font-size="11">{}</text>"#,
                            y + 20 + (k + 1) * LINE - 3,
                            esc(n)
                        );
                    }
                    s.push_str("</g>\n");
                }
                Item::Arrow { from, to, y, label } => {
                    // A packet with no actor at an end comes from or goes to
                    // the edge of the picture on the side it is missing.
                    let (x1, x2) = match (from, to) {
                        (Some(f), Some(t)) if f != t => (self.x(*f), self.x(*t)),
                        (Some(f), Some(_)) => (self.x(*f), self.x(*f) + 60),
                        (Some(f), None) => (self.x(*f), self.x(*f) + COL / 2),
                        (None, Some(t)) => (self.x(*t) + COL / 2, self.x(*t)),
                        (None, None) => (LEFT, LEFT + COL / 2),
                    };
                    let mid = (x1 + x2) / 2;
                    let _ = writeln!(
                        s,
                        r#"<g class="packet"><line x1="{x1}" y1="{}" x2="{x2}" y2="{}" stroke="black" marker-end="url(#head)"/><text x="{mid}" y="{}" text-anchor="middle" font-size="11">{}</text></g>"#,
                        y + 16,
                        y + 16,
                        y + 11,
                        esc(label)
                    );
                }
                Item::State { actor, y, text } => {
                    let _ = writeln!(
                        s,
                        r#"<text class="state" x="{}" y="{}" font-size="10" font-style="italic">◆ {}</text>"#,
                        self.x(*actor) + 6,
                        y + 11,
                        esc(text)
                    );
                }
                Item::Banner { y, lines } => {
                    let h = 8 + lines.len() * LINE;
                    let _ = writeln!(
                        s,
                        r#"<g class="banner"><rect x="{}" y="{y}" width="{}" height="{h}" fill="white" stroke="black" stroke-width="2"/>"#,
                        LEFT / 2,
                        width - LEFT
                    );
                    for (k, l) in lines.iter().enumerate() {
                        let _ = writeln!(
                            s,
                            r#"<text x="{}" y="{}" font-weight="bold">{}</text>"#,
                            LEFT,
                            y + (k + 1) * LINE,
                            esc(l)
                        );
                    }
                    s.push_str("</g>\n");
                }
            }
        }
        s.push_str("</svg>\n");
        s
    }
}

/// Text for XML.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
