//! The shared-memory telemetry file: one mmapped, versioned file per running process.
//!
//! Like Aeron's CnC file, it describes the live process so that `hedger inspect` can attach
//! read-only from another process at no cost to the hot path. Every counter has exactly one
//! writer (the thread that owns the ring end or the runtime thread), which updates it with a plain
//! `Release` store; readers use `Acquire` loads and may see a record mid-update across fields,
//! never a torn word. Nothing here takes a lock or allocates after [`TelemetryFile::create`].
//!
//! # Layout, version 2 (all integers little-endian, offsets in bytes)
//!
//! ```text
//! header (512 bytes at offset 0)
//!   0  magic            [u8; 8] = "HEDGRTEL"
//!   8  layout_version   u32     = 2 (readers also take 1: the same without counters)
//!  12  header_bytes     u32     = 512
//!  16  pid              u32
//!  20  state            u32     0 starting, 1 running, 2 stopped (clean exit)
//!  24  start_unix_ms    u64
//!  32  heartbeat_unix_ms u64    written every ~100 ms by the supervisor
//!  40  tsc_hz           u64     ticks per second of the hop-latency stamps
//!  48  rings_max        u32
//!  52  ring_record_bytes u32    = 4096
//!  56  rings_offset     u64
//!  64  threads_max      u32
//!  68  thread_record_bytes u32  = 256
//!  72  threads_offset   u64
//!  80  ring_count       u32     records published so far (Release after the record is filled)
//!  84  thread_count     u32
//!  88  hist_buckets     u32     = hist::BUCKETS
//!  92  hist_sub_bucket_bits u32 = hist::SUB_BUCKET_BITS
//!  96  file_bytes       u64
//! 104  profile          [u8; 32] NUL-padded UTF-8
//! 136  counters_max     u32
//! 140  counter_record_bytes u32 = 64
//! 144  counters_offset  u64
//! 152  counter_count    u32
//!
//! ring record (4096 bytes each, at rings_offset + i * 4096)
//!   0  name [u8; 48] NUL-padded    48 capacity u64    56 msg_bytes u32
//! 128  producer line: pushed u64, full_stalls u64
//! 256  consumer line: popped u64, hop_count u64, hop_sum_ticks u64, hop_max_ticks u64, hwm u64
//! 384  hop histogram: hist_buckets × u64 (consumer-owned, ticks)
//!
//! thread record (256 bytes each, at threads_offset + i * 256)
//!   0  name [u8; 32] NUL-padded    32 core i32 (-1 unpinned)    36 policy u32 (0 busy,
//!      1 spin-yield, 2 park)       40 tid u32    44 cpu_last u32 (sched_getcpu, u32::MAX unknown)
//! 128  runtime line: loops u64, work_loops u64, work_items u64, state u32 (0 new, 1 running,
//!      2 stopped, 3 panicked)
//!
//! counter record (64 bytes each, at counters_offset + i * 64): named values such as a venue
//! gateway's gaps and reconnects, each with one writer
//!   0  name [u8; 48] NUL-padded    56 value u64
//! ```
//!
//! Producer and consumer counters sit on separate 128-byte lines so the two ends of a ring never
//! share a cache line (adjacent-line prefetch pulls pairs of 64-byte lines).

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;

use memmap2::{Mmap, MmapMut};

use crate::hist;

/// File magic.
pub const MAGIC: [u8; 8] = *b"HEDGRTEL";
/// Layout version this build writes and reads.
pub const LAYOUT_VERSION: u32 = 2;
/// The previous layout, still readable (it has no counter table).
const LAYOUT_VERSION_NO_COUNTERS: u32 = 1;
pub const HEADER_BYTES: usize = 512;
pub const RING_RECORD_BYTES: usize = 4096;
pub const THREAD_RECORD_BYTES: usize = 256;
pub const COUNTER_RECORD_BYTES: usize = 64;
pub const NAME_BYTES_MAX: usize = 47;
const THREAD_NAME_BYTES_MAX: usize = 31;
const PROFILE_BYTES_MAX: usize = 31;

const RING_PRODUCER_OFFSET: usize = 128;
const RING_CONSUMER_OFFSET: usize = 256;
const RING_HIST_OFFSET: usize = 384;
const THREAD_RUNTIME_OFFSET: usize = 128;

