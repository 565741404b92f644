//! The CJK font the PDF embeds: found once per process, from `TAIZHANG_PDF_FONT` or the places
//! Debian's font packages install to.

use crate::PrintError;
use skrifa::instance::{LocationRef, Size};
use skrifa::raw::FileRef;
use skrifa::string::StringId;
use skrifa::{FontRef, GlyphId, MetadataProvider};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

/// The variable that names the font file to embed (a .ttf, .otf or .ttc).
pub const FONT_ENV: &str = "TAIZHANG_PDF_FONT";

/// Where Debian puts the CJK fonts it packages, best first: Noto Serif CJK (fonts-noto-cjk)
/// reads closest to the 仿宋 of official documents; then Noto Sans CJK, the Fandol fonts of TeX
/// Live and the AR PL fonts.
pub const CANDIDATES: [&str; 6] = [
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/fandol/FandolFang-Regular.otf",
    "/usr/share/texlive/texmf-dist/fonts/opentype/public/fandol/FandolFang-Regular.otf",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
    "/usr/share/fonts/truetype/arphic/ukai.ttc",
];

/// A font file's bytes, the face used, and krilla's handle to it.
#[derive(Clone)]
pub struct Font {
    data: Arc<Vec<u8>>,
    index: u32,
    path: PathBuf,
    family: String,
    pdf: krilla::text::Font,
}

impl std::fmt::Debug for Font {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Font")
            .field("path", &self.path)
            .field("index", &self.index)
            .field("family", &self.family)
            .finish()
    }
}

fn family(face: &FontRef<'_>) -> String {
    face.localized_strings(StringId::FAMILY_NAME)
        .english_or_first()
        .map(|s| s.to_string())
        .unwrap_or_default()
}

impl Font {
    /// Loads a font file; of a collection, the Simplified Chinese face (family ending in "SC")
    /// when there is one, else the first.
    pub fn load(path: &Path) -> Result<Font, PrintError> {
        let unreadable = |why: String| PrintError::FontUnreadable {
            path: path.display().to_string(),
            why,
        };
        let bytes = std::fs::read(path).map_err(|e| unreadable(e.to_string()))?;
        let data = Arc::new(bytes);
        let (index, family) = {
            let file = FileRef::new(&data).map_err(|e| unreadable(e.to_string()))?;
            let faces: Vec<(u32, String)> = file
                .fonts()
                .enumerate()
                .filter_map(|(i, f)| Some((u32::try_from(i).ok()?, family(&f.ok()?))))
                .collect();
            let sc = faces.iter().find(|(_, name)| name.ends_with(" SC"));
            sc.or(faces.first())
                .cloned()
                .ok_or_else(|| unreadable("文件中没有字体".into()))?
        };
        let face = FontRef::from_index(&data, index).map_err(|e| unreadable(e.to_string()))?;
        if face.charmap().map('中').is_none() {
            return Err(unreadable("字体不含中文字形".into()));
        }
        let pdf = krilla::text::Font::new(krilla::Data::from(data.clone()), index)
            .ok_or_else(|| unreadable("PDF写入器无法读取该字体".into()))?;
        Ok(Font {
            data,
            index,
            path: path.to_path_buf(),
            family,
            pdf,
        })
    }

    /// The font named by `TAIZHANG_PDF_FONT`, else the first of [`CANDIDATES`] present.
    pub fn find() -> Result<Font, PrintError> {
        if let Some(p) = std::env::var_os(FONT_ENV).filter(|p| !p.is_empty()) {
            return Font::load(Path::new(&p));
        }
        match CANDIDATES.iter().map(Path::new).find(|p| p.is_file()) {
            Some(p) => Font::load(p),
            None => Err(PrintError::FontMissing),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The face's family name ("Noto Serif CJK SC").
    pub fn family(&self) -> &str {
        &self.family
    }

    pub(crate) fn pdf(&self) -> krilla::text::Font {
        self.pdf.clone()
    }

    fn face(&self) -> Option<FontRef<'_>> {
        FontRef::from_index(&self.data, self.index).ok()
    }

    /// Each character's glyph and advance (in em) in this face; a character the face lacks
    /// gets glyph 0 and the advance of half an em.
    pub(crate) fn glyphs(&self, text: &str) -> Vec<(char, u32, f32)> {
        let Some(face) = self.face() else {
            return text.chars().map(|c| (c, 0, 0.5)).collect();
        };
        let charmap = face.charmap();
        let metrics = face.glyph_metrics(Size::unscaled(), LocationRef::default());
        let upem = f32::from(
            face.metrics(Size::unscaled(), LocationRef::default())
                .units_per_em,
        )
        .max(1.0);
        text.chars()
            .map(|c| {
                let gid = charmap.map(c).unwrap_or(GlyphId::NOTDEF);
                let advance = charmap
                    .map(c)
                    .and_then(|g| metrics.advance_width(g))
                    .map_or(0.5, |a| a / upem);
                (c, gid.to_u32(), advance)
            })
            .collect()
    }

    /// The width of `text` at `size` points.
    pub fn width(&self, text: &str, size: f32) -> f32 {
        self.glyphs(text).iter().map(|g| g.2).sum::<f32>() * size
    }
}

/// The process's font: found on first use and kept; the same error every time if there is none.
pub fn system_font() -> Result<&'static Font, PrintError> {
    static FONT: OnceLock<Result<Font, PrintError>> = OnceLock::new();
    FONT.get_or_init(Font::find).as_ref().map_err(Clone::clone)
}
