//! The item type that flows through a pipeline: a JSON value with Python-like number semantics
//! (`2` and `2.0` are different values).

use indexmap::IndexMap;
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

pub use crate::small_str::Str;

/// A JSON object: keys keep their first position, a repeated key keeps its last value (like a
/// Python `dict` built by `json.loads`).
pub type Object = IndexMap<String, Value>;

/// One item. Integers are signed 64-bit, floats are finite IEEE-754 doubles, strings hold Unicode
/// scalar values (held inline up to [`crate::small_str::INLINE_CAP`] bytes).
#[derive(Debug, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(Str),
    Array(Vec<Value>),
    /// Boxed to keep `Value` at 32 bytes.
    Object(Box<Object>),
}

impl Value {
    /// The type name used in error messages: `int`, `float`, `string`, `bool`, `null`, `array`, `object`.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float",
            Value::Str(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
        }
    }

    /// Type-exact equality (`Int(2) != Float(2.0)`); floats compare bit for bit, so `0.0 != -0.0`.
    pub fn exact_eq(&self, other: &Value) -> bool {
        match (self, other) {
            (Value::Float(a), Value::Float(b)) => a.to_bits() == b.to_bits(),
            (Value::Array(a), Value::Array(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.exact_eq(y))
            }
            (Value::Object(a), Value::Object(b)) => {
                a.len() == b.len()
                    && a.iter()
                        .zip(b.iter())
                        .all(|((ka, va), (kb, vb))| ka == kb && va.exact_eq(vb))
            }
            _ => self == other,
        }
    }

    /// The bytes this value holds as a Rust value: `size_of::<Value>()` (32) for itself, plus the
    /// bytes of its string when they are on the heap (a string of up to 23 bytes is inside the 32); for an array its elements' footprints; for an object, per entry, the
    /// key (`size_of::<String>()` plus its bytes) and the value's footprint. Capacity slack and the
    /// allocator's and the index map's bookkeeping are not counted.
    pub fn footprint(&self) -> usize {
        std::mem::size_of::<Value>()
            + match self {
                Value::Null | Value::Bool(_) | Value::Int(_) | Value::Float(_) => 0,
                Value::Str(s) if s.is_inline() => 0,
                Value::Str(s) => s.len(),
                Value::Array(items) => items.iter().map(Value::footprint).sum(),
                Value::Object(map) => map
                    .iter()
                    .map(|(k, v)| std::mem::size_of::<String>() + k.len() + v.footprint())
                    .sum(),
            }
    }

    /// Serializes to JSON text the way serde_json does (`2.0` stays `2.0`).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a Value always serializes")
    }
}

impl Clone for Value {
    /// Scalars and inline strings are copied inline (the common case in chunk copies); containers
    /// and heap strings take the out-of-line path, so that the recursive clone does not stop the fast path from inlining.
    #[inline]
    fn clone(&self) -> Self {
        match self {
            // SAFETY: these variants own no heap data, so a bitwise copy is an independent, valid
            // value (a plain 32-byte copy: a field-wise copy compiled to partial-width stack moves
            // that stalled store forwarding, ~3x slower).
            Value::Null | Value::Bool(_) | Value::Int(_) | Value::Float(_) => unsafe {
                std::ptr::read(self)
            },
            // SAFETY: an inline string owns no heap data either.
            Value::Str(s) if s.is_inline() => unsafe { std::ptr::read(self) },
            _ => self.clone_heap(),
        }
    }
}

impl Value {
    #[inline(never)]
    fn clone_heap(&self) -> Value {
        match self {
            Value::Str(s) => Value::Str(s.clone()),
            Value::Array(a) => Value::Array(a.clone()),
            Value::Object(o) => Value::Object(o.clone()),
            scalar => scalar.clone(),
        }
    }
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}

impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Value::Float(v)
    }
}

impl From<&str> for Value {
    #[inline]
    fn from(v: &str) -> Self {
        Value::Str(Str::from(v))
    }
}

impl From<String> for Value {
    #[inline]
    fn from(v: String) -> Self {
        Value::Str(Str::from(v))
    }
}

impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Bool(v)
    }
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Null => s.serialize_unit(),
            Value::Bool(b) => s.serialize_bool(*b),
            Value::Int(i) => s.serialize_i64(*i),
            Value::Float(f) => s.serialize_f64(*f),
            Value::Str(t) => s.serialize_str(t),
            Value::Array(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Value::Object(map) => {
                let mut m = s.serialize_map(Some(map.len()))?;
                for (k, v) in map.iter() {
                    m.serialize_entry(k, v)?;
                }
                m.end()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_is_32_bytes() {
        assert_eq!(std::mem::size_of::<Value>(), 32);
    }

    #[test]
    fn footprint_counts_values_and_their_bytes() {
        assert_eq!(Value::Int(7).footprint(), 32);
        assert_eq!(Value::from("héllo").footprint(), 32);
        let long = "a string of more than twenty-three bytes";
        assert_eq!(Value::from(long).footprint(), 32 + long.len());
        let array = Value::Array(vec![Value::Null, Value::from("ab"), Value::from(long)]);
        assert_eq!(array.footprint(), 32 + 32 + 32 + (32 + long.len()));
        let mut map = Object::new();
        map.insert("key".to_owned(), Value::Bool(true));
        assert_eq!(Value::Object(Box::new(map)).footprint(), 32 + (24 + 3) + 32);
    }

    #[test]
    fn type_names() {
        let names: Vec<_> = [
            Value::Null,
            Value::Bool(true),
            Value::Int(1),
            Value::Float(1.0),
            Value::Str("x".into()),
            Value::Array(vec![]),
            Value::Object(Box::default()),
        ]
        .iter()
        .map(Value::type_name)
        .collect();
        assert_eq!(
            names,
            ["null", "bool", "int", "float", "string", "array", "object"]
        );
    }

    #[test]
    fn exact_eq_distinguishes_int_and_float() {
        assert!(!Value::Int(2).exact_eq(&Value::Float(2.0)));
        assert!(Value::Float(2.0).exact_eq(&Value::Float(2.0)));
        assert!(!Value::Float(0.0).exact_eq(&Value::Float(-0.0)));
    }

    #[test]
    fn serializes_like_serde_json() {
        let v = Value::Array(vec![
            Value::Int(2),
            Value::Float(2.0),
            Value::Float(0.1),
            Value::Float(1e20),
            Value::Str("é\"".into()),
            Value::Null,
            Value::Bool(false),
        ]);
        assert_eq!(v.to_json(), r#"[2,2.0,0.1,1e+20,"é\"",null,false]"#);
    }
}
