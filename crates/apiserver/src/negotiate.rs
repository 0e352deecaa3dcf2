//! Content negotiation, as kube's `negotiation.NegotiateOutputMediaType` with a resource
//! endpoint's restrictions (`RequestScope.AllowsMediaTypeTransform`): the Accept clauses in
//! order of preference (q, then a concrete type before a wildcard, else as written), each
//! tried against the media types kubeward writes (JSON, YAML, then protobuf); the first clause
//! whose parameters the endpoint allows wins, and when none does the answer is 406.
//!
//! Protobuf (`application/vnd.kubernetes.protobuf`, watch streams included) is written for the
//! built-in kinds: [`output`] offers it, and an endpoint without protobuf (a custom resource,
//! whose scope's standard serializers leave it out in kube) negotiates again with
//! [`output_without_protobuf`], so a client listing JSON after protobuf gets JSON and one
//! asking for protobuf alone gets 406.
//!
//! Parameters: `as`, `g` and `v` ask for the object converted to a meta.k8s.io kind:
//! `Table` (v1 or v1beta1, in JSON), `PartialObjectMetadata` and `PartialObjectMetadataList`
//! (v1 or v1beta1, in JSON, YAML or protobuf: client-go's metadata client asks for protobuf
//! first, and kube writes it for every resource, custom ones included, since the converted
//! kind is meta.k8s.io's); any other conversion skips the clause. `stream` must be `watch` on
//! JSON or protobuf, `sv` must be `v1`; other parameters are ignored, as kube ignores them.
//!
//! Not written (so such a clause is skipped and the next one tried): a Table in protobuf (kube
//! skips it too) and Tables in YAML (kube writes them; no client asks).

/// A representation the server can produce for an object or list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    Json,
    Yaml,
    /// meta.k8s.io Table, in the given version (`v1` or `v1beta1`), with what each row carries.
    Table(TableOutput),
    /// meta.k8s.io PartialObjectMetadata or PartialObjectMetadataList.
    Metadata(Metadata),
    /// `application/vnd.kubernetes.protobuf`: the object in kube's protobuf envelope (a
    /// built-in kind; see the module docs).
    Protobuf,
}

/// A Table answer: its meta.k8s.io version and the `includeObject` of its rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableOutput {
    pub version: &'static str,
    pub include: registry::table::IncludeObject,
}

impl TableOutput {
    pub fn new(version: &'static str) -> Self {
        TableOutput { version, include: registry::table::IncludeObject::Metadata }
    }
}

impl Output {
    /// Whether errors and objects are written as YAML.
    pub fn is_yaml(self) -> bool {
        matches!(self, Output::Yaml | Output::Metadata(Metadata { encoding: Encoding::Yaml, .. }))
    }

    /// Whether errors and objects are written in protobuf.
    pub fn is_protobuf(self) -> bool {
        matches!(self, Output::Protobuf | Output::Metadata(Metadata { encoding: Encoding::Protobuf, .. }))
    }
}

/// The media type a metadata-only answer is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Json,
    Yaml,
    /// kube's protobuf envelope around meta.k8s.io's message.
    Protobuf,
}

/// A metadata-only answer (`as=PartialObjectMetadata` or `as=PartialObjectMetadataList`):
/// the objects' full metadata, nothing else.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Metadata {
    /// `PartialObjectMetadataList` (for lists) rather than `PartialObjectMetadata`.
    pub list: bool,
    /// The meta.k8s.io version, `v1` or `v1beta1`.
    pub version: &'static str,
    /// The media type it is written in.
    pub encoding: Encoding,
    /// The media type an error's Status is written in: kube negotiates errors again without
    /// conversions (`DefaultEndpointRestrictions`), so the Accept's first clause without `as`
    /// that fits, else JSON (client-go's metadata client lists plain JSON last).
    pub errors: Encoding,
}

impl Metadata {
    /// The kind of one object: `PartialObjectMetadata` (also inside the list kind).
    pub const ITEM_KIND: &'static str = "PartialObjectMetadata";
    /// The list kind.
    pub const LIST_KIND: &'static str = "PartialObjectMetadataList";

    /// The kind asked for.
    pub fn kind(&self) -> &'static str {
        if self.list {
            Self::LIST_KIND
        } else {
            Self::ITEM_KIND
        }
    }

    /// `meta.k8s.io/<version>`.
    pub fn api_version(&self) -> &'static str {
        match self.version {
            "v1beta1" => "meta.k8s.io/v1beta1",
            _ => "meta.k8s.io/v1",
        }
    }
}

/// The media types kubeward writes, in kube's order of preference for wildcards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Served {
    Json,
    Yaml,
    Protobuf,
}

