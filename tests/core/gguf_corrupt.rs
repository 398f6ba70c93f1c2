//! Bad input to the GGUF reader: truncation at every header offset, random byte flips,
//! absurd sizes, non-GGUF files. Every case must give an error or a valid header: no
//! panic, no hang, and no allocation out of proportion to the bytes given.

use crate::common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use common::gguf_writer::{GgufWriter, Tensor, Val, put_str};
use hearth::Error;
use hearth::gguf::{GgufFile, GgufHeader, Parsed};

// ---- per-thread allocation accounting -------------------------------------------------

/// Counts the live and peak heap bytes of the current thread, so each test thread can
/// measure what one parse allocates while other tests run beside it.
struct CountingAlloc;

thread_local! {
    static LIVE: Cell<usize> = const { Cell::new(0) };
    static PEAK: Cell<usize> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = LIVE.try_with(|l| {
            let now = l.get() + layout.size();
            l.set(now);
            let _ = PEAK.try_with(|p| p.set(p.get().max(now)));
        });
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        let _ = LIVE.try_with(|l| l.set(l.get().saturating_sub(layout.size())));
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

/// Runs `f` and returns its result with the peak heap bytes it added on this thread.
fn peak_alloc<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let base = LIVE.with(Cell::get);
    PEAK.with(|p| p.set(base));
    let out = f();
    (out, PEAK.with(Cell::get) - base)
}

/// What a parse may allocate for `n` input bytes: the header's strings and arrays are
/// copies of input bytes, with per-element overhead (a 24-byte `String` for an 8-byte
/// length prefix), so 4× the input, plus a small constant for maps and error messages.
fn alloc_budget(n: usize) -> usize {
    4 * n + (64 << 10)
}

/// Parses `bytes` as a whole file, asserting the outcome is an error or a header and that
/// the allocation stayed within budget. Returns whether it parsed.
fn parse_checked(bytes: &[u8], context: &dyn Fn() -> String) -> bool {
    let (res, peak) = peak_alloc(|| GgufHeader::parse(bytes, Some(bytes.len() as u64)));
    assert!(peak <= alloc_budget(bytes.len()), "{}: parse allocated {peak} bytes for {} input bytes", context(), bytes.len());
    match res {
        Ok(Parsed::Complete(_)) => true,
        Ok(Parsed::NeedMore { .. }) => {
            panic!("{}: NeedMore although the file length was given", context())
        }
        Err(_) => false,
    }
}

fn smollm_header_bytes() -> (Vec<u8>, u64) {
    let path = common::model_path(common::SMOLLM2);
    let mut f = GgufFile::open(&path).unwrap();
    let data_offset = f.header().data_offset;
    (f.read_range(0, data_offset).unwrap(), f.len())
}

// ---- truncation ------------------------------------------------------------------------

/// Truncated inside the header (magic, metadata, tensor infos, padding): always an error,
/// never a panic. Every offset of the first 8 KiB (the fixed header, the first keys of every
/// value type, the starts of the big token arrays) and of the last 32 KiB (the end of the
/// merges array, all 272 tensor infos, the padding), and every 61st offset in between (the
/// string arrays: a prime stride lands on every position within a string and its length).
/// ~70k parses; every one of the 1.8M offsets took 200 s on a slow CI machine.
#[test]
fn smollm2_truncated_in_the_header_is_an_error() {
    let (header, _) = smollm_header_bytes();
    let n = header.len();
    let (head, tail) = (8 << 10, n - (32 << 10));
    let offsets: Vec<usize> = (0..head).chain((head..tail).step_by(61)).chain(tail..n).collect();
    let threads = std::thread::available_parallelism().map_or(2, |p| p.get()).min(8);
    std::thread::scope(|s| {
        for t in 0..threads {
            let (header, offsets) = (&header, &offsets);
            s.spawn(move || {
                for &k in offsets.iter().skip(t).step_by(threads) {
                    let prefix = &header[..k];
                    let (res, peak) = peak_alloc(|| GgufHeader::parse(prefix, Some(k as u64)));
                    assert!(res.is_err(), "truncated at {k}: parsed as a complete header");
                    assert!(peak <= alloc_budget(k), "truncated at {k}: allocated {peak} bytes");
                }
            });
        }
    });
}