const _: () = assert!(RING_HIST_OFFSET + hist::BUCKETS * 8 <= RING_RECORD_BYTES);

/// Process state in the header.
pub const STATE_STARTING: u32 = 0;
pub const STATE_RUNNING: u32 = 1;
pub const STATE_STOPPED: u32 = 2;

/// Errors creating, registering in or opening a telemetry file.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    #[error("telemetry file {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("no telemetry file at {path} (is the process running? is the run directory right?)")]
    Missing { path: PathBuf },
    #[error("{path} is not a hedger telemetry file (bad magic)")]
    Magic { path: PathBuf },
    #[error(
        "{path} has telemetry layout version {found}; this build reads version {LAYOUT_VERSION}"
    )]
    Version { path: PathBuf, found: u32 },
    #[error("{path} is truncated: {found_bytes} bytes, layout needs {needed_bytes}")]
    Truncated { path: PathBuf, found_bytes: usize, needed_bytes: usize },
    #[error("all {max} {what} slots of the telemetry file are taken")]
    Full { what: &'static str, max: u32 },
}

/// Sizes of a telemetry file.
#[derive(Clone, Copy, Debug)]
pub struct TelemetryLimits {
    pub rings_max: u32,
    pub threads_max: u32,
    pub counters_max: u32,
}

impl Default for TelemetryLimits {
    fn default() -> Self {
        TelemetryLimits { rings_max: 64, threads_max: 32, counters_max: 256 }
    }
}

/// The writable mapping. Shared through `Arc` by every counter handle, so the mapping outlives
/// every pointer into it.
pub struct TelemetryFile {
    /// Keeps the mapping alive; all access goes through `base`.
    _map: MmapMut,
    /// Start of the mapping, taken from `as_mut_ptr` so writes through it are permitted.
    base: *mut u8,
    len: usize,
    path: PathBuf,
    limits: TelemetryLimits,
    /// Serialises start-up registrations so two threads never claim the same record.
    register_lock: std::sync::Mutex<()>,
}

// SAFETY: every access through `base` after construction is an atomic load or store of an
// aligned, in-bounds word, and the mapping lives as long as the struct.
unsafe impl Send for TelemetryFile {}
// SAFETY: as above; concurrent atomic access from several threads is sound.
unsafe impl Sync for TelemetryFile {}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> TelemetryError + '_ {
    move |source| TelemetryError::Io { path: path.to_path_buf(), source }
}

fn rings_offset() -> usize {
    HEADER_BYTES
}

fn threads_offset(limits: TelemetryLimits) -> usize {
    HEADER_BYTES + limits.rings_max as usize * RING_RECORD_BYTES
}

fn counters_offset(limits: TelemetryLimits) -> usize {
    threads_offset(limits) + limits.threads_max as usize * THREAD_RECORD_BYTES
}

fn file_bytes(limits: TelemetryLimits) -> usize {
    counters_offset(limits) + limits.counters_max as usize * COUNTER_RECORD_BYTES
}

fn put_name(dst: &mut [u8], name: &str, max: usize) {
    let bytes = name.as_bytes();
    let mut len = bytes.len().min(max);
    while !name.is_char_boundary(len) {
        len -= 1;
    }
    dst[..len].copy_from_slice(&bytes[..len]);
}

