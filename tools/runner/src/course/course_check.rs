//! What CI proves about the course (`make test` runs it last):
//!
//! 1. the lab markers, every `labs.conf` and `docs/labs.md` agree;
//! 2. for each chapter, its handout builds without warnings, and its own
//!    `make grade` scores exactly the foundations (every lab's checks fail
//!    on its stubs), naming a stub it reached;
//! 3. each lab is graded on its own: with only that lab solved, the host
//!    checks that pass are exactly the foundations' and that lab's
//!    ([`independence`]);
//! 4. the solution grades full for every chapter;
//! 5. `make branches` makes one branch per chapter, each with its stubs, and
//!    a `solutions` branch with none;
//! 6. each chapter's files can be read in the order its `lib.rs` lists
//!    them: a file uses only files listed before it.
//!
//! Handouts are built in the solution's own cargo target directory, so the
//! standard library (`-Zbuild-std`) and the dependencies, already compiled
//! for `make test`, are not compiled again. A handout's own crates are kept
//! apart from the solution's by a setting only the handouts get
//! ([`keep_handout_artifacts_apart`]). Only the un-hashed copies of the
//! final binaries (`target/i686-elf/debug/strata-CHAPTER`,
//! `target/debug/strata-runner`) are the handout's afterwards, until the
//! next build puts the solution's back.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use super::{branches, grade, handout, independence, load_chapters, Chapter};
use crate::cli::GradeOptions;
use crate::summary::Summary;
use crate::transcript::last_lines;

/// Runs every check, reporting into `summary`.
pub fn run(root: &Path, work_dir: &Path, summary: &mut Summary) {
    let chapters = match load_chapters(root) {
        Ok(chapters) => chapters,
        Err(error) => return summary.fail("course/labs.conf", &error),
    };
    let problems = super::check_consistency(root, &chapters);
    if problems.is_empty() {
        summary.pass("course/markers-labs-conf-and-docs-agree");
    } else {
        summary.fail(
            "course/markers-labs-conf-and-docs-agree",
            &problems.join("\n"),
        );
    }
    let work_dir = match fs::create_dir_all(work_dir).and_then(|()| fs::canonicalize(work_dir)) {
        Ok(dir) => dir,
        Err(error) => {
            return summary.fail(
                "course (work dir)",
                &format!("{}: {error}", work_dir.display()),
            )
        }
    };
    let target_dir = env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let target_dir = fs::canonicalize(&target_dir).unwrap_or(target_dir);
    if let Err(error) = keep_handout_artifacts_apart(&work_dir, &target_dir, &chapters) {
        return summary.fail("course (work dir)", &error);
    }
    for chapter in &chapters {
        check_reading_order(root, chapter, summary);
    }
    for chapter in &chapters {
        check_handout(root, chapter, &work_dir, &target_dir, summary);
        check_labs_alone(root, chapter, &work_dir, summary);
        check_solution(root, chapter, &work_dir, summary);
    }
    if let Some(first) = chapters.first() {
        check_grade_json(root, first, summary);
    }
    check_branches(root, &chapters, &work_dir, summary);
}

