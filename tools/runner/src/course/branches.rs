//! `make branches DEST=DIR`: a git repository for a class.
//!
//! One branch per chapter, each holding that chapter's handout and README
//! (`chapter-1-kernel`, `chapter-2-memory`, …), and the whole solution on
//! `solutions`. The branches form one line of history, each a commit on top
//! of the one before, so `git diff chapter-1-kernel chapter-2-memory` shows
//! what a chapter adds and what its solutions to the last chapter's labs
//! look like.

use std::fs;
use std::path::Path;
use std::process::Command;

use super::handout::{solution_files, write_tree};
use super::load_chapters;

/// The branch that holds the solution.
pub const SOLUTIONS: &str = "solutions";

/// Creates the repository in `dest` (which must not exist or be empty) and
/// returns the branch names, in order.
pub fn write(root: &Path, dest: &Path) -> Result<Vec<String>, String> {
    let chapters = load_chapters(root)?;
    if fs::read_dir(dest).is_ok_and(|mut entries| entries.next().is_some()) {
        return Err(format!(
            "{} exists and is not empty; give a new directory",
            dest.display()
        ));
    }
    fs::create_dir_all(dest).map_err(|e| format!("{}: {e}", dest.display()))?;
    let repo = Repo { dir: dest };
    repo.git(&["init", "-q"])?;
    let mut branches = Vec::new();
    for chapter in &chapters {
        let branch = chapter.branch();
        repo.start_branch(&branch, branches.is_empty())?;
        repo.clear()?;
        let handout = write_tree(root, &chapters, chapter, dest)?;
        repo.commit(&format!(
            "Chapter {}: {} (lab handout: {} stubs)",
            chapter.number(),
            chapter.conf.title,
            handout.stubs.len()
        ))?;
        branches.push(branch);
    }
    repo.start_branch(SOLUTIONS, false)?;
    repo.clear()?;
    copy_solution(root, dest)?;
    repo.commit("Solutions: every chapter complete")?;
    branches.push(SOLUTIONS.to_string());
    repo.git(&["checkout", "-q", &branches[0]])?;
    Ok(branches)
}

/// The whole solution tree: the same files a handout starts from.
fn copy_solution(root: &Path, dest: &Path) -> Result<(), String> {
    for path in solution_files(root)? {
        let target = dest.join(&path);
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
        }
        fs::copy(root.join(&path), &target).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(())
}

struct Repo<'a> {
    dir: &'a Path,
}

impl Repo<'_> {
    fn git(&self, args: &[&str]) -> Result<String, String> {
        let mut command = Command::new("git");
        command.current_dir(self.dir).args(args);
        // Commits need an author; use the teacher's if git knows one.
        for (variable, value) in [
            ("GIT_AUTHOR_NAME", "Strata course"),
            ("GIT_AUTHOR_EMAIL", "course@strata.invalid"),
            ("GIT_COMMITTER_NAME", "Strata course"),
            ("GIT_COMMITTER_EMAIL", "course@strata.invalid"),
        ] {
            if std::env::var_os(variable).is_none() && !self.configured(variable) {
                command.env(variable, value);
            }
        }
        let output = command
            .output()
            .map_err(|error| format!("cannot run git: {error}"))?;
        if output.status.success() {
            Ok(String::from_utf8_lossy(&output.stdout).into_owned())
        } else {
            Err(format!(
                "git {} failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&output.stderr).trim()
            ))
        }
    }

    /// Whether git's configuration gives the name or e-mail `variable` sets.
    fn configured(&self, variable: &str) -> bool {
        let key = if variable.ends_with("NAME") {
            "user.name"
        } else {
            "user.email"
        };
        Command::new("git")
            .current_dir(self.dir)
            .args(["config", key])
            .output()
            .is_ok_and(|output| output.status.success() && !output.stdout.is_empty())
    }

    /// The first branch names the unborn HEAD; later ones start at HEAD.
    fn start_branch(&self, name: &str, first: bool) -> Result<(), String> {
        if first {
            self.git(&["symbolic-ref", "HEAD", &format!("refs/heads/{name}")])?;
        } else {
            self.git(&["checkout", "-q", "-b", name])?;
        }
        Ok(())
    }

    /// Removes every file but `.git`, so the next tree starts from nothing.
    fn clear(&self) -> Result<(), String> {
        let entries = fs::read_dir(self.dir).map_err(|e| format!("{}: {e}", self.dir.display()))?;
        for entry in entries.flatten() {
            let path = entry.path();
            if entry.file_name() == ".git" {
                continue;
            }
            let removed = if path.is_dir() {
                fs::remove_dir_all(&path)
            } else {
                fs::remove_file(&path)
            };
            removed.map_err(|e| format!("{}: {e}", path.display()))?;
        }
        Ok(())
    }

    fn commit(&self, message: &str) -> Result<(), String> {
        self.git(&["add", "-A"])?;
        self.git(&["commit", "-q", "--allow-empty", "-m", message])?;
        Ok(())
    }
}
