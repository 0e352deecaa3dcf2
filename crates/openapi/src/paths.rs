//! The `paths` section of a group-version document: for each served resource its collection,
//! item, watch and subresource paths, with operations named and tagged the way kube-apiserver does
//! (`x-kubernetes-action`, `x-kubernetes-group-version-kind`, `operationId`, query parameters).
//! kubectl 1.29+ looks for a PATCH operation carrying the kind's GVK and a `fieldValidation`
//! parameter to decide that the server validates fields itself.

use serde_json::{json, Map, Value};

use crate::schema::{
    gvk_value, schema_ref, SchemaCatalog, API_GROUP, API_GROUP_LIST, API_RESOURCE_LIST, API_VERSIONS,
    DELETE_OPTIONS, PATCH, STATUS, VERSION_INFO, WATCH_EVENT,
};
use crate::ResourceSpec;

/// Content types of the PATCH request body.
pub(crate) const PATCH_CONTENT_TYPES: [&str; 4] = [
    "application/apply-patch+yaml",
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
];
const RESPONSE_TYPES: [&str; 3] =
    ["application/json", "application/vnd.kubernetes.protobuf", "application/yaml"];
const WATCH_TYPES: [&str; 3] = [
    "application/json;stream=watch",
    "application/vnd.kubernetes.protobuf;stream=watch",
    "application/watch+json",
];

/// The kinds a resource needs schemas for: its own and those of its subresources.
pub(crate) fn kinds_of(spec: &ResourceSpec) -> Vec<(String, String, String)> {
    let mut kinds = vec![(spec.group.clone(), spec.version.clone(), spec.kind.clone())];
    for sub in &spec.subresources {
        if let Some((g, v, k)) = subresource_kind(sub) {
            kinds.push((g.to_owned(), v.to_owned(), k.to_owned()));
        }
    }
    kinds
}

/// Subresources whose body is another kind than the parent's.
fn subresource_kind(sub: &str) -> Option<(&'static str, &'static str, &'static str)> {
    match sub {
        "token" => Some(("authentication.k8s.io", "v1", "TokenRequest")),
        "scale" => Some(("autoscaling", "v1", "Scale")),
        "eviction" => Some(("policy", "v1", "Eviction")),
        "binding" => Some(("", "v1", "Binding")),
        _ => None,
    }
}

/// The PodLogOptions query parameters after `container`, in kube's order around the name,
/// namespace and pretty parameters (the first three come before them).
const LOG_PARAMS: [(&str, &str, &str); 8] = [
    ("follow", "boolean", "Follow the log stream of the pod. Defaults to false."),
    ("insecureSkipTLSVerifyBackend", "boolean", "insecureSkipTLSVerifyBackend indicates that the apiserver should not confirm the validity of the serving certificate of the backend it is connecting to.  This will make the HTTPS connection between the apiserver and the backend insecure. This means the apiserver cannot verify the log data it is receiving came from the real kubelet.  If the kubelet is configured to verify the apiserver's TLS credentials, it does not mean the connection to the real kubelet is vulnerable to a man in the middle attack (e.g. an attacker could not intercept the actual log data coming from the real kubelet)."),
    ("limitBytes", "integer", "If set, the number of bytes to read from the server before terminating the log output. This may not display a complete final line of logging, and may return slightly more or slightly less than the specified limit."),
    ("previous", "boolean", "Return previous terminated container logs. Defaults to false."),
    ("sinceSeconds", "integer", "A relative time in seconds before the current time from which to show logs. If this value precedes the time a pod was started, only logs since the pod start will be returned. If this value is in the future, no logs will be returned. Only one of sinceSeconds or sinceTime may be specified."),
    ("stream", "string", "Specify which container log stream to return to the client. Acceptable values are \"All\", \"Stdout\" and \"Stderr\". If not specified, \"All\" is used, and both stdout and stderr are returned interleaved. Note that when \"TailLines\" is specified, \"Stream\" can only be set to nil or \"All\"."),
    ("tailLines", "integer", "If set, the number of lines from the end of the logs to show. If not specified, logs are shown from the creation of the container or sinceSeconds or sinceTime. Note that when \"TailLines\" is specified, \"Stream\" can only be set to nil or \"All\"."),
    ("timestamps", "boolean", "If true, add an RFC3339 or RFC3339Nano timestamp at the beginning of every line of log output. Defaults to false."),
];

