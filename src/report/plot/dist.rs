//! Distributions (RPO, RTO): a histogram of bucket counts, or CDF curves
//! from quantiles. Plain numbers in, so this does not depend on hdrhistogram.

use super::lines::{Lines, Series};
use super::{Chart, DrawResult, colour, fmt_num, house_style, pad_linear, render, titled};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::{Path, PathBuf};

/// Bars of counts. `buckets` are `(upper edge, count)`; each bucket starts
/// where the previous one ends, and the first is taken as wide as the
/// second (not below 0 when its edge is not).
pub fn histogram(
    path_stem: &Path,
    title: &str,
    x_label: &str,
    buckets: &[(f64, u64)],
) -> Result<Vec<PathBuf>, String> {
    render(
        path_stem,
        &Histogram {
            title,
            x_label,
            buckets,
        },
    )
}

/// One distribution as `(quantile in [0, 1], value)` pairs, in any order.
#[derive(Debug, Clone, PartialEq)]
pub struct Cdf {
    pub label: String,
    pub quantiles: Vec<(f64, f64)>,
}

/// Cumulative distribution curves, one colour each: value on x, the
/// fraction of values at or below it on y. `log_x` suits times spanning
/// decades.
pub fn cdf(
    path_stem: &Path,
    title: &str,
    x_label: &str,
    curves: &[Cdf],
    log_x: bool,
) -> Result<Vec<PathBuf>, String> {
    let series: Vec<Series> = curves
        .iter()
        .map(|c| Series {
            label: c.label.clone(),
            points: c.quantiles.iter().map(|&(q, v)| (v, q, [q, q])).collect(),
        })
        .collect();
    let chart = Lines {
        title,
        x_label,
        y_label: "fraction of values ≤ x",
        series: &series,
        log_x,
        log_y: false,
        x_categories: None,
    };
    render(path_stem, &chart)
}

struct Histogram<'a> {
    title: &'a str,
    x_label: &'a str,
    buckets: &'a [(f64, u64)],
}

impl Histogram<'_> {
    /// `(lower edge, upper edge, count)` of each bucket with a finite edge, in order.
    fn bins(&self) -> Vec<(f64, f64, u64)> {
        let mut edges: Vec<(f64, u64)> = self
            .buckets
            .iter()
            .copied()
            .filter(|(e, _)| e.is_finite())
            .collect();
        edges.sort_by(|a, b| a.0.total_cmp(&b.0));
        let first_lower = match edges.as_slice() {
            [] => return Vec::new(),
            [(u0, _)] => u0 - 1.0,
            [(u0, _), (u1, _), ..] => u0 - (u1 - u0),
        };
        let first_lower = if edges[0].0 >= 0.0 {
            first_lower.max(0.0)
        } else {
            first_lower
        };
        let lowers = std::iter::once(first_lower).chain(edges.iter().map(|e| e.0));
        lowers
            .zip(&edges)
            .map(|(lo, &(hi, n))| (lo, hi, n))
            .collect()
    }
}

impl Chart for Histogram<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let bins = self.bins();
        let skipped = self.buckets.len() - bins.len();
        let (x0, x1) = match (bins.first(), bins.last()) {
            (Some(f), Some(l)) if l.1 > f.0 => (f.0, l.1),
            (Some(f), Some(l)) => pad_linear((f.0, l.1)),
            _ => (0.0, 1.0),
        };
        let top = bins.iter().map(|b| b.2).max().unwrap_or(0).max(1) as f64;
        let area = titled(root, self.title, bins.len(), skipped, "edge not finite")?;
        let mut chart = ChartBuilder::on(&area)
            .margin(20)
            .x_label_area_size(50)
            .y_label_area_size(80)
            .build_cartesian_2d(x0..x1, 0.0..top * 1.08)?;
        house_style(&mut chart.configure_mesh())
            .disable_x_mesh()
            .x_label_formatter(&|v| fmt_num(*v))
            .y_label_formatter(&|v| fmt_num(*v))
            .x_desc(self.x_label)
            .y_desc("count")
            .draw()?;
        let fill = colour(0).filled();
        chart.draw_series(
            bins.iter()
                .map(|&(lo, hi, n)| Rectangle::new([(lo, 0.0), (hi, n as f64)], fill)),
        )?;
        // Thin white seams keep neighbouring bars apart.
        chart.draw_series(bins.iter().map(|&(lo, hi, n)| {
            Rectangle::new([(lo, 0.0), (hi, n as f64)], WHITE.stroke_width(1))
        }))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bins(buckets: &[(f64, u64)]) -> Vec<(f64, f64, u64)> {
        Histogram {
            title: "",
            x_label: "",
            buckets,
        }
        .bins()
    }

    #[test]
    fn buckets_start_where_the_previous_one_ends() {
        assert_eq!(
            bins(&[(20.0, 2), (10.0, 1)]),
            vec![(0.0, 10.0, 1), (10.0, 20.0, 2)]
        );
        assert_eq!(bins(&[(1.0, 5), (2.0, 3), (4.0, 1)])[0], (0.0, 1.0, 5));
        assert_eq!(bins(&[(f64::NAN, 5), (3.0, 1)]), vec![(2.0, 3.0, 1)]);
        assert!(bins(&[]).is_empty());
    }
}
