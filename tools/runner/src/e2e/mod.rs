//! Layer 3: end-to-end tests of the interactive shell.
//!
//! The normal kernel (`<iso-dir>/strata-NAME.iso`) is booted as `make run`
//! boots it on a terminal (firmware and GRUB output on the serial port too)
//! once per script
//! `modules/NAME/e2e/*.e2e` (in file-name order; a script with a `cmdline`
//! boots `strata-NAME-e2e-STEM.iso` instead, which `make isos` builds with
//! that kernel command line), and the script is played
//! against its shell on the serial port, like a student typing at it. The
//! script format is documented in [`script`]; each `=== case` is one test,
//! named `NAME/e2e/<file stem>: <case name>`. The full serial transcript,
//! with notes marking each case and send, is written to
//! `<log-dir>/NAME-e2e-<stem>.log`.

mod player;
mod script;

use std::fs;
use std::path::{Path, PathBuf};

use crate::cli::Options;
use crate::jobs::{self, Job};
use crate::qemu::{self, Firmware, Machine};
use crate::summary::{indent, Summary};
use crate::transcript::{file_name_part, TAIL_LINES};
use player::Player;
use script::Script;

/// RAM for the shell kernel: plenty, since these tests exercise the shell,
/// not the memory manager.
const MEMORY: &str = "128M";

/// Runs the e2e scripts of `chapter` and reports them into `summary`.
pub fn run(chapter: &str, options: &Options, summary: &mut Summary) {
    let dir = Path::new("modules").join(chapter).join("e2e");
    let scripts = find_scripts(&dir);
    if scripts.is_empty() {
        println!("(no e2e scripts in {})", dir.display());
        return;
    }
    // Each script is a boot of its own: they run side by side (`jobs`).
    let mut plays = Vec::new();
    for path in scripts {
        let stem = path.file_stem().unwrap_or_default().to_string_lossy();
        let test_prefix = format!("{chapter}/e2e/{stem}");
        let script = match fs::read_to_string(&path)
            .map_err(|error| error.to_string())
            .and_then(|text| script::parse(&text))
        {
            Ok(script) => script,
            Err(error) => {
                let message = format!("{}: {error}", path.display());
                summary.fail(&format!("{test_prefix} (script)"), &message);
                continue;
            }
        };
        let iso = options.iso_dir.join(iso_name(chapter, &stem, &script));
        let Some(qemu) = qemu::prepare(&iso, &test_prefix, summary) else {
            continue;
        };
        let log = options
            .log_dir
            .join(format!("{chapter}-e2e-{}.log", file_name_part(&stem)));
        plays.push((script, test_prefix, qemu, iso, log));
    }
    let jobs: Vec<Job<'_, ()>> = plays
        .iter()
        .map(|(script, test_prefix, qemu, iso, log)| -> Job<'_, ()> {
            Box::new(move |summary| play(script, test_prefix, (qemu, iso, log), options, summary))
        })
        .collect();
    jobs::run_in_order(jobs, summary);
}

/// The ISO a script boots: the chapter's own, or with its `cmdline`, the one
/// `make isos` built for the script (the Makefile uses the same names).
fn iso_name(chapter: &str, stem: &str, script: &Script) -> String {
    match script.command_line {
        Some(_) => format!("strata-{chapter}-e2e-{stem}.iso"),
        None => format!("strata-{chapter}.iso"),
    }
}

/// The `*.e2e` files in `dir`, sorted by name; none if `dir` is missing.
fn find_scripts(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut scripts: Vec<PathBuf> = entries
        .filter_map(|entry| Some(entry.ok()?.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "e2e") && path.is_file())
        .collect();
    scripts.sort();
    scripts
}

/// Boots the shell kernel and plays `script` on it.
fn play(
    script: &Script, test_prefix: &str, (qemu, iso, log): (&Path, &Path, &Path), options: &Options,
    summary: &mut Summary,
) {
    let case_name = |name: &str| format!("{test_prefix}: {name}");
    let fail_all = |summary: &mut Summary, reason: &str| {
        for case in &script.cases {
            summary.fail(&case_name(&case.name), reason);
        }
    };
    let memory = script.memory.as_deref().unwrap_or(MEMORY);
    let mut machine = match Machine::boot(qemu, iso, memory, Firmware::OnSerial) {
        Ok(machine) => machine,
        Err(error) => {
            fail_all(
                summary,
                &format!("could not start {}: {error}", qemu.display()),
            );
            return;
        }
    };

    let mut any_failed = false;
    let mut player = Player::new(&mut machine, script.prompt.clone());
    match player.wait_for_banner(options.timeout) {
        Err(reason) => {
            fail_all(summary, &reason);
            any_failed = true;
        }
        Ok(boot_time) => {
            let stem = test_prefix.rsplit('/').next().unwrap_or(test_prefix);
            summary.line(&format!(
                "boot {stem} (booted in {:.1} s)",
                boot_time.as_secs_f64()
            ));
            for case in &script.cases {
                let name = case_name(&case.name);
                if let Some(reason) = player.out_of_service() {
                    summary.fail(&name, &reason);
                    any_failed = true;
                    continue;
                }
                let problems = player.run_case(case);
                if problems.is_empty() {
                    summary.pass(&name);
                } else {
                    summary.fail(&name, &problems.join("\n"));
                    any_failed = true;
                }
            }
        }
    }
    drop(player);
    machine.kill();

    let transcript = machine.transcript();
    if let Err(error) = transcript.save(log) {
        summary.line(&format!(
            "warning: could not write {}: {error}",
            log.display()
        ));
    }
    if any_failed {
        summary.line(&format!("    transcript: {}", log.display()));
        summary.line(&format!("    last {TAIL_LINES} lines:"));
        summary.say(&indent(&indent(&transcript.tail(TAIL_LINES))));
    }
}
