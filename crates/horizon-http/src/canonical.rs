//! One canonical form of the request path, decided before anything else looks at it.
//!
//! The router matches a percent-decoded path while a middleware comparing the raw one would see
//! another string: `/%761/keys` is `/v1/keys` to the router but not to a prefix check. So the
//! outermost middleware rewrites every request to one form that the key check, the scope check,
//! the metrics and the router all read (as Envoy's `normalize_path` and NGINX's `merge_slashes`
//! do):
//!
//! - percent-encoded unreserved characters (RFC 3986 §2.3: `A-Z a-z 0-9 - . _ ~`) are decoded,
//!   so `%76` is `v`, in any hex case;
//! - every other percent-encoding is kept, with its hex digits in upper case (`%2f` and `%2F`
//!   are one form), so a double encoding such as `%2576` stays the literal text `%76`;
//! - what could make two different-looking paths name one resource, or one path name two, is
//!   refused with 400: an encoded `/` (`%2F`), a dot segment (`.` or `..`, plain or encoded),
//!   an empty segment (`//`), a malformed escape (`%G1`, a trailing `%`), and a backslash.

use actix_web::{
    Error, ResponseError,
    body::{EitherBody, MessageBody},
    dev::{ServiceRequest, ServiceResponse},
    http::Uri,
    middleware::Next,
};

use crate::ApiError;

/// Why a path has no canonical form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathRejection {
    /// `%` not followed by two hex digits.
    MalformedEscape,
    /// `%2F`: a slash that is data for one reader and a separator for another.
    EncodedSlash,
    /// A `.` or `..` segment, plain or encoded.
    DotSegment,
    /// `//`: an empty segment.
    EmptySegment,
    /// A backslash, which some clients and proxies read as a separator.
    Backslash,
}

impl PathRejection {
    fn message(self) -> &'static str {
        match self {
            Self::MalformedEscape => "the path has a malformed percent-encoding",
            Self::EncodedSlash => "the path has an encoded slash (%2F), which is not accepted",
            Self::DotSegment => "the path has a '.' or '..' segment, which is not accepted",
            Self::EmptySegment => "the path has an empty segment ('//'), which is not accepted",
            Self::Backslash => "the path has a backslash, which is not accepted",
        }
    }
}

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// The canonical form of `path` (the part of the target before `?`), or why it has none.
/// Canonicalising a canonical path returns it unchanged.
pub fn canonical_path(path: &str) -> Result<String, PathRejection> {
    let bytes = path.as_bytes();
    let mut out = String::with_capacity(path.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b'%' => {
                let (hi, lo) = match (bytes.get(i + 1), bytes.get(i + 2)) {
                    (Some(&h), Some(&l)) => (h, l),
                    _ => return Err(PathRejection::MalformedEscape),
                };
                let (Some(h), Some(l)) = (hex_value(hi), hex_value(lo)) else {
                    return Err(PathRejection::MalformedEscape);
                };
                let decoded = h * 16 + l;
                if decoded == b'/' {
                    return Err(PathRejection::EncodedSlash);
                }
                if decoded == b'\\' {
                    return Err(PathRejection::Backslash);
                }
                if is_unreserved(decoded) {
                    out.push(decoded as char);
                } else {
                    out.push('%');
                    out.push(hi.to_ascii_uppercase() as char);
                    out.push(lo.to_ascii_uppercase() as char);
                }
                i += 3;
            }
            b'\\' => return Err(PathRejection::Backslash),
            _ => {
                // `Uri` admits only ASCII in a path, so this pushes whole characters.
                out.push(b as char);
                i += 1;
            }
        }
    }
    // Segments are judged after decoding, so `%2E%2E` is the `..` it stands for.
    let mut segments = out.split('/').skip(1).peekable();
    while let Some(segment) = segments.next() {
        match segment {
            "." | ".." => return Err(PathRejection::DotSegment),
            // A single trailing slash is a distinct (unrouted) path, not an ambiguity.
            "" if segments.peek().is_some() => return Err(PathRejection::EmptySegment),
            _ => {}
        }
    }
    Ok(out)
}

