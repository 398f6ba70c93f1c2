//! Metadata edge cases that real files do not show (the rendering itself is checked
//! against the Python reference in tests/core/chat_template.rs).

use super::*;
use crate::gguf::{MetaArray, MetaValue};

fn metadata(entries: Vec<(&str, MetaValue)>) -> Metadata {
    let mut meta = Metadata::default();
    for (key, value) in entries {
        meta.insert(key.to_string(), value);
    }
    meta
}

fn tokens() -> MetaValue {
    MetaValue::Array(MetaArray::String(vec!["<unk>".into(), "<s>".into(), "</s>".into()]))
}

#[test]
fn special_tokens_come_from_the_token_list() {
    let meta = metadata(vec![
        (TEMPLATE_KEY, MetaValue::String("{{ bos_token }}|{{ eos_token }}".into())),
        (TOKENS_KEY, tokens()),
        (BOS_KEY, MetaValue::U32(1)),
        (EOS_KEY, MetaValue::U32(2)),
    ]);
    let template = ChatTemplate::from_gguf(&meta).unwrap().unwrap();
    assert_eq!((template.bos_token(), template.eos_token()), ("<s>", "</s>"));
    assert_eq!(template.render::<ChatMessage>(&[], false).unwrap(), "<s>|</s>");
}

#[test]
fn absent_token_ids_give_empty_strings() {
    let meta = metadata(vec![(TEMPLATE_KEY, MetaValue::String("[{{ bos_token }}]".into()))]);
    let template = ChatTemplate::from_gguf(&meta).unwrap().unwrap();
    assert_eq!(template.render::<ChatMessage>(&[], false).unwrap(), "[]");
}

#[test]
fn out_of_range_token_id_is_an_error() {
    let meta = metadata(vec![
        (TEMPLATE_KEY, MetaValue::String("x".into())),
        (TOKENS_KEY, tokens()),
        (BOS_KEY, MetaValue::U32(1)),
        (EOS_KEY, MetaValue::U32(7)),
    ]);
    let err = ChatTemplate::from_gguf(&meta).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, Error::ChatTemplate(_)), "{err:?}");
    assert!(msg.contains(EOS_KEY) && msg.contains('7') && msg.contains("3 tokens"), "{msg}");
}

#[test]
fn template_of_the_wrong_type_is_a_metadata_error() {
    let meta = metadata(vec![(TEMPLATE_KEY, MetaValue::U32(3))]);
    let err = ChatTemplate::from_gguf(&meta).unwrap_err();
    assert!(matches!(err, Error::MetadataType { ref key, .. } if key == TEMPLATE_KEY), "{err:?}");
}

#[test]
fn strftime_now_without_a_clock_is_a_clear_error() {
    let template = ChatTemplate::new("{{ strftime_now('%Y') }}", "", "").unwrap().with_clock(|| None);
    let msg = template.render::<ChatMessage>(&[], false).unwrap_err().to_string();
    assert!(msg.contains("no clock") && msg.contains("with_clock"), "{msg}");
}
