//! Hermes (Pyth's price service) JSON and SSE bodies: extract the binary accumulator updates,
//! verify them, and cross-check Hermes' own `parsed` view against the verified bytes.
//!
//! Hermes is a convenience server, not a trust anchor: the `parsed` prices are only accepted if
//! they equal, field by field, what the signed binary says (reference `oracles.md` §1.3). A
//! `parsed` entry without a verified message, or a verified price without a `parsed` entry, is a
//! mismatch. SSE bodies (`data:<json>` events separated by blank lines, `:` keep-alive comments)
//! carry the same JSON per event; an event named `error` means the server is closing the stream.

use base64::Engine;
use serde::Deserialize;

use super::pyth::{verify_accumulator_update, PriceMessage, PythError, VerifiedUpdate};
use super::wormhole::SignerSetSource;

/// Why a Hermes body was rejected. `rule()` names the failed rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HermesError {
    /// The body is not the expected JSON shape.
    #[error("Hermes JSON: {message}")]
    Json {
        /// Parser message.
        message: String,
    },
    /// `binary.data[index]` does not decode with `binary.encoding`.
    #[error("binary.data[{index}] is not valid {encoding}")]
    Encoding {
        /// Declared encoding.
        encoding: String,
        /// Element index.
        index: usize,
    },
    /// No accumulator update in the body.
    #[error("no accumulator update in the body")]
    NoUpdates,
    /// An accumulator update failed verification.
    #[error("binary.data[{index}]: {source}")]
    Pyth {
        /// Element index (or SSE event index).
        index: usize,
        /// The failure.
        source: PythError,
    },
    /// `parsed` disagrees with the verified binary.
    #[error("parsed entry for feed {feed_id_hex} disagrees with the signed binary: {field}")]
    ParsedMismatch {
        /// Feed id, hex.
        feed_id_hex: String,
        /// First differing field (or `missing`).
        field: &'static str,
    },
    /// The SSE stream sent an `error` event.
    #[error("SSE error event: {message}")]
    StreamError {
        /// The event's data.
        message: String,
    },
}

impl HermesError {
    /// Short name of the rule that failed (used in JSON error output).
    pub fn rule(&self) -> &'static str {
        match self {
            Self::Json { .. } => "json",
            Self::Encoding { .. } => "encoding",
            Self::NoUpdates => "no_updates",
            Self::Pyth { source, .. } => source.rule(),
            Self::ParsedMismatch { .. } => "parsed_mismatch",
            Self::StreamError { .. } => "stream_error",
        }
    }
}

#[derive(Debug, Deserialize)]
struct HermesBody {
    binary: HermesBinary,
    #[serde(default)]
    parsed: Option<Vec<ParsedPriceUpdate>>,
}

