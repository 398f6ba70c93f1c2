fn main() {
    let ids: Vec<u32> = std::env::args().skip(1).map(|s| s.parse().unwrap()).collect();
    let ctx = pollster::block_on(hearth::gpu::GpuContext::new(Default::default())).unwrap();
    let mut f = hearth::gguf::GgufFile::open("models/smollm2-135m-instruct-q4_1.gguf").unwrap();
    let t = std::time::Instant::now();
    let mut model = pollster::block_on(hearth::model::Model::load(&ctx, &mut f, Default::default())).unwrap();
    eprintln!("load {:?}", t.elapsed());
    let t = std::time::Instant::now();
    let fw = pollster::block_on(model.forward(&ids, hearth::model::Logits::Last, false)).unwrap();
    eprintln!("prefill {:?}", t.elapsed());
    let mut out = vec![fw.argmax];
    let t = std::time::Instant::now();
    for _ in 0..15 {
        let fw = pollster::block_on(model.forward(&[*out.last().unwrap()], hearth::model::Logits::Last, false)).unwrap();
        out.push(fw.argmax);
    }
    eprintln!("decode 15 {:?}", t.elapsed());
    println!("{out:?}");
}
