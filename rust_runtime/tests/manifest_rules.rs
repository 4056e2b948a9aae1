//! Every manifest rule of SEMANTICS.md, with its exact message.

use rmprof_runtime::{Manifest, Pipeline};
use serde_json::{json, Value as Json};

fn base() -> Json {
    json!({
        "version": "v1",
        "metadata": {"name": "simple", "description": "d", "created_at": "2024-01-01"},
        "nodes": [
            {"id": "source", "node_type": "DataSourceNode", "params": {}},
            {"id": "calc", "node_type": "CalculatorNode", "params": {"operation": "add", "operand": 5}},
            {"id": "sink", "node_type": "DataSinkNode", "params": {}}
        ],
        "connections": [{"from": "source", "to": "calc"}, {"from": "calc", "to": "sink"}]
    })
}

fn msg_text(text: &str) -> String {
    match Manifest::parse(text) {
        Ok(_) => panic!("manifest accepted: {text}"),
        Err(e) => e.message,
    }
}

fn msg(v: &Json) -> String {
    msg_text(&v.to_string())
}

fn with(f: impl FnOnce(&mut Json)) -> Json {
    let mut v = base();
    f(&mut v);
    v
}

#[test]
fn base_is_valid() {
    let m = Manifest::parse(&base().to_string()).unwrap();
    assert_eq!(m.name, "simple");
    assert_eq!(m.topo_order, [0, 1, 2]);
}

#[test]
fn invalid_json() {
    assert_eq!(
        msg_text("{\"version\": }"),
        "invalid JSON at line 1 column 13: expected value"
    );
    assert_eq!(
        msg_text(""),
        "invalid JSON at line 1 column 0: EOF while parsing a value"
    );
    assert!(msg_text("{\"a\": NaN}").starts_with("invalid JSON at line 1 column 7: "));
}

#[test]
fn top_level_not_an_object() {
    assert_eq!(msg(&json!([1])), "manifest: expected an object, got array");
    assert_eq!(msg(&json!(1.5)), "manifest: expected an object, got float");
    assert_eq!(msg(&json!(null)), "manifest: expected an object, got null");
}

#[test]
fn unknown_fields() {
    assert_eq!(
        msg(&with(|v| v["foo"] = json!(1))),
        "manifest: unknown field 'foo'"
    );
    assert_eq!(
        msg(&with(|v| v["metadata"]["foo"] = json!(1))),
        "metadata: unknown field 'foo'"
    );
    assert_eq!(
        msg(&with(|v| v["nodes"][1]["foo"] = json!(1))),
        "nodes[1]: unknown field 'foo'"
    );
    assert_eq!(
        msg(&with(|v| v["connections"][0]["foo"] = json!(1))),
        "connections[0]: unknown field 'foo'"
    );
}

#[test]
fn missing_fields() {
    let remove = |path: &[&str]| {
        with(|v| {
            let mut cur = v;
            for p in &path[..path.len() - 1] {
                cur = match p.parse::<usize>() {
                    Ok(i) => &mut cur[i],
                    Err(_) => &mut cur[*p],
                };
            }
            cur.as_object_mut().unwrap().remove(path[path.len() - 1]);
        })
    };
    assert_eq!(
        msg(&remove(&["version"])),
        "version: missing required field"
    );
    assert_eq!(
        msg(&remove(&["metadata"])),
        "metadata: missing required field"
    );
    assert_eq!(
        msg(&remove(&["metadata", "name"])),
        "metadata.name: missing required field"
    );
    assert_eq!(msg(&remove(&["nodes"])), "nodes: missing required field");
    assert_eq!(
        msg(&remove(&["nodes", "1", "id"])),
        "nodes[1].id: missing required field"
    );
    assert_eq!(
        msg(&remove(&["nodes", "1", "node_type"])),
        "nodes[1].node_type: missing required field"
    );
    assert_eq!(
        msg(&remove(&["connections", "0", "from"])),
        "connections[0].from: missing required field"
    );
    assert_eq!(
        msg(&remove(&["connections", "0", "to"])),
        "connections[0].to: missing required field"
    );
}

#[test]
fn optional_fields_may_be_absent() {
    let v = with(|v| {
        v.as_object_mut().unwrap().remove("connections");
        v["nodes"] = json!([{"id": "only", "node_type": "PassThroughNode"}]);
        v["metadata"] = json!({"name": "x"});
    });
    let m = Manifest::parse(&v.to_string()).unwrap();
    assert!(m.connections.is_empty());
    let v = with(|v| {
        v["nodes"][0]["capabilities"] = json!({"gpu": false});
        v["nodes"][0]["host"] = json!("localhost:8080");
    });
    let m = Manifest::parse(&v.to_string()).unwrap();
    assert_eq!(m.nodes[0].host.as_deref(), Some("localhost:8080"));
}

