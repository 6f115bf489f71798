//! Lab markers in the source, and the stubs a handout puts in their place.
//!
//! A lab is a marked region of the solution:
//!
//! ```text
//!     fn scroll_up(&mut self) {
//!         // LAB 1.1 BEGIN: copy every row one row up, then blank the bottom row
//!         for row in 1..HEIGHT { ... }
//!         self.clear_row(HEIGHT - 1);
//!         // LAB END
//!     }
//! ```
//!
//! In a handout the lines between the markers become one statement,
//! `todo!("LAB 1.1: copy every row one row up, then blank the bottom row");`,
//! and the markers stay, so the student sees where to write. A region is
//! whole statements, and nothing it declares is used after it, so the stub
//! compiles wherever the solution did.

use super::labs_conf::LabId;

/// One marked region of a source file.
#[derive(Debug, Clone, PartialEq)]
pub struct Region {
    pub id: LabId,
    pub hint: String,
    /// Line numbers (1-based) of the BEGIN and END markers.
    pub begin_line: usize,
    pub end_line: usize,
}

const BEGIN: &str = "// LAB ";
const END: &str = "// LAB END";
/// rustfmt's default line width.
const MAX_WIDTH: usize = 100;

/// Finds the regions of one file; `name` is used in error messages.
pub fn find_regions(name: &str, source: &str) -> Result<Vec<Region>, String> {
    let mut regions = Vec::new();
    let mut open: Option<(LabId, String, usize)> = None;
    for (index, line) in source.lines().enumerate() {
        let line_number = index + 1;
        let error = |message: String| format!("{name}:{line_number}: {message}");
        let text = line.trim();
        if text == END {
            let (id, hint, begin_line) = open
                .take()
                .ok_or_else(|| error("`// LAB END` without a `// LAB N.k BEGIN: hint`".into()))?;
            if begin_line + 1 == line_number {
                return Err(error(format!("lab {id}'s region is empty")));
            }
            regions.push(Region {
                id,
                hint,
                begin_line,
                end_line: line_number,
            });
        } else if let Some(rest) = text.strip_prefix(BEGIN) {
            let (id, hint) = parse_begin(rest).map_err(error)?;
            if let Some((open_id, _, _)) = &open {
                return Err(error(format!("lab {id} begins inside lab {open_id}")));
            }
            open = Some((id, hint, line_number));
        }
    }
    match open {
        Some((id, _, line)) => Err(format!("{name}:{line}: lab {id} has no `// LAB END`")),
        None => Ok(regions),
    }
}

/// `2.3 BEGIN: hint` → the id and the hint.
fn parse_begin(rest: &str) -> Result<(LabId, String), String> {
    let malformed = || format!("expected `// LAB N.k BEGIN: hint`, not `// LAB {rest}`");
    let (id, rest) = rest.split_once(' ').ok_or_else(malformed)?;
    let id = LabId::parse(id).ok_or_else(malformed)?;
    let hint = rest.strip_prefix("BEGIN:").ok_or_else(malformed)?.trim();
    if hint.is_empty() {
        return Err(format!("lab {id} has no hint after `BEGIN:`"));
    }
    Ok((id, hint.to_string()))
}

/// `source` with every region of a lab of `chapter` replaced by its stub;
/// other chapters' regions stay as they are (their solutions are given).
pub fn stub_out(source: &str, regions: &[Region], chapter: u32) -> String {
    stub_out_where(source, regions, |id| id.chapter == chapter)
}

/// `source` with the regions of the labs `stubbed` picks replaced by their
/// stubs. The course check uses it for handouts in which one lab is solved.
pub fn stub_out_where(source: &str, regions: &[Region], stubbed: impl Fn(LabId) -> bool) -> String {
    let lines: Vec<&str> = source.lines().collect();
    let mut output = String::with_capacity(source.len());
    let mut skip_until = 0;
    for (index, line) in lines.iter().enumerate() {
        let line_number = index + 1;
        if line_number < skip_until {
            continue;
        }
        output.push_str(line);
        output.push('\n');
        let Some(region) = regions
            .iter()
            .find(|region| region.begin_line == line_number && stubbed(region.id))
        else {
            continue;
        };
        let indent = &line[..line.len() - line.trim_start().len()];
        let message = format!(
            "\"LAB {}: {}\"",
            region.id,
            escape_for_format_string(&region.hint)
        );
        // Laid out as rustfmt would, so `cargo fmt --check` passes on a handout.
        if indent.len() + "todo!();".len() + message.len() > MAX_WIDTH {
            output.push_str(&format!(
                "{indent}todo!(\n{indent}    {message}\n{indent});\n"
            ));
        } else {
            output.push_str(&format!("{indent}todo!({message});\n"));
        }
        skip_until = region.end_line;
    }
    if !source.ends_with('\n') {
        output.pop();
    }
    output
}

