//! Blocks read a group at a time from the weights' texture mirror (lavapipe's decode GEMVs).
//!
//! Why: there a texel fetch costs ~75 cycles and the fetches set a GEMV's speed, but a block
//! of the small formats is not a whole number of texels, so reading blocks one at a time
//! fetches texels twice: a Q8_0 block (9 words) takes 3 fetches, 12 for 4 blocks that lie in 9
//! texels; a Q4_0/Q4_1 block (5 words) 2, 8 for 4 blocks in 5 texels. A group of consecutive
//! blocks of one row fetches its texels once (`fetch_weight_group`), then decodes each block
//! from them (`load_weight_chunk_in_group`, through the format's `chunk_of_<format>`), its
//! words at positions known when the shader is compiled.
//!
//! Rows must start on a texel or 2 words into one (`mid_texel`: one more texel, and each word
//! picked by the row's start), as they do where every segment starts on a texel
//! (src/gpu/stack.rs) and a row is an even number of words.

use super::DType;
use super::gpu_layout::gpu_block_bytes;

/// How many blocks of a row one fetch group holds, for shaders/matmul.wgsl's `CHUNK_GROUP`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ChunkGroup {
    dtype: DType,
    /// Blocks per group: 2 or 4, dividing the row's blocks.
    blocks: u32,
    /// Rows start 2 words into a texel as well as on one.
    mid_texel: bool,
}

impl ChunkGroup {
    /// The group for a matrix of `cols` columns in `dtype`, where reading groups saves fetches
    /// (a format of one block per 32 columns that is not whole texels); else None.
    pub fn for_rows(dtype: DType, cols: u32) -> Option<ChunkGroup> {
        let (words, fetches_per_block) = block_words_and_fetches(dtype)?;
        let blocks_per_row = cols / 32;
        let row_words = blocks_per_row * words;
        if cols % 32 != 0 || row_words % 2 != 0 {
            return None;
        }
        [4, 2]
            .into_iter()
            .filter(|&blocks| blocks_per_row % blocks == 0)
            // A group starts where its row does, plus whole groups.
            .map(|blocks| ChunkGroup { dtype, blocks, mid_texel: row_words % 4 != 0 || blocks * words % 4 != 0 })
            .find(|g| g.texels() < g.blocks * fetches_per_block)
    }

    pub fn blocks(self) -> u32 {
        self.blocks
    }

    /// Texels one group fetches.
    pub fn texels(self) -> u32 {
        let (words, _) = block_words_and_fetches(self.dtype).expect("checked by for_rows");
        (self.blocks * words + if self.mid_texel { 2 } else { 0 }).div_ceil(4)
    }

    /// A label for the pipeline: `_g4`, or `_g4m` where rows may start mid-texel.
    pub fn label(self) -> String {
        format!("_g{}{}", self.blocks, if self.mid_texel { "m" } else { "" })
    }
}

/// Words a block takes in the GPU layout, and the texel fetches its reader makes one block at
/// a time (w_word_quad, w_word_oct, w_six_at_even in src/gpu/pipelines.rs), for the formats
/// of one block per 32 columns that are not whole texels.
fn block_words_and_fetches(dtype: DType) -> Option<(u32, u32)> {
    let fetches = match dtype {
        DType::Q4_0 | DType::Q4_1 | DType::Q5_0 | DType::Q5_1 => 2,
        DType::Q8_0 => 3,
        _ => return None,
    };
    Some((gpu_block_bytes(dtype) as u32 / 4, fetches))
}

