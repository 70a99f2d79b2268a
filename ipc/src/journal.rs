//! Append-only journal: segment files of length-prefixed, CRC-checked records.
//!
//! Used by `hedger record` (raw venue frames with receive timestamps) and, later, by the cold
//! thread's event persistence. Promises:
//!
//! * A record is either read back whole and verified, or not at all: each carries a CRC-32 of
//!   its header fields and payload.
//! * A torn tail (a crash mid-append) is detected when the journal is opened for append: the last
//!   segment is scanned and cut back to its last whole record; the bytes cut are reported.
//! * Corruption anywhere else is an error naming the segment and offset, never skipped silently.
//! * Durability is explicit: [`JournalWriter::sync`] is `fdatasync`; nothing is "acknowledged"
//!   before it returns.
//!
//! # Format, version 1 (little-endian)
//!
//! ```text
//! segment file  <dir>/<name>-<index:08>.journal
//!   header (32 bytes): magic "HEDGRJNL", version u32 = 1, header_bytes u32 = 32,
//!                      segment_index u64, created_unix_ms u64
//!   records, back to back:
//!     payload_bytes u32 | crc32 u32 (of payload_bytes, the fields after the CRC and the payload) | kind u16 | flags u16 |
//!     source u32 | ts_ns u64 | payload [payload_bytes]
//! ```

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// Segment magic.
pub const JOURNAL_MAGIC: [u8; 8] = *b"HEDGRJNL";
pub const JOURNAL_VERSION: u32 = 1;
const SEGMENT_HEADER_BYTES: u64 = 32;
const RECORD_HEADER_BYTES: usize = 24;
/// Largest payload accepted (a venue snapshot of 1000 levels is ~60 KB).
pub const PAYLOAD_BYTES_MAX: u32 = 16 * 1024 * 1024;

/// Why the journal failed.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("journal {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path} is not a journal segment (bad magic)")]
    Magic { path: PathBuf },
    #[error("{path} has journal version {found}; this build reads {JOURNAL_VERSION}")]
    Version { path: PathBuf, found: u32 },
    #[error("{path}: corrupt record at byte {offset} ({what})")]
    Corrupt { path: PathBuf, offset: u64, what: &'static str },
    #[error("payload of {bytes} bytes exceeds the {PAYLOAD_BYTES_MAX}-byte limit")]
    TooLarge { bytes: usize },
}

/// One record as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    pub kind: u16,
    pub flags: u16,
    /// Which stream/venue the payload came from (caller-defined id).
    pub source: u32,
    /// Receive (wall-clock) time in ns since the epoch.
    pub ts_ns: u64,
    pub payload: Vec<u8>,
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> JournalError + '_ {
    move |source| JournalError::Io { path: path.to_path_buf(), source }
}

fn segment_path(dir: &Path, name: &str, index: u64) -> PathBuf {
    dir.join(format!("{name}-{index:08}.journal"))
}

/// The segments of journal `name` in `dir`, in order.
///
/// # Errors
/// [`JournalError::Io`] if the directory cannot be listed.
pub fn segments(dir: &Path, name: &str) -> Result<Vec<PathBuf>, JournalError> {
    let mut found: Vec<(u64, PathBuf)> = Vec::new();
    let prefix = format!("{name}-");
    for entry in std::fs::read_dir(dir).map_err(io_err(dir))? {
        let path = entry.map_err(io_err(dir))?.path();
        let Some(file) = path.file_name().and_then(|f| f.to_str()) else { continue };
        let Some(index) = file
            .strip_prefix(&prefix)
            .and_then(|rest| rest.strip_suffix(".journal"))
            .and_then(|digits| digits.parse::<u64>().ok())
        else {
            continue;
        };
        found.push((index, path));
    }
    found.sort();
    Ok(found.into_iter().map(|(_, path)| path).collect())
}

fn encode_header(record: &Record) -> [u8; RECORD_HEADER_BYTES] {
    let mut h = [0u8; RECORD_HEADER_BYTES];
    h[0..4].copy_from_slice(&(record.payload.len() as u32).to_le_bytes());
    h[8..10].copy_from_slice(&record.kind.to_le_bytes());
    h[10..12].copy_from_slice(&record.flags.to_le_bytes());
    h[12..16].copy_from_slice(&record.source.to_le_bytes());
    h[16..24].copy_from_slice(&record.ts_ns.to_le_bytes());
    let mut crc = crc32fast::Hasher::new();
    crc.update(&h[0..4]);
    crc.update(&h[8..]);
    crc.update(&record.payload);
    h[4..8].copy_from_slice(&crc.finalize().to_le_bytes());
    h
}

