//! The browser surface: `WasmEngine`, driven by the `hearth-llm` package's worker. Only
//! conversions between JS values and the core's types live here, no model logic. Every value
//! that crosses is a type of `crate::wire` (its TypeScript is generated from them); the methods
//! themselves are declared for the package in www/src/wasm_contract.ts.
//!
//! Every method takes `&self` and returns at once (async work is handed back as a
//! Promise), so `interrupt()` can be called while a `generate()` is running. The state a
//! running operation needs is taken out of the engine for its duration; a second
//! operation meanwhile is refused with a clear error instead of a RefCell panic.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use js_sys::Promise;
use serde::Serialize;
use serde::de::DeserializeOwned;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use crate::chat::ChatTemplate;
use crate::engine::{Emitted, Engine};
use crate::error::{Error, ErrorKind};
use crate::gguf::{GgufHeader, Parsed, split};
use crate::gpu::{GpuContext, GpuOptions};
use crate::inspect::ModelSummary;
use crate::model::{DeviceLimits, GpuStats, LoadProgress, ModelOptions, ModelStream};
use crate::sample::SamplingParams;
use crate::tools::ToolUse;
use crate::wire::{
    AdapterInfo, CallIds, ContextOptions, CreateOptions, EngineStats, GenerateRequest, GenerateResult, HeaderRead, LoadedModel,
    PromptInput, ShardPlace, StreamPiece,
};

/// A JS `Error` whose `name` tells its kind, with the figures a page acts on as fields
/// (www/src/errors.ts rebuilds the class from them).
fn js_error(e: &Error) -> JsValue {
    let err = js_error_named(e.kind().name(), &e.to_string());
    let fields: Vec<(&str, JsValue)> = match e {
        Error::DoesNotFit { largest_context, .. } => {
            vec![("largestContext", largest_context.map_or(JsValue::NULL, JsValue::from))]
        }
        Error::ContextWindowExceeded { prompt_tokens, max_tokens, context_length } => vec![
            ("promptTokens", JsValue::from(*prompt_tokens as u32)),
            ("maxTokens", JsValue::from(*max_tokens)),
            ("contextLength", JsValue::from(*context_length)),
        ],
        _ => Vec::new(),
    };
    for (key, value) in fields {
        // Setting a property on a fresh Error object cannot fail.
        let _ = js_sys::Reflect::set(&err, &JsValue::from_str(key), &value);
    }
    err
}

fn js_error_named(name: &str, message: &str) -> JsValue {
    let err = js_sys::Error::new(message);
    err.set_name(name);
    err.into()
}

fn to_js<T: Serialize>(value: &T) -> Result<JsValue, JsValue> {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|e| js_error_named(ErrorKind::HearthError.name(), &format!("converting a result to JS: {e}")))
}

enum State {
    Empty,
    Loading(Box<ModelStream>),
    Ready(Box<Engine>),
    /// An operation has taken the state out and will put it back.
    Busy(&'static str),
}

struct Inner {
    ctx: GpuContext,
    state: RefCell<State>,
    progress: Cell<LoadProgress>,
    interrupt: Cell<bool>,
    /// The loaded model's GPU counters as of its last load or generation (`stats` while
    /// a generation holds the engine).
    gpu_stats: Cell<Option<GpuStats>>,
}

impl Inner {
    /// Takes the state out for an async operation, or says why it cannot.
    fn take(&self, doing: &'static str) -> Result<State, JsValue> {
        let mut state = self.state.borrow_mut();
        if let State::Busy(what) = *state {
            return Err(js_error_named(ErrorKind::HearthError.name(), &format!("cannot {doing} while {what} (one operation at a time)")));
        }
        Ok(std::mem::replace(&mut *state, State::Busy(doing)))
    }

    /// Takes the state out when `pick` accepts it; otherwise leaves it as it was and
    /// refuses with `wrong_state` (a call in the wrong order must not drop a model).
    fn take_as<T>(&self, doing: &'static str, wrong_state: &str, pick: impl FnOnce(State) -> Result<T, State>) -> Result<T, JsValue> {
        pick(self.take(doing)?).map_err(|state| {
            self.put(state);
            js_error_named(ErrorKind::InvalidArgumentError.name(), wrong_state)
        })
    }