#[derive(Debug, Deserialize)]
struct HermesBinary {
    encoding: String,
    data: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct ParsedPriceUpdate {
    id: String,
    price: RpcPrice,
    ema_price: RpcPrice,
    #[serde(default)]
    metadata: Option<RpcMetadata>,
}

#[derive(Debug, Deserialize)]
struct RpcPrice {
    price: String,
    conf: String,
    expo: i32,
    publish_time: i64,
}

#[derive(Debug, Default, Deserialize)]
struct RpcMetadata {
    #[serde(default)]
    slot: Option<u64>,
    #[serde(default)]
    prev_publish_time: Option<i64>,
}

/// Decodes one `binary.data` element (`hex`, optionally `0x`-prefixed, or standard `base64`).
///
/// # Errors
/// [`HermesError::Encoding`].
pub fn decode_binary(encoding: &str, data: &str, index: usize) -> Result<Vec<u8>, HermesError> {
    let encoding_err = || HermesError::Encoding { encoding: encoding.to_owned(), index };
    match encoding {
        "hex" => super::bytes::decode_hex(data).map_err(|_| encoding_err()),
        "base64" => base64::engine::general_purpose::STANDARD
            .decode(data.trim())
            .map_err(|_| encoding_err()),
        _ => Err(encoding_err()),
    }
}

/// Verifies every accumulator update of a `/v2/updates/price/*` body and cross-checks `parsed`.
///
/// # Errors
/// The first [`HermesError`].
pub fn verify_hermes_json(
    text: &str,
    signers: &impl SignerSetSource,
) -> Result<Vec<VerifiedUpdate>, HermesError> {
    let body: HermesBody =
        serde_json::from_str(text).map_err(|err| HermesError::Json { message: err.to_string() })?;
    if body.binary.data.is_empty() {
        return Err(HermesError::NoUpdates);
    }
    let mut updates = Vec::with_capacity(body.binary.data.len());
    for (index, data) in body.binary.data.iter().enumerate() {
        let bytes = decode_binary(&body.binary.encoding, data, index)?;
        let update = verify_accumulator_update(&bytes, signers)
            .map_err(|source| HermesError::Pyth { index, source })?;
        updates.push(update);
    }
    if let Some(parsed) = &body.parsed {
        cross_check(parsed, &updates)?;
    }
    Ok(updates)
}

/// Every `parsed` entry equals a verified price message, and every verified price has an entry.
fn cross_check(
    parsed: &[ParsedPriceUpdate],
    updates: &[VerifiedUpdate],
) -> Result<(), HermesError> {
    let verified: Vec<(&PriceMessage, u64)> = updates
        .iter()
        .flat_map(|update| update.prices().map(move |price| (price, update.slot)))
        .collect();
    for entry in parsed {
        let id_hex = entry.id.trim_start_matches("0x").to_ascii_lowercase();
        let mismatch = |field| HermesError::ParsedMismatch { feed_id_hex: id_hex.clone(), field };
        let (price, slot) = verified
            .iter()
            .find(|(price, _)| hex::encode(price.feed_id) == id_hex)
            .ok_or_else(|| mismatch("missing from the signed binary"))?;
        if let Some(field) = first_difference(entry, price, *slot) {
            return Err(mismatch(field));
        }
    }
    for (price, _) in &verified {
        let id_hex = hex::encode(price.feed_id);
        let listed = parsed
            .iter()
            .any(|entry| entry.id.trim_start_matches("0x").eq_ignore_ascii_case(&id_hex));
        if !listed {
            return Err(HermesError::ParsedMismatch {
                feed_id_hex: id_hex,
                field: "missing from parsed",
            });
        }
    }
    Ok(())
}

/// Name of the first field where Hermes' `parsed` entry differs from the signed message.
fn first_difference(
    entry: &ParsedPriceUpdate,
    price: &PriceMessage,
    slot: u64,
) -> Option<&'static str> {
    let metadata = entry.metadata.as_ref();
    let checks = [
        (entry.price.price.parse::<i64>().ok() == Some(price.price), "price.price"),
        (entry.price.conf.parse::<u64>().ok() == Some(price.conf), "price.conf"),
        (entry.price.expo == price.exponent, "price.expo"),
        (entry.price.publish_time == price.publish_time_s, "price.publish_time"),
        (entry.ema_price.price.parse::<i64>().ok() == Some(price.ema_price), "ema_price.price"),
        (entry.ema_price.conf.parse::<u64>().ok() == Some(price.ema_conf), "ema_price.conf"),
        (entry.ema_price.expo == price.exponent, "ema_price.expo"),
        (entry.ema_price.publish_time == price.publish_time_s, "ema_price.publish_time"),
        (metadata.and_then(|m| m.slot).is_none_or(|s| s == slot), "metadata.slot"),
        (
            metadata
                .and_then(|m| m.prev_publish_time)
                .is_none_or(|t| t == price.prev_publish_time_s),
            "metadata.prev_publish_time",
        ),
    ];
    checks.iter().find(|(equal, _)| !equal).map(|(_, field)| *field)
}

/// One Server-Sent Event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent {
    /// `event:` name, `None` for the default `message`.
    pub event: Option<String>,
    /// `data:` lines joined with `\n`.
    pub data: String,
}

/// Splits an SSE body into events (comments skipped; an unterminated last event is kept).
pub fn parse_sse(text: &str) -> Vec<SseEvent> {
    let mut events = Vec::new();
    let mut event: Option<String> = None;
    let mut data_lines: Vec<&str> = Vec::new();
    for line in text.lines().chain(std::iter::once("")) {
        if line.is_empty() {
            if !data_lines.is_empty() || event.is_some() {
                events.push(SseEvent { event: event.take(), data: data_lines.join("\n") });
                data_lines.clear();
            }
            continue;
        }
        if line.starts_with(':') {
            continue;
        }
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        match field {
            "data" => data_lines.push(value),
            "event" => event = Some(value.to_owned()),
            _ => {}
        }
    }
    events
}

/// Verifies every event of an SSE body as a Hermes JSON body.
///
/// # Errors
/// [`HermesError::StreamError`] for an `error` event, otherwise as [`verify_hermes_json`].
pub fn verify_sse(
    text: &str,
    signers: &impl SignerSetSource,
) -> Result<Vec<VerifiedUpdate>, HermesError> {
    let mut updates = Vec::new();
    for event in parse_sse(text) {
        if event.event.as_deref() == Some("error") {
            return Err(HermesError::StreamError { message: event.data });
        }
        if event.data.trim().is_empty() {
            continue;
        }
        updates.extend(verify_hermes_json(&event.data, signers)?);
    }
    if updates.is_empty() {
        return Err(HermesError::NoUpdates);
    }
    Ok(updates)
}

