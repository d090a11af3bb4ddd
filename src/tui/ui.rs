//! Drawing the full-screen view from the app's state: `draw(frame, &app)`.
//! No colour carries meaning alone: states, markers and alerts are written.
//! Nothing is cut without a mark that says how much more there is and the
//! key that shows it; every pane scrolls.

use super::app::{App, Pane, View};
use crate::render::words;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style, Stylize};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Cell, Clear, Paragraph, Row, Table, Wrap};
use unicode_width::UnicodeWidthStr;

/// Terminals at least this wide show the source beside the ladder.
const WIDE: u16 = 120;
/// The smallest terminal the view draws in.
pub const MIN_COLS: u16 = 60;
pub const MIN_ROWS: u16 = 20;

/// The ladder's width for a terminal `cols` wide: what the app renders
/// the transcript at.
pub fn ladder_width(cols: u16) -> usize {
    let w = if cols >= WIDE { cols * 3 / 5 } else { cols };
    usize::from(w.saturating_sub(2)).max(40)
}

pub fn draw(frame: &mut Frame, app: &App) {
    let area = frame.area();
    if area.width < MIN_COLS || area.height < MIN_ROWS {
        let text = words::too_small(area.width, area.height, MIN_COLS, MIN_ROWS);
        frame.render_widget(Paragraph::new(text).wrap(Wrap { trim: true }), area);
        return;
    }
    let [title, main, status] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(1),
        Constraint::Length(1),
    ])
    .areas(area);
    draw_title(frame, app, title);
    draw_status(frame, app, status);

    let mut views = [View::default(); 4];
    if app.diagram {
        draw_diagram(frame, app, main);
    } else if app.zoom {
        views[app.focus.index()] = draw_pane(frame, app, app.focus, main);
    } else {
        for (pane, rect) in layout(app, main) {
            views[pane.index()] = draw_pane(frame, app, pane, rect);
        }
    }
    app.views.set(views);
    if app.help {
        draw_overlay(frame, area, " keys ", &words::help_keys());
    } else if app.glossary {
        draw_overlay(frame, area, " words ", &words::glossary());
    }
}

/// Where each pane goes. The panes but the focused one take their usual
/// room, less on a small terminal; the focused one (the ladder, unless Tab
/// moved the focus) what is left, or what it needs.
fn layout(app: &App, main: Rect) -> Vec<(Pane, Rect)> {
    let screen = app.screen();
    let small = main.height < 30;
    let tiny = main.height < 22;
    let narrow = main.width < WIDE;
    let narration_lines = wrap(
        &narration_text(app),
        usize::from(main.width.saturating_sub(2)),
    )
    .len() as u16;
    let compact = |pane: Pane| -> u16 {
        match pane {
            Pane::Ladder => 8,
            Pane::Source => match (tiny, small) {
                (true, _) => 3,
                (false, true) => 3,
                _ => 7,
            },
            // All of the narration where the screen has room for it.
            Pane::Narration => match (tiny, small) {
                (true, _) => 3,
                (false, true) if main.height < 26 => 4,
                (false, true) => narration_lines.clamp(1, 4) + 2,
                _ => narration_lines.clamp(1, 6) + 2,
            },
            Pane::Sockets => {
                let rows = screen.rows.len().max(1) as u16;
                rows.min(match (tiny, small) {
                    (true, _) => 1,
                    (false, true) if main.height < 26 => 2,
                    (false, true) => 4,
                    _ => 10,
                }) + 3
            }
        }
    };
    // What the focused pane would take to show all it has.
    let wanted = |pane: Pane| -> u16 {
        match pane {
            Pane::Ladder => u16::MAX,
            Pane::Source => app.lesson().source.lines().count() as u16 + 2,
            Pane::Narration => narration_lines + 2,
            Pane::Sockets => screen.rows.len().max(1) as u16 + 3,
        }
    };
    let stacked: Vec<Pane> = if narrow {
        vec![Pane::Ladder, Pane::Source, Pane::Narration, Pane::Sockets]
    } else {
        vec![Pane::Ladder, Pane::Narration, Pane::Sockets]
    };
    let mut heights: Vec<u16> = stacked.iter().map(|p| compact(*p)).collect();
    // The focused pane (if it is not the ladder) grows into the ladder's
    // room, leaving the ladder its least.
    // Before the first step the ladder is empty: the introduction has it.
    let focus = if app.at == 0 && app.focus == Pane::Ladder {
        Pane::Narration
    } else {
        app.focus
    };
    if focus != Pane::Ladder
        && let Some(i) = stacked.iter().position(|p| *p == focus)
    {
        let others: u16 = heights
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i && *j != 0)
            .map(|(_, h)| *h)
            .sum();
        let room = main.height.saturating_sub(others + 6);
        heights[i] = wanted(focus).min(room).max(heights[i]);
    }
    let rest: u16 = heights[1..].iter().sum();
    heights[0] = main.height.saturating_sub(rest).max(3);
    let constraints: Vec<Constraint> = heights.iter().map(|h| Constraint::Length(*h)).collect();
    let rects = Layout::vertical(constraints).split(main);
    let mut out: Vec<(Pane, Rect)> = stacked.iter().copied().zip(rects.iter().copied()).collect();
    if !narrow {
        // The source beside the ladder.
        let ladder = out[0].1;
        let [l, s] = Layout::horizontal([Constraint::Percentage(60), Constraint::Percentage(40)])
            .areas(ladder);
        out[0].1 = l;
        out.push((Pane::Source, s));
    }
    out
}

