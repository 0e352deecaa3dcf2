//! kube's mutation types (k8s.io/apiserver `pkg/cel/mutation`): the `Object` types a
//! MutatingAdmissionPolicy's ApplyConfiguration builds (`Object{spec: Object.spec{...}}`,
//! one type per field path, any field name allowed, as kube's `DynamicTypeResolver` when
//! no schema is known) and the `JSONPatch` type of its JSON patches
//! (`JSONPatch{op: 'add', path: '/x', value: ...}`).
//!
//! cel-rust constructs only structs registered by exact name, so a program compiled with
//! patch types has each such literal lowered, before checking, to a call of
//! [`STRUCT`] with the type name and a map of the fields; the call builds a cel-rust
//! struct of that name. [`apply_configuration`] and [`json_patch`] turn a result into
//! JSON with kube's checks and texts.

use crate::program::Evaluated;
use cel::common::ast::{
    CallExpr, EntryExpr, Expr, IdedEntryExpr, IdedExpr, LiteralValue, MapEntryExpr, MapExpr,
};
use cel::common::types::{CelMap, CelMapKey, CelString, CelStruct};
use cel::common::value::{CowVal, Val};
use cel::{ExecutionError, Value};
use serde_json::{Map as JsonMap, Value as Json};

/// The type an ApplyConfiguration expression builds (kube's `ObjectTypeName`).
pub const OBJECT_TYPE: &str = "Object";

/// The type of one JSON patch operation (kube's `JSONPatchTypeName`).
pub const JSON_PATCH_TYPE: &str = "JSONPatch";

/// The function a struct literal is lowered to: `@kcel_struct('Object.spec', {'f': v})`.
pub(crate) const STRUCT: &str = "@kcel_struct";

/// The fields of a `JSONPatch` (`op`, `path` and `from` strings, `value` anything).
const JSON_PATCH_FIELDS: &[&str] = &["op", "path", "from", "value"];

/// Whether `name` is one of the patch types (`Object`, `Object.<field>...`, `JSONPatch`).
pub(crate) fn is_patch_type(name: &str) -> bool {
    name == JSON_PATCH_TYPE || name == OBJECT_TYPE || name.starts_with("Object.")
}

/// Lowers the struct literals of the patch types in `e` (see the module docs); ids of
/// the new nodes count down from `next_id`.
pub(crate) fn lower(e: IdedExpr, next_id: &mut u64) -> IdedExpr {
    let IdedExpr { id, expr } = e;
    fn fresh(next_id: &mut u64, expr: Expr) -> IdedExpr {
        *next_id = next_id.saturating_sub(1);
        IdedExpr { id: *next_id, expr }
    }
    let expr = match expr {
        Expr::Struct(s) if is_patch_type(&s.type_name) => {
            let entries = s
                .entries
                .into_iter()
                .filter_map(|entry| match entry.expr {
                    EntryExpr::StructField(f) => Some((entry.id, f)),
                    EntryExpr::MapEntry(_) => None,
                })
                .collect::<Vec<_>>();
            let mut map = Vec::with_capacity(entries.len());
            for (entry_id, f) in entries {
                let key = fresh(next_id, Expr::Literal(LiteralValue::String(f.field.into())));
                let value = lower(f.value, next_id);
                map.push(IdedEntryExpr {
                    id: entry_id,
                    expr: EntryExpr::MapEntry(MapEntryExpr { key, value, optional: f.optional }),
                });
            }
            let name = fresh(next_id, Expr::Literal(LiteralValue::String(s.type_name.into())));
            let fields = fresh(next_id, Expr::Map(MapExpr { entries: map }));
            Expr::Call(CallExpr { func_name: STRUCT.to_string(), target: None, args: vec![name, fields] })
        }
        Expr::Struct(mut s) => {
            for entry in &mut s.entries {
                if let EntryExpr::StructField(f) = &mut entry.expr {
                    f.value = lower(std::mem::take(&mut f.value), next_id);
                }
            }
            Expr::Struct(s)
        }
        Expr::Select(mut s) => {
            s.operand = Box::new(lower(*s.operand, next_id));
            Expr::Select(s)
        }
        Expr::Call(mut c) => {
            c.target = c.target.map(|t| Box::new(lower(*t, next_id)));
            c.args = c.args.into_iter().map(|a| lower(a, next_id)).collect();
            Expr::Call(c)
        }
        Expr::List(mut l) => {
            l.elements = l.elements.into_iter().map(|x| lower(x, next_id)).collect();
            Expr::List(l)
        }
        Expr::Map(mut m) => {
            for entry in &mut m.entries {
                if let EntryExpr::MapEntry(me) = &mut entry.expr {
                    me.key = lower(std::mem::take(&mut me.key), next_id);
                    me.value = lower(std::mem::take(&mut me.value), next_id);
                }
            }
            Expr::Map(m)
        }
        Expr::Comprehension(mut c) => {
            c.iter_range = lower(std::mem::take(&mut c.iter_range), next_id);
            c.accu_init = lower(std::mem::take(&mut c.accu_init), next_id);
            c.loop_cond = lower(std::mem::take(&mut c.loop_cond), next_id);
            c.loop_step = lower(std::mem::take(&mut c.loop_step), next_id);
            c.result = lower(std::mem::take(&mut c.result), next_id);
            Expr::Comprehension(c)
        }
        other @ (Expr::Ident(_) | Expr::Literal(_) | Expr::Unspecified) => other,
    };
    IdedExpr { id, expr }
}

