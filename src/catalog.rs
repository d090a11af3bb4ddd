//! The lessons that ship with sockstep, and how a command line names one.

use std::fmt;

/// Built-in lessons: file name and contents, from `lessons/` at build time.
const BUILT_IN: &[(&str, &[u8])] = include!(concat!(env!("OUT_DIR"), "/lessons.rs"));

/// A lesson's source, as found from what the user typed.
#[derive(Debug, Clone)]
pub struct Source {
    /// The path shown in messages, such as `lessons/01-hello.lesson`.
    pub path: String,
    pub bytes: Vec<u8>,
}

/// A built-in lesson's number and name, from its file name `NN-name.lesson`.
#[derive(Debug, Clone)]
pub struct Entry {
    pub number: u32,
    pub name: String,
    pub file: &'static str,
    pub bytes: &'static [u8],
}

pub fn built_in() -> Vec<Entry> {
    BUILT_IN
        .iter()
        .filter_map(|(file, bytes)| {
            let stem = file.strip_suffix(".lesson")?;
            let (num, name) = stem.split_once('-')?;
            Some(Entry {
                number: num.parse().ok()?,
                name: name.to_string(),
                file,
                bytes,
            })
        })
        .collect()
}

#[derive(Debug)]
pub enum FindError {
    /// A path that could not be read.
    Read { path: String, error: std::io::Error },
    /// No built-in lesson has this name or number.
    Unknown {
        what: String,
        suggestion: Option<String>,
    },
}

impl fmt::Display for FindError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FindError::Read { path, error } => write!(f, "cannot read {path}: {error}"),
            FindError::Unknown { what, suggestion } => {
                write!(f, "no lesson is called `{what}`")?;
                if let Some(s) = suggestion {
                    write!(f, "\n  hint: did you mean `{s}`?")?;
                }
                write!(
                    f,
                    "\n  hint: `sockstep list` shows the lessons; a path to a .lesson file works too"
                )
            }
        }
    }
}

/// What to run after the built-in lesson at `path`, in a sentence; `None`
/// for a lesson that is not built in.
pub fn next_after(path: &str) -> Option<String> {
    let lessons = built_in();
    let this = lessons
        .iter()
        .find(|e| path == format!("lessons/{}", e.file))?;
    Some(
        match lessons
            .iter()
            .filter(|e| e.number > this.number)
            .min_by_key(|e| e.number)
        {
            Some(n) => crate::render::words::next_lesson(n.number, &n.name),
            None => crate::render::words::last_lesson(),
        },
    )
}

/// The largest lesson file sockstep reads.
const MAX_SIZE: u64 = 1 << 20;

/// Reads a regular file of at most MAX_SIZE bytes (not a device or a FIFO,
/// which could be endless or never answer).
pub fn read_file(path: &str) -> std::io::Result<Vec<u8>> {
    use std::io::{Error, ErrorKind, Read};
    let file = std::fs::File::open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(Error::new(ErrorKind::InvalidInput, "not a regular file"));
    }
    if meta.len() > MAX_SIZE {
        return Err(Error::new(
            ErrorKind::InvalidInput,
            "larger than 1 MiB: not a lesson",
        ));
    }
    let mut bytes = Vec::new();
    file.take(MAX_SIZE + 1).read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// Finds a lesson by path, number (`1`) or name (`hello`).
pub fn find(what: &str) -> Result<Source, FindError> {
    // A name or a number means a built-in lesson, even if a file of that
    // name (a compiled `hello`, say) sits in the current directory.
    if what.contains('/') || what.ends_with(".lesson") {
        return read_file(what)
            .map(|bytes| Source {
                path: what.to_string(),
                bytes,
            })
            .map_err(|error| FindError::Read {
                path: what.to_string(),
                error,
            });
    }
    let lessons = built_in();
    let found = match what.parse::<u32>() {
        Ok(n) => lessons.iter().find(|e| e.number == n),
        Err(_) => lessons.iter().find(|e| e.name == what),
    };
    match found {
        Some(e) => Ok(Source {
            path: format!("lessons/{}", e.file),
            bytes: e.bytes.to_vec(),
        }),
        None => Err(FindError::Unknown {
            what: what.to_string(),
            suggestion: lessons
                .iter()
                .map(|e| (strsim::damerau_levenshtein(what, &e.name), &e.name))
                .filter(|(d, _)| *d <= 2)
                .min()
                .map(|(_, n)| n.clone()),
        }),
    }
}