fn draw_title(frame: &mut Frame, app: &App, area: Rect) {
    let screen = app.screen();
    let lesson = app.lesson();
    let steps = lesson.steps.len();
    let done = screen.ran.len().min(steps);
    let head = Line::from(vec![
        Span::raw(" sockstep ▸ ").bold(),
        Span::raw(lesson.title.clone()).bold(),
        Span::raw(format!("   {done} of {steps} steps run")),
        Span::raw(match &app.quiz {
            Some(q) => format!("   quiz: {} of {} right", q.right, q.asked),
            None => String::new(),
        }),
        Span::raw(match &screen.alert {
            Some(a) => format!("   ! {}", words::alert_title(a.kind)),
            None => String::new(),
        })
        .bold(),
    ]);
    frame.render_widget(Paragraph::new(head).reversed(), area);
}

/// A pane's frame: its title, a thick border when it has the focus, and
/// marks for what is above and below the lines in sight.
fn frame_block(app: &App, pane: Pane, title: &str, above: usize, below: usize) -> Block<'static> {
    let focused = app.focus == pane;
    let mut block = Block::bordered().title(if focused {
        format!(" ▸ {title} ")
    } else {
        format!(" {title} ")
    });
    if focused {
        block = block.border_type(BorderType::Thick);
    }
    if above > 0 {
        block = block.title_bottom(Line::from(words::more_above(above)).left_aligned());
    }
    if below > 0 {
        block = block.title_bottom(Line::from(words::more_below(below, focused)).right_aligned());
    }
    block
}

/// Draws `pane` in `area`; how it was drawn.
fn draw_pane(frame: &mut Frame, app: &App, pane: Pane, area: Rect) -> View {
    let inner_w = usize::from(area.width.saturating_sub(2));
    let inner_h = usize::from(area.height.saturating_sub(2));
    match pane {
        Pane::Ladder => draw_ladder(frame, app, area, inner_h),
        Pane::Source => {
            let (lines, focus_line) = source_lines(app, inner_w);
            let follow = focus_line
                .saturating_sub(inner_h / 2)
                .min(lines.len().saturating_sub(inner_h));
            scrolled(frame, app, pane, area, lines, follow, &source_title(app))
        }
        Pane::Narration => {
            let text = narration_text(app);
            let lines: Vec<Line> = wrap(&text, inner_w).into_iter().map(Line::raw).collect();
            scrolled(frame, app, pane, area, lines, 0, "what happened")
        }
        Pane::Sockets => draw_sockets(frame, app, area, inner_h),
    }
}

