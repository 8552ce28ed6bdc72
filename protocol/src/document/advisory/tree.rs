//! A JSON tree inside an Automerge document, losslessly: objects are maps,
//! arrays are lists, and scalars keep their JSON type.
//!
//! | JSON                       | Automerge                          |
//! |----------------------------|------------------------------------|
//! | object                     | map                                |
//! | array                      | list                               |
//! | string                     | string scalar (a text object reads as its string) |
//! | `true`, `false`, `null`    | boolean, null                      |
//! | integer (`i64`)            | `Int`                              |
//! | integer above `i64::MAX`   | `Uint`                             |
//! | float                      | `F64`                              |
//! | any other number           | `Bytes` holding the number's text  |
//!
//! JSON has no bytes, so a `Bytes` scalar inside the tree is always a
//! number's text; the reader checks it is one.
//!
//! Writing is a diff: [`plan`] compares the document with the wanted tree
//! and lists only the operations that change it (a changed field is one
//! `put`; a list keeps its common prefix and suffix and pairs the rest up
//! element by element), so two co-authors' edits of different fields merge,
//! and a new revision costs what changed. [`execute`] runs the plan in as
//! many Automerge changes as it takes to keep each under a byte budget.

use automerge::transaction::{CommitOptions, Transactable};
use automerge::{
    Automerge, AutomergeError, ChangeHash as AmHash, ObjId, ObjType, ROOT, ReadDoc, ScalarValue,
    ScalarValueRef, ValueRef,
};

use super::json::{Json, Number, Repr};
use super::limits::Limit;
use crate::document::schema::SchemaError;

/// Reads the JSON tree at `obj`. `at` names it in errors.
pub(crate) fn read<D: ReadDoc>(doc: &D, obj: &ObjId, at: &str) -> Result<Json, SchemaError> {
    read_obj(doc, obj, ObjType::Map, 0).map_err(|path| {
        let mut s = at.to_owned();
        for p in path.iter().rev() {
            s.push('/');
            s.push_str(p);
        }
        SchemaError::Malformed(s)
    })
}

/// On error, the path from the failing value up (innermost first).
type PathErr = Vec<String>;

fn read_obj<D: ReadDoc>(
    doc: &D,
    obj: &ObjId,
    kind: ObjType,
    depth: usize,
) -> Result<Json, PathErr> {
    if depth >= Limit::Depth.bound() {
        return Err(vec!["(nested too deep)".to_owned()]);
    }
    match kind {
        ObjType::Map | ObjType::Table => {
            let mut members = std::collections::BTreeMap::new();
            for item in doc.map_range(obj, ..) {
                let key = item.key.to_string();
                let v = read_item(doc, &item.value, || item.id(), depth).map_err(|mut p| {
                    p.push(key.clone());
                    p
                })?;
                members.insert(key, v);
            }
            Ok(Json::Object(members))
        }
        ObjType::List => {
            let mut items = Vec::with_capacity(doc.length(obj));
            for item in doc.list_range(obj, ..) {
                let v = read_item(doc, &item.value, || item.id(), depth).map_err(|mut p| {
                    p.push(item.index.to_string());
                    p
                })?;
                items.push(v);
            }
            Ok(Json::Array(items))
        }
        ObjType::Text => doc
            .text(obj)
            .map(Json::String)
            .map_err(|_| vec!["(unreadable text)".to_owned()]),
    }
}

fn read_item<D: ReadDoc>(
    doc: &D,
    value: &ValueRef<'_>,
    id: impl FnOnce() -> ObjId,
    depth: usize,
) -> Result<Json, PathErr> {
    match value {
        ValueRef::Object(kind) => read_obj(doc, &id(), *kind, depth + 1),
        ValueRef::Scalar(s) => scalar_to_json(s).ok_or_else(Vec::new),
    }
}