fn read_segment_header(file: &mut File, path: &Path) -> Result<u64, JournalError> {
    let mut h = [0u8; SEGMENT_HEADER_BYTES as usize];
    file.read_exact(&mut h).map_err(|_| JournalError::Magic { path: path.to_path_buf() })?;
    if h[0..8] != JOURNAL_MAGIC {
        return Err(JournalError::Magic { path: path.to_path_buf() });
    }
    let version = u32::from_le_bytes([h[8], h[9], h[10], h[11]]);
    if version != JOURNAL_VERSION {
        return Err(JournalError::Version { path: path.to_path_buf(), found: version });
    }
    let mut index = [0u8; 8];
    index.copy_from_slice(&h[16..24]);
    Ok(u64::from_le_bytes(index))
}

/// Outcome of reading one record at the current position.
enum Next {
    Record(Record, u64),
    End,
    Torn(&'static str),
}

fn read_record(
    file: &mut File,
    path: &Path,
    offset: u64,
    file_bytes: u64,
) -> Result<Next, JournalError> {
    if offset == file_bytes {
        return Ok(Next::End);
    }
    if file_bytes - offset < RECORD_HEADER_BYTES as u64 {
        return Ok(Next::Torn("short record header"));
    }
    let mut h = [0u8; RECORD_HEADER_BYTES];
    file.read_exact(&mut h).map_err(io_err(path))?;
    let payload_bytes = u32::from_le_bytes([h[0], h[1], h[2], h[3]]);
    if payload_bytes > PAYLOAD_BYTES_MAX {
        return Ok(Next::Torn("length beyond the limit"));
    }
    let end = offset + RECORD_HEADER_BYTES as u64 + u64::from(payload_bytes);
    if end > file_bytes {
        return Ok(Next::Torn("record runs past the end of the file"));
    }
    let mut payload = vec![0u8; payload_bytes as usize];
    file.read_exact(&mut payload).map_err(io_err(path))?;
    let mut crc = crc32fast::Hasher::new();
    crc.update(&h[0..4]);
    crc.update(&h[8..]);
    crc.update(&payload);
    if crc.finalize() != u32::from_le_bytes([h[4], h[5], h[6], h[7]]) {
        return Ok(Next::Torn("CRC mismatch"));
    }
    let word64 = |at: usize| {
        let mut w = [0u8; 8];
        w.copy_from_slice(&h[at..at + 8]);
        u64::from_le_bytes(w)
    };
    let record = Record {
        kind: u16::from_le_bytes([h[8], h[9]]),
        flags: u16::from_le_bytes([h[10], h[11]]),
        source: u32::from_le_bytes([h[12], h[13], h[14], h[15]]),
        ts_ns: word64(16),
        payload,
    };
    Ok(Next::Record(record, end))
}

/// Reads every record of a journal, in order.
pub struct JournalReader {
    paths: Vec<PathBuf>,
    segment: usize,
    file: Option<(File, u64, u64)>,
}

impl JournalReader {
    /// Opens journal `name` in `dir`.
    ///
    /// # Errors
    /// [`JournalError::Io`] if the directory cannot be listed.
    pub fn open(dir: &Path, name: &str) -> Result<JournalReader, JournalError> {
        Ok(JournalReader { paths: segments(dir, name)?, segment: 0, file: None })
    }

    /// The next record, `Ok(None)` at the end.
    ///
    /// # Errors
    /// A bad segment header, or a corrupt record (in the last segment only a torn tail is
    /// tolerated and ends the journal).
    pub fn next_record(&mut self) -> Result<Option<Record>, JournalError> {
        loop {
            if self.file.is_none() {
                let Some(path) = self.paths.get(self.segment) else { return Ok(None) };
                let mut file = File::open(path).map_err(io_err(path))?;
                let bytes = file.metadata().map_err(io_err(path))?.len();
                read_segment_header(&mut file, path)?;
                self.file = Some((file, SEGMENT_HEADER_BYTES, bytes));
            }
            let path = self.paths[self.segment].clone();
            let last = self.segment + 1 == self.paths.len();
            let Some((file, offset, bytes)) = self.file.as_mut() else { return Ok(None) };
            match read_record(file, &path, *offset, *bytes)? {
                Next::Record(record, end) => {
                    *offset = end;
                    return Ok(Some(record));
                }
                Next::Torn(_) if last => return Ok(None),
                Next::Torn(what) => {
                    return Err(JournalError::Corrupt { path, offset: *offset, what })
                }
                Next::End => {
                    self.file = None;
                    self.segment += 1;
                }
            }
        }
    }
}

/// What opening for append found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OpenReport {
    pub segments: usize,
    pub records_found: u64,
    /// Bytes cut from the last segment's torn tail.
    pub torn_bytes_truncated: u64,
}

