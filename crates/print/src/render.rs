//! The pages drawn with krilla: text as glyphs of the embedded font (krilla subsets it and maps
//! each glyph back to its text), rectangles as filled paths.

use crate::font::Font;
use crate::layout::{page_number, Op, Pages, PAGE_H, PAGE_W};
use crate::PrintError;
use krilla::color::rgb;
use krilla::geom::{PathBuilder, Point, Rect};
use krilla::metadata::Metadata;
use krilla::num::NormalizedF32;
use krilla::page::PageSettings;
use krilla::paint::Fill;
use krilla::surface::Surface;
use krilla::text::{GlyphId, KrillaGlyph};
use krilla::Document;

fn fill(r: u8, g: u8, b: u8) -> Fill {
    Fill {
        paint: rgb::Color::new(r, g, b).into(),
        opacity: NormalizedF32::ONE,
        rule: Default::default(),
    }
}

fn draw(surface: &mut Surface<'_>, op: &Op, font: &Font) {
    match op {
        Op::Text { x, y, size, text } => {
            let mut glyphs = Vec::new();
            let mut at = 0;
            for (c, gid, adv) in font.glyphs(text) {
                let len = c.len_utf8();
                glyphs.push(KrillaGlyph::new(
                    GlyphId::new(gid),
                    adv,
                    0.0,
                    0.0,
                    0.0,
                    at..at + len,
                    None,
                ));
                at += len;
            }
            surface.set_fill(Some(fill(0, 0, 0)));
            surface.draw_glyphs(
                Point::from_xy(*x, *y),
                &glyphs,
                font.pdf(),
                text,
                *size,
                false,
            );
        }
        Op::Rect { x, y, w, h, red } => {
            let Some(rect) = Rect::from_xywh(*x, *y, *w, *h) else {
                return;
            };
            let mut pb = PathBuilder::new();
            pb.push_rect(rect);
            if let Some(path) = pb.finish() {
                surface.set_fill(Some(if *red {
                    fill(0xc0, 0x39, 0x2b)
                } else {
                    fill(0, 0, 0)
                }));
                surface.draw_path(&path);
            }
        }
    }
}

pub(crate) fn render(pages: &Pages, title: &str, font: &Font) -> Result<Vec<u8>, PrintError> {
    let mut doc = Document::new();
    doc.set_metadata(
        Metadata::new()
            .title(title.to_string())
            .language("zh-CN".into()),
    );
    let settings =
        PageSettings::from_wh(PAGE_W, PAGE_H).ok_or_else(|| PrintError::Pdf("页面尺寸".into()))?;
    for (i, ops) in pages.pages.iter().enumerate() {
        let mut page = doc.start_page_with(settings.clone());
        let mut surface = page.surface();
        for op in ops {
            draw(&mut surface, op, font);
        }
        draw(&mut surface, &page_number(i + 1, font), font);
        surface.finish();
        page.finish();
    }
    doc.finish().map_err(|e| PrintError::Pdf(format!("{e:?}")))
}
