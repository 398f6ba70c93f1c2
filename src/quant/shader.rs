//! The WGSL snippet of each format (shaders/quant/<format>.wgsl), assembled in front of a
//! kernel body. Every snippet defines the same names with its format's suffix
//! (BLOCK_SIZE_Q4_K, BLOCK_WORDS_Q4_K, CHUNKS_PER_BLOCK_Q4_K, load_chunk_q4_k), so one
//! kernel body serves every format, and one shader can hold several: a matrix whose row
//! segments have different formats (Q/K/V with a Q8_0 V) is one dispatch.

use super::DType;

const COMMON: &str = include_str!("../../shaders/quant/common.wgsl");
const K_SCALE_MIN: &str = include_str!("../../shaders/quant/k_scale_min.wgsl");

/// The most formats one matrix's row segments may have (Q, K and V).
pub const MAX_SEGMENTS: usize = 3;

/// The formats of a matrix's row segments, in row order (one for most matrices): what a
/// matmul pipeline is specialised for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MatrixFormats {
    list: [DType; MAX_SEGMENTS],
    len: u8,
}

impl MatrixFormats {
    pub fn one(dtype: DType) -> MatrixFormats {
        MatrixFormats { list: [dtype; MAX_SEGMENTS], len: 1 }
    }

    /// The formats of 1 to MAX_SEGMENTS segments, else None.
    pub fn of(formats: &[DType]) -> Option<MatrixFormats> {
        let mut list = [*formats.first()?; MAX_SEGMENTS];
        list.get_mut(..formats.len())?.copy_from_slice(formats);
        Some(MatrixFormats { list, len: formats.len() as u8 })
    }

    pub fn as_slice(&self) -> &[DType] {
        &self.list[..usize::from(self.len)]
    }
}

/// `Q4_1`, or `Q5_0+Q8_0` for a matrix of two formats.
impl std::fmt::Display for MatrixFormats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.as_slice().iter().map(|d| d.name()).collect();
        f.write_str(&names.join("+"))
    }
}

fn snippet(dtype: DType) -> &'static str {
    match dtype {
        DType::F32 => include_str!("../../shaders/quant/f32.wgsl"),
        DType::F16 => include_str!("../../shaders/quant/f16.wgsl"),
        DType::BF16 => include_str!("../../shaders/quant/bf16.wgsl"),
        DType::Q4_0 => include_str!("../../shaders/quant/q4_0.wgsl"),
        DType::Q4_1 => include_str!("../../shaders/quant/q4_1.wgsl"),
        DType::Q5_0 => include_str!("../../shaders/quant/q5_0.wgsl"),
        DType::Q5_1 => include_str!("../../shaders/quant/q5_1.wgsl"),
        DType::Q8_0 => include_str!("../../shaders/quant/q8_0.wgsl"),
        DType::Q2_K => include_str!("../../shaders/quant/q2_k.wgsl"),
        DType::Q3_K => include_str!("../../shaders/quant/q3_k.wgsl"),
        DType::Q4_K => include_str!("../../shaders/quant/q4_k.wgsl"),
        DType::Q5_K => include_str!("../../shaders/quant/q5_k.wgsl"),
        DType::Q6_K => include_str!("../../shaders/quant/q6_k.wgsl"),
    }
}

/// The suffix of a format's names in its snippet (`q4_k`; constants take it upper-cased).
fn suffix(dtype: DType) -> String {
    dtype.name().to_lowercase()
}

/// The snippets of `formats` (each once) after the shared helpers.
fn snippets(formats: &[DType]) -> String {
    let mut out = String::from(COMMON);
    if formats.iter().any(|d| matches!(d, DType::Q4_K | DType::Q5_K)) {
        out.push_str(K_SCALE_MIN);
    }
    for (i, &d) in formats.iter().enumerate() {
        if !formats[..i].contains(&d) {
            out.push_str(snippet(d));
        }
    }
    out
}