/// Lines in a scrolling pane: from where the user scrolled it, or from
/// `follow`.
fn scrolled(
    frame: &mut Frame,
    app: &App,
    pane: Pane,
    area: Rect,
    lines: Vec<Line<'static>>,
    follow: usize,
    title: &str,
) -> View {
    let inner = usize::from(area.height.saturating_sub(2));
    let max = lines.len().saturating_sub(inner);
    let top = app.scroll[pane.index()].unwrap_or(follow).min(max);
    let below = lines.len().saturating_sub(top + inner);
    let shown: Vec<Line> = lines.iter().skip(top).take(inner).cloned().collect();
    let block = frame_block(app, pane, title, top, below);
    frame.render_widget(Paragraph::new(shown).block(block), area);
    View {
        area,
        top,
        visible: inner,
        total: lines.len(),
    }
}

/// The ladder: the actors' names stay on top; below them the run, from the
/// step just run (its first line always in sight), or where the user
/// scrolled it.
fn draw_ladder(frame: &mut Frame, app: &App, area: Rect, inner: usize) -> View {
    let screen = app.screen();
    let head = screen.ladder.len().min(2);
    let body = &screen.ladder[head..];
    let room = inner.saturating_sub(head);
    let first_fresh = body.len() - screen.fresh.min(body.len());
    let mut follow = body.len().saturating_sub(room).min(first_fresh);
    // A deadlock, crash or failed expectation the step just run found is
    // in sight too: with the step's first line when both fit, else from
    // its own first line.
    let alert = screen
        .alert
        .as_ref()
        .map(|a| (a.at.0.saturating_sub(head), a.at.1.saturating_sub(head)))
        .filter(|(start, _)| *start >= first_fresh);
    if let Some((start, end)) = alert
        && end > follow + room
    {
        follow = end.saturating_sub(room).max(first_fresh).min(start);
    }
    let max = body.len().saturating_sub(room);
    let top = app.scroll[Pane::Ladder.index()].unwrap_or(follow).min(max);
    let below = body.len().saturating_sub(top + room);
    let mut lines: Vec<Line> = screen.ladder[..head]
        .iter()
        .map(|l| Line::raw(l.clone()))
        .collect();
    lines.extend(body.iter().enumerate().skip(top).take(room).map(|(i, l)| {
        let line = Line::raw(l.clone());
        let in_alert = screen
            .alert
            .as_ref()
            .is_some_and(|a| (a.at.0..a.at.1).contains(&(i + head)));
        if in_alert {
            line.bold().red()
        } else if i >= first_fresh {
            line.bold()
        } else {
            line
        }
    }));
    let block = frame_block(app, Pane::Ladder, words::LADDER_TITLE, top, below);
    frame.render_widget(Paragraph::new(lines).block(block), area);
    View {
        area,
        top,
        visible: room,
        total: body.len(),
    }
}

fn source_title(app: &App) -> String {
    format!("{} · {}", app.lesson().path, words::SOURCE_COLUMNS)
}

