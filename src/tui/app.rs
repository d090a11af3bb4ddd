//! The full-screen view's state: where the run is, what each step showed,
//! and what a key does. No terminal here: it is tested as plain data.

use crate::engine::{EngineError, Options, Run};
use crate::event::Event;
use crate::lesson::Lesson;
use crate::render::words::{self, Verdict};
use crate::render::{Transcript, TranscriptOptions};
use std::time::Duration;

/// What a key asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Next,
    Back,
    Restart,
    End,
    /// `g`: start typing a step number.
    Goto,
    Digit(u8),
    Enter,
    ToggleAuto,
    Faster,
    Slower,
    Help,
    Quit,
    /// Typing an answer in the quiz.
    Char(char),
    Backspace,
    /// Esc while a quiz question is open: run the step without answering.
    Skip,
    /// Ctrl-C: quit, whatever is open.
    Interrupt,
    /// Tab and Shift-Tab: the focus to the next pane, or the one before.
    FocusNext,
    FocusBack,
    /// Scroll the focused pane a line, or a page.
    Up,
    Down,
    PageUp,
    PageDown,
    /// The mouse wheel over the pane at this column and row.
    Wheel {
        up: bool,
        col: u16,
        row: u16,
    },
    /// `z`: the focused pane fills the screen, and back.
    Zoom,
    /// `t`: RFC 9293's state diagram, with each socket at its state, and
    /// back.
    Diagram,
    /// `w`: the words the view uses, explained.
    Glossary,
    /// A key with no action of its own: it closes the help.
    Other,
}

/// The view's panes, in the order Tab goes through them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pane {
    Ladder,
    Source,
    Narration,
    Sockets,
}

impl Pane {
    pub const ALL: [Pane; 4] = [Pane::Ladder, Pane::Source, Pane::Narration, Pane::Sockets];

    pub fn index(self) -> usize {
        Pane::ALL.iter().position(|p| *p == self).unwrap_or(0)
    }
}

/// How a pane was last drawn: where, which of its lines were in sight.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct View {
    pub area: ratatui::layout::Rect,
    /// The first line in sight, the lines in sight, all the lines.
    pub top: usize,
    pub visible: usize,
    pub total: usize,
}

/// Predict, then reveal: `--quiz`.
#[derive(Debug, Clone, Default)]
pub struct Quiz {
    /// Steps (0-based) to ask about.
    pub steps: Vec<usize>,
    pub asked: u32,
    pub right: u32,
    /// The step whose result is being asked.
    pub question: Option<usize>,
    pub input: String,
    /// What the last answer met.
    pub verdict: Option<String>,
}

/// What an alert box is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertKind {
    Deadlock,
    /// The lesson expects a deadlock and none came.
    NoDeadlock,
    Died,
    NotExpected,
}

/// A box that cannot be missed: its kind and its lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    pub kind: AlertKind,
    pub lines: Vec<String>,
    /// Where the ladder draws it: its first line and the line after its
    /// last, as indices into `Screen::ladder`.
    pub at: (usize, usize),
}

/// Everything drawn for one position in the run, kept so that going back
/// shows exactly what was shown before.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Screen {
    /// The transcript so far, as plain lines, for the ladder.
    pub ladder: Vec<String>,
    /// The lines the last step added (highlighted).
    pub fresh: usize,
    /// Every socket as the kernel reports it now, as table rows with
    /// addresses named as in the ladder: socket, type, local, peer, state,
    /// recv-q, send-q.
    pub rows: Vec<[String; 7]>,
    /// Sockets whose row changed at the last step (by index into `sockets`).
    pub changed: Vec<usize>,
    /// The narration of the last step.
    pub narration: Vec<String>,
    /// A deadlock, crash or failed expectation, explained.
    pub alert: Option<Alert>,
    /// Script steps (0-based) run so far, those parked, and those that did
    /// not give what the lesson expects (or killed their process).
    pub ran: Vec<usize>,
    pub parked: Vec<usize>,
    pub failed: Vec<usize>,
    /// Engine steps taken to reach this screen.
    pub position: usize,
    pub finished: bool,
    /// RFC 9293's state diagram after the last step: each TCP socket at its
    /// state, the hops the step took marked.
    pub diagram: Vec<Vec<(char, bool)>>,
    /// Each TCP socket's state and label, as last reported.
    pub labels: Vec<(crate::sock::Rfc, String)>,
    /// The hops of the last step the diagram has no arrow for, in words.
    pub diagram_note: String,
}

