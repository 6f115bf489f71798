//! Command-line parsing.
//!
//! Hand-written rather than using an argument-parsing crate: the runner has
//! one subcommand and a handful of options, and staying std-only keeps it
//! building offline.

use std::path::PathBuf;
use std::time::Duration;

pub const USAGE: &str = "\
usage: strata-runner test --chapters NAME[,NAME...] [options]

Runs each chapter's host tests, in-kernel tests (under QEMU) and end-to-end
shell scripts, then prints `N passed, N failed`.

options:
  --chapters LIST   comma-separated chapter names, e.g. kernel,memory
  --iso-dir DIR     where the ISOs are (default: target/iso)
  --log-dir DIR     where QEMU serial logs are written (default: target/test-logs)
  --timeout SECS    time limit for one kernel-test boot, and for the e2e
                    kernel to show its first prompt (default: 60)
  --only LAYER      run only one layer: host, kernel or e2e

environment:
  STRATA_QEMU       QEMU binary to use instead of qemu-system-i386 (also
                    handy for pointing the runner at a fake QEMU)
  CARGO             cargo binary used for the host tests (default: cargo)
";

/// What the user asked for.
#[derive(Debug, PartialEq)]
pub enum Command {
    Test(Options),
    Help,
}

/// One of the three test layers; see the crate documentation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Layer {
    Host,
    Kernel,
    E2e,
}

/// Options of `strata-runner test`.
#[derive(Debug, PartialEq)]
pub struct Options {
    pub chapters: Vec<String>,
    pub iso_dir: PathBuf,
    pub log_dir: PathBuf,
    pub timeout: Duration,
    /// `None` runs every layer.
    pub only: Option<Layer>,
}

impl Options {
    /// Whether `layer` was selected by `--only` (or `--only` was not given).
    pub fn runs(&self, layer: Layer) -> bool {
        self.only.is_none_or(|only| only == layer)
    }
}

/// Parses the arguments after the program name.
pub fn parse(args: &[String]) -> Result<Command, String> {
    let mut args = args.iter();
    match args.next().map(String::as_str) {
        Some("test") => {}
        Some("-h" | "--help" | "help") => return Ok(Command::Help),
        Some(other) => return Err(format!("unknown command `{other}`")),
        None => return Err("missing command".to_string()),
    }

    let mut chapters = None;
    let mut options = Options {
        chapters: Vec::new(),
        iso_dir: PathBuf::from("target/iso"),
        log_dir: PathBuf::from("target/test-logs"),
        timeout: Duration::from_secs(60),
        only: None,
    };
    while let Some(arg) = args.next() {
        if arg == "-h" || arg == "--help" {
            return Ok(Command::Help);
        }
        // Accept both `--name value` and `--name=value`.
        let (name, inline_value) = match arg.split_once('=') {
            Some((name, value)) => (name, Some(value.to_string())),
            None => (arg.as_str(), None),
        };
        let mut value = || {
            inline_value
                .clone()
                .or_else(|| args.next().cloned())
                .ok_or_else(|| format!("`{name}` needs a value"))
        };
        match name {
            "--chapters" => chapters = Some(parse_chapters(&value()?)?),
            "--iso-dir" => options.iso_dir = PathBuf::from(value()?),
            "--log-dir" => options.log_dir = PathBuf::from(value()?),
            "--timeout" => options.timeout = parse_timeout(&value()?)?,
            "--only" => options.only = Some(parse_layer(&value()?)?),
            _ => return Err(format!("unknown option `{arg}`")),
        }
    }
    options.chapters = chapters.ok_or("`--chapters` is required")?;
    Ok(Command::Test(options))
}

fn parse_chapters(list: &str) -> Result<Vec<String>, String> {
    let chapters: Vec<String> = list.split(',').map(|c| c.trim().to_string()).collect();
    if chapters.iter().any(String::is_empty) {
        return Err(format!("empty chapter name in `--chapters {list}`"));
    }
    Ok(chapters)
}

fn parse_timeout(text: &str) -> Result<Duration, String> {
    match text.parse::<u64>() {
        Ok(seconds) if seconds > 0 => Ok(Duration::from_secs(seconds)),
        _ => Err(format!(
            "`--timeout` takes a whole number of seconds, not `{text}`"
        )),
    }
}

fn parse_layer(text: &str) -> Result<Layer, String> {
    match text {
        "host" => Ok(Layer::Host),
        "kernel" => Ok(Layer::Kernel),
        "e2e" => Ok(Layer::E2e),
        _ => Err(format!("`--only` takes host, kernel or e2e, not `{text}`")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_words(line: &str) -> Result<Command, String> {
        let args: Vec<String> = line.split_whitespace().map(String::from).collect();
        parse(&args)
    }

    #[test]
    fn defaults() {
        let Command::Test(options) = parse_words("test --chapters kernel").unwrap() else {
            panic!("expected a test command");
        };
        assert_eq!(options.chapters, ["kernel"]);
        assert_eq!(options.iso_dir, PathBuf::from("target/iso"));
        assert_eq!(options.log_dir, PathBuf::from("target/test-logs"));
        assert_eq!(options.timeout, Duration::from_secs(60));
        assert!(options.runs(Layer::Host) && options.runs(Layer::E2e));
    }

    #[test]
    fn all_options() {
        let command = parse_words(
            "test --chapters kernel,memory --iso-dir isos --log-dir=logs --timeout 5 --only kernel",
        )
        .unwrap();
        assert_eq!(
            command,
            Command::Test(Options {
                chapters: vec!["kernel".into(), "memory".into()],
                iso_dir: "isos".into(),
                log_dir: "logs".into(),
                timeout: Duration::from_secs(5),
                only: Some(Layer::Kernel),
            })
        );
    }

    #[test]
    fn only_selects_one_layer() {
        let Command::Test(options) = parse_words("test --chapters a --only e2e").unwrap() else {
            panic!("expected a test command");
        };
        assert!(options.runs(Layer::E2e));
        assert!(!options.runs(Layer::Host));
        assert!(!options.runs(Layer::Kernel));
    }

    #[test]
    fn errors() {
        assert!(parse_words("test").unwrap_err().contains("--chapters"));
        assert!(parse_words("build --chapters a").is_err());
        assert!(parse_words("test --chapters a,,b").is_err());
        assert!(parse_words("test --chapters a --timeout 0").is_err());
        assert!(parse_words("test --chapters a --only qemu").is_err());
        assert!(parse_words("test --chapters a --frobnicate").is_err());
        assert!(parse_words("test --chapters")
            .unwrap_err()
            .contains("needs a value"));
    }

    #[test]
    fn help() {
        assert_eq!(parse_words("--help"), Ok(Command::Help));
        assert_eq!(parse_words("test -h"), Ok(Command::Help));
    }
}
