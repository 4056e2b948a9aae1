//! The manifest's JSON as a tree that borrows from the text: strings without escapes and number
//! literals are slices of it, objects are small vectors of entries (no hashing, no per-number
//! allocation).
//!
//! [`parse`] reads the common case itself and leaves everything else to serde_json: text that is not
//! JSON (so that its error messages stay serde_json's, byte for byte), and the rare constructs this
//! reader declines (surrogate escapes, nesting deeper than [`MAX_DEPTH`]). What serde_json accepts
//! is converted to the same tree, so that one validator sees one shape either way.

use std::borrow::Cow;

use serde_json::Value as SerdeJson;

/// Nesting this reader handles itself; deeper text goes to serde_json (whose limit is 128).
const MAX_DEPTH: usize = 100;

/// A JSON value. Numbers keep their literal text (as serde_json's `arbitrary_precision` does), so
/// that integers beyond 64 bits and floats are classified from what was written.
#[derive(Debug, Clone, PartialEq)]
pub enum Json<'a> {
    Null,
    Bool(bool),
    Number(Cow<'a, str>),
    String(Cow<'a, str>),
    Array(Vec<Json<'a>>),
    Object(Object<'a>),
}

/// A JSON object: keys in the order of their first appearance, a repeated key keeps its last value
/// (like serde_json's `preserve_order` map and Python's `json.loads`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Object<'a> {
    entries: Vec<(Cow<'a, str>, Json<'a>)>,
}

impl<'a> Object<'a> {
    fn insert(&mut self, key: Cow<'a, str>, value: Json<'a>) {
        match self.entries.iter_mut().find(|(k, _)| same_key(k, &key)) {
            Some(entry) => entry.1 = value,
            None => self.entries.push((key, value)),
        }
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&Json<'a>> {
        self.entries
            .iter()
            .find(|(k, _)| same_key(k, key))
            .map(|(_, v)| v)
    }

    pub fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// The keys in order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|(k, _)| k.as_ref())
    }
}

/// Key equality compared inline: keys are short, and a `memcmp` call per comparison was 7 % of
/// building a pipeline under perf.
#[inline]
fn same_key(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).all(|(x, y)| x == y)
}

impl<'a> std::ops::Index<&str> for Object<'a> {
    type Output = Json<'a>;

    /// The value of a key known to be present.
    fn index(&self, key: &str) -> &Json<'a> {
        self.get(key)
            .unwrap_or_else(|| panic!("key {key:?} checked to be present"))
    }
}

impl<'a> Json<'a> {
    pub fn as_object(&self) -> Option<&Object<'a>> {
        match self {
            Json::Object(o) => Some(o),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&[Json<'a>]> {
        match self {
            Json::Array(a) => Some(a),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Json::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn is_object(&self) -> bool {
        matches!(self, Json::Object(_))
    }

    pub fn is_array(&self) -> bool {
        matches!(self, Json::Array(_))
    }

    pub fn is_string(&self) -> bool {
        matches!(self, Json::String(_))
    }
}

/// Parses JSON text: this reader's tree, or serde_json's verdict (its error, or its tree converted)
/// when the reader declines.
pub fn parse(text: &str) -> Result<Json<'_>, serde_json::Error> {
    let mut reader = Reader {
        b: text.as_bytes(),
        text,
        pos: 0,
    };
    if let Some(json) = reader.document() {
        return Ok(json);
    }
    let value: SerdeJson = serde_json::from_str(text)?;
    Ok(from_serde(&value))
}

/// serde_json's tree as this module's (owned).
fn from_serde(v: &SerdeJson) -> Json<'static> {
    match v {
        SerdeJson::Null => Json::Null,
        SerdeJson::Bool(b) => Json::Bool(*b),
        SerdeJson::Number(n) => Json::Number(Cow::Owned(n.to_string())),
        SerdeJson::String(s) => Json::String(Cow::Owned(s.clone())),
        SerdeJson::Array(a) => Json::Array(a.iter().map(from_serde).collect()),
        SerdeJson::Object(m) => {
            let mut o = Object::default();
            for (k, v) in m {
                o.insert(Cow::Owned(k.clone()), from_serde(v));
            }
            Json::Object(o)
        }
    }
}

/// A reader of strict JSON that gives up (`None`) on anything it does not handle; it never accepts
/// text that serde_json rejects. `crate::manifest_reader` reads manifests with its pieces.
pub(crate) struct Reader<'a> {
    b: &'a [u8],
    text: &'a str,
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(text: &'a str) -> Reader<'a> {
        Reader {
            b: text.as_bytes(),
            text,
            pos: 0,
        }
    }

    fn document(&mut self) -> Option<Json<'a>> {
        let v = self.value(0)?;
        self.at_end().then_some(v)
    }