#[test]
fn wrong_json_types() {
    assert_eq!(
        msg(&with(|v| v["version"] = json!(1))),
        "version: expected a string, got int"
    );
    assert_eq!(
        msg(&with(|v| v["metadata"] = json!("x"))),
        "metadata: expected an object, got string"
    );
    assert_eq!(
        msg(&with(|v| v["metadata"]["name"] = json!(null))),
        "metadata.name: expected a string, got null"
    );
    assert_eq!(
        msg(&with(|v| v["metadata"]["description"] = json!(1))),
        "metadata.description: expected a string, got int"
    );
    assert_eq!(
        msg(&with(|v| v["metadata"]["created_at"] = json!(true))),
        "metadata.created_at: expected a string, got bool"
    );
    assert_eq!(
        msg(&with(|v| v["nodes"] = json!({}))),
        "nodes: expected an array, got object"
    );
    assert_eq!(
        msg(&with(|v| v["nodes"][1] = json!("calc"))),
        "nodes[1]: expected an object, got string"
    );
    assert_eq!(
        msg(&with(|v| v["nodes"][1]["id"] = json!(3))),
        "nodes[1].id: expected a string, got int"
    );
    assert_eq!(
        msg(&with(|v| v["nodes"][1]["node_type"] = json!([]))),
        "nodes[1].node_type: expected a string, got array"
    );
    assert_eq!(
        msg(&with(|v| v["nodes"][1]["params"] = json!([]))),
        "nodes[1].params: expected an object, got array"
    );
    assert_eq!(
        msg(&with(|v| v["nodes"][1]["capabilities"] = json!(1.5))),
        "nodes[1].capabilities: expected an object, got float"
    );
    assert_eq!(
        msg(&with(|v| v["nodes"][1]["host"] = json!(80))),
        "nodes[1].host: expected a string, got int"
    );
    assert_eq!(
        msg(&with(|v| v["connections"] = json!({}))),
        "connections: expected an array, got object"
    );
    assert_eq!(
        msg(&with(|v| v["connections"][0] = json!(1))),
        "connections[0]: expected an object, got int"
    );
    assert_eq!(
        msg(&with(|v| v["connections"][0]["to"] = json!(1))),
        "connections[0].to: expected a string, got int"
    );
}

#[test]
fn version_name_and_nodes() {
    assert_eq!(
        msg(&with(|v| v["version"] = json!("v2"))),
        "version: must be \"v1\", got \"v2\""
    );
    assert_eq!(
        msg(&with(|v| v["metadata"]["name"] = json!(""))),
        "metadata.name: must be 1 to 255 characters, got 0"
    );
    assert_eq!(
        msg(&with(|v| v["metadata"]["name"] = json!("é".repeat(256)))),
        "metadata.name: must be 1 to 255 characters, got 256"
    );
    // 255 code points (510 bytes) is fine
    Manifest::parse(&with(|v| v["metadata"]["name"] = json!("é".repeat(255))).to_string()).unwrap();
    assert_eq!(
        msg(&with(|v| {
            v["nodes"] = json!([]);
            v["connections"] = json!([]);
        })),
        "nodes: must contain at least one node"
    );
}

#[test]
fn ids() {
    assert_eq!(
        msg(&with(|v| v["nodes"][1]["id"] = json!("a b"))),
        "nodes[1].id: 'a b' does not match ^[a-zA-Z0-9_-]+$"
    );
    assert_eq!(
        msg(&with(|v| v["nodes"][1]["id"] = json!(""))),
        "nodes[1].id: '' does not match ^[a-zA-Z0-9_-]+$"
    );
    assert_eq!(
        msg(&with(|v| v["nodes"][1]["id"] = json!("é"))),
        "nodes[1].id: 'é' does not match ^[a-zA-Z0-9_-]+$"
    );
    assert_eq!(
        msg(&with(|v| v["nodes"][2]["id"] = json!("source"))),
        "nodes[2].id: duplicate id 'source' (first at nodes[0])"
    );
}