/// The JSON value of a scalar, `None` for scalars JSON has no place for
/// (counters, timestamps, unknown types, bytes that are not a number).
pub(crate) fn scalar_to_json(s: &ScalarValueRef<'_>) -> Option<Json> {
    Some(match s {
        ScalarValueRef::Str(s) => Json::String(s.to_string()),
        ScalarValueRef::Int(i) => Json::Number(Number::from_i64(*i)),
        ScalarValueRef::Uint(u) => Json::Number(Number::from_u64(*u)),
        ScalarValueRef::F64(f) => Json::Number(Number::from_f64(*f)?),
        ScalarValueRef::Boolean(b) => Json::Bool(*b),
        ScalarValueRef::Null => Json::Null,
        ScalarValueRef::Bytes(b) => Json::Number(Number::parse(std::str::from_utf8(b).ok()?)?),
        ScalarValueRef::Counter(_)
        | ScalarValueRef::Timestamp(_)
        | ScalarValueRef::Unknown { .. } => return None,
    })
}

/// The scalar a JSON scalar is stored as; `None` for objects and arrays.
pub(crate) fn json_to_scalar(j: &Json) -> Option<ScalarValue> {
    Some(match j {
        Json::Null => ScalarValue::Null,
        Json::Bool(b) => ScalarValue::Boolean(*b),
        Json::String(s) => ScalarValue::Str(s.as_str().into()),
        Json::Number(n) => match n.repr() {
            Repr::Int(i) => ScalarValue::Int(*i),
            Repr::Uint(u) => ScalarValue::Uint(*u),
            Repr::Float(f) => ScalarValue::F64(*f),
            Repr::Text(t) => ScalarValue::Bytes(t.as_bytes().to_vec()),
        },
        Json::Array(_) | Json::Object(_) => return None,
    })
}

fn scalar_eq(s: &ScalarValueRef<'_>, j: &Json) -> bool {
    match (s, j) {
        (ScalarValueRef::Str(a), Json::String(b)) => a.as_ref() == b.as_str(),
        (ScalarValueRef::Boolean(a), Json::Bool(b)) => a == b,
        (ScalarValueRef::Null, Json::Null) => true,
        (_, Json::Number(_)) => scalar_to_json(s).as_ref() == Some(j),
        _ => false,
    }
}

/// Whether the value in the document equals `j`, without reading it out.
fn same<D: ReadDoc>(doc: &D, value: &ValueRef<'_>, id: &ObjId, j: &Json) -> bool {
    match (value, j) {
        (ValueRef::Scalar(s), _) => scalar_eq(s, j),
        (ValueRef::Object(ObjType::Map | ObjType::Table), Json::Object(m)) => {
            doc.length(id) == m.len()
                && doc.map_range(id, ..).all(|item| {
                    m.get(item.key.as_ref())
                        .is_some_and(|v| same(doc, &item.value, &item.id(), v))
                })
        }
        (ValueRef::Object(ObjType::List), Json::Array(a)) => {
            doc.length(id) == a.len()
                && doc
                    .list_range(id, ..)
                    .zip(a)
                    .all(|(item, v)| same(doc, &item.value, &item.id(), v))
        }
        (ValueRef::Object(ObjType::Text), Json::String(s)) => doc.text(id).is_ok_and(|t| t == *s),
        _ => false,
    }
}

