//! simd-json with reused buffers, and exact readers for the fields venues send.
//!
//! [`JsonScratch`] owns the input copy (simd-json parses in place), simd-json's `Buffers` and a
//! `Tape` whose node storage is recycled between frames, so a warm parser does not allocate.
//!
//! Two ways to read the tape: simd-json's `Value` API ([`JsonScratch::parse`]), and [`Tv`]
//! ([`JsonScratch::parse_tape`]), a direct walk of the tape's `Node`s used on the hot message
//! types. `Value::get` rescans the object from its first key on every call and `get_idx` walks
//! the array from its start, so reading every field of a depth update that way costs several
//! times the nodes; a [`Tv`] walk visits each node once. [`Tv`] can also hand back the raw text
//! of a JSON number ([`Tv::number_text`]) so that venues sending numbers (Deribit) are parsed
//! exactly from the bytes the venue wrote instead of through `f64`.

use std::cell::Cell;

use hedger_core::fixed::parse_decimal_written;
use simd_json::prelude::*;
use simd_json::tape::{Node, Tape, Value};
use simd_json::{Buffers, StaticNode};

use super::{WireError, WireLevel, WIRE_SCALE};

/// Reusable parse state for one gateway.
pub struct JsonScratch {
    input: Vec<u8>,
    buffers: Buffers,
    tape: Option<Tape<'static>>,
}

impl Default for JsonScratch {
    fn default() -> Self {
        JsonScratch::new(64 * 1024)
    }
}

impl JsonScratch {
    /// Sizes the buffers for frames up to `frame_bytes` (larger frames still parse, growing once).
    pub fn new(frame_bytes: usize) -> JsonScratch {
        JsonScratch {
            input: Vec::with_capacity(frame_bytes + 64),
            buffers: Buffers::new(frame_bytes),
            tape: Some(Tape(Vec::with_capacity(frame_bytes / 4))),
        }
    }

    /// Parses `frame` and hands the root value to `walk`.
    ///
    /// # Errors
    /// [`WireError::Json`] for invalid JSON, or whatever `walk` returns.
    pub fn parse<R>(
        &mut self,
        frame: &[u8],
        walk: impl FnOnce(Value<'_, '_>) -> Result<R, WireError>,
    ) -> Result<R, WireError> {
        self.fill_and(frame, |tape| walk(tape.as_value()))
    }

    /// Parses `frame` and hands the root of a direct tape walk to `walk` (see [`Tv`]).
    ///
    /// # Errors
    /// [`WireError::Json`] for invalid JSON, or whatever `walk` returns.
    pub fn parse_tape<R>(
        &mut self,
        frame: &[u8],
        walk: impl FnOnce(Tv<'_, '_>) -> Result<R, WireError>,
    ) -> Result<R, WireError> {
        self.fill_and(frame, |tape| {
            let numbers = NumberCursor::default();
            walk(Tv { tape: &tape.0, at: 0, raw: frame, numbers: &numbers })
        })
    }

    /// Copies `frame` into the padded input (simd-json then reads it in place, with no second
    /// padded copy of its own) and fills the recycled tape.
    fn fill_and<R>(
        &mut self,
        frame: &[u8],
        walk: impl FnOnce(&Tape<'_>) -> Result<R, WireError>,
    ) -> Result<R, WireError> {
        self.input.clear();
        self.input.extend_from_slice(frame);
        self.input.resize(frame.len() + simd_json::INPUT_PADDING, b' ');
        let mut tape = self.tape.take().unwrap_or_else(|| Tape(Vec::new())).reset();
        let result = match simd_json::fill_tape_padded(
            &mut self.input,
            frame.len(),
            &mut self.buffers,
            &mut tape,
        ) {
            Ok(()) if tape.0.is_empty() => Err(WireError::Json("empty document".into())),
            Ok(()) => walk(&tape),
            Err(e) => Err(WireError::Json(e.to_string())),
        };
        self.tape = Some(tape.reset());
        result
    }
}

/// Where the last [`Tv::number_text`] lookup ended, so that lookups in document order cost one
/// pass over the tape and the raw bytes in all.
#[derive(Default)]
struct NumberCursor {
    /// Tape index up to which numbers were counted, and how many number nodes lie before it.
    node_at: Cell<usize>,
    node_ordinal: Cell<usize>,
    /// Raw byte offset just after the last number token found, and that token's ordinal + 1.
    raw_at: Cell<usize>,
    raw_ordinal: Cell<usize>,
}

/// One value on a simd-json tape: `tape[at]` is its header node.
///
/// Objects and arrays carry their node count, so stepping over a value is one addition.
#[derive(Clone, Copy)]
pub struct Tv<'t, 'i> {
    tape: &'t [Node<'i>],
    at: usize,
    raw: &'t [u8],
    numbers: &'t NumberCursor,
}

