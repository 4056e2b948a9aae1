//! The input file: a JSON array of items, read with the input rules of SEMANTICS.md.
//!
//! A small dedicated parser (rather than serde_json) so that the rules can be applied exactly as
//! Python's `json` module reads the text: integers of any size are recognised as integers (outside
//! 64 bits: an error), `NaN`/`Infinity`/`-Infinity` and overflowing floats are non-finite numbers (an
//! error), lone surrogate escapes are recognised (an error). As with `json.loads` followed by a check
//! of each item, a syntax error anywhere wins over an item error, and among item errors the first
//! item wins.

use crate::error::InputError;
use crate::value::{Object, Value};

/// Deepest nesting of arrays and objects accepted inside one item.
pub const MAX_DEPTH: usize = 1000;

/// Parses input bytes (must be UTF-8).
pub fn parse_input_bytes(bytes: &[u8]) -> Result<Vec<Value>, InputError> {
    match std::str::from_utf8(bytes) {
        Ok(text) => parse_input(text),
        Err(e) => Err(InputError::whole(&format!(
            "invalid UTF-8 at byte {}",
            e.valid_up_to()
        ))),
    }
}

/// Parses the input text: a JSON array whose elements are the items.
pub fn parse_input(text: &str) -> Result<Vec<Value>, InputError> {
    let mut p = Parser {
        b: text.as_bytes(),
        text,
        pos: 0,
        item: 0,
        first_item_error: None,
    };
    p.skip_ws();
    let items = if p.peek() == Some(b'[') {
        p.pos += 1;
        p.top_array()?
    } else {
        // Not an array: read it all (a syntax error wins), then name its type.
        let v = p.value(0)?;
        p.end()?;
        return Err(InputError::whole(&format!(
            "expected a JSON array, got {}",
            v.type_name()
        )));
    };
    p.end()?;
    match p.first_item_error {
        Some(e) => Err(e),
        None => Ok(items),
    }
}

/// Why one line of an NDJSON input is not a valid item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineError {
    /// Not one JSON value: `invalid JSON at column C: ...` (this parser's wording; rmprof rewords
    /// it with Python's, see `rmprof/ndjson.py`).
    Syntax(String),
    /// A JSON value that breaks an item rule: `integer out of 64-bit range`, ...
    Item(String),
}

/// Parses one line of an NDJSON input (one JSON value, surrounding JSON whitespace allowed) with
/// the item rules of [`parse_input`]; as there, a syntax error wins over an item error.
pub fn parse_line(text: &str) -> Result<Value, LineError> {
    let mut p = Parser {
        b: text.as_bytes(),
        text,
        pos: 0,
        item: 0,
        first_item_error: None,
    };
    let result = p.value(0).and_then(|v| p.end().map(|()| v));
    // The parser's messages read `input: invalid JSON at line 1 column C: ...` or `input[0]: ...`.
    let detail = |e: InputError| match e.message.split_once(": ") {
        Some((_, rest)) => rest.replacen("at line 1 column", "at column", 1),
        None => e.message,
    };
    match (result, p.first_item_error) {
        (Err(e), _) if e.item.is_none() => Err(LineError::Syntax(detail(e))),
        (Err(e), _) | (Ok(_), Some(e)) => Err(LineError::Item(detail(e))),
        (Ok(v), None) => Ok(v),
    }
}

struct Parser<'a> {
    b: &'a [u8],
    text: &'a str,
    pos: usize,
    /// Index of the top-level item being read.
    item: usize,
    first_item_error: Option<InputError>,
}

type R<T> = Result<T, InputError>;