/// Middleware, outermost: answers 400 problem+json for a path with no canonical form and
/// rewrites every other request's URI to the canonical path, for the router and for every
/// middleware after this one.
pub(crate) async fn canonicalise(
    mut req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, Error> {
    let raw = req.uri().path();
    let canonical = match canonical_path(raw) {
        Ok(c) => c,
        Err(why) => {
            let response = ApiError::invalid(why.message()).error_response();
            return Ok(req.into_response(response).map_into_right_body());
        }
    };
    if canonical != raw {
        let target = match req.uri().query() {
            Some(q) => format!("{canonical}?{q}"),
            None => canonical,
        };
        let mut parts = req.uri().clone().into_parts();
        let Ok(path_and_query) = target.parse() else {
            let response = ApiError::invalid(PathRejection::MalformedEscape.message());
            return Ok(req
                .into_response(response.error_response())
                .map_into_right_body());
        };
        parts.path_and_query = Some(path_and_query);
        let Ok(uri) = Uri::from_parts(parts) else {
            let response = ApiError::invalid(PathRejection::MalformedEscape.message());
            return Ok(req
                .into_response(response.error_response())
                .map_into_right_body());
        };
        // As actix's own NormalizePath does: the router reads `match_info`, the rest `uri`.
        req.match_info_mut().get_mut().update(&uri);
        req.head_mut().uri = uri;
    }
    next.call(req)
        .await
        .map(ServiceResponse::map_into_left_body)
}

#[cfg(test)]
mod tests {
    use super::{PathRejection::*, canonical_path};

    #[test]
    fn unreserved_escapes_decode_in_any_case() {
        assert_eq!(canonical_path("/%761/keys").unwrap(), "/v1/keys");
        assert_eq!(canonical_path("/v1/%6Beys").unwrap(), "/v1/keys");
        assert_eq!(canonical_path("/v1/%6beys").unwrap(), "/v1/keys");
        assert_eq!(canonical_path("/v%31/series").unwrap(), "/v1/series");
        assert_eq!(
            canonical_path("/v1/series/a%2Db%7E").unwrap(),
            "/v1/series/a-b~"
        );
    }

    #[test]
    fn other_escapes_stay_encoded_in_upper_case() {
        assert_eq!(canonical_path("/v1/%2576").unwrap(), "/v1/%2576");
        assert_eq!(canonical_path("/v1/a%3ab").unwrap(), "/v1/a%3Ab");
        assert_eq!(canonical_path("/v1/a%c3%a9").unwrap(), "/v1/a%C3%A9");
    }

    #[test]
    fn ambiguous_paths_are_refused() {
        assert_eq!(canonical_path("/v1%2Fkeys"), Err(EncodedSlash));
        assert_eq!(canonical_path("/v1%2fkeys"), Err(EncodedSlash));
        assert_eq!(canonical_path("/x/../v1/keys"), Err(DotSegment));
        assert_eq!(canonical_path("/v1/./keys"), Err(DotSegment));
        assert_eq!(canonical_path("/v1/%2E%2E/keys"), Err(DotSegment));
        assert_eq!(canonical_path("/v1/%2e/keys"), Err(DotSegment));
        assert_eq!(canonical_path("/v1/keys/.."), Err(DotSegment));
        assert_eq!(canonical_path("//v1/keys"), Err(EmptySegment));
        assert_eq!(canonical_path("/v1//keys"), Err(EmptySegment));
        assert_eq!(canonical_path("/v1/%zzkeys"), Err(MalformedEscape));
        assert_eq!(canonical_path("/v1/keys%2"), Err(MalformedEscape));
        assert_eq!(canonical_path("/v1/%5Ckeys"), Err(Backslash));
    }

    #[test]
    fn plain_paths_are_their_own_canonical_form() {
        for p in [
            "/",
            "/v1",
            "/v1/",
            "/v1/keys",
            "/v1/series/a.b:c",
            "/healthz",
            "/v1/..x",
        ] {
            assert_eq!(canonical_path(p).unwrap(), p);
            let once = canonical_path(p).unwrap();
            assert_eq!(canonical_path(&once).unwrap(), once);
        }
    }
}
