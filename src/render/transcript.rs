//! The transcript: a ladder with one column per actor, a row per event.
//!
//! ```text
//!   5  c = accept(3)
//!        blocks: no connection is waiting to be accepted
//!   6                                         s = socket(AF_INET, SOCK_STREAM, 0) = 3
//! ```

use super::words::{self, Words};
use super::{Names, format_call, quote_bytes};
use crate::call::{Addr, Call};
use crate::errno::errno_name;
use crate::event::{Asleep, Event, Outcome, Waiting};
use crate::explain::Why;
use crate::wire::FdState;
use owo_colors::{OwoColorize, Style};
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// Where the step numbers go; actor columns start after it.
pub(super) const GUTTER: usize = 6;

#[derive(Debug, Clone)]
pub struct TranscriptOptions {
    pub color: bool,
    /// Ephemeral ports by stable names, so runs compare byte for byte.
    pub stable: bool,
    /// Total width in columns.
    pub width: usize,
    /// Draw the packets that cross loopback.
    pub packets: bool,
    /// Draw the table of every socket after every step, not only at the end.
    pub sockets: bool,
    /// Draw the lesson's narration (the full-screen view has a pane for it).
    pub narration: bool,
}

impl TranscriptOptions {
    /// The transcript as tests, the book and `check` print it: stable
    /// names, no colour, 80 columns, everything shown.
    pub fn stable_plain() -> TranscriptOptions {
        TranscriptOptions {
            color: false,
            stable: true,
            width: 80,
            packets: true,
            sockets: false,
            narration: true,
        }
    }
}

/// How a call line is drawn: its gutter, its actor's column, its text.
struct Shown<'a> {
    gutter: &'a str,
    actor: usize,
    text: String,
    completed: bool,
}

pub struct Transcript {
    pub(super) opts: TranscriptOptions,
    pub(super) actors: Vec<String>,
    /// The hosts of the run; none on one machine.
    hosts: Vec<crate::event::HostInfo>,
    /// Programs traced, not a lesson run.
    traced: bool,
    names: Names,
    pub(super) kernel: super::kernel::KernelView,
    /// The last table of sockets, drawn at the end of the run.
    last_table: Vec<crate::sock::Socket>,
}

impl Transcript {
    pub fn new(opts: TranscriptOptions) -> Transcript {
        Transcript {
            opts,
            actors: Vec::new(),
            hosts: Vec::new(),
            traced: false,
            names: Names::default(),
            kernel: Default::default(),
            last_table: Vec::new(),
        }
    }

    /// How addresses are named in this transcript (eph1 for an ephemeral
    /// port in stable output).
    pub fn names(&self) -> &Names {
        &self.names
    }

