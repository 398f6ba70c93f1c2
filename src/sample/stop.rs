//! `StopChecker`: stop strings and stop tokens over streamed text.
//!
//! Tokens decode to pieces that rarely line up with a stop string: "###" may arrive as "ab#",
//! "#", "#". The checker holds back the end of the text while it could still be the start of
//! a stop string, so text that turns out to be (part of) a stop string is never emitted, and
//! releases it as soon as the stop can no longer complete. As with OpenAI, the stop string
//! itself and anything after it are not emitted.
//!
//! Use: for each sampled token, `push(id, piece)` and stream `step.emit`; stop generating when
//! `step.stop` is set. When generation ends for another reason (max_tokens, end of sequence
//! not listed as a stop token), `finish()` returns the text still held back.

use super::params::SamplingParams;

/// Why generation stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// `stop[i]` appeared in the text.
    String(usize),
    /// This stop token id was sampled.
    Token(u32),
}

/// The outcome of one `push`: text that is now safe to show, and whether to stop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub emit: String,
    pub stop: Option<StopReason>,
}

#[derive(Debug, Clone, Default)]
pub struct StopChecker {
    stops: Vec<String>,
    stop_ids: Vec<u32>,
    /// Text received but not yet emitted: a suffix that is a proper prefix of a stop string.
    held: String,
    stopped: Option<StopReason>,
}

impl StopChecker {
    /// Empty stop strings are ignored (`SamplingParams::validate` rejects them anyway).
    pub fn new(stops: impl IntoIterator<Item = String>, stop_ids: impl IntoIterator<Item = u32>) -> Self {
        StopChecker {
            stops: stops.into_iter().filter(|s| !s.is_empty()).collect(),
            stop_ids: stop_ids.into_iter().collect(),
            ..Self::default()
        }
    }

    pub fn from_params(params: &SamplingParams) -> Self {
        Self::new(params.stop.iter().cloned(), params.stop_token_ids.iter().copied())
    }

    /// Adds a stop token, e.g. the model's end-of-turn id, which the caller knows and the
    /// request does not.
    pub fn add_stop_token(&mut self, id: u32) {
        self.stop_ids.push(id);
    }

    /// Feeds one sampled token and its decoded text. After a stop, every later push answers
    /// the same stop with nothing to emit.
    pub fn push(&mut self, token: u32, piece: &str) -> Step {
        if let Some(reason) = self.stopped {
            return Step { emit: String::new(), stop: Some(reason) };
        }
        if self.stop_ids.contains(&token) {
            // The token's own text is dropped; what was held back can no longer become a stop
            // string, so it is released.
            return self.stop_with(StopReason::Token(token), self.held.len());
        }
        self.held.push_str(piece);
        // The earliest occurrence of any stop string wins (the first listed on a tie).
        let found = self.stops.iter().enumerate().filter_map(|(i, s)| self.held.find(s.as_str()).map(|pos| (pos, i))).min();
        if let Some((pos, i)) = found {
            return self.stop_with(StopReason::String(i), pos);
        }
        let keep = self.stops.iter().map(|s| longest_suffix_prefix(&self.held, s)).max().unwrap_or(0);
        let emit = self.held.drain(..self.held.len() - keep).collect();
        Step { emit, stop: None }
    }

    /// Ends the stream without a stop: returns (and forgets) the held-back text.
    pub fn finish(&mut self) -> String {
        std::mem::take(&mut self.held)
    }

    /// The text currently held back.
    pub fn held(&self) -> &str {
        &self.held
    }

    fn stop_with(&mut self, reason: StopReason, emit_len: usize) -> Step {
        self.held.truncate(emit_len);
        self.stopped = Some(reason);
        Step { emit: std::mem::take(&mut self.held), stop: Some(reason) }
    }
}

