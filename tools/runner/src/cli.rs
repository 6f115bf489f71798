//! Command-line parsing.
//!
//! Hand-written rather than using an argument-parsing crate: the runner has
//! one subcommand and a handful of options, and staying std-only keeps it
//! building offline.

use std::path::PathBuf;
use std::time::Duration;

pub const USAGE: &str = "\
usage: strata-runner test --chapters NAME[,NAME...] [options]
       strata-runner grade --chapter N [--token T] [--format text|json] [options]
       strata-runner handout --chapter N --dest DIR
       strata-runner branches --dest DIR
       strata-runner course-check [--work-dir DIR]
       strata-runner lab-check --chapter N [--work-dir DIR]
       strata-runner reading-order

test          runs each chapter's host tests, in-kernel tests (under QEMU)
              and end-to-end shell scripts, then prints `N passed, N failed`
grade         runs chapter N's graded lab checks (modules/*/labs.conf) and
              prints each with its points and `Score: X/Y`; exits 0 only on
              a full score (N is a chapter number or a module name)
handout       writes the student tree for chapter N into DIR
branches      writes a git repository into DIR with one branch per chapter's
              handout and the solution on `solutions`
course-check  what CI proves about the course: the lab markers agree with
              labs.conf and docs/labs.md, every handout builds and grades
              above zero but below full, the solution grades full, and
              each chapter reads in order (as reading-order)
lab-check     each lab graded on its own (part of course-check): for each
              lab of chapter N, a handout with only that lab solved must
              pass exactly the foundations' and that lab's host checks;
              prints the table with each lab's lines of solution
reading-order each chapter's files use only files its lib.rs (or a folder's
              mod.rs) lists before them

options:
  --chapters LIST   comma-separated chapter names, e.g. kernel,memory
  --iso-dir DIR     where the ISOs are (default: target/iso)
  --log-dir DIR     where QEMU serial logs are written (default:
                    target/test-logs; target/grade-logs for grade)
  --timeout SECS    time limit for one kernel-test boot, and for the e2e
                    kernel to show its first prompt (default: 60)
  --only LAYER      run only one layer: host, kernel or e2e
  --token T         grade with this token instead of a random one (to
                    repeat a run: property tests take their seed from it)
  --format FMT      grade: `text` (default) or `json`: one JSON object on
                    stdout (chapter, token, score, total, and each check's
                    lab, kind, test, points, passed, message); the report
                    goes to stderr
  --work-dir DIR    where course-check writes handouts (default: target/course)

environment:
  STRATA_QEMU       QEMU binary to use instead of qemu-system-i386 (also
                    handy for pointing the runner at a fake QEMU)
  CARGO             cargo binary used for the host tests (default: cargo)
";

/// What the user asked for.
#[derive(Debug, PartialEq)]
pub enum Command {
    Test(Options),
    Grade(GradeOptions),
    Handout { chapter: String, dest: PathBuf },
    Branches { dest: PathBuf },
    CourseCheck { work_dir: PathBuf },
    LabCheck { chapter: String, work_dir: PathBuf },
    ReadingOrder,
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

/// Options of `strata-runner grade`.
#[derive(Debug, PartialEq)]
pub struct GradeOptions {
    /// A chapter number (`2`) or module name (`memory`).
    pub chapter: String,
    pub token: Option<String>,
    pub iso_dir: PathBuf,
    pub log_dir: PathBuf,
    pub timeout: Duration,
    /// `--format json`: the grade as one JSON object on stdout, and the
    /// report on stderr.
    pub json: bool,
}

/// Parses the arguments after the program name.
pub fn parse(args: &[String]) -> Result<Command, String> {
    let mut args = args.iter();
    let command = match args.next().map(String::as_str) {
        Some("-h" | "--help" | "help") => return Ok(Command::Help),
        Some(
            command @ ("test" | "grade" | "handout" | "branches" | "course-check" | "lab-check"
            | "reading-order"),
        ) => command,
        Some(other) => return Err(format!("unknown command `{other}`")),
        None => return Err("missing command".to_string()),
    };

    let mut flags = Flags::default();
    while let Some(arg) = args.next() {
        if arg == "-h" || arg == "--help" {
            return Ok(Command::Help);
        }
        // Accept both `--name value` and `--name=value`.
        let (name, inline_value) = match arg.split_once('=') {
            Some((name, value)) => (name, Some(value.to_string())),
            None => (arg.as_str(), None),
        };
        if !name.starts_with("--") {
            return Err(format!("unexpected argument `{arg}`"));
        }
        let value = inline_value
            .or_else(|| args.next().cloned())
            .ok_or_else(|| format!("`{name}` needs a value"))?;
        flags.values.push((name.to_string(), value));
    }

    let iso_dir = || PathBuf::from("target/iso");
    match command {
        "test" => {
            let options = Options {
                chapters: parse_chapters(&flags.required("--chapters")?)?,
                iso_dir: flags.path("--iso-dir").unwrap_or_else(iso_dir),
                log_dir: flags
                    .path("--log-dir")
                    .unwrap_or_else(|| PathBuf::from("target/test-logs")),
                timeout: flags.timeout()?,
                only: flags.take("--only").map(|v| parse_layer(&v)).transpose()?,
            };
            flags.finish(Command::Test(options))
        }
        "grade" => {
            let options = GradeOptions {
                chapter: flags.required("--chapter")?,
                token: flags.take("--token").map(|t| parse_token(&t)).transpose()?,
                iso_dir: flags.path("--iso-dir").unwrap_or_else(iso_dir),
                log_dir: flags
                    .path("--log-dir")
                    .unwrap_or_else(|| PathBuf::from("target/grade-logs")),
                timeout: flags.timeout()?,
                json: match flags.take("--format").as_deref() {
                    None | Some("text") => false,
                    Some("json") => true,
                    Some(other) => {
                        return Err(format!("`--format` takes text or json, not `{other}`"))
                    }
                },
            };
            flags.finish(Command::Grade(options))
        }
        "handout" => {
            let chapter = flags.required("--chapter")?;
            let dest = PathBuf::from(flags.required("--dest")?);
            flags.finish(Command::Handout { chapter, dest })
        }
        "branches" => {
            let dest = PathBuf::from(flags.required("--dest")?);
            flags.finish(Command::Branches { dest })
        }
        "reading-order" => flags.finish(Command::ReadingOrder),
        "lab-check" => {
            let chapter = flags.required("--chapter")?;
            let work_dir = flags
                .path("--work-dir")
                .unwrap_or_else(|| PathBuf::from("target/course"));
            flags.finish(Command::LabCheck { chapter, work_dir })
        }
        _ => {
            let work_dir = flags
                .path("--work-dir")
                .unwrap_or_else(|| PathBuf::from("target/course"));
            flags.finish(Command::CourseCheck { work_dir })
        }
    }
}

/// The `--name value` pairs of one command line; each command takes the
/// ones it knows, and any left over is an error.
#[derive(Default)]
struct Flags {
    values: Vec<(String, String)>,
}

impl Flags {
    fn take(&mut self, name: &str) -> Option<String> {
        let index = self.values.iter().rposition(|(flag, _)| flag == name)?;
        let value = self.values.remove(index).1;
        self.values.retain(|(flag, _)| flag != name);
        Some(value)
    }

