#!/usr/bin/env python3
"""The course book's last steps, after `mdbook build` (tools/book.sh).

    tools/book.py sources BOOK   link the texts to the source files they name
    tools/book.py check BOOK     fail on a broken local link or a remote load
    tools/book.py test           this script's own tests

`sources`: the texts name source files in backticks (`heap/locked.rs`,
`modules/memory/src/heap/mod.rs`, `tools/make-iso.sh`, `frames/`) or link
them with paths out of docs/ (`../modules/...`). In the book each becomes a
link to a page of its own under BOOK/source/ (`source/PATH.html`: the file
with numbered lines; a folder: its files), since the site cannot reach the
repository. A name that is not a path from the top (`address.rs`) is looked
for in the chapter the text is about first (modules/memory for chapter 2),
then everywhere; one that stays ambiguous is left as plain code.

`check`: every local href and src in BOOK's pages must reach a file (and
its #fragment an id in that page), and nothing may be loaded from the
network: no <script>, <link>, <img>, <iframe>... with a remote address, and
no remote url() or @import in a stylesheet. Links (<a href>) to the web
are fine: they are followed only when clicked.

Standard library only: a fresh machine has python3 and nothing else.
"""

import html
import os
import re
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

ROOT = Path(__file__).resolve().parent.parent

# What a name in backticks must look like to be taken for a file.
SOURCE_SUFFIXES = (
    ".rs", ".toml", ".ld", ".sh", ".e2e", ".conf", ".json", ".cfg", ".py", ".md",
)
SOURCE_NAMES = ("Makefile",)
# Names that, alone, mean "a file of that kind" (`a folder's mod.rs`,
# `chapter 1's build.rs`) more often than one file: never linked alone.
GENERIC_NAMES = {"mod.rs", "build.rs", "main.rs"}
# Where the files the texts name live (the rest of the tree is not source).
SOURCE_TOPS = ("modules", "tools", "grub", ".ci", ".cargo", "docs")
SKIPPED_DIRS = {"target", ".git", "node_modules", "proptest-regressions"}
# Which chapter's files a text is about, first to last, for short names.
PREFERRED = {
    "heap-debugging": ["modules/memory", "modules/paging"],
    "benchmarks": ["tools/bench", "modules/memory"],
    "labs": ["tools/runner"],
}


# --- the repository's files -------------------------------------------------


def source_files(root):
    """Every file under SOURCE_TOPS and at the top, as '/'-joined paths."""
    files = {p.name for p in root.iterdir() if p.is_file()}
    for top in SOURCE_TOPS:
        for folder, dirs, names in os.walk(root / top):
            dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS)
            rel = Path(folder).relative_to(root).as_posix()
            files.update(f"{rel}/{name}" for name in names)
    return files


def folders_of(files):
    """Every folder that holds one of `files` (with a trailing '/')."""
    folders = set()
    for path in files:
        parts = path.split("/")[:-1]
        for end in range(1, len(parts) + 1):
            folders.add("/".join(parts[:end]) + "/")
    return folders


def preferred_prefixes(page_stem, chapters):
    """Where a text's short names are looked for first."""
    match = re.fullmatch(r"chapter-(\d+)-([a-z]+)", page_stem)
    if match:
        return [f"modules/{match.group(2)}"]
    match = re.fullmatch(r"questions-(\d+)", page_stem)
    if match and match.group(1) in chapters:
        return [f"modules/{chapters[match.group(1)]}"]
    return PREFERRED.get(page_stem, [])


def chapters_in(docs):
    """Chapter number -> module name, from docs/chapter-N-NAME.md."""
    found = {}
    for path in docs.glob("chapter-*-*.md"):
        match = re.fullmatch(r"chapter-(\d+)-([a-z]+)", path.stem)
        if match:
            found[match.group(1)] = match.group(2)
    return found


def looks_like_path(text):
    if not text or any(c in text for c in " <>*?\"'`{}|$=,;()") or text.startswith("-"):
        return False
    if text.endswith("/"):
        return "/" in text[:-1] or text.count("/") == 1
    name = text.rsplit("/", 1)[-1]
    return name.endswith(SOURCE_SUFFIXES) or name in SOURCE_NAMES