/// The lesson's source, each line with its number and, for a step, the
/// step's number and a marker: `▶` about to run, `✓` run, `⏸` waiting,
/// `✗` failed. Long lines wrap. Also: the line in `lines` to keep in
/// sight.
fn source_lines(app: &App, width: usize) -> (Vec<Line<'static>>, usize) {
    let screen = app.screen();
    let lesson = app.lesson();
    let next = app.next_step();
    let unanswered: Vec<usize> = match &app.quiz {
        Some(q) => q
            .steps
            .iter()
            .copied()
            .filter(|i| !screen.ran.contains(i))
            .collect(),
        None => Vec::new(),
    };
    let mut out = Vec::new();
    let mut focus_at = 0;
    for (i, l) in lesson.source.lines().enumerate() {
        let number = i + 1;
        if l.trim().is_empty() || l.trim_start().starts_with('|') {
            continue;
        }
        let step = lesson.steps.iter().position(|s| s.line == number);
        // A quiz does not show its answers before they are given.
        let hidden = step
            .filter(|s| unanswered.contains(s))
            .and_then(|s| lesson.steps[s].expect_col);
        let text = match hidden {
            Some(at) => format!("{}=> ?", l.get(..at).unwrap_or(l)),
            None => l.to_string(),
        };
        let (marker, style) = match step {
            Some(s) if screen.parked.contains(&s) => {
                ("⏸", Style::new().add_modifier(Modifier::BOLD))
            }
            Some(s) if screen.failed.contains(&s) => {
                ("✗", Style::new().add_modifier(Modifier::BOLD))
            }
            Some(s) if Some(s) == next => ("▶", Style::new().reversed()),
            Some(s) if screen.ran.contains(&s) => ("✓", Style::new().add_modifier(Modifier::DIM)),
            _ => (" ", Style::new()),
        };
        // In sight: the step about to run, or with none (the run is over
        // or every actor waits) the last one run.
        let keep = match next {
            Some(n) => Some(n),
            None => screen.ran.last().copied(),
        };
        if step.is_some() && step == keep {
            focus_at = out.len();
        }
        let step_no = step
            .map(|s| format!("{:>3}", lesson.steps[s].number))
            .unwrap_or_else(|| "   ".into());
        let prefix = format!("{marker}{number:>4} {step_no} ");
        let indent = " ".repeat(prefix.width());
        let room = width.saturating_sub(prefix.width()).max(10);
        for (k, chunk) in wrap(&text, room).into_iter().enumerate() {
            let lead = if k == 0 {
                prefix.clone()
            } else {
                indent.clone()
            };
            out.push(Line::styled(format!("{lead}{chunk}"), style));
        }
    }
    (out, focus_at)
}

fn narration_text(app: &App) -> String {
    let screen = app.screen();
    if app.at == 0 {
        let mut parts = vec![words::FIRST_SCREEN.to_string()];
        parts.extend(screen.narration.iter().cloned());
        return parts.join(" ");
    }
    if screen.narration.is_empty() {
        return String::new();
    }
    screen.narration.join(" ")
}

fn draw_sockets(frame: &mut Frame, app: &App, area: Rect, inner: usize) -> View {
    let screen = app.screen();
    let room = inner.saturating_sub(1);
    let total = screen.rows.len();
    let max = total.saturating_sub(room);
    let top = app.scroll[Pane::Sockets.index()].unwrap_or(0).min(max);
    let below = total.saturating_sub(top + room);
    let rows: Vec<Row> = screen
        .rows
        .iter()
        .enumerate()
        .skip(top)
        .take(room)
        .map(|(i, cells)| {
            let changed = screen.changed.contains(&i);
            let mut row = vec![Cell::from(if changed { "●" } else { " " })];
            row.extend(cells.iter().map(|c| Cell::from(c.clone())));
            let row = Row::new(row);
            if changed { row.bold() } else { row }
        })
        .collect();
    let header = Row::new([
        "", "socket", "type", "local", "peer", "state", "recv-q", "send-q",
    ])
    .underlined();
    let widths = [
        Constraint::Length(1),
        Constraint::Length(13),
        Constraint::Length(5),
        Constraint::Min(12),
        Constraint::Min(12),
        Constraint::Length(12),
        Constraint::Length(6),
        Constraint::Length(6),
    ];
    let title = if screen.rows.is_empty() {
        words::SOCKETS_NONE
    } else {
        words::SOCKETS_TITLE
    };
    let table = Table::new(rows, widths).header(header).block(frame_block(
        app,
        Pane::Sockets,
        title,
        top,
        below,
    ));
    frame.render_widget(table, area);
    View {
        area,
        top,
        visible: room,
        total,
    }
}

/// RFC 9293's state diagram over the main area: the hops the last step
/// took bold and reversed (drawn heavy as well: a shape, not a colour).
fn draw_diagram(frame: &mut Frame, app: &App, area: Rect) {
    let screen = app.screen();
    let lines: Vec<Line> = screen
        .diagram
        .iter()
        .map(|row| {
            Line::from(
                row.iter()
                    .map(|(c, strong)| {
                        let style = if *strong {
                            Style::default().add_modifier(Modifier::BOLD | Modifier::REVERSED)
                        } else {
                            Style::default()
                        };
                        Span::styled(c.to_string(), style)
                    })
                    .collect::<Vec<_>>(),
            )
        })
        .collect();
    // All 22 rows of it fit an 80x24 screen between the title and status
    // lines, which say what it is; where there is room, the hops the
    // figure has no arrow for are said under it.
    let mut lines = lines;
    if !screen.diagram_note.is_empty() && usize::from(area.height) > lines.len() {
        lines.push(Line::from(screen.diagram_note.clone()));
    }
    frame.render_widget(Paragraph::new(lines), area);
}

