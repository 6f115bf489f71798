//! Each lab graded on its own: the proof the course check runs.
//!
//! `labs.conf` promises that a lab's host checks grade that lab alone. So
//! for every lab N.k, a handout of chapter N is rewritten with N.k's regions
//! solved and every other lab of the chapter stubbed, and its host checks
//! are run. The passing checks must be exactly the foundations' and N.k's:
//!
//! ```text
//!   solved     host score   expected
//!   (none)     10 / 75      10          foundations only
//!   2.1        28 / 75      10 + 18     the foundations and 2.1's checks
//!   …
//!   all        75 / 75      75
//! ```
//!
//! A check of N.k that needs another lab fails in N.k's row (it reaches
//! that lab's stub); a check that passes while its lab is a stub fails the
//! `(none)` row. Only the chapter's crate changes between rows, so cargo
//! rebuilds only it.

use std::fs;
use std::path::Path;

use super::grade::{self, Results};
use super::labs_conf::{CheckKind, LabId};
use super::{marked_files, markers, Chapter};
use crate::cli::GradeOptions;

/// One row of the table: which labs were solved and what passed.
#[derive(Debug)]
pub struct Row {
    /// `None`: no lab solved; `Some(None)`: every lab; `Some(Some(id))`: one.
    pub solved: Solved,
    pub earned: u32,
    pub expected: u32,
    /// Checks that passed but should not have, or failed but should not have.
    pub wrong: Vec<String>,
}

/// Which labs a row solves.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Solved {
    None,
    One(LabId),
    All,
}

impl Solved {
    fn includes(self, id: LabId) -> bool {
        match self {
            Solved::None => false,
            Solved::One(one) => one == id,
            Solved::All => true,
        }
    }

    pub fn label(self) -> String {
        match self {
            Solved::None => "(none)".into(),
            Solved::One(id) => id.to_string(),
            Solved::All => "all".into(),
        }
    }
}

/// The chapter's lab sections with their solution lines, counted in the
/// solution at `root`.
pub fn solution_lines(root: &Path, chapter: &Chapter) -> Result<Vec<(LabId, usize)>, String> {
    let files = marked_files(root, chapter)?;
    let mut lines = Vec::new();
    for lab in chapter.conf.labs() {
        let Some(id) = lab.id else { continue };
        let mut count = 0;
        for file in &files {
            let text = fs::read_to_string(root.join(&file.path))
                .map_err(|e| format!("{}: {e}", file.path.display()))?;
            for region in file.regions.iter().filter(|region| region.id == id) {
                count += markers::solution_lines(&text, region);
            }
        }
        lines.push((id, count));
    }
    Ok(lines)
}

/// Runs every row in `handout`, a chapter handout written from the solution
/// at `root` (its cargo target directory may be shared with the solution's).
/// `progress` is told each row as it ends.
pub fn check(
    root: &Path, chapter: &Chapter, handout: &Path, progress: &mut dyn FnMut(&Row),
) -> Result<Vec<Row>, String> {
    let files = marked_files(root, chapter)?;
    let token = grade::random_token()?;
    let host: Vec<_> = chapter
        .conf
        .sections
        .iter()
        .flat_map(|section| section.checks.iter().map(move |check| (section.id, check)))
        .filter(|(_, check)| check.kind == CheckKind::Host)
        .collect();
    let checks: Vec<_> = host.iter().map(|(_, check)| *check).collect();
    let mut solved_cases = vec![Solved::None];
    solved_cases.extend(
        chapter
            .conf
            .labs()
            .filter_map(|lab| lab.id)
            .map(Solved::One),
    );
    solved_cases.push(Solved::All);
    let options = GradeOptions {
        chapter: chapter.number().to_string(),
        token: Some(token.clone()),
        iso_dir: handout.join("target/iso"),
        log_dir: handout.join("target/independence-logs"),
        timeout: std::time::Duration::from_secs(60),
        // The rows' reports go to stderr, out of the course check's way.
        json: true,
    };
    let mut rows = Vec::new();
    for solved in solved_cases {
        for file in &files {
            let text = fs::read_to_string(root.join(&file.path))
                .map_err(|e| format!("{}: {e}", file.path.display()))?;
            let stubbed = markers::stub_out_where(&text, &file.regions, |id| {
                id.chapter == chapter.number() && !solved.includes(id)
            });
            let target = handout.join(&file.path);
            fs::write(&target, stubbed).map_err(|e| format!("{}: {e}", target.display()))?;
        }
        let results: Results = grade::run_host_checks(handout, chapter, &checks, &token, &options);
        let mut row = Row {
            solved,
            earned: 0,
            expected: 0,
            wrong: Vec::new(),
        };
        for (section, check) in &host {
            let should_pass = section.is_none_or(|id| solved.includes(id));
            let result = results.get(&grade::key(check));
            let passed = result.is_some_and(Result::is_ok);
            if passed {
                row.earned += check.points;
            }
            if should_pass {
                row.expected += check.points;
            }
            if passed != should_pass {
                let why = match result {
                    Some(Err(reason)) => reason.lines().next().unwrap_or("").to_string(),
                    Some(Ok(())) => "passed".into(),
                    None => "not run".into(),
                };
                row.wrong.push(format!("{}: {why}", check.test));
            }
        }
        progress(&row);
        rows.push(row);
    }
    Ok(rows)
}

/// The table the course check prints: one line per row.
pub fn table(rows: &[Row], lines: &[(LabId, usize)]) -> String {
    let mut text = String::from("  solved   lines  host score  expected\n");
    for row in rows {
        let lines = match row.solved {
            Solved::One(id) => lines
                .iter()
                .find(|(lab, _)| *lab == id)
                .map_or(String::new(), |(_, n)| n.to_string()),
            Solved::All => lines.iter().map(|(_, n)| n).sum::<usize>().to_string(),
            Solved::None => String::new(),
        };
        text.push_str(&format!(
            "  {:<8} {:>5}  {:>10}  {:>8}  {}\n",
            row.solved.label(),
            lines,
            row.earned,
            row.expected,
            if row.wrong.is_empty() { "ok" } else { "WRONG" }
        ));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_say_which_labs_they_solve() {
        let id = LabId::parse("2.3").unwrap();
        let other = LabId::parse("2.4").unwrap();
        assert!(Solved::One(id).includes(id));
        assert!(!Solved::One(id).includes(other));
        assert!(!Solved::None.includes(id));
        assert!(Solved::All.includes(other));
        assert_eq!(Solved::One(id).label(), "2.3");
    }

    #[test]
    fn the_table_marks_wrong_rows() {
        let id = LabId::parse("1.1").unwrap();
        let rows = [
            Row {
                solved: Solved::One(id),
                earned: 30,
                expected: 30,
                wrong: vec![],
            },
            Row {
                solved: Solved::All,
                earned: 60,
                expected: 70,
                wrong: vec!["x: failed".into()],
            },
        ];
        let table = table(&rows, &[(id, 42)]);
        let lines: Vec<&str> = table.lines().collect();
        assert!(lines[1].contains("1.1") && lines[1].contains("42") && lines[1].ends_with("ok"));
        assert!(lines[2].contains("all") && lines[2].ends_with("WRONG"));
    }
}