def resolve(text, prefixes, files, folders):
    """The repository path that `text` names, or None."""
    if "/" in text and text in files:  # a path from the top, whatever its name
        return text
    if not looks_like_path(text):
        return None
    known = folders if text.endswith("/") else files
    if text.startswith("../"):  # a path from docs/
        path = os.path.normpath("docs/" + text).replace(os.sep, "/")
        path += "/" if text.endswith("/") else ""
        return path if path in known else None
    if text.startswith("./"):
        text = text[2:]
    if text in GENERIC_NAMES:
        return None
    suffix = "/" + text
    matches = sorted(p for p in known if p.endswith(suffix))
    for prefix in prefixes:
        mine = [p for p in matches if p.startswith(prefix + "/")]
        if len(mine) == 1:
            return mine[0]
        if len(mine) > 1:
            return None
    if text in known:
        return text
    return matches[0] if len(matches) == 1 else None


# --- the pages --------------------------------------------------------------

INLINE_CODE = re.compile(r"<code>([^<]+)</code>")
SKIP_BLOCKS = re.compile(r"(<pre\b.*?</pre>|<a\b.*?</a>)", re.S)
HREF = re.compile(r'(<a\b[^>]*\bhref=")([^"]*)(")')


def page_of(path):
    """The source page for a repository path (file or folder)."""
    return f"source/{path}index.html" if path.endswith("/") else f"source/{path}.html"


def relative(target, page_dir):
    return os.path.relpath(target, page_dir or ".").replace(os.sep, "/")


def book_page_of(path, book_pages):
    """The book's own page for a text of docs/ (`docs/labs.md` -> `labs.html`)."""
    if not (path.startswith("docs/") and path.endswith(".md")):
        return None
    page = path[len("docs/"):-len(".md")] + ".html"
    page = "index.html" if page == "README.html" else page
    return page if page in book_pages else None


def link_page(text, page_rel, prefixes, files, folders, linked, book_pages=frozenset()):
    """`text` (a page) with its source names linked; notes them in `linked`."""
    page_dir = os.path.dirname(page_rel)

    def code(match):
        name = html.unescape(match.group(1))
        path = resolve(name, prefixes, files, folders)
        if path is None:
            return match.group(0)
        target = book_page_of(path, book_pages)
        if target is None:
            linked.add(path)
            target = page_of(path)
        href = html.escape(relative(target, page_dir))
        return f'<a class="source-link" href="{href}" title="{html.escape(path)}">{match.group(0)}</a>'

    def href(match):
        target = html.unescape(match.group(2))
        parts = urlsplit(target)
        if parts.scheme or parts.netloc or not parts.path:
            return match.group(0)
        # The page's folder in the book is that folder of docs/.
        path = os.path.normpath(f"docs/{page_dir}/{unquote(parts.path)}").replace(os.sep, "/")
        if not path.startswith("../") and not path.startswith("docs/"):
            md = re.sub(r"\.html$", ".md", path)  # mdBook made `x.md` links `x.html`
            path = next((p for p in (path, md) if p in files), None)
            if path is None:
                return match.group(0)
            linked.add(path)
            new = relative(page_of(path), page_dir) + (f"#{parts.fragment}" if parts.fragment else "")
            return match.group(1) + html.escape(new) + match.group(3)
        return match.group(0)

    pieces = SKIP_BLOCKS.split(text)
    for index in range(0, len(pieces), 2):  # even pieces lie outside <pre> and <a>
        pieces[index] = INLINE_CODE.sub(code, pieces[index])
    return HREF.sub(href, "".join(pieces))


SOURCE_STYLE = """
body { font-family: sans-serif; margin: 0; background: #fff; color: #222; }
header { padding: 0.6em 1em; background: #f2f2f2; border-bottom: 1px solid #ddd; }
header a { margin-right: 1em; }
table { border-collapse: collapse; font-family: monospace; font-size: 14px; }
td { padding: 0 0.8em; vertical-align: top; white-space: pre; }
td.n { text-align: right; color: #999; user-select: none; }
td.n a { color: inherit; text-decoration: none; }
tr:target { background: #ffd; }
ul { font-family: monospace; }
"""


