//! `modules/NAME/labs.conf`: a chapter's labs and the checks that grade them.
//!
//! ```text
//! chapter = 2
//! title = Memory: frames and the buddy heap
//! # Course texts that belong to this chapter (left out of earlier handouts).
//! docs = chapter-2-memory.md heap-debugging.md
//!
//! [2.1] Build the frame allocator from the memory map
//! # kind   points  test
//! host     10      frames::tests::hands_out_every_available_frame_once_then_fails
//! kernel    5      frames::count_is_the_map_minus_reservations
//!
//! [foundations] Works in the handout already; must keep working
//! host      2      heap::pool::tests::first_fit_splits_and_coalesces
//! ```
//!
//! A *host* check is a unit test of the chapter's crate, run by `cargo test`;
//! a *kernel* check is an in-kernel test, run alone in a boot of the
//! chapter's test kernel. Lab `N.k` goes with the `// LAB N.k BEGIN` markers
//! in the chapter's source; the `foundations` section grades what the
//! handout already does (so a student who breaks it sees the score drop).

use std::fmt;

/// `N.k`: lab k of chapter N.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct LabId {
    pub chapter: u32,
    pub number: u32,
}

impl LabId {
    /// Parses `2.3`.
    pub fn parse(text: &str) -> Option<LabId> {
        let (chapter, number) = text.split_once('.')?;
        let digits = |text: &str| {
            (!text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()))
                .then(|| text.parse().ok())
                .flatten()
        };
        Some(LabId {
            chapter: digits(chapter)?,
            number: digits(number)?,
        })
    }
}

impl fmt::Display for LabId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.chapter, self.number)
    }
}

/// Where a check runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CheckKind {
    Host,
    Kernel,
}

impl fmt::Display for CheckKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `pad`, so that `{:<7}` lines the kinds up.
        f.pad(match self {
            CheckKind::Host => "host",
            CheckKind::Kernel => "kernel",
        })
    }
}

/// One graded test.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    pub kind: CheckKind,
    pub points: u32,
    /// A libtest path (host) or a `KernelTest` name (kernel).
    pub test: String,
}

/// A section of `labs.conf`: one lab, or the foundations (`id: None`).
#[derive(Debug, Clone, PartialEq)]
pub struct LabSection {
    pub id: Option<LabId>,
    pub title: String,
    pub checks: Vec<Check>,
}

impl LabSection {
    pub fn points(&self) -> u32 {
        self.checks.iter().map(|check| check.points).sum()
    }

    /// `Lab 2.1` or `Foundations`.
    pub fn label(&self) -> String {
        self.id
            .map_or_else(|| "Foundations".to_string(), |id| format!("Lab {id}"))
    }
}

/// A whole `labs.conf`.
#[derive(Debug, Clone, PartialEq)]
pub struct LabsConf {
    pub chapter: u32,
    pub title: String,
    pub docs: Vec<String>,
    pub sections: Vec<LabSection>,
}

impl LabsConf {
    pub fn total_points(&self) -> u32 {
        self.sections.iter().map(LabSection::points).sum()
    }

    /// The lab sections (not the foundations), in order.
    pub fn labs(&self) -> impl Iterator<Item = &LabSection> {
        self.sections.iter().filter(|section| section.id.is_some())
    }
}

/// Parses the text of a `labs.conf`. Errors name the line.
pub fn parse(text: &str) -> Result<LabsConf, String> {
    let mut chapter = None;
    let mut title = None;
    let mut docs = Vec::new();
    let mut sections: Vec<LabSection> = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let error = |message: String| format!("line {}: {message}", index + 1);
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(rest) = line.strip_prefix('[') {
            let chapter = chapter.ok_or_else(|| error("`chapter = N` must come first".into()))?;
            let (name, section_title) = rest
                .split_once(']')
                .ok_or_else(|| error("expected `[N.k] title`".into()))?;
            let id = match name {
                "foundations" => None,
                _ => Some(
                    LabId::parse(name)
                        .ok_or_else(|| error(format!("`{name}` is not a lab number like 2.1")))?,
                ),
            };
            if let Some(id) = id {
                let expected = LabId {
                    chapter,
                    number: sections.iter().filter(|s| s.id.is_some()).count() as u32 + 1,
                };
                if id != expected {
                    return Err(error(format!("lab {id} should be numbered {expected}")));
                }
            } else if sections.iter().any(|section| section.id.is_none()) {
                return Err(error("a second [foundations] section".into()));
            }
            let section_title = section_title.trim();
            if section_title.is_empty() {
                return Err(error(format!("[{name}] needs a title")));
            }
            sections.push(LabSection {
                id,
                title: section_title.to_string(),
                checks: Vec::new(),
            });
        } else if !sections.is_empty() {
            let check = parse_check(line).map_err(error)?;
            let duplicate = sections
                .iter()
                .flat_map(|section| &section.checks)
                .any(|other| other.kind == check.kind && other.test == check.test);
            if duplicate {
                return Err(error(format!(
                    "{} check `{}` is listed twice",
                    check.kind, check.test
                )));
            }
            if let Some(section) = sections.last_mut() {
                section.checks.push(check);
            }
        } else {
            let (key, value) = line
                .split_once('=')
                .ok_or_else(|| error("expected `key = value` or a `[N.k] title` section".into()))?;
            let value = value.trim();
            match key.trim() {
                "chapter" => {
                    chapter =
                        Some(
                            value.parse().ok().filter(|&n| n > 0).ok_or_else(|| {
                                error(format!("`{value}` is not a chapter number"))
                            })?,
                        )
                }
                "title" => title = Some(value.to_string()),
                "docs" => docs = value.split_whitespace().map(String::from).collect(),
                other => return Err(error(format!("unknown setting `{other}`"))),
            }
        }
    }
    let chapter = chapter.ok_or("no `chapter = N` line")?;
    if let Some(empty) = sections.iter().find(|section| section.checks.is_empty()) {
        return Err(format!("{} has no checks", empty.label()));
    }
    Ok(LabsConf {
        chapter,
        title: title.ok_or("no `title = ...` line")?,
        docs,
        sections,
    })
}

