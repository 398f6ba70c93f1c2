//! A bound on the work and output of one chat-template render. A GGUF's template is code
//! from whoever made the file; a page that loads models from URLs it does not control must
//! not hang on one (two nested `range(100000)` loops would run for hours).
//!
//! Work is counted in minijinja's fuel: one unit per VM instruction, and since minijinja 3.1
//! one per byte a value allocates (concatenations with `~` and `+`, `join`, `format`,
//! `replace`), so a string doubled thirty times runs out of fuel at a few megabytes instead of
//! reaching a gigabyte (test: `strings_and_lists_doubled_until_they_exhaust_memory_are_refused`).
//! Output is bounded by a writer that refuses bytes past a cap. Both end the render with
//! `Error::ChatTemplate` naming the limit.

use std::io;

/// VM instructions per render. The real templates (tests/core/chat_template.rs) use a few hundred
/// per message, so 5 million allows conversations of over ten thousand messages, and runs
/// out in ~0.2 s natively on a busy 2-core machine (test: `budget_ends_nested_loops_quickly`).
pub const FUEL: u64 = 5_000_000;

/// Bytes of rendered prompt. Far past any context a model here can take (128k tokens are
/// ~0.5 MB of text), small enough to stay clear of a browser tab's memory.
pub const MAX_OUTPUT_BYTES: usize = 16 << 20;

/// Collects output up to `MAX_OUTPUT_BYTES`, then fails every write.
#[derive(Default)]
pub struct CappedOutput {
    pub bytes: Vec<u8>,
    pub overflowed: bool,
}

impl io::Write for &mut CappedOutput {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.bytes.len() + buf.len() > MAX_OUTPUT_BYTES {
            self.overflowed = true;
            return Err(io::Error::other(format!("the rendered prompt would exceed {MAX_OUTPUT_BYTES} bytes")));
        }
        self.bytes.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