def source_page(path, root, book_index):
    """The HTML page for one repository file or folder."""
    title = html.escape(path)
    up = html.escape(book_index)
    head = (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{title} - Strata</title><style>{SOURCE_STYLE}</style></head><body>\n"
        f'<header><a href="{up}">The Strata course</a> <strong>{title}</strong></header>\n'
    )
    if path.endswith("/"):
        entries = sorted(os.listdir(root / path))
        items = []
        for name in entries:
            full = root / path / name
            if name in SKIPPED_DIRS:
                continue
            href = f"{name}/index.html" if full.is_dir() else f"{name}.html"
            shown = name + ("/" if full.is_dir() else "")
            items.append(f'<li><a href="{html.escape(href)}">{html.escape(shown)}</a></li>')
        return head + "<ul>\n" + "\n".join(items) + "\n</ul></body></html>\n"
    text = (root / path).read_text(encoding="utf-8", errors="replace")
    rows = []
    for number, line in enumerate(text.split("\n"), 1):
        if number > 1 and line == "" and number == len(text.split("\n")):
            break
        rows.append(
            f'<tr id="L{number}"><td class="n"><a href="#L{number}">{number}</a></td>'
            f"<td>{html.escape(line)}</td></tr>"
        )
    return head + "<table>\n" + "\n".join(rows) + "\n</table></body></html>\n"