/// The options kind of a connect subresource of `kind` (`PodExecOptions`, `NodeProxyOptions`).
fn connect_options_kind(sub: &str, kind: &str) -> String {
    match sub {
        "attach" => "PodAttachOptions".into(),
        "exec" => "PodExecOptions".into(),
        "portforward" => "PodPortForwardOptions".into(),
        _ => format!("{kind}ProxyOptions"),
    }
}

/// The query parameters of a connect subresource's options kind (kube's descriptions).
fn connect_query_params(sub: &str, kind: &str) -> Vec<Value> {
    let list: Vec<(&str, &str, String)> = match sub {
        "attach" => vec![
            ("container", "string", "The container in which to execute the command. Defaults to only container if there is only one container in the pod.".into()),
            ("stderr", "boolean", "Stderr if true indicates that stderr is to be redirected for the attach call. Defaults to true.".into()),
            ("stdin", "boolean", "Stdin if true, redirects the standard input stream of the pod for this call. Defaults to false.".into()),
            ("stdout", "boolean", "Stdout if true indicates that stdout is to be redirected for the attach call. Defaults to true.".into()),
            ("tty", "boolean", "TTY if true indicates that a tty will be allocated for the attach call. This is passed through the container runtime so the tty is allocated on the worker node by the container runtime. Defaults to false.".into()),
        ],
        "exec" => vec![
            ("command", "string", "Command is the remote command to execute. argv array. Not executed within a shell.".into()),
            ("container", "string", "Container in which to execute the command. Defaults to only container if there is only one container in the pod.".into()),
            ("stderr", "boolean", "Redirect the standard error stream of the pod for this call.".into()),
            ("stdin", "boolean", "Redirect the standard input stream of the pod for this call. Defaults to false.".into()),
            ("stdout", "boolean", "Redirect the standard output stream of the pod for this call.".into()),
            ("tty", "boolean", "TTY if true indicates that a tty will be allocated for the exec call. Defaults to false.".into()),
        ],
        "portforward" => vec![("ports", "integer", "List of ports to forward Required when using WebSockets".into())],
        _ => {
            let text = match kind {
                "Service" => "Path is the part of URLs that include service endpoints, suffixes, and parameters to use for the current proxy request to service. For example, the whole request URL is http://localhost/api/v1/namespaces/kube-system/services/elasticsearch-logging/_search?q=user:kimchy. Path is _search?q=user:kimchy.".to_string(),
                other => format!("Path is the URL path to use for the current proxy request to {}.", other.to_lowercase()),
            };
            vec![("path", "string", text)]
        }
    };
    list.iter().map(|(n, t, d)| query_param(n, t, d)).collect()
}

/// `/api/v1` or `/apis/<group>/<version>`.
pub(crate) fn gv_prefix(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("/api/{version}")
    } else {
        format!("/apis/{group}/{version}")
    }
}

/// `Core`, `Apps`, `RbacAuthorization`: the group as it appears inside operation ids.
fn group_camel(group: &str) -> String {
    if group.is_empty() {
        return "Core".into();
    }
    group.trim_end_matches(".k8s.io").split('.').map(capitalize).collect()
}

fn capitalize(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The tag kube gives a group-version's operations: `core_v1`, `rbacAuthorization_v1`.
fn tag(group: &str, version: &str) -> String {
    let camel = group_camel(group);
    let mut chars = camel.chars();
    let lower: String = match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    };
    format!("{lower}_{version}")
}

