//! simd-json with reused buffers, and exact readers for the fields venues send.
//!
//! [`JsonScratch`] owns the input copy (simd-json parses in place), simd-json's `Buffers` and a
//! `Tape` whose node storage is recycled between frames, so a warm parser does not allocate.

use hedger_core::fixed::parse_decimal_written;
use simd_json::prelude::*;
use simd_json::tape::{Tape, Value};
use simd_json::Buffers;

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
        self.input.clear();
        self.input.extend_from_slice(frame);
        let mut tape = self.tape.take().unwrap_or_else(|| Tape(Vec::new())).reset();
        let result = match simd_json::fill_tape(&mut self.input, &mut self.buffers, &mut tape) {
            Ok(()) => walk(tape.as_value()),
            Err(e) => Err(WireError::Json(e.to_string())),
        };
        self.tape = Some(tape.reset());
        result
    }
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
}