/// `host 10 frames::tests::reuse`.
fn parse_check(line: &str) -> Result<Check, String> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let [kind, points, test] = words[..] else {
        return Err(format!("expected `host|kernel POINTS TEST`, not `{line}`"));
    };
    let kind = match kind {
        "host" => CheckKind::Host,
        "kernel" => CheckKind::Kernel,
        other => return Err(format!("`{other}` is not a check kind (host or kernel)")),
    };
    let points = points
        .parse()
        .ok()
        .filter(|&points| points > 0)
        .ok_or_else(|| format!("`{points}` is not a positive number of points"))?;
    Ok(Check {
        kind,
        points,
        test: test.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = "\
# comment
chapter = 2
title = Memory
docs = chapter-2-memory.md heap-debugging.md

[2.1] Frames
host 10 frames::tests::a
kernel 5 frames::b

[2.2] Headers
host 20 heap::c

[foundations] Already there
host 2 heap::d
";

    #[test]
    fn reads_sections_checks_and_points() {
        let conf = parse(EXAMPLE).unwrap();
        assert_eq!(conf.chapter, 2);
        assert_eq!(conf.title, "Memory");
        assert_eq!(conf.docs, ["chapter-2-memory.md", "heap-debugging.md"]);
        assert_eq!(conf.sections.len(), 3);
        assert_eq!(conf.sections[0].id, LabId::parse("2.1"));
        assert_eq!(conf.sections[0].points(), 15);
        assert_eq!(
            conf.sections[0].checks[1],
            Check {
                kind: CheckKind::Kernel,
                points: 5,
                test: "frames::b".into()
            }
        );
        assert_eq!(conf.sections[2].label(), "Foundations");
        assert_eq!(conf.total_points(), 37);
        assert_eq!(conf.labs().count(), 2);
    }

    #[test]
    fn lab_ids_parse_and_print() {
        let id = LabId::parse("3.12").unwrap();
        assert_eq!((id.chapter, id.number), (3, 12));
        assert_eq!(id.to_string(), "3.12");
        for bad in ["3", "3.", ".1", "a.1", "3.1.2", "-3.1"] {
            assert_eq!(LabId::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn mistakes_are_reported_with_their_line() {
        let with = |text: &str| parse(text).unwrap_err();
        assert_eq!(
            with("[2.1] x\nhost 1 a"),
            "line 1: `chapter = N` must come first"
        );
        assert!(with("chapter = 2\ntitle = t\n[2.2] x\nhost 1 a")
            .contains("line 3: lab 2.2 should be numbered 2.1"));
        assert!(with("chapter = 2\ntitle = t\n[3.1] x\nhost 1 a").contains("numbered 2.1"));
        assert!(with("chapter = 2\ntitle = t\n[2.1] x\nhost 0 a").contains("positive"));
        assert!(with("chapter = 2\ntitle = t\n[2.1] x\nqemu 1 a").contains("check kind"));
        assert!(with("chapter = 2\ntitle = t\n[2.1] x\nhost 1").contains("host|kernel"));
        assert!(with("chapter = 2\ntitle = t\n[2.1] x\nhost 1 a\nhost 2 a").contains("twice"));
        assert!(with("chapter = 2\ntitle = t\n[2.1] x\n").contains("Lab 2.1 has no checks"));
        assert!(with("chapter = 2\ntitle = t\n[2.1]\nhost 1 a").contains("needs a title"));
        assert!(with("chapter = two").contains("not a chapter number"));
        assert!(with("chapter = 2\ncolour = red").contains("unknown setting"));
        assert!(with("chapter = 2\n[2.1] x\nhost 1 a").contains("title"));
    }
}