/// Appends records, rotating segments at `segment_bytes_max`.
pub struct JournalWriter {
    dir: PathBuf,
    name: String,
    segment_index: u64,
    segment_bytes: u64,
    segment_bytes_max: u64,
    out: BufWriter<File>,
    path: PathBuf,
    records_written: u64,
}

impl JournalWriter {
    /// Opens journal `name` in `dir` for append, creating it, and repairing a torn tail.
    ///
    /// # Errors
    /// I/O errors, or corruption before the tail of the last segment.
    pub fn open(
        dir: &Path,
        name: &str,
        segment_bytes_max: u64,
        now_unix_ms: u64,
    ) -> Result<(JournalWriter, OpenReport), JournalError> {
        std::fs::create_dir_all(dir).map_err(io_err(dir))?;
        let existing = segments(dir, name)?;
        let mut report = OpenReport { segments: existing.len(), ..OpenReport::default() };
        let (index, path, good_bytes) = match existing.last() {
            None => {
                let path = segment_path(dir, name, 0);
                Self::create_segment(&path, 0, now_unix_ms)?;
                (0, path, SEGMENT_HEADER_BYTES)
            }
            Some(last) => {
                let (index, good, records) = Self::scan_tail(last)?;
                report.records_found = records;
                let bytes = std::fs::metadata(last).map_err(io_err(last))?.len();
                report.torn_bytes_truncated = bytes - good;
                (index, last.clone(), good)
            }
        };
        let file = OpenOptions::new().write(true).open(&path).map_err(io_err(&path))?;
        file.set_len(good_bytes).map_err(io_err(&path))?;
        let mut out = BufWriter::with_capacity(1 << 16, file);
        out.seek(SeekFrom::Start(good_bytes)).map_err(io_err(&path))?;
        let writer = JournalWriter {
            dir: dir.to_path_buf(),
            name: name.to_string(),
            segment_index: index,
            segment_bytes: good_bytes,
            segment_bytes_max: segment_bytes_max.max(SEGMENT_HEADER_BYTES + 1),
            out,
            path,
            records_written: 0,
        };
        Ok((writer, report))
    }

    /// Index, bytes of whole records, and record count of the last segment.
    fn scan_tail(path: &Path) -> Result<(u64, u64, u64), JournalError> {
        let mut file = File::open(path).map_err(io_err(path))?;
        let bytes = file.metadata().map_err(io_err(path))?.len();
        let index = read_segment_header(&mut file, path)?;
        let (mut offset, mut records) = (SEGMENT_HEADER_BYTES, 0u64);
        while let Next::Record(_, end) = read_record(&mut file, path, offset, bytes)? {
            offset = end;
            records += 1;
        }
        Ok((index, offset, records))
    }

    fn create_segment(path: &Path, index: u64, now_unix_ms: u64) -> Result<(), JournalError> {
        let mut h = [0u8; SEGMENT_HEADER_BYTES as usize];
        h[0..8].copy_from_slice(&JOURNAL_MAGIC);
        h[8..12].copy_from_slice(&JOURNAL_VERSION.to_le_bytes());
        h[12..16].copy_from_slice(&(SEGMENT_HEADER_BYTES as u32).to_le_bytes());
        h[16..24].copy_from_slice(&index.to_le_bytes());
        h[24..32].copy_from_slice(&now_unix_ms.to_le_bytes());
        let mut file =
            OpenOptions::new().write(true).create_new(true).open(path).map_err(io_err(path))?;
        file.write_all(&h).map_err(io_err(path))?;
        file.sync_data().map_err(io_err(path))
    }

    /// Appends one record (buffered; see [`JournalWriter::sync`]).
    ///
    /// # Errors
    /// [`JournalError::TooLarge`] or an I/O error.
    pub fn append(&mut self, record: &Record, now_unix_ms: u64) -> Result<(), JournalError> {
        if record.payload.len() > PAYLOAD_BYTES_MAX as usize {
            return Err(JournalError::TooLarge { bytes: record.payload.len() });
        }
        let record_bytes = (RECORD_HEADER_BYTES + record.payload.len()) as u64;
        if self.segment_bytes + record_bytes > self.segment_bytes_max
            && self.segment_bytes > SEGMENT_HEADER_BYTES
        {
            self.rotate(now_unix_ms)?;
        }
        let header = encode_header(record);
        self.out.write_all(&header).map_err(io_err(&self.path))?;
        self.out.write_all(&record.payload).map_err(io_err(&self.path))?;
        self.segment_bytes += record_bytes;
        self.records_written += 1;
        Ok(())
    }