/// The type name of a lowered struct literal (`Some("Object.spec")`), if `e` is one.
pub(crate) fn lowered_name(e: &IdedExpr) -> Option<&str> {
    match &e.expr {
        Expr::Call(c) if c.func_name == STRUCT => match c.args.first().map(|a| &a.expr) {
            Some(Expr::Literal(LiteralValue::String(s))) => Some(s.inner()),
            _ => None,
        },
        _ => None,
    }
}

/// Go's `%T` of a CEL value's native form, for kube's JSONPatch field errors.
fn go_type(v: &dyn Val) -> String {
    match Value::try_from(v) {
        Ok(Value::Int(_)) => "int64".into(),
        Ok(Value::UInt(_)) => "uint64".into(),
        Ok(Value::Float(_)) => "float64".into(),
        Ok(Value::Bool(_)) => "bool".into(),
        Ok(Value::Bytes(_)) => "[]uint8".into(),
        Ok(Value::Null) => "structpb.NullValue".into(),
        Ok(Value::List(_)) => "[]ref.Val".into(),
        Ok(Value::Map(_)) => "map[ref.Val]ref.Val".into(),
        Ok(Value::Timestamp(_)) => "time.Time".into(),
        Ok(Value::Duration(_)) => "time.Duration".into(),
        Ok(Value::Struct(s)) if s.name() == JSON_PATCH_TYPE => "*mutation.JSONPatchVal".into(),
        Ok(Value::Struct(_)) => "map[string]interface {}".into(),
        _ => "interface {}".into(),
    }
}

/// `@kcel_struct(name, fields)`: a struct of the patch type `name`. A `JSONPatch` takes
/// only its four fields, `op`, `path` and `from` as strings (kube's `JSONPatchType.Val`).
pub(crate) fn construct<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<CowVal<'b, 'v>, ExecutionError> {
    let mut args = args.into_iter();
    let (Some(name), Some(fields), None) = (args.next(), args.next(), args.next()) else {
        return Err(ExecutionError::function_error(STRUCT, "expected 2 arguments"));
    };
    let Some(name) = name.as_ref().downcast_ref::<CelString>().map(|s| s.inner().to_string()) else {
        return Err(ExecutionError::function_error(STRUCT, "expected a type name"));
    };
    let Some(map) = fields.as_ref().downcast_ref::<CelMap>() else {
        return Err(ExecutionError::function_error(STRUCT, "expected the fields as a map"));
    };
    let patch = name == JSON_PATCH_TYPE;
    let mut out = CelStruct::new(name);
    for (key, value) in map.inner() {
        let CelMapKey::String(field) = key else {
            return Err(ExecutionError::function_error(STRUCT, "field names are strings"));
        };
        let field = field.inner();
        if patch {
            if !JSON_PATCH_FIELDS.contains(&field) {
                return Err(ExecutionError::function_error(
                    STRUCT,
                    format!("unexpected JSONPatchType field: {field}"),
                ));
            }
            if field != "value" && value.downcast_ref::<CelString>().is_none() {
                return Err(ExecutionError::function_error(
                    STRUCT,
                    format!("unexpected type {} for JSONPatchType '{field}' field", go_type(value.as_ref())),
                ));
            }
        }
        out.add_field_value(field.to_string(), CowVal::Borrowed(value.as_ref()));
    }
    Ok(CowVal::Owned(Box::new(out)))
}