fn query_param(name: &str, ty: &str, description: &str) -> Value {
    json!({"description": description, "in": "query", "name": name, "schema": {"type": ty, "uniqueItems": true}})
}

fn path_param(name: &str, description: &str) -> Value {
    json!({"description": description, "in": "path", "name": name, "required": true, "schema": {"type": "string", "uniqueItems": true}})
}

fn write_params(patch: bool) -> Vec<Value> {
    let mut params = vec![
        query_param("dryRun", "string", "When present, indicates that modifications should not be persisted. An invalid or unrecognized dryRun directive will result in an error response and no further processing of the request. Valid values are: - All: all dry run stages will be processed"),
        query_param("fieldManager", "string", "fieldManager is a name associated with the actor or entity that is making these changes. The value must be less than or 128 characters long, and only contain printable characters, as defined by https://golang.org/pkg/unicode/#IsPrint."),
        query_param("fieldValidation", "string", "fieldValidation instructs the server on how to handle objects in the request (POST/PUT/PATCH) containing unknown or duplicate fields. Valid values are: - Ignore: This will ignore any unknown fields that are silently dropped from the object, and will ignore all but the last duplicate field that the decoder encounters. - Warn: This will send a warning via the standard warning response header for each unknown field that is dropped from the object, and for each duplicate field that is encountered. - Strict: This will fail the request with a BadRequest error if any unknown fields would be dropped from the object, or if any duplicate fields are present. The error returned from the server will contain all unknown and duplicate fields encountered."),
    ];
    if patch {
        params.push(query_param("force", "boolean", "Force is going to \"force\" Apply requests. It means user will re-acquire conflicting fields owned by other people. Force flag must be unset for non-apply patch requests."));
    }
    params
}

fn list_params() -> Vec<Value> {
    [
        ("allowWatchBookmarks", "boolean", "allowWatchBookmarks requests watch events with type \"BOOKMARK\"."),
        ("continue", "string", "The continue option should be set when retrieving more results from the server."),
        ("fieldSelector", "string", "A selector to restrict the list of returned objects by their fields. Defaults to everything."),
        ("labelSelector", "string", "A selector to restrict the list of returned objects by their labels. Defaults to everything."),
        ("limit", "integer", "limit is a maximum number of responses to return for a list call."),
        ("resourceVersion", "string", "resourceVersion sets a constraint on what resource versions a request may be served from."),
        ("resourceVersionMatch", "string", "resourceVersionMatch determines how resourceVersion is applied to list calls."),
        ("sendInitialEvents", "boolean", "`sendInitialEvents=true` may be set together with `watch=true`."),
        ("timeoutSeconds", "integer", "Timeout for the list/watch call."),
        ("watch", "boolean", "Watch for changes to the described resources and return them as a stream of add, update, and remove notifications."),
    ]
    .iter()
    .map(|(n, t, d)| query_param(n, t, d))
    .collect()
}

fn delete_params() -> Vec<Value> {
    vec![
        query_param(
            "dryRun",
            "string",
            "When present, indicates that modifications should not be persisted.",
        ),
        query_param(
            "gracePeriodSeconds",
            "integer",
            "The duration in seconds before the object should be deleted.",
        ),
        query_param(
            "orphanDependents",
            "boolean",
            "Deprecated: please use the PropagationPolicy, this field will be deprecated in 1.7.",
        ),
        query_param("propagationPolicy", "string", "Whether and how garbage collection will be performed."),
    ]
}

fn content(types: &[&str], schema: &Value) -> Value {
    let map: Map<String, Value> =
        types.iter().map(|t| ((*t).to_owned(), json!({ "schema": schema }))).collect();
    Value::Object(map)
}

fn responses(codes: &[(&str, &str)], schema: &Value, types: &[&str]) -> Value {
    let mut map = Map::new();
    for (code, description) in codes {
        map.insert((*code).into(), json!({"content": content(types, schema), "description": description}));
    }
    map.insert("401".into(), json!({"description": "Unauthorized"}));
    Value::Object(map)
}