    fn rotate(&mut self, now_unix_ms: u64) -> Result<(), JournalError> {
        self.sync()?;
        self.segment_index += 1;
        let path = segment_path(&self.dir, &self.name, self.segment_index);
        Self::create_segment(&path, self.segment_index, now_unix_ms)?;
        let file = OpenOptions::new().append(true).open(&path).map_err(io_err(&path))?;
        self.out = BufWriter::with_capacity(1 << 16, file);
        self.path = path;
        self.segment_bytes = SEGMENT_HEADER_BYTES;
        Ok(())
    }

    /// Flushes buffered records and `fdatasync`s the segment: after it returns, every record
    /// appended so far survives a crash.
    ///
    /// # Errors
    /// An I/O error; the caller must treat it as fatal (the records' durability is unknown).
    pub fn sync(&mut self) -> Result<(), JournalError> {
        self.out.flush().map_err(io_err(&self.path))?;
        self.out.get_ref().sync_data().map_err(io_err(&self.path))
    }

    /// Records appended through this writer.
    pub fn records_written(&self) -> u64 {
        self.records_written
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(i: u64, bytes: usize) -> Record {
        Record {
            kind: 1,
            flags: (i % 3) as u16,
            source: 7,
            ts_ns: 1_700_000_000_000_000_000 + i,
            payload: vec![(i % 251) as u8; bytes],
        }
    }

    fn read_all(dir: &Path) -> Vec<Record> {
        let mut reader = JournalReader::open(dir, "feed").unwrap();
        let mut out = Vec::new();
        while let Some(r) = reader.next_record().unwrap() {
            out.push(r);
        }
        out
    }

    #[test]
    fn records_round_trip_across_rotated_segments() {
        let dir = tempfile::tempdir().unwrap();
        let (mut w, report) = JournalWriter::open(dir.path(), "feed", 4_096, 1).unwrap();
        assert_eq!(report, OpenReport::default());
        let written: Vec<Record> = (0..200).map(|i| record(i, (i as usize * 7) % 300)).collect();
        for r in &written {
            w.append(r, 2).unwrap();
        }
        w.sync().unwrap();
        assert!(segments(dir.path(), "feed").unwrap().len() > 5, "rotated");
        assert_eq!(read_all(dir.path()), written);
    }

    #[test]
    fn a_torn_tail_is_truncated_on_open_and_appending_resumes() {
        let dir = tempfile::tempdir().unwrap();
        let (mut w, _) = JournalWriter::open(dir.path(), "feed", 1 << 20, 1).unwrap();
        for i in 0..10 {
            w.append(&record(i, 100), 1).unwrap();
        }
        w.sync().unwrap();
        drop(w);
        let path = segments(dir.path(), "feed").unwrap()[0].clone();
        let full = std::fs::metadata(&path).unwrap().len();
        // A crash in the middle of the 10th record.
        std::fs::OpenOptions::new().write(true).open(&path).unwrap().set_len(full - 50).unwrap();
        assert_eq!(read_all(dir.path()).len(), 9, "reader stops at the torn tail");
        let (mut w, report) = JournalWriter::open(dir.path(), "feed", 1 << 20, 1).unwrap();
        assert_eq!(report.records_found, 9);
        assert_eq!(report.torn_bytes_truncated, (RECORD_HEADER_BYTES + 100 - 50) as u64);
        w.append(&record(99, 5), 1).unwrap();
        w.sync().unwrap();
        let all = read_all(dir.path());
        assert_eq!(all.len(), 10);
        assert_eq!(all[9], record(99, 5));
    }

    #[test]
    fn a_flipped_byte_is_caught_by_the_crc() {
        let dir = tempfile::tempdir().unwrap();
        let (mut w, _) = JournalWriter::open(dir.path(), "feed", 300, 1).unwrap();
        for i in 0..6 {
            w.append(&record(i, 100), 1).unwrap();
        }
        w.sync().unwrap();
        let first = segments(dir.path(), "feed").unwrap()[0].clone();
        let mut bytes = std::fs::read(&first).unwrap();
        bytes[SEGMENT_HEADER_BYTES as usize + RECORD_HEADER_BYTES + 10] ^= 0x40;
        std::fs::write(&first, bytes).unwrap();
        let mut reader = JournalReader::open(dir.path(), "feed").unwrap();
        let err = reader.next_record().unwrap_err();
        assert!(
            matches!(err, JournalError::Corrupt { what: "CRC mismatch", offset: 32, .. }),
            "{err}"
        );
        std::fs::write(&first, b"NOTAJOURNAL-----------------------------").unwrap();
        assert!(matches!(
            JournalReader::open(dir.path(), "feed").unwrap().next_record(),
            Err(JournalError::Magic { .. })
        ));
    }
}