/// Builds the Hermes JSON body for verified updates (the shape `/v2/updates/price/latest`
/// returns). Used by tests and simulators; `binary_hex` are the raw updates, hex-encoded.
pub fn hermes_json_for(binary_hex: &[String], updates: &[VerifiedUpdate]) -> serde_json::Value {
    let parsed: Vec<serde_json::Value> = updates
        .iter()
        .flat_map(|update| update.prices().map(move |price| (price, update.slot)))
        .map(|(price, slot)| {
            let rpc = |value: i64, conf: u64| {
                serde_json::json!({
                    "price": value.to_string(), "conf": conf.to_string(),
                    "expo": price.exponent, "publish_time": price.publish_time_s,
                })
            };
            serde_json::json!({
                "id": hex::encode(price.feed_id),
                "price": rpc(price.price, price.conf),
                "ema_price": rpc(price.ema_price, price.ema_conf),
                "metadata": { "slot": slot, "proof_available_time": null,
                              "prev_publish_time": price.prev_publish_time_s },
            })
        })
        .collect();
    serde_json::json!({ "binary": { "encoding": "hex", "data": binary_hex }, "parsed": parsed })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oracle::wormhole::GuardianSets;

    const TRUMP_HEX: &str =
        include_str!("../../tests/fixtures/oracles/pyth/pnau_trump_2025-04-02.hex");
    const BTC_B64: &str =
        include_str!("../../tests/fixtures/oracles/pyth/pnau_btc_2023-07-28_gs3.b64");

    fn trump_body() -> serde_json::Value {
        let sets = GuardianSets::mainnet().unwrap();
        let bytes = hex::decode(TRUMP_HEX.trim()).unwrap();
        let update = verify_accumulator_update(&bytes, &sets).unwrap();
        hermes_json_for(&[TRUMP_HEX.trim().to_owned()], &[update])
    }

    #[test]
    fn hermes_json_verifies_and_cross_checks() {
        let sets = GuardianSets::mainnet().unwrap();
        let updates = verify_hermes_json(&trump_body().to_string(), &sets).unwrap();
        assert_eq!(updates.len(), 1);
        assert_eq!(updates[0].slot, 208_075_477);
    }

    #[test]
    fn base64_binary_without_parsed_verifies() {
        let sets = GuardianSets::mainnet().unwrap();
        let body =
            serde_json::json!({ "binary": { "encoding": "base64", "data": [BTC_B64.trim()] } });
        let updates = verify_hermes_json(&body.to_string(), &sets).unwrap();
        assert_eq!(updates[0].guardian_set_index, 3);
    }

    #[test]
    fn parsed_fields_that_disagree_are_rejected() {
        let sets = GuardianSets::mainnet().unwrap();
        let cases: [(&str, serde_json::Value, &str); 4] = [
            ("/parsed/0/price/price", serde_json::json!("960310185"), "price.price"),
            ("/parsed/0/ema_price/conf", serde_json::json!("1"), "ema_price.conf"),
            ("/parsed/0/metadata/slot", serde_json::json!(1), "metadata.slot"),
            ("/parsed/0/id", serde_json::json!("ff".repeat(32)), "missing from the signed binary"),
        ];
        for (pointer, value, field) in cases {
            let mut body = trump_body();
            *body.pointer_mut(pointer).unwrap() = value;
            let err = verify_hermes_json(&body.to_string(), &sets).unwrap_err();
            assert_eq!(err.rule(), "parsed_mismatch");
            assert!(
                matches!(err, HermesError::ParsedMismatch { field: f, .. } if f == field),
                "{err}"
            );
        }
        let mut body = trump_body();
        *body.pointer_mut("/parsed").unwrap() = serde_json::json!([]);
        let err = verify_hermes_json(&body.to_string(), &sets).unwrap_err();
        assert!(matches!(err, HermesError::ParsedMismatch { field: "missing from parsed", .. }));
    }

    #[test]
    fn bad_binary_and_json_are_rejected_with_their_rule() {
        let sets = GuardianSets::mainnet().unwrap();
        let mut body = trump_body();
        let tampered = format!("00{}", &TRUMP_HEX.trim()[2..]);
        *body.pointer_mut("/binary/data/0").unwrap() = serde_json::json!(tampered);
        assert_eq!(verify_hermes_json(&body.to_string(), &sets).unwrap_err().rule(), "magic");
        *body.pointer_mut("/binary/data/0").unwrap() = serde_json::json!("zz");
        assert_eq!(verify_hermes_json(&body.to_string(), &sets).unwrap_err().rule(), "encoding");
        *body.pointer_mut("/binary/data").unwrap() = serde_json::json!([]);
        assert_eq!(verify_hermes_json(&body.to_string(), &sets).unwrap_err().rule(), "no_updates");
        assert_eq!(verify_hermes_json("{}", &sets).unwrap_err().rule(), "json");
    }

    #[test]
    fn sse_events_are_split_and_verified() {
        let sets = GuardianSets::mainnet().unwrap();
        let body = trump_body().to_string();
        let text = format!(": keep-alive\n\ndata:{body}\n\ndata: {body}\n");
        let events = parse_sse(&text);
        assert_eq!(events.len(), 2);
        assert_eq!(verify_sse(&text, &sets).unwrap().len(), 2);
        let closing = format!("data:{body}\n\nevent: error\ndata: stream closed after 24h\n\n");
        let err = verify_sse(&closing, &sets).unwrap_err();
        assert_eq!(err, HermesError::StreamError { message: "stream closed after 24h".to_owned() });
        assert_eq!(verify_sse(": only comments\n\n", &sets).unwrap_err().rule(), "no_updates");
    }
}
