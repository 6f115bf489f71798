//! The chart in `docs/benchmarks.md`: random actions with and without
//! realloc (operations per second by maximum size), heap efficiency, and the
//! microbenchmark's percentiles, one colour per allocator.

use plotters::prelude::*;
use std::path::Path;
use strata_bench::report::Results;

/// One per allocator, in the order of `ALLOCATORS` (an allocator without
/// a colour would be left out of the chart).
const COLOURS: [RGBColor; 12] = [
    RGBColor(214, 39, 40),
    RGBColor(140, 86, 75),
    RGBColor(23, 190, 207),
    RGBColor(127, 127, 127),
    RGBColor(0, 0, 0),
    RGBColor(255, 187, 120),
    RGBColor(255, 127, 14),
    RGBColor(227, 119, 194),
    RGBColor(188, 189, 34),
    RGBColor(31, 119, 180),
    RGBColor(148, 103, 189),
    RGBColor(44, 160, 44),
];

type Failure = Box<dyn std::error::Error>;

/// Draws the four panels into an SVG file at `path`.
pub fn draw(
    results: &Results, allocators: &[&str], path: &Path, machine: &str,
) -> Result<(), Failure> {
    if allocators.len() > COLOURS.len() {
        return Err("more allocators than colours: add one to COLOURS".into());
    }
    let root = SVGBackend::new(path, (1200, 900)).into_drawing_area();
    root.fill(&WHITE)?;
    let (title, body) = root.split_vertically(40);
    title.draw(&Text::new(
        machine.to_string(),
        (10, 12),
        ("sans-serif", 14),
    ))?;
    let panels = body.split_evenly((2, 2));
    let by_size = [
        ("random_actions", "random actions with realloc (Mops/s)"),
        (
            "random_actions_no_realloc",
            "random actions without realloc (Mops/s)",
        ),
    ];
    for (panel, (workload, caption)) in panels.iter().zip(by_size) {
        lines(
            panel,
            results,
            allocators,
            workload,
            "ops_per_s",
            caption,
            1e-6,
        )?;
    }
    efficiency_bars(&panels[2], results, allocators)?;
    lines(
        &panels[3],
        results,
        allocators,
        "microbench",
        "cycles",
        "allocate+free cycles by percentile (log)",
        1.0,
    )?;
    root.present()?;
    Ok(())
}

type Area<'a> = DrawingArea<SVGBackend<'a>, plotters::coord::Shift>;

/// One line per allocator over the workload's parameters (as categories).
fn lines(
    area: &Area, results: &Results, allocators: &[&str], workload: &str, metric: &str,
    caption: &str, scale: f64,
) -> Result<(), Failure> {
    let params: Vec<String> = {
        let mut seen: Vec<String> = Vec::new();
        for figure in results
            .figures
            .iter()
            .filter(|f| f.workload == workload && f.metric == metric)
        {
            if !seen.contains(&figure.param) {
                seen.push(figure.param.clone());
            }
        }
        seen
    };
    let values = |allocator: &str| -> Vec<(f64, f64)> {
        params
            .iter()
            .enumerate()
            .filter_map(|(index, param)| {
                results
                    .get(workload, param, allocator, metric)
                    .map(|value| (index as f64, value * scale))
            })
            .collect()
    };
    let top = allocators
        .iter()
        .flat_map(|a| values(a))
        .map(|(_, y)| y)
        .fold(1.0f64, f64::max);
    let labels = params.clone();
    let x_range = -0.2..(params.len() as f64 - 0.8);
    let mut builder = ChartBuilder::on(area);
    builder
        .caption(caption, ("sans-serif", 16))
        .margin(10)
        .x_label_area_size(30)
        .y_label_area_size(60);
    if metric == "cycles" {
        let mut chart = builder.build_cartesian_2d(x_range, (10.0..top * 1.5).log_scale())?;
        chart
            .configure_mesh()
            .x_labels(params.len())
            .x_label_formatter(&|x| label_at(&labels, *x))
            .draw()?;
        series(&mut chart, allocators, values)?;
    } else {
        let mut chart = builder.build_cartesian_2d(x_range, 0.0..top * 1.1)?;
        chart
            .configure_mesh()
            .x_labels(params.len())
            .x_label_formatter(&|x| label_at(&labels, *x))
            .draw()?;
        series(&mut chart, allocators, values)?;
    }
    Ok(())
}

fn label_at(labels: &[String], x: f64) -> String {
    let index = x.round();
    if (x - index).abs() < 0.01 && index >= 0.0 {
        labels.get(index as usize).cloned().unwrap_or_default()
    } else {
        String::new()
    }
}

fn series<'a, X, Y>(
    chart: &mut ChartContext<'a, SVGBackend<'a>, Cartesian2d<X, Y>>, allocators: &[&str],
    values: impl Fn(&str) -> Vec<(f64, f64)>,
) -> Result<(), Failure>
where
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
{
    for (allocator, colour) in allocators.iter().zip(COLOURS) {
        let points = values(allocator);
        chart
            .draw_series(LineSeries::new(points.clone(), colour.stroke_width(2)))?
            .label(*allocator)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 16, y)], colour.stroke_width(2))
            });
        chart.draw_series(
            points
                .into_iter()
                .map(|point| Circle::new(point, 3, colour.filled())),
        )?;
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .position(SeriesLabelPosition::UpperRight)
        .draw()?;
    Ok(())
}

/// One bar per allocator: live bytes at the first failure, as a percentage.
fn efficiency_bars(area: &Area, results: &Results, allocators: &[&str]) -> Result<(), Failure> {
    let names: Vec<String> = allocators.iter().map(|a| a.to_string()).collect();
    let mut chart = ChartBuilder::on(area)
        .caption(
            "heap efficiency: live bytes at first failure (% of arena)",
            ("sans-serif", 16),
        )
        .margin(10)
        .x_label_area_size(30)
        .y_label_area_size(60)
        .build_cartesian_2d(-0.5..(allocators.len() as f64 - 0.5), 0.0..100.0)?;
    chart
        .configure_mesh()
        .x_labels(allocators.len())
        // Short names: eight full ones would overlap under their bars.
        .x_label_formatter(&|x| {
            label_at(&names, *x)
                .replace("_allocator", "")
                .replace("strata-", "")
        })
        .draw()?;
    for (index, (allocator, colour)) in allocators.iter().zip(COLOURS).enumerate() {
        let Some(live) = results.get("heap_efficiency", "10000", allocator, "live_fraction") else {
            continue;
        };
        let x = index as f64;
        chart.draw_series(std::iter::once(Rectangle::new(
            [(x - 0.35, 0.0), (x + 0.35, live * 100.0)],
            colour.filled(),
        )))?;
    }
    Ok(())
}