    fn put(&self, state: State) {
        *self.state.borrow_mut() = state;
    }
}

#[wasm_bindgen]
pub struct WasmEngine {
    inner: Rc<Inner>,
}

#[wasm_bindgen]
impl WasmEngine {
    /// Opens WebGPU. Rejects with a `WebGPUUnavailableError` saying why.
    pub async fn create(options: JsValue) -> Result<WasmEngine, JsValue> {
        console_error_panic_hook_once();
        let options: CreateOptions = from_js_or_default(options, "engine options")?;
        let gpu_options = GpuOptions { max_storage_binding: options.max_storage_binding_bytes, tuning: None };
        let mut ctx = GpuContext::new(gpu_options).await.map_err(|e| js_error(&e))?;
        if let Some(spec) = &options.tune {
            ctx.tuning = ctx.tuning.with_overrides(spec).map_err(|e| js_error_named(ErrorKind::InvalidArgumentError.name(), &e))?;
        }
        Ok(WasmEngine {
            inner: Rc::new(Inner {
                ctx,
                state: RefCell::new(State::Empty),
                progress: Cell::new(LoadProgress::default()),
                interrupt: Cell::new(false),
                gpu_stats: Cell::new(None),
            }),
        })
    }

    /// The GPU: `AdapterInfo`.
    #[wasm_bindgen(js_name = adapterInfo)]
    pub fn adapter_info(&self) -> Result<JsValue, JsValue> {
        let ctx = &self.inner.ctx;
        let f = ctx.features;
        let features = [(f.shader_f16, "shader-f16"), (f.subgroups, "subgroups"), (f.timestamps, "timestamp-query")]
            .into_iter()
            .filter(|&(on, _)| on)
            .map(|(_, name)| name.to_string())
            .collect();
        to_js(&AdapterInfo {
            name: ctx.info.name.clone(),
            backend: format!("{:?}", ctx.info.backend),
            device_type: format!("{:?}", ctx.info.device_type),
            features,
            max_storage_buffer_binding_size: ctx.max_storage_binding,
            max_buffer_size: ctx.limits.max_buffer_size,
        })
    }

    /// Starts loading a `total_bytes`-byte GGUF file (dropping any loaded model), with
    /// `ContextOptions`. The context is checked against the model and the device as soon as
    /// the header has arrived (`pushChunk` then rejects), before any weight is allocated.
    #[wasm_bindgen(js_name = beginLoad)]
    pub fn begin_load(&self, total_bytes: f64, options: JsValue) -> Result<(), JsValue> {
        if !(total_bytes.is_finite() && total_bytes >= 0.0) {
            return Err(js_error_named(ErrorKind::InvalidArgumentError.name(), &format!("total size {total_bytes} is not a byte count")));
        }
        let options: ContextOptions = from_js_or_default(options, "load options")?;
        self.inner.take("start a load")?;
        let model_options = ModelOptions { n_ctx: options.context_length, ..ModelOptions::default() };
        let stream = ModelStream::new(&self.inner.ctx, total_bytes as u64, model_options);
        self.inner.progress.set(stream.progress());
        self.inner.put(State::Loading(Box::new(stream)));
        Ok(())
    }

    /// Fit before fetch: the GPU memory a load of this file with `ContextOptions` needs on
    /// this device, from `prefix` (its first bytes; `file_len` in all): a `HeaderRead` of the
    /// plan (`hearth plan --json`). A load makes the same check on the header as it streams
    /// in (`pushChunk` rejects with `ModelTooLargeError`).
    pub fn plan(&self, prefix: Vec<u8>, file_len: f64, options: JsValue) -> Result<JsValue, JsValue> {
        let options: ContextOptions = from_js_or_default(options, "load options")?;
        let file_len = (file_len.is_finite() && file_len >= 0.0).then_some(file_len as u64);
        let header = match GgufHeader::parse(&prefix, file_len).map_err(|e| js_error(&e))? {
            Parsed::NeedMore { total_bytes } => return to_js(&HeaderRead::<()>::NeedMore { need_bytes: total_bytes }),
            Parsed::Complete(header) => header,
        };
        let model_options = ModelOptions { n_ctx: options.context_length, ..ModelOptions::default() };
        let plan = crate::model::plan(&header, DeviceLimits::of(&self.inner.ctx), model_options).map_err(|e| js_error(&e))?;
        to_js(&HeaderRead::Complete(plan))
    }

