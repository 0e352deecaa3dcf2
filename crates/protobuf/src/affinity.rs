//! `k8s.io.api.core.v1` scheduling affinity: node affinity, pod affinity and anti-affinity.
//! Field numbers are those of k8s.io/api `core/v1/generated.proto`.

use prost::Message;
use serde_json::Value;

use crate::json::{Obj, ToJson};
use crate::meta::LabelSelector;

/// `core.v1.Affinity`.
#[derive(Clone, PartialEq, Message)]
pub struct Affinity {
    #[prost(message, optional, tag = "1")]
    pub node_affinity: Option<NodeAffinity>,
    #[prost(message, optional, tag = "2")]
    pub pod_affinity: Option<PodAffinity>,
    #[prost(message, optional, tag = "3")]
    pub pod_anti_affinity: Option<PodAffinity>,
}

impl ToJson for Affinity {
    fn to_json(&self) -> Value {
        Obj::new()
            .msg("nodeAffinity", &self.node_affinity)
            .msg("podAffinity", &self.pod_affinity)
            .msg("podAntiAffinity", &self.pod_anti_affinity)
            .build()
    }
}

/// `core.v1.NodeAffinity`.
#[derive(Clone, PartialEq, Message)]
pub struct NodeAffinity {
    #[prost(message, optional, tag = "1")]
    pub required: Option<NodeSelector>,
    #[prost(message, repeated, tag = "2")]
    pub preferred: Vec<PreferredSchedulingTerm>,
}

impl ToJson for NodeAffinity {
    fn to_json(&self) -> Value {
        Obj::new()
            .msg("requiredDuringSchedulingIgnoredDuringExecution", &self.required)
            .list("preferredDuringSchedulingIgnoredDuringExecution", &self.preferred)
            .build()
    }
}

/// `core.v1.NodeSelector`.
#[derive(Clone, PartialEq, Message)]
pub struct NodeSelector {
    #[prost(message, repeated, tag = "1")]
    pub node_selector_terms: Vec<NodeSelectorTerm>,
}

impl ToJson for NodeSelector {
    fn to_json(&self) -> Value {
        Obj::new().list("nodeSelectorTerms", &self.node_selector_terms).build()
    }
}

/// `core.v1.NodeSelectorTerm`.
#[derive(Clone, PartialEq, Message)]
pub struct NodeSelectorTerm {
    #[prost(message, repeated, tag = "1")]
    pub match_expressions: Vec<NodeSelectorRequirement>,
    #[prost(message, repeated, tag = "2")]
    pub match_fields: Vec<NodeSelectorRequirement>,
}

impl ToJson for NodeSelectorTerm {
    fn to_json(&self) -> Value {
        Obj::new()
            .list("matchExpressions", &self.match_expressions)
            .list("matchFields", &self.match_fields)
            .build()
    }
}

/// `core.v1.NodeSelectorRequirement`.
#[derive(Clone, PartialEq, Message)]
pub struct NodeSelectorRequirement {
    #[prost(string, optional, tag = "1")]
    pub key: Option<String>,
    #[prost(string, optional, tag = "2")]
    pub operator: Option<String>,
    #[prost(string, repeated, tag = "3")]
    pub values: Vec<String>,
}

impl ToJson for NodeSelectorRequirement {
    fn to_json(&self) -> Value {
        Obj::new().str("key", &self.key).str("operator", &self.operator).strs("values", &self.values).build()
    }
}

/// `core.v1.PreferredSchedulingTerm`.
#[derive(Clone, PartialEq, Message)]
pub struct PreferredSchedulingTerm {
    #[prost(int32, optional, tag = "1")]
    pub weight: Option<i32>,
    #[prost(message, optional, tag = "2")]
    pub preference: Option<NodeSelectorTerm>,
}

impl ToJson for PreferredSchedulingTerm {
    fn to_json(&self) -> Value {
        Obj::new().int_nonzero("weight", self.weight).msg("preference", &self.preference).build()
    }
}

/// `core.v1.PodAffinity` and `core.v1.PodAntiAffinity` (same layout).
#[derive(Clone, PartialEq, Message)]
pub struct PodAffinity {
    #[prost(message, repeated, tag = "1")]
    pub required: Vec<PodAffinityTerm>,
    #[prost(message, repeated, tag = "2")]
    pub preferred: Vec<WeightedPodAffinityTerm>,
}

impl ToJson for PodAffinity {
    fn to_json(&self) -> Value {
        Obj::new()
            .list("requiredDuringSchedulingIgnoredDuringExecution", &self.required)
            .list("preferredDuringSchedulingIgnoredDuringExecution", &self.preferred)
            .build()
    }
}

/// `core.v1.PodAffinityTerm`.
#[derive(Clone, PartialEq, Message)]
pub struct PodAffinityTerm {
    #[prost(message, optional, tag = "1")]
    pub label_selector: Option<LabelSelector>,
    #[prost(string, repeated, tag = "2")]
    pub namespaces: Vec<String>,
    #[prost(string, optional, tag = "3")]
    pub topology_key: Option<String>,
    #[prost(message, optional, tag = "4")]
    pub namespace_selector: Option<LabelSelector>,
}

impl ToJson for PodAffinityTerm {
    fn to_json(&self) -> Value {
        Obj::new()
            .msg("labelSelector", &self.label_selector)
            .strs("namespaces", &self.namespaces)
            .str("topologyKey", &self.topology_key)
            .msg("namespaceSelector", &self.namespace_selector)
            .build()
    }
}

/// `core.v1.WeightedPodAffinityTerm`.
#[derive(Clone, PartialEq, Message)]
pub struct WeightedPodAffinityTerm {
    #[prost(int32, optional, tag = "1")]
    pub weight: Option<i32>,
    #[prost(message, optional, tag = "2")]
    pub pod_affinity_term: Option<PodAffinityTerm>,
}

impl ToJson for WeightedPodAffinityTerm {
    fn to_json(&self) -> Value {
        Obj::new().int_nonzero("weight", self.weight).msg("podAffinityTerm", &self.pod_affinity_term).build()
    }
}
