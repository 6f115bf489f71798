//! Course mode: lab handouts generated from the solution, a grader, and one
//! git branch per chapter.
//!
//! The solution tree is the only source. Each chapter's key functions carry
//! lab markers ([`markers`]); `modules/NAME/labs.conf` ([`labs_conf`]) says
//! which tests grade each lab and for how many points. From those two:
//!
//! - [`handout`] writes a student tree for chapter N: chapters before N as
//!   they are, chapter N's marked regions replaced by `todo!("LAB N.k: …")`
//!   stubs, later chapters left out;
//! - [`grade`] runs chapter N's checks and prints `Score: X/Y`;
//! - [`branches`] writes a repository with one branch per handout and the
//!   solution on `solutions`;
//! - [`course_check`] is what CI runs: every handout builds and scores
//!   exactly its foundations, each lab is graded on its own
//!   ([`independence`]), the solution grades full, and every chapter's
//!   files can be read in the order its `lib.rs` lists them
//!   ([`reading_order`]).

pub mod branches;
pub mod course_check;
pub mod json;
pub mod grade;
pub mod handout;
pub mod independence;
pub mod labs_conf;
pub mod markers;
pub mod reading_order;

use std::fs;
use std::path::{Path, PathBuf};

use labs_conf::{LabId, LabsConf};
use markers::Region;

/// One chapter of the course: a crate `modules/MODULE` with a `labs.conf`.
#[derive(Debug, Clone)]
pub struct Chapter {
    pub module: String,
    pub conf: LabsConf,
}

impl Chapter {
    pub fn number(&self) -> u32 {
        self.conf.chapter
    }

    /// `strata-memory`.
    pub fn package(&self) -> String {
        format!("strata-{}", self.module)
    }

    /// `chapter-2-memory`: the branch name, and the stem of its course text.
    pub fn branch(&self) -> String {
        format!("chapter-{}-{}", self.number(), self.module)
    }

    /// `modules/memory`, relative to the workspace root.
    pub fn dir(&self) -> PathBuf {
        Path::new("modules").join(&self.module)
    }
}

/// Every chapter with a `labs.conf`, in chapter order. The numbers must run
/// 1, 2, 3… without gaps.
pub fn load_chapters(root: &Path) -> Result<Vec<Chapter>, String> {
    let modules = root.join("modules");
    let entries = fs::read_dir(&modules).map_err(|e| format!("{}: {e}", modules.display()))?;
    let mut chapters = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path().join("labs.conf");
        let Ok(text) = fs::read_to_string(&path) else {
            continue;
        };
        let conf = labs_conf::parse(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        chapters.push(Chapter {
            module: entry.file_name().to_string_lossy().into_owned(),
            conf,
        });
    }
    chapters.sort_by_key(Chapter::number);
    for (index, chapter) in chapters.iter().enumerate() {
        if chapter.number() != index as u32 + 1 {
            return Err(format!(
                "modules/{}/labs.conf says chapter {}, but it is chapter {} in order",
                chapter.module,
                chapter.number(),
                index + 1
            ));
        }
    }
    if chapters.is_empty() {
        return Err(format!("no modules/*/labs.conf under {}", root.display()));
    }
    Ok(chapters)
}

/// The chapter `which` names: its number (`2`) or its module (`memory`).
pub fn find_chapter<'a>(chapters: &'a [Chapter], which: &str) -> Result<&'a Chapter, String> {
    chapters
        .iter()
        .find(|chapter| chapter.module == which || chapter.number().to_string() == which)
        .ok_or_else(|| {
            let known: Vec<String> = chapters
                .iter()
                .map(|chapter| format!("{} ({})", chapter.number(), chapter.module))
                .collect();
            format!(
                "no chapter `{which}`; the chapters are {}",
                known.join(", ")
            )
        })
}

/// A source file of a chapter and the lab regions in it.
#[derive(Debug)]
pub struct MarkedFile {
    /// Relative to the workspace root.
    pub path: PathBuf,
    pub regions: Vec<Region>,
}