    /// A shard's place in a sharded model, from `prefix`, its first bytes (`file_len` in all):
    /// a `HeaderRead` of its `ShardPlace`. The package reads the first
    /// shard's header with it to learn how many shards to fetch.
    #[wasm_bindgen(js_name = shardHeader)]
    pub fn shard_header(&self, prefix: Vec<u8>, file_len: f64) -> Result<JsValue, JsValue> {
        let file_len = (file_len.is_finite() && file_len >= 0.0).then_some(file_len as u64);
        let header = match GgufHeader::parse(&prefix, file_len).map_err(|e| js_error(&e))? {
            Parsed::NeedMore { total_bytes } => return to_js(&HeaderRead::<()>::NeedMore { need_bytes: total_bytes }),
            Parsed::Complete(header) => header,
        };
        let split_count = split::split_count(&header.metadata).map_err(|e| js_error(&e))?;
        let split_no = header.metadata.opt_u32(split::SPLIT_NO_KEY).map_err(|e| js_error(&e))?.unwrap_or(0);
        to_js(&HeaderRead::Complete(ShardPlace { data_offset: header.data_offset, split_count, split_no }))
    }

    /// Starts loading a model split into shards (dropping any loaded model): `headers[i]` holds
    /// the first bytes of shard i, its whole header, `lens[i]` its length and `names[i]` a name
    /// for errors. The shards' headers are joined (src/gguf/split.rs: one model, in order, no
    /// tensor twice), the model is checked against the device and its weights allocated; then
    /// `pushChunk` takes each shard's bytes from its `dataOffset` to its end, shard after shard.
    #[wasm_bindgen(js_name = beginShardedLoad)]
    pub fn begin_sharded_load(&self, headers: Vec<js_sys::Uint8Array>, lens: Vec<f64>, names: Vec<String>, options: JsValue) -> Promise {
        let inner = self.inner.clone();
        future_to_promise(async move {
            let options: ContextOptions = from_js_or_default(options, "load options")?;
            let joined = join_shards(&headers, &lens, names)?;
            inner.take("start a load")?;
            let model_options = ModelOptions { n_ctx: options.context_length, ..ModelOptions::default() };
            match ModelStream::with_header(&inner.ctx, joined.header, joined.len, model_options).await {
                Ok(stream) => {
                    inner.progress.set(stream.progress());
                    inner.put(State::Loading(Box::new(stream)));
                    Ok(JsValue::from(joined.len as f64))
                }
                Err(e) => {
                    inner.put(State::Empty);
                    Err(js_error(&e))
                }
            }
        })
    }

    /// Fit before fetch for a sharded model: `plan` over the shards' joined headers (arguments
    /// as `beginShardedLoad`'s).
    #[wasm_bindgen(js_name = planShards)]
    pub fn plan_shards(
        &self,
        headers: Vec<js_sys::Uint8Array>,
        lens: Vec<f64>,
        names: Vec<String>,
        options: JsValue,
    ) -> Result<JsValue, JsValue> {
        let options: ContextOptions = from_js_or_default(options, "load options")?;
        let joined = join_shards(&headers, &lens, names)?;
        let model_options = ModelOptions { n_ctx: options.context_length, ..ModelOptions::default() };
        let plan = crate::model::plan(&joined.header, DeviceLimits::of(&self.inner.ctx), model_options).map_err(|e| js_error(&e))?;
        to_js(&plan)
    }

    /// Feeds the next bytes of the file (in order, any size). A failure ends the load.
    #[wasm_bindgen(js_name = pushChunk)]
    pub fn push_chunk(&self, chunk: Vec<u8>) -> Promise {
        let inner = self.inner.clone();
        future_to_promise(async move {
            let mut stream = inner.take_as("push model bytes", "pushChunk without beginLoad", |s| match s {
                State::Loading(x) => Ok(x),
                other => Err(other),
            })?;
            match stream.push(&chunk).await {
                Ok(()) => {
                    inner.progress.set(stream.progress());
                    inner.put(State::Loading(stream));
                    Ok(JsValue::UNDEFINED)
                }
                Err(e) => {
                    inner.put(State::Empty);
                    Err(js_error(&e))
                }
            }
        })
    }

