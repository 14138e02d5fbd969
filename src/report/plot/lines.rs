//! Curves with shaded 95 % confidence bands, on linear or log axes.

use super::{
    Chart, DrawResult, Swatch, category_label, colour, fmt_num, house_style, key_width, pad_linear,
    pad_log, render, side_key, span, titled,
};
use plotters::coord::Shift;
use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::prelude::*;
use std::path::{Path, PathBuf};

/// One curve: `(x, y, [ci95 low, ci95 high])` per point, in any order.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub label: String,
    pub points: Vec<(f64, f64, [f64; 2])>,
}

/// Curves with their 95 % CI as shaded bands, one colour per series: P(loss)
/// against horizon, sweep curves. `log_y` suits probabilities spanning
/// decades; points with y ≤ 0 cannot be shown there and are left out (the
/// title says how many), and a band reaching 0 is cut at the axis floor.
pub fn lines_with_bands(
    path_stem: &Path,
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series],
    log_y: bool,
) -> Result<Vec<PathBuf>, String> {
    let axes = (x_label, None, y_label, log_y);
    render(path_stem, &Lines::linear_x(title, axes, series))
}

/// Like [`lines_with_bands`], against categories: a point's x is the index
/// of its category in `categories`, which label the axis (a sweep over
/// values that are not numbers).
pub fn lines_with_bands_categorical(
    path_stem: &Path,
    title: &str,
    x_label: &str,
    categories: &[String],
    y_label: &str,
    series: &[Series],
    log_y: bool,
) -> Result<Vec<PathBuf>, String> {
    let axes = (x_label, Some(categories), y_label, log_y);
    render(path_stem, &Lines::linear_x(title, axes, series))
}

/// x label, x categories, y label, log y.
type Axes<'a> = (&'a str, Option<&'a [String]>, &'a str, bool);

impl<'a> Lines<'a> {
    fn linear_x(title: &'a str, axes: Axes<'a>, series: &'a [Series]) -> Self {
        let (x_label, x_categories, y_label, log_y) = axes;
        Self {
            title,
            x_label,
            y_label,
            series,
            log_x: false,
            log_y,
            x_categories,
        }
    }
}

/// Also draws the CDF chart, which is lines without bands.
pub(super) struct Lines<'a> {
    pub title: &'a str,
    pub x_label: &'a str,
    pub y_label: &'a str,
    pub series: &'a [Series],
    pub log_x: bool,
    pub log_y: bool,
    /// Labels of the x positions 0, 1, …, instead of numbers.
    pub x_categories: Option<&'a [String]>,
}

/// A point that these axes can show, its band widened to contain it.
#[derive(Clone, Copy)]
struct Point {
    x: f64,
    y: f64,
    lo: f64,
    hi: f64,
}