#[test]
fn truncation_errors_name_the_field_and_offset() {
    let (header, _) = smollm_header_bytes();
    // Inside the tokenizer.ggml.tokens array (the first large array of SmolLM2).
    let k = 100_000;
    let err = GgufHeader::parse(&header[..k], Some(k as u64)).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, Error::Truncated { .. }), "{msg}");
    assert!(msg.contains("tokenizer.ggml.tokens") && msg.contains("100000"), "{msg}");
    // Inside the tensor infos.
    let k = header.len() - 100;
    let msg = GgufHeader::parse(&header[..k], Some(k as u64)).unwrap_err().to_string();
    assert!(msg.contains("tensor"), "{msg}");
    // The file cut inside tensor data: the header is whole, a tensor's range is not.
    let (full, _) = smollm_header_bytes();
    let mut cut = full.clone();
    cut.extend(std::iter::repeat_n(0u8, 1000));
    let err = GgufHeader::parse(&cut, Some(cut.len() as u64)).unwrap_err();
    assert!(matches!(&err, Error::Truncated { what, .. } if what.contains("token_embd.weight")), "{err}");
}

// ---- random corruption -----------------------------------------------------------------

/// xorshift64*: a tiny seeded generator so failures reproduce.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// 2,000 seeded random positions in the header, one flipped byte each (the parse sees the
/// whole file's length), plus 200 trials with ten flips at once.
#[test]
fn smollm2_with_flipped_header_bytes_errors_or_parses() {
    let (header, file_len) = smollm_header_bytes();
    // The header plus enough zero "tensor data" that a valid header still fits the file.
    let mut bytes = header.clone();
    bytes.resize(file_len as usize, 0);
    let mut rng = Rng(0x5eed_cafe);
    let (mut ok, mut err) = (0, 0);
    for trial in 0..2200 {
        let flips = if trial < 2000 { 1 } else { 10 };
        let mut changed = Vec::new();
        for _ in 0..flips {
            let pos = rng.below(header.len());
            let mask = (rng.below(255) + 1) as u8;
            bytes[pos] ^= mask;
            changed.push((pos, mask));
        }
        if parse_checked(&bytes, &|| format!("trial {trial}, flips {changed:?}")) {
            ok += 1;
        } else {
            err += 1;
        }
        for (pos, mask) in changed.into_iter().rev() {
            bytes[pos] ^= mask;
        }
    }
    // Flips inside token strings or float values leave a valid header; flips in lengths,
    // counts and type tags must not. Both outcomes must occur or the test is not probing.
    assert!(ok > 0 && err > 0, "ok {ok}, err {err}");
}

// ---- absurd sizes ----------------------------------------------------------------------

#[test]
fn a_string_claiming_2_pow_60_bytes_is_an_error_without_allocation() {
    let mut raw = Vec::new();
    raw.extend((1u64 << 60).to_le_bytes()); // string length
    raw.extend(b"abc");
    let bytes = GgufWriter::default().write(&[("general.name", Val::Raw(8, raw))], &[], &[]);
    let (res, peak) = peak_alloc(|| GgufHeader::parse(&bytes, Some(bytes.len() as u64)));
    let err = res.unwrap_err();
    assert!(matches!(err, Error::Truncated { .. }), "{err}");
    assert!(err.to_string().contains("general.name"), "{err}");
    assert!(peak < 64 << 10, "allocated {peak} bytes");
    // With the length unknown (streaming), the claim is over the header size limit.
    let err = GgufHeader::parse(&bytes, None).unwrap_err();
    assert!(matches!(err, Error::TooLarge { .. }), "{err}");
}

#[test]
fn an_array_claiming_2_pow_40_strings_is_an_error_without_allocation() {
    let mut raw = Vec::new();
    raw.extend(8u32.to_le_bytes());
    raw.extend((1u64 << 40).to_le_bytes());
    put_str(&mut raw, "a");
    let bytes = GgufWriter::default().write(&[("tokenizer.ggml.tokens", Val::Raw(9, raw))], &[], &[]);
    let (res, peak) = peak_alloc(|| GgufHeader::parse(&bytes, Some(bytes.len() as u64)));
    assert!(matches!(res, Err(Error::Truncated { .. })), "{res:?}");
    assert!(peak < 64 << 10, "allocated {peak} bytes");
}