    /// The current load's `LoadProgress`.
    #[wasm_bindgen(js_name = loadProgress)]
    pub fn load_progress(&self) -> Result<JsValue, JsValue> {
        to_js(&self.inner.progress.get())
    }

    /// All bytes are in: checks completeness, compiles the shaders and resolves with the
    /// `LoadedModel` (the summary `hearth inspect --json` gives, `n_ctx`, `kv_cache_bytes`, ...).
    /// `chat_template`: a Jinja template to use instead of the model's own (an instruct
    /// template for a base model whose GGUF has none), with the GGUF's BOS/EOS strings.
    #[wasm_bindgen(js_name = finishLoad)]
    pub fn finish_load(&self, chat_template: Option<String>) -> Promise {
        let inner = self.inner.clone();
        future_to_promise(async move {
            let stream = inner.take_as("finish a load", "finishLoad without beginLoad", |s| match s {
                State::Loading(x) => Ok(x),
                other => Err(other),
            })?;
            let summary = stream.header().map(ModelSummary::from_header).transpose();
            let template = match (&chat_template, stream.header()) {
                (Some(source), Some(header)) => Some(ChatTemplate::with_gguf_tokens(source, &header.metadata)),
                _ => None,
            };
            let loaded = async {
                let mut summary = summary?;
                let template = template.transpose()?;
                let mut engine = Engine::from_stream(*stream).await?;
                if let Some(template) = template {
                    engine.chat_template = Some(template);
                    if let Some(summary) = &mut summary {
                        summary.chat_template = true;
                    }
                }
                Ok::<_, Error>((summary, engine))
            };
            match loaded.await {
                Ok((summary, engine)) => {
                    let Some(summary) = summary else {
                        inner.put(State::Empty);
                        return Err(js_error_named(ErrorKind::ModelFormatError.name(), "the GGUF header never completed"));
                    };
                    let info = LoadedModel {
                        summary,
                        n_ctx: engine.model.n_ctx(),
                        kv_cache_bytes: engine.model.kv_cache_bytes(),
                        split_tensors: engine.model.split_matrices().into_iter().collect(),
                    };
                    inner.gpu_stats.set(Some(engine.model.stats()));
                    inner.put(State::Ready(Box::new(engine)));
                    to_js(&info)
                }
                Err(e) => {
                    inner.put(State::Empty);
                    Err(js_error(&e))
                }
            }
        })
    }

    #[wasm_bindgen(js_name = isLoaded)]
    pub fn is_loaded(&self) -> bool {
        matches!(*self.inner.state.borrow(), State::Ready(_))
    }

    /// Drops the loaded model (its GPU buffers are freed) or an unfinished load.
    pub fn unload(&self) -> Result<(), JsValue> {
        self.inner.take("unload")?;
        self.inner.gpu_stats.set(None);
        self.inner.put(State::Empty);
        Ok(())
    }

    /// One generation from a `GenerateRequest`; `on_piece(StreamPiece)` receives new text as
    /// soon as it is final, with the token's logprobs entry when the request has `logprobs:
    /// true` (then once per output token, even when its text is held back), and pieces of tool
    /// calls as they are written; it is called for the first token even when that has no text
    /// yet. Resolves with the `GenerateResult`.
    pub fn generate(&self, request: JsValue, on_piece: js_sys::Function) -> Promise {
        let inner = self.inner.clone();
        // Cleared here, when the call is made, not when the future first runs: an
        // `interrupt()` that JS sends right after this call must still count.
        inner.interrupt.set(false);
        future_to_promise(async move {
            let request: GenerateRequest = from_js(request)?;
            let mut engine = inner.take_as("generate", "generate before a model finished loading", |s| match s {
                State::Ready(x) => Ok(x),
                other => Err(other),
            })?;
            let result = run_generation(&mut engine, &inner, &request.sampling, request.prompt, &on_piece).await;
            inner.gpu_stats.set(Some(engine.model.stats()));
            inner.put(State::Ready(engine));
            result
        })
    }