/// The state of the full-screen view.
///
/// `history[k]` is the screen after `k` engine steps; the run behind it has
/// always taken exactly `at` steps, so going back means a fresh run.
pub struct App {
    lesson: Lesson,
    opts: Options,
    width: usize,
    run: Run,
    transcript: Transcript,
    /// The screen of the run as it stands.
    current: Screen,
    /// The screen at each position reached so far.
    history: Vec<Screen>,
    /// The position shown (and the run's).
    pub at: usize,
    /// Autoplay: the time between steps.
    pub auto: Option<Duration>,
    pub help: bool,
    /// Digits typed after `g`.
    pub goto: Option<String>,
    /// A re-run showed something else than the first run did.
    pub warning: Option<String>,
    pub quit: bool,
    pub quiz: Option<Quiz>,
    /// Events of the engine's last step not shown yet: the end of a run
    /// after a deadlock or a failure (the exits, the final table) gets a
    /// screen of its own, so the stuck sockets are seen first.
    queued: Option<Vec<Event>>,
    /// The pane the scroll keys move.
    pub focus: Pane,
    /// Each pane's first line in sight, where the user scrolled it (`None`:
    /// it follows the run).
    pub scroll: [Option<usize>; 4],
    pub zoom: bool,
    pub glossary: bool,
    /// `t`: RFC 9293's state diagram fills the main area.
    pub diagram: bool,
    /// How each pane was last drawn (the drawing says).
    pub views: std::cell::Cell<[View; 4]>,
}

impl App {
    /// Starts the lesson's run; `width` is the ladder's width in columns.
    pub fn new(lesson: Lesson, opts: Options, width: usize) -> Result<App, EngineError> {
        let (run, transcript, first) = start(&lesson, &opts, width)?;
        Ok(App {
            lesson,
            opts,
            width,
            run,
            transcript,
            current: first.clone(),
            history: vec![first],
            at: 0,
            auto: None,
            help: false,
            goto: None,
            warning: None,
            quit: false,
            quiz: None,
            queued: None,
            focus: Pane::Ladder,
            diagram: false,
            scroll: [None; 4],
            zoom: false,
            glossary: false,
            views: std::cell::Cell::new([View::default(); 4]),
        })
    }

    /// Scrolls `pane` by `lines` (up if negative), from where it is drawn.
    fn scroll_by(&mut self, pane: Pane, lines: isize) {
        let v = self.views.get()[pane.index()];
        let max = v.total.saturating_sub(v.visible);
        let top = v.top.saturating_add_signed(lines).min(max);
        self.scroll[pane.index()] = Some(top);
    }

    /// A page of `pane`: what is in sight, less a little overlap.
    fn page(&self, pane: Pane) -> isize {
        let v = self.views.get()[pane.index()];
        (v.visible.saturating_sub(v.visible / 2).max(1)) as isize
    }

    pub fn lesson(&self) -> &Lesson {
        &self.lesson
    }

    pub fn screen(&self) -> &Screen {
        &self.history[self.at]
    }

    /// Whether the run is over at the position shown.
    pub fn at_end(&self) -> bool {
        self.screen().finished
    }

    /// Asks, before each step the lesson marks (or each with an
    /// expectation), what the step will give.
    pub fn start_quiz(&mut self) {
        self.quiz = Some(Quiz {
            steps: self.lesson.quiz_steps(),
            ..Quiz::default()
        });
    }