/// What a step writes.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Value<'j> {
    /// A JSON value (an object or array with everything in it).
    Json(&'j Json),
    /// A bytes scalar.
    Bytes(&'j [u8]),
    /// A list of bytes scalars of at most `CHUNK` bytes each.
    Chunks(&'j [u8]),
}

/// Bytes per element of a [`Value::Chunks`] list.
pub(crate) const CHUNK: usize = 256 << 10;

/// One operation of a plan.
#[derive(Debug, Clone)]
pub(crate) enum Step<'j> {
    /// Puts `value` at `obj[key]`.
    Put {
        obj: ObjId,
        key: &'j str,
        value: Value<'j>,
    },
    /// Deletes `obj[key]`.
    Delete { obj: ObjId, key: String },
    /// Replaces the list element `obj[index]`.
    Set {
        obj: ObjId,
        index: usize,
        value: Value<'j>,
    },
    /// Inserts `value` at `obj[index]`.
    Insert {
        obj: ObjId,
        index: usize,
        value: Value<'j>,
    },
    /// Deletes the list element `obj[index]`.
    Remove { obj: ObjId, index: usize },
}

/// Appends to `steps` what makes `doc[parent][key]` hold `target`.
/// Recursion follows `target`, whose depth the caller has bounded.
pub(crate) fn plan<'j>(
    doc: &Automerge,
    parent: &ObjId,
    key: &'j str,
    target: &'j Json,
    steps: &mut Vec<Step<'j>>,
) {
    match doc.get(parent, key) {
        Ok(Some((value, id))) => {
            let value = value_ref(&value);
            if !diff(doc, &value, &id, target, steps) {
                steps.push(Step::Put {
                    obj: parent.clone(),
                    key,
                    value: Value::Json(target),
                });
            }
        }
        _ => steps.push(Step::Put {
            obj: parent.clone(),
            key,
            value: Value::Json(target),
        }),
    }
}

fn value_ref<'a>(v: &'a automerge::Value<'_>) -> ValueRef<'a> {
    match v {
        automerge::Value::Object(t) => ValueRef::Object(*t),
        automerge::Value::Scalar(s) => ValueRef::Scalar(scalar_ref(s)),
    }
}

fn scalar_ref(s: &ScalarValue) -> ScalarValueRef<'_> {
    use std::borrow::Cow;
    match s {
        ScalarValue::Bytes(b) => ScalarValueRef::Bytes(Cow::Borrowed(b)),
        ScalarValue::Str(s) => ScalarValueRef::Str(Cow::Borrowed(s.as_str())),
        ScalarValue::Int(i) => ScalarValueRef::Int(*i),
        ScalarValue::Uint(u) => ScalarValueRef::Uint(*u),
        ScalarValue::F64(f) => ScalarValueRef::F64(*f),
        ScalarValue::Counter(_) => ScalarValueRef::Counter(0),
        ScalarValue::Timestamp(t) => ScalarValueRef::Timestamp(*t),
        ScalarValue::Boolean(b) => ScalarValueRef::Boolean(*b),
        ScalarValue::Unknown { type_code, bytes } => ScalarValueRef::Unknown {
            type_code: *type_code,
            bytes: Cow::Borrowed(bytes),
        },
        ScalarValue::Null => ScalarValueRef::Null,
    }
}

/// Diffs the value in place when it can be kept (equal, or a container of
/// the same kind, diffed inside). Returns false when it must be replaced.
fn diff<'j>(
    doc: &Automerge,
    value: &ValueRef<'_>,
    id: &ObjId,
    target: &'j Json,
    steps: &mut Vec<Step<'j>>,
) -> bool {
    match (value, target) {
        (ValueRef::Object(ObjType::Map | ObjType::Table), Json::Object(m)) => {
            diff_map(doc, id, m, steps);
            true
        }
        (ValueRef::Object(ObjType::List), Json::Array(a)) => {
            diff_list(doc, id, a, steps);
            true
        }
        _ => same(doc, value, id, target),
    }
}

fn diff_map<'j>(
    doc: &Automerge,
    obj: &ObjId,
    target: &'j std::collections::BTreeMap<String, Json>,
    steps: &mut Vec<Step<'j>>,
) {
    let mut seen = 0;
    for item in doc.map_range(obj, ..) {
        match target.get_key_value(item.key.as_ref()) {
            None => steps.push(Step::Delete {
                obj: obj.clone(),
                key: item.key.to_string(),
            }),
            Some((key, want)) => {
                seen += 1;
                if !diff(doc, &item.value, &item.id(), want, steps) {
                    steps.push(Step::Put {
                        obj: obj.clone(),
                        key,
                        value: Value::Json(want),
                    });
                }
            }
        }
    }
    if seen < target.len() {
        for (key, want) in target {
            if doc.get(obj, key.as_str()).ok().flatten().is_none() {
                steps.push(Step::Put {
                    obj: obj.clone(),
                    key,
                    value: Value::Json(want),
                });
            }
        }
    }
}