    /// The number of tokens `generate` would feed the model for a `PromptInput` (the same
    /// template and tokenisation). Needs a loaded model and no operation running.
    #[wasm_bindgen(js_name = countTokens)]
    pub fn count_tokens(&self, input: JsValue) -> Result<u32, JsValue> {
        let prompt: PromptInput = from_js(input)?;
        match &*self.inner.state.borrow() {
            State::Ready(engine) => Ok(encode(engine, prompt).map_err(|e| js_error(&e))?.0.len() as u32),
            State::Busy(what) => Err(js_error_named(ErrorKind::HearthError.name(), &format!("cannot count tokens while {what}"))),
            _ => Err(js_error_named(ErrorKind::HearthError.name(), "no model is loaded: call load() first")),
        }
    }

    /// Asks a running `generate` to stop after the current token (it then resolves with
    /// `finish_reason: "abort"`). No effect when idle.
    pub fn interrupt(&self) {
        self.inner.interrupt.set(true);
    }

    /// Test hook: destroys the GPU device, as a driver reset or a phone reclaiming a
    /// background tab's GPU would. The running request then fails with `DeviceLostError`;
    /// hearth-llm re-creates the device and reloads the model on the next one.
    #[wasm_bindgen(js_name = debugLoseDevice)]
    pub fn debug_lose_device(&self) {
        self.inner.ctx.device.destroy();
    }

    /// Whether the GPU device has reported itself lost (asked after a failure that came
    /// before the report: see LocalBackend's recovery).
    #[wasm_bindgen(js_name = deviceLost)]
    pub fn device_lost(&self) -> bool {
        self.inner.ctx.device_lost()
    }

