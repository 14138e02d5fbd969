//! One trial's story over simulated time: a lane per component, its down
//! intervals as bars and instant events (e.g. a loss) as diamonds.

use super::{
    Chart, DrawResult, category_label, colour, fmt_num, house_style, render, span, titled,
};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::{Path, PathBuf};

/// One row of the timeline. Times are simulated days; an interval is
/// `[start, end]` (either order), drawn as "down".
#[derive(Debug, Clone, PartialEq)]
pub struct Lane {
    pub label: String,
    pub intervals: Vec<[f64; 2]>,
    pub events: Vec<f64>,
}

/// Lanes top to bottom in the order given, on a shared time axis in days.
/// The picture grows with the number of lanes, up to a cap past which lanes
/// get thinner.
pub fn timeline(path_stem: &Path, title: &str, lanes: &[Lane]) -> Result<Vec<PathBuf>, String> {
    render(path_stem, &Timeline { title, lanes })
}

struct Timeline<'a> {
    title: &'a str,
    lanes: &'a [Lane],
}

const LANE_PX: u32 = 30;
const MAX_PX: u32 = 4000;
/// Half the height of an interval bar, in lane units.
const HALF_ROW: f64 = 0.3;

impl Chart for Timeline<'_> {
    fn size(&self) -> (u32, u32) {
        let lanes = u32::try_from(self.lanes.len()).unwrap_or(u32::MAX);
        (
            1000,
            lanes
                .saturating_mul(LANE_PX)
                .saturating_add(140)
                .clamp(300, MAX_PX),
        )
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let clean: Vec<Lane> = self.lanes.iter().map(drawable).collect();
        let count = |lanes: &[Lane]| -> usize {
            lanes
                .iter()
                .map(|l| l.intervals.len() + l.events.len())
                .sum()
        };
        let (given, shown) = (count(self.lanes), count(&clean));

        let times = clean
            .iter()
            .flat_map(|l| l.intervals.iter().flatten().chain(&l.events).copied());
        // Simulated time starts at 0; a little room on the right for a marker at the end.
        let (t0, t1) = span(times).map_or((0.0, 1.0), |(lo, hi)| (lo.min(0.0), hi));
        let t1 = if t1 > t0 {
            t1 + (t1 - t0) * 0.02
        } else {
            t0 + 1.0
        };

        // First lane on top: lane i sits at y = n - 1 - i.
        let n = self.lanes.len();
        let labels: Vec<&str> = self.lanes.iter().rev().map(|l| l.label.as_str()).collect();
        let widest = labels.iter().map(|l| l.chars().count()).max().unwrap_or(0) as u32;
        let area = titled(root, self.title, shown, given - shown, "not finite")?;
        let mut chart = ChartBuilder::on(&area)
            .margin(20)
            .x_label_area_size(50)
            .y_label_area_size((widest * 9 + 20).clamp(60, 320))
            .build_cartesian_2d(t0..t1, -0.5..n.max(1) as f64 - 0.5)?;
        house_style(&mut chart.configure_mesh())
            .disable_y_mesh()
            .y_labels(n + 1)
            .y_label_formatter(&|y| category_label(&labels, *y))
            .x_label_formatter(&|t| fmt_num(*t))
            .x_desc("simulated time (days)    bars: down    ◆: event")
            .draw()?;

        // The key is in the axis description, where it can never cover a lane.
        let (down, event) = (colour(1), colour(2));
        let row = |i: usize| (n - 1 - i) as f64;
        let bars = clean.iter().enumerate().flat_map(|(i, lane)| {
            // Outlined too, so an interval shorter than a pixel still shows.
            lane.intervals.iter().flat_map(move |&[a, b]| {
                let corners = [(a, row(i) - HALF_ROW), (b, row(i) + HALF_ROW)];
                [
                    Rectangle::new(corners, down.filled()),
                    Rectangle::new(corners, down.stroke_width(1)),
                ]
            })
        });
        chart.draw_series(bars)?;
        let diamond = |t: f64, i: usize| {
            EmptyElement::at((t, row(i)))
                + Polygon::new(vec![(0, -8), (6, 0), (0, 8), (-6, 0)], event.filled())
        };
        chart.draw_series(
            clean
                .iter()
                .enumerate()
                .flat_map(|(i, lane)| lane.events.iter().map(move |&t| diamond(t, i))),
        )?;
        Ok(())
    }
}

/// The part of `lane` that can be drawn: finite times only, each interval
/// start first.
fn drawable(lane: &Lane) -> Lane {
    let finite = |t: &f64| t.is_finite();
    Lane {
        label: lane.label.clone(),
        intervals: lane
            .intervals
            .iter()
            .filter(|iv| iv.iter().all(finite))
            .map(|&[a, b]| [a.min(b), a.max(b)])
            .collect(),
        events: lane.events.iter().copied().filter(finite).collect(),
    }
}
