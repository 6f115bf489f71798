//! `make grade FORMAT=json`: the grade as one JSON object on stdout, for
//! autograders (GitHub Classroom and the like).
//!
//! ```text
//! {"chapter":2,"token":"5f1c09a2e4b7d836","score":45,"total":100,
//!  "checks":[{"lab":"2.1","kind":"host","test":"frames::...","points":20,
//!             "passed":true,"message":""}, ...]}
//! ```
//!
//! `lab` is the lab's number, or `"foundations"`. The runner is std-only,
//! so the JSON is written by hand here, and [`parse`] reads it back strictly
//! (for the tests and the course check, which prove the format).

use std::collections::BTreeMap;
use std::fmt::Write;

/// One graded check, as reported.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckResult {
    pub lab: String,
    pub kind: String,
    pub test: String,
    pub points: u32,
    pub passed: bool,
    pub message: String,
}

/// The whole grade as a JSON object.
pub fn grade(
    chapter: u32, token: &str, checks: &[CheckResult], (score, total): (u32, u32),
) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "{{\"chapter\":{chapter},\"token\":{},\"score\":{score},\"total\":{total},\"checks\":[",
        string(token)
    );
    for (index, check) in checks.iter().enumerate() {
        let _ = write!(
            out,
            "{}{{\"lab\":{},\"kind\":{},\"test\":{},\"points\":{},\"passed\":{},\"message\":{}}}",
            if index == 0 { "" } else { "," },
            string(&check.lab),
            string(&check.kind),
            string(&check.test),
            check.points,
            check.passed,
            string(&check.message)
        );
    }
    out.push_str("]}");
    out
}

/// A JSON string literal: quotes, backslashes and control characters
/// escaped.
fn string(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A parsed JSON value (numbers as f64).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Number(f64),
    String(String),
    Array(Vec<Value>),
    Object(BTreeMap<String, Value>),
}

impl Value {
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Object(fields) => fields.get(key),
            _ => None,
        }
    }
}

/// Parses `text` as exactly one JSON value (surrounding whitespace allowed).
pub fn parse(text: &str) -> Result<Value, String> {
    let mut parser = Parser {
        bytes: text.as_bytes(),
        at: 0,
    };
    let value = parser.value()?;
    parser.skip_space();
    if parser.at != parser.bytes.len() {
        return Err(format!("text after the value at byte {}", parser.at));
    }
    Ok(value)
}

struct Parser<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Parser<'_> {
    fn skip_space(&mut self) {
        while self.bytes.get(self.at).is_some_and(u8::is_ascii_whitespace) {
            self.at += 1;
        }
    }

    fn expect(&mut self, byte: u8) -> Result<(), String> {
        self.skip_space();
        if self.bytes.get(self.at) == Some(&byte) {
            self.at += 1;
            Ok(())
        } else {
            Err(format!("expected `{}` at byte {}", byte as char, self.at))
        }
    }

    fn value(&mut self) -> Result<Value, String> {
        self.skip_space();
        match self.bytes.get(self.at) {
            Some(b'{') => self.object(),
            Some(b'[') => self.array(),
            Some(b'"') => self.string().map(Value::String),
            Some(b't') => self.word("true", Value::Bool(true)),
            Some(b'f') => self.word("false", Value::Bool(false)),
            Some(b'n') => self.word("null", Value::Null),
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => Err(format!("expected a value at byte {}", self.at)),
        }
    }

    fn word(&mut self, word: &str, value: Value) -> Result<Value, String> {
        if self.bytes[self.at..].starts_with(word.as_bytes()) {
            self.at += word.len();
            Ok(value)
        } else {
            Err(format!("bad literal at byte {}", self.at))
        }
    }

    fn number(&mut self) -> Result<Value, String> {
        let start = self.at;
        while self
            .bytes
            .get(self.at)
            .is_some_and(|b| b.is_ascii_digit() || b"+-.eE".contains(b))
        {
            self.at += 1;
        }
        let text = std::str::from_utf8(&self.bytes[start..self.at]).map_err(|e| e.to_string())?;
        text.parse()
            .map(Value::Number)
            .map_err(|_| format!("bad number `{text}`"))
    }

    fn string(&mut self) -> Result<String, String> {
        self.expect(b'"')?;
        let mut out = Vec::new();
        loop {
            let byte = *self.bytes.get(self.at).ok_or("unterminated string")?;
            self.at += 1;
            match byte {
                b'"' => return String::from_utf8(out).map_err(|e| e.to_string()),
                b'\\' => {
                    let escape = *self.bytes.get(self.at).ok_or("unterminated escape")?;
                    self.at += 1;
                    match escape {
                        b'"' | b'\\' | b'/' => out.push(escape),
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'b' => out.push(8),
                        b'f' => out.push(12),
                        b'u' => {
                            let hex = self.bytes.get(self.at..self.at + 4).ok_or("short \\u")?;
                            let code =
                                u32::from_str_radix(std::str::from_utf8(hex).unwrap_or("x"), 16)
                                    .map_err(|_| "bad \\u escape")?;
                            let c = char::from_u32(code).ok_or("bad \\u code point")?;
                            out.extend(c.to_string().bytes());
                            self.at += 4;
                        }
                        _ => return Err(format!("bad escape at byte {}", self.at)),
                    }
                }
                byte if byte < 0x20 => return Err("a control character in a string".into()),
                byte => out.push(byte),
            }
        }
    }

    fn array(&mut self) -> Result<Value, String> {
        self.expect(b'[')?;
        let mut items = Vec::new();
        self.skip_space();
        if self.bytes.get(self.at) == Some(&b']') {
            self.at += 1;
            return Ok(Value::Array(items));
        }
        loop {
            items.push(self.value()?);
            self.skip_space();
            match self.bytes.get(self.at) {
                Some(b',') => self.at += 1,
                Some(b']') => {
                    self.at += 1;
                    return Ok(Value::Array(items));
                }
                _ => return Err(format!("expected `,` or `]` at byte {}", self.at)),
            }
        }
    }

    fn object(&mut self) -> Result<Value, String> {
        self.expect(b'{')?;
        let mut fields = BTreeMap::new();
        self.skip_space();
        if self.bytes.get(self.at) == Some(&b'}') {
            self.at += 1;
            return Ok(Value::Object(fields));
        }
        loop {
            self.skip_space();
            let key = self.string()?;
            self.expect(b':')?;
            let value = self.value()?;
            if fields.insert(key.clone(), value).is_some() {
                return Err(format!("key `{key}` twice"));
            }
            self.skip_space();
            match self.bytes.get(self.at) {
                Some(b',') => self.at += 1,
                Some(b'}') => {
                    self.at += 1;
                    return Ok(Value::Object(fields));
                }
                _ => return Err(format!("expected `,` or `}}` at byte {}", self.at)),
            }
        }
    }
}