impl<'t, 'i> Tv<'t, 'i> {
    fn node(&self) -> Node<'i> {
        self.tape.get(self.at).copied().unwrap_or(Node::Static(StaticNode::Null))
    }

    /// Tape index just past this value.
    fn end(&self) -> usize {
        match self.node() {
            Node::Object { count, .. } | Node::Array { count, .. } => self.at + count + 1,
            _ => self.at + 1,
        }
    }

    fn at(&self, at: usize) -> Tv<'t, 'i> {
        Tv { at, ..*self }
    }

    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&'i str> {
        match self.node() {
            Node::String(s) => Some(s),
            _ => None,
        }
    }

    /// An integer that fits `u64`.
    pub fn as_u64(&self) -> Option<u64> {
        match self.node() {
            Node::Static(n) => n.as_u64(),
            _ => None,
        }
    }

    /// An integer that fits `i64`.
    pub fn as_i64(&self) -> Option<i64> {
        match self.node() {
            Node::Static(n) => n.as_i64(),
            _ => None,
        }
    }

    /// A boolean.
    pub fn as_bool(&self) -> Option<bool> {
        match self.node() {
            Node::Static(StaticNode::Bool(b)) => Some(b),
            _ => None,
        }
    }

    /// A number as `f64` (simd-json's reading; not for exact values, see [`Tv::number_text`]).
    pub fn as_f64(&self) -> Option<f64> {
        match self.node() {
            Node::Static(n) => n.cast_f64(),
            _ => None,
        }
    }

    /// JSON `null`.
    pub fn is_null(&self) -> bool {
        matches!(self.node(), Node::Static(StaticNode::Null))
    }

    /// A JSON number (integer or float).
    pub fn is_number(&self) -> bool {
        matches!(
            self.node(),
            Node::Static(StaticNode::I64(_) | StaticNode::U64(_) | StaticNode::F64(_))
        )
    }

    /// The number of elements, if this is an array.
    pub fn array_len(&self) -> Option<usize> {
        match self.node() {
            Node::Array { len, .. } => Some(len),
            _ => None,
        }
    }

    /// The elements, if this is an array.
    pub fn elements(&self) -> Option<Elements<'t, 'i>> {
        let len = self.array_len()?;
        Some(Elements { next: self.at(self.at + 1), left: len })
    }

    /// The `(key, value)` pairs in document order, if this is an object.
    pub fn fields(&self) -> Option<Fields<'t, 'i>> {
        match self.node() {
            Node::Object { len, .. } => Some(Fields { next: self.at(self.at + 1), left: len }),
            _ => None,
        }
    }

    /// The value of the first `key` (a linear scan: for reading several fields, iterate
    /// [`Tv::fields`] once instead).
    pub fn get(&self, key: &str) -> Option<Tv<'t, 'i>> {
        self.fields()?.find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    /// The element at `index` of an array.
    pub fn get_idx(&self, index: usize) -> Option<Tv<'t, 'i>> {
        self.elements()?.nth(index)
    }

    /// The bytes the sender wrote for this JSON number, located in the raw frame.
    ///
    /// The tape and the text hold the same numbers in the same (document) order, and no digit
    /// outside a string belongs to anything but a number, so the n-th number node is the n-th
    /// number token of the text. Lookups in document order resume where the last one stopped.
    pub fn number_text(&self) -> Option<&'t [u8]> {
        if !self.is_number() {
            return None;
        }
        let ordinal = self.number_ordinal();
        let c = self.numbers;
        if c.raw_ordinal.get() > ordinal {
            c.raw_at.set(0);
            c.raw_ordinal.set(0);
        }
        let mut at = c.raw_at.get();
        loop {
            let (start, end) = next_number_token(self.raw, at)?;
            at = end;
            c.raw_at.set(end);
            c.raw_ordinal.set(c.raw_ordinal.get() + 1);
            if c.raw_ordinal.get() == ordinal + 1 {
                return self.raw.get(start..end);
            }
        }
    }

    /// How many number nodes precede this one on the tape.
    fn number_ordinal(&self) -> usize {
        let c = self.numbers;
        if c.node_at.get() > self.at {
            c.node_at.set(0);
            c.node_ordinal.set(0);
        }
        let from = c.node_at.get();
        let counted = self.tape[from..self.at]
            .iter()
            .filter(|n| {
                matches!(
                    n,
                    Node::Static(StaticNode::I64(_) | StaticNode::U64(_) | StaticNode::F64(_))
                )
            })
            .count();
        c.node_at.set(self.at);
        c.node_ordinal.set(c.node_ordinal.get() + counted);
        c.node_ordinal.get()
    }
}

