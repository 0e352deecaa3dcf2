//! `bench/run --only`: sections of one run put into an existing report in place of the same
//! sections; every other line of the report is kept as it was.

/// Puts `section` (its first line is its `## ` heading; it may hold more `## ` headings, as the
/// writes section does) into `doc`: in place of the lines from the same heading up to the next
/// `## ` heading that is not one of the section's own, or, when `doc` has no such heading,
/// before the first of `later` (the headings that follow it in a full report) that `doc` has,
/// else before `## Notes`, else at the end.
pub fn splice(doc: &str, section: &str, later: &[&str]) -> String {
    let heading = section.lines().next().unwrap_or_default();
    let own: Vec<&str> = section.lines().filter(|l| l.starts_with("## ")).collect();
    let lines: Vec<&str> = doc.lines().collect();
    let body = section.trim_end_matches('\n');
    let (start, end) = match lines.iter().position(|l| *l == heading) {
        Some(i) => {
            let end = lines[i + 1..]
                .iter()
                .position(|l| l.starts_with("## ") && !own.contains(l))
                .map_or(lines.len(), |j| i + 1 + j);
            (i, end)
        }
        None => {
            let at = later
                .iter()
                .chain(std::iter::once(&"## Notes"))
                .find_map(|h| lines.iter().position(|l| l == h))
                .unwrap_or(lines.len());
            (at, at)
        }
    };
    let mut out: Vec<&str> = lines[..start].to_vec();
    if start > 0 && !lines[start - 1].is_empty() {
        out.push("");
    }
    out.extend(body.lines());
    out.push("");
    out.extend(&lines[end..]);
    while out.last().is_some_and(|l| l.is_empty()) {
        out.pop();
    }
    let mut text = out.join("\n");
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "# B\n\n## A\n\nold a\n\n## C\n\nc\n\n## Notes\n\n- n\n\n## Profile notes\n\np\n";

    #[test]
    fn replaces_a_section_in_place() {
        let out = splice(DOC, "## A\n\nnew a\n| t |\n", &["## C"]);
        assert_eq!(
            out,
            "# B\n\n## A\n\nnew a\n| t |\n\n## C\n\nc\n\n## Notes\n\n- n\n\n## Profile notes\n\np\n"
        );
    }

    #[test]
    fn inserts_a_missing_section_before_the_next_one() {
        let out = splice(DOC, "## X\n\nx\n", &["## C", "## Notes"]);
        assert_eq!(
            out,
            "# B\n\n## A\n\nold a\n\n## X\n\nx\n\n## C\n\nc\n\n## Notes\n\n- n\n\n## Profile notes\n\np\n"
        );
        let out = splice(DOC, "## Y\n\ny\n", &["## Z"]);
        assert!(
            out.contains("- n\n\n## Y\n\ny\n\n## Notes") || out.contains("c\n\n## Y\n\ny\n\n## Notes"),
            "{out}"
        );
    }

    #[test]
    fn a_section_of_several_headings_replaces_all_of_them() {
        let doc = "# B\n\n## A\n\nold a\n\n## A2\n\nold a2\n\n## C\n\nc\n";
        let out = splice(doc, "## A\n\nnew a\n\n## A2\n\nnew a2\n", &["## C"]);
        assert_eq!(out, "# B\n\n## A\n\nnew a\n\n## A2\n\nnew a2\n\n## C\n\nc\n");
    }

    #[test]
    fn the_last_section_runs_to_the_end() {
        let out = splice(DOC, "## Profile notes\n\nq\n", &[]);
        assert!(out.ends_with("- n\n\n## Profile notes\n\nq\n"), "{out}");
        assert_eq!(splice("", "## S\n\ns\n", &[]), "## S\n\ns\n");
    }
}
