//! The optional plain-HTTP listener (`server.redirect_http`, e.g. port 80): every request
//! is answered with a permanent redirect to the same path on `server.public_url`, and
//! nothing else. It reads no body, serves no page, and never takes the host to send
//! people to from the request (a `Host` header cannot point a reporter elsewhere).

use axum::Router;
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

/// The redirecting service, to `public` (an `https://` origin).
pub fn app(public: &url::Url) -> Router {
    let origin = public.origin().ascii_serialization();
    Router::new().fallback(move |uri: Uri| {
        let origin = origin.clone();
        async move { redirect(&origin, &uri) }
    })
}

fn redirect(origin: &str, uri: &Uri) -> Response {
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    // An absolute-form request target keeps only its path; anything else starts at /.
    let path = if path.starts_with('/') { path } else { "/" };
    let location = HeaderValue::from_str(&format!("{origin}{path}"))
        .or_else(|_| HeaderValue::from_str(&format!("{origin}/")));
    match location {
        Ok(location) => (
            StatusCode::MOVED_PERMANENTLY,
            [
                (header::LOCATION, location),
                (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            ],
        )
            .into_response(),
        Err(_) => StatusCode::BAD_REQUEST.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn location(uri: &str) -> String {
        let origin = "https://security.example.com";
        let uri: Uri = uri.parse().expect("a URI");
        let response = redirect(origin, &uri);
        assert_eq!(response.status(), StatusCode::MOVED_PERMANENTLY);
        response.headers()[header::LOCATION]
            .to_str()
            .expect("ascii")
            .to_string()
    }

    #[test]
    fn the_path_is_kept_and_the_host_never_taken_from_the_request() {
        assert_eq!(location("/"), "https://security.example.com/");
        assert_eq!(
            location("/check?x=1"),
            "https://security.example.com/check?x=1"
        );
        assert_eq!(
            location("http://evil.example/policy"),
            "https://security.example.com/policy"
        );
        assert_eq!(location("*"), "https://security.example.com/");
    }
}
