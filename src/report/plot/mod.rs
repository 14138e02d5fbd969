//! Charts as SVG and PNG, drawn with plotters and no system library: text is
//! laid out with ab_glyph from DejaVu Sans, embedded in the binary
//! (`assets/fonts`, licence beside it), so a plot looks the same on every
//! machine and needs no fontconfig.
//!
//! Each chart function takes plain numbers (no simulator types), writes
//! `<stem>.svg` and `<stem>.png` atomically and returns both paths.
//! Non-finite input never panics: it is left out and the title says how
//! much was; empty input gives a chart titled "no data".
//! How to read each chart: `docs/plots.md`.

mod bars;
mod bitmap;
mod dist;
mod lines;
mod timeline;

pub use bars::{Bar, bars_with_ci};
pub use dist::{Cdf, cdf, histogram};
pub use lines::{Series, lines_with_bands, lines_with_bands_categorical};
pub use timeline::{Lane, timeline};

use ab_glyph::FontRef;
use bitmap::Bitmap;
use plotters::chart::MeshStyle;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::FontStyle;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::error::Error;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

type DrawResult = Result<(), Box<dyn Error>>;

/// What one chart kind knows: its pixel size and how to draw itself on any
/// backend, so SVG and PNG come from the same code.
trait Chart {
    fn size(&self) -> (u32, u32) {
        (1000, 600)
    }
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static;
}

const FONT: &str = "sans-serif";
const TITLE_PX: u32 = 24;
const LABEL_PX: u32 = 15;
const DESC_PX: u32 = 17;

/// Tableau 10: distinct hues that stay apart for most colour-blind readers.
const PALETTE: [RGBColor; 10] = [
    RGBColor(0x4e, 0x79, 0xa7),
    RGBColor(0xf2, 0x8e, 0x2b),
    RGBColor(0xe1, 0x57, 0x59),
    RGBColor(0x76, 0xb7, 0xb2),
    RGBColor(0x59, 0xa1, 0x4f),
    RGBColor(0xed, 0xc9, 0x48),
    RGBColor(0xb0, 0x7a, 0xa1),
    RGBColor(0xff, 0x9d, 0xa7),
    RGBColor(0x9c, 0x75, 0x5f),
    RGBColor(0xba, 0xb0, 0xac),
];

fn colour(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// `c` washed out towards white, opaque so grid lines do not show through.
fn pale(c: RGBColor) -> RGBColor {
    let wash = |v: u8| (f64::from(v) * 0.35 + 255.0 * 0.65).round() as u8;
    RGBColor(wash(c.0), wash(c.1), wash(c.2))
}

/// The look every chart's axes share.
fn house_style<'m, 'a, 'b, X: Ranged, Y: Ranged, DB: DrawingBackend>(
    mesh: &'m mut MeshStyle<'a, 'b, X, Y, DB>,
) -> &'m mut MeshStyle<'a, 'b, X, Y, DB> {
    mesh.label_style((FONT, LABEL_PX))
        .axis_desc_style((FONT, DESC_PX))
        .light_line_style(BLACK.mix(0.04))
        .max_light_lines(4)
}

/// How a key entry is marked.
enum Swatch {
    Line(RGBColor),
    Band,
}

/// Width of a key for these labels, in pixels.
fn key_width<'l>(labels: impl Iterator<Item = &'l str>) -> u32 {
    let widest = labels.map(|l| l.chars().count()).max().unwrap_or(0) as u32;
    (widest * 9 + 60).clamp(100, 320)
}

/// The key, in its own strip right of the plot, where it can never cover data.
fn side_key<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    entries: &[(&str, Swatch)],
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let style =
        TextStyle::from((FONT, LABEL_PX).into_font()).pos(Pos::new(HPos::Left, VPos::Center));
    for (k, (label, swatch)) in entries.iter().enumerate() {
        let y = 40 + 26 * k as i32;
        match swatch {
            Swatch::Line(c) => {
                area.draw(&PathElement::new(vec![(8, y), (36, y)], c.stroke_width(3)))?
            }
            Swatch::Band => area.draw(&Rectangle::new(
                [(8, y - 7), (36, y + 7)],
                BLACK.mix(0.18).filled(),
            ))?,
        }
        area.draw(&Text::new(*label, (44, y), style.clone()))?;
    }
    Ok(())
}

