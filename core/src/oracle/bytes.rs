//! Bounds-checked big-endian readers for untrusted oracle bytes.
//!
//! Every oracle wire format here is length-prefixed or length-suffixed and arrives from the
//! network, so every read goes through `Reader` (front to back, Pyth/Wormhole) or
//! `BackReader` (back to front, RedStone). A short input yields [`Truncated`] naming the field
//! that did not fit; nothing here panics or allocates.

/// The input ended before a field could be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "truncated input: field `{field}` at offset {offset_bytes} needs {needed_bytes} bytes, \
     {available_bytes} available"
)]
pub struct Truncated {
    /// Wire name of the field being read.
    pub field: &'static str,
    /// Offset of the field from the start of the reader's input.
    pub offset_bytes: usize,
    /// Bytes the field needs.
    pub needed_bytes: usize,
    /// Bytes that were left.
    pub available_bytes: usize,
}

/// Reads fields from the front of a byte slice.
#[derive(Debug, Clone)]
pub(crate) struct Reader<'a> {
    bytes: &'a [u8],
    offset_bytes: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Self { bytes, offset_bytes: 0 }
    }

    /// Bytes not yet consumed.
    pub(crate) fn remaining(&self) -> &'a [u8] {
        self.bytes.get(self.offset_bytes..).unwrap_or(&[])
    }

    pub(crate) fn take(
        &mut self,
        len_bytes: usize,
        field: &'static str,
    ) -> Result<&'a [u8], Truncated> {
        let rest = self.remaining();
        let Some(taken) = rest.get(..len_bytes) else {
            return Err(Truncated {
                field,
                offset_bytes: self.offset_bytes,
                needed_bytes: len_bytes,
                available_bytes: rest.len(),
            });
        };
        self.offset_bytes += len_bytes;
        Ok(taken)
    }

    pub(crate) fn array<const N: usize>(
        &mut self,
        field: &'static str,
    ) -> Result<[u8; N], Truncated> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N, field)?);
        Ok(out)
    }

    pub(crate) fn u8(&mut self, field: &'static str) -> Result<u8, Truncated> {
        Ok(self.array::<1>(field)?[0])
    }

    pub(crate) fn u16(&mut self, field: &'static str) -> Result<u16, Truncated> {
        Ok(u16::from_be_bytes(self.array(field)?))
    }

    pub(crate) fn u32(&mut self, field: &'static str) -> Result<u32, Truncated> {
        Ok(u32::from_be_bytes(self.array(field)?))
    }

    pub(crate) fn u64(&mut self, field: &'static str) -> Result<u64, Truncated> {
        Ok(u64::from_be_bytes(self.array(field)?))
    }

    pub(crate) fn i32(&mut self, field: &'static str) -> Result<i32, Truncated> {
        Ok(i32::from_be_bytes(self.array(field)?))
    }

    pub(crate) fn i64(&mut self, field: &'static str) -> Result<i64, Truncated> {
        Ok(i64::from_be_bytes(self.array(field)?))
    }

    pub(crate) fn u128(&mut self, field: &'static str) -> Result<u128, Truncated> {
        Ok(u128::from_be_bytes(self.array(field)?))
    }

    pub(crate) fn i128(&mut self, field: &'static str) -> Result<i128, Truncated> {
        Ok(i128::from_be_bytes(self.array(field)?))
    }
}

/// Reads fields from the back of a byte slice (RedStone payloads are parsed from their end).
#[derive(Debug, Clone)]
pub(crate) struct BackReader<'a> {
    bytes: &'a [u8],
}

impl<'a> BackReader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Self { bytes }
    }

    /// Bytes not yet consumed (the front part).
    pub(crate) fn remaining(&self) -> &'a [u8] {
        self.bytes
    }

    /// Takes the last `len_bytes` bytes; `offset_bytes` in the error is where the field would start.
    pub(crate) fn take_back(
        &mut self,
        len_bytes: usize,
        field: &'static str,
    ) -> Result<&'a [u8], Truncated> {
        let available_bytes = self.bytes.len();
        let Some(split_index) = available_bytes.checked_sub(len_bytes) else {
            return Err(Truncated {
                field,
                offset_bytes: 0,
                needed_bytes: len_bytes,
                available_bytes,
            });
        };
        let (front, back) = self.bytes.split_at(split_index);
        self.bytes = front;
        Ok(back)
    }

    /// Reads an unsigned big-endian integer of `len_bytes` ≤ 8 bytes from the back.
    pub(crate) fn uint_back(
        &mut self,
        len_bytes: usize,
        field: &'static str,
    ) -> Result<u64, Truncated> {
        debug_assert!(len_bytes <= 8);
        let bytes = self.take_back(len_bytes.min(8), field)?;
        Ok(bytes.iter().fold(0u64, |acc, byte| (acc << 8) | u64::from(*byte)))
    }
}

/// Decodes a hex string (optional `0x`, surrounding whitespace ignored) at compile time or run
/// time; used for constants such as the Pyth emitter address.
///
/// # Panics
/// In a `const` context a malformed literal fails the build; at run time use [`decode_hex`].
pub(crate) const fn hex_array<const N: usize>(text: &str) -> [u8; N] {
    let bytes = text.as_bytes();
    assert!(bytes.len() == 2 * N, "hex literal has the wrong length");
    let mut out = [0u8; N];
    let mut index = 0;
    while index < N {
        out[index] = (nibble(bytes[2 * index]) << 4) | nibble(bytes[2 * index + 1]);
        index += 1;
    }
    out
}

const fn nibble(ch: u8) -> u8 {
    match ch {
        b'0'..=b'9' => ch - b'0',
        b'a'..=b'f' => ch - b'a' + 10,
        b'A'..=b'F' => ch - b'A' + 10,
        _ => panic!("not a hex digit"),
    }
}

/// Decodes hex text, accepting an optional `0x` prefix and surrounding whitespace.
pub fn decode_hex(text: &str) -> Result<Vec<u8>, hex::FromHexError> {
    let trimmed = text.trim();
    let digits =
        trimmed.strip_prefix("0x").or_else(|| trimmed.strip_prefix("0X")).unwrap_or(trimmed);
    hex::decode(digits)
}

/// Decodes standard (padded) base64, ignoring surrounding whitespace.
pub fn decode_base64(text: &str) -> Result<Vec<u8>, base64::DecodeError> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.decode(text.trim())
}

/// Lower-case hex without a prefix (feed ids in Hermes' style).
pub fn encode_hex(bytes: &[u8]) -> String {
    hex::encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reader_reports_truncation_with_field_and_offset() {
        let mut reader = Reader::new(&[1, 2, 3]);
        assert_eq!(reader.u16("a"), Ok(0x0102));
        let err = reader.u16("b").unwrap_err();
        assert_eq!(
            (err.field, err.offset_bytes, err.needed_bytes, err.available_bytes),
            ("b", 2, 2, 1)
        );
        assert_eq!(reader.remaining(), &[3]);
    }

    #[test]
    fn back_reader_reads_from_the_end() {
        let mut reader = BackReader::new(&[1, 2, 3, 4]);
        assert_eq!(reader.uint_back(3, "n"), Ok(0x020304));
        assert_eq!(reader.remaining(), &[1]);
        assert!(reader.take_back(2, "x").is_err());
    }

    #[test]
    fn hex_helpers_round_trip() {
        const BYTES: [u8; 2] = hex_array("0aFf");
        assert_eq!(BYTES, [0x0a, 0xff]);
        assert_eq!(decode_hex(" 0x0aff\n").unwrap(), vec![0x0a, 0xff]);
        assert!(decode_hex("0g").is_err());
    }
}