/// The WGSL behind shaders/matmul.wgsl's group reads: `CHUNK_GROUP`, `fetch_weight_group(seg,
/// word, c)` and `load_weight_chunk_in_group(seg, word, c, g)` (block c + g of the row starting
/// at `word`). Without a group they read a block at a time through `load_weight_chunk`.
/// Needs the texture's `w_texel` (src/gpu/pipelines.rs) and the format's snippet. `raw`: the
/// blocks decoded raw (src/quant/raw_chunks.rs; `chunk_raw_of_<format>`, or without a group
/// `load_weight_chunk_raw`).
pub fn chunk_group_wgsl(group: Option<ChunkGroup>, raw: bool) -> String {
    let raw_prefix = if raw { "raw_" } else { "" };
    let Some(g) = group else {
        return format!(
            "const CHUNK_GROUP: u32 = 1u;\n\
             fn fetch_weight_group(seg: u32, word: u32, c: u32) {{}}\n\
             fn load_weight_chunk_in_group(seg: u32, word: u32, c: u32, g: u32) {{ load_weight_chunk{}(seg, word, c + g); }}\n",
            if raw { "_raw" } else { "" }
        );
    };
    let (words, _) = block_words_and_fetches(g.dtype).expect("checked by for_rows");
    let name = g.dtype.name().to_lowercase();
    let w = |o: u32| format!("group_word(b + {o}u)");
    let quad = |o: u32| format!("vec4<u32>({}, {}, {}, {})", w(o), w(o + 1), w(o + 2), w(o + 3));
    let block = match words {
        5 => format!("WordQuad({}, {})", w(0), quad(1)),
        9 => format!("WordOct({}, array<vec4<u32>, 2>({}, {}))", w(0), quad(1), quad(5)),
        _ => format!("array<vec4<u32>, 2>({}, vec4<u32>({}, {}, 0u, 0u))", quad(0), w(4), w(5)),
    };
    let (texels, blocks) = (g.texels(), g.blocks);
    // Word i of the group: word i of the texels fetched, or word i + 2 where the group starts
    // 2 words into its first texel.
    let word = if g.mid_texel {
        "select(group_texels[i / 4u][i % 4u], group_texels[(i + 2u) / 4u][(i + 2u) % 4u], group_mid)"
    } else {
        "group_texels[i / 4u][i % 4u]"
    };
    format!(
        "const CHUNK_GROUP: u32 = {blocks}u;
var<private> group_texels: array<vec4<u32>, {texels}>;
var<private> group_mid: bool;
fn fetch_weight_group(seg: u32, word: u32, c: u32) {{
    let first = word + c * {words}u;
    group_mid = (first & 2u) != 0u;
    for (var i = 0u; i < {texels}u; i++) {{
        group_texels[i] = w_texel((first >> 2u) + i);
    }}
}}
fn group_word(i: u32) -> u32 {{
    return {word};
}}
fn load_weight_chunk_in_group(seg: u32, word: u32, c: u32, g: u32) {{
    let b = {words}u * g;
    chunk_{raw_prefix}of_{name}({block});
}}
"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_only_where_they_save_fetches() {
        // SmolLM2's rows: 576 columns (18 blocks, rows of 90 words start mid-texel every
        // other row), 1,536 (48 blocks, 240 words).
        let g = ChunkGroup::for_rows(DType::Q4_1, 576).unwrap();
        assert_eq!((g.blocks(), g.mid_texel, g.texels()), (2, true, 3));
        let g = ChunkGroup::for_rows(DType::Q4_1, 1536).unwrap();
        assert_eq!((g.blocks(), g.mid_texel, g.texels()), (4, false, 5));
        // Gemma 3's and Qwen2.5's Q8_0 heads: 640 and 896 columns (20 and 28 blocks).
        let g = ChunkGroup::for_rows(DType::Q8_0, 640).unwrap();
        assert_eq!((g.blocks(), g.mid_texel, g.texels()), (4, false, 9));
        assert_eq!(ChunkGroup::for_rows(DType::Q8_0, 896).unwrap().texels(), 9);
        let g = ChunkGroup::for_rows(DType::Q5_0, 896).unwrap();
        assert_eq!((g.blocks(), g.texels()), (4, 6));
        // Odd rows of Q4_1 (9 blocks: 45 words) and formats of whole texels: none.
        assert_eq!(ChunkGroup::for_rows(DType::Q4_1, 288), None);
        assert_eq!(ChunkGroup::for_rows(DType::Q4_K, 1024), None);
        assert_eq!(ChunkGroup::for_rows(DType::F32, 1024), None);
    }
}