/// What an operation looks like before it is turned into JSON.
struct Op<'a> {
    action: &'a str,
    id: String,
    description: String,
    gvk: &'a Value,
    params: Vec<Value>,
    body: Option<Value>,
    responses: Value,
}

impl Op<'_> {
    fn into_json(self, tag: &str) -> Value {
        let mut op = Map::new();
        op.insert("description".into(), self.description.into());
        op.insert("operationId".into(), self.id.into());
        if !self.params.is_empty() {
            op.insert("parameters".into(), Value::Array(self.params));
        }
        if let Some(body) = self.body {
            op.insert("requestBody".into(), body);
        }
        op.insert("responses".into(), self.responses);
        op.insert("tags".into(), json!([tag]));
        op.insert("x-kubernetes-action".into(), self.action.into());
        op.insert("x-kubernetes-group-version-kind".into(), self.gvk.clone());
        Value::Object(op)
    }
}

/// Adds every path of `spec` to `paths`. Resources whose kind has no schema are skipped.
pub(crate) fn add_resource_paths(
    paths: &mut Map<String, Value>,
    spec: &ResourceSpec,
    catalog: &SchemaCatalog,
) {
    let (g, v, k) = (spec.group.as_str(), spec.version.as_str(), spec.kind.as_str());
    let Some(kind_name) = catalog.kind_name(g, v, k) else { return };
    let kind_schema = schema_ref(kind_name);
    let gvk = gvk_value(g, v, k);
    let tag = tag(g, v);
    let ids = format!("{}{}", group_camel(g), capitalize(v));
    let ns = if spec.namespaced { "Namespaced" } else { "" };
    let prefix = gv_prefix(g, v);
    let scope = if spec.namespaced { format!("{prefix}/namespaces/{{namespace}}") } else { prefix.clone() };
    let collection = format!("{scope}/{}", spec.plural);
    let item = format!("{collection}/{{name}}");
    let has = |verb: &str| spec.verbs.iter().any(|v| v == verb);
    let body = |schema: &Value| json!({"content": content(&["*/*"], schema), "required": true});
    let patch_body = json!({"content": content(&PATCH_CONTENT_TYPES, &schema_ref(PATCH)), "required": true});
    let status_schema = schema_ref(STATUS);

    let mut scope_params = Vec::new();
    if spec.namespaced {
        scope_params
            .push(path_param("namespace", "object name and auth scope, such as for teams and projects"));
    }
    let pretty = query_param("pretty", "string", "If 'true', then the output is pretty printed.");

    // The options kinds of the connect subresources, which their operations name.
    let connect_gvks: Vec<(String, Value)> = spec
        .subresources
        .iter()
        .filter(|s| matches!(s.as_str(), "attach" | "exec" | "portforward" | "proxy"))
        .map(|s| (s.clone(), gvk_value(g, v, &connect_options_kind(s, k))))
        .collect();
    let mut ops: Vec<(String, &str, Op)> = Vec::new();
    if has("list") {
        if let Some(list_name) = catalog.kind_name(g, v, &format!("{k}List")) {
            let list_schema = schema_ref(list_name);
            let types = [RESPONSE_TYPES.as_slice(), WATCH_TYPES.as_slice()].concat();
            let make = |id: String| Op {
                action: "list",
                id,
                description: format!("list or watch objects of kind {k}"),
                gvk: &gvk,
                params: list_params(),
                body: None,
                responses: responses(&[("200", "OK")], &list_schema, &types),
            };
            ops.push((collection.clone(), "get", make(format!("list{ids}{ns}{k}"))));
            if spec.namespaced {
                let all = format!("{prefix}/{}", spec.plural);
                ops.push((all, "get", make(format!("list{ids}{k}ForAllNamespaces"))));
            }
        }
    }
    if has("create") {
        ops.push((
            collection.clone(),
            "post",
            Op {
                action: "post",
                id: format!("create{ids}{ns}{k}"),
                description: format!("create a {k}"),
                gvk: &gvk,
                params: write_params(false),
                body: Some(body(&kind_schema)),
                responses: responses(
                    &[("200", "OK"), ("201", "Created"), ("202", "Accepted")],
                    &kind_schema,
                    &RESPONSE_TYPES,
                ),
            },
        ));
    }
    if has("deletecollection") {
        let mut params = delete_params();
        params.extend(list_params());
        ops.push((
            collection.clone(),
            "delete",
            Op {
                action: "deletecollection",
                id: format!("delete{ids}Collection{ns}{k}"),
                description: format!("delete collection of {k}"),
                gvk: &gvk,
                params,
                body: Some(body(&schema_ref(DELETE_OPTIONS))),
                responses: responses(&[("200", "OK")], &status_schema, &RESPONSE_TYPES),
            },
        ));
    }
    if has("get") {
        ops.push((
            item.clone(),
            "get",
            Op {
                action: "get",
                id: format!("read{ids}{ns}{k}"),
                description: format!("read the specified {k}"),
                gvk: &gvk,
                params: Vec::new(),
                body: None,
                responses: responses(&[("200", "OK")], &kind_schema, &RESPONSE_TYPES),
            },
        ));
    }
    if has("update") {
        ops.push((
            item.clone(),
            "put",
            Op {
                action: "put",
                id: format!("replace{ids}{ns}{k}"),
                description: format!("replace the specified {k}"),
                gvk: &gvk,
                params: write_params(false),
                body: Some(body(&kind_schema)),
                responses: responses(&[("200", "OK"), ("201", "Created")], &kind_schema, &RESPONSE_TYPES),
            },
        ));
    }
    if has("patch") {
        ops.push((
            item.clone(),
            "patch",
            Op {
                action: "patch",
                id: format!("patch{ids}{ns}{k}"),
                description: format!("partially update the specified {k}"),
                gvk: &gvk,
                params: write_params(true),
                body: Some(patch_body.clone()),
                responses: responses(&[("200", "OK"), ("201", "Created")], &kind_schema, &RESPONSE_TYPES),
            },
        ));
    }
    if has("delete") {
        ops.push((
            item.clone(),
            "delete",
            Op {
                action: "delete",
                id: format!("delete{ids}{ns}{k}"),
                description: format!("delete a {k}"),
                gvk: &gvk,
                params: delete_params(),
                body: Some(body(&schema_ref(DELETE_OPTIONS))),
                responses: responses(&[("200", "OK"), ("202", "Accepted")], &status_schema, &RESPONSE_TYPES),
            },
        ));
    }
    if has("watch") {
        let event = schema_ref(WATCH_EVENT);
        let watch_scope = if spec.namespaced {
            format!("{prefix}/watch/namespaces/{{namespace}}/{}", spec.plural)
        } else {
            format!("{prefix}/watch/{}", spec.plural)
        };
        let make = |action: &'static str, id: String| Op {
            action,
            id,
            description: format!("watch changes to {k} objects"),
            gvk: &gvk,
            params: list_params(),
            body: None,
            responses: responses(&[("200", "OK")], &event, &WATCH_TYPES),
        };
        ops.push((watch_scope.clone(), "get", make("watchlist", format!("watch{ids}{ns}{k}List"))));
        ops.push((format!("{watch_scope}/{{name}}"), "get", make("watch", format!("watch{ids}{ns}{k}"))));
        if spec.namespaced {
            let all = format!("{prefix}/watch/{}", spec.plural);
            ops.push((all, "get", make("watchlist", format!("watch{ids}{k}ListForAllNamespaces"))));
        }
    }

    let mut sub_gvks = Vec::new();
    for sub in &spec.subresources {
        let path = format!("{item}/{sub}");
        let suffix = capitalize(sub);
        match sub.as_str() {
            // The object itself, read and written through a part of it.
            "status" | "ephemeralcontainers" | "resize" | "approval" => {
                for (verb, method, action, id) in [
                    ("get", "get", "get", "read"),
                    ("update", "put", "put", "replace"),
                    ("patch", "patch", "patch", "patch"),
                ] {
                    if !has(verb) {
                        continue;
                    }
                    let params = match method {
                        "put" => write_params(false),
                        "patch" => write_params(true),
                        _ => Vec::new(),
                    };
                    let body = match method {
                        "put" => Some(body(&kind_schema)),
                        "patch" => Some(patch_body.clone()),
                        _ => None,
                    };
                    ops.push((
                        path.clone(),
                        method,
                        Op {
                            action,
                            id: format!("{id}{ids}{ns}{k}{suffix}"),
                            description: format!("{id} {sub} of the specified {k}"),
                            gvk: &gvk,
                            params,
                            body,
                            responses: responses(&[("200", "OK")], &kind_schema, &RESPONSE_TYPES),
                        },
                    ));
                }
            }
            // A Namespace's finalizers, replaced (kube's replaceCoreV1NamespaceFinalize).
            "finalize" if has("update") => ops.push((
                path.clone(),
                "put",
                Op {
                    action: "put",
                    id: format!("replace{ids}{ns}{k}{suffix}"),
                    description: format!("replace {sub} of the specified {k}"),
                    gvk: &gvk,
                    params: write_params(false),
                    body: Some(body(&kind_schema)),
                    responses: responses(&[("200", "OK"), ("201", "Created")], &kind_schema, &RESPONSE_TYPES),
                },
            )),
            "log" => {
                let mut params = vec![query_param(
                    "container",
                    "string",
                    "The container for which to stream logs. Defaults to only container if there is one container in the pod.",
                )];
                params.extend(LOG_PARAMS[..3].iter().map(|(n, t, d)| query_param(n, t, d)));
                params.push(path_param("name", &format!("name of the {k}")));
                params.extend(scope_params.iter().cloned());
                params.push(pretty.clone());
                params.extend(LOG_PARAMS[3..].iter().map(|(n, t, d)| query_param(n, t, d)));
                paths.insert(path.clone(), json!({ "parameters": params }));
                let types = [RESPONSE_TYPES.as_slice(), &["text/plain"]].concat();
                ops.push((
                    path.clone(),
                    "get",
                    Op {
                        action: "get",
                        id: format!("read{ids}{ns}{k}Log"),
                        description: format!("read log of the specified {k}"),
                        gvk: &gvk,
                        params: Vec::new(),
                        body: None,
                        responses: responses(&[("200", "OK")], &json!({"type": "string"}), &types),
                    },
                ));
            }
            // kube's connect subresources: the methods its Connecter takes, each an operation
            // whose kind is the subresource's options kind; the options are the path's
            // parameters, with the name and namespace, in alphabetical order.
            "attach" | "exec" | "portforward" | "proxy" => {
                let options_kind = connect_options_kind(sub, k);
                let Some((_, options_gvk)) = connect_gvks.iter().find(|(s, _)| s == sub) else { continue };
                let methods: &[&str] = if sub.as_str() == "proxy" {
                    &["delete", "get", "head", "options", "patch", "post", "put"]
                } else {
                    &["get", "post"]
                };
                let variants: &[bool] = if sub.as_str() == "proxy" { &[false, true] } else { &[false] };
                for with_path in variants {
                    // The `{path}` path parameter comes before the query one of the same name.
                    let mut params: Vec<(String, Value)> = Vec::new();
                    if *with_path {
                        params.push(("path".into(), path_param("path", "path to the resource")));
                    }
                    params.extend(
                        connect_query_params(sub, k)
                            .into_iter()
                            .map(|p| (p["name"].as_str().unwrap_or_default().to_string(), p)),
                    );
                    params.push(("name".into(), path_param("name", &format!("name of the {options_kind}"))));
                    if spec.namespaced {
                        params.extend(scope_params.iter().map(|p| ("namespace".to_string(), p.clone())));
                    }
                    let at = if *with_path { format!("{path}/{{path}}") } else { path.clone() };
                    params.sort_by(|a, b| a.0.cmp(&b.0));
                    let params: Vec<Value> = params.into_iter().map(|(_, p)| p).collect();
                    paths.insert(at.clone(), json!({ "parameters": params }));
                    for method in methods {
                        let go_method = capitalize(method);
                        let with = if *with_path { "WithPath" } else { "" };
                        ops.push((
                            at.clone(),
                            method,
                            Op {
                                action: "connect",
                                id: format!("connect{ids}{go_method}{ns}{k}{suffix}{with}"),
                                description: format!(
                                    "connect {} requests to {sub} of {k}",
                                    method.to_uppercase()
                                ),
                                gvk: options_gvk,
                                params: Vec::new(),
                                body: None,
                                responses: responses(&[("200", "OK")], &json!({"type": "string"}), &["*/*"]),
                            },
                        ));
                    }
                }
            }
            other => {
                if let Some((sg, sv, sk)) = subresource_kind(other) {
                    if let Some(sub_name) = catalog.kind_name(sg, sv, sk) {
                        sub_gvks.push((
                            path,
                            format!("{ids}{ns}{k}{suffix}"),
                            gvk_value(sg, sv, sk),
                            sub_name,
                        ));
                    }
                }
            }
        }
    }
    for (path, id, sub_gvk, sub_name) in &sub_gvks {
        let schema = schema_ref(sub_name);
        ops.push((
            path.clone(),
            "post",
            Op {
                action: "post",
                id: format!("create{id}"),
                description: format!("create {} of a {k}", sub_gvk["kind"].as_str().unwrap_or_default()),
                gvk: sub_gvk,
                params: write_params(false),
                body: Some(body(&schema)),
                responses: responses(
                    &[("200", "OK"), ("201", "Created"), ("202", "Accepted")],
                    &schema,
                    &RESPONSE_TYPES,
                ),
            },
        ));
    }

    for (path, method, op) in ops {
        let entry = paths.entry(path.clone()).or_insert_with(|| json!({}));
        if let Value::Object(item_map) = entry {
            if !item_map.contains_key("parameters") {
                let mut params = Vec::new();
                if path.contains("{name}") {
                    params.push(path_param("name", &format!("name of the {k}")));
                }
                if path.contains("{namespace}") {
                    params.extend(scope_params.iter().cloned());
                }
                params.push(pretty.clone());
                item_map.insert("parameters".into(), Value::Array(params));
            }
            item_map.insert(method.into(), op.into_json(&tag));
        }
    }
}