/// kube's `CheckTypeNamesMatchFieldPathNames`: every `Object` type under a field must be
/// named by the path of field names from the root (lists and maps in between are
/// unnamed). Errors are kube's texts.
fn type_names(v: &Value, path: &mut Vec<String>, errors: &mut Vec<String>, depth: usize) {
    if depth > crate::limits::MAX_VALUE_DEPTH {
        return;
    }
    match v {
        Value::Struct(s) => {
            let expected = path.join(".");
            if s.name() != expected {
                errors.push(format!(
                    "unexpected type name {:?}, expected {:?}, which matches field name path from root Object type",
                    s.name(),
                    expected
                ));
            }
            for (field, value) in s.field_values() {
                let Ok(value) = Value::try_from(value.as_ref()) else { continue };
                path.push(field);
                type_names(&value, path, errors, depth + 1);
                path.pop();
            }
        }
        Value::List(items) => items.iter().for_each(|i| type_names(i, path, errors, depth + 1)),
        Value::Map(m) => m.map.values().for_each(|i| type_names(i, path, errors, depth + 1)),
        _ => {}
    }
}

/// The type name errors of an `Object` value, joined as Go's `errors.Join`.
fn check_type_names(v: &Value) -> Result<(), String> {
    let Value::Struct(s) = v else { return Ok(()) };
    let mut errors = Vec::new();
    type_names(v, &mut vec![s.name().to_string()], &mut errors, 0);
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors.join("\n"))
    }
}

/// The JSON of a value with `Object` structs in it (a struct is an object of its fields).
fn json_of(v: &Value) -> Result<Json, String> {
    crate::value::to_json(v).map_err(|e| e.to_string())
}

/// The apply configuration an ApplyConfiguration expression evaluated to: its `Object`
/// as JSON, after kube's type name check (`type mismatch: ...`).
pub fn apply_configuration(result: &Evaluated) -> Result<Json, String> {
    let v = result.value();
    match v {
        Value::Struct(s) if s.name() != JSON_PATCH_TYPE => {}
        other => {
            return Err(format!(
                "unsupported return type from ApplyConfiguration expression: {}",
                crate::value::type_name(other)
            ))
        }
    }
    check_type_names(v).map_err(|e| format!("type mismatch: {e}"))?;
    json_of(v)
}

/// The JSON patch a JSONPatch expression evaluated to: a list of `JSONPatch` operations,
/// each as kube builds it (`op`, `path`, `from` when set, `value` when set).
pub fn json_patch(result: &Evaluated) -> Result<Json, String> {
    let Value::List(items) = result.value() else {
        return Err("type mismatch: JSONPatchType.expression should evaluate to array".into());
    };
    let mut ops = Vec::with_capacity(items.len());
    for item in items.iter() {
        let Value::Struct(s) = item else {
            return Err(format!(
                "type mismatch: JSONPatchType.expression should evaluate to array of JSONPatch, got element of {}",
                crate::value::type_name(item)
            ));
        };
        if s.name() != JSON_PATCH_TYPE {
            return Err(format!(
                "type mismatch: JSONPatchType.expression should evaluate to array of JSONPatch: cannot convert to native type: {}",
                s.name()
            ));
        }
        let fields = s.field_values();
        let text = |name: &str| -> String {
            fields
                .get(name)
                .and_then(|v| v.downcast_ref::<CelString>().map(|s| s.inner().to_string()))
                .unwrap_or_default()
        };
        let mut op = JsonMap::new();
        op.insert("op".into(), Json::String(text("op")));
        op.insert("path".into(), Json::String(text("path")));
        let from = text("from");
        if !from.is_empty() {
            op.insert("from".into(), Json::String(from));
        }
        if let Some(value) = fields.get("value") {
            let value = Value::try_from(value.as_ref()).map_err(|e| {
                format!("JSONPath valueExpression evaluated to a type that could not marshal to JSON: {e}")
            })?;
            if matches!(&value, Value::Struct(_)) {
                check_type_names(&value).map_err(|e| format!("type mismatch: {e}"))?;
            }
            let json = json_of(&value).map_err(|e| {
                format!("JSONPath valueExpression evaluated to a type that could not marshal to JSON: {e}")
            })?;
            op.insert("value".into(), json);
        }
        ops.push(Json::Object(op));
    }
    Ok(Json::Array(ops))
}
