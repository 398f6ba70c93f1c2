//! shaders/embed.wgsl (embedding row gather) for every weight format against the CPU
//! reference dequantiser (itself checked against the `gguf` Python package in
//! tests/core/quant_dequantize.rs), including tables split across several bindings.

use crate::common;

use common::kernels::{read_tensor, submit, u32_buffer, zeros};
use common::quant_blocks::{row_unit, tiled_matrix};
use hearth::gpu::{GpuContext, GpuMatrix, GpuOptions, PipelineCache};
use hearth::kernels::embed::embed;
use hearth::quant::{self, DType};

/// Gathers `ids` from a `rows × cols` table of fixture blocks; returns (GPU rows, reference
/// rows in f64, number of parts the table was split into).
fn run_embed(ctx: &GpuContext, dtype: DType, rows: usize, cols: usize, ids: &[u32], scale: f32) -> (Vec<f32>, Vec<f64>, usize) {
    let bytes = tiled_matrix(dtype, rows, cols);
    let table = GpuMatrix::upload(ctx, "token_embd", dtype, rows as u32, cols as u32, &bytes).unwrap();
    let cache = PipelineCache::default();
    let ids_buffer = u32_buffer(ctx, ids);
    let out = zeros(ctx, "out", ids.len(), cols);
    let dispatches = pollster::block_on(embed(ctx, &cache, &table, &ids_buffer, &out, ids.len() as u32, scale)).unwrap();
    submit(ctx, ids.len() as u32, &dispatches);
    let got = read_tensor(ctx, &out);

    let values = quant::dequantize_to_vec(dtype, &bytes).unwrap();
    let want = ids.iter().flat_map(|&id| values[id as usize * cols..][..cols].iter().map(|&v| f64::from(v) * f64::from(scale))).collect();
    (got, want, table.parts.len())
}

/// The GPU dequantises the same bits with the same f32 formula as the CPU reference, but
/// may fuse `d * q + m` into one rounding (or not), and the scale adds one more: each is
/// at most half an f32 ulp of the largest term, so 2 ulps of the row's largest magnitude
/// bounds the difference. A wrong nibble, scale or row moves a value by far more.
fn assert_rows_close(label: &str, got: &[f32], want: &[f64], cols: usize) {
    assert_eq!(got.len(), want.len(), "{label}");
    for (t, (g_row, w_row)) in got.chunks(cols).zip(want.chunks(cols)).enumerate() {
        let largest = w_row.iter().fold(0f64, |m, v| m.max(v.abs()));
        let tol = 2.0 * f64::from(f32::EPSILON) * largest;
        for (c, (&g, &w)) in g_row.iter().zip(w_row).enumerate() {
            assert!((f64::from(g) - w).abs() <= tol, "{label}: token {t} column {c}: {g}, want {w} (tolerance {tol:.2e})");
        }
    }
}

#[test]
fn embed_matches_cpu_reference_for_every_format() {
    let ctx = common::gpu();
    for dtype in DType::ALL {
        // 70 chunks of 32 columns: more than one 64-thread workgroup per row.
        let cols = (70 * 32usize).next_multiple_of(row_unit(dtype));
        let rows = 37;
        // First and last row, repeats, and an order that is not sorted.
        let ids = [5, 0, 36, 5, 17, 1, 35, 0, 22, 9, 30];
        for scale in [1.0, 25.3] {
            let (got, want, _) = run_embed(&ctx, dtype, rows, cols, &ids, scale);
            assert_rows_close(&format!("{dtype} scale {scale}"), &got, &want, cols);
        }
    }
}

#[test]
fn tables_split_across_bindings_gather_every_row() {
    // A 4 KiB binding limit splits each table into parts of a few rows; the ids include the
    // last row of one part and the first of the next, for every part.
    let limit = 4096;
    let ctx = common::gpu_with(GpuOptions { max_storage_binding: Some(limit), ..Default::default() });
    for dtype in DType::ALL {
        let cols = 2 * row_unit(dtype).max(128);
        let rows = 61;
        let table = GpuMatrix::upload(&ctx, "t", dtype, rows as u32, cols as u32, &tiled_matrix(dtype, rows, cols)).unwrap();
        assert!(table.parts.len() > 2, "{dtype}: only {} part(s)", table.parts.len());
        let mut ids: Vec<u32> = table.parts.iter().flat_map(|p| [p.first_row, p.first_row + p.rows - 1]).collect();
        ids.reverse();
        let (got, want, parts) = run_embed(&ctx, dtype, rows, cols, &ids, 1.0);
        assert_eq!(parts, table.parts.len());
        assert_rows_close(&format!("split {dtype} ({parts} parts)"), &got, &want, cols);
    }
}

#[test]
fn rows_that_are_not_whole_chunks_are_an_error() {
    // The kernel gathers 32 columns per thread: an F32 table 40 wide must be refused
    // rather than read from the wrong offsets.
    let ctx = common::gpu();
    let bytes = vec![0u8; 3 * 40 * 4];
    let table = GpuMatrix::upload(&ctx, "narrow", DType::F32, 3, 40, &bytes).unwrap();
    let ids = u32_buffer(&ctx, &[0]);
    let out = zeros(&ctx, "out", 1, 40);
    let err = pollster::block_on(embed(&ctx, &PipelineCache::default(), &table, &ids, &out, 1, 1.0)).err().expect("an error");
    assert!(matches!(err, hearth::Error::InvalidArgument(_)), "{err}");
    assert!(err.to_string().contains("narrow"), "{err}");
}