    /// The words, with this transcript's names for addresses and actors.
    pub fn words(&self) -> Words<'_> {
        Words {
            names: &self.names,
            actors: &self.actors,
            hosts: &self.hosts,
            traced: self.traced,
            stable: self.opts.stable,
        }
    }

    /// Draws the events of one step.
    pub fn events(&mut self, events: &[Event]) -> String {
        let mut out = String::new();
        for e in events {
            self.event(e, &mut out);
        }
        out
    }

    /// The table of every socket, as the transcript draws it.
    pub fn table_text(&self, sockets: &[crate::sock::Socket]) -> String {
        let mut out = String::new();
        self.table(&mut out, sockets);
        out
    }

    /// Where actor `actor`'s column starts. The last column starts where
    /// a call and its result still fit on one line, at most at the middle.
    pub(super) fn col(&self, actor: usize) -> usize {
        let n = self.actors.len().max(1);
        if n == 1 {
            return GUTTER;
        }
        let w = self.opts.width;
        let last = w.saturating_sub(42).min((w + GUTTER) / 2).max(GUTTER + 20);
        GUTTER + actor * (last - GUTTER) / (n - 1)
    }

    /// Where the notes under a call of `actor` start.
    fn note_col(&self, actor: usize) -> usize {
        self.col(actor) + 2
    }

    pub(super) fn paint(&self, text: &str, style: Style) -> String {
        if self.opts.color {
            text.style(style).to_string()
        } else {
            text.to_string()
        }
    }

    fn actor_style(&self, actor: usize) -> Style {
        const COLORS: [fn(Style) -> Style; 4] =
            [Style::cyan, Style::magenta, Style::yellow, Style::green];
        COLORS[actor % COLORS.len()](Style::new()).bold()
    }

    /// Writes `text` at column `col`, wrapped at the width, each line styled;
    /// `gutter` goes before the first line.
    pub(super) fn put(&self, out: &mut String, gutter: &str, col: usize, text: &str, style: Style) {
        let room = self.opts.width.saturating_sub(col).max(20);
        for (i, line) in wrap(text, room).iter().enumerate() {
            let g = if i == 0 { gutter } else { "" };
            let pad = col.saturating_sub(g.chars().count());
            out.push_str(&self.paint(g, Style::new().dimmed()));
            out.push_str(&" ".repeat(pad));
            out.push_str(&self.paint(line, style));
            out.push('\n');
        }
    }

    /// A note under a call of `actor`.
    fn note(&self, out: &mut String, actor: usize, text: &str, style: Style) {
        self.put(out, "", self.note_col(actor), text, style);
    }

    /// The actors' names over their columns, and a rule under them.
    fn header(&self, out: &mut String) {
        let mut head = String::new();
        let mut shown = 0;
        let mut rule = String::new();
        for (i, a) in self.actors.iter().enumerate() {
            // A name longer than its column is cut to fit.
            let room = if i + 1 < self.actors.len() {
                self.col(i + 1).saturating_sub(self.col(i) + 2)
            } else {
                self.opts.width.saturating_sub(self.col(i))
            };
            let name = wrap(a, room.max(1)).swap_remove(0);
            head.push_str(&" ".repeat(self.col(i).saturating_sub(shown)));
            head.push_str(&self.paint(&name, self.actor_style(i)));
            shown = self.col(i) + cols(&name);
            let end = if i + 1 < self.actors.len() {
                self.col(i + 1).saturating_sub(2)
            } else {
                self.opts.width
            };
            rule.push_str(&" ".repeat(self.col(i).saturating_sub(rule.chars().count())));
            rule.push_str(&"─".repeat(end.saturating_sub(self.col(i))));
        }
        out.push_str(head.trim_end());
        out.push('\n');
        out.push_str(&self.paint(&rule, Style::new().dimmed()));
        out.push('\n');
    }

    fn step_gutter(step: usize) -> String {
        format!("{step:>4}")
    }

    fn event(&mut self, e: &Event, out: &mut String) {
        match e {
            Event::Narration { .. } | Event::Section { .. } | Event::Intro { .. }
                if !self.opts.narration => {}
            Event::Start {
                title,
                path,
                goal,
                actors,
                ports,
                remapped,
                rooted_paths,
                hosts,
                traced,
                programs,
                ..
            } => {
                self.actors = actors.clone();
                self.hosts = hosts.clone();
                self.traced = traced.is_some();
                self.names = Names::new(ports, remapped, self.opts.stable).with_range(*traced);
                out.push_str(&self.paint(&format!("sockstep ▸ {title}"), Style::new().bold()));
                out.push_str(&self.paint(&format!("  ({path})"), Style::new().dimmed()));
                out.push('\n');
                if let Some(goal) = goal {
                    self.put(out, "", 0, &format!("goal: {goal}"), Style::new());
                }
                if !hosts.is_empty() {
                    let line = self.words().hosts_line();
                    self.put(out, "", 0, &line, Style::new());
                }
                for (actor, program) in programs {
                    let line = self.words().program_line(*actor, program);
                    self.put(out, "", 0, &line, Style::new());
                }
                out.push('\n');
                self.header(out);
                if *rooted_paths {
                    self.put(out, "", GUTTER, words::ROOTED_PATHS, Style::new().dimmed());
                }
            }
            Event::Section { lines, .. } => {
                out.push('\n');
                for para in paragraphs(lines) {
                    self.put(out, "", GUTTER, &para, Style::new().italic());
                }
                out.push('\n');
            }
            Event::Intro { lines } => {
                for para in paragraphs(lines) {
                    self.put(out, "", GUTTER, &para, Style::new().italic());
                }
                out.push('\n');
            }
            Event::Call {
                step,
                actor,
                binding,
                call,
                outcome,
                fds,
                why,
            }
            | Event::Completed {
                step,
                actor,
                binding,
                call,
                outcome,
                fds,
                why,
            } => {
                let completed = matches!(e, Event::Completed { .. });
                let gutter = if completed {
                    format!("{:>4}", format!("↳{step}"))
                } else {
                    Self::step_gutter(*step)
                };
                let mut text = format_call(call, &self.names);
                if let Some(b) = binding {
                    text = format!("{b} = {text}");
                }
                let how = Shown {
                    gutter: &gutter,
                    actor: *actor,
                    text,
                    completed,
                };
                self.outcome(out, &how, call, outcome, why.as_ref());
                self.fds(out, *actor, fds);
            }
            Event::Narration { lines, .. } => {
                for para in paragraphs(lines) {
                    for line in wrap(&para, self.opts.width.saturating_sub(GUTTER + 2)) {
                        out.push_str(&" ".repeat(GUTTER));
                        out.push_str(&self.paint(&format!("┆ {line}"), Style::new().italic()));
                        out.push('\n');
                    }
                }
            }
            Event::ExpectFailed {
                actor,
                expected,
                got,
                ..
            } => {
                let text = words::expect_failed(expected, got, &self.names);
                self.note(out, *actor, &text, Style::new().red().bold());
            }
            Event::Mismatch {
                step,
                actor,
                expected,
                made,
                signal,
                code,
            } => {
                let text = match made {
                    Some(m) => format_call(m, &self.names),
                    None => format_call(expected, &self.names),
                };
                self.put(
                    out,
                    &Self::step_gutter(*step),
                    self.col(*actor),
                    &text,
                    self.actor_style(*actor),
                );
                let text = self
                    .words()
                    .mismatch(*actor, expected, made.as_ref(), *signal, *code);
                self.note(out, *actor, &text, Style::new().red().bold());
            }
            Event::Crashed {
                actor,
                step,
                call,
                signal,
                code,
                expected,
                why,
            } => {
                let text = format_call(call, &self.names);
                self.put(
                    out,
                    &Self::step_gutter(*step),
                    self.col(*actor),
                    &text,
                    self.actor_style(*actor),
                );
                let text = self.words().crashed(
                    *actor,
                    call.name(),
                    *signal,
                    *code,
                    *expected,
                    why.as_ref(),
                );
                self.note(out, *actor, &text, Style::new().red().bold());
            }
            Event::Timer {
                actor,
                step,
                timer,
                ms,
            } => {
                let text = self.words().timer(*actor, *step, timer, *ms);
                self.put(out, "", GUTTER, &text, Style::new().yellow());
            }
            Event::Deadlock {
                waits,
                asleep,
                unrun,
                expected,
            } => self.deadlock(out, waits, asleep, unrun, *expected),
            // A new column: the names again, over the columns as they are
            // from here on.
            Event::Joined { actor, name, .. } => {
                if self.actors.len() <= *actor {
                    self.actors.resize(*actor + 1, String::new());
                }
                self.actors[*actor] = name.clone();
                out.push('\n');
                self.header(out);
            }
            Event::NotRun { actor, steps } => {
                let text = self.words().not_run(*actor, steps);
                self.put(out, "", GUTTER, &text, Style::new().red());
            }
            Event::Output { actor, fd, text } => {
                let stream = if *fd == 2 { "stderr" } else { "stdout" };
                let text = format!("{stream}: {}", super::quote_bytes(text, 60));
                self.note(out, *actor, &text, Style::new().dimmed());
            }
            Event::Exit { actor, open } => {
                if !open.is_empty() {
                    let text = self.words().exit(*actor, open);
                    self.note(out, *actor, &text, Style::new().dimmed());
                }
            }
            // Drawn by the kernel view; see below.
            Event::Packets { packets } => self.packets(out, packets),
            Event::States { transitions } => self.transitions(out, transitions),
            Event::PacketsLost { count } => {
                let text = self.words().packets_lost(*count);
                self.put(out, "", GUTTER + 2, &text, Style::new().red());
            }
            Event::Table { sockets } => {
                if self.opts.sockets {
                    self.table(out, sockets);
                }
                self.last_table = sockets.clone();
            }
            // The command line says this once on stderr.
            Event::NoCapture { .. } => {}
            Event::Finish {
                steps_run,
                steps,
                failures,
            } => {
                if !self.opts.sockets {
                    out.push('\n');
                    let table = std::mem::take(&mut self.last_table);
                    self.table(out, &table);
                }
                out.push('\n');
                let style = if *failures == 0 {
                    Style::new().green().bold()
                } else {
                    Style::new().red().bold()
                };
                let text = if self.traced {
                    words::traced(*steps_run, *failures)
                } else {
                    words::finish(*steps_run, *steps, *failures)
                };
                self.put(out, "", 0, &text, style);
            }
        }
    }

    fn outcome(
        &self,
        out: &mut String,
        how: &Shown,
        call: &Call<i32>,
        outcome: &Outcome,
        why: Option<&Why>,
    ) {
        let actor = how.actor;
        let col = self.col(actor);
        let room = self.opts.width.saturating_sub(col);
        let call_style = self.actor_style(actor);
        let sub = self.note_col(actor);
        let is = if how.completed { "returns" } else { "=" };
        match outcome {
            Outcome::Returned {
                ret, data, addr, ..
            } => {
                let mut result = format!("{is} {ret}");
                // fork() returns the child's pid, which differs every run.
                // fork() returns the child's pid, which differs every run.
                let forked = match call {
                    Call::Fork { child } | Call::Thread { child } => {
                        self.actors.get(*child).cloned()
                    }
                    _ => None,
                };
                if let (Some(child), true) = (&forked, self.opts.stable) {
                    result = match call {
                        Call::Thread { .. } => self.words().tid_of(child),
                        _ => self.words().pid_of(child),
                    };
                }
                if let Some(d) = data.as_ref().filter(|d| !d.is_empty()) {
                    result.push(' ');
                    result.push_str(&quote_bytes(d, 40));
                }
                self.call_line(
                    out,
                    how,
                    col,
                    room,
                    &result,
                    call_style,
                    Style::new().bold(),
                );
                let new_port = addr
                    .as_ref()
                    .and_then(Addr::port)
                    .filter(|p| self.names.is_new_ephemeral(*p));
                for line in self.words().returned(call, outcome, forked.as_deref()) {
                    self.put(out, "", sub, &line, Style::new());
                }
                if let Some(p) = new_port {
                    self.note(
                        out,
                        actor,
                        &self.words().ephemeral(p),
                        Style::new().dimmed(),
                    );
                }
                if let Some(w) = why {
                    self.put(out, "", sub, &self.words().why(w, call, None), Style::new());
                }
            }
            Outcome::Failed { errno } => {
                let result = format!("{is} -1 {}", errno_name(*errno));
                let red = Style::new().red().bold();
                self.call_line(out, how, col, room, &result, call_style, red);
                let words = self.words();
                let why = why
                    .map(|w| words.why(w, call, Some(*errno)))
                    .unwrap_or_else(|| words.why(&Why::Unsettled, call, Some(*errno)));
                let line = words::errno_line(*errno, &why);
                self.put(out, "", sub, &line, Style::new().red());
            }
            Outcome::Blocked { wait } => {
                let yellow = Style::new().yellow().bold();
                self.call_line(out, how, col, room, "… blocks", call_style, yellow);
                let why = words::blocked(call, *wait, self.opts.stable);
                self.put(out, "", sub, &why, Style::new().yellow());
            }
        }
    }

    /// The call and its result on one line if they fit, else on two.
    #[allow(clippy::too_many_arguments)]
    fn call_line(
        &self,
        out: &mut String,
        how: &Shown,
        col: usize,
        room: usize,
        result: &str,
        style: Style,
        result_style: Style,
    ) {
        let (gutter, text) = (how.gutter, how.text.as_str());
        let pad = col.saturating_sub(gutter.chars().count());
        out.push_str(&self.paint(gutter, Style::new().dimmed()));
        out.push_str(&" ".repeat(pad));
        // A call longer than its column goes on under itself, indented.
        let lines = if cols(text) > room {
            wrap(text, room.saturating_sub(2))
        } else {
            vec![text.to_string()]
        };
        for (i, line) in lines.iter().enumerate() {
            if i > 0 {
                out.push('\n');
                out.push_str(&" ".repeat(col + 2));
            }
            out.push_str(&self.paint(line, style));
        }
        let last = lines
            .last()
            .map_or(0, |l| cols(l) + if lines.len() > 1 { 2 } else { 0 });
        if last + 1 + cols(result) <= room {
            out.push(' ');
        } else {
            out.push('\n');
            out.push_str(&" ".repeat(col + 2));
        }
        out.push_str(&self.paint(result, result_style));
        out.push('\n');
    }

    fn fds(&mut self, out: &mut String, actor: usize, fds: &[FdState]) {
        for st in fds {
            let addrs: Vec<&Addr> = st.local.iter().chain(st.peer.iter()).collect();
            let new: Vec<&Addr> = addrs
                .iter()
                .copied()
                .filter(|a| a.port().is_some_and(|p| self.names.is_new_ephemeral(p)))
                .collect();
            let mut head = format!("fd {}", st.fd);
            if let Some(kind) = st.kind {
                head.push_str(&format!(" {}", words::kind(kind)));
            }
            let mut parts = Vec::new();
            if let Some(l) = &st.local {
                parts.push(format!("local {}", self.names.addr(l)));
            }
            if let Some(p) = &st.peer {
                parts.push(format!("peer {}", self.names.addr(p)));
            }
            let col = self.note_col(actor);
            let one = format!("{head}  {}", parts.join("  "));
            if col + one.chars().count() <= self.opts.width {
                self.put(out, "", col, &one, Style::new().blue());
            } else {
                let indent = head.chars().count() + 2;
                for (i, part) in parts.iter().enumerate() {
                    let line = if i == 0 {
                        format!("{head}  {part}")
                    } else {
                        part.clone()
                    };
                    let at = if i == 0 { col } else { col + indent };
                    self.put(out, "", at, &line, Style::new().blue());
                }
            }
            self.ephemeral_notes_for(out, actor, &new);
        }
    }

    /// Like `ephemeral_notes`, for ports already named by the line above.
    fn ephemeral_notes_for(&self, out: &mut String, actor: usize, addrs: &[&Addr]) {
        let mut seen = Vec::new();
        for a in addrs {
            if let Some(p) = a.port()
                && !seen.contains(&p)
            {
                seen.push(p);
                let text = self.words().ephemeral(p);
                self.note(out, actor, &text, Style::new().dimmed());
            }
        }
    }

    fn deadlock(
        &self,
        out: &mut String,
        waits: &[Waiting],
        asleep: &[Asleep],
        unrun: &[usize],
        expected: bool,
    ) {
        let w = self.opts.width.saturating_sub(GUTTER + 2).max(30);
        let style = Style::new().red().bold();
        let lines = self.words().deadlock(waits, asleep, unrun);
        let title = " DEADLOCK ";
        let top = format!(
            "╭─{title}{}",
            "─".repeat(w.saturating_sub(title.chars().count() + 2))
        );
        self.put(out, "", GUTTER, &top, style);
        for line in lines {
            for l in wrap(&line, w.saturating_sub(2)) {
                let pad = " ".repeat(GUTTER);
                out.push_str(&pad);
                out.push_str(&self.paint("│ ", style));
                out.push_str(&l);
                out.push('\n');
            }
        }
        self.put(
            out,
            "",
            GUTTER,
            &format!("╰{}", "─".repeat(w.saturating_sub(1))),
            style,
        );
        if expected && !waits.is_empty() {
            self.put(
                out,
                "",
                GUTTER,
                words::EXPECTED_DEADLOCK,
                Style::new().green(),
            );
        }
    }
}