impl TelemetryFile {
    /// Creates (or replaces) the file at `path`, writes the header and maps it.
    ///
    /// # Errors
    /// [`TelemetryError::Io`] when the file cannot be created, sized or mapped.
    pub fn create(
        path: &Path,
        limits: TelemetryLimits,
        profile: &str,
        tsc_hz: u64,
        start_unix_ms: u64,
    ) -> Result<Arc<TelemetryFile>, TelemetryError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io_error(dir))?;
        }
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)
            .map_err(io_error(path))?;
        let bytes = file_bytes(limits);
        file.set_len(bytes as u64).map_err(io_error(path))?;
        // SAFETY: the file was just created and truncated by us; no other process writes it
        // (readers map it read-only), so the mapping cannot change size under us.
        let mut map = unsafe { MmapMut::map_mut(&file) }.map_err(io_error(path))?;
        let h = &mut map[..HEADER_BYTES];
        h[0..8].copy_from_slice(&MAGIC);
        h[8..12].copy_from_slice(&LAYOUT_VERSION.to_le_bytes());
        h[12..16].copy_from_slice(&(HEADER_BYTES as u32).to_le_bytes());
        h[16..20].copy_from_slice(&std::process::id().to_le_bytes());
        h[24..32].copy_from_slice(&start_unix_ms.to_le_bytes());
        h[32..40].copy_from_slice(&start_unix_ms.to_le_bytes());
        h[40..48].copy_from_slice(&tsc_hz.to_le_bytes());
        h[48..52].copy_from_slice(&limits.rings_max.to_le_bytes());
        h[52..56].copy_from_slice(&(RING_RECORD_BYTES as u32).to_le_bytes());
        h[56..64].copy_from_slice(&(rings_offset() as u64).to_le_bytes());
        h[64..68].copy_from_slice(&limits.threads_max.to_le_bytes());
        h[68..72].copy_from_slice(&(THREAD_RECORD_BYTES as u32).to_le_bytes());
        h[72..80].copy_from_slice(&(threads_offset(limits) as u64).to_le_bytes());
        h[88..92].copy_from_slice(&(hist::BUCKETS as u32).to_le_bytes());
        h[92..96].copy_from_slice(&hist::SUB_BUCKET_BITS.to_le_bytes());
        h[96..104].copy_from_slice(&(bytes as u64).to_le_bytes());
        put_name(&mut h[104..136], profile, PROFILE_BYTES_MAX);
        h[136..140].copy_from_slice(&limits.counters_max.to_le_bytes());
        h[140..144].copy_from_slice(&(COUNTER_RECORD_BYTES as u32).to_le_bytes());
        h[144..152].copy_from_slice(&(counters_offset(limits) as u64).to_le_bytes());
        let base = map.as_mut_ptr();
        let len = map.len();
        Ok(Arc::new(TelemetryFile {
            _map: map,
            base,
            len,
            path: path.to_path_buf(),
            limits,
            register_lock: std::sync::Mutex::new(()),
        }))
    }

    /// Where the file lives.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn u64_at(&self, offset: usize) -> &AtomicU64 {
        assert!(offset.is_multiple_of(8) && offset + 8 <= self.len);
        // SAFETY: in bounds and 8-aligned (the map is page-aligned, offsets are multiples of 8);
        // the mapping lives as long as `self`; all access to this word goes through atomics.
        unsafe { &*(self.base.add(offset) as *const AtomicU64) }
    }

    fn u32_at(&self, offset: usize) -> &AtomicU32 {
        assert!(offset.is_multiple_of(4) && offset + 4 <= self.len);
        // SAFETY: as for `u64_at`, with 4-byte alignment.
        unsafe { &*(self.base.add(offset) as *const AtomicU32) }
    }

    /// Sets the process state word.
    pub fn set_state(&self, state: u32) {
        self.u32_at(20).store(state, Ordering::Release);
    }

    /// Writes the supervisor heartbeat.
    pub fn heartbeat(&self, now_unix_ms: u64) {
        self.u64_at(32).store(now_unix_ms, Ordering::Release);
    }

    /// Index of the next free record of a table; the caller fills it, then publishes it by
    /// storing the count. Registration is start-up work, done from one thread at a time.
    fn claim(
        self: &Arc<Self>,
        count_offset: usize,
        max: u32,
        what: &'static str,
    ) -> Result<u32, TelemetryError> {
        let count = self.u32_at(count_offset).load(Ordering::Acquire);
        if count >= max {
            return Err(TelemetryError::Full { what, max });
        }
        Ok(count)
    }

    /// Registers a ring and returns the handles of its two ends.
    ///
    /// # Errors
    /// [`TelemetryError::Full`] when every ring slot is taken.
    pub fn register_ring(
        self: &Arc<Self>,
        name: &str,
        capacity: usize,
        msg_bytes: usize,
    ) -> Result<(RingProducerStats, RingConsumerStats), TelemetryError> {
        let _guard = self.register_lock.lock().unwrap_or_else(|e| e.into_inner());
        let index = self.claim(80, self.limits.rings_max, "ring")?;
        let base = rings_offset() + index as usize * RING_RECORD_BYTES;
        let mut name_bytes = [0u8; 48];
        put_name(&mut name_bytes, name, NAME_BYTES_MAX);
        self.write_bytes(base, &name_bytes);
        self.u64_at(base + 48).store(capacity as u64, Ordering::Relaxed);
        self.u32_at(base + 56).store(msg_bytes as u32, Ordering::Relaxed);
        self.u32_at(80).store(index + 1, Ordering::Release);
        let producer =
            RingProducerStats { file: Arc::clone(self), base: base + RING_PRODUCER_OFFSET };
        let consumer =
            RingConsumerStats { file: Arc::clone(self), base: base + RING_CONSUMER_OFFSET };
        Ok((producer, consumer))
    }

    /// Registers a runtime thread.
    ///
    /// # Errors
    /// [`TelemetryError::Full`] when every thread slot is taken.
    pub fn register_thread(
        self: &Arc<Self>,
        name: &str,
        core: Option<usize>,
        policy: u32,
    ) -> Result<ThreadStats, TelemetryError> {
        let _guard = self.register_lock.lock().unwrap_or_else(|e| e.into_inner());
        let index = self.claim(84, self.limits.threads_max, "thread")?;
        let base = threads_offset(self.limits) + index as usize * THREAD_RECORD_BYTES;
        let mut name_bytes = [0u8; 32];
        put_name(&mut name_bytes, name, THREAD_NAME_BYTES_MAX);
        self.write_bytes(base, &name_bytes);
        let core_i32 = core.and_then(|c| i32::try_from(c).ok()).unwrap_or(-1);
        self.u32_at(base + 32).store(core_i32 as u32, Ordering::Relaxed);
        self.u32_at(base + 36).store(policy, Ordering::Relaxed);
        self.u32_at(base + 44).store(u32::MAX, Ordering::Relaxed);
        self.u32_at(84).store(index + 1, Ordering::Release);
        Ok(ThreadStats { file: Arc::clone(self), base })
    }

    /// Registers a named counter (start-up work) and returns its writer handle.
    ///
    /// # Errors
    /// [`TelemetryError::Full`] when every counter slot is taken.
    pub fn register_counter(
        self: &Arc<Self>,
        name: &str,
    ) -> Result<TelemetryCounter, TelemetryError> {
        let _guard = self.register_lock.lock().unwrap_or_else(|e| e.into_inner());
        let index = self.claim(152, self.limits.counters_max, "counter")?;
        let base = counters_offset(self.limits) + index as usize * COUNTER_RECORD_BYTES;
        let mut name_bytes = [0u8; 48];
        put_name(&mut name_bytes, name, NAME_BYTES_MAX);
        self.write_bytes(base, &name_bytes);
        self.u32_at(152).store(index + 1, Ordering::Release);
        Ok(TelemetryCounter { file: Arc::clone(self), offset: base + 56 })
    }

    fn write_bytes(&self, offset: usize, bytes: &[u8]) {
        assert!(bytes.len().is_multiple_of(4));
        for (i, chunk) in bytes.chunks_exact(4).enumerate() {
            let word = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
            self.u32_at(offset + i * 4).store(word, Ordering::Relaxed);
        }
    }
}