    /// Whether keys are typing an answer.
    pub fn wants_text(&self) -> bool {
        self.quiz.as_ref().is_some_and(|q| q.question.is_some())
    }

    /// The step the engine runs next: the earliest not run whose actor is
    /// not waiting (0-based).
    pub fn next_step(&self) -> Option<usize> {
        let screen = self.screen();
        if screen.finished {
            return None;
        }
        let steps = &self.lesson.steps;
        let parked: Vec<usize> = screen.parked.iter().map(|&i| steps[i].actor).collect();
        (0..steps.len()).find(|i| !screen.ran.contains(i) && !parked.contains(&steps[*i].actor))
    }

    fn quiz_action(&mut self, action: Action) -> Result<bool, EngineError> {
        let Some(quiz) = self.quiz.as_mut() else {
            return Ok(false);
        };
        if let Some(step) = quiz.question {
            match action {
                Action::Char(c) if quiz.input.len() < 60 => quiz.input.push(c),
                Action::Digit(d) if quiz.input.len() < 60 => quiz.input.push(char::from(b'0' + d)),
                Action::Backspace => {
                    quiz.input.pop();
                }
                Action::Enter | Action::Skip => {
                    let answer = std::mem::take(&mut quiz.input);
                    quiz.question = None;
                    let expect = self.lesson.steps[step].expect.clone();
                    self.forward()?;
                    let quiz = self.quiz.as_mut().expect("the quiz is on");
                    quiz.asked += 1;
                    let verdict = match (action, &expect) {
                        (Action::Skip, Some(_)) => Verdict::Skipped,
                        (_, Some(e)) if answer_matches(&answer, e) => {
                            quiz.right += 1;
                            Verdict::Right
                        }
                        (_, Some(_)) => Verdict::Wrong,
                        (_, None) => Verdict::Nothing,
                    };
                    quiz.verdict = Some(words::quiz(verdict, answer.trim(), expect.as_ref()));
                }
                Action::Quit => self.quit = true,
                _ => {}
            }
            return Ok(true);
        }
        let next = self.next_step();
        let asked_before = |n: usize| self.history.iter().any(|s| s.ran.contains(&n));
        let ask = match next {
            Some(n) if action == Action::Next => {
                self.quiz.as_ref().is_some_and(|q| q.steps.contains(&n)) && !asked_before(n)
            }
            _ => false,
        };
        let quiz = self.quiz.as_mut().expect("the quiz is on");
        quiz.verdict = None;
        if ask {
            quiz.question = next;
        }
        Ok(ask)
    }

