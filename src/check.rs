//! `sockstep check`, `sockstep exercises` and `sockstep watch`: exercises
//! are lessons that do not yet do what their goal says. Checking one runs
//! it and says whether it does now, by the goal sockstep ships with the
//! exercise (see [`crate::exercise`]) and by the student's own
//! expectations.

use crate::cli::{EXIT_BAD_INPUT, EXIT_INTERNAL, EXIT_OK, EXIT_UNEXPECTED};
use crate::engine::{Options, Run};
use crate::event::Event;
use crate::exercise::{self, Exercise};
use crate::lesson::{ErrorKind, Lesson};
use crate::render::{Transcript, TranscriptOptions, words};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Writes `$s` to stdout, or returns the exit status a failed write ends
/// with.
macro_rules! out {
    ($($arg:tt)*) => {
        if let Err(code) = crate::cli::print_stdout(&format!($($arg)*)) {
            return code;
        }
    };
}

/// Where `sockstep exercises` writes the exercises when given no folder.
pub const COPY: &str = "sockstep-exercises";

/// Where the hints asked for so far are counted, in the exercises' folder.
const HINTS_SEEN: &str = ".sockstep-hints";

/// How one exercise stands.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    Done,
    /// Why not: the first thing that did not go as the goal needs.
    NotYet(String),
}

fn options() -> Result<Options, ExitCode> {
    match std::env::current_exe() {
        Ok(exe) => Ok(Options::new(exe)),
        Err(e) => {
            eprintln!("error: cannot find the sockstep executable: {e}");
            Err(ExitCode::from(EXIT_INTERNAL))
        }
    }
}

pub fn check(
    file: Option<&str>,
    hint: bool,
    json: bool,
    html: bool,
    programs: &[String],
) -> ExitCode {
    let Some(file) = file else {
        return progress(None);
    };
    if hint {
        return show_hint(file);
    }
    let opts = match options() {
        Ok(o) => o,
        Err(code) => return code,
    };
    match check_file(file, json, html, &opts, programs) {
        Ok(Verdict::Done) => ExitCode::from(EXIT_OK),
        Ok(Verdict::NotYet(_)) => ExitCode::from(EXIT_UNEXPECTED),
        Err(code) => code,
    }
}

/// Checks one file, printing its run up to where it goes wrong and the
/// verdict.
fn check_file(
    file: &str,
    json: bool,
    html: bool,
    opts: &Options,
    programs: &[String],
) -> Result<Verdict, ExitCode> {
    macro_rules! put {
        ($($arg:tt)*) => {
            crate::cli::print_stdout(&format!($($arg)*))?
        };
    }
    let bytes = match crate::catalog::read_file(file) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("error: cannot read {file}: {e}");
            return Err(ExitCode::from(EXIT_BAD_INPUT));
        }
    };
    let known = exercise::find(file, exercise::title(&bytes).as_deref());
    let lesson = match Lesson::parse(file, &bytes) {
        Ok(l) => l,
        Err(e) => {
            eprint!("{}", e.render(false));
            let why = if e.kind == ErrorKind::Blank {
                "a blank is left to fill in"
            } else {
                "the exercise has an error"
            };
            let text = format!("✗ not yet: {why}. `sockstep check {file} --hint` gives a hint.");
            if json {
                put!("{}\n", e.to_json());
            }
            if html {
                let mut page = crate::render::player::Player::new(None, 80);
                page.verdict(&format!("{}\n{text}", e.render(false)), false);
                put!("{}", page.html());
            } else {
                put!("{}", say(json, false, &text));
            }
            return Ok(Verdict::NotYet(why.into()));
        }
    };
    // `--actor client=./client`: the student's program makes those steps.
    let mut opts = opts.clone();
    opts.programs = match crate::cli::actor_programs(&lesson, programs) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return Err(ExitCode::from(EXIT_BAD_INPUT));
        }
    };
    let opts = &opts;
    let mut transcript = Transcript::new(TranscriptOptions::stable_plain());
    let mut lines = crate::json::Json::new();
    let mut page = html.then(|| crate::render::player::Player::new(Some(&lesson), 80));
    let title = lesson.title.clone();
    let mut shown = true;
    let mut failed: Option<ExitCode> = None;
    let verdict = judge(lesson, known.as_ref(), opts, |events| {
        // The run up to where it goes wrong, and no further.
        if shown && failed.is_none() {
            if let Some(p) = &mut page {
                p.events(events);
            } else {
                let text = if json {
                    lines.events(events)
                } else {
                    transcript.events(events)
                };
                failed = crate::cli::print_stdout(&text).err();
            }
        }
        if events.iter().any(goes_wrong) {
            shown = false;
        }
    });
    if let Some(code) = failed {
        return Err(code);
    }
    let own = if known.is_none() {
        " (not one of sockstep's exercises: checked against its own expectations)"
    } else {
        ""
    };
    match verdict {
        Ok(Verdict::Done) => {
            let text = format!("✓ {title}: done, it does what its goal says.{own}");
            match &mut page {
                Some(p) => {
                    p.verdict(&text, true);
                    put!("{}", p.html());
                }
                None => put!("{}", say(json, true, &text)),
            }
            Ok(Verdict::Done)
        }
        Ok(Verdict::NotYet(why)) => {
            let text =
                format!("✗ not yet: {why}.{own} Try again, or `sockstep check {file} --hint`.");
            match &mut page {
                Some(p) => {
                    p.verdict(&text, false);
                    put!("{}", p.html());
                }
                None => put!("{}", say(json, false, &text)),
            }
            Ok(Verdict::NotYet(why))
        }
        Err(e) => {
            eprintln!("error: {e}");
            Err(ExitCode::from(EXIT_INTERNAL))
        }
    }
}

