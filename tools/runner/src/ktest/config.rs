//! `modules/NAME/ktest.conf`: per-chapter settings for the kernel tests.
//!
//! The file is optional. It has two settings: the RAM sizes to boot the
//! test kernel with (a memory-management chapter lists several so its tests
//! run against small and large machines), and *variants*: extra words for the
//! kernel command line, each of which gets a test ISO and a full run of its
//! own (`make isos` builds `strata-NAME-test-heap-pool.iso` for `heap=pool`).
//! Commas join several words into one variant:
//!
//! ```text
//! # Boot the test kernel once with each amount of RAM...
//! memory = 16M 128M 1G
//! # ...first with the plain command line `test`, then with `test heap=pool`,
//! # then with `test heap=pool pool=best`.
//! variants = heap=pool heap=pool,pool=best
//! ```

use std::fs;
use std::io;
use std::path::Path;

/// RAM size used when `ktest.conf` does not say otherwise.
const DEFAULT_MEMORY: &str = "128M";

#[derive(Debug, PartialEq)]
pub struct Config {
    /// QEMU `-m` values, e.g. `["16M", "1G"]`. Never empty.
    pub memory_sizes: Vec<String>,
    /// Extra command-line words, one run each, after the plain run
    /// (several words of one variant are joined by commas).
    pub variants: Vec<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            memory_sizes: vec![DEFAULT_MEMORY.to_string()],
            variants: Vec::new(),
        }
    }
}

impl Config {
    /// The RAM size isolated tests boot with: 128M if listed, else the
    /// first size.
    pub fn isolated_memory(&self) -> &str {
        self.memory_sizes
            .iter()
            .find(|size| *size == DEFAULT_MEMORY)
            .unwrap_or(&self.memory_sizes[0])
    }
}

/// Loads `path`, or the defaults if it does not exist.
pub fn load(path: &Path) -> Result<Config, String> {
    match fs::read_to_string(path) {
        Ok(text) => parse(&text).map_err(|error| format!("{}: {error}", path.display())),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(Config::default()),
        Err(error) => Err(format!("{}: {error}", path.display())),
    }
}

/// Parses the text of a `ktest.conf`.
pub fn parse(text: &str) -> Result<Config, String> {
    let mut config = Config::default();
    for (index, line) in text.lines().enumerate() {
        let line_number = index + 1;
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            return Err(format!("line {line_number}: expected `key = value`"));
        };
        match key.trim() {
            "memory" => {
                let sizes: Vec<String> = value.split_whitespace().map(String::from).collect();
                if let Some(bad) = sizes.iter().find(|size| !is_memory_size(size)) {
                    return Err(format!(
                        "line {line_number}: `{bad}` is not a memory size like 16M or 1G"
                    ));
                }
                if sizes.is_empty() {
                    return Err(format!("line {line_number}: `memory` lists no sizes"));
                }
                config.memory_sizes = sizes;
            }
            "variants" => {
                config.variants = value.split_whitespace().map(String::from).collect();
                if let Some(bad) = config.variants.iter().find(|word| !is_variant(word)) {
                    return Err(format!(
                        "line {line_number}: `{bad}` is not a command-line word like heap=pool (or words joined by commas)"
                    ));
                }
            }
            other => return Err(format!("line {line_number}: unknown setting `{other}`")),
        }
    }
    Ok(config)
}

/// The test ISO for a variant ("" = the plain one), as `make isos` names it.
pub fn iso_name(chapter: &str, variant: &str) -> String {
    if variant.is_empty() {
        format!("strata-{chapter}-test.iso")
    } else {
        format!(
            "strata-{chapter}-test-{}.iso",
            variant.replace(['=', ','], "-")
        )
    }
}

/// Words of letters, digits, `_`, `-` and one `=`, joined by commas: safe in
/// a file name and in GRUB's menu.
fn is_variant(variant: &str) -> bool {
    variant.split(',').all(|word| {
        !word.is_empty()
            && word.matches('=').count() <= 1
            && word
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_-=".contains(&b))
    })
}

/// Digits followed by an optional `M` or `G`, as QEMU's `-m` accepts.
fn is_memory_size(text: &str) -> bool {
    let digits = text.trim_end_matches(['M', 'G']);
    text.len() - digits.len() <= 1
        && !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_one_size() {
        assert_eq!(parse("").unwrap().memory_sizes, ["128M"]);
        assert_eq!(parse("# nothing\n\n").unwrap().memory_sizes, ["128M"]);
        assert_eq!(
            load(Path::new("/nonexistent/ktest.conf")).unwrap(),
            Config::default()
        );
    }

    #[test]
    fn reads_memory_sizes() {
        let config = parse("# sizes\nmemory = 16M 128M 1G\n").unwrap();
        assert_eq!(config.memory_sizes, ["16M", "128M", "1G"]);
        assert_eq!(parse("memory=64").unwrap().memory_sizes, ["64"]);
    }

    #[test]
    fn reads_variants_and_names_their_isos() {
        let config = parse("variants = heap=pool heap=bump\n").unwrap();
        assert_eq!(config.variants, ["heap=pool", "heap=bump"]);
        assert_eq!(parse("").unwrap().variants, Vec::<String>::new());
        assert_eq!(iso_name("memory", ""), "strata-memory-test.iso");
        assert_eq!(
            iso_name("memory", "heap=pool"),
            "strata-memory-test-heap-pool.iso"
        );
        assert!(parse("variants = a=b=c")
            .unwrap_err()
            .contains("line 1: `a=b=c`"));
        assert!(parse("variants = x/y").is_err());
        // Commas join words into one variant.
        let config = parse("variants = heap=pool,pool=best slab=off").unwrap();
        assert_eq!(config.variants, ["heap=pool,pool=best", "slab=off"]);
        assert_eq!(
            iso_name("memory", "heap=pool,pool=best"),
            "strata-memory-test-heap-pool-pool-best.iso"
        );
        assert!(parse("variants = heap=pool,,x").is_err());
        assert!(parse("variants = heap=pool,a=b=c").is_err());
    }

    #[test]
    fn reports_mistakes_with_line_numbers() {
        assert_eq!(
            parse("\nmemory = 16MB").unwrap_err(),
            "line 2: `16MB` is not a memory size like 16M or 1G"
        );
        assert!(parse("memory =").unwrap_err().contains("no sizes"));
        assert!(parse("cpus = 2")
            .unwrap_err()
            .contains("line 1: unknown setting `cpus`"));
        assert!(parse("memory 16M").unwrap_err().contains("key = value"));
    }

    #[test]
    fn isolated_tests_boot_at_128m_when_listed() {
        let config = parse("memory = 16M 128M 1G\n").unwrap();
        assert_eq!(config.isolated_memory(), "128M");
        let config = parse("memory = 16M 1G\n").unwrap();
        assert_eq!(config.isolated_memory(), "16M");
        assert_eq!(Config::default().isolated_memory(), "128M");
    }
}
