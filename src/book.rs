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
        let (text, player, svg) =
            lesson_chapter(&lesson, &e, exe).map_err(|err| err.to_string())?;
        out.push((name, text));
        out.push((format!("players/{:02}-{}.html", e.number, e.name), player));
        out.push((format!("diagrams/{:02}-{}.svg", e.number, e.name), svg));
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

/// A lesson's chapter, and the page of its player.
fn lesson_chapter(
    lesson: &Lesson,
    e: &catalog::Entry,
    exe: &Path,
) -> Result<(String, String, String), EngineError> {
    let mut text = format!("# {}\n\n", lesson.title);
    if let Some(goal) = &lesson.goal {
        writeln!(text, "*{goal}*\n").ok();
    }
    // The chapter's own words: what leads into the lesson, and questions
    // after it (book/prose/NN-name.md, written by hand).
    let prose = std::fs::read_to_string(format!(
        "{}/book/prose/{:02}-{}.md",
        env!("CARGO_MANIFEST_DIR"),
        e.number,
        e.name
    ))
    .unwrap_or_default();
    let (lead, questions) = match prose.split_once("\n## Questions\n") {
        Some((lead, q)) => (lead.trim(), q.trim()),
        None => (prose.trim(), ""),
    };
    if !lead.is_empty() {
        writeln!(text, "{lead}\n").ok();
    }
    let player = format!("../players/{:02}-{}.html", e.number, e.name);
    writeln!(
        text,
        "Step through the run below (← and → on the player, or its buttons; \
         [full size]({player})), or run it yourself with `sockstep run {}`.\n\n\
         <iframe src=\"{player}\" title=\"{}, step by step\" loading=\"lazy\" \
         style=\"width: 100%; height: 42em; border: 1px solid #888;\"></iframe>\n",
        e.name, lesson.title
    )
    .ok();
    writeln!(
        text,
        "The lesson:\n\n```text\n{}\n```\n",
        lesson.source.trim_end()
    )
    .ok();
    for (name, c) in crate::cgen::programs(lesson) {
        writeln!(
            text,
            "<details><summary>The same as a C program: <code>{name}.c</code> \
             (<code>sockstep c {}</code> writes it)</summary>\n\n```c\n{}\n```\n\n</details>\n",
            e.name,
            c.trim_end()
        )
        .ok();
    }
    writeln!(
        text,
        "What sockstep prints (the narration is in the lesson above), with \
         ephemeral ports named `eph1`, `eph2`... as in every stable transcript:\n"
    )
    .ok();
    let mut run = Run::start(lesson.clone(), &Options::new(exe))?;
    let mut transcript = Transcript::new(TranscriptOptions {
        narration: false,
        ..TranscriptOptions::stable_plain()
    });
    let mut page = crate::render::player::Player::new(Some(lesson), 80).without_events();
    let mut svg = crate::render::svg::Svg::new();
    let mut body = transcript.events(run.header());
    page.events(run.header());
    svg.events(run.header());
    while let Some(events) = run.step()? {
        body.push_str(&transcript.events(&events));
        page.events(&events);
        svg.events(&events);
    }
    writeln!(text, "```text\n{}\n```", body.trim_end()).ok();
    let diagram = format!("../diagrams/{:02}-{}.svg", e.number, e.name);
    writeln!(
        text,
        "\nThe run as a sequence diagram (`sockstep run {} --format svg` draws it):\n\n\
         [![The run of lesson {}, a lifeline per actor]({diagram})]({diagram})",
        e.name, e.number
    )
    .ok();
    if !questions.is_empty() {
        writeln!(text, "\n## Questions\n\n{questions}").ok();
    }
    let exercises = exercises_for(e.number);
    if !exercises.is_empty() {
        let list: Vec<String> = exercises
            .iter()
            .map(|ex| format!("`sockstep check sockstep-exercises/{ex}`"))
            .collect();
        writeln!(
            text,
            "\n## Exercise\n\n`sockstep exercises` writes the exercises to \
             `./sockstep-exercises`. For this lesson: {} (each says when the \
             exercise is done; `--hint` gives a hint).",
            list.join(", then ")
        )
        .ok();
    }
    Ok((text, page.html(), svg.finish()))
}

/// The exercises that practise lesson `number`'s point.
fn exercises_for(number: u32) -> &'static [&'static str] {
    match number {
        2 => &["09-refused.lesson", "01-listen-first.lesson"],
        3 => &["03-who-speaks-first.lesson"],
        4 => &["02-restart.lesson"],
        5 => &["05-backlog.lesson"],
        6 => &["04-end-of-file.lesson"],
        7 => &["06-half-close.lesson"],
        8 => &["07-no-sigpipe.lesson"],
        20 => &["08-udp-reply.lesson"],
        _ => &[],
    }
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
