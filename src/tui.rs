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
use crossterm::event::{self, DisableMouseCapture, EnableMouseCapture, Event as TermEvent};
use ratatui::Terminal;
use ratatui::backend::{Backend, CrosstermBackend};
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// How the full-screen view ended.
pub enum Outcome {
    /// The user quit (at the end of the run or before); whether the run so
    /// far went as the lesson expects, and whether it had ended.
    Quit { passed: bool, finished: bool },
    /// A signal (Ctrl-C from outside, SIGTERM, SIGHUP) ended it.
    Interrupted,
}

/// Runs `lesson` full screen until the user quits. The terminal is restored
/// on every way out: quit, error, signal, panic (ratatui's hook).
pub fn run(
    lesson: Lesson,
    opts: Options,
    auto: Option<Duration>,
    quiz: bool,
    pcap: Option<&Path>,
    record: Option<&Path>,
    interrupted: &AtomicBool,
) -> Result<Outcome, String> {
    let Some(path) = record else {
        let mut terminal =
            ratatui::try_init().map_err(|e| format!("cannot use the terminal: {e}"))?;
        mouse(true);
        let how = How {
            auto,
            quiz,
            pcap,
            resized: None,
            interrupted,
        };
        let result = event_loop(&mut terminal, lesson, opts, &how);
        mouse(false);
        ratatui::restore();
        return result;
    };
    let (cols, rows) = crossterm::terminal::size().map_err(|e| e.to_string())?;
    let resized = std::sync::Arc::new(AtomicU32::new(0));
    let cast = Recorder::create(path, cols, rows, resized.clone())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    crossterm::terminal::enable_raw_mode().map_err(|e| e.to_string())?;
    // As ratatui::init does: a panic restores the terminal first.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        mouse(false);
        ratatui::restore();
        hook(info);
    }));
    let mut backend = CrosstermBackend::new(cast);
    let result = crossterm::execute!(backend, crossterm::terminal::EnterAlternateScreen)
        .map_err(|e| e.to_string())
        .and_then(|()| Terminal::new(backend).map_err(|e| e.to_string()))
        .and_then(|mut terminal| {
            let _ = crossterm::execute!(terminal.backend_mut(), EnableMouseCapture);
            let how = How {
                auto,
                quiz,
                pcap,
                resized: Some(&resized),
                interrupted,
            };
            let result = event_loop(&mut terminal, lesson, opts, &how);
            let _ = crossterm::execute!(
                terminal.backend_mut(),
                DisableMouseCapture,
                crossterm::terminal::LeaveAlternateScreen,
                crossterm::cursor::Show
            );
            result
        });
    ratatui::restore();
    result
}

/// Turns the terminal's mouse reports on (the wheel scrolls a pane) or off.
fn mouse(on: bool) {
    let mut out = std::io::stdout();
    let _ = if on {
        crossterm::execute!(out, EnableMouseCapture)
    } else {
        crossterm::execute!(out, DisableMouseCapture)
    };
}

/// Writes to the terminal and to an asciicast v2 file: a JSON header, then
/// `[seconds, "o", text]` for each write.
struct Recorder {
    out: std::io::Stdout,
    cast: std::io::BufWriter<std::fs::File>,
    start: Instant,
    /// Bytes of a UTF-8 character cut between two writes.
    pending: Vec<u8>,
    /// A new size (columns << 16 | rows) the event loop saw, to record.
    resized: std::sync::Arc<AtomicU32>,
}

impl Recorder {
    fn create(
        path: &Path,
        cols: u16,
        rows: u16,
        resized: std::sync::Arc<AtomicU32>,
    ) -> std::io::Result<Recorder> {
        let mut cast = std::io::BufWriter::new(std::fs::File::create(path)?);
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let header = serde_json::json!({
            "version": 2,
            "width": cols,
            "height": rows,
            "timestamp": stamp,
            "env": {"TERM": std::env::var("TERM").unwrap_or_default()},
            "title": "sockstep",
        });
        writeln!(cast, "{header}")?;
        Ok(Recorder {
            out: std::io::stdout(),
            cast,
            start: Instant::now(),
            pending: Vec::new(),
            resized,
        })
    }
}