/// The verdict's line, as text or JSON.
fn say(json: bool, done: bool, text: &str) -> String {
    if json {
        let e = crate::json::JsonEvent::Check {
            done,
            text: text.to_string(),
        };
        format!(
            "{}\n",
            serde_json::to_string(&e).expect("a verdict serializes")
        )
    } else {
        format!("\n{text}\n")
    }
}

/// Whether an event shows the run not going as its own expectations say.
fn goes_wrong(e: &Event) -> bool {
    match e {
        Event::ExpectFailed { .. } | Event::NotRun { .. } | Event::Mismatch { .. } => true,
        Event::Crashed { expected, .. } => !expected,
        Event::Deadlock { expected, .. } => !expected,
        _ => false,
    }
}

/// Runs `lesson` to the end, handing each step's events to `each`, and
/// judges the run: by the student's own expectations, then by the goal of
/// the exercise it is, if it is one.
pub fn judge(
    lesson: Lesson,
    exercise: Option<&Exercise>,
    opts: &Options,
    mut each: impl FnMut(&[Event]),
) -> Result<Verdict, crate::engine::EngineError> {
    let lines: Vec<usize> = lesson.steps.iter().map(|s| s.line).collect();
    let line = |step: usize| step.checked_sub(1).and_then(|i| lines.get(i).copied());
    let judged = lesson.clone();
    let mut run = Run::start(lesson, opts)?;
    let mut all: Vec<Event> = run.header().to_vec();
    each(run.header());
    while let Some(events) = run.step()? {
        each(&events);
        all.extend(events);
    }
    if let Some(why) = all.iter().find(|e| goes_wrong(e)) {
        return Ok(Verdict::NotYet(describe(why, &line)));
    }
    if let Some(e) = exercise
        && let Some(first) = exercise::unmet(e.goals, &judged, &all).first()
    {
        return Ok(Verdict::NotYet(words::unmet(first, line)));
    }
    Ok(if run.passed() {
        Verdict::Done
    } else {
        Verdict::NotYet("the run did not go as its goal needs".into())
    })
}

fn describe(e: &Event, line: &impl Fn(usize) -> Option<usize>) -> String {
    match e {
        Event::ExpectFailed { step, got, .. } => {
            format!(
                "{}, {}",
                words::step_at(*step, line(*step)),
                words::got(got)
            )
        }
        Event::Crashed { step, .. } => {
            format!("a process died {}", words::step_at(*step, line(*step)))
        }
        Event::Deadlock { waits, .. } if waits.is_empty() => {
            "the lesson expects a deadlock, and every step ran".into()
        }
        Event::Deadlock { waits, .. } => {
            let at: Vec<String> = waits
                .iter()
                .map(|w| words::step_at(w.step, line(w.step)))
                .collect();
            format!(
                "the run deadlocks: the calls {} wait for ever",
                at.join(", ")
            )
        }
        Event::NotRun { steps, .. } => format!("{} steps never ran", steps.len()),
        Event::Mismatch {
            step,
            expected,
            made,
            ..
        } => words::program_mismatch(*step, line(*step), expected, made.as_ref()),
        _ => "something went wrong".into(),
    }
}

