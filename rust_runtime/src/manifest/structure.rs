//! The manifest's structure: the rules from "top level is an object" to wrong JSON types, after
//! which every field the later rules read is known to be there with the right JSON type.

use crate::error::ManifestError;
use crate::json_tree::{Json, Object as JsonObject};

use super::validate::{as_obj, err, expect_type, json_type_name, Where};

const TOP_FIELDS: &[&str] = &["version", "metadata", "nodes", "connections"];
const METADATA_FIELDS: &[&str] = &["name", "description", "created_at"];
const NODE_FIELDS: &[&str] = &["id", "node_type", "params", "capabilities", "host"];
const CONNECTION_FIELDS: &[&str] = &["from", "to"];

fn check_unknown(path: impl Where, obj: &JsonObject, known: &[&str]) -> Result<(), ManifestError> {
    for key in obj.keys() {
        if !known.contains(&key) {
            return err(format!("{}: unknown field '{key}'", path.text()));
        }
    }
    Ok(())
}

fn check_missing(path: impl Where, obj: &JsonObject, field: &str) -> Result<(), ManifestError> {
    if obj.contains_key(field) {
        return Ok(());
    }
    let path = path.text();
    if path.is_empty() {
        err(format!("{field}: missing required field"))
    } else {
        err(format!("{path}.{field}: missing required field"))
    }
}

/// The manifest's parts as the structure rules share them: each one that is an object.
struct Raw<'a, 't> {
    top: &'a JsonObject<'t>,
    metadata: Option<&'a JsonObject<'t>>,
    nodes: Vec<Option<&'a JsonObject<'t>>>,
    connections: Vec<Option<&'a JsonObject<'t>>>,
}

/// The manifest's parts once its structure is valid.
pub(super) struct Structure<'a, 't> {
    pub(super) top: &'a JsonObject<'t>,
    pub(super) metadata: &'a JsonObject<'t>,
    pub(super) nodes: Vec<&'a JsonObject<'t>>,
    pub(super) connections: Vec<&'a JsonObject<'t>>,
}

/// Rules: top level is an object, unknown fields, missing required fields, wrong JSON types (each
/// over the whole manifest before the next).
pub(super) fn check_structure<'a, 't>(
    json: &'a Json<'t>,
) -> Result<Structure<'a, 't>, ManifestError> {
    // Rule: top level is an object.
    let top = match json {
        Json::Object(o) => o,
        other => {
            return err(format!(
                "manifest: expected an object, got {}",
                json_type_name(other)
            ))
        }
    };
    let raw = Raw {
        top,
        metadata: as_obj(top.get("metadata")),
        nodes: match top.get("nodes") {
            Some(Json::Array(a)) => a.iter().map(Json::as_object).collect(),
            _ => Vec::new(),
        },
        connections: match top.get("connections") {
            Some(Json::Array(a)) => a.iter().map(Json::as_object).collect(),
            _ => Vec::new(),
        },
    };
    check_unknown_fields(&raw)?;
    check_required_fields(&raw)?;
    check_types(&raw)?;
    // From here on every structural element is known to have the right type.
    Ok(Structure {
        top: raw.top,
        metadata: raw.metadata.expect("checked to be an object"),
        nodes: raw.nodes.iter().map(|n| n.expect("checked")).collect(),
        connections: raw
            .connections
            .iter()
            .map(|c| c.expect("checked"))
            .collect(),
    })
}

/// Rule: unknown fields.
fn check_unknown_fields(raw: &Raw) -> Result<(), ManifestError> {
    check_unknown("manifest", raw.top, TOP_FIELDS)?;
    if let Some(m) = raw.metadata {
        check_unknown("metadata", m, METADATA_FIELDS)?;
    }
    for (i, n) in raw.nodes.iter().enumerate() {
        if let Some(n) = n {
            check_unknown(|| format!("nodes[{i}]"), n, NODE_FIELDS)?;
        }
    }
    for (j, c) in raw.connections.iter().enumerate() {
        if let Some(c) = c {
            check_unknown(|| format!("connections[{j}]"), c, CONNECTION_FIELDS)?;
        }
    }
    Ok(())
}

/// Rule: missing required fields.
fn check_required_fields(raw: &Raw) -> Result<(), ManifestError> {
    check_missing("", raw.top, "version")?;
    check_missing("", raw.top, "metadata")?;
    if let Some(m) = raw.metadata {
        check_missing("metadata", m, "name")?;
    }
    check_missing("", raw.top, "nodes")?;
    for (i, n) in raw.nodes.iter().enumerate() {
        if let Some(n) = n {
            let path = || format!("nodes[{i}]");
            check_missing(path, n, "id")?;
            check_missing(path, n, "node_type")?;
        }
    }
    for (j, c) in raw.connections.iter().enumerate() {
        if let Some(c) = c {
            let path = || format!("connections[{j}]");
            check_missing(path, c, "from")?;
            check_missing(path, c, "to")?;
        }
    }
    Ok(())
}

/// Rule: wrong JSON types.
fn check_types(raw: &Raw) -> Result<(), ManifestError> {
    expect_type("version", &raw.top["version"], "string")?;
    expect_type("metadata", &raw.top["metadata"], "object")?;
    let metadata = raw.metadata.expect("checked to be an object");
    expect_type("metadata.name", &metadata["name"], "string")?;
    for field in ["description", "created_at"] {
        if let Some(v) = metadata.get(field) {
            expect_type(|| format!("metadata.{field}"), v, "string")?;
        }
    }
    let nodes_json = &raw.top["nodes"];
    expect_type("nodes", nodes_json, "array")?;
    for (i, n) in nodes_json.as_array().expect("checked").iter().enumerate() {
        expect_type(|| format!("nodes[{i}]"), n, "object")?;
        let n = n.as_object().expect("checked");
        expect_type(|| format!("nodes[{i}].id"), &n["id"], "string")?;
        expect_type(
            || format!("nodes[{i}].node_type"),
            &n["node_type"],
            "string",
        )?;
        for (field, want) in [
            ("params", "object"),
            ("capabilities", "object"),
            ("host", "string"),
        ] {
            if let Some(v) = n.get(field) {
                expect_type(|| format!("nodes[{i}].{field}"), v, want)?;
            }
        }
    }
    if let Some(conns) = raw.top.get("connections") {
        expect_type("connections", conns, "array")?;
        for (j, c) in conns.as_array().expect("checked").iter().enumerate() {
            expect_type(|| format!("connections[{j}]"), c, "object")?;
            let c = c.as_object().expect("checked");
            expect_type(|| format!("connections[{j}].from"), &c["from"], "string")?;
            expect_type(|| format!("connections[{j}].to"), &c["to"], "string")?;
        }
    }
    Ok(())
}
