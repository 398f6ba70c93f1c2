//! A sharded model (`NAME-00001-of-00003.gguf`, written like llama.cpp's gguf-split by
//! scripts/split-model.py from the tiny chat model) opens from its first shard as one file:
//! the same tensors with the same bytes as the unsplit file, and the same greedy tokens.
//! Shards that do not belong together are typed errors naming the file.

use crate::common;

use std::path::{Path, PathBuf};

use hearth::Error;
use hearth::engine::Engine;
use hearth::gguf::GgufFile;
use hearth::model::ModelOptions;
use hearth::sample::SamplingParams;

fn shard(i: u32) -> PathBuf {
    common::model_path(&format!("tiny-chat-split-{i:05}-of-00003.gguf"))
}

#[test]
fn shards_read_as_the_unsplit_file() {
    let mut whole = GgufFile::open(common::model_path(common::TINY_CHAT)).unwrap();
    let mut split = GgufFile::open(shard(1)).unwrap();
    assert_eq!(split.shard_count(), 3);
    assert_eq!(split.header().tensors.len(), whole.header().tensors.len());
    for t in whole.header().tensors.clone() {
        let s = split.tensor_info(&t.name).unwrap().clone();
        assert_eq!((&s.dims, s.dtype, s.n_bytes), (&t.dims, t.dtype, t.n_bytes), "{}", t.name);
        assert_eq!(split.read_tensor(&s).unwrap(), whole.read_tensor(&t).unwrap(), "{} bytes", t.name);
    }
    // A read across two shards' data sections joins them.
    let data = split.header().data_offset;
    let all = split.read_range(data, split.len() - data).unwrap();
    let last = split.header().tensors.iter().max_by_key(|t| t.start).unwrap().clone();
    let expected = whole.tensor_info(&last.name).unwrap().clone();
    assert_eq!(&all[(last.start - data) as usize..][..last.n_bytes as usize], &whole.read_tensor(&expected).unwrap()[..]);
}

#[test]
fn sharded_model_generates_what_the_unsplit_one_does() {
    let ctx = common::gpu();
    let generate = |path: &Path| {
        let mut file = GgufFile::open(path).unwrap();
        let mut engine = pollster::block_on(Engine::load(&ctx, &mut file, ModelOptions { n_ctx: Some(64), ..Default::default() })).unwrap();
        let prompt = engine.tokenizer.encode("Once upon a time", true).unwrap();
        let params = SamplingParams { temperature: 0.0, max_tokens: 8, ..Default::default() };
        pollster::block_on(engine.generate(&prompt, &params, &mut |_| true)).unwrap().ids
    };
    assert_eq!(generate(&shard(1)), generate(&common::model_path(common::TINY_CHAT)));
}

#[test]
fn shards_that_do_not_belong_together_are_typed_errors() {
    // Not the first shard.
    let err = GgufFile::open(shard(2)).err().expect("refused");
    assert!(matches!(err, Error::InvalidArgument(_)) && err.to_string().contains("-00001-of-00003.gguf"), "{err}");
    // A missing shard: the error names its path.
    let dir = tempdir("split-missing");
    for i in [1, 2] {
        std::fs::copy(shard(i), dir.join(format!("m-{i:05}-of-00003.gguf"))).unwrap();
    }
    let err = GgufFile::open(dir.join("m-00001-of-00003.gguf")).err().expect("refused");
    assert!(matches!(&err, Error::Io { path, .. } if path.ends_with("m-00003-of-00003.gguf")), "{err}");
    // Shards swapped: split.no does not match the name's position.
    let dir = tempdir("split-swapped");
    for (from, to) in [(1, 1), (3, 2), (2, 3)] {
        std::fs::copy(shard(from), dir.join(format!("m-{to:05}-of-00003.gguf"))).unwrap();
    }
    let err = GgufFile::open(dir.join("m-00001-of-00003.gguf")).err().expect("refused");
    assert!(matches!(&err, Error::MetadataValue { key, .. } if key == "split.no"), "{err}");
}

fn tempdir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("hearth-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