/// `--hint`: the next hint for this exercise, one more each time it is
/// asked for.
fn show_hint(file: &str) -> ExitCode {
    let bytes = match crate::catalog::read_file(file) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("error: cannot read {file}: {e}");
            return ExitCode::from(EXIT_BAD_INPUT);
        }
    };
    let Some(ex) = exercise::find(file, exercise::title(&bytes).as_deref()) else {
        // A lesson of the author's own may carry its hint.
        match exercise::header(&bytes, "hint") {
            Some(h) => out!("hint: {h}\n"),
            None => out!("{file} is not one of sockstep's exercises, and has no hint line\n"),
        }
        return ExitCode::from(EXIT_OK);
    };
    let dir = Path::new(file).parent().unwrap_or(Path::new("."));
    let seen_file = dir.join(HINTS_SEEN);
    let mut seen: Vec<(String, usize)> = std::fs::read_to_string(&seen_file)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let (f, n) = l.rsplit_once(' ')?;
            Some((f.to_string(), n.parse().ok()?))
        })
        .collect();
    let n = seen
        .iter()
        .find(|(f, _)| f == ex.file)
        .map_or(0, |(_, n)| *n);
    let shown = n.min(ex.hints.len().saturating_sub(1));
    let Some(hint) = ex.hints.get(shown) else {
        out!("this exercise has no hint\n");
        return ExitCode::from(EXIT_OK);
    };
    let last = shown + 1 == ex.hints.len();
    out!(
        "hint {} of {}: {hint}\n{}",
        shown + 1,
        ex.hints.len(),
        if last {
            "That is the last hint.\n".to_string()
        } else {
            format!("Ask again for the next: sockstep check {file} --hint\n")
        }
    );
    seen.retain(|(f, _)| f != ex.file);
    seen.push((ex.file.to_string(), shown + 1));
    let text: String = seen.iter().map(|(f, n)| format!("{f} {n}\n")).collect();
    // Counting the hints is a convenience: a folder that cannot be written
    // shows the first hint again next time.
    let _ = std::fs::write(&seen_file, text);
    ExitCode::from(EXIT_OK)
}

/// The folder that holds the student's exercises: the one named, else the
/// current folder if it holds any, else `exercises/` or the folder
/// `sockstep exercises` writes.
fn exercise_dir(named: Option<&Path>) -> Result<PathBuf, ExitCode> {
    let holds = |d: &Path| exercise::all().iter().any(|e| d.join(e.file).is_file());
    if let Some(d) = named {
        if holds(d) {
            return Ok(d.to_path_buf());
        }
        eprintln!(
            "error: {} holds none of sockstep's exercises; `sockstep exercises {}` writes them there",
            d.display(),
            d.display()
        );
        return Err(ExitCode::from(EXIT_BAD_INPUT));
    }
    for d in [".", "exercises", COPY] {
        if holds(Path::new(d)) {
            return Ok(PathBuf::from(d));
        }
    }
    eprintln!(
        "error: no exercises here. `sockstep exercises` writes a copy to ./{COPY}; then \
         `cd {COPY}` and `sockstep check` again"
    );
    Err(ExitCode::from(EXIT_BAD_INPUT))
}

/// The path to show for an exercise file in `dir`.
fn shown(dir: &Path, file: &str) -> String {
    if dir == Path::new(".") {
        file.to_string()
    } else {
        dir.join(file).display().to_string()
    }
}

/// Whether the exercise `file` in `dir` is done, checked without a word.
fn is_done(dir: &Path, ex: &Exercise, opts: &Options) -> Result<bool, ExitCode> {
    let path = dir.join(ex.file).display().to_string();
    let Ok(bytes) = crate::catalog::read_file(&path) else {
        return Ok(false);
    };
    let Ok(lesson) = Lesson::parse(&path, &bytes) else {
        return Ok(false);
    };
    match judge(lesson, Some(ex), opts, |_| {}) {
        Ok(v) => Ok(v == Verdict::Done),
        Err(e) => {
            eprintln!("error: {e}");
            Err(ExitCode::from(EXIT_INTERNAL))
        }
    }
}