/// Counters written by a ring's producer.
pub struct RingProducerStats {
    file: Arc<TelemetryFile>,
    base: usize,
}

impl RingProducerStats {
    /// Publishes the pushed and full-stall totals.
    #[inline]
    pub fn store(&self, pushed: u64, full_stalls: u64) {
        self.store_pushed(pushed);
        self.store_full_stalls(full_stalls);
    }

    /// Publishes the pushed total.
    #[inline]
    pub fn store_pushed(&self, pushed: u64) {
        self.file.u64_at(self.base).store(pushed, Ordering::Release);
    }

    /// Publishes the full-stall total.
    #[inline]
    pub fn store_full_stalls(&self, full_stalls: u64) {
        self.file.u64_at(self.base + 8).store(full_stalls, Ordering::Release);
    }
}

/// Counters written by a ring's consumer.
pub struct RingConsumerStats {
    file: Arc<TelemetryFile>,
    base: usize,
}

impl RingConsumerStats {
    /// Publishes the popped total and the depth high-water mark.
    #[inline]
    pub fn store_popped(&self, popped: u64, hwm: u64) {
        self.file.u64_at(self.base).store(popped, Ordering::Release);
        self.file.u64_at(self.base + 32).store(hwm, Ordering::Release);
    }

    /// Records one hop latency in ticks (single writer: load, add, store; no locked instruction).
    #[inline]
    pub fn record_hop(&self, ticks: u64) {
        let f = &self.file;
        bump(f.u64_at(self.base + 8), 1);
        bump(f.u64_at(self.base + 16), ticks);
        let max = f.u64_at(self.base + 24);
        if ticks > max.load(Ordering::Relaxed) {
            max.store(ticks, Ordering::Release);
        }
        let bucket = self.base - RING_CONSUMER_OFFSET + RING_HIST_OFFSET;
        bump(f.u64_at(bucket + hist::bucket_index(ticks) * 8), 1);
    }
}