    pub fn handle(&mut self, action: Action) -> Result<(), EngineError> {
        if action == Action::Interrupt {
            self.quit = true;
            return Ok(());
        }
        if self.quiz_action(action)? {
            return Ok(());
        }
        if let Some(typed) = &mut self.goto {
            match action {
                Action::Digit(d) if typed.len() < 5 => typed.push(char::from(b'0' + d)),
                Action::Enter => {
                    let n = typed.parse::<usize>().unwrap_or(0);
                    self.goto = None;
                    return self.go_to(n);
                }
                Action::Quit | Action::Help => self.goto = None,
                _ => {}
            }
            return Ok(());
        }
        // Any key closes the help or the words, Esc and q included: they
        // do not quit from there.
        if self.help || self.glossary {
            self.help = false;
            self.glossary = false;
            return Ok(());
        }
        match action {
            Action::Next => self.forward(),
            Action::Back => self.back(),
            Action::Restart => self.go_to(0),
            Action::End => {
                while !self.at_end() {
                    self.forward()?;
                }
                Ok(())
            }
            Action::Goto => {
                self.goto = Some(String::new());
                Ok(())
            }
            Action::ToggleAuto => {
                self.auto = match self.auto {
                    Some(_) => None,
                    None => Some(Duration::from_millis(1500)),
                };
                Ok(())
            }
            Action::Faster => {
                self.auto = self.auto.map(|d| (d / 2).max(Duration::from_millis(100)));
                Ok(())
            }
            Action::Slower => {
                self.auto = self.auto.map(|d| (d * 2).min(Duration::from_secs(20)));
                Ok(())
            }
            Action::Help => {
                self.help = true;
                Ok(())
            }
            Action::Glossary => {
                self.glossary = true;
                Ok(())
            }
            Action::FocusNext | Action::FocusBack => {
                let step = if action == Action::FocusNext { 1 } else { 3 };
                self.focus = Pane::ALL[(self.focus.index() + step) % 4];
                Ok(())
            }
            Action::Up => {
                self.scroll_by(self.focus, -1);
                Ok(())
            }
            Action::Down => {
                self.scroll_by(self.focus, 1);
                Ok(())
            }
            Action::PageUp => {
                self.scroll_by(self.focus, -self.page(self.focus));
                Ok(())
            }
            Action::PageDown => {
                self.scroll_by(self.focus, self.page(self.focus));
                Ok(())
            }
            Action::Wheel { up, col, row } => {
                let views = self.views.get();
                if let Some(p) = Pane::ALL.iter().copied().find(|p| {
                    let a = views[p.index()].area;
                    col >= a.x && col < a.x + a.width && row >= a.y && row < a.y + a.height
                }) {
                    self.scroll_by(p, if up { -3 } else { 3 });
                }
                Ok(())
            }
            Action::Diagram => {
                self.diagram = !self.diagram;
                Ok(())
            }
            Action::Zoom => {
                self.zoom = !self.zoom;
                Ok(())
            }
            Action::Quit => {
                self.quit = true;
                Ok(())
            }
            Action::Digit(_)
            | Action::Enter
            | Action::Char(_)
            | Action::Backspace
            | Action::Skip
            | Action::Interrupt
            | Action::Other => Ok(()),
        }
    }

    /// Autoplay waits while the user types (a step number, an answer) or
    /// reads the help or the words.
    pub fn autoplay_paused(&self) -> bool {
        self.wants_text() || self.goto.is_some() || self.help || self.glossary
    }

    /// One step forward. A position shown before is shown again as it was,
    /// and checked against what the run does now.
    pub fn forward(&mut self) -> Result<(), EngineError> {
        if self.at_end() {
            self.auto = None;
            return Ok(());
        }
        let screen = self.advance()?;
        self.at += 1;
        self.record(screen);
        Ok(())
    }

    /// One step back: the run is made again, in a fresh namespace, up to
    /// the step before.
    pub fn back(&mut self) -> Result<(), EngineError> {
        if self.at == 0 {
            return Ok(());
        }
        self.go_to_position(self.at - 1)
    }

    /// Goes to just after script step `n`, as the lesson numbers it (0: the
    /// start).
    pub fn go_to(&mut self, n: usize) -> Result<(), EngineError> {
        if n == 0 {
            return self.go_to_position(0);
        }
        let ran = |s: &Screen| s.ran.contains(&(n - 1));
        if let Some(i) = self.history.iter().position(ran) {
            return self.go_to_position(i);
        }
        while !ran(self.screen()) && !self.at_end() {
            self.forward()?;
        }
        Ok(())
    }

    /// Draws the ladder at a new width: the run is made again to the same
    /// position.
    pub fn resize(&mut self, width: usize) -> Result<(), EngineError> {
        self.width = width;
        let at = self.at;
        self.history.clear();
        self.go_to_position(at)
    }

    fn go_to_position(&mut self, pos: usize) -> Result<(), EngineError> {
        let (run, transcript, first) = start(&self.lesson, &self.opts, self.width)?;
        // The old run ends here, before the new one's steps.
        self.run = run;
        self.queued = None;
        self.transcript = transcript;
        self.current = first;
        self.at = 0;
        self.record(self.current.clone());
        while self.at < pos && !self.current.finished {
            let screen = self.advance()?;
            self.at += 1;
            self.record(screen);
        }
        Ok(())
    }

