//! The outline set on pages: lines broken to the 版心's width, blocks moved to the next page when
//! they do not fit, the table's header repeated. Lengths in points, y down from the page's top.

use crate::font::Font;
use taizhang_office::document::{Block, Outline, UnitTable};

/// A4.
pub const PAGE_W: f32 = 595.276;
pub const PAGE_H: f32 = 841.89;
const MM: f32 = 72.0 / 25.4;
/// The margins of GB/T 9704-2012: top 37 mm, bottom 35 mm, left 28 mm, right 26 mm.
pub const TOP: f32 = 37.0 * MM;
pub const BOTTOM: f32 = 35.0 * MM;
pub const LEFT: f32 = 28.0 * MM;
pub const RIGHT: f32 = 26.0 * MM;
/// The 版心: 156 mm wide.
const WIDTH: f32 = PAGE_W - LEFT - RIGHT;
const FOOT: f32 = PAGE_H - BOTTOM;

/// 二号, 三号, 四号 and 小四 in points.
const TITLE: f32 = 22.0;
const BODY: f32 = 16.0;
const PAGE_NUMBER: f32 = 14.0;
const TABLE: f32 = 12.0;
/// Exactly 28 pt from line to line.
const LINE: f32 = 28.0;
const TITLE_LINE: f32 = 36.0;
const TABLE_LINE: f32 = 17.0;
const CELL_PAD: f32 = 4.0;

/// The most bars the chart draws (the first of the ranking).
pub const MAX_BARS: usize = 20;
const BAR_ROW: f32 = 18.0;
const BAR_LABEL: f32 = 120.0;

/// Characters that never begin a line (避头): they stay at the end of the line before.
const NO_START: &str = "，。、；：？！）》」』”’%—…,.;:?!)";

/// What is drawn on a page.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    /// Text from `x` on the baseline `y`.
    Text {
        x: f32,
        y: f32,
        size: f32,
        text: String,
    },
    /// A filled rectangle from its top-left corner: a black rule, or a bar of the chart in red.
    Rect {
        x: f32,
        y: f32,
        w: f32,
        h: f32,
        red: bool,
    },
}

/// The pages, each its ops; the page numbers are drawn by the renderer.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Pages {
    pub pages: Vec<Vec<Op>>,
}

impl Pages {
    /// All the text of a page, in drawing order.
    pub fn text(&self, page: usize) -> Vec<&str> {
        self.pages.get(page).map_or_else(Vec::new, |ops| {
            ops.iter()
                .filter_map(|op| match op {
                    Op::Text { text, .. } => Some(text.as_str()),
                    Op::Rect { .. } => None,
                })
                .collect()
        })
    }
}

struct Layout<'a> {
    font: &'a Font,
    pages: Vec<Vec<Op>>,
    y: f32,
    /// The table's text size and line: 小四 on exact 17 pt lines, smaller for many columns.
    cell: f32,
    cell_line: f32,
}

/// The baseline of text of `size` centred in a line of `line` starting at `top`.
fn baseline(top: f32, line: f32, size: f32) -> f32 {
    top + (line - size) / 2.0 + size * 0.88
}

impl<'a> Layout<'a> {
    fn page(&mut self) -> &mut Vec<Op> {
        if self.pages.is_empty() {
            self.pages.push(Vec::new());
        }
        let last = self.pages.len() - 1;
        &mut self.pages[last]
    }

    fn new_page(&mut self) {
        self.pages.push(Vec::new());
        self.y = TOP;
    }

    /// Starts a new page unless `h` more points fit on this one (a block taller than a page
    /// starts at the top of one).
    fn room(&mut self, h: f32) {
        if self.y + h > FOOT + 0.01 && self.y > TOP {
            self.new_page();
        }
    }

    fn text(&mut self, x: f32, y: f32, size: f32, text: &str) {
        if !text.is_empty() {
            let text = text.to_string();
            self.page().push(Op::Text { x, y, size, text });
        }
    }

    fn rect(&mut self, x: f32, y: f32, w: f32, h: f32, red: bool) {
        self.page().push(Op::Rect { x, y, w, h, red });
    }