#[test]
fn node_types_and_params() {
    assert_eq!(
        msg(&with(|v| v["nodes"][1]["node_type"] = json!("FooNode"))),
        "nodes[1].node_type: unknown node type 'FooNode' (known: CalculatorNode, DataSinkNode, DataSourceNode, PassThroughNode, PythonNode, TextTransformNode)"
    );
    assert_eq!(
        msg(&with(|v| v["nodes"][1]["params"]["foo"] = json!(1))),
        "nodes[1].params: unknown parameter 'foo'"
    );
    assert_eq!(
        msg(&with(|v| v["nodes"][0]["params"]["foo"] = json!(1))),
        "nodes[0].params: unknown parameter 'foo'"
    );
    assert_eq!(
        msg(&with(|v| v["nodes"][1]["params"] = json!({"operand": 1}))),
        "nodes[1].params.operation: missing required parameter"
    );
    assert_eq!(
        msg(&with(|v| {
            v["nodes"][1].as_object_mut().unwrap().remove("params");
        })),
        "nodes[1].params.operation: missing required parameter"
    );
    assert_eq!(
        msg(&with(
            |v| v["nodes"][1]["params"] = json!({"operation": "add"})
        )),
        "nodes[1].params.operand: missing required parameter"
    );
    assert_eq!(
        msg(&with(
            |v| v["nodes"][1]["params"]["operation"] = json!("pow")
        )),
        "nodes[1].params.operation: must be one of add, subtract, multiply, divide, got 'pow'"
    );
    assert_eq!(
        msg(&with(|v| v["nodes"][1]["params"]["operation"] = json!(1))),
        "nodes[1].params.operation: expected a string, got int"
    );
    assert_eq!(
        msg(&with(
            |v| v["nodes"][1] = json!({"id": "t", "node_type": "TextTransformNode", "params": {"operation": "title"}})
        )),
        "nodes[1].params.operation: must be one of uppercase, lowercase, reverse, got 'title'"
    );
    assert_eq!(
        msg(&with(|v| v["nodes"][1]["params"]["operand"] = json!("5"))),
        "nodes[1].params.operand: expected a number, got string"
    );
    assert_eq!(
        msg(&with(|v| v["nodes"][1]["params"]["operand"] = json!(true))),
        "nodes[1].params.operand: expected a number, got bool"
    );
    let big = base()
        .to_string()
        .replace("\"operand\":5", "\"operand\":9223372036854775808");
    assert_eq!(
        msg_text(&big),
        "nodes[1].params.operand: integer out of 64-bit range"
    );
    let huge = base().to_string().replace(
        "\"operand\":5",
        "\"operand\":-123456789012345678901234567890",
    );
    assert_eq!(
        msg_text(&huge),
        "nodes[1].params.operand: integer out of 64-bit range"
    );
    let inf = base()
        .to_string()
        .replace("\"operand\":5", "\"operand\":1e400");
    assert_eq!(msg_text(&inf), "nodes[1].params.operand: non-finite number");
    for zero in ["0", "0.0", "-0.0", "0e5"] {
        let text = base()
            .to_string()
            .replace("\"operand\":5", &format!("\"operand\":{zero}"))
            .replace("\"add\"", "\"divide\"");
        assert_eq!(
            msg_text(&text),
            "nodes[1].params.operand: divide by zero",
            "{zero}"
        );
    }
    // zero is fine for other operations; i64 bounds and floats parse
    for (operand, ok) in [
        ("0", true),
        ("-9223372036854775808", true),
        ("1.5e300", true),
    ] {
        let text = base()
            .to_string()
            .replace("\"operand\":5", &format!("\"operand\":{operand}"));
        assert_eq!(Manifest::parse(&text).is_ok(), ok);
    }
}

#[test]
fn hosts() {
    for bad in [
        "abc", ":80", "h:", "h:0", "h:65536", "h:8x", "h:-1", "h:+80",
    ] {
        assert_eq!(
            msg(&with(|v| v["nodes"][1]["host"] = json!(bad))),
            format!("nodes[1].host: expected \"host:port\", got '{bad}'")
        );
    }
    for good in ["h:1", "localhost:65535", "10.0.0.1:8080", "[::1]:80"] {
        Manifest::parse(&with(|v| v["nodes"][1]["host"] = json!(good)).to_string()).unwrap();
    }
}

#[test]
fn connections() {
    assert_eq!(
        msg(&with(|v| v["connections"][1]["to"] = json!("ghost"))),
        "connections[1].to: unknown node 'ghost'"
    );
    assert_eq!(
        msg(&with(|v| v["connections"][1]["from"] = json!("ghost"))),
        "connections[1].from: unknown node 'ghost'"
    );
    assert_eq!(
        msg(&with(
            |v| v["connections"][1] = json!({"from": "calc", "to": "source"})
        )),
        "connections[1].to: 'source' is a DataSourceNode and cannot have inputs"
    );
    assert_eq!(
        msg(&with(|v| v["connections"]
            .as_array_mut()
            .unwrap()
            .push(json!({"from": "sink", "to": "calc"})))),
        "connections[2].from: 'sink' is a DataSinkNode and cannot have outputs"
    );
    assert_eq!(
        msg(&with(|v| v["connections"]
            .as_array_mut()
            .unwrap()
            .push(json!({"from": "source", "to": "calc"})))),
        "connections[2]: duplicate connection 'source' -> 'calc'"
    );
    assert_eq!(
        msg(&with(|v| v["connections"]
            .as_array_mut()
            .unwrap()
            .push(json!({"from": "source", "to": "sink"})))),
        "connections[2].to: 'sink' already has an input from 'calc' (fan-in is not supported)"
    );
}