    /// Keeps `screen` as the one at `at`, warning if a different one was
    /// shown there before.
    fn record(&mut self, screen: Screen) {
        // A new position: every pane follows the run again.
        self.scroll = [None; 4];
        match self.history.get(self.at) {
            Some(before) if *before == screen => {}
            Some(_) => {
                self.warning = Some(format!(
                    "the run made again shows something else at step {} than it showed \
                     before: this part of the lesson depends on timing",
                    self.at
                ));
                self.history.truncate(self.at);
                self.history.push(screen);
            }
            None => self.history.push(screen),
        }
    }

    /// Whether the run so far went as the lesson expects.
    pub fn passed(&self) -> bool {
        self.run.passed()
    }

    /// The packets captured so far, for `--pcap`.
    pub fn frames(&self) -> Option<&[crate::capture::Frame]> {
        self.run.frames()
    }

    /// Runs one engine step (or shows the end of the run it held back) and
    /// makes its screen.
    fn advance(&mut self) -> Result<Screen, EngineError> {
        let events = match self.queued.take() {
            Some(events) => events,
            None => {
                let mut events = self.run.step()?.unwrap_or_default();
                // The step's own events end with its table. A deadlock found
                // then stays with them; the teardown (exits, the packets and
                // states they cause, the final table) waits for the next key.
                let table = events.iter().position(|e| matches!(e, Event::Table { .. }));
                let ends = events.iter().any(|e| matches!(e, Event::Finish { .. }));
                let teardown = table.and_then(|t| {
                    (t + 1..events.len()).find(|&i| {
                        !matches!(
                            events[i],
                            Event::Deadlock { .. } | Event::ExpectFailed { .. }
                        )
                    })
                });
                // Without such a box, the last step and the end are one
                // screen.
                let alert = events.iter().any(is_alert);
                if let Some(i) = teardown
                    && ends
                    && alert
                    && !matches!(events[i], Event::Finish { .. })
                {
                    self.queued = Some(events.split_off(i));
                }
                events
            }
        };
        apply(
            &mut self.current,
            &mut self.transcript,
            &self.lesson,
            &events,
        );
        self.current.position += 1;
        Ok(self.current.clone())
    }
}

/// Whether a typed answer says what `e` says, as a C programmer would say
/// it: a number, an errno or signal name (with or without `-1` before an
/// errno), "bytes" or how many bytes, or `blocks`; case and quotes are
/// forgiven.
pub fn answer_matches(answer: &str, e: &crate::lesson::Expect) -> bool {
    use crate::lesson::Expect;
    let a = answer.trim();
    let errno = |n: i32| {
        let a = a.strip_prefix("-1").map_or(a, str::trim);
        a.eq_ignore_ascii_case(&crate::errno::errno_name(n))
    };
    match e {
        Expect::Value(v) => a.parse::<i64>() == Ok(*v),
        Expect::Errno(n) => errno(*n) || a == "-1",
        Expect::Fails => {
            a == "-1"
                || crate::errno::ERRNOS
                    .iter()
                    .any(|(name, _)| a.eq_ignore_ascii_case(name))
        }
        Expect::Signal(s) => a.eq_ignore_ascii_case(&crate::errno::signal_name(*s)),
        Expect::Addr(addr) => a == addr.to_string(),
        Expect::AddrEphemeral(ip, _) => {
            a.rsplit_once(':').is_some_and(|(i, _)| i == ip.to_string())
        }
        Expect::Blocks => matches!(
            a.to_ascii_lowercase().as_str(),
            "blocks" | "block" | "it blocks"
        ),
        Expect::Bytes(b) => {
            let unquoted = a.trim_matches('"').replace("\\n", "\n");
            unquoted.as_bytes() == b.as_slice() || a.parse::<usize>() == Ok(b.len())
        }
    }
}