fn diff_list<'j>(doc: &Automerge, obj: &ObjId, target: &'j [Json], steps: &mut Vec<Step<'j>>) {
    let current: Vec<(ValueRef<'_>, ObjId)> = doc
        .list_range(obj, ..)
        .map(|item| {
            let id = item.id();
            (item.value, id)
        })
        .collect();
    let (n, m) = (current.len(), target.len());
    let mut prefix = 0;
    while prefix < n.min(m) && same(doc, &current[prefix].0, &current[prefix].1, &target[prefix]) {
        prefix += 1;
    }
    let mut suffix = 0;
    while suffix < n.min(m) - prefix && {
        let (v, id) = &current[n - 1 - suffix];
        same(doc, v, id, &target[m - 1 - suffix])
    } {
        suffix += 1;
    }
    let old = n - prefix - suffix;
    let new = m - prefix - suffix;
    let paired = old.min(new);
    for i in prefix..prefix + paired {
        let (v, id) = &current[i];
        if !diff(doc, v, id, &target[i], steps) {
            steps.push(Step::Set {
                obj: obj.clone(),
                index: i,
                value: Value::Json(&target[i]),
            });
        }
    }
    let inserted = &target[prefix + paired..prefix + new];
    for (i, value) in (prefix + paired..).zip(inserted) {
        steps.push(Step::Insert {
            obj: obj.clone(),
            index: i,
            value: Value::Json(value),
        });
    }
    for _ in new..old {
        steps.push(Step::Remove {
            obj: obj.clone(),
            index: prefix + paired,
        });
    }
}

/// Bytes a step is estimated to take in an encoded change, at least what
/// it takes: Automerge's columns spend a few bytes per operation beside the
/// key and value.
const OP_OVERHEAD: usize = 16;

fn scalar_cost(j: &Json) -> usize {
    match j {
        Json::String(s) => s.len(),
        Json::Number(n) => match n.repr() {
            Repr::Text(t) => t.len(),
            _ => 8,
        },
        _ => 1,
    }
}

/// The estimated size of writing `value` whole, with everything in it.
fn value_cost(value: &Value<'_>) -> usize {
    match value {
        Value::Bytes(b) => OP_OVERHEAD + b.len(),
        Value::Chunks(b) => OP_OVERHEAD + b.len() + OP_OVERHEAD * b.len().div_ceil(CHUNK),
        Value::Json(j) => {
            let mut total = 0;
            let mut stack = vec![(*j, 0usize)];
            while let Some((v, key)) = stack.pop() {
                total += OP_OVERHEAD + key;
                match v {
                    Json::Array(a) => stack.extend(a.iter().map(|x| (x, 0))),
                    Json::Object(m) => stack.extend(m.iter().map(|(k, x)| (x, k.len()))),
                    scalar => total += scalar_cost(scalar),
                }
            }
            total
        }
    }
}