    fn required(&mut self, name: &str) -> Result<String, String> {
        self.take(name)
            .ok_or_else(|| format!("`{name}` is required"))
    }

    fn path(&mut self, name: &str) -> Option<PathBuf> {
        self.take(name).map(PathBuf::from)
    }

    fn timeout(&mut self) -> Result<Duration, String> {
        self.take("--timeout")
            .map_or(Ok(Duration::from_secs(60)), |text| parse_timeout(&text))
    }

    fn finish(self, command: Command) -> Result<Command, String> {
        match self.values.first() {
            Some((name, _)) => Err(format!("unknown option `{name}`")),
            None => Ok(command),
        }
    }
}

/// Tokens go on the kernel's serial line and into file names: keep them to
/// letters and digits.
fn parse_token(text: &str) -> Result<String, String> {
    let plain =
        !text.is_empty() && text.len() <= 32 && text.bytes().all(|b| b.is_ascii_alphanumeric());
    if plain {
        Ok(text.to_string())
    } else {
        Err(format!(
            "`--token` takes 1 to 32 letters and digits, not `{text}`"
        ))
    }
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
        assert!(parse_words("test --chapters a --frobnicate x").is_err());
        assert!(parse_words("test --chapters a stray").is_err());
        assert!(parse_words("grade").unwrap_err().contains("--chapter"));
        assert!(parse_words("grade --chapter 2 --token a-b").is_err());
        assert!(parse_words("handout --chapter 2")
            .unwrap_err()
            .contains("--dest"));
        assert!(parse_words("test --chapters")
            .unwrap_err()
            .contains("needs a value"));
    }

    #[test]
    fn course_commands() {
        let Command::Grade(options) = parse_words("grade --chapter 2 --token 5f1c").unwrap() else {
            panic!("expected a grade command");
        };
        assert_eq!(options.chapter, "2");
        assert_eq!(options.token.as_deref(), Some("5f1c"));
        assert_eq!(options.log_dir, PathBuf::from("target/grade-logs"));
        assert_eq!(
            parse_words("handout --chapter memory --dest /tmp/h"),
            Ok(Command::Handout {
                chapter: "memory".into(),
                dest: "/tmp/h".into()
            })
        );
        assert_eq!(
            parse_words("branches --dest b"),
            Ok(Command::Branches { dest: "b".into() })
        );
        assert_eq!(
            parse_words("course-check"),
            Ok(Command::CourseCheck {
                work_dir: "target/course".into()
            })
        );
        assert_eq!(parse_words("reading-order"), Ok(Command::ReadingOrder));
        assert_eq!(
            parse_words("lab-check --chapter 2"),
            Ok(Command::LabCheck {
                chapter: "2".into(),
                work_dir: "target/course".into()
            })
        );
        assert!(parse_words("lab-check").is_err());
        assert!(parse_words("reading-order --chapter 1").is_err());
    }

    #[test]
    fn help() {
        assert_eq!(parse_words("--help"), Ok(Command::Help));
        assert_eq!(parse_words("test -h"), Ok(Command::Help));
    }
}
