//! Keys to actions: the only place that knows about key codes.

use super::app::Action;
use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

/// Keys while an answer is typed: characters are text.
pub fn text(key: KeyEvent) -> Option<Action> {
    if key.kind == KeyEventKind::Release {
        return None;
    }
    if key.modifiers.contains(KeyModifiers::CONTROL) {
        return (key.code == KeyCode::Char('c')).then_some(Action::Interrupt);
    }
    match key.code {
        KeyCode::Char(c) => Some(Action::Char(c)),
        KeyCode::Backspace => Some(Action::Backspace),
        KeyCode::Enter => Some(Action::Enter),
        KeyCode::Esc => Some(Action::Skip),
        _ => None,
    }
}

pub fn action(key: KeyEvent) -> Option<Action> {
    if key.kind == KeyEventKind::Release {
        return None;
    }
    if key.modifiers.contains(KeyModifiers::CONTROL) {
        return match key.code {
            KeyCode::Char('c') => Some(Action::Interrupt),
            _ => None,
        };
    }
    Some(match key.code {
        KeyCode::Char(' ') | KeyCode::Right | KeyCode::Char('n') => Action::Next,
        KeyCode::Left | KeyCode::Char('p') => Action::Back,
        KeyCode::Char('r') | KeyCode::Home => Action::Restart,
        KeyCode::End => Action::End,
        KeyCode::Char('g') => Action::Goto,
        KeyCode::Char(c @ '0'..='9') => Action::Digit(c as u8 - b'0'),
        KeyCode::Enter => Action::Enter,
        KeyCode::Char('a') => Action::ToggleAuto,
        KeyCode::Char('+') | KeyCode::Char('=') => Action::Faster,
        KeyCode::Char('-') => Action::Slower,
        KeyCode::Char('?') | KeyCode::Char('h') => Action::Help,
        KeyCode::Char('w') => Action::Glossary,
        KeyCode::Char('z') => Action::Zoom,
        KeyCode::Char('t') => Action::Diagram,
        KeyCode::Tab => Action::FocusNext,
        KeyCode::BackTab => Action::FocusBack,
        KeyCode::Up | KeyCode::Char('k') => Action::Up,
        KeyCode::Down | KeyCode::Char('j') => Action::Down,
        KeyCode::PageUp => Action::PageUp,
        KeyCode::PageDown => Action::PageDown,
        KeyCode::Char('q') | KeyCode::Esc => Action::Quit,
        KeyCode::Modifier(_) => return None,
        _ => Action::Other,
    })
}

/// The mouse wheel: a scroll of the pane under the pointer.
pub fn mouse(m: crossterm::event::MouseEvent) -> Option<Action> {
    use crossterm::event::MouseEventKind;
    let up = match m.kind {
        MouseEventKind::ScrollUp => true,
        MouseEventKind::ScrollDown => false,
        _ => return None,
    };
    Some(Action::Wheel {
        up,
        col: m.column,
        row: m.row,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    #[test]
    fn keys_map_to_actions() {
        assert_eq!(action(key(KeyCode::Char(' '))), Some(Action::Next));
        assert_eq!(action(key(KeyCode::Right)), Some(Action::Next));
        assert_eq!(action(key(KeyCode::Char('n'))), Some(Action::Next));
        assert_eq!(action(key(KeyCode::Left)), Some(Action::Back));
        assert_eq!(action(key(KeyCode::Char('p'))), Some(Action::Back));
        assert_eq!(action(key(KeyCode::Home)), Some(Action::Restart));
        assert_eq!(action(key(KeyCode::Char('r'))), Some(Action::Restart));
        assert_eq!(action(key(KeyCode::End)), Some(Action::End));
        assert_eq!(action(key(KeyCode::Char('g'))), Some(Action::Goto));
        assert_eq!(action(key(KeyCode::Char('7'))), Some(Action::Digit(7)));
        assert_eq!(action(key(KeyCode::Char('a'))), Some(Action::ToggleAuto));
        assert_eq!(action(key(KeyCode::Char('+'))), Some(Action::Faster));
        assert_eq!(action(key(KeyCode::Char('-'))), Some(Action::Slower));
        assert_eq!(action(key(KeyCode::Char('?'))), Some(Action::Help));
        assert_eq!(action(key(KeyCode::Esc)), Some(Action::Quit));
        assert_eq!(action(key(KeyCode::Char('q'))), Some(Action::Quit));
        let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(action(ctrl_c), Some(Action::Interrupt));
        assert_eq!(action(key(KeyCode::Char('z'))), Some(Action::Zoom));
        assert_eq!(action(key(KeyCode::Tab)), Some(Action::FocusNext));
        assert_eq!(action(key(KeyCode::PageDown)), Some(Action::PageDown));
        assert_eq!(action(key(KeyCode::Char('x'))), Some(Action::Other));
    }

    #[test]
    fn typing_an_answer_takes_every_character() {
        assert_eq!(text(key(KeyCode::Char('q'))), Some(Action::Char('q')));
        assert_eq!(text(key(KeyCode::Char('E'))), Some(Action::Char('E')));
        assert_eq!(text(key(KeyCode::Backspace)), Some(Action::Backspace));
        assert_eq!(text(key(KeyCode::Enter)), Some(Action::Enter));
        assert_eq!(text(key(KeyCode::Esc)), Some(Action::Skip));
        let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(text(ctrl_c), Some(Action::Interrupt));
    }
}