/// A new run and the screen before its first step.
fn start(
    lesson: &Lesson,
    opts: &Options,
    width: usize,
) -> Result<(Run, Transcript, Screen), EngineError> {
    let run = Run::start(lesson.clone(), opts)?;
    let mut transcript = Transcript::new(TranscriptOptions {
        color: false,
        stable: true,
        width,
        packets: opts.capture,
        sockets: false,
        narration: false,
    });
    let mut screen = empty_screen();
    let header = transcript.events(run.header());
    // The title and goal are drawn apart; the ladder starts at the actors.
    // The title and goal (however many lines the goal wraps to) end at the
    // first blank line; the ladder starts with the actors' names after it.
    screen.ladder = header
        .lines()
        .skip_while(|l| !l.is_empty())
        .skip(1)
        .map(str::to_string)
        .collect();
    screen.fresh = 0;
    // Before the first step: the goal and the introduction.
    screen.narration = lesson.goal.iter().map(|g| format!("Goal: {g}")).collect();
    if !lesson.hosts.is_empty() {
        screen.narration.push(transcript.words().hosts_line());
    }
    screen.narration.extend(lesson.intro.iter().cloned());
    Ok((run, transcript, screen))
}

fn empty_screen() -> Screen {
    Screen {
        ladder: Vec::new(),
        fresh: 0,
        rows: Vec::new(),
        changed: Vec::new(),
        narration: Vec::new(),
        alert: None,
        ran: Vec::new(),
        parked: Vec::new(),
        failed: Vec::new(),
        position: 0,
        finished: false,
        diagram: crate::render::diagram::draw(&[], &[]).cells,
        labels: Vec::new(),
        diagram_note: String::new(),
    }
}