#[inline(always)]
fn bump(counter: &AtomicU64, by: u64) {
    counter.store(counter.load(Ordering::Relaxed).wrapping_add(by), Ordering::Release);
}

/// Thread state in a thread record.
pub const THREAD_NEW: u32 = 0;
pub const THREAD_RUNNING: u32 = 1;
pub const THREAD_STOPPED: u32 = 2;
pub const THREAD_PANICKED: u32 = 3;

/// Counters written by one runtime thread.
pub struct ThreadStats {
    file: Arc<TelemetryFile>,
    base: usize,
}

impl ThreadStats {
    /// Publishes loop counters.
    #[inline]
    pub fn store_loops(&self, loops: u64, work_loops: u64, work_items: u64) {
        let base = self.base + THREAD_RUNTIME_OFFSET;
        self.file.u64_at(base).store(loops, Ordering::Release);
        self.file.u64_at(base + 8).store(work_loops, Ordering::Release);
        self.file.u64_at(base + 16).store(work_items, Ordering::Release);
    }

    /// Records the OS thread id and the CPU the thread was last seen on.
    pub fn store_placement(&self, tid: u32, cpu: Option<u32>) {
        self.file.u32_at(self.base + 40).store(tid, Ordering::Release);
        self.file.u32_at(self.base + 44).store(cpu.unwrap_or(u32::MAX), Ordering::Release);
    }

    /// Sets the thread state word.
    pub fn set_state(&self, state: u32) {
        self.file.u32_at(self.base + THREAD_RUNTIME_OFFSET + 24).store(state, Ordering::Release);
    }
}

/// A named counter's writer (one per counter; the value is whatever its owner last stored).
pub struct TelemetryCounter {
    file: Arc<TelemetryFile>,
    offset: usize,
}

impl TelemetryCounter {
    pub fn store(&self, value: u64) {
        self.file.u64_at(self.offset).store(value, Ordering::Release);
    }
}

/// One counter as read from a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CounterRecord {
    pub name: String,
    pub value: u64,
}

/// One ring as read from a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RingRecord {
    pub name: String,
    pub capacity: u64,
    pub msg_bytes: u32,
    pub pushed: u64,
    pub full_stalls: u64,
    pub popped: u64,
    pub hop_count: u64,
    pub hop_sum_ticks: u64,
    pub hop_max_ticks: u64,
    pub hwm: u64,
    pub hop_buckets: Vec<u64>,
}

impl RingRecord {
    /// Messages pushed but not yet popped (0 if the reader caught the counters mid-update).
    pub fn depth(&self) -> u64 {
        self.pushed.saturating_sub(self.popped)
    }
}

/// One thread as read from a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ThreadRecord {
    pub name: String,
    pub core: Option<u32>,
    pub policy: u32,
    pub tid: u32,
    pub cpu_last: Option<u32>,
    pub loops: u64,
    pub work_loops: u64,
    pub work_items: u64,
    pub state: u32,
}

/// A consistent-enough copy of a whole file (each word read atomically).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TelemetrySnapshot {
    pub pid: u32,
    pub state: u32,
    pub start_unix_ms: u64,
    pub heartbeat_unix_ms: u64,
    pub tsc_hz: u64,
    pub profile: String,
    pub rings: Vec<RingRecord>,
    pub threads: Vec<ThreadRecord>,
    pub counters: Vec<CounterRecord>,
}

/// A read-only mapping of another process's telemetry file.
pub struct TelemetryReader {
    map: Mmap,
    path: PathBuf,
}

