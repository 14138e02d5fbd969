//! One bar per option with its 95 % confidence interval.

use super::{
    Chart, DrawResult, FONT, LABEL_PX, category_label, colour, fmt_num, fmt_value, house_style,
    pale, render, span, titled,
};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::path::{Path, PathBuf};

/// One bar: a point estimate and its 95 % confidence interval.
///
/// `at_least` marks a one-sided estimate, such as the nines of an option
/// that lost nothing in any trial: only a lower bound is known, so the bar
/// is drawn pale with an arrow up, labelled "≥", and `ci95` is not drawn.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    pub label: String,
    pub value: f64,
    pub ci95: [f64; 2],
    pub at_least: bool,
    /// Its colour, by index into the palette: the option's, so that an
    /// option keeps one colour over several bars (read and write).
    pub colour: usize,
}

/// Bars with 95 % CI whiskers, each in its `colour`, the value printed above
/// each: nines per option, availability per option.
pub fn bars_with_ci(
    path_stem: &Path,
    title: &str,
    y_label: &str,
    bars: &[Bar],
) -> Result<Vec<PathBuf>, String> {
    render(
        path_stem,
        &Bars {
            title,
            y_label,
            bars,
        },
    )
}

struct Bars<'a> {
    title: &'a str,
    y_label: &'a str,
    bars: &'a [Bar],
}

/// Half the width of a bar and of a whisker's cap, in category units.
const HALF_BAR: f64 = 0.35;
const HALF_CAP: f64 = 0.12;
/// Length of the arrow on a lower-bound-only bar, in pixels.
const ARROW_PX: i32 = 30;

fn whisker(bar: &Bar) -> Option<[f64; 2]> {
    Some(bar.ci95).filter(|ci| !bar.at_least && ci.iter().all(|v| v.is_finite()))
}

impl Chart for Bars<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let shown: Vec<&Bar> = self.bars.iter().filter(|b| b.value.is_finite()).collect();
        let skipped = self.bars.len() - shown.len();
        let labels: Vec<&str> = shown.iter().map(|b| b.label.as_str()).collect();

        let extent = span(
            shown
                .iter()
                .flat_map(|b| std::iter::once(b.value).chain(whisker(b).into_iter().flatten())),
        );
        // Bars grow from zero; the headroom above holds the value labels and arrows.
        let (lo, hi) = extent.map_or((0.0, 1.0), |(lo, hi)| (lo.min(0.0), hi.max(0.0)));
        let height = if hi > lo { hi - lo } else { 1.0 };
        let (y0, y1) = (lo - 0.02 * height * f64::from(lo < 0.0), hi + 0.2 * height);
        let n = shown.len().max(1) as f64;

        let area = titled(root, self.title, shown.len(), skipped, "not finite")?;
        let mut chart = ChartBuilder::on(&area)
            .margin(20)
            .x_label_area_size(45)
            .y_label_area_size(75)
            .build_cartesian_2d(-0.5..n - 0.5, y0..y1)?;
        // The key goes under the axis, where it can never cover a bar.
        let mut key = Vec::new();
        if shown.iter().any(|b| whisker(b).is_some()) {
            key.push("whiskers: 95% confidence interval");
        }
        if shown.iter().any(|b| b.at_least) {
            key.push("pale bar, arrow, ≥: lower bound only");
        }
        house_style(&mut chart.configure_mesh())
            .disable_x_mesh()
            .x_labels(shown.len() + 1)
            .x_label_formatter(&|x| category_label(&labels, *x))
            .y_label_formatter(&|y| fmt_num(*y))
            .x_desc(key.join("    "))
            .y_desc(self.y_label)
            .draw()?;

        for (i, bar) in shown.iter().enumerate() {
            let x = i as f64;
            let c = colour(bar.colour);
            let fill = if bar.at_least {
                pale(c).filled()
            } else {
                c.filled()
            };
            let corners = [(x - HALF_BAR, 0.0), (x + HALF_BAR, bar.value)];
            chart.draw_series([
                Rectangle::new(corners, fill),
                Rectangle::new(corners, c.stroke_width(1)),
            ])?;
            if let Some([a, b]) = whisker(bar) {
                let ink = BLACK.stroke_width(2);
                chart.draw_series([
                    PathElement::new(vec![(x, a), (x, b)], ink),
                    PathElement::new(vec![(x - HALF_CAP, a), (x + HALF_CAP, a)], ink),
                    PathElement::new(vec![(x - HALF_CAP, b), (x + HALF_CAP, b)], ink),
                ])?;
            }
            if bar.at_least {
                chart.draw_series([EmptyElement::at((x, bar.value))
                    + PathElement::new(vec![(0, 0), (0, -ARROW_PX)], c.stroke_width(3))
                    + TriangleMarker::new((0, -ARROW_PX), 9, c.filled())])?;
            }
            // Above the whisker or the arrow, so the text never sits on either.
            let (anchor, offset) = match whisker(bar) {
                _ if bar.at_least => (bar.value, -ARROW_PX - 12),
                Some([_, b]) => (b.max(bar.value), -9),
                None => (bar.value, -6),
            };
            let at_least = if bar.at_least { "≥ " } else { "" };
            let text = format!("{at_least}{}", fmt_value(bar.value));
            let style = TextStyle::from((FONT, LABEL_PX).into_font())
                .pos(Pos::new(HPos::Center, VPos::Bottom));
            chart.draw_series([
                EmptyElement::at((x, anchor.max(0.0))) + Text::new(text, (0, offset), style)
            ])?;
        }
        Ok(())
    }
}