#[test]
fn a_tensor_claiming_2_pow_40_elements_is_an_error_without_allocation() {
    let tensor = Tensor { name: "huge.weight", dims: vec![1 << 20, 1 << 20], ggml_type: 0, offset: 0 };
    let bytes = GgufWriter::default().write(&[("general.architecture", Val::Str("llama"))], &[tensor], &[0; 64]);
    let (res, peak) = peak_alloc(|| GgufHeader::parse(&bytes, Some(bytes.len() as u64)));
    let err = res.unwrap_err();
    assert!(matches!(&err, Error::Truncated { what, .. } if what.contains("huge.weight")), "{err}");
    assert!(peak < 64 << 10, "allocated {peak} bytes");
    // Dimensions whose product overflows u64.
    let tensor = Tensor { name: "overflow", dims: vec![1 << 40, 1 << 40], ggml_type: 0, offset: 0 };
    let bytes = GgufWriter::default().write(&[], &[tensor], &[]);
    let err = GgufHeader::parse(&bytes, Some(bytes.len() as u64)).unwrap_err();
    assert!(matches!(err, Error::Corrupt { .. }) && err.to_string().contains("overflow"), "{err}");
}

#[test]
fn counts_larger_than_the_file_are_errors() {
    let mut bytes = GgufWriter::default().write(&[], &[], &[]);
    bytes[8..16].copy_from_slice(&u64::MAX.to_le_bytes()); // tensor count
    let err = GgufHeader::parse(&bytes, Some(bytes.len() as u64)).unwrap_err();
    assert!(matches!(err, Error::Truncated { .. }), "{err}");
    let mut bytes = GgufWriter::default().write(&[], &[], &[]);
    bytes[16..24].copy_from_slice(&(1u64 << 50).to_le_bytes()); // metadata count
    let err = GgufHeader::parse(&bytes, None).unwrap_err();
    assert!(matches!(err, Error::TooLarge { .. }), "{err}");
}

// ---- wrong kinds of file ---------------------------------------------------------------

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";