impl TelemetryReader {
    /// Opens and validates the file: magic, version and size.
    ///
    /// # Errors
    /// [`TelemetryError::Missing`], `Magic`, `Version` or `Truncated`, each naming the path.
    pub fn open(path: &Path) -> Result<TelemetryReader, TelemetryError> {
        let file = match File::open(path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(TelemetryError::Missing { path: path.to_path_buf() })
            }
            Err(source) => return Err(TelemetryError::Io { path: path.to_path_buf(), source }),
        };
        // SAFETY: a read-only shared mapping. The writer never shrinks the file while running;
        // a file replaced underneath keeps our pages (we hold the inode open via the mapping).
        let map = unsafe { Mmap::map(&file) }.map_err(io_error(path))?;
        let reader = TelemetryReader { map, path: path.to_path_buf() };
        reader.validate()?;
        Ok(reader)
    }

    fn validate(&self) -> Result<(), TelemetryError> {
        let path = self.path.clone();
        let len = self.map.len();
        if len < 16 || self.map[0..8] != MAGIC {
            return Err(TelemetryError::Magic { path });
        }
        let version = self.word32(8);
        if version != LAYOUT_VERSION && version != LAYOUT_VERSION_NO_COUNTERS {
            return Err(TelemetryError::Version { path, found: version });
        }
        let truncated = |needed_bytes| TelemetryError::Truncated {
            path: path.clone(),
            found_bytes: len,
            needed_bytes,
        };
        if len < HEADER_BYTES {
            return Err(truncated(HEADER_BYTES));
        }
        let limits = self.limits();
        let needed = file_bytes(limits);
        let counters_ok = version == LAYOUT_VERSION_NO_COUNTERS
            || (self.word32(140) as usize == COUNTER_RECORD_BYTES
                && self.word64(144) as usize == counters_offset(limits));
        let layout_ok = self.word32(52) as usize == RING_RECORD_BYTES
            && self.word32(68) as usize == THREAD_RECORD_BYTES
            && self.word32(88) as usize == hist::BUCKETS
            && self.word64(72) as usize == threads_offset(limits)
            && counters_ok;
        if !layout_ok {
            return Err(TelemetryError::Version { path, found: version });
        }
        if len < needed {
            return Err(truncated(needed));
        }
        Ok(())
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The table sizes in the header (a version-1 file has no counters).
    fn limits(&self) -> TelemetryLimits {
        let counters_max = if self.word32(8) == LAYOUT_VERSION { self.word32(136) } else { 0 };
        TelemetryLimits { rings_max: self.word32(48), threads_max: self.word32(64), counters_max }
    }

    fn word64(&self, offset: usize) -> u64 {
        assert!(offset.is_multiple_of(8) && offset + 8 <= self.map.len());
        // SAFETY: in bounds, 8-aligned; the writer only ever stores whole words atomically.
        unsafe { (*(self.map.as_ptr().add(offset) as *const AtomicU64)).load(Ordering::Acquire) }
    }

    fn word32(&self, offset: usize) -> u32 {
        assert!(offset.is_multiple_of(4) && offset + 4 <= self.map.len());
        // SAFETY: as for `word64`.
        unsafe { (*(self.map.as_ptr().add(offset) as *const AtomicU32)).load(Ordering::Acquire) }
    }

    fn name(&self, offset: usize, len: usize) -> String {
        let mut bytes = Vec::with_capacity(len);
        for i in (0..len).step_by(4) {
            bytes.extend_from_slice(&self.word32(offset + i).to_le_bytes());
        }
        let end = bytes.iter().position(|b| *b == 0).unwrap_or(bytes.len());
        String::from_utf8_lossy(&bytes[..end]).into_owned()
    }

    /// Reads every published record.
    pub fn snapshot(&self) -> TelemetrySnapshot {
        let rings_max = self.word32(48);
        let threads_max = self.word32(64);
        let ring_count = self.word32(80).min(rings_max);
        let thread_count = self.word32(84).min(threads_max);
        let threads_base = self.word64(72) as usize;
        let limits = self.limits();
        let counter_count =
            if limits.counters_max == 0 { 0 } else { self.word32(152).min(limits.counters_max) };
        let counters_base = counters_offset(limits);
        TelemetrySnapshot {
            pid: self.word32(16),
            state: self.word32(20),
            start_unix_ms: self.word64(24),
            heartbeat_unix_ms: self.word64(32),
            tsc_hz: self.word64(40),
            profile: self.name(104, 32),
            rings: (0..ring_count as usize)
                .map(|i| self.ring(rings_offset() + i * RING_RECORD_BYTES))
                .collect(),
            threads: (0..thread_count as usize)
                .map(|i| self.thread(threads_base + i * THREAD_RECORD_BYTES))
                .collect(),
            counters: (0..counter_count as usize)
                .map(|i| {
                    let base = counters_base + i * COUNTER_RECORD_BYTES;
                    CounterRecord { name: self.name(base, 48), value: self.word64(base + 56) }
                })
                .collect(),
        }
    }

    fn ring(&self, base: usize) -> RingRecord {
        let p = base + RING_PRODUCER_OFFSET;
        let c = base + RING_CONSUMER_OFFSET;
        let h = base + RING_HIST_OFFSET;
        RingRecord {
            name: self.name(base, 48),
            capacity: self.word64(base + 48),
            msg_bytes: self.word32(base + 56),
            pushed: self.word64(p),
            full_stalls: self.word64(p + 8),
            popped: self.word64(c),
            hop_count: self.word64(c + 8),
            hop_sum_ticks: self.word64(c + 16),
            hop_max_ticks: self.word64(c + 24),
            hwm: self.word64(c + 32),
            hop_buckets: (0..hist::BUCKETS).map(|i| self.word64(h + i * 8)).collect(),
        }
    }

    fn thread(&self, base: usize) -> ThreadRecord {
        let core = self.word32(base + 32) as i32;
        let cpu_last = self.word32(base + 44);
        let r = base + THREAD_RUNTIME_OFFSET;
        ThreadRecord {
            name: self.name(base, 32),
            core: u32::try_from(core).ok(),
            policy: self.word32(base + 36),
            tid: self.word32(base + 40),
            cpu_last: (cpu_last != u32::MAX).then_some(cpu_last),
            loops: self.word64(r),
            work_loops: self.word64(r + 8),
            work_items: self.word64(r + 16),
            state: self.word32(r + 24),
        }
    }
}