    /// `text` broken into lines: the first `first` wide, the rest `rest` wide.
    fn lines(&self, text: &str, size: f32, first: f32, rest: f32) -> Vec<String> {
        let mut lines = Vec::new();
        let mut cur = String::new();
        let mut w = 0.0;
        // A run of Latin letters, digits and their marks ("88.7%") is kept whole: a break
        // inside it goes back to where the run started.
        let word = |c: char| c.is_ascii_alphanumeric() || ".%,-+/".contains(c);
        let mut run_start: Option<(usize, f32)> = None;
        for (c, _, adv) in self.font.glyphs(text) {
            let a = adv * size;
            let limit = if lines.is_empty() { first } else { rest };
            if w + a > limit + 0.01 && !cur.is_empty() && !NO_START.contains(c) {
                match run_start.filter(|(at, _)| word(c) && *at > 0) {
                    Some((at, before)) => {
                        let tail = cur.split_off(at);
                        lines.push(std::mem::replace(&mut cur, tail));
                        w -= before;
                    }
                    None => {
                        lines.push(std::mem::take(&mut cur));
                        w = 0.0;
                    }
                }
                run_start = None;
            }
            if word(c) {
                if run_start.is_none() {
                    run_start = Some((cur.len(), w));
                }
            } else {
                run_start = None;
            }
            cur.push(c);
            w += a;
        }
        if !cur.is_empty() || lines.is_empty() {
            lines.push(cur);
        }
        lines
    }

    /// A paragraph: lines of `line` points, the first indented `indent`, each aligned by
    /// `align` (0 left, 0.5 centred, 1 right) within the 版心 less `right`.
    fn paragraph(&mut self, text: &str, size: f32, line: f32, indent: f32, right: f32, align: f32) {
        let width = WIDTH - right;
        for (i, l) in self
            .lines(text, size, width - indent, width)
            .iter()
            .enumerate()
        {
            self.room(line);
            let offset = if i == 0 { indent } else { 0.0 };
            let free = (width - offset - self.font.width(l, size)).max(0.0);
            let y = baseline(self.y, line, size);
            self.text(LEFT + offset + free * align, y, size, l);
            self.y += line;
        }
    }

    /// The bar chart of the first [`MAX_BARS`] units: a label, a bar scaled to the largest and
    /// the figure after it.
    fn chart(&mut self, bars: &[(String, i64)]) {
        let bars = &bars[..bars.len().min(MAX_BARS)];
        if bars.is_empty() {
            return;
        }
        let title = if bars.len() < MAX_BARS {
            "各单位记录数".to_string()
        } else {
            format!("各单位记录数（前{MAX_BARS}名）")
        };
        self.room(LINE + BAR_ROW * bars.len() as f32 + 8.0);
        self.paragraph(&title, TABLE, LINE, 0.0, 0.0, 0.5);
        let max = bars.iter().map(|b| b.1).max().unwrap_or(0).max(1) as f32;
        let span = WIDTH - BAR_LABEL - 48.0;
        for (label, value) in bars {
            let name = self.fit(label, TABLE, BAR_LABEL - 6.0);
            let y = baseline(self.y, BAR_ROW, TABLE);
            let x = LEFT + BAR_LABEL - 6.0 - self.font.width(&name, TABLE);
            self.text(x, y, TABLE, &name);
            let w = (*value as f32 / max * span).max(0.0);
            if w > 0.0 {
                self.rect(LEFT + BAR_LABEL, self.y + 3.0, w, BAR_ROW - 6.0, true);
            }
            self.text(LEFT + BAR_LABEL + w + 4.0, y, TABLE, &value.to_string());
            self.y += BAR_ROW;
        }
        self.y += 8.0;
    }

    /// `text` cut with "…" to `width`.
    fn fit(&self, text: &str, size: f32, width: f32) -> String {
        if self.font.width(text, size) <= width {
            return text.to_string();
        }
        let mut out = String::new();
        let ell = self.font.width("…", size);
        let mut w = 0.0;
        for (c, _, adv) in self.font.glyphs(text) {
            if w + adv * size + ell > width {
                break;
            }
            out.push(c);
            w += adv * size;
        }
        out.push('…');
        out
    }

    /// One row of the table: cells wrapped within their columns, lines between the cells.
    fn row(&mut self, cells: &[String], widths: &[f32]) {
        let wrapped: Vec<Vec<String>> = cells
            .iter()
            .zip(widths)
            .map(|(c, w)| {
                let inner = (w - 2.0 * CELL_PAD).max(self.cell);
                self.lines(c, self.cell, inner, inner)
            })
            .collect();
        let n = wrapped.iter().map(Vec::len).max().unwrap_or(1).max(1);
        let h = n as f32 * self.cell_line + 2.0 * CELL_PAD;
        let top = self.y;
        let mut x = LEFT;
        for (lines, w) in wrapped.iter().zip(widths) {
            for (i, l) in lines.iter().enumerate() {
                let lw = self.font.width(l, self.cell);
                let y = baseline(
                    top + CELL_PAD + i as f32 * self.cell_line,
                    self.cell_line,
                    self.cell,
                );
                self.text(x + ((w - lw) / 2.0).max(CELL_PAD), y, self.cell, l);
            }
            self.rect(x, top, 0.5, h, false);
            x += w;
        }
        self.rect(x, top, 0.5, h, false);
        self.rect(LEFT, top + h, x - LEFT + 0.5, 0.5, false);
        self.y += h;
    }

