//! The book's generated chapters: each lesson with its source and its
//! transcript as sockstep prints it, the exercises, and the reference
//! tables. `sockstep book book/src` writes them; a test fails when the
//! files differ from what would be written.

use crate::call::names;
use crate::catalog;
use crate::engine::{EngineError, Options, Run};
use crate::errno::{ERRNOS, errno_desc};
use crate::lesson::Lesson;
use crate::render::{Transcript, TranscriptOptions};
use std::fmt::Write;
use std::path::Path;

/// Every generated file: its path below the book's `src/`, and its text.
pub fn chapters(exe: &Path) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    let mut index = String::from("# The lessons\n\n");
    for e in catalog::built_in() {
        let path = format!("lessons/{}", e.file);
        let lesson = Lesson::parse(&path, e.bytes).map_err(|err| err.to_string())?;
        let name = format!("lessons/{:02}-{}.md", e.number, e.name);
        writeln!(
            index,
            "- [{}. {}]({:02}-{}.md)",
            e.number, lesson.title, e.number, e.name
        )
        .ok();
        let text = lesson_chapter(&lesson, exe).map_err(|err| err.to_string())?;
        out.push((name, text));
    }
    out.push(("lessons/README.md".into(), index));
    out.push(("exercises.md".into(), exercises_chapter()));
    out.push(("reference/calls.md".into(), calls_reference()));
    out.push(("reference/errnos.md".into(), errno_reference()));
    Ok(out)
}

/// Writes the chapters below `src`.
pub fn write(src: &Path, exe: &Path) -> Result<usize, String> {
    let files = chapters(exe)?;
    for (name, text) in &files {
        let path = src.join(name);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(files.len())
}

fn lesson_chapter(lesson: &Lesson, exe: &Path) -> Result<String, EngineError> {
    let mut text = format!("# {}\n\n", lesson.title);
    if let Some(goal) = &lesson.goal {
        writeln!(text, "*{goal}*\n").ok();
    }
    writeln!(
        text,
        "Run it with `sockstep run {}`. The lesson:\n\n```text\n{}\n```\n",
        lesson.path,
        lesson.source.trim_end()
    )
    .ok();
    writeln!(
        text,
        "What sockstep prints, with ephemeral ports named `eph1`, `eph2`... as in\n\
         every stable transcript:\n"
    )
    .ok();
    let mut run = Run::start(lesson.clone(), &Options::new(exe))?;
    let mut transcript = Transcript::new(TranscriptOptions::stable_plain());
    let mut body = transcript.events(run.header());
    while let Some(events) = run.step()? {
        body.push_str(&transcript.events(&events));
    }
    writeln!(text, "```text\n{}\n```", body.trim_end()).ok();
    Ok(text)
}

fn exercises_chapter() -> String {
    let mut text = String::from(
        "# Exercises\n\n\
         Each exercise is a lesson that does not yet do what its goal says.\n\
         `sockstep exercises` writes a copy of them to `./sockstep-exercises`; edit\n\
         one there, and `sockstep check FILE` runs it, shows the run up to where it\n\
         goes wrong, and says whether it now does what its goal says. The goal is\n\
         checked by sockstep against what the run did, whatever the file expects.\n\
         `sockstep check FILE --hint` gives a hint, and the next one when asked\n\
         again; `sockstep check` alone shows your progress, and `sockstep watch`\n\
         checks the exercise you are on each time you save it.\n\n",
    );
    for (i, ex) in crate::exercise::all().iter().enumerate() {
        let field = |key: &str| crate::exercise::header(ex.start, key).unwrap_or_default();
        writeln!(
            text,
            "## {}. {}\n\n`{}`: {}\n",
            i + 1,
            field("lesson"),
            ex.file,
            field("goal")
        )
        .ok();
    }
    text
}

fn calls_reference() -> String {
    let mut text = String::from(
        "# Calls and constants\n\n\
         The calls a step can make, each as sockstep writes it and as C declares it\n\
         (a lesson may use either: `recv(c, 1024)` or `recv(c, buf, sizeof(buf), 0);`).\n\n",
    );
    for c in crate::calls::CALLS {
        let gives = match c.returns {
            crate::calls::Returns::Fd => "a new fd",
            crate::calls::Returns::TwoFds => "two new fds",
            crate::calls::Returns::Count => "a count of bytes",
            crate::calls::Returns::Zero => "0",
            crate::calls::Returns::Address => "0, and an address",
            crate::calls::Returns::Flags => "the fd's flags (F_GETFL), or 0",
            crate::calls::Returns::Ready => "how many fds are ready",
            crate::calls::Returns::Value => "the option's value",
            crate::calls::Returns::Pid => "the child's pid",
        };
        writeln!(text, "## {}\n\n{}\n", c.word, c.about).ok();
        writeln!(text, "- sockstep: `{}`", c.plain).ok();
        writeln!(text, "- C: `{}`", c.c).ok();
        writeln!(text, "- gives: {gives}, or -1 and an errno").ok();
        if let Some(w) = c.parks {
            writeln!(text, "- can block: it waits for {w}").ok();
        }
        text.push('\n');
    }
    text.push_str("## Constants\n");
    let list = |items: Vec<&str>| {
        items
            .iter()
            .map(|n| format!("`{n}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    writeln!(
        text,
        "\nAddress families: {}.",
        list(names::DOMAINS.iter().map(|(n, _)| *n).collect())
    )
    .ok();
    writeln!(
        text,
        "\nSocket types: {}.",
        list(names::TYPES.iter().map(|(n, _)| *n).collect())
    )
    .ok();
    writeln!(
        text,
        "\nProtocols: {}.",
        list(names::PROTOCOLS.iter().map(|(n, _)| *n).collect())
    )
    .ok();
    writeln!(text, "\nSocket options, with their level:\n").ok();
    for (opt, level, _) in names::OPTS {
        writeln!(text, "- `{level}`, `{opt}`").ok();
    }
    writeln!(
        text,
        "\nMessage flags: {}.",
        list(names::FLAGS.iter().map(|(n, _)| *n).collect())
    )
    .ok();
    writeln!(
        text,
        "\n`shutdown` takes {}.",
        list(names::HOWS.iter().map(|(n, _)| *n).collect())
    )
    .ok();
    text
}

fn errno_reference() -> String {
    let mut text = String::from(
        "# Errnos\n\nThe errnos a lesson can expect (`=> ECONNREFUSED`), with the C\n\
         library's words for them; the transcript adds what each means for the\n\
         call that got it.\n\n| errno | number | meaning |\n|---|---|---|\n",
    );
    for (name, n) in ERRNOS {
        writeln!(text, "| `{name}` | {n} | {} |", errno_desc(*n)).ok();
    }
    text
}
