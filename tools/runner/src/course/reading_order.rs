//! The reading order of a chapter: each file uses only files listed before it.
//!
//! A chapter's `lib.rs` lists its modules in the order a student should read
//! them, and a folder's `mod.rs` lists its files the same way. This check
//! makes that promise true: walking the files in that order, every reference
//! a file makes to another module of the crate (`crate::a::b`, `super::x`,
//! `use crate::{a, b}`, an exported macro such as `println!`) must point to
//! a file listed *before* it. A cycle between two files can then not exist,
//! since one of them would have to refer forward.
//!
//! A folder's `mod.rs` comes *first*: it introduces the folder (what is in
//! it, in which order to read it) and holds what all its files share, as
//! `heap/mod.rs` holds the `Heap` trait. Its own code may use its files
//! only through its `mod` and `use` lines (declaring and re-exporting them);
//! code that puts the files together lives in a file listed after them. A
//! file that names something its folder's `mod.rs` only re-exports (`use
//! super::BuddyHeap`, where `heap/mod.rs` has `pub use buddy::BuddyHeap`)
//! is taken to mean the file it comes from. Tests (`#[cfg(test)]` modules,
//! inline or in files of their own), comments and string literals are not
//! looked at.
//!
//! The parsing is deliberately simple — it reads paths, not Rust — which is
//! enough for code written as this course writes it. It does not follow
//! glob imports (`use a::*`) or macros other than exported `macro_rules!`.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

/// One file in reading order: its module path (`["shell", "args"]`; a
/// folder's `mod.rs` has the folder's path) and where it is.
#[derive(Debug, Clone)]
struct Entry {
    module: Vec<String>,
    file: PathBuf,
    /// `mod.rs` of a folder: its names that come from its files.
    reexports: BTreeMap<String, Vec<String>>,
}

/// A reference that points forward (or to nothing known).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub file: PathBuf,
    pub line: usize,
    pub path: String,
    pub why: String,
}

/// Checks the crate whose `lib.rs` is in `src`. Returns every reference
/// that points to a file listed later.
pub fn check(src: &Path) -> Result<Vec<Problem>, String> {
    let mut entries = Vec::new();
    walk(src, &src.join("lib.rs"), &[], &mut entries)?;
    let macros = exported_macros(&entries);
    let position: BTreeMap<Vec<String>, usize> = entries
        .iter()
        .enumerate()
        .map(|(index, entry)| (entry.module.clone(), index))
        .collect();
    let mut problems = Vec::new();
    for (index, entry) in entries.iter().enumerate() {
        let text = fs::read_to_string(&entry.file)
            .map_err(|error| format!("{}: {error}", entry.file.display()))?;
        let own_names = if entry.file.ends_with("mod.rs") {
            own_names(entry, &entries)
        } else {
            Vec::new()
        };
        for (line_number, path) in references(&code_of(&text), &own_names) {
            let Some(target) = resolve(&path, entry, &entries, &position, &macros) else {
                continue;
            };
            let Some(&target_index) = position.get(&target) else {
                continue;
            };
            if target_index > index {
                problems.push(Problem {
                    file: entry.file.clone(),
                    line: line_number,
                    path,
                    why: format!(
                        "uses {} ({}), which is listed after it",
                        display_module(&target),
                        entries[target_index].file.display()
                    ),
                });
            }
        }
    }
    Ok(problems)
}

fn display_module(module: &[String]) -> String {
    if module.is_empty() {
        "the crate root".to_string()
    } else {
        module.join("::")
    }
}

/// Adds the files of the module whose source is `file` (at module path
/// `module`) to `entries`, in reading order: the file itself (unless it is
/// `lib.rs`), then its child modules, each expanded in turn.
fn walk(
    src: &Path, file: &Path, module: &[String], entries: &mut Vec<Entry>,
) -> Result<(), String> {
    let text = fs::read_to_string(file).map_err(|error| format!("{}: {error}", file.display()))?;
    let dir = if module.is_empty() {
        src.to_path_buf()
    } else {
        src.join(module.join("/"))
    };
    if !module.is_empty() {
        entries.push(Entry {
            module: module.to_vec(),
            file: file.to_path_buf(),
            reexports: reexports(&text),
        });
    }
    for name in declared_modules(&text) {
        let mut child = module.to_vec();
        child.push(name.clone());
        let as_file = dir.join(format!("{name}.rs"));
        let as_folder = dir.join(&name).join("mod.rs");
        if as_file.is_file() {
            walk(src, &as_file, &child, entries)?;
        } else if as_folder.is_file() {
            walk(src, &as_folder, &child, entries)?;
        } else {
            return Err(format!("{}: no file for `mod {name}`", file.display()));
        }
    }
    Ok(())
}