/// One `GET` operation of a non-resource document (kube's `getCodeVersion`, `getAPIVersions`,
/// `get<Group>APIGroup`, ...): its path with the trailing slash kube's go-restful routes have.
pub(crate) fn nonresource_path(
    path: &str,
    tag: &str,
    description: &str,
    id: &str,
    schema: &Value,
    types: &[&str],
) -> Map<String, Value> {
    let op = json!({
        "description": description,
        "operationId": id,
        "responses": responses(&[("200", "OK")], schema, types),
        "tags": [tag],
    });
    let mut paths = Map::new();
    paths.insert(format!("{}/", path.trim_end_matches('/')), json!({ "get": op }));
    paths
}

/// The path and operation of the document `apis/<group>`: the group's APIGroup.
pub(crate) fn group_path(group: &str) -> Map<String, Value> {
    let camel = group_camel(group);
    let tag = tag(group, "");
    nonresource_path(
        &format!("/apis/{group}"),
        tag.trim_end_matches('_'),
        "get information of a group",
        &format!("get{camel}APIGroup"),
        &schema_ref(API_GROUP),
        &RESPONSE_TYPES,
    )
}

/// The documents of `api` and `apis`.
pub(crate) fn roots_paths() -> [(&'static str, Map<String, Value>); 2] {
    [
        (
            "api",
            nonresource_path(
                "/api",
                "core",
                "get available API versions",
                "getCoreAPIVersions",
                &schema_ref(API_VERSIONS),
                &RESPONSE_TYPES,
            ),
        ),
        (
            "apis",
            nonresource_path(
                "/apis",
                "apis",
                "get available API versions",
                "getAPIVersions",
                &schema_ref(API_GROUP_LIST),
                &RESPONSE_TYPES,
            ),
        ),
    ]
}

/// The document of `version`: JSON only, as kube's.
pub(crate) fn version_paths() -> Map<String, Value> {
    nonresource_path(
        "/version",
        "version",
        "get the version information for this server",
        "getCodeVersion",
        &schema_ref(VERSION_INFO),
        &["application/json"],
    )
}

/// The documents of ServiceAccount issuer discovery: plain strings, as kube declares them.
pub(crate) fn issuer_discovery_paths() -> [(&'static str, Map<String, Value>); 2] {
    let string = json!({"type": "string"});
    [
        (
            ".well-known/openid-configuration",
            nonresource_path(
                "/.well-known/openid-configuration",
                "WellKnown",
                "get service account issuer OpenID configuration, also known as the 'OIDC discovery doc'",
                "getServiceAccountIssuerOpenIDConfiguration",
                &string,
                &["application/json"],
            ),
        ),
        (
            "openid/v1/jwks",
            nonresource_path(
                "/openid/v1/jwks",
                "openid",
                "get service account issuer OpenID JSON Web Key Set (contains public token verification keys)",
                "getServiceAccountIssuerOpenIDKeyset",
                &string,
                &["application/jwk-set+json"],
            ),
        ),
    ]
}

/// The `GET /api/v1/` (APIResourceList) operation every group-version document carries.
pub(crate) fn add_resource_list_path(paths: &mut Map<String, Value>, group: &str, version: &str) {
    let path = format!("{}/", gv_prefix(group, version));
    let op = json!({
        "description": "get available resources",
        "operationId": format!("get{}{}APIResources", group_camel(group), capitalize(version)),
        "responses": responses(&[("200", "OK")], &schema_ref(API_RESOURCE_LIST), &RESPONSE_TYPES),
        "tags": [tag(group, version)],
    });
    paths.insert(path, json!({ "get": op }));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_kube() {
        assert_eq!(group_camel(""), "Core");
        assert_eq!(group_camel("rbac.authorization.k8s.io"), "RbacAuthorization");
        assert_eq!(tag("rbac.authorization.k8s.io", "v1"), "rbacAuthorization_v1");
        assert_eq!(tag("", "v1"), "core_v1");
        assert_eq!(gv_prefix("apps", "v1"), "/apis/apps/v1");
    }

    #[test]
    fn token_subresource_posts_a_token_request() {
        let spec = ResourceSpec::new(
            "",
            "v1",
            "ServiceAccount",
            "serviceaccounts",
            true,
            &["get", "list", "create"],
            &["token"],
        );
        let catalog = SchemaCatalog::build(std::slice::from_ref(&spec));
        let mut paths = Map::new();
        add_resource_paths(&mut paths, &spec, &catalog);
        let token = &paths["/api/v1/namespaces/{namespace}/serviceaccounts/{name}/token"]["post"];
        assert_eq!(token["x-kubernetes-group-version-kind"]["kind"], "TokenRequest");
        assert_eq!(token["operationId"], "createCoreV1NamespacedServiceAccountToken");
        assert!(paths.contains_key("/api/v1/serviceaccounts"));
    }
}