/// The estimated size of a plan.
pub(crate) fn cost(steps: &[Step<'_>]) -> usize {
    steps
        .iter()
        .map(|s| match s {
            Step::Put { key, value, .. } => key.len() + value_cost(value),
            Step::Set { value, .. } | Step::Insert { value, .. } => value_cost(value),
            Step::Delete { key, .. } => OP_OVERHEAD + key.len(),
            Step::Remove { .. } => OP_OVERHEAD,
        })
        .sum()
}

/// Where a primitive operation goes.
enum Prop<'j> {
    Key(&'j str),
    Set(usize),
    Insert(usize),
}

/// Runs `steps` in order on `doc`, committing a change whenever the
/// estimated size of the open one reaches `budget` (so one change holds
/// at least one operation however large). With `marker`, a plan that
/// takes more than one change first puts `marker` at the root key
/// `pending` and deletes it in its last change, so a reader can tell a
/// document whose write is still arriving. Returns the changes' hashes, in
/// order.
pub(crate) fn execute(
    doc: &mut Automerge,
    steps: Vec<Step<'_>>,
    budget: usize,
    marker: Option<&Json>,
    options: &dyn Fn() -> CommitOptions,
) -> Result<Vec<AmHash>, AutomergeError> {
    let multi = cost(&steps) > budget;
    // A stack: the next operation is at the end.
    let mut work: Vec<Step<'_>> = Vec::with_capacity(steps.len() + 2);
    if let (true, Some(m)) = (multi, marker) {
        work.push(Step::Delete {
            obj: ROOT,
            key: PENDING.to_owned(),
        });
        work.extend(steps.into_iter().rev());
        work.push(Step::Put {
            obj: ROOT,
            key: PENDING,
            value: Value::Json(m),
        });
    } else {
        work.extend(steps.into_iter().rev());
    }
    let mut hashes = Vec::new();
    while !work.is_empty() {
        let mut tx = doc.transaction();
        let mut used = 0;
        while let Some(step) = work.pop() {
            // A container that fits the budget is created whole, in one
            // batch (two splices of Automerge's op set instead of one per
            // value); one that does not is created empty and filled step
            // by step, so it spans changes.
            let whole = match &step {
                Step::Put {
                    value: value @ Value::Json(Json::Object(_) | Json::Array(_)),
                    ..
                }
                | Step::Set {
                    value: value @ Value::Json(Json::Object(_) | Json::Array(_)),
                    ..
                }
                | Step::Insert {
                    value: value @ Value::Json(Json::Object(_) | Json::Array(_)),
                    ..
                } => Some(value_cost(value)).filter(|c| *c <= budget),
                _ => None,
            };
            if let Some(c) = whole
                && used > 0
                && used + c > budget
            {
                work.push(step);
                break;
            }
            used += match whole {
                Some(c) => {
                    batch(&mut tx, step, &mut work)?;
                    c
                }
                None => run(&mut tx, step, &mut work)?,
            };
            if used >= budget {
                break;
            }
        }
        let (hash, _) = tx.commit_with(options());
        hashes.extend(hash);
    }
    Ok(hashes)
}

/// The Automerge value of a JSON value, to create in one batch. Strings
/// stay scalars (never text objects). Recursion follows the value, whose
/// depth the caller has bounded.
fn hydrate(j: &Json) -> automerge::hydrate::Value {
    use automerge::hydrate;
    match j {
        Json::Object(m) => hydrate::Value::Map(hydrate::Map::from(
            m.iter()
                .map(|(k, v)| (k.clone(), hydrate(v)))
                .collect::<std::collections::HashMap<String, hydrate::Value>>(),
        )),
        Json::Array(a) => hydrate::Value::List(hydrate::List::from(
            a.iter().map(hydrate).collect::<Vec<_>>(),
        )),
        scalar => hydrate::Value::Scalar(json_to_scalar(scalar).unwrap_or(ScalarValue::Null)),
    }
}

/// Runs a step whose value is a container, creating it with everything in
/// it in one batch.
fn batch<'j, T: Transactable>(
    tx: &mut T,
    step: Step<'j>,
    work: &mut Vec<Step<'j>>,
) -> Result<(), AutomergeError> {
    match step {
        Step::Put {
            obj,
            key,
            value: Value::Json(j),
        } => tx.batch_create_object(&obj, key, &hydrate(j), false)?,
        Step::Set {
            obj,
            index,
            value: Value::Json(j),
        } => tx.batch_create_object(&obj, index, &hydrate(j), false)?,
        Step::Insert {
            obj,
            index,
            value: Value::Json(j),
        } => tx.batch_create_object(&obj, index, &hydrate(j), true)?,
        other => {
            run(tx, other, work)?;
            return Ok(());
        }
    };
    Ok(())
}