    fn row_height(&self, cells: &[String], widths: &[f32]) -> f32 {
        let n = cells
            .iter()
            .zip(widths)
            .map(|(c, w)| {
                let inner = (w - 2.0 * CELL_PAD).max(self.cell);
                self.lines(c, self.cell, inner, inner).len()
            })
            .max()
            .unwrap_or(1)
            .max(1);
        n as f32 * self.cell_line + 2.0 * CELL_PAD
    }

    fn header(&mut self, t: &UnitTable, widths: &[f32]) {
        let total: f32 = widths.iter().sum();
        self.rect(LEFT, self.y, total + 0.5, 0.5, false);
        self.row(&t.headers, widths);
    }

    /// The table of units; a row that does not fit goes to the next page under a repeated header.
    fn table(&mut self, t: &UnitTable) {
        let n = t.headers.len().max(2);
        // Past eight columns the text shrinks (to 6 pt at most), so the columns stay legible.
        self.cell = (TABLE * 8.0 / n as f32).clamp(6.0, TABLE);
        self.cell_line = self.cell * TABLE_LINE / TABLE;
        // The narrow columns as wide as their widest header, the unit column the rest.
        let widest = t
            .headers
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != 1)
            .map(|(_, h)| self.font.width(h, self.cell))
            .fold(0.0, f32::max);
        let narrow = (widest + 2.0 * CELL_PAD + 2.0)
            .max(3.0 * self.cell)
            .min(WIDTH / (n as f32 + 1.0));
        let wide = WIDTH - narrow * (n as f32 - 1.0);
        let widths: Vec<f32> = (0..n).map(|i| if i == 1 { wide } else { narrow }).collect();
        let head = self.row_height(&t.headers, &widths);
        let first = t.rows.first().map_or(0.0, |r| self.row_height(r, &widths));
        self.room(head + first);
        self.header(t, &widths);
        for r in &t.rows {
            let h = self.row_height(r, &widths);
            if self.y + h > FOOT + 0.01 {
                self.new_page();
                self.header(t, &widths);
            }
            self.row(r, &widths);
        }
        self.y += LINE / 2.0;
    }

    fn block(&mut self, b: &Block) {
        match b {
            Block::Title(t) => self.paragraph(t, TITLE, TITLE_LINE, 0.0, 0.0, 0.5),
            Block::Heading1(t) | Block::Heading2(t) => {
                // A heading keeps at least one line of what follows on its page.
                self.room(2.0 * LINE);
                self.paragraph(t, BODY, LINE, 2.0 * BODY, 0.0, 0.0)
            }
            Block::Paragraph(t) => self.paragraph(t, BODY, LINE, 2.0 * BODY, 0.0, 0.0),
            Block::Blank => {
                self.room(LINE);
                self.y += LINE;
            }
            Block::Signature(t) => self.paragraph(t, BODY, LINE, 0.0, 4.0 * BODY, 1.0),
            Block::Units(t) => {
                self.chart(&t.bars);
                self.table(t);
            }
        }
    }
}

/// The outline set on pages in `font`.
pub fn layout(o: &Outline, font: &Font) -> Pages {
    let mut l = Layout {
        font,
        pages: vec![Vec::new()],
        y: TOP,
        cell: TABLE,
        cell_line: TABLE_LINE,
    };
    for b in &o.blocks {
        l.block(b);
    }
    Pages { pages: l.pages }
}

/// "— 3 —", centred under the 版心 (its baseline 7 mm below it plus the figure's height).
pub(crate) fn page_number(n: usize, font: &Font) -> Op {
    let text = format!("— {n} —");
    let w = font.width(&text, PAGE_NUMBER);
    Op::Text {
        x: LEFT + (WIDTH - w) / 2.0,
        y: FOOT + 7.0 * MM + PAGE_NUMBER * 0.88,
        size: PAGE_NUMBER,
        text,
    }
}
