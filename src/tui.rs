//! The full-screen view, for a student at their own pace and an instructor
//! in front of a room: the lesson's source, the ladder, every socket, the
//! narration, forward and back, autoplay.
//!
//! `app` is the state (no terminal), `keys` turns keys into actions, `ui`
//! draws; this module owns the terminal and always gives it back as it was.

pub mod app;
pub mod keys;
pub mod ui;

use crate::engine::{EngineError, Options};
use crate::lesson::Lesson;
use app::App;
use crossterm::event::{self, Event as TermEvent};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// How the full-screen view ended.
pub enum Outcome {
    /// The user quit (at the end of the run or before).
    Quit,
    /// A signal (Ctrl-C from outside, SIGTERM, SIGHUP) ended it.
    Interrupted,
}

/// Runs `lesson` full screen until the user quits. The terminal is restored
/// on every way out: quit, error, signal, panic (ratatui's hook).
pub fn run(
    lesson: Lesson,
    opts: Options,
    auto: Option<Duration>,
    interrupted: &AtomicBool,
) -> Result<Outcome, String> {
    let mut terminal = ratatui::try_init().map_err(|e| format!("cannot use the terminal: {e}"))?;
    let result = event_loop(&mut terminal, lesson, opts, auto, interrupted);
    ratatui::restore();
    result
}

fn event_loop(
    terminal: &mut ratatui::DefaultTerminal,
    lesson: Lesson,
    opts: Options,
    auto: Option<Duration>,
    interrupted: &AtomicBool,
) -> Result<Outcome, String> {
    let fail = |e: EngineError| e.to_string();
    let size = terminal.size().map_err(|e| e.to_string())?;
    let mut width = ui::ladder_width(size.width);
    let mut app = App::new(lesson, opts, width).map_err(fail)?;
    app.auto = auto;
    let mut last_step = Instant::now();
    loop {
        if interrupted.load(Ordering::SeqCst) {
            return Ok(Outcome::Interrupted);
        }
        terminal
            .draw(|f| ui::draw(f, &app))
            .map_err(|e| e.to_string())?;
        let wait = match app.auto {
            Some(every) => every
                .saturating_sub(last_step.elapsed())
                .min(Duration::from_millis(200)),
            None => Duration::from_millis(200),
        };
        if event::poll(wait).map_err(|e| e.to_string())? {
            match event::read().map_err(|e| e.to_string())? {
                TermEvent::Key(key) => {
                    if let Some(action) = keys::action(key) {
                        app.handle(action).map_err(fail)?;
                        last_step = Instant::now();
                    }
                }
                TermEvent::Resize(cols, _) => {
                    let w = ui::ladder_width(cols);
                    if w != width {
                        width = w;
                        app.resize(width).map_err(fail)?;
                    }
                }
                _ => {}
            }
        } else if let Some(every) = app.auto
            && last_step.elapsed() >= every
        {
            app.forward().map_err(fail)?;
            last_step = Instant::now();
        }
        if app.quit {
            return Ok(Outcome::Quit);
        }
    }
}