/// Checks that `text` is a grade in the documented format, and returns
/// (score, total, number of checks).
pub fn check_grade(text: &str) -> Result<(u32, u32, usize), String> {
    let value = parse(text)?;
    let number = |key: &str| match value.get(key) {
        Some(Value::Number(n)) if *n >= 0.0 && n.fract() == 0.0 => Ok(*n as u32),
        _ => Err(format!("`{key}` is not a whole number")),
    };
    let (score, total) = (number("score")?, number("total")?);
    number("chapter")?;
    if !matches!(value.get("token"), Some(Value::String(_))) {
        return Err("`token` is not a string".into());
    }
    let Some(Value::Array(checks)) = value.get("checks") else {
        return Err("`checks` is not a list".into());
    };
    let mut earned = 0;
    let mut possible = 0;
    for check in checks {
        let field = |key: &str| check.get(key).ok_or(format!("a check has no `{key}`"));
        let (Value::String(_), Value::String(_), Value::String(_), Value::String(_)) = (
            field("lab")?,
            field("kind")?,
            field("test")?,
            field("message")?,
        ) else {
            return Err("a check's lab, kind, test or message is not a string".into());
        };
        let (Value::Number(points), Value::Bool(passed)) = (field("points")?, field("passed")?)
        else {
            return Err("a check's points or passed has the wrong type".into());
        };
        if *points < 0.0 || points.fract() != 0.0 || *points > f64::from(u16::MAX) {
            return Err(format!("a check's points are not a whole number: {points}"));
        }
        let points = *points as u32;
        possible += points;
        if *passed {
            earned += points;
        }
    }
    if (earned, possible) != (score, total) {
        return Err(format!(
            "the checks add up to {earned}/{possible}, not the {score}/{total} given"
        ));
    }
    Ok((score, total, checks.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(lab: &str, points: u32, passed: bool, message: &str) -> CheckResult {
        CheckResult {
            lab: lab.into(),
            kind: "host".into(),
            test: "heap::tests::a".into(),
            points,
            passed,
            message: message.into(),
        }
    }

    #[test]
    fn a_grade_is_one_object_that_reads_back() {
        let checks = [
            check("foundations", 10, true, ""),
            check(
                "2.1",
                20,
                false,
                "reached the \"stub\"\nof lab 2.1\t\\ \u{1}",
            ),
        ];
        let text = grade(2, "abc123", &checks, (10, 30));
        assert!(!text.contains('\n'), "one line: {text}");
        let value = parse(&text).unwrap();
        assert_eq!(value.get("chapter"), Some(&Value::Number(2.0)));
        assert_eq!(value.get("token"), Some(&Value::String("abc123".into())));
        let Some(Value::Array(items)) = value.get("checks") else {
            panic!("no checks in {text}");
        };
        assert_eq!(items.len(), 2);
        assert_eq!(
            items[1].get("message"),
            Some(&Value::String(checks[1].message.clone())),
            "escapes round-trip"
        );
        assert_eq!(items[1].get("passed"), Some(&Value::Bool(false)));
        assert_eq!(check_grade(&text), Ok((10, 30, 2)));
    }

    #[test]
    fn a_grade_that_does_not_add_up_or_is_not_json_is_refused() {
        let checks = [check("2.1", 20, true, "")];
        assert!(check_grade(&grade(2, "t", &checks, (0, 20))).is_err());
        assert!(check_grade(&grade(2, "t", &checks, (20, 20))).is_ok());
        for bad in [
            "",
            "{",
            "{\"score\":1}",
            "[1,2]",
            "{\"a\":1}{}",
            "{\"a\":\"\u{1}\"}",
            "Score: 20/20",
            r#"{"chapter":1,"token":"t","score":2,"total":2,"checks":[{"lab":"1.1","kind":"host","test":"a","points":2.5,"passed":true,"message":""}]}"#,
        ] {
            assert!(check_grade(bad).is_err(), "accepted {bad:?}");
        }
        assert!(parse("{\"a\":[true,false,null,-1.5e3,\"x\\u0041\"]}").is_ok());
        assert!(parse("{\"a\":1,\"a\":2}").is_err(), "a key twice");
    }
}
