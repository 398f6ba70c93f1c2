//! Loading a model from the bytes of its GGUF file as they arrive, in order: the header is
//! parsed from the prefix as soon as it is complete, then the weights are allocated and
//! every later byte goes straight to its GPU buffer. The browser pushes download chunks;
//! natively `Model::load` pushes a file read in chunks. Nothing holds the whole file.

use super::config::ModelConfig;
use super::upload::TensorUploads;
use super::weights::ModelWeights;
use super::{Model, ModelOptions};
use crate::error::{Error, Result};
use crate::gguf::{GgufHeader, Parsed};
use crate::gpu::GpuContext;

/// Where a load stands, for progress bars.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct LoadProgress {
    /// Bytes of the file received so far.
    pub received_bytes: u64,
    /// The file's length.
    pub total_bytes: u64,
    /// Bytes of tensor data written to GPU buffers, of `weight_bytes`.
    pub uploaded_bytes: u64,
    pub weight_bytes: u64,
}

enum State {
    /// Collecting the header. `tried` is the prefix length of the last parse attempt: a
    /// parse is retried once the prefix has doubled (or reached what the last attempt
    /// said it needs), so a multi-MiB header arriving in small chunks is parsed a few
    /// times, not once per chunk.
    Header {
        prefix: Vec<u8>,
        need: u64,
        tried: u64,
    },
    Weights(Box<Declared>),
}

struct Declared {
    header: GgufHeader,
    config: ModelConfig,
    weights: ModelWeights,
    uploads: TensorUploads,
}

pub struct ModelStream {
    ctx: GpuContext,
    options: ModelOptions,
    file_len: u64,
    received: u64,
    state: State,
}

impl ModelStream {
    /// Starts a load of a `file_len`-byte GGUF file whose bytes will be pushed from byte 0.
    pub fn new(ctx: &GpuContext, file_len: u64, options: ModelOptions) -> ModelStream {
        // The model's own handle: its buffers (weights, caches, graphs, sampler) are destroyed
        // with the model, or with this stream if the load fails.
        let ctx = ctx.scoped();
        ModelStream { ctx, options, file_len, received: 0, state: State::Header { prefix: Vec::new(), need: 0, tried: 0 } }
    }

    /// Starts a load whose header was already parsed (natively, by `GgufFile`): the next
    /// pushed bytes are those at `header.data_offset`.
    pub async fn with_header(ctx: &GpuContext, header: GgufHeader, file_len: u64, options: ModelOptions) -> Result<ModelStream> {
        let mut s = ModelStream::new(ctx, file_len, options);
        s.received = header.data_offset;
        s.state = State::Weights(Box::new(declare(&s.ctx.clone(), header, options).await?));
        Ok(s)
    }

    /// The parsed header, once enough bytes have arrived.
    pub fn header(&self) -> Option<&GgufHeader> {
        match &self.state {
            State::Weights(d) => Some(&d.header),
            State::Header { .. } => None,
        }
    }

    pub fn progress(&self) -> LoadProgress {
        let (uploaded_bytes, weight_bytes) = match &self.state {
            State::Weights(d) => (d.uploads.uploaded_bytes(), d.uploads.total_bytes()),
            State::Header { .. } => (0, 0),
        };
        LoadProgress { received_bytes: self.received, total_bytes: self.file_len, uploaded_bytes, weight_bytes }
    }

    /// Takes the next bytes of the file.
    pub async fn push(&mut self, bytes: &[u8]) -> Result<()> {
        let offset = self.received;
        let end = offset + bytes.len() as u64;
        if end > self.file_len {
            return Err(Error::InvalidArgument(format!("received {end} bytes of a file announced as {} bytes long", self.file_len)));
        }
        self.received = end;
        match &mut self.state {
            State::Weights(d) => d.uploads.push(&self.ctx, offset, bytes),
            State::Header { prefix, need, tried } => {
                prefix.extend_from_slice(bytes);
                let len = prefix.len() as u64;
                let at_end = len == self.file_len;
                if !at_end && (len < *need || len < tried.saturating_mul(2)) {
                    return Ok(());
                }
                *tried = len;
                match GgufHeader::parse(prefix, Some(self.file_len))? {
                    Parsed::NeedMore { total_bytes } => {
                        *need = total_bytes;
                        Ok(())
                    }
                    Parsed::Complete(header) => {
                        let prefix = std::mem::take(prefix);
                        let mut d = declare(&self.ctx, header, self.options).await?;
                        // The prefix may already hold the first tensor bytes.
                        let data = d.header.data_offset.min(len) as usize;
                        d.uploads.push(&self.ctx, data as u64, &prefix[data..])?;
                        self.state = State::Weights(Box::new(d));
                        Ok(())
                    }
                }
            }
        }
    }

    /// All bytes are in: checks nothing is missing, then builds the model (KV cache, the
    /// decode graph and its shaders). Returns the header too (tokenizer, chat template).
    pub async fn finish(self) -> Result<(Model, GgufHeader)> {
        if self.received < self.file_len {
            return Err(Error::Truncated { what: "the model file".into(), offset: 0, needed: self.file_len, file_len: self.received });
        }
        let d = match self.state {
            State::Weights(d) => d,
            State::Header { prefix, .. } => {
                // Every byte arrived yet the header never completed: parse once more to get
                // the precise error (a known file length turns a short read into Truncated).
                GgufHeader::parse(&prefix, Some(prefix.len() as u64))?;
                return Err(Error::InvalidArgument("the GGUF header did not complete".into()));
            }
        };
        if let Some(name) = d.uploads.first_incomplete() {
            let info = d.header.tensor(name).expect("uploads are declared from header tensors");
            return Err(Error::Truncated {
                what: format!("data of tensor `{name}`"),
                offset: info.start,
                needed: info.n_bytes,
                file_len: self.received,
            });
        }
        self.ctx.queue.submit([]);
        let model = Model::from_weights(&self.ctx, d.config, d.weights, self.options).await?;
        Ok((model, d.header))
    }
}

/// Reads the model's configuration, checks the model fits the device, and allocates its weights. GPU
/// allocation failures surface here as `Error::OutOfMemory` rather than as a lost device later.
async fn declare(ctx: &GpuContext, header: GgufHeader, options: ModelOptions) -> Result<Declared> {
    let config = ModelConfig::from_metadata(&header.metadata)?;
    // Everything the load will allocate, checked against the device before any of it is.
    super::plan(&header, super::DeviceLimits::of(ctx), options)?.check()?;
    let n_ctx = super::plan::requested_context(&config, options)?;
    let (weights, uploads) = ctx.catch_out_of_memory("model weights", || ModelWeights::declare(ctx, &config, &header, n_ctx)).await?;
    Ok(Declared { header, config, weights, uploads })
}