/// The WGSL that gives a kernel body `load_chunk`, BLOCK_SIZE, BLOCK_WORDS and
/// CHUNKS_PER_BLOCK for `dtype`.
pub fn wgsl(dtype: DType) -> String {
    let (s, u) = (suffix(dtype), suffix(dtype).to_uppercase());
    snippets(&[dtype])
        + &format!(
            "const BLOCK_SIZE: u32 = BLOCK_SIZE_{u};\nconst BLOCK_WORDS: u32 = BLOCK_WORDS_{u};\n\
             const CHUNKS_PER_BLOCK: u32 = CHUNKS_PER_BLOCK_{u};\n\
             fn load_chunk(bw: u32, sub: u32) {{ load_chunk_{s}(bw, sub); }}\n"
        )
}

/// The WGSL through which the matmul kernels read a matrix made of row segments, segment s
/// in `formats[s]` (one to MAX_SEGMENTS), each starting at a row and a word of the bound
/// weights that the kernel's parameters give (`p.seg0_word`, `p.seg1_row`, `p.seg1_word`,
/// `p.seg2_row`, `p.seg2_word`; segment 0 starts at row 0):
///   weight_segment(row) -> u32        the segment holding a row
///   weight_row_word(seg, row) -> u32  where the row starts, in words
///   load_weight_chunk(seg, word, c)   fills `chunk` with columns 32c .. 32c + 31 of the
///                                     row starting at `word`
///   load_weight_chunk_i8(seg, word, c) the same as chunk_q and chunk_dm, where every
///                                     format has the integer reader (`has_i8_chunks`)
/// A segment branch is uniform wherever a workgroup's rows lie in one segment (all but
/// those straddling a boundary), and with one format there is none.
pub fn matrix_wgsl(formats: MatrixFormats) -> String {
    let formats = formats.as_slice();
    let start = |s: usize| match s {
        0 => ("0u".to_string(), "p.seg0_word".to_string()),
        s => (format!("p.seg{s}_row"), format!("p.seg{s}_word")),
    };
    let mut segment = String::from("fn weight_segment(row: u32) -> u32 {\n    var s = 0u;\n");
    let mut word = String::from("fn weight_row_word(seg: u32, row: u32) -> u32 {\n");
    let mut load = String::from("fn load_weight_chunk(seg: u32, word: u32, c: u32) {\n");
    // The integer reader, where every format has one (`has_i8_chunks`).
    let i8_reader = has_i8_chunks(formats);
    let mut load_i8 = String::from("fn load_weight_chunk_i8(seg: u32, word: u32, c: u32) {\n");
    for (s, &d) in formats.iter().enumerate() {
        let ((row, first_word), f, u) = (start(s), suffix(d), suffix(d).to_uppercase());
        // The last segment takes every row past the others.
        let when = if s + 1 < formats.len() { format!("if (seg == {s}u) ") } else { String::new() };
        if s > 0 {
            segment += &format!("    s += u32(row >= {row});\n");
        }
        word += &format!("    {when}{{ return {first_word} + (row - {row}) * ((p.cols / BLOCK_SIZE_{u}) * BLOCK_WORDS_{u}); }}\n");
        load += &format!(
            "    {when}{{ load_chunk_{f}(word + (c / CHUNKS_PER_BLOCK_{u}) * BLOCK_WORDS_{u}, c % CHUNKS_PER_BLOCK_{u}); return; }}\n"
        );
        load_i8 += &format!(
            "    {when}{{ load_chunk_i8_{f}(word + (c / CHUNKS_PER_BLOCK_{u}) * BLOCK_WORDS_{u}, c % CHUNKS_PER_BLOCK_{u}); return; }}\n"
        );
    }
    let load_i8 = if i8_reader { load_i8 + "}\n" } else { String::new() };
    snippets(formats) + &segment + "    return s;\n}\n" + &word + "}\n" + &load + "}\n" + &load_i8
}

/// Whether every one of `formats` has the integer chunk reader (`load_chunk_i8_<format>` in
/// its snippet, see shaders/quant/common.wgsl) that shaders/gemm_dp4a.wgsl needs: every
/// integer format (a scale, and maybe a minimum, per 16 or 32 values). The float formats have
/// none: a matrix with any of them keeps the f32 GEMM.
pub fn has_i8_chunks(formats: &[DType]) -> bool {
    use DType::*;
    formats.iter().all(|d| matches!(d, Q4_0 | Q4_1 | Q5_0 | Q5_1 | Q8_0 | Q2_K | Q3_K | Q4_K | Q5_K | Q6_K))
}