impl Write for Recorder {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.out.write(buf)?;
        self.pending.extend_from_slice(&buf[..n]);
        Ok(n)
    }

    /// A frame is flushed whole: it becomes one event of the recording.
    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()?;
        let size = self.resized.swap(0, Ordering::SeqCst);
        if size != 0 {
            let dims = format!("{}x{}", size >> 16, size & 0xffff);
            let event = serde_json::json!([self.start.elapsed().as_secs_f64(), "r", dims]);
            writeln!(self.cast, "{event}")?;
        }
        let valid = match std::str::from_utf8(&self.pending) {
            Ok(s) => s.len(),
            Err(e) => e.valid_up_to(),
        };
        if valid > 0 {
            let text = String::from_utf8_lossy(&self.pending[..valid]).into_owned();
            let event = serde_json::json!([self.start.elapsed().as_secs_f64(), "o", text]);
            writeln!(self.cast, "{event}")?;
            self.pending.drain(..valid);
        }
        self.cast.flush()
    }
}

/// Writes the run's packets as a pcap file, as `--pcap` does for the plain
/// transcript.
fn write_pcap(path: &Path, frames: Option<&[crate::capture::Frame]>) -> Result<(), String> {
    let Some(frames) = frames else {
        return Err(format!(
            "no packets were captured, so {} was not written",
            path.display()
        ));
    };
    let mut w = std::io::BufWriter::new(
        std::fs::File::create(path).map_err(|e| format!("cannot write {}: {e}", path.display()))?,
    );
    crate::capture::write_pcap(&mut w, frames)
        .and_then(|()| w.flush())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// Whether the terminal has hung up: stdin or stdout reports POLLHUP.
fn terminal_gone() -> bool {
    let mut fds = [
        libc::pollfd {
            fd: 0,
            events: 0,
            revents: 0,
        },
        libc::pollfd {
            fd: 1,
            events: 0,
            revents: 0,
        },
    ];
    // SAFETY: two valid pollfd structs, zero timeout.
    let n = unsafe { libc::poll(fds.as_mut_ptr(), 2, 0) };
    n > 0
        && fds
            .iter()
            .any(|f| f.revents & (libc::POLLHUP | libc::POLLERR | libc::POLLNVAL) != 0)
}

/// How the view was asked to run.
struct How<'a> {
    auto: Option<Duration>,
    quiz: bool,
    pcap: Option<&'a Path>,
    /// Where a recording learns of a new terminal size.
    resized: Option<&'a AtomicU32>,
    interrupted: &'a AtomicBool,
}

fn event_loop<B: Backend>(
    terminal: &mut Terminal<B>,
    lesson: Lesson,
    opts: Options,
    how: &How,
) -> Result<Outcome, String> {
    let How {
        auto,
        quiz,
        pcap,
        resized,
        interrupted,
    } = *how;
    let fail = |e: EngineError| e.to_string();
    let size = terminal.size().map_err(|e| format!("{e:?}"))?;
    let mut width = ui::ladder_width(size.width);
    let mut app = App::new(lesson, opts, width).map_err(fail)?;
    app.auto = auto;
    if quiz {
        app.start_quiz();
    }
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
        let ready = event::poll(wait).map_err(|e| e.to_string())?;
        // A terminal that went away (closed window, killed tmux) leaves
        // stdin at end of file, where crossterm's read would spin forever.
        if interrupted.load(Ordering::SeqCst) || terminal_gone() {
            return Ok(Outcome::Interrupted);
        }
        if ready {
            match event::read().map_err(|e| e.to_string())? {
                TermEvent::Key(key) => {
                    let action = if app.wants_text() {
                        keys::text(key)
                    } else {
                        keys::action(key)
                    };
                    if let Some(action) = action {
                        app.handle(action).map_err(fail)?;
                        last_step = Instant::now();
                    }
                }
                TermEvent::Mouse(m) => {
                    if let Some(action) = keys::mouse(m) {
                        app.handle(action).map_err(fail)?;
                    }
                }
                TermEvent::Resize(cols, rows) => {
                    if let Some(r) = resized {
                        r.store(u32::from(cols) << 16 | u32::from(rows), Ordering::SeqCst);
                    }
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
            && !app.autoplay_paused()
        {
            // As Space would: a quiz question stops the autoplay.
            app.handle(app::Action::Next).map_err(fail)?;
            last_step = Instant::now();
        }
        if app.quit {
            if let Some(path) = pcap {
                write_pcap(path, app.frames())?;
            }
            return Ok(Outcome::Quit {
                passed: app.passed(),
                finished: app.at_end(),
            });
        }
    }
}
