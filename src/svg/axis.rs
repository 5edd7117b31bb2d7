//! The time axis: instants mapped to x coordinates, the ticks and their
//! labels, and markers spread over rows so that close ones stay apart.

use chrono::{DateTime, TimeDelta, Utc};

use super::lanes::Marker;
use super::{MARKER_GAP, MAX_MARKER_ROWS, MAX_TICKS, PLOT_WIDTH};
use crate::timeline::day_label;

// ----- the time axis ------------------------------------------------------------

/// Maps instants to x coordinates.
pub(super) struct Axis {
    pub(super) start: DateTime<Utc>,
    pub(super) from: DateTime<Utc>,
    pub(super) to: DateTime<Utc>,
    pub(super) left: f64,
}

impl Axis {
    pub(super) fn x(&self, at: DateTime<Utc>) -> f64 {
        let span = (self.to - self.from).num_seconds().max(1) as f64;
        let at = at.clamp(self.from, self.to);
        self.left + (at - self.from).num_seconds() as f64 / span * PLOT_WIDTH
    }

    /// Tick instants and labels: whole days counted from the start (hours
    /// for spans of a week or less), at most [`MAX_TICKS`] of them, on a
    /// step that reads as a calendar unit (a week, four weeks, a year).
    pub(super) fn ticks(&self) -> Vec<(DateTime<Utc>, String)> {
        const HOUR: i64 = 3600;
        const DAY: i64 = 86_400;
        let lo = (self.from - self.start).num_seconds();
        let hi = (self.to - self.start).num_seconds();
        let span = (hi - lo).max(1);
        let steps = [
            HOUR,
            2 * HOUR,
            3 * HOUR,
            6 * HOUR,
            12 * HOUR,
            DAY,
            2 * DAY,
            7 * DAY,
            14 * DAY,
            28 * DAY,
            56 * DAY,
            91 * DAY,
            182 * DAY,
            365 * DAY,
            730 * DAY,
            1825 * DAY,
            3650 * DAY,
            7300 * DAY,
            18_250 * DAY,
            36_500 * DAY,
        ];
        let step = steps
            .into_iter()
            .find(|s| span / s <= MAX_TICKS)
            .unwrap_or_else(|| (span / MAX_TICKS / DAY + 1) * DAY);
        let first = lo.div_euclid(step) + i64::from(lo.rem_euclid(step) != 0);
        let last = hi.div_euclid(step);
        (first..=last)
            .map(|k| {
                let secs = k * step;
                let at = self.start + TimeDelta::seconds(secs);
                let label = if step % DAY == 0 {
                    format!("day {}", secs / DAY)
                } else {
                    day_label(self.start, at)
                };
                (at, label)
            })
            .collect()
    }
}

/// Puts each marker in the first row where it does not crowd the previous
/// one; returns the number of rows used.
pub(super) fn assign_rows(markers: &mut [Marker], axis: &Axis) -> usize {
    let mut last: Vec<f64> = Vec::new();
    for m in markers.iter_mut() {
        let x = axis.x(m.at);
        let row = match last.iter().position(|l| x - l >= MARKER_GAP) {
            Some(r) => r,
            None if last.len() < MAX_MARKER_ROWS => {
                last.push(f64::NEG_INFINITY);
                last.len() - 1
            }
            // All rows crowded: overlap in the row whose last marker is
            // furthest left (the first such row, for determinism).
            None => {
                let mut best = 0;
                for (i, l) in last.iter().enumerate() {
                    if *l < last[best] {
                        best = i;
                    }
                }
                best
            }
        };
        last[row] = x;
        m.row = row;
    }
    last.len()
}
