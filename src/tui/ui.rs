//! Drawing the full-screen view from the app's state: `draw(frame, &app)`.
//! No colour carries meaning alone: states, markers and alerts are written.

use super::app::{Alert, App};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style, Stylize};
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{Block, Cell, Clear, Paragraph, Row, Table, Wrap};

/// Terminals at least this wide show the source beside the ladder.
const WIDE: u16 = 120;

/// The ladder's width for a terminal `cols` wide: what the app renders
/// the transcript at.
pub fn ladder_width(cols: u16) -> usize {
    let w = if cols >= WIDE { cols * 3 / 5 } else { cols };
    usize::from(w.saturating_sub(2)).max(40)
}

pub fn draw(frame: &mut Frame, app: &App) {
    let area = frame.area();
    let screen = app.screen();
    let lesson = app.lesson();
    // On a small terminal the ladder gets what the other panes can spare.
    let small = area.height < 32;
    let socket_rows = screen.rows.len().clamp(1, if small { 3 } else { 10 }) as u16 + 3;
    let narration_rows = match (screen.narration.is_empty(), small) {
        (true, _) => 3,
        (false, true) => 4,
        (false, false) => 6,
    };
    let narrow = area.width < WIDE;
    let [title, main, narration, sockets, status] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(6),
        Constraint::Length(narration_rows),
        Constraint::Length(socket_rows),
        Constraint::Length(1),
    ])
    .areas(area);

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
    ]);
    frame.render_widget(Paragraph::new(head).reversed(), title);

    let (ladder_area, source_area) = if narrow {
        let source_rows = if small { 5 } else { 7 };
        let [ladder, source] =
            Layout::vertical([Constraint::Min(3), Constraint::Length(source_rows)]).areas(main);
        (ladder, source)
    } else {
        let [ladder, source] =
            Layout::horizontal([Constraint::Percentage(60), Constraint::Percentage(40)])
                .areas(main);
        (ladder, source)
    };
    draw_ladder(frame, app, ladder_area);
    draw_source(frame, app, source_area);
    draw_narration(frame, app, narration);
    draw_sockets(frame, app, sockets);
    draw_status(frame, app, status);
    if let Some(alert) = &screen.alert {
        draw_alert(frame, alert, ladder_area);
    }
    if app.help {
        draw_help(frame, area);
    }
}