def write_source_pages(book, root, linked):
    """Writes a page for every linked path, and for every folder above a
    linked folder's files (so a folder page's links all lead somewhere)."""
    todo = sorted(linked)
    done = set()
    while todo:
        path = todo.pop()
        if path in done:
            continue
        done.add(path)
        target = book / page_of(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        depth = page_of(path).count("/")
        target.write_text(source_page(path, root, "../" * depth + "index.html"), encoding="utf-8")
        if path.endswith("/"):
            for name in os.listdir(root / path):
                if name in SKIPPED_DIRS:
                    continue
                child = path + name + ("/" if (root / path / name).is_dir() else "")
                todo.append(child)
    return done


def link_sources(book, root=ROOT):
    files = source_files(root)
    folders = folders_of(files)
    chapters = chapters_in(root / "docs")
    linked = set()
    pages = sorted(book.rglob("*.html"))
    book_pages = {page.relative_to(book).as_posix() for page in pages}
    for page in pages:
        rel = page.relative_to(book).as_posix()
        if rel.startswith("source/"):
            continue
        text = page.read_text(encoding="utf-8")
        prefixes = preferred_prefixes(page.stem, chapters)
        new = link_page(text, rel, prefixes, files, folders, linked, book_pages)
        if new != text:
            page.write_text(new, encoding="utf-8")
    pages = write_source_pages(book, root, linked)
    print(f"book: {len(linked)} source files and folders linked from the texts ({len(pages)} pages)")


# --- the check --------------------------------------------------------------

# Elements that load what their src (or href, for <link>) names when the
# page is shown.
LOADING = {
    "script": "src", "img": "src", "iframe": "src", "frame": "src", "embed": "src",
    "source": "src", "audio": "src", "video": "src", "track": "src", "input": "src",
    "link": "href", "object": "data",
}
PLAYGROUND_HOST = "play.rust-lang.org"
CSS_URL = re.compile(r"""url\(\s*['"]?([^'")]+)['"]?\s*\)|@import\s+['"]([^'"]+)['"]""")


class Page(HTMLParser):
    """The ids, links and loads of one page."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.ids = set()
        self.links = []  # (tag, attribute, value)
        self.playground = False  # has an element of class "playground"

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.playground |= "playground" in (attrs.get("class") or "").split()
        for key in ("id", "name"):
            if attrs.get(key) and (key == "id" or tag == "a"):
                self.ids.add(attrs[key])
        if tag == "a" and attrs.get("href") is not None:
            self.links.append((tag, "href", attrs["href"]))
        loads = LOADING.get(tag)
        if loads and attrs.get(loads):
            self.links.append((tag, loads, attrs[loads]))
        if tag == "img" and attrs.get("srcset"):
            for item in attrs["srcset"].split(","):
                self.links.append((tag, "srcset", item.split()[0]))


def is_remote(url):
    parts = urlsplit(url)
    return bool(parts.netloc) or parts.scheme not in ("", "file", "data", "mailto", "javascript")


def check(book):
    """Problems in the built book, as lines (none: it is fine)."""
    problems = []
    parsed = {}

    def page(path):
        if path not in parsed:
            parser = Page()
            parser.feed(path.read_text(encoding="utf-8", errors="replace"))
            parsed[path] = parser
        return parsed[path]

    pages = sorted(book.rglob("*.html"))
    for path in pages:
        rel = path.relative_to(book).as_posix()
        for tag, attribute, value in page(path).links:
            where = f"{rel}: <{tag} {attribute}=\"{value}\">"
            parts = urlsplit(value)
            if tag != "a" and is_remote(value):
                problems.append(f"{where} loads from the network")
                continue
            if parts.scheme or parts.netloc:
                continue  # a link out, or a data: URL
            target = path if not parts.path else (path.parent / unquote(parts.path))
            target = Path(os.path.normpath(target))
            if book.resolve() not in (target.resolve(), *target.resolve().parents):
                problems.append(f"{where} leads out of the book")
                continue
            if target.is_dir():
                target = target / "index.html"
            if not target.is_file():
                problems.append(f"{where}: no such file")
                continue
            if parts.fragment and target.suffix == ".html":
                if unquote(parts.fragment) not in page(target).ids:
                    problems.append(f"{where}: no id '{parts.fragment}' in {target.relative_to(book).as_posix()}")
    # mdBook's script asks play.rust-lang.org about the crates it has as
    # soon as a page with a Rust playground block is shown.
    asking = [js.relative_to(book).as_posix() for js in sorted(book.rglob("*.js"))
              if PLAYGROUND_HOST in js.read_text(encoding="utf-8", errors="replace")]
    for path in pages if asking else []:
        if page(path).playground:
            problems.append(
                f"{path.relative_to(book).as_posix()}: a Rust playground block, which {asking[0]} "
                f"sends to {PLAYGROUND_HOST} when the page is shown (book.toml: "
                "[output.html.playground] runnable = false)")
    for css in sorted(book.rglob("*.css")):
        rel = css.relative_to(book).as_posix()
        text = css.read_text(encoding="utf-8", errors="replace")
        for match in CSS_URL.finditer(text):
            url = (match.group(1) or match.group(2)).strip()
            if is_remote(url):
                problems.append(f"{rel}: url({url}) loads from the network")
            elif not url.startswith(("data:", "#")):
                target = css.parent / unquote(urlsplit(url).path)
                if not target.is_file():
                    problems.append(f"{rel}: url({url}): no such file")
    return problems, len(pages)


def run_check(book):
    problems, pages = check(book)
    for problem in problems:
        print(f"book: {problem}", file=sys.stderr)
    if problems:
        print(f"book: {len(problems)} broken link(s) or remote load(s) in {pages} pages", file=sys.stderr)
        return 1
    print(f"book: {pages} pages, every local link resolves, nothing loaded from the network")
    return 0


# --- tests ------------------------------------------------------------------


def self_test():
    import tempfile
    import unittest

    class Tests(unittest.TestCase):
        files = {
            "Makefile",
            "modules/memory/src/address.rs",
            "modules/paging/src/address.rs",
            "modules/memory/src/heap/locked.rs",
            "modules/memory/src/heap/buddy/mod.rs",
            "modules/paging/src/heap/mod.rs",
            "modules/memory/src/heap/mod.rs",
            "tools/make-iso.sh",
            "README.md",
            ".ci/run",
            "Cargo.toml",
            "modules/memory/Cargo.toml",
        }

        def resolve(self, text, prefixes=()):
            return resolve(text, list(prefixes), self.files, folders_of(self.files))

        def test_names_resolve_in_the_texts_chapter_first(self):
            self.assertEqual(self.resolve("tools/make-iso.sh"), "tools/make-iso.sh")
            self.assertEqual(self.resolve("heap/locked.rs"), "modules/memory/src/heap/locked.rs")
            self.assertEqual(self.resolve("address.rs", ["modules/paging"]), "modules/paging/src/address.rs")
            self.assertIsNone(self.resolve("address.rs"), "two chapters have one")
            self.assertIsNone(self.resolve("heap/mod.rs"))
            self.assertEqual(self.resolve("heap/mod.rs", ["modules/memory"]), "modules/memory/src/heap/mod.rs")
            self.assertEqual(self.resolve("buddy/"), "modules/memory/src/heap/buddy/")
            self.assertEqual(self.resolve("../modules/memory/src/address.rs"), "modules/memory/src/address.rs")
            self.assertEqual(self.resolve("Makefile"), "Makefile")
            self.assertEqual(self.resolve(".ci/run"), ".ci/run")
            self.assertIsNone(self.resolve("run"), "a shell command, not .ci/run")
            self.assertEqual(self.resolve("Cargo.toml"), "Cargo.toml")
            self.assertEqual(self.resolve("Cargo.toml", ["modules/memory"]), "modules/memory/Cargo.toml")
            self.assertIsNone(self.resolve("mod.rs", ["modules/memory"]), "too generic alone")
            for text in ("heap=pool", "Box", "a b.rs", "missing.rs", "-p.rs", "x.rs:12"):
                self.assertIsNone(self.resolve(text), text)

        def test_pages_link_inline_code_but_not_code_blocks_or_links(self):
            linked = set()
            page = (
                "<p>See <code>heap/locked.rs</code> and <code>Box</code>.</p>"
                "<p><code>docs/labs.md</code></p>"
                "<pre><code>heap/locked.rs</code></pre>"
                '<a href="x.html"><code>heap/locked.rs</code></a>'
                '<a href="../modules/memory/src/address.rs#L3">a</a> <a href="../README.html">r</a>'
                '<a href="chapter-2.html">c</a>'
            )
            files = self.files | {"docs/labs.md"}
            out = link_page(page, "chapter-2.html", [], files, folders_of(files), linked, {"labs.html"})
            self.assertIn('<a class="source-link" href="labs.html"', out)
            self.assertIn('<a class="source-link" href="source/modules/memory/src/heap/locked.rs.html"', out)
            self.assertEqual(out.count("source-link"), 2)
            self.assertIn('href="source/modules/memory/src/address.rs.html#L3"', out)
            self.assertIn('href="source/README.md.html"', out)
            self.assertIn('href="chapter-2.html"', out)
            self.assertEqual(linked, {
                "modules/memory/src/heap/locked.rs", "modules/memory/src/address.rs", "README.md",
            })

        def test_the_check_finds_broken_links_and_remote_loads(self):
            with tempfile.TemporaryDirectory() as folder:
                book = Path(folder)
                (book / "css").mkdir()
                (book / "css" / "a.css").write_text(
                    "@font-face { src: url('../fonts/x.woff2'); }\n"
                    "@import 'https://fonts.example/x.css';\n")
                (book / "b.html").write_text('<h2 id="there">x</h2>')
                (book / "a.html").write_text(
                    '<link rel="stylesheet" href="css/a.css">'
                    '<script src="https://cdn.example/m.js"></script>'
                    '<img src="images/gone.svg"><a href="b.html#there">ok</a>'
                    '<a href="b.html#nowhere">x</a><a href="https://example.org/">out</a>'
                    '<a href="#top">t</a><span id="top"></span><a href="../../etc/passwd">e</a>'
                    '<pre class="playground"><code>fn main() {}</code></pre>')
                (book / "book.js").write_text("fetch('https://play.rust-lang.org/meta/crates')")
                problems, pages = check(book)
                self.assertEqual(pages, 2)
                text = "\n".join(problems)
                self.assertIn("cdn.example/m.js\"> loads from the network", text)
                self.assertIn("images/gone.svg\">: no such file", text)
                self.assertIn("no id 'nowhere'", text)
                self.assertIn("leads out of the book", text)
                self.assertIn("url(../fonts/x.woff2): no such file", text)
                self.assertIn("fonts.example/x.css) loads from the network", text)
                self.assertIn("a.html: a Rust playground block, which book.js sends", text)
                self.assertEqual(len(problems), 7, text)

    suite = unittest.defaultTestLoader.loadTestsFromTestCase(Tests)
    result = unittest.TextTestRunner(verbosity=2).run(suite)
    return 0 if result.wasSuccessful() else 1


def main(argv):
    if len(argv) == 2 and argv[1] == "test":
        return self_test()
    if len(argv) == 3 and argv[1] in ("sources", "check"):
        book = Path(argv[2])
        if not (book / "index.html").is_file():
            print(f"book: no book in {book} (run mdbook build first)", file=sys.stderr)
            return 1
        if argv[1] == "sources":
            link_sources(book)
            return 0
        return run_check(book)
    print(__doc__.split("\n\n")[1], file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