const SERVED: [(Served, &str, &str); 3] = [
    (Served::Json, "application", "json"),
    (Served::Yaml, "application", "yaml"),
    (Served::Protobuf, "application", "vnd.kubernetes.protobuf"),
];

/// The media types named in a 406, as kube's `NewNotAcceptableError` lists its serializers
/// (a custom resource's scope lists protobuf too).
pub const ACCEPTED_MEDIA_TYPES: &str =
    "application/json, application/yaml, application/vnd.kubernetes.protobuf";

/// A representation of `/api` and `/apis`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiscoveryOutput {
    Legacy,
    Aggregated(&'static str),
}

/// One clause of an Accept header.
struct Clause<'a> {
    typ: String,
    subtype: String,
    q: f32,
    params: Vec<(&'a str, &'a str)>,
}

impl Clause<'_> {
    fn param(&self, key: &str) -> Option<&str> {
        self.params.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| *v)
    }

    fn matches(&self, typ: &str, subtype: &str) -> bool {
        (self.typ == typ && (self.subtype == subtype || self.subtype == "*"))
            || (self.typ == "*" && self.subtype == "*")
    }
}

/// The clauses of an Accept header, most preferred first (goautoneg's `ParseAccept` order:
/// higher q, then a concrete type or subtype before a wildcard; ties keep their order).
fn parse(accept: &str) -> Vec<Clause<'_>> {
    let mut clauses: Vec<Clause<'_>> = accept
        .split(',')
        .filter_map(|part| {
            let mut it = part.split(';');
            let media = it.next()?.trim().to_ascii_lowercase();
            let (typ, subtype) = match media.split_once('/') {
                Some((t, s)) if !t.is_empty() && !s.is_empty() => {
                    (t.trim().to_string(), s.trim().to_string())
                }
                _ if media == "*" => ("*".to_string(), "*".to_string()),
                _ => return None,
            };
            let mut q = 1.0f32;
            let mut params = Vec::new();
            for (k, v) in it.filter_map(|p| p.split_once('=')) {
                let (k, v) = (k.trim(), v.trim().trim_matches('"'));
                if k == "q" {
                    q = v.parse().unwrap_or(1.0);
                } else {
                    params.push((k, v));
                }
            }
            Some(Clause { typ, subtype, q, params })
        })
        .collect();
    let rank = |c: &Clause<'_>| (c.typ == "*", c.subtype == "*");
    // `sort_by` is stable: equally preferred clauses keep the client's order.
    clauses.sort_by(|a, b| b.q.total_cmp(&a.q).then_with(|| rank(a).cmp(&rank(b))));
    clauses
}

/// What one clause, matched to a served media type, asks for; `None` when the endpoint
/// does not allow its parameters (kube's `acceptMediaTypeOptions`).
fn accept_clause(c: &Clause<'_>, served: Served) -> Option<Output> {
    if let Some(stream) = c.param("stream").filter(|s| !s.is_empty()) {
        // YAML has no stream serializer; JSON and protobuf stream only watch events.
        if served == Served::Yaml || stream != "watch" {
            return None;
        }
    }
    if c.param("sv").is_some_and(|sv| !sv.is_empty() && sv != "v1") {
        return None;
    }
    let (kind, group, version) = (c.param("as"), c.param("g"), c.param("v"));
    if kind.is_none() && group.is_none() && version.is_none() {
        return Some(match served {
            Served::Json => Output::Json,
            Served::Yaml => Output::Yaml,
            Served::Protobuf => Output::Protobuf,
        });
    }
    let version = match (group, version) {
        (Some("meta.k8s.io"), Some("v1")) => "v1",
        (Some("meta.k8s.io"), Some("v1beta1")) => "v1beta1",
        _ => return None,
    };
    let encoding = match served {
        Served::Json => Encoding::Json,
        Served::Yaml => Encoding::Yaml,
        Served::Protobuf => Encoding::Protobuf,
    };
    match kind? {
        "Table" if encoding == Encoding::Json => Some(Output::Table(TableOutput::new(version))),
        // `errors` is set by `negotiate` from the whole header.
        "PartialObjectMetadata" => {
            Some(Output::Metadata(Metadata { list: false, version, encoding, errors: Encoding::Json }))
        }
        "PartialObjectMetadataList" => {
            Some(Output::Metadata(Metadata { list: true, version, encoding, errors: Encoding::Json }))
        }
        _ => None,
    }
}

/// The output for a resource request, or None when nothing acceptable was offered (406).
pub fn output(accept: Option<&str>) -> Option<Output> {
    negotiate(accept, &SERVED)
}