/// `sockstep check` with no file: every exercise, done or not. Exits 0
/// once all are done.
pub fn progress(dir: Option<&Path>) -> ExitCode {
    let (dir, opts) = match exercise_dir(dir).and_then(|d| Ok((d, options()?))) {
        Ok(both) => both,
        Err(code) => return code,
    };
    let all = exercise::all();
    let mut done = 0;
    let mut next: Option<String> = None;
    for (i, ex) in all.iter().enumerate() {
        let ok = match is_done(&dir, ex, &opts) {
            Ok(v) => v,
            Err(code) => return code,
        };
        let title = exercise::title(ex.start).unwrap_or_else(|| ex.file.to_string());
        out!("{} {:>2}  {title}\n", if ok { "✓" } else { "✗" }, i + 1);
        if ok {
            done += 1;
        } else if next.is_none() {
            next = Some(shown(&dir, ex.file));
        }
    }
    out!("\n{done} of {} exercises done.\n", all.len());
    match next {
        Some(n) => {
            out!("Next: sockstep check {n}\n");
            ExitCode::from(EXIT_UNEXPECTED)
        }
        None => ExitCode::from(EXIT_OK),
    }
}

/// `sockstep exercises [DIR]`: a copy of the exercises to work on. Files
/// already there are kept: they may hold the student's work.
pub fn write_copy(dir: Option<&Path>) -> ExitCode {
    let dir = dir.unwrap_or(Path::new(COPY));
    if let Err(e) = std::fs::create_dir_all(dir) {
        eprintln!("error: cannot make {}: {e}", dir.display());
        return ExitCode::from(EXIT_BAD_INPUT);
    }
    let mut wrote = 0;
    let mut kept = Vec::new();
    for ex in exercise::all() {
        let path = dir.join(ex.file);
        if path.exists() {
            kept.push(ex.file);
            continue;
        }
        if let Err(e) = std::fs::write(&path, ex.start) {
            eprintln!("error: cannot write {}: {e}", path.display());
            return ExitCode::from(EXIT_BAD_INPUT);
        }
        wrote += 1;
    }
    let d = dir.display();
    out!("wrote {wrote} exercises to {d}\n");
    if !kept.is_empty() {
        out!(
            "kept {} already there (your work): {}\n",
            kept.len(),
            kept.join(", ")
        );
    }
    out!(
        "\nNext:\n  cd {d}\n  sockstep check      your progress, and the next exercise\n  \
         sockstep watch      checks each exercise again every time you save it\n"
    );
    ExitCode::from(EXIT_OK)
}

/// `sockstep watch [DIR]`: checks the first exercise not done, again each
/// time a file in the folder is saved, and moves on when it is done.
pub fn watch(dir: Option<&Path>) -> ExitCode {
    use notify::{EventKind, RecursiveMode, Watcher};
    let (dir, opts) = match exercise_dir(dir).and_then(|d| Ok((d, options()?))) {
        Ok(both) => both,
        Err(code) => return code,
    };
    let (tx, rx) = std::sync::mpsc::channel();
    let mut watcher = match notify::recommended_watcher(tx) {
        Ok(w) => w,
        Err(e) => {
            eprintln!("error: cannot watch files: {e}");
            return ExitCode::from(EXIT_INTERNAL);
        }
    };
    if let Err(e) = watcher.watch(&dir, RecursiveMode::NonRecursive) {
        eprintln!("error: cannot watch {}: {e}", dir.display());
        return ExitCode::from(EXIT_INTERNAL);
    }
    let all = exercise::all();
    loop {
        let mut current = None;
        for ex in &all {
            match is_done(&dir, ex, &opts) {
                Ok(true) => {}
                Ok(false) => {
                    current = Some(ex);
                    break;
                }
                Err(code) => return code,
            }
        }
        let Some(ex) = current else {
            out!("\n✓ All {} exercises are done.\n", all.len());
            return ExitCode::from(EXIT_OK);
        };
        let file = shown(&dir, ex.file);
        out!("\n── sockstep watch: {file} ──\n");
        if let Err(code) = check_file(&file, false, false, &opts, &[]) {
            return code;
        }
        out!(
            "\nWatching {}: save the file to check it again; Ctrl-C ends.\n",
            dir.display()
        );
        // Wait for a save of an exercise file, then for the editor to be
        // done writing (a save can be several events).
        loop {
            match rx.recv() {
                Ok(Ok(ev))
                    if matches!(ev.kind, EventKind::Modify(_) | EventKind::Create(_))
                        && ev
                            .paths
                            .iter()
                            .any(|p| p.extension().is_some_and(|e| e == "lesson")) =>
                {
                    break;
                }
                Ok(_) => {}
                Err(_) => {
                    eprintln!("error: the file watcher stopped");
                    return ExitCode::from(EXIT_INTERNAL);
                }
            }
        }
        while rx
            .recv_timeout(std::time::Duration::from_millis(100))
            .is_ok()
        {}
    }
}
