//! The validator: a parsed manifest checked rule by rule, with exactly the messages of SEMANTICS.md.
//!
//! Validation checks the rules in the order of SEMANTICS.md's table ("first failing rule in document
//! order"): every rule is checked over the whole manifest before the next rule, and within one rule the
//! places are visited in manifest order (fields in the order the table lists them, nodes and
//! connections by index, unknown keys in the order they appear in the text).

use crate::error::ManifestError;
use crate::json_tree::{Json, Object as JsonObject};

use super::graph::{check_graph, endpoints, Graph};
use super::params::{node_kinds, node_params};
use super::structure::check_structure;
use super::{classify_number, is_valid_host, is_valid_id, IdIndex, Manifest, NodeSpec, Num};

/// The manifest of a parsed tree, or the message of the first rule it fails.
pub(super) fn validate(json: &Json) -> Result<Manifest, ManifestError> {
    let structure = check_structure(json)?;
    let (metadata, nodes) = (structure.metadata, &structure.nodes);
    let name = check_document(structure.top, metadata, nodes)?;
    let ids = node_ids(nodes)?;
    let index_of = IdIndex::new(&ids);
    check_duplicate_ids(&index_of, &ids)?;
    let kinds = node_kinds(nodes)?;
    let params = node_params(nodes, &kinds)?;
    let hosts = node_hosts(nodes)?;
    let edges = endpoints(&structure.connections, &index_of)?;
    let Graph {
        parent,
        children,
        topo_order,
    } = check_graph(&edges, &kinds, &ids)?;

    let specs = ids
        .into_iter()
        .zip(kinds)
        .zip(params)
        .zip(hosts)
        .map(|(((id, kind), params), host)| NodeSpec {
            id,
            kind,
            params,
            host,
        })
        .collect();
    Ok(Manifest {
        name,
        description: metadata
            .get("description")
            .and_then(Json::as_str)
            .map(str::to_owned),
        nodes: specs,
        connections: edges,
        topo_order,
        parent,
        children,
    })
}

/// Rules: version, name length, at least one node. The manifest's name.
fn check_document(
    top: &JsonObject,
    metadata: &JsonObject,
    nodes: &[&JsonObject],
) -> Result<String, ManifestError> {
    // Rule: version.
    let version = top["version"].as_str().expect("checked");
    if version != "v1" {
        return err(format!(
            "version: must be \"v1\", got {}",
            serde_json::to_string(version).expect("a string serializes")
        ));
    }

    // Rule: name length (in Unicode code points, like Python's len()).
    let name = str_of(metadata, "name");
    let name_len = name.chars().count();
    if !(1..=255).contains(&name_len) {
        return err(format!(
            "metadata.name: must be 1 to 255 characters, got {name_len}"
        ));
    }

    // Rule: at least one node.
    if nodes.is_empty() {
        return err("nodes: must contain at least one node".to_owned());
    }
    Ok(name)
}

/// Rule: id pattern. The node ids, in manifest order.
fn node_ids(nodes: &[&JsonObject]) -> Result<Vec<String>, ManifestError> {
    let ids: Vec<String> = nodes.iter().map(|n| str_of(n, "id")).collect();
    for (i, id) in ids.iter().enumerate() {
        if !is_valid_id(id) {
            return err(format!(
                "nodes[{i}].id: '{id}' does not match ^[a-zA-Z0-9_-]+$"
            ));
        }
    }
    Ok(ids)
}

/// Rule: duplicate id.
fn check_duplicate_ids(index_of: &IdIndex, ids: &[String]) -> Result<(), ManifestError> {
    if let Some((i, first)) = index_of.first_duplicate() {
        return err(format!(
            "nodes[{i}].id: duplicate id '{}' (first at nodes[{first}])",
            ids[i]
        ));
    }
    Ok(())
}

/// Rule: host. Each node's `host`, when it has one.
fn node_hosts(nodes: &[&JsonObject]) -> Result<Vec<Option<String>>, ManifestError> {
    let mut hosts = vec![None; nodes.len()];
    for (i, n) in nodes.iter().enumerate() {
        if let Some(h) = n.get("host") {
            let h = h.as_str().expect("checked");
            if !is_valid_host(h) {
                return err(format!(
                    "nodes[{i}].host: expected \"host:port\", got '{h}'"
                ));
            }
            hosts[i] = Some(h.to_owned());
        }
    }
    Ok(hosts)
}

/// The type name used in messages: `int`, `float`, `string`, `bool`, `null`, `array`, `object`.
pub(super) fn json_type_name(v: &Json<'_>) -> &'static str {
    match v {
        Json::Null => "null",
        Json::Bool(_) => "bool",
        Json::Number(n) => match classify_number(n) {
            Num::Float(_) => "float",
            _ => "int",
        },
        Json::String(_) => "string",
        Json::Array(_) => "array",
        Json::Object(_) => "object",
    }
}

/// A place in the manifest for an error message. Paths such as `nodes[3].id` are built only when a
/// rule fails: formatting them eagerly for every node made validation of a valid manifest ~20 % slower.
pub(super) trait Where {
    fn text(&self) -> String;
}

impl Where for &str {
    fn text(&self) -> String {
        (*self).to_owned()
    }
}

impl<F: Fn() -> String> Where for F {
    fn text(&self) -> String {
        self()
    }
}

pub(super) fn err<T>(message: String) -> Result<T, ManifestError> {
    Err(ManifestError::new(message))
}

pub(super) fn expect_type(path: impl Where, v: &Json, want: &str) -> Result<(), ManifestError> {
    let ok = match want {
        "object" => v.is_object(),
        "array" => v.is_array(),
        "string" => v.is_string(),
        _ => unreachable!("unknown JSON type {want}"),
    };
    if ok {
        Ok(())
    } else {
        let article = if want == "object" || want == "array" {
            "an"
        } else {
            "a"
        };
        err(format!(
            "{}: expected {article} {want}, got {}",
            path.text(),
            json_type_name(v)
        ))
    }
}

pub(super) fn as_obj<'a, 't>(v: Option<&'a Json<'t>>) -> Option<&'a JsonObject<'t>> {
    v.and_then(Json::as_object)
}

/// The text of a string field known to be there.
pub(super) fn str_of(o: &JsonObject, k: &str) -> String {
    o[k].as_str().expect("checked").to_owned()
}
