//! apimachinery's name checks with their messages: `IsDNS1035Label`,
//! `IsDNS1123Label`, `IsDNS1123Subdomain`.

const DNS1035_LABEL_MSG: &str = "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";
const DNS1123_LABEL_MSG: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const DNS1123_SUBDOMAIN_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";

fn lower_alnum_dash(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

fn label_shape(s: &str) -> bool {
    !s.is_empty() && lower_alnum_dash(s) && !s.starts_with('-') && !s.ends_with('-')
}

fn max_len(n: usize) -> String {
    format!("must be no more than {n} characters")
}

/// `IsDNS1035Label`.
pub fn dns1035_label(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    if s.len() > 63 {
        out.push(max_len(63));
    }
    if !(label_shape(s) && s.as_bytes()[0].is_ascii_lowercase()) {
        out.push(DNS1035_LABEL_MSG.to_string());
    }
    out
}

/// `IsDNS1123Label`.
pub fn dns1123_label(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    if s.len() > 63 {
        out.push(max_len(63));
    }
    if !label_shape(s) {
        out.push(DNS1123_LABEL_MSG.to_string());
    }
    out
}

/// `IsDNS1123Subdomain`.
pub fn dns1123_subdomain(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    if s.len() > 253 {
        out.push(max_len(253));
    }
    if !s.split('.').all(label_shape) {
        out.push(DNS1123_SUBDOMAIN_MSG.to_string());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(dns1035_label("v1beta1").is_empty());
        assert_eq!(dns1035_label("1v"), vec![DNS1035_LABEL_MSG]);
        assert!(dns1123_subdomain("stable.example.com").is_empty());
        assert_eq!(dns1123_subdomain("Example.com"), vec![DNS1123_SUBDOMAIN_MSG]);
        assert_eq!(dns1123_label(&"a".repeat(64)), vec!["must be no more than 63 characters"]);
    }
}