    /// Whether only whitespace is left.
    pub(crate) fn at_end(&mut self) -> bool {
        self.skip_ws();
        self.pos == self.b.len()
    }

    /// The next byte after whitespace (not consumed).
    #[inline]
    pub(crate) fn peek(&mut self) -> Option<u8> {
        self.skip_ws();
        self.b.get(self.pos).copied()
    }

    /// A string value (after whitespace), or `None` when the next value is not a string.
    #[inline]
    pub(crate) fn string_value(&mut self) -> Option<Cow<'a, str>> {
        if !self.eat(b'"') {
            return None;
        }
        self.string()
    }

    /// A number literal (after whitespace), or `None` when the next value is not a number.
    #[inline]
    pub(crate) fn number_value(&mut self) -> Option<Cow<'a, str>> {
        match self.peek()? {
            b'-' | b'0'..=b'9' => match self.number()? {
                Json::Number(n) => Some(n),
                _ => None,
            },
            _ => None,
        }
    }

    #[inline]
    fn skip_ws(&mut self) {
        match self.b.get(self.pos) {
            Some(b' ' | b'\t' | b'\n' | b'\r') => self.pos += 1,
            _ => return,
        }
        // A pretty-printed manifest puts a newline and an indentation before most tokens: eight
        // bytes at a time, each byte's high bit set when it is not whitespace (exactly: no borrow
        // crosses bytes here, unlike in `skip_plain`).
        const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
        const HIGH: u64 = 0x8080_8080_8080_8080;
        const ONES: u64 = 0x0101_0101_0101_0101;
        let nonzero = |x: u64| (((x & LOW7) + LOW7) | x) & HIGH;
        while let Some(chunk) = self.b.get(self.pos..self.pos + 8) {
            let w = u64::from_le_bytes(chunk.try_into().expect("8 bytes"));
            let other = nonzero(w ^ (ONES * u64::from(b' ')))
                & nonzero(w ^ (ONES * u64::from(b'\n')))
                & nonzero(w ^ (ONES * u64::from(b'\t')))
                & nonzero(w ^ (ONES * u64::from(b'\r')));
            if other != 0 {
                self.pos += (other.trailing_zeros() / 8) as usize;
                return;
            }
            self.pos += 8;
        }
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.b.get(self.pos) {
            self.pos += 1;
        }
    }

    /// Consumes `byte` after whitespace, if it is next.
    #[inline]
    pub(crate) fn eat(&mut self, byte: u8) -> bool {
        self.skip_ws();
        if self.b.get(self.pos) == Some(&byte) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// Any value at nesting `depth` (after whitespace), as a tree.
    pub(crate) fn value(&mut self, depth: usize) -> Option<Json<'a>> {
        self.skip_ws();
        match *self.b.get(self.pos)? {
            b'"' => {
                self.pos += 1;
                self.string().map(Json::String)
            }
            b'{' if depth < MAX_DEPTH => {
                self.pos += 1;
                self.object(depth + 1)
            }
            b'[' if depth < MAX_DEPTH => {
                self.pos += 1;
                self.array(depth + 1)
            }
            b'n' => self.literal("null", Json::Null),
            b't' => self.literal("true", Json::Bool(true)),
            b'f' => self.literal("false", Json::Bool(false)),
            b'-' | b'0'..=b'9' => self.number(),
            _ => None,
        }
    }

    fn literal(&mut self, word: &str, v: Json<'a>) -> Option<Json<'a>> {
        if self.b[self.pos..].starts_with(word.as_bytes()) {
            self.pos += word.len();
            Some(v)
        } else {
            None
        }
    }

    fn object(&mut self, depth: usize) -> Option<Json<'a>> {
        let mut o = Object::default();
        if self.eat(b'}') {
            return Some(Json::Object(o));
        }
        loop {
            if !self.eat(b'"') {
                return None;
            }
            let key = self.string()?;
            if !self.eat(b':') {
                return None;
            }
            let v = self.value(depth)?;
            o.insert(key, v);
            if self.eat(b',') {
                continue;
            }
            return self.eat(b'}').then_some(Json::Object(o));
        }
    }

    fn array(&mut self, depth: usize) -> Option<Json<'a>> {
        let mut a = Vec::new();
        if self.eat(b']') {
            return Some(Json::Array(a));
        }
        loop {
            a.push(self.value(depth)?);
            if self.eat(b',') {
                continue;
            }
            return self.eat(b']').then_some(Json::Array(a));
        }
    }

    /// Moves to the next byte that ends a run of plain string content: a quote, a backslash or a
    /// control character (or to the end of the text).
    #[inline]
    fn skip_plain(&mut self) {
        // Eight bytes at a time: each kind of byte sought is a zero byte of a transformed word. A
        // borrow can flag a byte wrongly only above a byte rightly flagged, so the lowest flag is
        // right. Byte by byte, this scan was a third of building a pipeline.
        const ONES: u64 = 0x0101_0101_0101_0101;
        const HIGH: u64 = 0x8080_8080_8080_8080;
        let zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGH;
        while let Some(chunk) = self.b.get(self.pos..self.pos + 8) {
            let w = u64::from_le_bytes(chunk.try_into().expect("8 bytes"));
            let quote = zero(w ^ (ONES * u64::from(b'"')));
            let backslash = zero(w ^ (ONES * u64::from(b'\\')));
            let control = w.wrapping_sub(ONES * 0x20) & !w & HIGH;
            let found = quote | backslash | control;
            if found != 0 {
                self.pos += (found.trailing_zeros() / 8) as usize;
                return;
            }
            self.pos += 8;
        }
        while self
            .b
            .get(self.pos)
            .is_some_and(|&b| b != b'"' && b != b'\\' && b >= 0x20)
        {
            self.pos += 1;
        }
    }

    /// After the opening quote: the string, borrowed when it has no escapes.
    pub(crate) fn string(&mut self) -> Option<Cow<'a, str>> {
        let start = self.pos;
        self.skip_plain();
        match *self.b.get(self.pos)? {
            b'"' => {
                let s = &self.text[start..self.pos];
                self.pos += 1;
                return Some(Cow::Borrowed(s));
            }
            b'\\' => {}
            // Raw control characters are an error for serde_json: its message, not ours.
            _ => return None,
        }
        let mut s = String::from(&self.text[start..self.pos]);
        loop {
            let run = self.pos;
            self.skip_plain();
            match *self.b.get(self.pos)? {
                b'"' | b'\\' => {}
                _ => return None,
            }
            s.push_str(&self.text[run..self.pos]);
            if self.b[self.pos] == b'"' {
                self.pos += 1;
                return Some(Cow::Owned(s));
            }
            self.pos += 1;
            let escaped = match *self.b.get(self.pos)? {
                b'"' => '"',
                b'\\' => '\\',
                b'/' => '/',
                b'b' => '\u{8}',
                b'f' => '\u{c}',
                b'n' => '\n',
                b'r' => '\r',
                b't' => '\t',
                b'u' => {
                    let hex = self.text.get(self.pos + 1..self.pos + 5)?;
                    if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                        return None;
                    }
                    self.pos += 4;
                    // Surrogates (pairs or lone) are left to serde_json.
                    char::from_u32(u32::from_str_radix(hex, 16).ok()?)?
                }
                _ => return None,
            };
            self.pos += 1;
            s.push(escaped);
        }
    }

    /// A number literal: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`, kept as text.
    fn number(&mut self) -> Option<Json<'a>> {
        let start = self.pos;
        if self.b[self.pos] == b'-' {
            self.pos += 1;
        }
        match *self.b.get(self.pos)? {
            b'0' => self.pos += 1,
            b'1'..=b'9' => self.digits(),
            _ => return None,
        }
        if self.b.get(self.pos) == Some(&b'.') {
            self.pos += 1;
            if !self.b.get(self.pos)?.is_ascii_digit() {
                return None;
            }
            self.digits();
        }
        if let Some(b'e' | b'E') = self.b.get(self.pos) {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.b.get(self.pos) {
                self.pos += 1;
            }
            if !self.b.get(self.pos)?.is_ascii_digit() {
                return None;
            }
            self.digits();
        }
        // A digit or letter straight after the literal ("01", "1x") is serde_json's error.
        if let Some(b) = self.b.get(self.pos) {
            if b.is_ascii_alphanumeric() || *b == b'.' {
                return None;
            }
        }
        Some(Json::Number(Cow::Borrowed(&self.text[start..self.pos])))
    }

    #[inline]
    fn digits(&mut self) {
        while self.b.get(self.pos).is_some_and(u8::is_ascii_digit) {
            self.pos += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reader's tree, or `None` when it declines.
    fn read(text: &str) -> Option<Json<'_>> {
        Reader {
            b: text.as_bytes(),
            text,
            pos: 0,
        }
        .document()
    }

    /// Number literals by what they denote: serde_json writes exponents its own way (`1.5e3` as
    /// `1.5e+3`), which reads as the same float.
    fn canonical(v: Json<'_>) -> Json<'static> {
        match v {
            Json::Number(t) if t.contains(['.', 'e', 'E']) => {
                Json::Number(Cow::Owned(format!("{:?}", t.parse::<f64>().unwrap())))
            }
            Json::Number(t) => Json::Number(Cow::Owned(t.into_owned())),
            Json::String(s) => Json::String(Cow::Owned(s.into_owned())),
            Json::Array(a) => Json::Array(a.into_iter().map(canonical).collect()),
            Json::Object(o) => Json::Object(Object {
                entries: o
                    .entries
                    .into_iter()
                    .map(|(k, v)| (Cow::Owned(k.into_owned()), canonical(v)))
                    .collect(),
            }),
            Json::Null => Json::Null,
            Json::Bool(b) => Json::Bool(b),
        }
    }

    /// Whatever the reader accepts, serde_json accepts with the same tree.
    fn agrees(text: &str) {
        if let Some(mine) = read(text) {
            let theirs: SerdeJson = serde_json::from_str(text)
                .unwrap_or_else(|e| panic!("reader accepted {text:?}, serde_json did not: {e}"));
            assert_eq!(canonical(mine), canonical(from_serde(&theirs)), "{text:?}");
        }
    }

    #[test]
    fn reads_manifests_like_serde_json() {
        for text in [
            r#"{"version": "v1", "metadata": {"name": "x", "description": "d"}, "nodes": []}"#,
            r#"{"a": 1, "b": -0, "c": 1.5e3, "d": 2E-2, "e": 123456789012345678901234567890}"#,
            r#"{"a": 1, "a": 2, "b": [true, false, null, {}, []]}"#,
            r#"{"esc": "a\"b\\c\/d\b\f\n\r\t\u00e9\u4e2d", "plain": "héllo"}"#,
            " [ 1 , 2 ] \n",
            "0",
            "\"\"",
        ] {
            assert!(read(text).is_some(), "declined {text:?}");
            agrees(text);
        }
    }

    #[test]
    fn declines_what_it_does_not_handle_or_serde_rejects() {
        for text in [
            "",
            "01",
            "1.",
            ".5",
            "1e",
            "-",
            "+1",
            "1x",
            "[1,]",
            "{\"a\":1,}",
            "{\"a\" 1}",
            "{a: 1}",
            "nul",
            "[1] x",
            "\"a\u{1}b\"",
            "\"\\ud83d\\ude00\"",
            "\"\\ud800\"",
            "\"\\x\"",
            "\"\\u12\"",
            "NaN",
            "Infinity",
            "\"unterminated",
        ] {
            assert!(read(text).is_none(), "accepted {text:?}");
        }
    }

    /// Random edits of a manifest (a fixed-seed xorshift): the reader never accepts what serde_json
    /// rejects, and what it accepts reads the same.
    #[test]
    fn agrees_with_serde_json_on_mutated_manifests() {
        let seed_text = r#"{"version": "v1", "metadata": {"name": "m\u00e9", "description": "a \"b\""},
  "nodes": [{"id": "s", "node_type": "DataSourceNode", "params": {}},
            {"id": "c", "node_type": "CalculatorNode", "params": {"operation": "divide", "operand": -2.5e-3}},
            {"id": "k", "node_type": "DataSinkNode", "host": "h:1", "capabilities": {"x": [1, true, null]}}],
  "connections": [{"from": "s", "to": "c"}, {"from": "c", "to": "k"}]}"#;
        let alphabet = b"{}[]:,\" \\/-+.0123456789eEtrufalsn\tu\n\x01";
        let mut next = crate::test_support::below(0x2545_f491_4f6c_dd1du64);
        let mut accepted = 0;
        for _ in 0..5000 {
            let mut bytes = seed_text.as_bytes().to_vec();
            for _ in 0..1 + next(3) {
                let at = next(bytes.len());
                match next(3) {
                    0 => {
                        bytes.remove(at);
                    }
                    1 => bytes.insert(at, alphabet[next(alphabet.len())]),
                    _ => bytes[at] = alphabet[next(alphabet.len())],
                }
            }
            let Ok(text) = String::from_utf8(bytes) else {
                continue;
            };
            accepted += usize::from(read(&text).is_some());
            agrees(&text);
        }
        // Both sides of the property were exercised.
        assert!(accepted > 100 && accepted < 4900, "{accepted}");
    }

    #[test]
    fn repeated_keys_keep_their_first_place_and_last_value() {
        let json = read(r#"{"a": 1, "b": 2, "a": 3}"#).unwrap();
        let o = json.as_object().unwrap();
        assert_eq!(o.keys().collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(o["a"], Json::Number(Cow::Borrowed("3")));
    }

    #[test]
    fn deep_nesting_goes_to_serde_json() {
        let deep = format!("{}{}", "[".repeat(110), "]".repeat(110));
        assert!(read(&deep).is_none());
        assert!(parse(&deep).is_ok());
        let too_deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        assert!(parse(&too_deep).is_err());
    }

    #[test]
    fn surrogate_pairs_come_from_serde_json() {
        let json = parse(r#"{"s": "\ud83d\ude00"}"#).unwrap();
        assert_eq!(json.as_object().unwrap()["s"].as_str(), Some("😀"));
    }
}