/// The embedded font, registered once with plotters (whose ab_glyph backend
/// has no other source of glyphs) and handed to our PNG backend.
fn font() -> Result<FontRef<'static>, String> {
    static BYTES: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSans.ttf");
    static FONT_REF: OnceLock<Result<FontRef<'static>, String>> = OnceLock::new();
    FONT_REF
        .get_or_init(|| {
            let bad = "the embedded font DejaVuSans.ttf does not parse".to_string();
            plotters::style::register_font(FONT, FontStyle::Normal, BYTES)
                .map_err(|_| bad.clone())?;
            FontRef::try_from_slice(BYTES).map_err(|_| bad)
        })
        .clone()
}

/// `stem` + `ext`, keeping any dot already in the stem ("run.v2" → "run.v2.svg").
fn with_suffix(stem: &Path, ext: &str) -> PathBuf {
    let mut name = OsString::from(stem.as_os_str());
    name.push(ext);
    PathBuf::from(name)
}

/// Draws `chart` to `<stem>.svg` and `<stem>.png`, each written to a
/// temporary file in the target directory and renamed into place, so a
/// reader never sees half a file.
fn render(stem: &Path, chart: &impl Chart) -> Result<Vec<PathBuf>, String> {
    let font = font()?;
    let size = chart.size();
    let svg_path = with_suffix(stem, ".svg");
    let png_path = with_suffix(stem, ".png");
    let cannot_draw =
        |p: &Path, e: &dyn std::fmt::Display| format!("cannot draw {}: {e}", p.display());

    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        draw_on(&root, chart).map_err(|e| cannot_draw(&svg_path, &e))?;
    }
    crate::report::write_atomic(&svg_path, &svg)?;

    // The bitmap backend picks its encoder from the file name, hence the suffix.
    let dir = match stem.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let tmp = tempfile::Builder::new()
        .suffix(".png")
        .tempfile_in(dir)
        .map_err(|e| format!("cannot write {}: {e}", png_path.display()))?
        .into_temp_path();
    {
        let root = Bitmap::new(&tmp, size, font).into_drawing_area();
        draw_on(&root, chart).map_err(|e| cannot_draw(&png_path, &e))?;
    }
    crate::report::shareable(&tmp)
        .map_err(|e| format!("cannot write {}: {e}", png_path.display()))?;
    tmp.persist(&png_path)
        .map_err(|e| format!("cannot write {}: {}", png_path.display(), e.error))?;
    Ok(vec![svg_path, png_path])
}

fn draw_on<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, chart: &impl Chart) -> DrawResult
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE)?;
    chart.draw(root)?;
    root.present()?;
    Ok(())
}

/// Draws the title in its own strip, saying what was left out and why, so a
/// chart never hides data silently; returns the area below it.
fn titled<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    shown: usize,
    skipped: usize,
    why: &str,
) -> Result<DrawingArea<DB, Shift>, Box<dyn Error>>
where
    DB::ErrorType: 'static,
{
    let text = match (shown, skipped) {
        (0, 0) => format!("{title} (no data)"),
        (_, 0) => title.to_string(),
        (_, n) => format!("{title} ({n} left out: {why})"),
    };
    Ok(root.titled(&text, (FONT, TITLE_PX))?)
}

/// The label of the category at integer position `x`; blank between
/// categories, where the axis may also put a tick.
fn category_label(labels: &[&str], x: f64) -> String {
    let i = x.round();
    if (x - i).abs() > 1e-6 || i < 0.0 {
        return String::new();
    }
    labels
        .get(i as usize)
        .map_or_else(String::new, |s| s.to_string())
}

/// Short tick labels: plain decimals in the everyday range, `2.5e-7` outside it.
fn fmt_num(v: f64) -> String {
    let a = v.abs();
    if a == 0.0 {
        "0".to_string()
    } else if !(1e-3..1e4).contains(&a) {
        let s = format!("{v:.2e}");
        let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
        format!("{}e{exp}", trim_zeros(mantissa))
    } else {
        trim_zeros(&format!("{v:.4}")).to_string()
    }
}