/// Narration lines joined into paragraphs; an empty line separates them.
fn paragraphs(lines: &[String]) -> Vec<String> {
    let mut paras = vec![String::new()];
    for line in lines {
        let last = paras.last_mut().expect("never empty");
        if line.is_empty() {
            if !last.is_empty() {
                paras.push(String::new());
            }
        } else {
            if !last.is_empty() {
                last.push(' ');
            }
            last.push_str(line);
        }
    }
    paras.retain(|p| !p.is_empty());
    paras
}

/// The columns `s` takes on a terminal (wide characters take two).
pub(super) fn cols(s: &str) -> usize {
    UnicodeWidthStr::width(s)
}

/// Splits `text` into lines of at most `width` characters, at spaces where
/// it can.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(10);
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split(' ') {
        let len = cols(&line);
        if len > 0 && len + 1 + cols(word) > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
        while cols(&line) > width {
            let mut cut = String::new();
            let mut rest = line.chars();
            for c in rest.by_ref() {
                if cols(&cut) + UnicodeWidthChar::width(c).unwrap_or(0) > width {
                    line = std::iter::once(c).chain(rest).collect();
                    break;
                }
                cut.push(c);
            }
            lines.push(cut);
        }
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_breaks_at_spaces_and_cuts_long_words() {
        assert_eq!(wrap("one two three", 7), ["one two", "three"]);
        assert_eq!(wrap("abcdefghijklmnop", 10), ["abcdefghij", "klmnop"]);
        assert_eq!(wrap("", 10), [""]);
    }

    #[test]
    fn step_lists_collapse_runs() {
        assert_eq!(words::list(&[3]), "3");
        assert_eq!(words::list(&[3, 4]), "3, 4");
        assert_eq!(words::list(&[3, 4, 5, 9]), "3–5, 9");
    }

    #[test]
    fn narration_lines_join_into_paragraphs() {
        let lines: Vec<String> = ["a", "b", "", "c"].iter().map(|s| s.to_string()).collect();
        assert_eq!(paragraphs(&lines), ["a b", "c"]);
    }
}
