//! Errors in a lesson file, pointing at the offending token.

use miette::{
    Diagnostic, GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteError,
    MietteSpanContents, SourceCode, SourceSpan, SpanContents,
};
use std::fmt;

/// The most characters of a line an error quotes: a window around the
/// offending token, so a huge line makes a short message.
const WINDOW: usize = 100;
/// The most characters of the lesson's own text a message quotes between
/// backquotes.
const QUOTE: usize = 60;

/// What is wrong with a lesson.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The file is empty or holds only comments.
    Empty,
    /// The file is not UTF-8 text, or holds control characters.
    NotText,
    /// A character no token starts with.
    UnexpectedChar,
    /// A string with no closing quote on its line.
    UnterminatedString,
    /// A token where another was expected.
    Syntax,
    /// A call sockstep does not know.
    UnknownCall,
    /// A constant that does not fit where it stands.
    UnknownConstant,
    /// A call with too few or too many arguments.
    ArgumentCount,
    /// A name no earlier step of the actor has bound.
    UnboundName,
    /// An address that does not parse, or a port over 65535.
    BadAddress,
    /// A step for an actor the `actors` line does not declare.
    UnknownActor,
    /// A header line missing, repeated or misplaced.
    Header,
    /// An expectation that does not fit its call.
    BadExpectation,
    /// `???` in an exercise: a blank the student fills in.
    Blank,
    /// Past one of a lesson's limits: its size, data, actors or steps.
    Limit,
}

/// An error in a lesson file, with the place it points at.
#[derive(Debug, Clone)]
pub struct LessonError {
    pub kind: ErrorKind,
    pub message: String,
    /// What the caret under the token says.
    pub label: String,
    pub help: Option<String>,
    /// Byte offset and length of the offending token.
    pub offset: usize,
    pub len: usize,
    path: String,
    /// The lines the error quotes, cut to a window around the token.
    window: Window,
    /// 1-based line and column (in characters) of the offending token.
    pub line: usize,
    pub column: usize,
}

impl LessonError {
    pub(super) fn new(
        kind: ErrorKind,
        path: &str,
        text: &str,
        (offset, len): (usize, usize),
        message: impl Into<String>,
        label: impl Into<String>,
    ) -> LessonError {
        let offset = floor_char(text, offset.min(text.len()));
        let len = len.min(text.len() - offset);
        let before = &text[..offset];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
        LessonError {
            kind,
            message: shorten_quotes(&message.into()),
            label: shorten_quotes(&label.into()),
            help: None,
            offset,
            len,
            path: path.to_string(),
            window: Window::new(path, text, offset, len, line, column),
            line,
            column,
        }
    }

    pub(super) fn help(mut self, help: impl Into<String>) -> LessonError {
        self.help = Some(shorten_quotes(&help.into()));
        self
    }

    /// The error as one JSON line, for `--format json`.
    pub fn to_json(&self) -> String {
        let e = crate::json::JsonEvent::Error {
            kind: format!("{:?}", self.kind),
            message: self.message.clone(),
            path: self.path.clone(),
            line: self.line,
            column: self.column,
            label: self.label.clone(),
            help: self.help.clone(),
        };
        serde_json::to_string(&e).expect("an error serializes")
    }

    /// The error drawn with the source line and a caret, as sockstep prints it.
    pub fn render(&self, color: bool) -> String {
        let theme = if color {
            GraphicalTheme::unicode()
        } else {
            GraphicalTheme::unicode_nocolor()
        };
        let mut theme = theme;
        theme.characters.underline = '^';
        theme.characters.underbar = '^';
        theme.characters.error = "error:".into();
        theme.characters.uarrow = '^';
        let mut out = String::new();
        GraphicalReportHandler::new_themed(theme)
            .with_width(100)
            .with_links(false)
            .render_report(&mut out, self)
            .expect("writing to a String cannot fail");
        out
    }
}

impl fmt::Display for LessonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for LessonError {}

impl Diagnostic for LessonError {
    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(&self.window)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        Some(Box::new(std::iter::once(LabeledSpan::new(
            Some(self.label.clone()),
            self.window.label.0,
            self.window.label.1,
        ))))
    }
}