/// Folds one step's events into the screen.
fn apply(screen: &mut Screen, transcript: &mut Transcript, lesson: &Lesson, events: &[Event]) {
    // Drawn event by event, to know where an alert's lines are.
    let before = screen.ladder.len();
    let mut alert_at: Option<(usize, usize)> = None;
    for e in events {
        let lines: Vec<String> = transcript
            .events(std::slice::from_ref(e))
            .lines()
            .map(str::to_string)
            .collect();
        let start = screen.ladder.len();
        screen.ladder.extend(lines);
        if is_alert(e) {
            let end = screen.ladder.len();
            alert_at = Some(alert_at.map_or((start, end), |(s, _)| (s, end)));
        }
    }
    screen.fresh = screen.ladder.len() - before;
    screen.narration.clear();
    let transitions = crate::render::diagram::transitions_of(events);
    if let Some(sockets) = events.iter().rev().find_map(|e| match e {
        Event::Table { sockets } => Some(sockets),
        _ => None,
    }) {
        screen.labels = crate::render::diagram::labels(sockets, &lesson.actors);
    }
    let drawn =
        crate::render::diagram::draw(&screen.labels, &crate::render::diagram::taken(&transitions));
    screen.diagram_note = drawn.undrawn_text();
    screen.diagram = drawn.cells;
    // An alert stays up through the end of the run that follows it.
    if events.iter().any(|e| matches!(e, Event::Call { .. })) {
        screen.alert = None;
    }
    screen.changed.clear();
    let index = |number: usize| lesson.steps.iter().position(|s| s.number == number);
    for e in events {
        match e {
            Event::Call { step, outcome, .. } => {
                if let Some(i) = index(*step) {
                    screen.ran.push(i);
                    if matches!(outcome, crate::event::Outcome::Blocked { .. }) {
                        screen.parked.push(i);
                    }
                }
            }
            Event::Completed { step, .. } => {
                if let Some(i) = index(*step) {
                    screen.parked.retain(|p| *p != i);
                }
            }
            Event::Crashed { step, expected, .. } => {
                if let Some(i) = index(*step) {
                    screen.ran.push(i);
                    screen.parked.retain(|p| *p != i);
                    if !expected {
                        screen.failed.push(i);
                    }
                }
            }
            Event::ExpectFailed { step, .. } => {
                if let Some(i) = index(*step) {
                    screen.failed.push(i);
                }
            }
            Event::Mismatch { step, .. } => {
                if let Some(i) = index(*step) {
                    screen.ran.push(i);
                    screen.failed.push(i);
                }
            }
            Event::Narration { lines, .. } => screen.narration.extend(lines.iter().cloned()),
            Event::Section { lines, .. } => screen.narration.extend(lines.iter().cloned()),
            Event::Table { sockets } => {
                let rows: Vec<[String; 7]> =
                    sockets.iter().map(|s| transcript.socket_row(s)).collect();
                screen.changed = rows
                    .iter()
                    .enumerate()
                    .filter(|(_, r)| !screen.rows.contains(r))
                    .map(|(i, _)| i)
                    .collect();
                screen.rows = rows;
            }
            Event::Finish {
                steps_run,
                steps,
                failures,
            } => {
                screen.finished = true;
                screen
                    .narration
                    .push(words::finish(*steps_run, *steps, *failures));
                if let Some(next) = crate::catalog::next_after(&lesson.path) {
                    screen.narration.push(next);
                }
            }
            _ => {}
        }
    }
    // A deadlock, a crash or a failed expectation: a box of its own.
    let words = transcript.words();
    let mut lines: Vec<String> = Vec::new();
    let mut kind = None;
    for e in events {
        match e {
            Event::Deadlock {
                waits,
                asleep,
                unrun,
                ..
            } => {
                kind = Some(if waits.is_empty() && asleep.is_empty() {
                    AlertKind::NoDeadlock
                } else {
                    AlertKind::Deadlock
                });
                lines.extend(words.deadlock(waits, asleep, unrun));
            }
            Event::Crashed {
                actor,
                signal,
                expected: false,
                ..
            } => {
                kind = Some(AlertKind::Died);
                lines.push(words.alert_crash(*actor, *signal));
            }
            Event::Mismatch {
                actor,
                expected,
                made,
                signal,
                code,
                ..
            } => {
                kind = Some(AlertKind::NotExpected);
                lines.push(words.mismatch(*actor, expected, made.as_ref(), *signal, *code));
            }
            Event::ExpectFailed {
                step,
                got,
                expected,
                ..
            } => {
                kind = kind.or(Some(AlertKind::NotExpected));
                lines.push(words.alert_expect(*step, expected, got));
            }
            _ => {}
        }
    }
    if let Some(kind) = kind {
        screen.alert = Some(Alert {
            kind,
            lines,
            at: alert_at.unwrap_or((before, screen.ladder.len())),
        });
    }
}

/// Whether the ladder draws `e` as an alert: a deadlock, a crash not
/// expected, a step that did not give what the lesson expects.
fn is_alert(e: &Event) -> bool {
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
}

#[cfg(test)]
mod tests {
    use super::answer_matches;
    use crate::lesson::Expect;

    #[test]
    fn answers_a_c_programmer_gives_are_right() {
        let got = Expect::Bytes(b"Hello from client".to_vec());
        assert!(answer_matches("17", &got), "a byte count");
        assert!(answer_matches("\"Hello from client\"", &got));
        assert!(!answer_matches("16", &got));
        let refused = Expect::Errno(libc::ECONNREFUSED);
        for a in ["ECONNREFUSED", "econnrefused", "-1 ECONNREFUSED", "-1"] {
            assert!(answer_matches(a, &refused), "{a}");
        }
        assert!(!answer_matches("EADDRINUSE", &refused));
        assert!(answer_matches("4", &Expect::Value(4)));
        assert!(answer_matches("blocks", &Expect::Blocks));
        assert!(answer_matches("-1", &Expect::Fails));
    }
}
