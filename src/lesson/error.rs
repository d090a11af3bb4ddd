//! Errors in a lesson file, pointing at the offending token.

use miette::{Diagnostic, GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource};
use std::fmt;

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
    source: NamedSource<String>,
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
        let before = &text[..offset.min(text.len())];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
        LessonError {
            kind,
            message: message.into(),
            label: label.into(),
            help: None,
            offset,
            len,
            source: NamedSource::new(path, text.to_string()),
            line,
            column,
        }
    }

    pub(super) fn help(mut self, help: impl Into<String>) -> LessonError {
        self.help = Some(help.into());
        self
    }

    /// The error as one JSON line, for `--format json`.
    pub fn to_json(&self) -> String {
        let e = crate::json::JsonEvent::Error {
            kind: format!("{:?}", self.kind),
            message: self.message.clone(),
            path: self.source.name().to_string(),
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
        Some(&self.source)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        Some(Box::new(std::iter::once(LabeledSpan::new(
            Some(self.label.clone()),
            self.offset,
            self.len,
        ))))
    }
}