/// `make grade FORMAT=json`, exactly as an autograder runs it: stdout
/// must be one JSON grade in the documented format, and nothing else, and
/// the solution's must be full.
fn check_grade_json(root: &Path, chapter: &Chapter, summary: &mut Summary) {
    let name = "course/grade-json";
    let output = Command::new("make")
        .current_dir(root)
        .args([
            "grade",
            &format!("CHAPTER={}", chapter.number()),
            "FORMAT=json",
        ])
        // As an autograder runs it: not as a sub-make of `make test`.
        .env_remove("MAKEFLAGS")
        .env_remove("MFLAGS")
        .env_remove("MAKELEVEL")
        .output();
    let output = match output {
        Ok(output) => output,
        Err(error) => return summary.fail(name, &format!("cannot run make: {error}")),
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    match super::json::check_grade(&stdout) {
        Ok((score, total, checks)) if score == total && checks > 0 && output.status.success() => {
            summary.pass(&format!("{name} ({checks} checks, {score}/{total})"))
        }
        Ok((score, total, _)) => summary.fail(
            name,
            &format!(
                "the solution scored {score}/{total}, exit {}",
                output.status
            ),
        ),
        Err(error) => summary.fail(
            name,
            &format!(
                "stdout is not one JSON grade ({error}):\n{}\nstderr:\n{}",
                last_lines(&stdout, 10),
                last_lines(&String::from_utf8_lossy(&output.stderr), 10)
            ),
        ),
    }
}

/// Writes `work_dir/.cargo/config.toml`, which cargo reads for every
/// handout built below `work_dir` (and for nothing else).
///
/// Cargo names a workspace crate's artifacts by its path *inside* its
/// workspace, which is the same in a handout as in the solution
/// (`tools/runner`, `modules/kernel`). Built into the same target directory,
/// a handout's `strata-runner` would land on the solution's, and cargo
/// would afterwards take it for up to date with the handout's sources: the
/// solution's next build would run the handout's runner. A per-crate
/// setting that changes nothing a test can see (the number of codegen
/// units) gives the handout's own crates names of their own, while the
/// standard library and the dependencies stay shared.
///
/// It also names the shared target directory, so that a cargo started in a
/// handout without `CARGO_TARGET_DIR` uses it too.
pub fn keep_handout_artifacts_apart(
    work_dir: &Path, target_dir: &Path, chapters: &[Chapter],
) -> Result<(), String> {
    let mut config = format!(
        "# Written by `strata-runner course-check`: see keep_handout_artifacts_apart\n\
         # in tools/runner/src/course/course_check.rs.\n\
         [build]\ntarget-dir = {:?}\n",
        target_dir.display().to_string()
    );
    let crates = chapters
        .iter()
        .map(|chapter| format!("strata-{}", chapter.module))
        .chain(["strata-runner".to_string()]);
    for name in crates {
        for profile in ["dev", "test"] {
            config.push_str(&format!(
                "[profile.{profile}.package.{name}]\ncodegen-units = 255\n"
            ));
        }
    }
    let dir = work_dir.join(".cargo");
    fs::create_dir_all(&dir)
        .and_then(|()| fs::write(dir.join("config.toml"), config))
        .map_err(|error| format!("{}: {error}", dir.display()))
}

/// `strata-runner lab-check --chapter N`: writes chapter N's handout and
/// checks that each of its labs is graded on its own.
pub fn run_lab_check(root: &Path, which: &str, work_dir: &Path, summary: &mut Summary) {
    let chapters = match load_chapters(root) {
        Ok(chapters) => chapters,
        Err(error) => return summary.fail("course/labs.conf", &error),
    };
    let chapter = match super::find_chapter(&chapters, which) {
        Ok(chapter) => chapter,
        Err(error) => return summary.fail("course/lab-check", &error),
    };
    let prepared = fs::create_dir_all(work_dir)
        .and_then(|()| fs::canonicalize(work_dir))
        .map_err(|error| format!("{}: {error}", work_dir.display()))
        .and_then(|work_dir| {
            let target_dir = env::var_os("CARGO_TARGET_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| root.join("target"));
            let target_dir = fs::canonicalize(&target_dir).unwrap_or(target_dir);
            keep_handout_artifacts_apart(&work_dir, &target_dir, &chapters)?;
            let dest = work_dir.join(format!("handout-{}", chapter.number()));
            let _ = fs::remove_dir_all(&dest);
            handout::write(root, &chapter.number().to_string(), &dest)?;
            Ok(work_dir)
        });
    match prepared {
        Ok(work_dir) => check_labs_alone(root, chapter, &work_dir, summary),
        Err(error) => summary.fail("course/lab-check", &error),
    }
}

/// Only the reading-order check, for every chapter: quick enough to run
/// while moving files around (`strata-runner reading-order`).
pub fn run_reading_order(root: &Path, summary: &mut Summary) {
    match load_chapters(root) {
        Ok(chapters) => {
            for chapter in &chapters {
                check_reading_order(root, chapter, summary);
            }
        }
        Err(error) => summary.fail("course/labs.conf", &error),
    }
}

/// Every file of the chapter uses only files listed before it.
fn check_reading_order(root: &Path, chapter: &Chapter, summary: &mut Summary) {
    let name = format!("course/chapter-{}/reading-order", chapter.number());
    match super::reading_order::check(&root.join(chapter.dir()).join("src")) {
        Ok(problems) if problems.is_empty() => summary.pass(&name),
        Ok(problems) => {
            let lines: Vec<String> = problems
                .iter()
                .map(|p| format!("{}:{}: `{}` {}", p.file.display(), p.line, p.path, p.why))
                .collect();
            summary.fail(&name, &lines.join("\n"));
        }
        Err(error) => summary.fail(&name, &error),
    }
}

/// Writes the handout, runs its `make grade`, and reads the score.
fn check_handout(
    root: &Path, chapter: &Chapter, work_dir: &Path, target_dir: &Path, summary: &mut Summary,
) {
    let name = |what: &str| format!("course/chapter-{}/handout-{what}", chapter.number());
    let dest = work_dir.join(format!("handout-{}", chapter.number()));
    let _ = fs::remove_dir_all(&dest);
    let stubs = match handout::write(root, &chapter.number().to_string(), &dest) {
        Ok(handout) => handout.stubs.len(),
        Err(error) => return summary.fail(&name("is-written"), &error),
    };
    println!(
        "== chapter {}: handout ({stubs} stubs) in {}",
        chapter.number(),
        dest.display()
    );
    let output = Command::new("make")
        .current_dir(&dest)
        .args(["grade", &format!("CHAPTER={}", chapter.number())])
        .env("CARGO_TARGET_DIR", target_dir)
        .output();
    let output = match output {
        Ok(output) => output,
        Err(error) => return summary.fail(&name("builds"), &format!("cannot run make: {error}")),
    };
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let log = work_dir.join(format!("handout-{}-grade.log", chapter.number()));
    let _ = fs::write(&log, &text);
    let tail = || {
        format!(
            "make grade's output: {}\n{}",
            log.display(),
            last_lines(&text, 25)
        )
    };

    let Some((earned, total)) = score_line(&text) else {
        return summary.fail(&name("builds"), &format!("no `Score:` line\n{}", tail()));
    };
    let warnings: Vec<&str> = text
        .lines()
        .filter(|line| line.starts_with("warning:"))
        .collect();
    if warnings.is_empty() {
        summary.pass(&name("builds-without-warnings"));
    } else {
        summary.fail(&name("builds-without-warnings"), &warnings.join("\n"));
    }
    let foundations = chapter
        .conf
        .sections
        .iter()
        .filter(|section| section.id.is_none())
        .map(|section| section.points())
        .sum::<u32>();
    let only_foundations = earned == foundations && earned < total && !output.status.success();
    let scored = format!(
        "Score: {earned}/{total}, make exited with {}",
        output.status
    );
    if only_foundations {
        summary.pass(&name(&format!(
            "scores-only-its-foundations ({earned}/{total})"
        )));
    } else {
        summary.fail(
            &name("scores-only-its-foundations"),
            &format!(
                "expected the foundations' {foundations} points and a failing exit: {scored}\n{}",
                tail()
            ),
        );
    }
    let stub = format!("reached the unfinished stub of lab {}.", chapter.number());
    if text.contains(&stub) {
        summary.pass(&name("stops-at-a-stub"));
    } else {
        summary.fail(
            &name("stops-at-a-stub"),
            &format!("no check says `{stub}…`\n{}", tail()),
        );
    }
}

/// Each lab graded on its own, in the handout `check_handout` built (so its
/// dependencies are built already): prints the table and checks every row.
fn check_labs_alone(root: &Path, chapter: &Chapter, work_dir: &Path, summary: &mut Summary) {
    let name = format!("course/chapter-{}/labs-graded-alone", chapter.number());
    let dest = work_dir.join(format!("handout-{}", chapter.number()));
    match labs_alone_table(root, chapter, &dest) {
        Ok((table, wrong)) if wrong.is_empty() => {
            println!("{table}");
            summary.pass(&name)
        }
        Ok((table, wrong)) => summary.fail(&name, &format!("{table}{}", wrong.join("\n"))),
        Err(error) => summary.fail(&name, &error),
    }
}

/// Runs [`independence::check`] in `handout`: the table, with its lines of
/// solution, and what went wrong in each wrong row.
pub fn labs_alone_table(
    root: &Path, chapter: &Chapter, handout: &Path,
) -> Result<(String, Vec<String>), String> {
    println!(
        "== chapter {}: each lab graded on its own, in {}",
        chapter.number(),
        handout.display()
    );
    let lines = independence::solution_lines(root, chapter)?;
    let rows = independence::check(root, chapter, handout, &mut |row| {
        println!(
            "   solved {:<7} host score {:>3}, expected {:>3}",
            row.solved.label(),
            row.earned,
            row.expected
        );
    })?;
    let wrong = rows
        .iter()
        .flat_map(|row| {
            row.wrong
                .iter()
                .map(move |why| format!("solved {}: {why}", row.solved.label()))
        })
        .collect();
    Ok((
        format!(
            "chapter {}, host checks with one lab solved:\n{}",
            chapter.number(),
            independence::table(&rows, &lines)
        ),
        wrong,
    ))
}

/// Grades the solution itself (the ISOs `make test` built).
fn check_solution(root: &Path, chapter: &Chapter, work_dir: &Path, summary: &mut Summary) {
    let name = format!("course/chapter-{}/solution-grades-full", chapter.number());
    let options = GradeOptions {
        chapter: chapter.number().to_string(),
        token: None,
        iso_dir: root.join("target/iso"),
        log_dir: work_dir.join(format!("solution-{}-logs", chapter.number())),
        timeout: Duration::from_secs(60),
        json: false,
    };
    match grade::run(root, &options) {
        Ok(score) if score.is_full() => summary.pass(&name),
        Ok(score) => summary.fail(&name, &format!("Score: {}/{}", score.earned, score.total)),
        Err(error) => summary.fail(&name, &error),
    }
}

/// Makes the class repository and looks at each branch.
fn check_branches(root: &Path, chapters: &[Chapter], work_dir: &Path, summary: &mut Summary) {
    let name = "course/branches";
    let dest = work_dir.join("branches");
    let _ = fs::remove_dir_all(&dest);
    let made = match branches::write(root, &dest) {
        Ok(made) => made,
        Err(error) => return summary.fail(name, &error),
    };
    let mut expected: Vec<String> = chapters.iter().map(Chapter::branch).collect();
    expected.push(branches::SOLUTIONS.to_string());
    let mut problems = Vec::new();
    if made != expected {
        problems.push(format!("branches {made:?}, expected {expected:?}"));
    }
    for (index, branch) in expected.iter().enumerate() {
        // A stub's message, `"LAB N.k: hint"` (rustfmt may put it on a line of its own).
        let stubs = git_grep(&dest, branch, r#""LAB [0-9]+\.[0-9]+: "#);
        let readme = git_show(&dest, branch, "README.md");
        let has_stubs = match chapters.get(index) {
            Some(chapter) => stubs
                .iter()
                .any(|line| line.contains(&format!("LAB {}.", chapter.number()))),
            None => !stubs.is_empty(),
        };
        let should_have_stubs = index < chapters.len();
        if has_stubs != should_have_stubs {
            problems.push(format!("{branch}: stubs found: {stubs:?}"));
        }
        if !readme.contains("make grade") {
            problems.push(format!("{branch}: README.md does not mention `make grade`"));
        }
    }
    if problems.is_empty() {
        summary.pass(name);
    } else {
        summary.fail(name, &problems.join("\n"));
    }
}

/// `git grep -E pattern branch -- modules`: the matching `path:line` texts
/// in the chapters' source.
fn git_grep(repo: &Path, branch: &str, pattern: &str) -> Vec<String> {
    let output = Command::new("git")
        .current_dir(repo)
        .args(["grep", "-E", pattern, branch, "--", "modules"])
        .output();
    let Ok(output) = output else {
        return Vec::new();
    };
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| {
            line.strip_prefix(&format!("{branch}:"))
                .unwrap_or(line)
                .to_string()
        })
        .collect()
}

/// The text of `path` on `branch` ("" if it is missing).
fn git_show(repo: &Path, branch: &str, path: &str) -> String {
    Command::new("git")
        .current_dir(repo)
        .args(["show", &format!("{branch}:{path}")])
        .output()
        .map(|output| String::from_utf8_lossy(&output.stdout).into_owned())
        .unwrap_or_default()
}

/// The last `Score: X/Y` line of a grade's output.
fn score_line(text: &str) -> Option<(u32, u32)> {
    let line = text
        .lines()
        .rev()
        .find_map(|line| line.strip_prefix("Score: "))?;
    let (earned, total) = line.trim().split_once('/')?;
    Some((earned.parse().ok()?, total.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_last_score() {
        assert_eq!(
            score_line("a\nScore: 3/10\nScore: 45/100\nbye"),
            Some((45, 100))
        );
        assert_eq!(score_line("Score: x/100"), None);
        assert_eq!(score_line("no score"), None);
    }
}