/// The next number token at or after `from` in valid JSON text: skips strings (with escapes)
/// and returns the token's byte range.
fn next_number_token(raw: &[u8], mut at: usize) -> Option<(usize, usize)> {
    while let Some(&b) = raw.get(at) {
        match b {
            b'"' => {
                at += 1;
                loop {
                    match raw.get(at)? {
                        b'\\' => at += 2,
                        b'"' => break,
                        _ => at += 1,
                    }
                }
                at += 1;
            }
            b'-' | b'0'..=b'9' => {
                let start = at;
                while matches!(raw.get(at), Some(b'0'..=b'9' | b'.' | b'e' | b'E' | b'+' | b'-')) {
                    at += 1;
                }
                return Some((start, at));
            }
            _ => at += 1,
        }
    }
    None
}

/// Iterator over an array's elements.
pub struct Elements<'t, 'i> {
    next: Tv<'t, 'i>,
    left: usize,
}

impl<'t, 'i> Iterator for Elements<'t, 'i> {
    type Item = Tv<'t, 'i>;

    fn next(&mut self) -> Option<Tv<'t, 'i>> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let item = self.next;
        self.next = item.at(item.end());
        Some(item)
    }
}

/// Iterator over an object's `(key, value)` pairs.
pub struct Fields<'t, 'i> {
    next: Tv<'t, 'i>,
    left: usize,
}

impl<'t, 'i> Iterator for Fields<'t, 'i> {
    type Item = (&'i str, Tv<'t, 'i>);

    fn next(&mut self) -> Option<(&'i str, Tv<'t, 'i>)> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let key = self.next.as_str()?;
        let value = self.next.at(self.next.at + 1);
        self.next = value.at(value.end());
        Some((key, value))
    }
}

/// A required unsigned integer, as a JSON number or a decimal string.
pub fn tv_u64(v: Option<Tv<'_, '_>>, field: &'static str) -> Result<u64, WireError> {
    let v = v.ok_or(WireError::Field { field })?;
    v.as_u64()
        .or_else(|| v.as_str().and_then(|s| s.parse::<u64>().ok()))
        .ok_or(WireError::Field { field })
}

/// A required signed integer, as a JSON number or a decimal string.
pub fn tv_i64(v: Option<Tv<'_, '_>>, field: &'static str) -> Result<i64, WireError> {
    let v = v.ok_or(WireError::Field { field })?;
    v.as_i64()
        .or_else(|| v.as_str().and_then(|s| s.parse::<i64>().ok()))
        .ok_or(WireError::Field { field })
}

/// A required string.
pub fn tv_str<'i>(v: Option<Tv<'_, 'i>>, field: &'static str) -> Result<&'i str, WireError> {
    v.and_then(|v| v.as_str()).ok_or(WireError::Field { field })
}

/// Reads `[["price","qty",…], …]` into `out` (extra values per level are ignored), refusing
/// more than `max` levels.
///
/// Walks the tape nodes directly: a level is an array header followed by its first two
/// elements, and its node count says where the next level starts, so each level costs one
/// slice pattern and two decimal parses.
pub fn tv_string_levels(
    v: Option<Tv<'_, '_>>,
    field: &'static str,
    out: &mut Vec<WireLevel>,
    max: usize,
) -> Result<(), WireError> {
    let v = v.ok_or(WireError::Field { field })?;
    let Node::Array { len, .. } = v.node() else { return Err(WireError::Field { field }) };
    if len > max {
        return Err(WireError::TooMany { what: "levels", max });
    }
    out.reserve(len);
    let mut at = v.at + 1;
    for _ in 0..len {
        let Some([Node::Array { len: parts, count }, Node::String(price), Node::String(qty)]) =
            v.tape.get(at..at + 3)
        else {
            return Err(WireError::Field { field });
        };
        if *parts < 2 {
            return Err(WireError::Field { field });
        }
        let (price, price_decimals) = decimal_str(price, field)?;
        let (qty, qty_decimals) = decimal_str(qty, field)?;
        out.push(WireLevel { price, qty, price_decimals, qty_decimals });
        at += count + 1;
    }
    Ok(())
}