/// A value printed on a chart: three significant figures are plenty to read
/// against an axis.
fn fmt_value(v: f64) -> String {
    let a = v.abs();
    if !(1e-3..1e4).contains(&a) {
        return fmt_num(v);
    }
    let decimals = (2 - a.log10().floor() as i32).max(0) as usize;
    trim_zeros(&format!("{v:.decimals$}")).to_string()
}

fn trim_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

/// A padded `[lo, hi]` around finite data, never empty; `None` when there is none.
fn span(values: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    values
        .filter(|v| v.is_finite())
        .fold(None, |acc, v| match acc {
            None => Some((v, v)),
            Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
        })
}

/// Linear axis range: 5 % headroom each side, or ±1 around a single value.
fn pad_linear((lo, hi): (f64, f64)) -> (f64, f64) {
    if hi > lo {
        let pad = (hi - lo) * 0.05;
        (lo - pad, hi + pad)
    } else {
        (lo - 1.0, hi + 1.0)
    }
}

/// Log axis range: out to whole decades, so the ticks land on powers of ten.
/// Both ends must be positive.
fn pad_log((lo, hi): (f64, f64)) -> (f64, f64) {
    // The nudge keeps an exact power of ten (whose log10 may be off by an ulp) on its decade.
    let lo_exp = (lo.log10() + 1e-9).floor() as i32;
    let hi_exp = ((hi.log10() - 1e-9).ceil() as i32).max(lo_exp + 1);
    // A hair beyond each decade: plotters computes a log axis's ticks in
    // floating point, and drops one a rounding error outside the range (the
    // lowest, 0.1 of a 0.1–1 axis, lost its label).
    (
        10f64.powi(lo_exp) * (1.0 - 1e-9),
        10f64.powi(hi_exp) * (1.0 + 1e-9),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tick_labels_are_short() {
        assert_eq!(fmt_num(0.0), "0");
        assert_eq!(fmt_num(2.5), "2.5");
        assert_eq!(fmt_num(10.0), "10");
        assert_eq!(fmt_num(0.0001), "1e-4");
        assert_eq!(fmt_num(2.5e-7), "2.5e-7");
        assert_eq!(fmt_num(123456.0), "1.23e5");
        assert_eq!(fmt_num(10000.0), "1e4");
        assert_eq!(fmt_num(9999.0), "9999");
        assert_eq!(fmt_value(4.2345), "4.23");
        assert_eq!(fmt_value(10.16), "10.2");
        assert_eq!(fmt_value(0.012345), "0.0123");
        assert_eq!(fmt_value(7.0), "7");
    }

    #[test]
    fn ranges_are_never_empty() {
        assert_eq!(span([f64::NAN, 2.0, 1.0].into_iter()), Some((1.0, 2.0)));
        assert_eq!(span([f64::INFINITY].into_iter()), None);
        assert_eq!(pad_linear((3.0, 3.0)), (2.0, 4.0));
        // Out to whole decades, and a hair past them (so plotters keeps the
        // end ticks), but no further than that hair.
        let decades = |(lo, hi): (f64, f64), (a, b): (f64, f64)| {
            lo < a && lo > a * (1.0 - 1e-8) && hi > b && hi < b * (1.0 + 1e-8)
        };
        assert!(decades(pad_log((2e-6, 3e-3)), (1e-6, 1e-2)));
        assert!(decades(pad_log((1e-3, 1e-3)), (1e-3, 1e-2)));
        assert!(decades(pad_log((0.1, 1.0)), (0.1, 1.0)));
    }

    #[test]
    fn categories_are_labelled_only_at_whole_positions() {
        let labels = ["LRS", "ZRS"];
        assert_eq!(category_label(&labels, 1.0), "ZRS");
        assert_eq!(category_label(&labels, 0.5), "");
        assert_eq!(category_label(&labels, 2.0), "");
        assert_eq!(category_label(&labels, -1.0), "");
    }

    #[test]
    fn suffix_keeps_dots_in_the_stem() {
        assert_eq!(
            with_suffix(Path::new("a/run.v2"), ".svg"),
            PathBuf::from("a/run.v2.svg")
        );
    }
}
