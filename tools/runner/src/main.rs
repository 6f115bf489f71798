//! `strata-runner`: the program behind `make test`.
//!
//! Strata is tested in three layers, and this runner drives all of them for
//! each chapter (a crate `modules/NAME`, package `strata-NAME`):
//!
//! 1. **Host tests** ([`host`]): the chapter's pure-logic unit tests, run by
//!    `cargo test` as an ordinary 32-bit Linux program.
//! 2. **Kernel tests** ([`ktest`]): tests compiled *into* a test kernel and
//!    run on the emulated CPU under QEMU; the kernel reports results as text
//!    lines on its serial port.
//! 3. **End-to-end tests** ([`e2e`]): scripts that type commands into the
//!    normal kernel's shell over the serial port and check its replies.
//!
//! Every layer reports into one [`summary::Summary`], so a whole `make test`
//! ends with a single `N passed, N failed` line that CI can parse.
//!
//! The runner also drives course mode ([`course`]): `make grade`,
//! `make handout`, `make branches`, and the course checks CI runs.
//!
//! Run `strata-runner --help` for the options. Setting `STRATA_QEMU` makes
//! the runner use another QEMU binary, or a script that imitates the kernel
//! while the runner itself is being worked on.
//!
//! The runner only uses the standard library: it has to build quickly and
//! without network access on a fresh student machine.

mod cli;
mod course;
mod e2e;
mod escapes;
mod host;
mod jobs;
mod ktest;
mod line_buffer;
mod monitor;
mod qemu;
mod summary;
mod transcript;

use std::path::Path;
use std::process::ExitCode;

use cli::{Command, Layer, Options};
use summary::Summary;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let command = match cli::parse(&args) {
        Ok(command) => command,
        Err(message) => {
            eprintln!("strata-runner: {message}\n\n{}", cli::USAGE);
            return ExitCode::from(2);
        }
    };
    // Every command works on the workspace it is started in.
    let root = Path::new(".");
    match command {
        Command::Help => {
            print!("{}", cli::USAGE);
            ExitCode::SUCCESS
        }
        Command::Test(options) => finish(run_all(&options)),
        Command::CourseCheck { work_dir } => {
            let mut summary = Summary::default();
            course::course_check::run(root, &work_dir, &mut summary);
            finish(summary)
        }
        Command::LabCheck { chapter, work_dir } => {
            let mut summary = Summary::default();
            course::course_check::run_lab_check(root, &chapter, &work_dir, &mut summary);
            finish(summary)
        }
        Command::ReadingOrder => {
            let mut summary = Summary::default();
            course::course_check::run_reading_order(root, &mut summary);
            finish(summary)
        }
        Command::Grade(options) => match course::grade::run(root, &options) {
            Ok(score) if score.is_full() => ExitCode::SUCCESS,
            Ok(_) => ExitCode::FAILURE,
            Err(message) => fail(&message),
        },
        Command::Handout { chapter, dest } => match course::handout::write(root, &chapter, &dest) {
            Ok(handout) => {
                println!(
                    "Wrote chapter {chapter}'s handout to {}: {} files, stubs for {}.",
                    dest.display(),
                    handout.files,
                    handout
                        .stubs
                        .iter()
                        .map(|(id, path)| format!("lab {id} ({})", path.display()))
                        .collect::<Vec<_>>()
                        .join(", ")
                );
                ExitCode::SUCCESS
            }
            Err(message) => fail(&message),
        },
        Command::Branches { dest } => match course::branches::write(root, &dest) {
            Ok(branches) => {
                println!(
                    "Wrote {} with branches: {}",
                    dest.display(),
                    branches.join(", ")
                );
                println!(
                    "Publish it with: git -C {} push --all <your remote>",
                    dest.display()
                );
                ExitCode::SUCCESS
            }
            Err(message) => fail(&message),
        },
    }
}

fn finish(summary: Summary) -> ExitCode {
    print!("{}", summary.final_report());
    if summary.all_passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn fail(message: &str) -> ExitCode {
    eprintln!("strata-runner: {message}");
    ExitCode::FAILURE
}

/// Runs the selected layers for every chapter, in the order given on the
/// command line: a chapter's host tests first because they are the quickest
/// to fail and the easiest to debug.
fn run_all(options: &Options) -> Summary {
    let mut summary = Summary::default();
    for chapter in &options.chapters {
        if options.runs(Layer::Host) {
            println!("== {chapter}: host tests");
            host::run(chapter, &mut summary);
        }
        if options.runs(Layer::Kernel) {
            println!("== {chapter}: kernel tests");
            ktest::run(chapter, options, &mut summary);
        }
        if options.runs(Layer::E2e) {
            println!("== {chapter}: e2e tests");
            e2e::run(chapter, options, &mut summary);
        }
    }
    summary
}