/// A required string field.
pub fn str_field<'i>(v: &Value<'_, 'i>, field: &'static str) -> Result<&'i str, WireError> {
    v.get(field).and_then(|f| f.into_string()).ok_or(WireError::Field { field })
}

/// A required unsigned integer field, as a JSON number or a decimal string.
pub fn u64_field(v: &Value<'_, '_>, field: &'static str) -> Result<u64, WireError> {
    let f = v.get(field).ok_or(WireError::Field { field })?;
    if let Some(n) = f.as_u64() {
        return Ok(n);
    }
    f.as_str().and_then(|s| s.parse::<u64>().ok()).ok_or(WireError::Field { field })
}

/// A required signed integer field, as a JSON number or a decimal string.
pub fn i64_field(v: &Value<'_, '_>, field: &'static str) -> Result<i64, WireError> {
    let f = v.get(field).ok_or(WireError::Field { field })?;
    if let Some(n) = f.as_i64() {
        return Ok(n);
    }
    f.as_str().and_then(|s| s.parse::<i64>().ok()).ok_or(WireError::Field { field })
}

/// A decimal-string field at [`WIRE_SCALE`] with its written decimals.
#[inline]
pub fn decimal_str(text: &str, field: &'static str) -> Result<(i64, u8), WireError> {
    parse_decimal_written(text.as_bytes(), WIRE_SCALE)
        .map_err(|source| WireError::Number { field, source })
}

/// An optional decimal-string field; `Ok(None)` when absent or empty.
pub fn opt_decimal_field(v: &Value<'_, '_>, field: &'static str) -> Result<Option<i64>, WireError> {
    match v.get(field).and_then(|f| f.into_string()) {
        None | Some("") => Ok(None),
        Some(text) => decimal_str(text, field).map(|(value, _)| Some(value)),
    }
}

/// Reads `[["price","qty"], …]` into `out`, refusing more than `max` levels.
pub fn string_levels(
    v: Option<Value<'_, '_>>,
    field: &'static str,
    out: &mut Vec<WireLevel>,
    max: usize,
) -> Result<(), WireError> {
    let array = v.and_then(|a| a.as_array()).ok_or(WireError::Field { field })?;
    if array.len() > max {
        return Err(WireError::TooMany { what: "levels", max });
    }
    for level in array.iter() {
        let price =
            level.get_idx(0).and_then(|p| p.into_string()).ok_or(WireError::Field { field })?;
        let qty =
            level.get_idx(1).and_then(|q| q.into_string()).ok_or(WireError::Field { field })?;
        let (price, price_decimals) = decimal_str(price, field)?;
        let (qty, qty_decimals) = decimal_str(qty, field)?;
        out.push(WireLevel { price, qty, price_decimals, qty_decimals });
    }
    Ok(())
}

/// A required string field of an object.
pub fn str_at<'i>(v: &Tv<'_, 'i>, field: &'static str) -> Result<&'i str, WireError> {
    tv_str(v.get(field), field)
}

/// A required unsigned integer field of an object, as a JSON number or a decimal string.
pub fn u64_at(v: &Tv<'_, '_>, field: &'static str) -> Result<u64, WireError> {
    tv_u64(v.get(field), field)
}

/// A required signed integer field of an object, as a JSON number or a decimal string.
pub fn i64_at(v: &Tv<'_, '_>, field: &'static str) -> Result<i64, WireError> {
    tv_i64(v.get(field), field)
}

/// An optional decimal-string field; `Ok(None)` when absent, not a string, or empty.
pub fn opt_decimal_at(v: &Tv<'_, '_>, field: &'static str) -> Result<Option<i64>, WireError> {
    match v.get(field).and_then(|f| f.as_str()) {
        None | Some("") => Ok(None),
        Some(text) => decimal_str(text, field).map(|(value, _)| Some(value)),
    }
}