/// The root key that marks a write still arriving in several changes.
pub(crate) const PENDING: &str = "pending";

/// Runs one primitive operation; a container's contents become new steps
/// on `work`. Returns its estimated size.
fn run<'j, T: Transactable>(
    tx: &mut T,
    step: Step<'j>,
    work: &mut Vec<Step<'j>>,
) -> Result<usize, AutomergeError> {
    let (obj, prop, value) = match step {
        Step::Delete { obj, key } => {
            tx.delete(&obj, key.as_str())?;
            return Ok(OP_OVERHEAD + key.len());
        }
        Step::Remove { obj, index } => {
            tx.delete(&obj, index)?;
            return Ok(OP_OVERHEAD);
        }
        Step::Put { obj, key, value } => (obj, Prop::Key(key), value),
        Step::Set { obj, index, value } => (obj, Prop::Set(index), value),
        Step::Insert { obj, index, value } => (obj, Prop::Insert(index), value),
    };
    let key_len = match prop {
        Prop::Key(k) => k.len(),
        _ => 0,
    };
    let kind = match value {
        Value::Json(Json::Object(_)) => Some(ObjType::Map),
        Value::Json(Json::Array(_)) | Value::Chunks(_) => Some(ObjType::List),
        _ => None,
    };
    if let Some(kind) = kind {
        let id = match prop {
            Prop::Key(k) => tx.put_object(&obj, k, kind)?,
            Prop::Set(i) => tx.put_object(&obj, i, kind)?,
            Prop::Insert(i) => tx.insert_object(&obj, i, kind)?,
        };
        match value {
            Value::Json(Json::Object(m)) => {
                work.extend(m.iter().rev().map(|(k, v)| Step::Put {
                    obj: id.clone(),
                    key: k,
                    value: Value::Json(v),
                }));
            }
            Value::Json(Json::Array(a)) => {
                work.extend(a.iter().enumerate().rev().map(|(i, v)| Step::Insert {
                    obj: id.clone(),
                    index: i,
                    value: Value::Json(v),
                }));
            }
            Value::Chunks(bytes) => {
                let chunks: Vec<&[u8]> = bytes.chunks(CHUNK).collect();
                work.extend(
                    chunks
                        .into_iter()
                        .enumerate()
                        .rev()
                        .map(|(i, c)| Step::Insert {
                            obj: id.clone(),
                            index: i,
                            value: Value::Bytes(c),
                        }),
                );
            }
            _ => {}
        }
        return Ok(OP_OVERHEAD + key_len);
    }
    let (scalar, size) = match value {
        Value::Bytes(b) => (ScalarValue::Bytes(b.to_vec()), b.len()),
        Value::Json(j) => (
            json_to_scalar(j).unwrap_or(ScalarValue::Null),
            scalar_cost(j),
        ),
        Value::Chunks(_) => (ScalarValue::Null, 0),
    };
    match prop {
        Prop::Key(k) => tx.put(&obj, k, scalar)?,
        Prop::Set(i) => tx.put(&obj, i, scalar)?,
        Prop::Insert(i) => tx.insert(&obj, i, scalar)?,
    }
    Ok(OP_OVERHEAD + key_len + size)
}

/// The string at a path of map keys from the root, if there is one.
pub(crate) fn get_str<D: ReadDoc>(doc: &D, path: &[&str]) -> Option<String> {
    let (last, parents) = path.split_last()?;
    let mut obj = ROOT;
    for key in parents {
        match doc.get(&obj, *key).ok()? {
            Some((automerge::Value::Object(ObjType::Map | ObjType::Table), id)) => obj = id,
            _ => return None,
        }
    }
    match doc.get(&obj, *last).ok()? {
        Some((automerge::Value::Scalar(s), _)) => s.as_str().map(str::to_owned),
        _ => None,
    }
}