/// The output for an endpoint without protobuf (custom resources), or None (406).
pub fn output_without_protobuf(accept: Option<&str>) -> Option<Output> {
    negotiate(accept, &SERVED[..2])
}

fn negotiate(accept: Option<&str>, served: &[(Served, &str, &str)]) -> Option<Output> {
    let Some(accept) = accept.filter(|a| !a.trim().is_empty()) else { return Some(Output::Json) };
    let clauses = parse(accept);
    Some(match first_output(clauses.iter(), served)? {
        Output::Metadata(m) => {
            let plain = |c: &&Clause<'_>| ["as", "g", "v"].iter().all(|p| c.param(p).is_none());
            let errors = match first_output(clauses.iter().filter(plain), served) {
                Some(Output::Yaml) => Encoding::Yaml,
                Some(Output::Protobuf) => Encoding::Protobuf,
                _ => Encoding::Json,
            };
            Output::Metadata(Metadata { errors, ..m })
        }
        out => out,
    })
}

/// The output of the first clause a served media type satisfies.
fn first_output<'a, 'b: 'a>(
    mut clauses: impl Iterator<Item = &'a Clause<'b>>,
    served: &[(Served, &str, &str)],
) -> Option<Output> {
    clauses.find_map(|clause| {
        served
            .iter()
            .filter(|(_, typ, subtype)| clause.matches(typ, subtype))
            .find_map(|(served, _, _)| accept_clause(clause, *served))
    })
}

/// The form of discovery documents the client asked for.
pub fn discovery_output(accept: Option<&str>) -> DiscoveryOutput {
    for c in parse(accept.unwrap_or_default()) {
        if c.typ == "application"
            && c.subtype == "json"
            && c.param("g") == Some("apidiscovery.k8s.io")
            && c.param("as") == Some("APIGroupDiscoveryList")
        {
            match c.param("v") {
                Some("v2") => return DiscoveryOutput::Aggregated("v2"),
                Some("v2beta1") => return DiscoveryOutput::Aggregated("v2beta1"),
                _ => {}
            }
        }
    }
    DiscoveryOutput::Legacy
}

#[cfg(test)]
mod tests {
    use super::*;

    const TBL: &str = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";
    const AGG2: &str = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json";
    const META: Metadata =
        Metadata { list: false, version: "v1", encoding: Encoding::Json, errors: Encoding::Json };
    const META_LIST: Metadata = Metadata { list: true, ..META };
    const PB_META_LIST: Metadata = Metadata { encoding: Encoding::Protobuf, ..META_LIST };

    #[test]
    fn kubectl_accept_headers() {
        assert_eq!(output(Some(TBL)), Some(Output::Table(TableOutput::new("v1"))));
        assert_eq!(output(Some("application/json, */*")), Some(Output::Json));
        assert_eq!(
            output(Some("application/vnd.kubernetes.protobuf,application/json")),
            Some(Output::Protobuf)
        );
        assert_eq!(output(Some("application/yaml")), Some(Output::Yaml));
        assert_eq!(output(None), Some(Output::Json));
        assert_eq!(output(Some("text/html")), None);
        assert_eq!(discovery_output(Some(AGG2)), DiscoveryOutput::Aggregated("v2"));
        assert_eq!(
            discovery_output(Some(
                "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json"
            )),
            DiscoveryOutput::Aggregated("v2beta1")
        );
        assert_eq!(discovery_output(Some("application/json, */*")), DiscoveryOutput::Legacy);
    }