#[test]
fn cycles_start_at_the_first_listed_node() {
    let m = json!({
        "version": "v1", "metadata": {"name": "c"},
        "nodes": [
            {"id": "x", "node_type": "PassThroughNode"},
            {"id": "b", "node_type": "PassThroughNode"},
            {"id": "a", "node_type": "PassThroughNode"},
            {"id": "c", "node_type": "PassThroughNode"},
            {"id": "tail", "node_type": "PassThroughNode"}
        ],
        "connections": [
            {"from": "a", "to": "b"}, {"from": "b", "to": "c"}, {"from": "c", "to": "a"}, {"from": "c", "to": "tail"}
        ]
    });
    assert_eq!(msg(&m), "connections: cycle 'b' -> 'c' -> 'a' -> 'b'");
    let self_loop = json!({
        "version": "v1", "metadata": {"name": "c"},
        "nodes": [{"id": "a", "node_type": "PassThroughNode"}, {"id": "s", "node_type": "PassThroughNode"}],
        "connections": [{"from": "s", "to": "s"}]
    });
    assert_eq!(msg(&self_loop), "connections: cycle 's' -> 's'");
    // two cycles: the one through the node listed first wins; a node hanging off a cycle is not on it
    let two = json!({
        "version": "v1", "metadata": {"name": "c"},
        "nodes": [
            {"id": "hang", "node_type": "PassThroughNode"},
            {"id": "p", "node_type": "PassThroughNode"},
            {"id": "q", "node_type": "PassThroughNode"},
            {"id": "r", "node_type": "PassThroughNode"}
        ],
        "connections": [
            {"from": "r", "to": "hang"}, {"from": "q", "to": "r"}, {"from": "r", "to": "q"},
            {"from": "p", "to": "p"}
        ]
    });
    assert_eq!(msg(&two), "connections: cycle 'p' -> 'p'");
    let two = json!({
        "version": "v1", "metadata": {"name": "c"},
        "nodes": [
            {"id": "hang", "node_type": "PassThroughNode"},
            {"id": "r", "node_type": "PassThroughNode"},
            {"id": "q", "node_type": "PassThroughNode"}
        ],
        "connections": [{"from": "r", "to": "hang"}, {"from": "q", "to": "r"}, {"from": "r", "to": "q"}]
    });
    assert_eq!(msg(&two), "connections: cycle 'r' -> 'q' -> 'r'");
}

#[test]
fn rules_are_checked_in_table_order() {
    // an unknown field (rule 2) is reported before a missing field (rule 3) that comes earlier
    let v = with(|v| {
        v.as_object_mut().unwrap().remove("version");
        v["nodes"][2]["foo"] = json!(1);
    });
    assert_eq!(msg(&v), "nodes[2]: unknown field 'foo'");
    // a bad id pattern at nodes[2] before an unknown type at nodes[0]
    let v = with(|v| {
        v["nodes"][0]["node_type"] = json!("FooNode");
        v["nodes"][2]["id"] = json!("a b");
    });
    assert_eq!(
        msg(&v),
        "nodes[2].id: 'a b' does not match ^[a-zA-Z0-9_-]+$"
    );
    // within a rule, manifest order
    let v = with(|v| {
        v["nodes"][0]["params"]["x"] = json!(1);
        v["nodes"][2]["params"]["y"] = json!(1);
    });
    assert_eq!(msg(&v), "nodes[0].params: unknown parameter 'x'");
}

#[test]
fn topological_order_ties_by_position() {
    let m = json!({
        "version": "v1", "metadata": {"name": "t"},
        "nodes": [
            {"id": "sink_b", "node_type": "DataSinkNode"},
            {"id": "c", "node_type": "PassThroughNode"},
            {"id": "src", "node_type": "DataSourceNode"},
            {"id": "sink_a", "node_type": "DataSinkNode"},
            {"id": "lone", "node_type": "PassThroughNode"}
        ],
        "connections": [
            {"from": "src", "to": "sink_a"}, {"from": "c", "to": "sink_b"}, {"from": "src", "to": "c"}
        ]
    });
    let p = Pipeline::from_json(&m.to_string()).unwrap();
    assert_eq!(p.topo_order(), ["src", "c", "sink_b", "sink_a", "lone"]);
    assert_eq!(p.sinks(), ["sink_b", "sink_a", "lone"]);
    assert_eq!(p.node_ids(), ["sink_b", "c", "src", "sink_a", "lone"]);
    let out = p.run(&[rmprof_runtime::Value::Int(1)]).unwrap();
    assert_eq!(out.to_json(), r#"{"sink_b":[1],"sink_a":[1],"lone":[1]}"#);
}