/// The `mod NAME;` lines of a file (`pub`, `pub(crate)` or not), in order,
/// leaving out test modules (right after a `#[cfg(test)]`). `mod tests {
/// ... }` has a body and is not a file of its own.
fn declared_modules(text: &str) -> Vec<String> {
    let mut previous = "";
    let mut names = Vec::new();
    for line in text.lines().map(str::trim) {
        let declared = line
            .strip_prefix("pub mod ")
            .or_else(|| line.strip_prefix("pub(crate) mod "))
            .or_else(|| line.strip_prefix("mod "))
            .and_then(|rest| rest.strip_suffix(';'))
            .filter(|name| name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
        if let Some(name) = declared {
            if previous != "#[cfg(test)]" {
                names.push(name.to_string());
            }
        }
        previous = line;
    }
    names
}

/// What a `mod.rs` imports from its own files: `pub use a::{X, Y};` and
/// `use a::X;` make `X` and `Y` stand for module `a`'s (a relative path).
fn reexports(text: &str) -> BTreeMap<String, Vec<String>> {
    let mut map = BTreeMap::new();
    for statement in use_statements(&code_of(text)) {
        let body = statement
            .1
            .trim_start_matches("pub ")
            .trim_start_matches("use ");
        if body.starts_with("crate::") || body.starts_with("super::") || body.starts_with("core::")
        {
            continue;
        }
        for path in expand_use(body) {
            let mut parts: Vec<String> = path.split("::").map(str::to_string).collect();
            if parts.len() < 2 {
                continue;
            }
            let name = parts.pop().expect("two parts");
            map.insert(name, parts);
        }
    }
    map
}

/// Exported macros (`#[macro_export] macro_rules! NAME`) and the module of
/// the file each is defined in: `crate::println!` means that file.
fn exported_macros(entries: &[Entry]) -> BTreeMap<String, Vec<String>> {
    let mut macros = BTreeMap::new();
    for entry in entries {
        let text = fs::read_to_string(&entry.file).unwrap_or_default();
        for line in text.lines() {
            if let Some(rest) = line.trim().strip_prefix("macro_rules! ") {
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                macros.insert(name, entry.module.clone());
            }
        }
    }
    macros
}

/// The code of a file, line numbers kept, without what is not code: the
/// comments, the insides of string literals, and the tests — an inline
/// `#[cfg(test)] mod tests { ... }` (which this course always puts last)
/// ends the code; a `#[cfg(test)] mod tests;` line is only skipped.
fn code_of(text: &str) -> Vec<(usize, String)> {
    let mut code = Vec::new();
    let mut lines = text.lines().enumerate().peekable();
    let mut state = Lexing::Code;
    while let Some((index, line)) = lines.next() {
        if line.trim() == "#[cfg(test)]" {
            let next = lines.peek().map(|(_, next)| next.trim()).unwrap_or("");
            if next.starts_with("mod tests {") {
                break;
            }
            if next == "mod tests;" {
                lines.next();
                continue;
            }
        }
        code.push((index + 1, state.strip(line)));
    }
    code
}

/// Where a line-by-line read of Rust is: in code, or inside something that
/// goes on past the end of a line.
#[derive(Clone, Copy, PartialEq)]
enum Lexing {
    Code,
    String,
    BlockComment,
}

impl Lexing {
    /// `line` with comments removed and string literals emptied (their
    /// quotes kept), so that `"crate::x"` in a message is not a path.
    fn strip(&mut self, line: &str) -> String {
        let mut kept = String::with_capacity(line.len());
        let mut chars = line.chars().peekable();
        while let Some(c) = chars.next() {
            match *self {
                Lexing::Code => match c {
                    '/' if chars.peek() == Some(&'/') => break,
                    '/' if chars.peek() == Some(&'*') => {
                        chars.next();
                        *self = Lexing::BlockComment;
                    }
                    '"' => {
                        kept.push('"');
                        *self = Lexing::String;
                    }
                    // A character literal: '"' must not open a string.
                    '\'' if chars.clone().nth(1) == Some('\'') => {
                        kept.push_str("' '");
                        chars.next();
                        chars.next();
                    }
                    _ => kept.push(c),
                },
                Lexing::String => match c {
                    '\\' => {
                        chars.next();
                    }
                    '"' => {
                        kept.push('"');
                        *self = Lexing::Code;
                    }
                    _ => {}
                },
                Lexing::BlockComment => {
                    if c == '*' && chars.peek() == Some(&'/') {
                        chars.next();
                        *self = Lexing::Code;
                    }
                }
            }
        }
        kept
    }
}

/// `use` statements, joined across lines: (first line, text).
fn use_statements(code: &[(usize, String)]) -> Vec<(usize, String)> {
    let mut statements = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (number, line) in code {
        let trimmed = line.trim();
        if current.is_none() && (trimmed.starts_with("use ") || trimmed.starts_with("pub use ")) {
            current = Some((*number, String::new()));
        }
        if let Some((_, text)) = current.as_mut() {
            text.push_str(trimmed);
            text.push(' ');
            if trimmed.ends_with(';') {
                let (first, text) = current.take().expect("set above");
                statements.push((first, text.trim().trim_end_matches(';').to_string()));
            }
        }
    }
    statements
}

/// The paths a `use` body names, braces expanded: `a::{b, c::{d, e}}` is
/// `a::b`, `a::c::d`, `a::c::e`; `self` in braces is the prefix itself.
fn expand_use(body: &str) -> Vec<String> {
    // `X as Y` names X; spaces mean nothing else in a path.
    let body = body.replace(" as ", "@").replace(' ', "");
    let Some(open) = body.find('{') else {
        let path = body.split('@').next().unwrap_or(&body);
        return vec![path.trim_end_matches("::*").to_string()];
    };
    let prefix = body[..open].trim_end_matches("::");
    let inner = &body[open + 1..body.rfind('}').unwrap_or(body.len())];
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (at, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&inner[start..at]);
                start = at + 1;
            }
            _ => {}
        }
    }
    parts.push(&inner[start..]);
    parts
        .into_iter()
        .filter(|part| !part.is_empty())
        .flat_map(|part| {
            expand_use(part)
                .into_iter()
                .map(|path| match path.as_str() {
                    "self" => prefix.to_string(),
                    _ => format!("{prefix}::{path}"),
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The names a folder's `mod.rs` may write without `crate::` or `super::`
/// that mean one of its files: its child modules and what it re-exports.
fn own_names(entry: &Entry, entries: &[Entry]) -> Vec<String> {
    let children = entries.iter().filter_map(|other| {
        let (last, parent) = other.module.split_last()?;
        (parent == entry.module.as_slice()).then(|| format!("{last}::"))
    });
    children.chain(entry.reexports.keys().cloned()).collect()
}

/// Every `crate::…`, `super::…` and `self::…` path a file's code names,
/// with its line. A name a `use` brought in stands for its path
/// (`use crate::heap;` makes `heap::later::f()` mean `crate::heap::later::f`).
/// A folder's index (`mod.rs`) may declare and re-export its own files
/// (`mod a; pub use a::X;`), so those relative `use` lines are left out;
/// its code is also searched for `own_names` (`builtins::all()`, a
/// re-exported `execute()`), which name its files.
fn references(code: &[(usize, String)], own_names: &[String]) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    let uses = use_statements(code);
    let use_lines: Vec<usize> = uses.iter().map(|(line, _)| *line).collect();
    let mut imported: BTreeMap<String, String> = BTreeMap::new();
    for (line, statement) in &uses {
        let body = statement
            .trim_start_matches("pub ")
            .trim_start_matches("use ");
        if ["crate::", "super::", "self::"]
            .iter()
            .any(|start| body.starts_with(start))
        {
            for path in expand_use(body) {
                if let Some((_, name)) = path.rsplit_once("::") {
                    imported.insert(format!("{name}::"), path.clone());
                }
                found.push((*line, path));
            }
        }
    }
    let imported_names: Vec<String> = imported.keys().cloned().collect();
    let mut in_use = false;
    for (line, text) in code {
        let trimmed = text.trim_start();
        if use_lines.contains(line)
            || trimmed.starts_with("use ")
            || trimmed.starts_with("pub use ")
        {
            in_use = true;
        }
        if in_use {
            in_use = !trimmed.trim_end().ends_with(';');
            continue;
        }
        let declares = ["mod ", "pub mod ", "pub(crate) mod ", "#["];
        if declares.iter().any(|start| trimmed.starts_with(start)) {
            continue;
        }
        found.extend(
            own_paths(text, own_names)
                .into_iter()
                .map(|path| (*line, path)),
        );
        for path in own_paths(text, &imported_names) {
            let (name, rest) = path.split_once("::").unwrap_or((&path, ""));
            if let Some(full) = imported.get(&format!("{name}::")) {
                found.push((*line, format!("{full}::{rest}")));
            }
        }
        for start in ["crate::", "super::", "self::"] {
            let mut rest = text.as_str();
            while let Some(at) = rest.find(start) {
                let before = rest[..at].chars().last();
                let path: String = rest[at..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == ':')
                    .collect();
                // `$crate::` in a macro, or a word that ends in `crate`.
                if !before.is_some_and(|c| c == '$' || c.is_ascii_alphanumeric() || c == '_') {
                    found.push((*line, path.trim_end_matches(':').to_string()));
                }
                rest = &rest[at + start.len()..];
            }
        }
    }
    found
}

/// The paths in `text` that start with one of `names` as a whole word
/// (not after `::` or `.`, which would make it some other thing's part,
/// nor before a single `:`, which makes it a field). A name ending in `::`
/// (a module) counts only when a path goes on from it.
fn own_paths(text: &str, names: &[String]) -> Vec<String> {
    let is_word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut paths = Vec::new();
    let mut at = 0;
    while at < text.len() {
        let rest = &text[at..];
        let Some(start) = rest.find(|c: char| is_word(c)) else {
            break;
        };
        let word_and_path: String = rest[start..]
            .chars()
            .take_while(|&c| is_word(c) || c == ':')
            .collect();
        let before = &text[..at + start];
        let word: String = word_and_path.chars().take_while(|&c| is_word(c)).collect();
        // Part of another path or a field access, or the name being defined.
        let defines = [
            "fn ", "struct ", "enum ", "trait ", "type ", "const ", "static ",
        ];
        let part_of_other = before.ends_with("::")
            || before.ends_with('.')
            || before.ends_with('$')
            || defines.iter().any(|keyword| before.ends_with(keyword));
        let after = &word_and_path[word.len()..];
        let named = if after.starts_with("::") {
            names.contains(&format!("{word}::")) || names.contains(&word)
        } else {
            !after.starts_with(':') && names.contains(&word)
        };
        if !part_of_other && named {
            paths.push(word_and_path.trim_end_matches(':').to_string());
        }
        at += start + word_and_path.len().max(1);
    }
    paths
}

/// The module a path names, from `entry`'s point of view: the longest
/// prefix that is a module of the crate, followed through its folder's
/// re-exports. `None` for what this check does not judge (the crate root's
/// own items, other crates).
fn resolve(
    path: &str, entry: &Entry, entries: &[Entry], position: &BTreeMap<Vec<String>, usize>,
    macros: &BTreeMap<String, Vec<String>>,
) -> Option<Vec<String>> {
    let mut parts: Vec<&str> = path.split("::").filter(|part| !part.is_empty()).collect();
    let mut base: Vec<String> = match *parts.first()? {
        "crate" => {
            parts.remove(0);
            Vec::new()
        }
        "super" => {
            // A file's `super` is its folder; a folder's `mod.rs` stands
            // for the folder itself, so its `super` is the folder above:
            // either way, one step up from the entry's module.
            let mut base = entry.module.clone();
            base.pop();
            while parts.first() == Some(&"super") {
                parts.remove(0);
                if parts.first() == Some(&"super") {
                    base.pop();
                }
            }
            base
        }
        "self" => {
            parts.remove(0);
            entry.module.clone()
        }
        // A folder's `mod.rs` naming one of its own files.
        _ if entry.file.ends_with("mod.rs") => entry.module.clone(),
        _ => return None,
    };
    // Walk down while the next part is a module.
    let mut rest = parts.into_iter();
    for part in rest.by_ref() {
        let mut next = base.clone();
        next.push(part.to_string());
        if position.contains_key(&next) {
            base = next;
            continue;
        }
        // Not a module: an item of `base`, perhaps one its `mod.rs`
        // re-exports from a file of the folder.
        if let Some(folder) = entries.iter().find(|e| e.module == base) {
            if let Some(source) = folder.reexports.get(part) {
                let mut target = base.clone();
                target.extend(source.iter().cloned());
                while !target.is_empty() && !position.contains_key(&target) {
                    target.pop();
                }
                return (!target.is_empty()).then_some(target);
            }
        }
        if base.is_empty() {
            return macros.get(part).cloned();
        }
        return Some(base);
    }
    (!base.is_empty()).then_some(base)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    /// A throwaway crate: `files` as (path under src, text).
    fn crate_with(name: &str, files: &[(&str, &str)]) -> PathBuf {
        let root = std::env::temp_dir().join(format!(
            "strata-reading-order-{name}-{}",
            std::process::id()
        ));
        let _ = fs::remove_dir_all(&root);
        for (path, text) in files {
            let file = root.join(path);
            fs::create_dir_all(file.parent().unwrap()).unwrap();
            fs::write(file, text).unwrap();
        }
        root
    }

    fn problems(name: &str, files: &[(&str, &str)]) -> Vec<String> {
        let root = crate_with(name, files);
        let found = check(&root).unwrap();
        let _ = fs::remove_dir_all(&root);
        found
            .into_iter()
            .map(|p| {
                format!(
                    "{}:{} {}",
                    p.file.file_name().unwrap().to_string_lossy(),
                    p.line,
                    p.path
                )
            })
            .collect()
    }

    #[test]
    fn a_file_may_use_what_comes_before_it_and_not_what_comes_after() {
        let found = problems(
            "order",
            &[
                ("lib.rs", "pub mod a;\npub mod b;\n"),
                ("a.rs", "use crate::b::Thing;\npub fn f() {}\n"),
                (
                    "b.rs",
                    "use crate::a;\npub struct Thing;\nfn g() { crate::a::f(); }\n",
                ),
            ],
        );
        assert_eq!(found, ["a.rs:1 crate::b::Thing"]);
    }

    #[test]
    fn folders_braces_reexports_macros_and_tests_are_understood() {
        let found = problems(
            "folders",
            &[
                ("lib.rs", "pub mod console;\npub mod heap;\n"),
                (
                    "console.rs",
                    "#[macro_export]\nmacro_rules! println { () => {} }\n",
                ),
                (
                    "heap/mod.rs",
                    "mod stats;\nmod buddy;\npub use stats::Stats;\npub trait Heap {}\n",
                ),
                ("heap/stats.rs", "pub struct Stats;\n"),
                (
                    "heap/buddy.rs",
                    "use super::{Heap, Stats};\nfn f() { crate::println!(); }\n\
                     // crate::heap::later_thing in a comment\n\
                     #[cfg(test)]\nmod tests {\n    use crate::heap::later_thing;\n}\n",
                ),
            ],
        );
        assert!(found.is_empty(), "{found:?}");
        // A folder's index comes first: its code may not use its files
        // (only declare and re-export them), and its files may not use a
        // later sibling through it.
        let found = problems(
            "folder-items",
            &[
                ("lib.rs", "pub mod shell;\n"),
                (
                    "shell/mod.rs",
                    "mod builtins;\nmod run;\npub use run::execute;\nfn init() { builtins::all(); }\n\
                     struct Counts { run: usize, builtins: usize }\n",
                ),
                ("shell/builtins.rs", "pub fn all() {}\nfn help() { super::execute(); }\n"),
                ("shell/run.rs", "pub fn execute() { super::builtins::all(); }\n"),
            ],
        );
        assert_eq!(
            found,
            ["mod.rs:4 builtins::all", "builtins.rs:2 super::execute"]
        );
    }

    /// The layout this course really has: a folder inside a folder whose
    /// `mod.rs` declares its tests before its code, a module used through
    /// a name a `use` brought in, `self::` and `super::` from a nested
    /// `mod.rs`; and what is not a use: a path in a string, a definition
    /// named like a re-export.
    #[test]
    fn nested_folders_imports_and_strings() {
        let found = problems(
            "nested",
            &[
                ("lib.rs", "pub mod heap;\npub mod later;\n"),
                ("later.rs", "pub fn f() {}\n"),
                (
                    "heap/mod.rs",
                    "pub mod buddy;\nmod late;\npub use late::allocate;\n\
                     pub trait Heap { fn allocate(&self); }\n",
                ),
                ("heap/late.rs", "pub fn allocate() {}\n"),
                (
                    "heap/buddy/mod.rs",
                    "mod header;\n#[cfg(test)]\nmod tests;\n\
                     fn a() { super::late::allocate(); }\n\
                     fn b() { self::header::check(); }\n\
                     fn c() { panic!(\"see crate::later\"); /* crate::later */ }\n",
                ),
                (
                    "heap/buddy/header.rs",
                    "use crate::later;\nuse crate::heap;\n\
                     pub fn check() { heap::late::allocate(); }\n",
                ),
                ("heap/buddy/tests.rs", "use crate::later::f;\n"),
            ],
        );
        assert_eq!(
            found,
            [
                "mod.rs:4 super::late::allocate",
                // A folder's `mod.rs` comes first: its code may not use its
                // own files, however it names them.
                "mod.rs:5 self::header::check",
                "header.rs:1 crate::later",
                "header.rs:3 crate::heap::late::allocate",
            ]
        );
    }

    #[test]
    fn use_trees_expand() {
        assert_eq!(
            expand_use("crate::a::{b, c::{d, e}, self}"),
            [
                "crate::a::b",
                "crate::a::c::d",
                "crate::a::c::e",
                "crate::a"
            ]
        );
        assert_eq!(expand_use("super::x::Y as Z"), ["super::x::Y"]);
    }
}