impl Lines<'_> {
    fn usable(&self, &(x, y, [lo, hi]): &(f64, f64, [f64; 2])) -> Option<Point> {
        let fits = |v: f64, log: bool| v.is_finite() && (!log || v > 0.0);
        if !(fits(x, self.log_x) && fits(y, self.log_y)) {
            return None;
        }
        let lo = if lo.is_finite() { lo.min(y) } else { y };
        let hi = if hi.is_finite() { hi.max(y) } else { y };
        Some(Point { x, y, lo, hi })
    }

    fn curves(&self) -> Vec<Vec<Point>> {
        self.series
            .iter()
            .map(|s| {
                let mut pts: Vec<Point> = s.points.iter().filter_map(|p| self.usable(p)).collect();
                pts.sort_by(|a, b| a.x.total_cmp(&b.x));
                pts
            })
            .collect()
    }

    /// Whether a series has a band to shade (a single point gets a whisker instead).
    fn has_band(pts: &[Point]) -> bool {
        pts.len() >= 2 && pts.iter().any(|p| p.lo < p.hi)
    }

    fn plot<DB, X, Y>(
        &self,
        area: &DrawingArea<DB, Shift>,
        xs: X,
        ys: Y,
        curves: &[Vec<Point>],
    ) -> DrawResult
    where
        DB: DrawingBackend,
        DB::ErrorType: 'static,
        X: AsRangedCoord<Value = f64>,
        Y: AsRangedCoord<Value = f64>,
        X::CoordDescType: ValueFormatter<f64>,
        Y::CoordDescType: ValueFormatter<f64>,
    {
        let mut chart = ChartBuilder::on(area)
            .margin(20)
            .x_label_area_size(50)
            .y_label_area_size(80)
            .build_cartesian_2d(xs, ys)?;
        let categories: Vec<&str> = self
            .x_categories
            .into_iter()
            .flatten()
            .map(String::as_str)
            .collect();
        let x_label = |v: &f64| match self.x_categories {
            Some(_) => category_label(&categories, *v),
            None => fmt_num(*v),
        };
        house_style(&mut chart.configure_mesh())
            .x_label_formatter(&x_label)
            .y_label_formatter(&|v| fmt_num(*v))
            .x_desc(self.x_label)
            .y_desc(self.y_label)
            .draw()?;

        // A band reaching 0 on a log axis is cut at the axis floor.
        let floor = chart.y_range().start;
        for (i, pts) in curves.iter().enumerate() {
            let c = colour(i);
            if Self::has_band(pts) {
                let low = pts.iter().map(|p| (p.x, p.lo.max(floor)));
                let high = pts.iter().rev().map(|p| (p.x, p.hi));
                chart.draw_series([Polygon::new(
                    low.chain(high).collect::<Vec<_>>(),
                    c.mix(0.18).filled(),
                )])?;
            } else if let [p] = pts.as_slice() {
                chart.draw_series([PathElement::new(
                    vec![(p.x, p.lo.max(floor)), (p.x, p.hi)],
                    c.stroke_width(2),
                )])?;
            }
            chart.draw_series(LineSeries::new(
                pts.iter().map(|p| (p.x, p.y)),
                c.stroke_width(2),
            ))?;
            chart.draw_series(pts.iter().map(|p| Circle::new((p.x, p.y), 3, c.filled())))?;
        }
        Ok(())
    }
}

impl Chart for Lines<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let curves = self.curves();
        let shown: usize = curves.iter().map(Vec::len).sum();
        let given: usize = self.series.iter().map(|s| s.points.len()).sum();
        let why = if self.log_x || self.log_y {
            "not finite, or ≤ 0 on a log axis"
        } else {
            "not finite"
        };
        let area = titled(root, self.title, shown, given - shown, why)?;

        let mut key: Vec<(&str, Swatch)> = self
            .series
            .iter()
            .enumerate()
            .map(|(i, s)| (s.label.as_str(), Swatch::Line(colour(i))))
            .collect();
        if curves.iter().any(|pts| Self::has_band(pts)) {
            key.push(("95% confidence interval", Swatch::Band));
        }
        let (width, _) = area.dim_in_pixel();
        let (plot_area, key_area) =
            area.split_horizontally(width - key_width(key.iter().map(|k| k.0)));
        side_key(&key_area, &key)?;

        let all = || curves.iter().flatten();
        let pad = |extent: Option<(f64, f64)>, log: bool| match extent {
            Some(e) if log => pad_log(e),
            Some(e) => pad_linear(e),
            None if log => (1e-6, 1.0),
            None => (0.0, 1.0),
        };
        let (x0, x1) = pad(span(all().map(|p| p.x)), self.log_x);
        let y_span = span(
            all()
                .flat_map(|p| [p.y, p.hi, p.lo])
                .filter(|&v| !self.log_y || v > 0.0),
        );
        let (y0, y1) = pad(y_span, self.log_y);
        // Each axis kind is its own type in plotters, hence one arm per pair.
        let a = &plot_area;
        match (self.log_x, self.log_y) {
            (false, false) => self.plot(a, x0..x1, y0..y1, &curves),
            (false, true) => self.plot(a, x0..x1, (y0..y1).log_scale(), &curves),
            (true, false) => self.plot(a, (x0..x1).log_scale(), y0..y1, &curves),
            (true, true) => self.plot(a, (x0..x1).log_scale(), (y0..y1).log_scale(), &curves),
        }
    }
}