    #[test]
    fn metadata_clients_get_partial_object_metadata() {
        // kube-rs's get_metadata / watch_metadata and list_metadata.
        let kube_rs = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1";
        assert_eq!(output(Some(kube_rs)), Some(Output::Metadata(META)));
        let kube_rs_list = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1";
        assert_eq!(output(Some(kube_rs_list)), Some(Output::Metadata(META_LIST)));
        // client-go's metadata client: protobuf first, then JSON.
        let client_go = "application/vnd.kubernetes.protobuf;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json";
        assert_eq!(output(Some(client_go)), Some(Output::Metadata(PB_META_LIST)));
        assert_eq!(output_without_protobuf(Some(client_go)), Some(Output::Metadata(META_LIST)));
        assert!(Output::Metadata(PB_META_LIST).is_protobuf() && !Output::Metadata(META_LIST).is_protobuf());
        let pb_watch = "application/vnd.kubernetes.protobuf;as=PartialObjectMetadata;g=meta.k8s.io;v=v1beta1;stream=watch";
        assert_eq!(
            output(Some(pb_watch)),
            Some(Output::Metadata(Metadata { encoding: Encoding::Protobuf, version: "v1beta1", ..META }))
        );
        let beta = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1beta1";
        assert_eq!(output(Some(beta)), Some(Output::Metadata(Metadata { version: "v1beta1", ..META })));
        let yaml = "application/yaml;as=PartialObjectMetadata;g=meta.k8s.io;v=v1";
        let yaml_meta = Metadata { encoding: Encoding::Yaml, ..META };
        assert_eq!(output(Some(yaml)), Some(Output::Metadata(yaml_meta)));
        assert!(Output::Metadata(yaml_meta).is_yaml());
        // A wildcard is JSON first.
        let any = "*/*;as=PartialObjectMetadata;g=meta.k8s.io;v=v1";
        assert_eq!(output(Some(any)), Some(Output::Metadata(META)));
        // Errors: the first clause without a conversion, else JSON.
        let errors = |accept: &str| match output(Some(accept)) {
            Some(Output::Metadata(m)) => m.errors,
            other => panic!("{other:?}"),
        };
        assert_eq!(errors(yaml), Encoding::Json);
        assert_eq!(errors(&format!("{yaml},application/yaml")), Encoding::Yaml);
        let pb = "application/vnd.kubernetes.protobuf;as=PartialObjectMetadata;g=meta.k8s.io;v=v1";
        assert_eq!(errors(pb), Encoding::Json);
        assert_eq!(errors(&format!("{pb},application/vnd.kubernetes.protobuf")), Encoding::Protobuf);
        assert_eq!(errors(&format!("{pb},application/json;q=0.5,application/yaml")), Encoding::Yaml);
    }

    #[test]
    fn conversions_the_server_does_not_write_skip_the_clause() {
        for accept in [
            "application/json;as=Foo;g=meta.k8s.io;v=v1",
            "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v2",
            "application/json;as=PartialObjectMetadata;g=apps;v=v1",
            "application/json;as=PartialObjectMetadata",
            "application/json;g=meta.k8s.io;v=v1",
            "application/vnd.kubernetes.protobuf;as=PartialObjectMetadata;g=meta.k8s.io;v=v2",
            "application/vnd.kubernetes.protobuf;as=Table;g=meta.k8s.io;v=v1",
            "application/vnd.kubernetes.protobuf;stream=other",
            "application/yaml;as=Table;g=meta.k8s.io;v=v1",
            "application/yaml;stream=watch",
            "application/json;stream=other",
            "application/json;sv=v2",
        ] {
            assert_eq!(output(Some(accept)), None, "{accept}");
        }
        assert_eq!(
            output(Some("application/json;as=Foo;g=meta.k8s.io;v=v1,application/yaml")),
            Some(Output::Yaml)
        );
        assert_eq!(output(Some("application/json;stream=watch;pretty=1;export=1")), Some(Output::Json));
    }

    #[test]
    fn protobuf_for_built_in_kinds_and_json_after_it_for_the_others() {
        // client-go's defaults for kube-controller-manager and kube-scheduler, and its e2e test.
        for accept in [
            "application/vnd.kubernetes.protobuf",
            "application/vnd.kubernetes.protobuf, */*",
            "application/vnd.kubernetes.protobuf,application/json",
            "application/vnd.kubernetes.protobuf;stream=watch",
            "application/json;q=0.5, application/vnd.kubernetes.protobuf",
            "application/*;q=0.1, application/vnd.kubernetes.protobuf;q=0.9",
        ] {
            assert_eq!(output(Some(accept)), Some(Output::Protobuf), "{accept}");
        }
        assert_eq!(output(Some("application/json,application/vnd.kubernetes.protobuf")), Some(Output::Json));
        assert_eq!(output(Some("*/*")), Some(Output::Json));
        assert_eq!(
            output_without_protobuf(Some("application/vnd.kubernetes.protobuf, */*")),
            Some(Output::Json)
        );
        assert_eq!(
            output_without_protobuf(Some("application/vnd.kubernetes.protobuf,application/json")),
            Some(Output::Json)
        );
        assert_eq!(output_without_protobuf(Some("application/vnd.kubernetes.protobuf")), None);
        assert_eq!(output_without_protobuf(None), Some(Output::Json));
    }

    #[test]
    fn preference_follows_q_then_specificity() {
        assert_eq!(output(Some("application/json;q=0.5,application/yaml")), Some(Output::Yaml));
        assert_eq!(output(Some("*/*,application/yaml")), Some(Output::Yaml));
        assert_eq!(output(Some("application/*,application/yaml")), Some(Output::Yaml));
        assert_eq!(output(Some("application/yaml,application/json")), Some(Output::Yaml));
        assert_eq!(output(Some("application/*")), Some(Output::Json));
        assert_eq!(output(Some("*")), Some(Output::Json));
    }
}