#[test]
fn a_png_and_an_empty_file_are_not_gguf() {
    for (name, bytes) in [("png", PNG), ("empty", &b""[..]), ("short", &b"GG"[..])] {
        let err = GgufHeader::parse(bytes, Some(bytes.len() as u64)).unwrap_err();
        assert!(matches!(err, Error::NotGguf { .. }), "{name}: {err}");
    }
    // Streaming: a PNG is rejected from its first byte, a "GG" prefix may still be GGUF.
    assert!(matches!(GgufHeader::parse(&PNG[..1], None), Err(Error::NotGguf { .. })));
    assert!(matches!(GgufHeader::parse(b"GG", None), Ok(Parsed::NeedMore { total_bytes: 4 })));

    let dir = std::env::temp_dir().join(format!("hearth-gguf-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let png = dir.join("model.gguf");
    std::fs::write(&png, PNG).unwrap();
    assert!(matches!(GgufFile::open(&png), Err(Error::NotGguf { .. })));
    let empty = dir.join("empty.gguf");
    std::fs::write(&empty, b"").unwrap();
    assert!(matches!(GgufFile::open(&empty), Err(Error::NotGguf { .. })));
    let missing = GgufFile::open(dir.join("missing.gguf")).err().unwrap();
    assert!(matches!(missing, Error::Io { .. }) && missing.to_string().contains("missing.gguf"), "{missing}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn unsupported_versions_and_tensor_types_are_named() {
    let bytes = GgufWriter { version: 1, ..Default::default() }.write(&[], &[], &[]);
    let err = GgufHeader::parse(&bytes, Some(bytes.len() as u64)).unwrap_err();
    assert!(matches!(err, Error::UnsupportedGgufVersion { version: 1 }), "{err}");

    let tensor = Tensor { name: "blk.0.ffn_up.weight", dims: vec![256], ggml_type: 16, offset: 0 };
    let bytes = GgufWriter::default().write(&[], &[tensor], &[0; 256]);
    let err = GgufHeader::parse(&bytes, Some(bytes.len() as u64)).unwrap_err();
    assert!(
        matches!(&err, Error::UnsupportedTensorType { tensor, type_id: 16, type_name: "IQ2_XXS" } if tensor == "blk.0.ffn_up.weight"),
        "{err}"
    );
    assert!(err.to_string().contains("blk.0.ffn_up.weight") && err.to_string().contains("IQ2_XXS"));
}

#[test]
fn structural_errors_are_corrupt_with_offsets() {
    // Unknown metadata value type.
    let bytes = GgufWriter::default().write(&[("x", Val::Raw(99, vec![]))], &[], &[]);
    let err = GgufHeader::parse(&bytes, Some(bytes.len() as u64)).unwrap_err();
    assert!(matches!(err, Error::Corrupt { offset: 33, .. }), "{err}");
    // Duplicate keys.
    let bytes = GgufWriter::default().write(&[("k", Val::U32(1)), ("k", Val::U32(2))], &[], &[]);
    assert!(GgufHeader::parse(&bytes, Some(bytes.len() as u64)).unwrap_err().to_string().contains("duplicate"));
    // Misaligned tensor offset, and a Q4_0 row that is not a whole number of blocks.
    let t = Tensor { name: "t", dims: vec![8], ggml_type: 0, offset: 4 };
    let bytes = GgufWriter::default().write(&[], &[t], &[0; 64]);
    assert!(GgufHeader::parse(&bytes, Some(bytes.len() as u64)).unwrap_err().to_string().contains("alignment"));
    let t = Tensor { name: "q", dims: vec![33], ggml_type: 2, offset: 0 };
    let bytes = GgufWriter::default().write(&[], &[t], &[0; 64]);
    assert!(GgufHeader::parse(&bytes, Some(bytes.len() as u64)).unwrap_err().to_string().contains("blocks"));
    // Overlapping tensors.
    let a = Tensor { name: "a", dims: vec![16], ggml_type: 0, offset: 0 };
    let b = Tensor { name: "b", dims: vec![16], ggml_type: 0, offset: 32 };
    let bytes = GgufWriter::default().write(&[], &[a, b], &[0; 128]);
    assert!(GgufHeader::parse(&bytes, Some(bytes.len() as u64)).unwrap_err().to_string().contains("overlap"));
    // A non power-of-two alignment.
    let bytes = GgufWriter::default().write(&[("general.alignment", Val::U32(24))], &[], &[]);
    assert!(GgufHeader::parse(&bytes, Some(bytes.len() as u64)).unwrap_err().to_string().contains("general.alignment"));
    // Invalid UTF-8 in a string value.
    let mut raw = Vec::new();
    raw.extend(2u64.to_le_bytes());
    raw.extend([0xff, 0xfe]);
    let bytes = GgufWriter::default().write(&[("general.name", Val::Raw(8, raw))], &[], &[]);
    assert!(GgufHeader::parse(&bytes, Some(bytes.len() as u64)).unwrap_err().to_string().contains("UTF-8"));
}

#[test]
fn a_small_valid_file_round_trips() {
    let tensors =
        [Tensor { name: "a", dims: vec![4, 2], ggml_type: 0, offset: 0 }, Tensor { name: "b", dims: vec![32], ggml_type: 8, offset: 32 }];
    let kvs = [("general.architecture", Val::Str("llama")), ("tokenizer.ggml.tokens", Val::StrArray(&["<s>", "é", "🙂"]))];
    let bytes = GgufWriter::default().write(&kvs, &tensors, &[0; 96]);
    let h = GgufHeader::parse_complete(&bytes).unwrap();
    assert_eq!(h.metadata.str_array("tokenizer.ggml.tokens").unwrap(), ["<s>", "é", "🙂"]);
    assert_eq!(h.tensors[1].n_bytes, 34);
    assert_eq!(h.tensors[1].start, h.data_offset + 32);
    assert_eq!(h.data_offset % 32, 0);
}
