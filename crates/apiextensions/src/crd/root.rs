//! What the root of a schema may say when the status subresource is on (kube's
//! `allowedFieldsAtRootSchema`, checked in Go's field order).

use crate::props::Props;

pub const ALLOWED_AT_STATUS_ROOT: &str = "[Description Type Format Title Maximum ExclusiveMaximum Minimum ExclusiveMinimum MaxLength MinLength Pattern MaxItems MinItems UniqueItems MultipleOf Required Items Properties ExternalDocs Example XPreserveUnknownFields XValidations]";

/// The first field of the root schema, in Go declaration order, that is set but not
/// allowed when the status subresource is on; `Type` stands for a non-object type.
pub fn first_disallowed_at_root(s: &Props) -> Option<&'static str> {
    let fields: [(&str, bool, bool); 44] = [
        ("ID", !s.id.is_empty(), false),
        ("Schema", !s.schema.is_empty(), false),
        ("Ref", s.reference.is_some(), false),
        ("Description", !s.description.is_empty(), true),
        ("Type", !s.type_.is_empty(), true),
        ("Nullable", s.nullable, false),
        ("Format", !s.format.is_empty(), true),
        ("Title", !s.title.is_empty(), true),
        ("Default", s.default.is_some(), false),
        ("Maximum", s.maximum.is_some(), true),
        ("ExclusiveMaximum", s.exclusive_maximum, true),
        ("Minimum", s.minimum.is_some(), true),
        ("ExclusiveMinimum", s.exclusive_minimum, true),
        ("MaxLength", s.max_length.is_some(), true),
        ("MinLength", s.min_length.is_some(), true),
        ("Pattern", !s.pattern.is_empty(), true),
        ("MaxItems", s.max_items.is_some(), true),
        ("MinItems", s.min_items.is_some(), true),
        ("UniqueItems", s.unique_items, true),
        ("MultipleOf", s.multiple_of.is_some(), true),
        ("Enum", !s.enum_.is_empty(), false),
        ("MaxProperties", s.max_properties.is_some(), false),
        ("MinProperties", s.min_properties.is_some(), false),
        ("Required", !s.required.is_empty(), true),
        ("Items", s.items.is_some(), true),
        ("AllOf", !s.all_of.is_empty(), false),
        ("OneOf", !s.one_of.is_empty(), false),
        ("AnyOf", !s.any_of.is_empty(), false),
        ("Not", s.not.is_some(), false),
        ("Properties", !s.properties.is_empty(), true),
        ("AdditionalProperties", s.additional_properties.is_some(), false),
        ("PatternProperties", !s.pattern_properties.is_empty(), false),
        ("Dependencies", !s.dependencies.is_empty(), false),
        ("AdditionalItems", s.additional_items.is_some(), false),
        ("Definitions", !s.definitions.is_empty(), false),
        ("ExternalDocs", s.external_docs.is_some(), true),
        ("Example", s.example.is_some(), true),
        ("XPreserveUnknownFields", s.x_preserve_unknown_fields.is_some(), true),
        ("XEmbeddedResource", s.x_embedded_resource, false),
        ("XIntOrString", s.x_int_or_string, false),
        ("XListMapKeys", !s.x_list_map_keys.is_empty(), false),
        ("XListType", s.x_list_type.is_some(), false),
        ("XMapType", s.x_map_type.is_some(), false),
        ("XValidations", !s.x_validations.is_empty(), true),
    ];
    for (name, set, allowed) in fields {
        if !set {
            continue;
        }
        if name == "Type" {
            if s.type_ != "object" {
                return Some("Type");
            }
            continue;
        }
        if !allowed {
            return Some(name);
        }
    }
    None
}
