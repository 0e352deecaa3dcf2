//! The web UI: plain HTML, JavaScript and CSS compiled into the binary (no build step, no
//! framework, no CDN), served with long-lived caching off so a new binary's page is used.

use crate::serve::{self, Response};

const INDEX: &str = include_str!("assets/index.html");
const APP_JS: &str = include_str!("assets/app.js");
const APP_CSS: &str = include_str!("assets/app.css");
const ICON: &str = include_str!("assets/icon.svg");

/// The asset at `path`; the page itself for `/` (routes live in the URL's fragment).
pub fn serve(path: &str) -> Response {
    match path {
        "/" | "/index.html" => serve::respond(200, "text/html; charset=utf-8", INDEX),
        "/app.js" => serve::respond(200, "text/javascript; charset=utf-8", APP_JS),
        "/app.css" => serve::respond(200, "text/css; charset=utf-8", APP_CSS),
        "/icon.svg" => serve::respond(200, "image/svg+xml", ICON),
        _ => serve::status(&apimachinery::status::StatusError::not_found_path()),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_page_has_no_inline_script_or_style() {
        let page = super::INDEX;
        assert!(!page.contains("<script>"), "inline script");
        assert!(!page.contains("style="), "inline style");
        assert!(!page.contains("<style"), "inline style");
        assert!(!page.contains("http://") && !page.contains("https://"), "no third-party origin");
        assert!(!super::APP_JS.contains("innerHTML"), "no HTML built from strings");
        assert!(!super::APP_JS.contains("eval("));
    }
}