    /// `EngineStats`: wasm memory and live heap bytes, and the loaded model's GPU counters
    /// since load (forward passes, tokens, round trips, bytes read back, dispatches, host encode
    /// seconds, graphs built) or null.
    pub fn stats(&self) -> Result<JsValue, JsValue> {
        if let State::Ready(engine) = &*self.inner.state.borrow() {
            self.inner.gpu_stats.set(Some(engine.model.stats()));
        }
        let memory: js_sys::WebAssembly::Memory = wasm_bindgen::memory().unchecked_into();
        let buffer: js_sys::ArrayBuffer = memory.buffer().unchecked_into();
        to_js(&EngineStats {
            // Linear memory only grows, so this is also the peak so far; the live heap is what
            // a leak check compares.
            wasm_memory_bytes: buffer.byte_length() as u64,
            wasm_heap_live_bytes: crate::heap::live_bytes() as u64,
            gpu: self.inner.gpu_stats.get(),
        })
    }
}

/// The shards' headers (each shard's first bytes, its header complete), lengths and names, joined
/// into one model's (src/gguf/split.rs).
fn join_shards(headers: &[js_sys::Uint8Array], lens: &[f64], names: Vec<String>) -> Result<split::Joined, JsValue> {
    if headers.len() != lens.len() || headers.len() != names.len() {
        return Err(js_error_named(ErrorKind::InvalidArgumentError.name(), "one header, length and name per shard"));
    }
    let mut shards = Vec::with_capacity(headers.len());
    for ((bytes, len), name) in headers.iter().zip(lens).zip(names) {
        if !(len.is_finite() && *len >= 0.0) {
            return Err(js_error_named(ErrorKind::InvalidArgumentError.name(), &format!("{name}: size {len} is not a byte count")));
        }
        let header = match GgufHeader::parse(&bytes.to_vec(), Some(*len as u64)).map_err(|e| js_error(&e))? {
            Parsed::Complete(header) => header,
            Parsed::NeedMore { total_bytes } => {
                let msg = format!("{name}: its header needs the first {total_bytes} bytes, {} were given", bytes.length());
                return Err(js_error_named(ErrorKind::InvalidArgumentError.name(), &msg));
            }
        };
        shards.push(split::Shard { name, header, len: *len as u64 });
    }
    split::join(&shards).map_err(|e| js_error(&e))
}

/// A wire type from JS; a value that does not fit is an `InvalidArgumentError`.
fn from_js<T: DeserializeOwned>(value: JsValue) -> Result<T, JsValue> {
    serde_wasm_bindgen::from_value(value).map_err(|e| js_error_named(ErrorKind::InvalidArgumentError.name(), &e.to_string()))
}

/// Options from JS, the defaults when none are given; errors name `what`.
fn from_js_or_default<T: DeserializeOwned + Default>(value: JsValue, what: &str) -> Result<T, JsValue> {
    if value.is_undefined() || value.is_null() {
        return Ok(T::default());
    }
    serde_wasm_bindgen::from_value(value).map_err(|e| js_error_named(ErrorKind::InvalidArgumentError.name(), &format!("{what}: {e}")))
}

/// The prompt's token ids: `messages` through the chat template (with the generation prompt
/// and the request's tools), or `prompt` as plain text; what `generate` feeds the model and
/// `countTokens` counts. Also the tool use the request resolves to.
fn encode(engine: &Engine, prompt: PromptInput) -> Result<(Vec<u32>, Option<ToolUse>), Error> {
    match prompt {
        PromptInput { messages: Some(m), prompt: None, tools } => {
            let tools = tools.resolve(engine.chat_template.as_ref())?;
            Ok((engine.encode_chat_with_tools(&m, tools.as_ref())?, tools))
        }
        PromptInput { messages: None, prompt: Some(p), tools } => {
            if tools.tools.is_some() || tools.tool_choice.is_some() {
                return Err(Error::InvalidArgument("tools and tool_choice are fields of chat requests (messages)".into()));
            }
            Ok((engine.encode_prompt(&p)?, None))
        }
        _ => Err(Error::InvalidArgument("give exactly one of `messages` and `prompt`".into())),
    }
}

async fn run_generation(
    engine: &mut Engine,
    inner: &Inner,
    params: &SamplingParams,
    prompt: PromptInput,
    on_piece: &js_sys::Function,
) -> Result<JsValue, JsValue> {
    let (prompt_ids, tools) = encode(engine, prompt).map_err(|e| js_error(&e))?;
    let mut constrained = None;
    if let Some(t) = &tools {
        if let Some(format) = t.response_format(params.response_format.as_ref()).map_err(|e| js_error(&e))? {
            constrained = Some(SamplingParams { response_format: Some(format), ..params.clone() });
        }
    }
    let params = constrained.as_ref().unwrap_or(params);
    // With tools, the stream shows the content, and the calls as they are written.
    let mut tool_stream = tools.as_ref().map(ToolUse::stream);
    let mut ids = CallIds::default();
    let mut callback_error = None;
    let send = |piece: &StreamPiece| to_js(piece).and_then(|p| on_piece.call1(&JsValue::NULL, &p));
    // The first token is always reported, even with no text yet, so the package can time it.
    let mut first = true;
    let mut forward = |e: Emitted<'_>| {
        let piece = match tool_stream.as_mut().map(|s| s.push(e.text)) {
            Some(shown) => StreamPiece {
                text: shown.content,
                logprobs: e.logprobs.cloned(),
                tool_calls: shown.calls.into_iter().map(|d| ids.delta(d)).collect(),
            },
            None => StreamPiece { text: e.text.to_string(), logprobs: e.logprobs.cloned(), tool_calls: Vec::new() },
        };
        if std::mem::take(&mut first) || !piece.text.is_empty() || piece.logprobs.is_some() || !piece.tool_calls.is_empty() {
            if let Err(err) = send(&piece) {
                callback_error = Some(err);
                return false;
            }
        }
        !inner.interrupt.get()
    };
    let g = engine.generate_with(&prompt_ids, params, &mut forward).await.map_err(|e| js_error(&e))?;
    if let Some(e) = callback_error {
        return Err(e);
    }
    let replies = tools.as_ref().map(|t| t.parse(&g.text));
    if let Some((_, calls)) = &replies {
        let rest = tool_stream.as_mut().map(|s| s.finish(!calls.is_empty())).unwrap_or_default();
        if !rest.is_empty() {
            send(&StreamPiece { text: rest, ..StreamPiece::default() })?;
        }
    }
    to_js(&GenerateResult::new(g, replies, &mut ids))
}

/// Rust panics show in the browser console with their message (once per module).
fn console_error_panic_hook_once() {
    static SET: std::sync::Once = std::sync::Once::new();
    SET.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            web_sys::console::error_1(&JsValue::from_str(&format!("hearth panicked: {info}")));
        }));
    });
}