fn draw_ladder(frame: &mut Frame, app: &App, area: Rect) {
    let screen = app.screen();
    let inner = area.height.saturating_sub(2) as usize;
    // The actors' names stay on top; below them the newest lines, but never
    // so far down that the step just run has its first line cut off.
    let head = screen.ladder.len().min(2);
    let body = &screen.ladder[head..];
    let room = inner.saturating_sub(head);
    let first_fresh = body.len() - screen.fresh.min(body.len());
    let skip = body.len().saturating_sub(room).min(first_fresh);
    let mut lines: Vec<Line> = screen.ladder[..head]
        .iter()
        .map(|l| Line::raw(l.clone()))
        .collect();
    lines.extend(body.iter().enumerate().skip(skip).take(room).map(|(i, l)| {
        let line = Line::raw(l.clone());
        if i >= first_fresh { line.bold() } else { line }
    }));
    let block = Block::bordered().title(" ladder ");
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

/// The lesson's source: `▶` the step about to run, `✓` steps run, `⏸`
/// calls waiting.
fn draw_source(frame: &mut Frame, app: &App, area: Rect) {
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
    let mut lines: Vec<(usize, String)> = lesson
        .source
        .lines()
        .enumerate()
        .map(|(i, l)| {
            // A quiz does not show its answers before they are given.
            let step = lesson.steps.iter().position(|s| s.line == i + 1);
            let hidden = step
                .filter(|s| unanswered.contains(s))
                .and_then(|s| lesson.steps[s].expect_col);
            let text = match hidden {
                Some(at) => format!("{}=> ?", l.get(..at).unwrap_or(l)),
                None => l.to_string(),
            };
            (i + 1, text)
        })
        .collect();
    lines.retain(|(_, l)| !l.trim().is_empty() && !l.trim_start().starts_with('|'));
    let marker = |line: usize| -> (&str, Style) {
        let step = lesson.steps.iter().position(|s| s.line == line);
        match step {
            Some(i) if screen.parked.contains(&i) => {
                ("⏸ ", Style::new().add_modifier(Modifier::BOLD))
            }
            Some(i) if screen.failed.contains(&i) => {
                ("✗ ", Style::new().add_modifier(Modifier::BOLD))
            }
            Some(i) if Some(i) == next => ("▶ ", Style::new().reversed()),
            Some(i) if screen.ran.contains(&i) => ("✓ ", Style::new().add_modifier(Modifier::DIM)),
            _ => ("  ", Style::new()),
        }
    };
    let focus = next
        .map(|i| lesson.steps[i].line)
        .or_else(|| lines.last().map(|(n, _)| *n))
        .unwrap_or(0);
    let at = lines.iter().position(|(n, _)| *n >= focus).unwrap_or(0);
    let inner = area.height.saturating_sub(2) as usize;
    let skip = at
        .saturating_sub(inner / 2)
        .min(lines.len().saturating_sub(inner));
    let text: Vec<Line> = lines
        .iter()
        .skip(skip)
        .take(inner)
        .map(|(n, l)| {
            let (m, style) = marker(*n);
            Line::styled(format!("{m}{n:>3} {l}"), style)
        })
        .collect();
    let block = Block::bordered().title(format!(" {} ", lesson.path));
    frame.render_widget(Paragraph::new(text).block(block), area);
}

fn draw_narration(frame: &mut Frame, app: &App, area: Rect) {
    let screen = app.screen();
    let text = if screen.narration.is_empty() {
        Text::raw("")
    } else {
        Text::raw(screen.narration.join(" "))
    };
    let block = Block::bordered().title(" what happened ");
    frame.render_widget(
        Paragraph::new(text).wrap(Wrap { trim: true }).block(block),
        area,
    );
}

fn draw_sockets(frame: &mut Frame, app: &App, area: Rect) {
    let screen = app.screen();
    let rows: Vec<Row> = screen
        .rows
        .iter()
        .enumerate()
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
    let shown = area.height.saturating_sub(3) as usize;
    let more = screen.rows.len().saturating_sub(shown);
    let title = match (screen.rows.is_empty(), more) {
        (true, _) => " sockets: none ".to_string(),
        (false, 0) => " sockets, as the kernel reports them (● changed) ".to_string(),
        (false, n) => format!(" sockets (● changed), {n} more below "),
    };
    // Changed rows first when not all fit.
    let mut rows = rows;
    if more > 0 {
        let (changed, rest): (Vec<_>, Vec<_>) = rows
            .into_iter()
            .enumerate()
            .partition(|(i, _)| screen.changed.contains(i));
        rows = changed.into_iter().chain(rest).map(|(_, r)| r).collect();
    }
    let table = Table::new(rows, widths)
        .header(header)
        .block(Block::bordered().title(title));
    frame.render_widget(table, area);
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
        format!(" go to step: {typed}_   (Enter to go, Esc to cancel)")
    } else if let Some(w) = &app.warning {
        format!(" ! {w}")
    } else {
        let auto = match app.auto {
            Some(d) => format!("auto {:.1}s (a, +/-)", d.as_secs_f64()),
            None => "a auto".into(),
        };
        if app.at_end() {
            " THE END · ← back · r restart · g go to · ? help · q quit".to_string()
        } else {
            format!(" Space next · ← back · r restart · End · g go · {auto} · ? help · q quit")
        }
    };
    frame.render_widget(Paragraph::new(text).reversed(), area);
}

/// A deadlock, a crash or a failed expectation, titled.
fn draw_alert(frame: &mut Frame, alert: &Alert, area: Rect) {
    let title = crate::render::words::alert_title(alert.kind);
    let text = alert.lines.join("\n");
    let lines = alert.lines.len() as u16;
    let h = (lines + 2).min(area.height);
    // Below the actors' names, over the oldest lines, so the step that led
    // here stays in sight.
    let box_area = Rect {
        x: area.x + 1,
        y: area.y + 3.min(area.height.saturating_sub(h)),
        width: area.width.saturating_sub(2),
        height: h,
    };
    frame.render_widget(Clear, box_area);
    let block = Block::bordered().title(format!(" ! {title} ")).bold();
    frame.render_widget(
        Paragraph::new(text).wrap(Wrap { trim: true }).block(block),
        box_area,
    );
}

fn draw_help(frame: &mut Frame, area: Rect) {
    let text = "\
Space, →, n   next step
←, p          back one step (the lesson is run again up to there)
r, Home       restart
End           run to the end
g 12 Enter    go to step 12
a             autoplay on and off; + and - change its speed
?             this help
q, Esc        quit

Any key closes this help.";
    let w = 70.min(area.width);
    let h = 13.min(area.height);
    let r = Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    };
    frame.render_widget(Clear, r);
    frame.render_widget(
        Paragraph::new(text).block(Block::bordered().title(" keys ")),
        r,
    );
}