/// The lines around an error (the one before, the offending one, the one
/// after), each cut to at most WINDOW characters: the offending line around
/// its token. Offsets are within `text`; `line` and `column` tell where the
/// token is in the lesson.
#[derive(Debug, Clone)]
struct Window {
    name: String,
    text: String,
    /// The 0-based line of the lesson the window's first line is.
    first_line: usize,
    /// The token within `text`: offset and length.
    label: (usize, usize),
    /// The token's 0-based line and column in the lesson.
    at: (usize, usize),
}

impl Window {
    fn new(
        name: &str,
        text: &str,
        offset: usize,
        len: usize,
        line: usize,
        column: usize,
    ) -> Window {
        let start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
        let end = text[offset..].find('\n').map_or(text.len(), |i| offset + i);
        let the_line = &text[start..end];
        let mut out = String::new();
        let mut first_line = line - 1;
        if start > 0 {
            let prev_start = text[..start - 1].rfind('\n').map_or(0, |i| i + 1);
            out.push_str(&clip(&text[prev_start..start - 1], 0));
            out.push('\n');
            first_line -= 1;
        }
        // The token's line: from a little before the token.
        let col = column - 1;
        let chars: Vec<(usize, char)> = the_line.char_indices().collect();
        // The whole line if it fits; else a window from a little before
        // the token, as far to the right as the line allows.
        let from = col
            .saturating_sub(WINDOW / 3)
            .min(chars.len().saturating_sub(WINDOW));
        let to = (from + WINDOW).min(chars.len());
        let byte = |i: usize| chars.get(i).map_or(the_line.len(), |(b, _)| *b);
        if from > 0 {
            out.push('…');
        }
        let label_start = out.len() + (byte(col) - byte(from));
        out.push_str(&the_line[byte(from)..byte(to)]);
        if to < chars.len() {
            out.push('…');
        }
        let token_end = (offset - start + len).min(byte(to));
        let label_len = token_end.saturating_sub(byte(col));
        if end < text.len() {
            let next_end = text[end + 1..]
                .find('\n')
                .map_or(text.len(), |i| end + 1 + i);
            out.push('\n');
            out.push_str(&clip(&text[end + 1..next_end], 0));
        }
        Window {
            name: name.to_string(),
            text: out,
            first_line,
            label: (label_start, label_len),
            at: (line - 1, col),
        }
    }
}

impl SourceCode for Window {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        before: usize,
        after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        // The token alone: where it is in the lesson, for the header line.
        if before == 0 && after == 0 {
            let from = span.offset().min(self.text.len());
            let to = (from + span.len()).min(self.text.len());
            return Ok(Box::new(MietteSpanContents::new_named(
                self.name.clone(),
                &self.text.as_bytes()[from..to],
                *span,
                self.at.0,
                self.at.1,
                1,
            )));
        }
        Ok(Box::new(MietteSpanContents::new_named(
            self.name.clone(),
            self.text.as_bytes(),
            SourceSpan::new(0.into(), self.text.len()),
            self.first_line,
            0,
            self.text.lines().count(),
        )))
    }
}

/// A line cut to WINDOW characters from `from`.
fn clip(line: &str, from: usize) -> String {
    let mut out: String = line.chars().skip(from).take(WINDOW).collect();
    if line.chars().count() > from + WINDOW {
        out.push('…');
    }
    out
}

/// The nearest char boundary at or before `i`.
pub(super) fn floor(text: &str, i: usize) -> usize {
    floor_char(text, i.min(text.len()))
}

fn floor_char(text: &str, mut i: usize) -> usize {
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// The text with each backquoted part longer than QUOTE characters cut
/// short: messages quote the lesson's own words, which may be huge.
fn shorten_quotes(text: &str) -> String {
    let mut out = String::with_capacity(text.len().min(1024));
    for (i, part) in text.split('`').enumerate() {
        if i > 0 {
            out.push('`');
        }
        if i % 2 == 1 && part.chars().count() > QUOTE {
            out.extend(part.chars().take(QUOTE - 1));
            out.push('…');
        } else {
            out.push_str(part);
        }
    }
    out
}