fn draw_status(frame: &mut Frame, app: &App, area: Rect) {
    let quiz = app.quiz.as_ref();
    let text = if let Some(q) = quiz.filter(|q| q.question.is_some()) {
        let n = q
            .question
            .map(|i| app.lesson().steps[i].number)
            .unwrap_or(0);
        format!(
            " QUIZ what will step {n} give? {}_  (number, errno, \"text\", blocks; Esc skips)",
            q.input
        )
    } else if let Some(v) = quiz.and_then(|q| q.verdict.as_ref()) {
        let q = quiz.expect("checked above");
        format!(" {v}  (quiz {}/{}) · Space next · q quit", q.right, q.asked)
    } else if let Some(typed) = &app.goto {
        format!(" go to step (as the ladder numbers them): {typed}_   (Enter to go, Esc to cancel)")
    } else if let Some(w) = &app.warning {
        format!(" ! {w}")
    } else if app.diagram {
        " TCP states, RFC 9293 (name:fd; name:- no fd; heavy: this step) · Space next · ← back · t back"
            .to_string()
    } else {
        let auto = match app.auto {
            Some(d) => format!("auto {:.1}s (a, +/-)", d.as_secs_f64()),
            None => "a auto".into(),
        };
        if app.at == 0 {
            " Space runs the first step · Tab panes · PgDn scroll · z zoom · ? keys · w words · q quit"
                .to_string()
        } else if app.at_end() {
            " THE END · ← back · r restart · g go to · Tab panes · ? help · q quit".to_string()
        } else {
            format!(
                " Space next · ← back · g go · {auto} · Tab · z zoom · t states · ? help · q quit"
            )
        }
    };
    frame.render_widget(Paragraph::new(text).reversed(), area);
}

/// The help or the words, over the middle of the screen.
fn draw_overlay(frame: &mut Frame, area: Rect, title: &str, text: &str) {
    let w = 76.min(area.width.saturating_sub(2));
    let lines = wrap(text, usize::from(w.saturating_sub(2)));
    let h = (lines.len() as u16 + 2).min(area.height);
    let r = Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    };
    frame.render_widget(Clear, r);
    frame.render_widget(
        Paragraph::new(lines.into_iter().map(Line::raw).collect::<Vec<_>>())
            .block(Block::bordered().title(title.to_string())),
        r,
    );
}

/// `text` in lines of at most `width` columns, broken between words (a
/// word longer than a line is broken where it must); `\n` ends a line.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut out = Vec::new();
    for para in text.split('\n') {
        // Keep a line's leading spaces: the help's columns.
        let lead: String = para.chars().take_while(|c| *c == ' ').collect();
        let mut line = lead.clone();
        for word in para.split_whitespace() {
            let mut word = word.to_string();
            loop {
                let need = if line.trim().is_empty() {
                    word.width()
                } else {
                    line.width() + 1 + word.width()
                };
                if need <= width {
                    if !line.trim().is_empty() {
                        line.push(' ');
                    }
                    line.push_str(&word);
                    break;
                }
                if !line.trim().is_empty() {
                    out.push(std::mem::take(&mut line));
                    continue;
                }
                // A word longer than the line: cut it.
                let mut cut = String::new();
                let mut rest = String::new();
                for c in word.chars() {
                    if cut.width() + c.to_string().width() <= width && rest.is_empty() {
                        cut.push(c);
                    } else {
                        rest.push(c);
                    }
                }
                out.push(cut);
                word = rest;
                if word.is_empty() {
                    break;
                }
            }
        }
        out.push(line);
    }
    // No trailing empty line of the text's own.
    while out.len() > 1 && out.last().is_some_and(|l| l.trim().is_empty()) {
        out.pop();
    }
    out
}
