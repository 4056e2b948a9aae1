//! What several modules' tests share: a fixed-seed random source and small pipelines.

use crate::executor::Pipeline;

/// `next(n)`: the next of a xorshift64 sequence from `seed` (non-zero), reduced below `n` (> 0).
pub(crate) fn below(seed: u64) -> impl FnMut(usize) -> usize {
    let mut state = seed;
    move |n: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % n as u64) as usize
    }
}

/// A pipeline from the JSON of its nodes and connections (a test's manifest is valid: panics otherwise).
pub(crate) fn pipeline(nodes: &str, connections: &str) -> Pipeline {
    let text = format!(
        r#"{{"version":"v1","metadata":{{"name":"t"}},"nodes":[{nodes}],"connections":[{connections}]}}"#
    );
    Pipeline::from_json(&text).unwrap_or_else(|e| panic!("{e}"))
}

/// a -> up -> s1 ; a -> rev -> s2 ; b (a second root and leaf), listed out of order.
pub(crate) fn fan_out_pipeline() -> Pipeline {
    pipeline(
        r#"{"id":"s1","node_type":"DataSinkNode"},
           {"id":"a","node_type":"DataSourceNode"},
           {"id":"up","node_type":"TextTransformNode","params":{"operation":"uppercase"}},
           {"id":"rev","node_type":"TextTransformNode","params":{"operation":"reverse"}},
           {"id":"s2","node_type":"DataSinkNode"},
           {"id":"b","node_type":"PassThroughNode"}"#,
        r#"{"from":"a","to":"up"},{"from":"a","to":"rev"},{"from":"up","to":"s1"},{"from":"rev","to":"s2"}"#,
    )
}