/// The lab regions in a chapter's `src/`, file by file (files without
/// regions are left out), in path order.
pub fn marked_files(root: &Path, chapter: &Chapter) -> Result<Vec<MarkedFile>, String> {
    let mut files = Vec::new();
    collect_rust_files(&root.join(chapter.dir()).join("src"), &mut files)?;
    files.sort();
    let mut marked = Vec::new();
    for file in files {
        let text = fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
        let path = file.strip_prefix(root).unwrap_or(&file).to_path_buf();
        let regions = markers::find_regions(&path.display().to_string(), &text)?;
        if !regions.is_empty() {
            marked.push(MarkedFile { path, regions });
        }
    }
    Ok(marked)
}

fn collect_rust_files(dir: &Path, files: &mut Vec<PathBuf>) -> Result<(), String> {
    let entries = fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect_rust_files(&path, files)?;
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            files.push(path);
        }
    }
    Ok(())
}

/// The fewest labs a chapter may have.
pub const MIN_LABS: usize = 3;

/// Checks that the markers, `labs.conf` and `docs/labs.md` agree: every
/// marked lab has a section with checks and every section has a marked
/// region, markers sit in their own chapter's crate, each chapter has at
/// least [`MIN_LABS`] labs, and the docs list each lab with its points.
/// Returns every problem found.
pub fn check_consistency(root: &Path, chapters: &[Chapter]) -> Vec<String> {
    let mut problems = Vec::new();
    let docs_path = root.join("docs/labs.md");
    let docs = fs::read_to_string(&docs_path).unwrap_or_else(|error| {
        problems.push(format!("{}: {error}", docs_path.display()));
        String::new()
    });
    for chapter in chapters {
        let files = match marked_files(root, chapter) {
            Ok(files) => files,
            Err(error) => {
                problems.push(error);
                continue;
            }
        };
        let mut marked: Vec<LabId> = Vec::new();
        for file in &files {
            for region in &file.regions {
                if region.id.chapter != chapter.number() {
                    problems.push(format!(
                        "{}:{}: lab {} is marked in chapter {}'s crate",
                        file.path.display(),
                        region.begin_line,
                        region.id,
                        chapter.number()
                    ));
                }
                marked.push(region.id);
            }
        }
        let labs: Vec<LabId> = chapter.conf.labs().filter_map(|lab| lab.id).collect();
        for id in &marked {
            if !labs.contains(id) {
                problems.push(format!(
                    "lab {id} is marked in the source but has no [{id}] section in {}/labs.conf",
                    chapter.dir().display()
                ));
            }
        }
        for id in &labs {
            if !marked.contains(id) {
                problems.push(format!(
                    "lab {id} is in labs.conf but no source region is marked for it"
                ));
            }
        }
        if labs.len() < MIN_LABS {
            problems.push(format!(
                "chapter {} has {} labs; every chapter needs at least {MIN_LABS}",
                chapter.number(),
                labs.len()
            ));
        }
        problems.extend(docs_problems(&docs, chapter));
    }
    problems
}

/// What `docs/labs.md` gets wrong about `chapter`: each lab is a table row
/// `| N.k | … | POINTS |`, and the chapter's heading ends `(TOTAL points)`.
fn docs_problems(docs: &str, chapter: &Chapter) -> Vec<String> {
    let mut problems = Vec::new();
    let heading = format!("## Chapter {}", chapter.number());
    let total = format!("({} points)", chapter.conf.total_points());
    if !docs
        .lines()
        .any(|line| line.starts_with(&heading) && line.trim_end().ends_with(&total))
    {
        problems.push(format!(
            "docs/labs.md needs a heading `{heading} … {total}` (the points in labs.conf)"
        ));
    }
    for lab in chapter.conf.labs() {
        let Some(id) = lab.id else { continue };
        let row_start = format!("| {id} |");
        let row_end = format!("| {} |", lab.points());
        let found = docs
            .lines()
            .any(|line| line.starts_with(&row_start) && line.trim_end().ends_with(&row_end));
        if !found {
            problems.push(format!(
                "docs/labs.md needs a row `{row_start} … {row_end}` for lab {id} ({} points in labs.conf)",
                lab.points()
            ));
        }
    }
    problems
}