impl Parser<'_> {
    #[inline]
    fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }

    #[inline]
    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    fn syntax<T>(&self, msg: &str) -> R<T> {
        let before = &self.text[..self.pos.min(self.text.len())];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before[line_start..].chars().count() + 1;
        Err(InputError::whole(&format!(
            "invalid JSON at line {line} column {column}: {msg}"
        )))
    }

    /// Records an item error (the first one wins) and goes on reading.
    fn item_error(&mut self, detail: &str) {
        if self.first_item_error.is_none() {
            self.first_item_error = Some(InputError::at(self.item, detail));
        }
    }

    fn end(&mut self) -> R<()> {
        self.skip_ws();
        if self.pos < self.b.len() {
            return self.syntax("trailing characters");
        }
        Ok(())
    }

    fn top_array(&mut self) -> R<Vec<Value>> {
        let mut items = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(items);
        }
        loop {
            self.item = items.len();
            self.skip_ws();
            items.push(self.value(0)?);
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(items);
                }
                None => return self.syntax("EOF while parsing a list"),
                Some(_) => return self.syntax("expected `,` or `]`"),
            }
        }
    }

    fn literal(&mut self, word: &str, v: Value) -> R<Value> {
        if self.b[self.pos..].starts_with(word.as_bytes()) {
            self.pos += word.len();
            Ok(v)
        } else {
            self.syntax("expected value")
        }
    }

    fn value(&mut self, depth: usize) -> R<Value> {
        self.skip_ws();
        match self.peek() {
            None => self.syntax("EOF while parsing a value"),
            Some(b'"') => {
                self.pos += 1;
                Ok(Value::from(self.string()?))
            }
            Some(b'[') => {
                self.pos += 1;
                self.enter(depth)?;
                self.array(depth + 1)
            }
            Some(b'{') => {
                self.pos += 1;
                self.enter(depth)?;
                self.object(depth + 1)
            }
            Some(b'n') => self.literal("null", Value::Null),
            Some(b't') => self.literal("true", Value::Bool(true)),
            Some(b'f') => self.literal("false", Value::Bool(false)),
            Some(b'N') => self.non_finite("NaN"),
            Some(b'I') => self.non_finite("Infinity"),
            Some(b'-') if self.b.get(self.pos + 1) == Some(&b'I') => self.non_finite("-Infinity"),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(_) => self.syntax("expected value"),
        }
    }

    fn enter(&self, depth: usize) -> R<()> {
        if depth >= MAX_DEPTH {
            return Err(InputError::at(
                self.item,
                &format!("nesting deeper than {MAX_DEPTH} levels"),
            ));
        }
        Ok(())
    }

    fn non_finite(&mut self, word: &str) -> R<Value> {
        let v = self.literal(word, Value::Float(0.0))?;
        self.item_error("non-finite number");
        Ok(v)
    }

    fn number(&mut self) -> R<Value> {
        let start = self.pos;
        let digits = |p: &mut Self| {
            let s = p.pos;
            while let Some(b'0'..=b'9') = p.peek() {
                p.pos += 1;
            }
            p.pos - s
        };
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => {
                digits(self);
            }
            _ => return self.syntax("invalid number"),
        }
        let mut is_float = false;
        if self.peek() == Some(b'.') {
            self.pos += 1;
            is_float = true;
            if digits(self) == 0 {
                return self.syntax("invalid number");
            }
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.pos += 1;
            is_float = true;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            if digits(self) == 0 {
                return self.syntax("invalid number");
            }
        }
        let lit = &self.text[start..self.pos];
        if is_float {
            let f: f64 = lit.parse().expect("a JSON float literal parses");
            if !f.is_finite() {
                self.item_error("non-finite number");
            }
            Ok(Value::Float(f))
        } else {
            match lit.parse::<i64>() {
                Ok(i) => Ok(Value::Int(i)),
                Err(_) => {
                    self.item_error("integer out of 64-bit range");
                    Ok(Value::Int(0))
                }
            }
        }
    }

    fn hex4(&mut self) -> R<u32> {
        let Some(h) = self.b.get(self.pos..self.pos + 4) else {
            self.pos = self.b.len();
            return self.syntax("EOF while parsing a string");
        };
        let mut v = 0u32;
        for &c in h {
            let d = match c {
                b'0'..=b'9' => c - b'0',
                b'a'..=b'f' => c - b'a' + 10,
                b'A'..=b'F' => c - b'A' + 10,
                _ => return self.syntax("invalid escape"),
            };
            v = v * 16 + u32::from(d);
        }
        self.pos += 4;
        Ok(v)
    }

    /// Reads a string after its opening quote.
    fn string(&mut self) -> R<String> {
        let mut out = String::new();
        loop {
            let start = self.pos;
            while let Some(&c) = self.b.get(self.pos) {
                if c == b'"' || c == b'\\' || c < 0x20 {
                    break;
                }
                self.pos += 1;
            }
            // `start..pos` lies between ASCII bytes of valid UTF-8: a valid str slice.
            out.push_str(&self.text[start..self.pos]);
            match self.peek() {
                None => return self.syntax("EOF while parsing a string"),
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.pos += 1;
                    let Some(e) = self.peek() else {
                        return self.syntax("EOF while parsing a string");
                    };
                    self.pos += 1;
                    match e {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'u' => {
                            let u = self.hex4()?;
                            let c = if (0xD800..0xDC00).contains(&u) {
                                // A high surrogate pairs with an immediately following low one.
                                let next_low = self.b[self.pos..].starts_with(b"\\u") && {
                                    let save = self.pos;
                                    self.pos += 2;
                                    let lo = self.hex4()?;
                                    if (0xDC00..0xE000).contains(&lo) {
                                        out.push(
                                            char::from_u32(
                                                0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00),
                                            )
                                            .expect("a surrogate pair is a scalar value"),
                                        );
                                        true
                                    } else {
                                        self.pos = save;
                                        false
                                    }
                                };
                                if next_low {
                                    continue;
                                }
                                None
                            } else {
                                char::from_u32(u)
                            };
                            match c {
                                Some(c) => out.push(c),
                                None => {
                                    self.item_error("string contains a lone surrogate");
                                    out.push('\u{FFFD}');
                                }
                            }
                        }
                        _ => {
                            self.pos -= 1;
                            return self.syntax("invalid escape");
                        }
                    }
                }
                Some(_) => {
                    return self
                        .syntax("control character (\\u0000-\\u001F) found while parsing a string")
                }
            }
        }
    }

    fn array(&mut self, depth: usize) -> R<Value> {
        let mut items = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(Value::Array(items));
        }
        loop {
            items.push(self.value(depth)?);
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(Value::Array(items));
                }
                None => return self.syntax("EOF while parsing a list"),
                Some(_) => return self.syntax("expected `,` or `]`"),
            }
        }
    }

    fn object(&mut self, depth: usize) -> R<Value> {
        let mut map = Object::new();
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(Value::Object(Box::new(map)));
        }
        loop {
            self.skip_ws();
            match self.peek() {
                Some(b'"') => self.pos += 1,
                None => return self.syntax("EOF while parsing an object"),
                Some(_) => return self.syntax("key must be a string"),
            }
            let key = self.string()?;
            self.skip_ws();
            match self.peek() {
                Some(b':') => self.pos += 1,
                None => return self.syntax("EOF while parsing an object"),
                Some(_) => return self.syntax("expected `:`"),
            }
            let v = self.value(depth)?;
            // Like a Python dict: a repeated key keeps its first position and its last value.
            map.insert(key, v);
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(Value::Object(Box::new(map)));
                }
                None => return self.syntax("EOF while parsing an object"),
                Some(_) => return self.syntax("expected `,` or `}`"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(text: &str) -> String {
        parse_input(text).unwrap_err().message
    }

    #[test]
    fn parses_items() {
        let v = parse_input(
            r#" [1, -2, 2.0, 1e2, "a\"\u00e9\ud83d\ude00", true, null, [], {"k": [1]}] "#,
        )
        .unwrap();
        let json: Vec<String> = v.iter().map(Value::to_json).collect();
        assert_eq!(
            json,
            [
                "1",
                "-2",
                "2.0",
                "100.0",
                "\"a\\\"é😀\"",
                "true",
                "null",
                "[]",
                "{\"k\":[1]}"
            ]
        );
        assert!(parse_input("[]").unwrap().is_empty());
        assert_eq!(parse_input("[-0.0]").unwrap()[0].to_json(), "-0.0");
        assert_eq!(
            parse_input("[9223372036854775807, -9223372036854775808]").unwrap()[1],
            Value::Int(i64::MIN)
        );
    }

    #[test]
    fn duplicate_keys_behave_like_python_dicts() {
        let v = parse_input(r#"[{"a": 1, "b": 2, "a": 3}]"#).unwrap();
        assert_eq!(v[0].to_json(), r#"{"a":3,"b":2}"#);
    }

    #[test]
    fn input_rule_messages() {
        assert_eq!(
            msg(r#"{"a": 1}"#),
            "input: expected a JSON array, got object"
        );
        assert_eq!(msg("5"), "input: expected a JSON array, got int");
        assert_eq!(msg("5.0"), "input: expected a JSON array, got float");
        assert_eq!(msg(r#""s""#), "input: expected a JSON array, got string");
        assert_eq!(
            msg("[0, 1, 2, 9223372036854775808]"),
            "input[3]: integer out of 64-bit range"
        );
        assert_eq!(
            msg("[0, 1, 2, [-99999999999999999999]]"),
            "input[3]: integer out of 64-bit range"
        );
        assert_eq!(msg("[0, 1, 2, 1e400]"), "input[3]: non-finite number");
        assert_eq!(msg("[0, 1, 2, -1e400]"), "input[3]: non-finite number");
        for lit in ["NaN", "Infinity", "-Infinity"] {
            assert_eq!(
                msg(&format!("[0, 1, 2, {lit}]")),
                "input[3]: non-finite number"
            );
        }
        assert_eq!(
            msg(r#"[0, 1, 2, "\ud800"]"#),
            "input[3]: string contains a lone surrogate"
        );
        assert_eq!(
            msg(r#"[0, 1, 2, "\udc00\ud800"]"#),
            "input[3]: string contains a lone surrogate"
        );
        assert_eq!(
            msg(r#"[0, 1, 2, "\ud800\u0041"]"#),
            "input[3]: string contains a lone surrogate"
        );
        assert_eq!(
            msg(r#"[0, 1, 2, {"\ud800": 1}]"#),
            "input[3]: string contains a lone surrogate"
        );
        // the first failing item wins
        assert_eq!(
            msg("[1e400, 1, 99999999999999999999]"),
            "input[0]: non-finite number"
        );
    }

    #[test]
    fn syntax_errors_win_over_item_errors() {
        assert_eq!(
            msg("[1e400, "),
            "input: invalid JSON at line 1 column 9: EOF while parsing a value"
        );
        assert_eq!(
            msg(""),
            "input: invalid JSON at line 1 column 1: EOF while parsing a value"
        );
        assert_eq!(
            msg("[1,\n 2 x]"),
            "input: invalid JSON at line 2 column 4: expected `,` or `]`"
        );
        assert_eq!(
            msg("[1] 2"),
            "input: invalid JSON at line 1 column 5: trailing characters"
        );
        assert_eq!(
            msg("[01]"),
            "input: invalid JSON at line 1 column 3: expected `,` or `]`"
        );
        assert_eq!(
            msg("[1.]"),
            "input: invalid JSON at line 1 column 4: invalid number"
        );
        assert_eq!(
            msg("[\"a\nb\"]").split(": ").last().unwrap(),
            "control character (\\u0000-\\u001F) found while parsing a string"
        );
        assert_eq!(
            msg("[nul]"),
            "input: invalid JSON at line 1 column 2: expected value"
        );
        assert_eq!(
            parse_input_bytes(b"[\"\xff\"]").unwrap_err().message,
            "input: invalid UTF-8 at byte 2"
        );
    }

    #[test]
    fn nesting_is_limited() {
        let deep = "[".repeat(MAX_DEPTH + 5) + &"]".repeat(MAX_DEPTH + 5);
        assert_eq!(
            msg(&format!("[0, {deep}]")),
            "input[1]: nesting deeper than 1000 levels"
        );
        let ok = "[".repeat(MAX_DEPTH) + &"]".repeat(MAX_DEPTH);
        assert!(parse_input(&format!("[{ok}]")).is_ok());
    }
}