/// How many lines of code the solution has in `region`: lines between its
/// markers that are neither blank nor only a comment.
pub fn solution_lines(source: &str, region: &Region) -> usize {
    source
        .lines()
        .skip(region.begin_line)
        .take(region.end_line - region.begin_line - 1)
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with("//"))
        .count()
}

/// The hint as the contents of a `todo!` format string: quotes and
/// backslashes escaped, braces doubled.
fn escape_for_format_string(hint: &str) -> String {
    let mut escaped = String::with_capacity(hint.len());
    for character in hint.chars() {
        match character {
            '"' | '\\' => escaped.push('\\'),
            '{' => escaped.push('{'),
            '}' => escaped.push('}'),
            _ => {}
        }
        escaped.push(character);
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOURCE: &str = "\
fn a(x: u32) -> u32 {
    // LAB 2.1 BEGIN: double \"x\" {twice}
    let y = x * 2;
    y
    // LAB END
}

fn b() {
    // LAB 1.3 BEGIN: an earlier chapter's lab
    run();
    // LAB END
}
";

    #[test]
    fn finds_regions_with_their_lines_and_hints() {
        let regions = find_regions("a.rs", SOURCE).unwrap();
        assert_eq!(regions.len(), 2);
        assert_eq!(regions[0].id, LabId::parse("2.1").unwrap());
        assert_eq!(regions[0].hint, "double \"x\" {twice}");
        assert_eq!((regions[0].begin_line, regions[0].end_line), (2, 5));
        assert_eq!((regions[1].begin_line, regions[1].end_line), (9, 11));
    }

    #[test]
    fn stubs_only_this_chapters_regions() {
        let regions = find_regions("a.rs", SOURCE).unwrap();
        let stubbed = stub_out(SOURCE, &regions, 2);
        assert_eq!(
            stubbed,
            "\
fn a(x: u32) -> u32 {
    // LAB 2.1 BEGIN: double \"x\" {twice}
    todo!(\"LAB 2.1: double \\\"x\\\" {{twice}}\");
    // LAB END
}

fn b() {
    // LAB 1.3 BEGIN: an earlier chapter's lab
    run();
    // LAB END
}
"
        );
        assert_eq!(stub_out(SOURCE, &regions, 3), SOURCE);
    }

    #[test]
    fn a_chosen_lab_keeps_its_solution() {
        let regions = find_regions("a.rs", SOURCE).unwrap();
        let only_1_3 = stub_out_where(SOURCE, &regions, |id| id.chapter == 1);
        assert!(only_1_3.contains("let y = x * 2;"));
        assert!(only_1_3.contains("todo!(\"LAB 1.3: an earlier chapter's lab\");"));
        assert!(!only_1_3.contains("run();"));
    }

    /// Solution lines: those that are neither blank nor only a comment.
    #[test]
    fn solution_lines_leave_out_blanks_and_comments() {
        let regions = find_regions("a.rs", SOURCE).unwrap();
        assert_eq!(solution_lines(SOURCE, &regions[0]), 2);
        let source = "// LAB 1.1 BEGIN: h\n  a();\n\n  // why\n  b(); // c\n// LAB END\n";
        let regions = find_regions("b.rs", source).unwrap();
        assert_eq!(solution_lines(source, &regions[0]), 2);
    }

    #[test]
    fn long_stubs_are_laid_out_as_rustfmt_would() {
        let hint = "h".repeat(90);
        let source =
            format!("fn a() {{\n    // LAB 1.1 BEGIN: {hint}\n    b();\n    // LAB END\n}}\n");
        let regions = find_regions("a.rs", &source).unwrap();
        assert_eq!(
            stub_out(&source, &regions, 1),
            format!("fn a() {{\n    // LAB 1.1 BEGIN: {hint}\n    todo!(\n        \"LAB 1.1: {hint}\"\n    );\n    // LAB END\n}}\n")
        );
    }

    #[test]
    fn malformed_markers_are_errors_with_their_place() {
        let error = |source: &str| find_regions("f.rs", source).unwrap_err();
        assert_eq!(
            error("x\n// LAB END\n"),
            "f.rs:2: `// LAB END` without a `// LAB N.k BEGIN: hint`"
        );
        assert!(
            error("// LAB 1.1 BEGIN: a\n// LAB 1.2 BEGIN: b\nx\n// LAB END\n")
                .contains("f.rs:2: lab 1.2 begins inside lab 1.1")
        );
        assert!(error("// LAB 1.1 BEGIN: a\nx\n").contains("f.rs:1: lab 1.1 has no `// LAB END`"));
        assert!(error("// LAB 1.1 BEGIN: a\n// LAB END\n").contains("empty"));
        assert!(error("// LAB 1.1 BEGIN:\nx\n// LAB END\n").contains("no hint"));
        assert!(error("// LAB one BEGIN: a\nx\n// LAB END\n").contains("expected"));
        assert!(error("// LAB 1.1 START: a\nx\n// LAB END\n").contains("expected"));
    }
}
