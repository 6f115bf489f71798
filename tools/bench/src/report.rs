//! Collecting figures, printing them as tables with Strata-buddy's ratio to
//! each peer, and writing them to `target/bench/results.csv`.

use std::fmt::Write;

/// One measured number: a row of the CSV file.
#[derive(Debug, Clone, PartialEq)]
pub struct Figure {
    pub workload: &'static str,
    pub param: String,
    pub allocator: &'static str,
    pub metric: &'static str,
    pub value: f64,
}

/// Whether a larger figure is a better one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Better {
    Higher,
    Lower,
}

/// Every figure of a run, in the order measured.
#[derive(Debug, Default)]
pub struct Results {
    pub figures: Vec<Figure>,
}

/// The CSV file's header line.
pub const CSV_HEADER: &str = "workload,param,allocator,metric,value";

impl Results {
    pub fn add(
        &mut self, workload: &'static str, param: impl ToString, allocator: &'static str,
        metric: &'static str, value: f64,
    ) {
        self.figures.push(Figure {
            workload,
            param: param.to_string(),
            allocator,
            metric,
            value,
        });
    }

    /// Repeats every figure of `allocator` under the name `alias` (the
    /// kernel's default heap is also shown as `strata-default`).
    pub fn alias(&mut self, allocator: &str, alias: &'static str) {
        let copies: Vec<Figure> = self
            .figures
            .iter()
            .filter(|figure| figure.allocator == allocator)
            .map(|figure| Figure {
                allocator: alias,
                ..figure.clone()
            })
            .collect();
        self.figures.extend(copies);
    }

    pub fn get(&self, workload: &str, param: &str, allocator: &str, metric: &str) -> Option<f64> {
        self.figures
            .iter()
            .find(|f| {
                f.workload == workload
                    && f.param == param
                    && f.allocator == allocator
                    && f.metric == metric
            })
            .map(|f| f.value)
    }

    /// The parameters measured for `workload`/`metric`, in first-seen order.
    fn params(&self, workload: &str, metric: &str) -> Vec<String> {
        let mut params: Vec<String> = Vec::new();
        for figure in &self.figures {
            if figure.workload == workload
                && figure.metric == metric
                && !params.contains(&figure.param)
            {
                params.push(figure.param.clone());
            }
        }
        params
    }

    /// How many times better `subject` is than `peer` (above 1: better),
    /// whichever way round "better" goes for the metric.
    pub fn ratio(
        &self, workload: &str, param: &str, metric: &str, better: Better, subject: &str, peer: &str,
    ) -> Option<f64> {
        let ours = self.get(workload, param, subject, metric)?;
        let theirs = self.get(workload, param, peer, metric)?;
        let ratio = match better {
            Better::Higher => ours / theirs,
            Better::Lower => theirs / ours,
        };
        ratio.is_finite().then_some(ratio)
    }

    /// A table: one row per parameter, one column per allocator, then
    /// `subject`'s ratio to each of `peers`.
    pub fn table(
        &self, workload: &str, metric: &str, better: Better, allocators: &[&str], subject: &str,
        peers: &[&str],
    ) -> String {
        let mut out = String::new();
        let width = allocators.iter().map(|a| a.len()).max().unwrap_or(8).max(9);
        write!(out, "{:>12}", "param").unwrap();
        for allocator in allocators {
            write!(out, " {allocator:>width$}").unwrap();
        }
        for peer in peers {
            write!(out, " {:>9}", format!("x{}", short(peer))).unwrap();
        }
        out.push('\n');
        for param in self.params(workload, metric) {
            write!(out, "{param:>12}").unwrap();
            for allocator in allocators {
                let cell = self
                    .get(workload, &param, allocator, metric)
                    .map_or("-".into(), |value| format_value(metric, value));
                write!(out, " {cell:>width$}").unwrap();
            }
            for peer in peers {
                let cell = self
                    .ratio(workload, &param, metric, better, subject, peer)
                    .map_or("-".into(), |ratio| format!("{ratio:.2}"));
                write!(out, " {cell:>9}").unwrap();
            }
            out.push('\n');
        }
        out
    }

    /// Every figure as CSV, header first.
    pub fn to_csv(&self) -> String {
        let mut out = String::from(CSV_HEADER);
        out.push('\n');
        for f in &self.figures {
            writeln!(
                out,
                "{},{},{},{},{}",
                f.workload, f.param, f.allocator, f.metric, f.value
            )
            .unwrap();
        }
        out
    }
}

/// A peer's name, short enough for a column heading.
pub fn short(name: &str) -> &str {
    name.split('_').next().unwrap_or(name)
}

/// A figure the way a reader wants it: ops/s in millions, fractions as
/// percentages, cycles whole.
pub fn format_value(metric: &str, value: f64) -> String {
    match metric {
        "ops_per_s" => format!("{:.2}M", value / 1e6),
        "live_fraction" | "header_fraction" | "block_fraction" => format!("{:.1}%", value * 100.0),
        "cycles" => format!("{value:.0}"),
        _ => format!("{value:.1}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Results {
        let mut results = Results::default();
        results.add("w", 10, "ours", "ops_per_s", 3e6);
        results.add("w", 10, "theirs", "ops_per_s", 2e6);
        results.add("w", 20, "ours", "ops_per_s", 1e6);
        results.add("w", 20, "theirs", "ops_per_s", 4e6);
        results.add("m", "p99", "ours", "cycles", 50.0);
        results.add("m", "p99", "theirs", "cycles", 100.0);
        results
    }

    #[test]
    fn ratios_say_how_many_times_better_either_way_round() {
        let results = sample();
        let higher = results.ratio("w", "10", "ops_per_s", Better::Higher, "ours", "theirs");
        assert_eq!(higher, Some(1.5));
        let lower = results.ratio("m", "p99", "cycles", Better::Lower, "ours", "theirs");
        assert_eq!(lower, Some(2.0));
        assert_eq!(
            results.ratio("w", "30", "ops_per_s", Better::Higher, "ours", "theirs"),
            None
        );
    }

    #[test]
    fn tables_have_a_row_per_param_and_the_ratio_last() {
        let table = sample().table(
            "w",
            "ops_per_s",
            Better::Higher,
            &["ours", "theirs"],
            "ours",
            &["theirs"],
        );
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[0].ends_with("xtheirs"));
        assert!(lines[1].trim_start().starts_with("10") && lines[1].ends_with("1.50"));
        assert!(lines[2].contains("1.00M") && lines[2].ends_with("0.25"));
    }

    #[test]
    fn the_csv_has_the_agreed_header_and_one_line_per_figure() {
        let csv = sample().to_csv();
        let mut lines = csv.lines();
        assert_eq!(lines.next(), Some("workload,param,allocator,metric,value"));
        assert_eq!(lines.next(), Some("w,10,ours,ops_per_s,3000000"));
        assert_eq!(lines.count(), 5);
    }
}