/// Length of the longest suffix of `text` that is a proper prefix of `stop`. Such a suffix
/// starts with the same byte as `stop`, a UTF-8 lead byte, so it starts on a char boundary.
fn longest_suffix_prefix(text: &str, stop: &str) -> usize {
    let (text, stop) = (text.as_bytes(), stop.as_bytes());
    (1..stop.len().min(text.len() + 1)).rev().find(|&k| text.ends_with(&stop[..k])).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checker(stops: &[&str], ids: &[u32]) -> StopChecker {
        StopChecker::new(stops.iter().map(|s| s.to_string()), ids.iter().copied())
    }

    /// Pushes text pieces (token id 100 + index), returning each step's emitted text and the
    /// stop reason of the last step.
    fn run(c: &mut StopChecker, pieces: &[&str]) -> (Vec<String>, Option<StopReason>) {
        let mut emits = Vec::new();
        let mut stop = None;
        for (i, p) in pieces.iter().enumerate() {
            let step = c.push(100 + i as u32, p);
            emits.push(step.emit);
            stop = step.stop;
        }
        (emits, stop)
    }

    #[test]
    fn without_stops_text_flows_through_at_once() {
        let mut c = checker(&[], &[]);
        assert_eq!(run(&mut c, &["Hel", "lo", " #"]), (vec!["Hel".into(), "lo".into(), " #".into()], None));
        assert_eq!(c.finish(), "");
    }

    #[test]
    fn stop_inside_one_piece_cuts_before_it() {
        let mut c = checker(&["\n\n"], &[]);
        assert_eq!(run(&mut c, &["Hello\n\nWorld"]), (vec!["Hello".into()], Some(StopReason::String(0))));
    }

    #[test]
    fn stop_split_across_pieces_is_never_emitted() {
        let mut c = checker(&["###"], &[]);
        let (emits, stop) = run(&mut c, &["ab#", "#", "#cd"]);
        assert_eq!(emits, ["ab", "", ""]);
        assert_eq!(stop, Some(StopReason::String(0)));
    }

    #[test]
    fn held_text_is_released_when_the_stop_does_not_complete() {
        let mut c = checker(&["###"], &[]);
        let (emits, stop) = run(&mut c, &["ab#", "#", "x"]);
        assert_eq!(emits, ["ab", "", "##x"]);
        assert_eq!(stop, None);
    }

    #[test]
    fn held_text_is_released_by_finish() {
        let mut c = checker(&["</end>"], &[]);
        assert_eq!(run(&mut c, &["done </e"]).0, ["done "]);
        assert_eq!(c.held(), "</e");
        assert_eq!(c.finish(), "</e");
        assert_eq!(c.held(), "");
    }

    #[test]
    fn overlapping_partial_match_keeps_only_what_can_still_match() {
        // "aaab": after "aaa" only "aa" can still start "aab", so one "a" is released.
        let mut c = checker(&["aab"], &[]);
        let (emits, stop) = run(&mut c, &["a", "a", "a", "b"]);
        assert_eq!(emits, ["", "", "a", ""]);
        assert_eq!(stop, Some(StopReason::String(0)));
    }

    #[test]
    fn earliest_occurrence_wins_among_several_stops() {
        let mut c = checker(&["world", "lo w"], &[]);
        assert_eq!(run(&mut c, &["hello world"]), (vec!["hel".into()], Some(StopReason::String(1))));
    }

    #[test]
    fn multibyte_prefix_is_held_and_released_on_char_boundaries() {
        let mut c = checker(&["é!"], &[]);
        assert_eq!(run(&mut c, &["café", "?"]).0, ["caf", "é?"]);
        let mut c = checker(&["é!"], &[]);
        assert_eq!(run(&mut c, &["café", "!"]), (vec!["caf".into(), "".into()], Some(StopReason::String(0))));
    }

    #[test]
    fn stop_token_drops_its_text_and_releases_held_text() {
        let mut c = checker(&["##"], &[2]);
        assert_eq!(c.push(5, "x#").emit, "x");
        assert_eq!(c.push(2, "</s>"), Step { emit: "#".into(), stop: Some(StopReason::Token(2)) });
        // Later pushes repeat the stop and emit nothing.
        assert_eq!(c.push(6, "more"), Step { emit: String::new(), stop: Some(StopReason::Token(2)) });
        assert_eq!(c.finish(), "");
    }

    #[test]
    fn stop_tokens_come_from_params_and_add_stop_token() {
        let params = SamplingParams { stop: vec!["END".into()], stop_token_ids: vec![7], ..SamplingParams::default() };
        let mut c = StopChecker::from_params(&params);
        c.add_stop_token(9);
        assert_eq!(c.push(1, "a").stop, None);
        assert_eq!(c.push(9, "").stop, Some(StopReason::Token(9)));
        let mut c = StopChecker::from_params(&params);
        assert_eq!(c.push(7, "").stop, Some(StopReason::Token(7)));
        let mut c = StopChecker::from_params(&params);
        assert_eq!(c.push(1, "xEN").emit, "x");
        assert_eq!(c.push(1, "D").stop, Some(StopReason::String(0)));
    }
}