/// The default run directory: `$HEDGER_RUN_DIR`, else `<tmp>/hedger`.
pub fn default_run_dir() -> PathBuf {
    std::env::var_os("HEDGER_RUN_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("hedger"))
}

/// The telemetry file of process `pid` in `run_dir`.
pub fn telemetry_path(run_dir: &Path, pid: u32) -> PathBuf {
    run_dir.join(format!("hedger-{pid}.tel"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_file(name: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(name);
        (dir, path)
    }

    #[test]
    fn written_counters_read_back_through_a_separate_mapping() {
        let (_dir, path) = temp_file("t.tel");
        let limits = TelemetryLimits { rings_max: 2, threads_max: 1, counters_max: 2 };
        let file = TelemetryFile::create(&path, limits, "compact", 2_600_000_000, 1_234).unwrap();
        let (producer, consumer) = file.register_ring("feed->hot", 1024, 64).unwrap();
        producer.store(10, 2);
        consumer.store_popped(7, 5);
        consumer.record_hop(100);
        consumer.record_hop(300);
        let thread = file.register_thread("hot", Some(1), 1).unwrap();
        thread.store_loops(1_000, 400, 7);
        thread.store_placement(4242, Some(1));
        thread.set_state(THREAD_RUNNING);
        let gaps = file.register_counter("bybit.gaps").unwrap();
        gaps.store(3);
        gaps.store(4);
        file.register_counter("bybit.connects").unwrap().store(1);
        assert!(matches!(
            file.register_counter("full"),
            Err(TelemetryError::Full { what: "counter", max: 2 })
        ));
        file.set_state(STATE_RUNNING);
        file.heartbeat(5_678);

        let snap = TelemetryReader::open(&path).unwrap().snapshot();
        assert_eq!(snap.pid, std::process::id());
        assert_eq!((snap.state, snap.start_unix_ms, snap.heartbeat_unix_ms), (1, 1_234, 5_678));
        assert_eq!((snap.tsc_hz, snap.profile.as_str()), (2_600_000_000, "compact"));
        assert_eq!(snap.rings.len(), 1);
        let ring = &snap.rings[0];
        assert_eq!((ring.name.as_str(), ring.capacity, ring.msg_bytes), ("feed->hot", 1024, 64));
        assert_eq!((ring.pushed, ring.full_stalls, ring.popped, ring.hwm), (10, 2, 7, 5));
        assert_eq!((ring.hop_count, ring.hop_sum_ticks, ring.hop_max_ticks), (2, 400, 300));
        assert_eq!(ring.depth(), 3);
        assert_eq!(ring.hop_buckets.iter().sum::<u64>(), 2);
        assert_eq!(ring.hop_buckets[hist::bucket_index(300)], 1);
        let t = &snap.threads[0];
        assert_eq!((t.name.as_str(), t.core, t.policy, t.tid), ("hot", Some(1), 1, 4242));
        assert_eq!((t.loops, t.work_loops, t.work_items, t.state), (1_000, 400, 7, 1));
        assert_eq!(t.cpu_last, Some(1));
        let counters: Vec<(&str, u64)> =
            snap.counters.iter().map(|c| (c.name.as_str(), c.value)).collect();
        assert_eq!(counters, vec![("bybit.gaps", 4), ("bybit.connects", 1)]);
    }

    /// A file of the previous layout (no counter table) still reads, with no counters.
    #[test]
    fn version_one_files_read_without_counters() {
        let (_dir, path) = temp_file("v1.tel");
        let limits = TelemetryLimits { rings_max: 1, threads_max: 1, counters_max: 0 };
        let file = TelemetryFile::create(&path, limits, "old", 1, 0).unwrap();
        file.register_ring("a", 2, 64).unwrap().0.store(5, 0);
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[8..12].copy_from_slice(&1u32.to_le_bytes());
        bytes[136..156].fill(0);
        std::fs::write(&path, &bytes).unwrap();
        let snap = TelemetryReader::open(&path).unwrap().snapshot();
        assert_eq!((snap.rings.len(), snap.rings[0].pushed, snap.counters.len()), (1, 5, 0));
    }

    #[test]
    fn slots_run_out_with_a_typed_error() {
        let (_dir, path) = temp_file("t.tel");
        let limits = TelemetryLimits { rings_max: 1, threads_max: 1, counters_max: 1 };
        let file = TelemetryFile::create(&path, limits, "p", 1, 0).unwrap();
        file.register_ring("a", 2, 64).unwrap();
        assert!(matches!(
            file.register_ring("b", 2, 64),
            Err(TelemetryError::Full { what: "ring", max: 1 })
        ));
    }

    #[test]
    fn missing_foreign_and_other_version_files_are_told_apart() {
        let (dir, path) = temp_file("none.tel");
        assert!(matches!(TelemetryReader::open(&path), Err(TelemetryError::Missing { .. })));
        let foreign = dir.path().join("foreign.tel");
        std::fs::write(&foreign, vec![7u8; 4096]).unwrap();
        assert!(matches!(TelemetryReader::open(&foreign), Err(TelemetryError::Magic { .. })));
        let other = dir.path().join("v3.tel");
        TelemetryFile::create(&other, TelemetryLimits::default(), "p", 1, 0).unwrap();
        let mut bytes = std::fs::read(&other).unwrap();
        bytes[8..12].copy_from_slice(&3u32.to_le_bytes());
        std::fs::write(&other, &bytes).unwrap();
        assert!(matches!(
            TelemetryReader::open(&other),
            Err(TelemetryError::Version { found: 3, .. })
        ));
        std::fs::write(&other, &bytes[..1000]).unwrap();
        bytes[8..12].copy_from_slice(&2u32.to_le_bytes());
        std::fs::write(&other, &bytes[..1000]).unwrap();
        assert!(matches!(TelemetryReader::open(&other), Err(TelemetryError::Truncated { .. })));
    }

    #[test]
    fn long_names_are_cut_on_a_char_boundary() {
        let (_dir, path) = temp_file("t.tel");
        let file = TelemetryFile::create(&path, TelemetryLimits::default(), "p", 1, 0).unwrap();
        let long = "é".repeat(40);
        file.register_ring(&long, 2, 64).unwrap();
        let snap = TelemetryReader::open(&path).unwrap().snapshot();
        assert_eq!(snap.rings[0].name, "é".repeat(23));
    }
}
