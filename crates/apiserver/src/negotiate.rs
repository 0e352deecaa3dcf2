//! Content negotiation: walks the Accept list in order, as kube does, and falls through
//! to plain JSON; never answers 406 when any acceptable entry is present.

/// A representation the server can produce for an object or list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    Json,
    Yaml,
    /// meta.k8s.io Table, in the given version (`v1` or `v1beta1`).
    Table(&'static str),
}

/// A representation of `/api` and `/apis`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiscoveryOutput {
    Legacy,
    Aggregated(&'static str),
}

struct MediaRange<'a> {
    essence: String,
    params: Vec<(&'a str, &'a str)>,
}

impl MediaRange<'_> {
    fn param(&self, key: &str) -> Option<&str> {
        self.params.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| *v)
    }
}

fn parse(accept: &str) -> Vec<MediaRange<'_>> {
    accept
        .split(',')
        .filter_map(|part| {
            let mut it = part.split(';');
            let essence = it.next()?.trim().to_ascii_lowercase();
            if essence.is_empty() {
                return None;
            }
            let params = it
                .filter_map(|p| p.split_once('='))
                .map(|(k, v)| (k.trim(), v.trim().trim_matches('"')))
                .filter(|(k, _)| *k != "q")
                .collect();
            Some(MediaRange { essence, params })
        })
        .collect()
}

/// The output for a resource request, or None when nothing acceptable was offered (406).
pub fn output(accept: Option<&str>) -> Option<Output> {
    let Some(accept) = accept.filter(|a| !a.trim().is_empty()) else { return Some(Output::Json) };
    for m in parse(accept) {
        let json_like = matches!(m.essence.as_str(), "application/json" | "application/*" | "*/*");
        if json_like {
            match m.param("as") {
                None => return Some(Output::Json),
                Some("Table") if m.param("g") == Some("meta.k8s.io") => match m.param("v") {
                    Some("v1") => return Some(Output::Table("v1")),
                    Some("v1beta1") => return Some(Output::Table("v1beta1")),
                    _ => continue,
                },
                // PartialObjectMetadata and other transformations are not offered.
                Some(_) => continue,
            }
        }
        if matches!(m.essence.as_str(), "application/yaml" | "application/x-yaml" | "text/yaml")
            && m.params.is_empty()
        {
            return Some(Output::Yaml);
        }
    }
    None
}

/// The form of discovery documents the client asked for.
pub fn discovery_output(accept: Option<&str>) -> DiscoveryOutput {
    for m in parse(accept.unwrap_or_default()) {
        if m.essence == "application/json"
            && m.param("g") == Some("apidiscovery.k8s.io")
            && m.param("as") == Some("APIGroupDiscoveryList")
        {
            match m.param("v") {
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

    #[test]
    fn kubectl_accept_headers() {
        assert_eq!(output(Some(TBL)), Some(Output::Table("v1")));
        assert_eq!(output(Some("application/json, */*")), Some(Output::Json));
        assert_eq!(output(Some("application/vnd.kubernetes.protobuf,application/json")), Some(Output::Json));
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
}