/// Whether the value is a JSON string (used to tell shapes apart).
pub fn is_string(v: &Value<'_, '_>) -> bool {
    v.value_type() == simd_json::ValueType::String
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reuses_its_tape_and_reads_exact_levels() {
        let mut scratch = JsonScratch::new(1024);
        for round in 0..3 {
            let frame = format!(r#"{{"u":{round},"b":[["0.0024","10"],["0.0023","0.500"]]}}"#);
            let mut levels = Vec::new();
            let u = scratch
                .parse(frame.as_bytes(), |v| {
                    string_levels(v.get("b"), "b", &mut levels, 10)?;
                    u64_field(&v, "u")
                })
                .unwrap();
            assert_eq!(u, round);
            assert_eq!(
                levels[0],
                WireLevel {
                    price: 240_000,
                    qty: 1_000_000_000,
                    price_decimals: 4,
                    qty_decimals: 0
                }
            );
            assert_eq!(levels[1].qty_decimals, 3);
        }
        assert!(matches!(scratch.parse(b"{\"u\":", |_| Ok(())), Err(WireError::Json(_))));
        let err = scratch.parse(br#"{"b":[["1.123456789","1"]]}"#, |v| {
            let mut levels = Vec::new();
            string_levels(v.get("b"), "b", &mut levels, 10)
        });
        assert!(matches!(err, Err(WireError::Number { field: "b", .. })));
        let err = scratch.parse(br#"{"b":[["1","1"],["2","2"]]}"#, |v| {
            let mut levels = Vec::new();
            string_levels(v.get("b"), "b", &mut levels, 1)
        });
        assert_eq!(err, Err(WireError::TooMany { what: "levels", max: 1 }));
    }

    /// Level decimals are exact, also for escaped strings and shapes off the fast path, and a
    /// malformed level is a typed error.
    #[test]
    fn level_decimals_exact_on_and_off_the_fast_path() {
        let mut scratch = JsonScratch::new(1024);
        let frame = br#"{"b":[["3492.25","7.450"],["\u0033491.5","0\u002e5"],["12345678.1234567","0.000",9],["-0.5","1.5e1"]]}"#;
        let mut levels = Vec::new();
        scratch.parse_tape(frame, |v| tv_string_levels(v.get("b"), "b", &mut levels, 10)).unwrap();
        let read: Vec<(i64, u8, i64, u8)> =
            levels.iter().map(|l| (l.price, l.price_decimals, l.qty, l.qty_decimals)).collect();
        assert_eq!(
            read,
            vec![
                (349_225_000_000, 2, 745_000_000, 3),
                (349_150_000_000, 1, 50_000_000, 1),
                (1_234_567_812_345_670, 7, 0, 3),
                (-50_000_000, 1, 1_500_000_000, 1),
            ]
        );
        let err = scratch.parse_tape(br#"{"b":[["1.2.3","1"],["1","2"]]}"#, |v| {
            tv_string_levels(v.get("b"), "b", &mut levels, 10)
        });
        assert!(matches!(err, Err(WireError::Number { field: "b", .. })));
        let err = scratch.parse_tape(br#"{"b":[["1"],["1","2"]]}"#, |v| {
            tv_string_levels(v.get("b"), "b", &mut levels, 10)
        });
        assert_eq!(err, Err(WireError::Field { field: "b" }));
    }

    /// The tape walk reads the same fields as the `Value` API, and `number_text` finds the bytes
    /// the sender wrote even past strings holding digits, minus signs and escaped quotes, and
    /// when asked out of document order.
    #[test]
    fn tape_walk_and_raw_number_text() {
        let mut scratch = JsonScratch::new(1024);
        let frame =
            br#"{"k\"1-2":"x 3.5 \" 4","n":[1.50,-2e3,{"s":"7","z":0},3],"m":0.1000,"t":true}"#;
        scratch
            .parse_tape(frame, |v| {
                let n = v.get("n").expect("n");
                assert_eq!(n.array_len(), Some(4));
                let m = v.get("m").expect("m");
                assert_eq!(m.number_text(), Some(&b"0.1000"[..]));
                let texts: Vec<Option<&[u8]>> =
                    n.elements().unwrap().map(|e| e.number_text()).collect();
                assert_eq!(
                    texts,
                    vec![Some(&b"1.50"[..]), Some(&b"-2e3"[..]), None, Some(&b"3"[..])]
                );
                let inner = n.get_idx(2).expect("object");
                assert_eq!(inner.get("z").and_then(|z| z.number_text()), Some(&b"0"[..]));
                assert_eq!(inner.get("s").and_then(|s| s.as_str()), Some("7"));
                assert_eq!(v.get("t").and_then(|t| t.as_bool()), Some(true));
                assert_eq!(v.get("k\"1-2").and_then(|k| k.as_str()), Some("x 3.5 \" 4"));
                assert!(v.get("absent").is_none());
                assert_eq!(m.number_text(), Some(&b"0.1000"[..]), "again, after later numbers");
                Ok(())
            })
            .unwrap();
        assert!(matches!(scratch.parse_tape(b"", |_| Ok(())), Err(WireError::Json(_))));
        assert!(matches!(scratch.parse_tape(b"[1,", |_| Ok(())), Err(WireError::Json(_))));
    }
}
