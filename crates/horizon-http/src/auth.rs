//! API keys: the token format, hashing, and the middleware that authenticates every `/v1`
//! request, enforces the route's scope and the key's rate limit.
//!
//! A token is `hzn_<key id>_<secret>_<crc32>`: the key id (16 hex digits) is public and is
//! how the key is found; the secret is 256 random bits (64 hex digits); the CRC-32 of everything
//! before it lets clients and secret scanners recognise a token and lets the server reject a
//! mistyped one without a database read. Only the SHA-256 of the secret is stored. A fast
//! hash is enough here, unlike for passwords: the secret has 256 bits of entropy, so there is
//! nothing to brute-force, and verification stays cheap on every request.

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::Mutex,
    time::{Duration, Instant},
};

use actix_web::{
    Error, HttpMessage, ResponseError,
    body::{EitherBody, MessageBody},
    dev::{ServiceRequest, ServiceResponse},
    http::Method,
    middleware::Next,
    web,
};
use horizon_domain::{ApiKeyRecord, ApiScope};
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use uuid::Uuid;

use crate::{ApiError, AppState};

/// Prefix of every token.
pub const TOKEN_PREFIX: &str = "hzn";

/// A freshly generated key: the token to show once, and what to store.
#[derive(Debug, Clone)]
pub struct GeneratedKey {
    /// The whole token; shown to the user once, never stored.
    pub token: String,
    /// The public key id, stored as the key's prefix.
    pub key_id: String,
    /// SHA-256 of the secret, hex; stored.
    pub secret_hash: String,
}

/// Generates a new random key.
pub fn generate_key() -> GeneratedKey {
    let mut rng = rand::rng();
    let mut id = [0u8; 8];
    let mut secret = [0u8; 32];
    rng.fill_bytes(&mut id);
    rng.fill_bytes(&mut secret);
    let key_id = hex::encode(id);
    let secret = hex::encode(secret);
    let body = format!("{TOKEN_PREFIX}_{key_id}_{secret}");
    let crc = crc32fast::hash(body.as_bytes());
    GeneratedKey {
        token: format!("{body}_{crc:08x}"),
        secret_hash: hash_secret(&secret),
        key_id,
    }
}

/// Hex SHA-256 of a secret.
pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// The parts of a well-formed token.
#[derive(Debug, PartialEq)]
pub struct ParsedToken<'a> {
    /// Public key id.
    pub key_id: &'a str,
    /// The secret.
    pub secret: &'a str,
}

/// Splits a token and checks its shape and checksum; `None` when it is not one of ours.
pub fn parse_token(token: &str) -> Option<ParsedToken<'_>> {
    let mut parts = token.split('_');
    let (prefix, key_id, secret, crc) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let hex = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_hexdigit());
    if parts.next().is_some()
        || prefix != TOKEN_PREFIX
        || !hex(key_id, 16)
        || !hex(secret, 64)
        || !hex(crc, 8)
    {
        return None;
    }
    let body = &token[..token.len() - crc.len() - 1];
    let want = u32::from_str_radix(crc, 16).ok()?;
    (crc32fast::hash(body.as_bytes()) == want).then_some(ParsedToken { key_id, secret })
}

/// The authenticated caller, available to handlers through request extensions.
#[derive(Debug, Clone)]
pub struct Principal {
    /// The key's id.
    pub key_id: Uuid,
}

/// The scope a request needs: key management is admin, reads are read, other writes write.
pub fn required_scope(method: &Method, path: &str) -> ApiScope {
    if path.starts_with("/v1/keys") {
        ApiScope::Admin
    } else if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        ApiScope::Read
    } else {
        ApiScope::Write
    }
}

/// Cached key lookups (hits and misses), so a request costs no database read; entries live
/// `api_key_cache_secs`, which bounds how late a revocation or expiry takes effect.
#[derive(Debug)]
pub struct KeyCache {
    ttl: Duration,
    entries: Mutex<HashMap<String, (Instant, Option<ApiKeyRecord>)>>,
    touched: Mutex<HashMap<Uuid, Instant>>,
}

// Random key ids must not grow the cache without bound.
const MAX_CACHED_KEYS: usize = 10_000;
// `last_used_at` is written at most this often per key.
const TOUCH_EVERY: Duration = Duration::from_secs(60);

impl KeyCache {
    /// A cache whose entries live `ttl`.
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: Mutex::new(HashMap::new()),
            touched: Mutex::new(HashMap::new()),
        }
    }

    fn get(&self, key_id: &str) -> Option<Option<ApiKeyRecord>> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries
            .get(key_id)
            .filter(|(at, _)| at.elapsed() < self.ttl)
            .map(|(_, r)| r.clone())
    }

    /// A known key's record whatever its age, for use while the database is unreachable.
    fn get_stale(&self, key_id: &str) -> Option<Option<ApiKeyRecord>> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.get(key_id).and_then(|(_, r)| r.clone()).map(Some)
    }

    // Stored even with a zero ttl (never fresh then), for `get_stale`.
    fn put(&self, key_id: &str, record: Option<ApiKeyRecord>) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= MAX_CACHED_KEYS {
            entries.clear();
        }
        entries.insert(key_id.to_owned(), (Instant::now(), record));
    }

    /// Whether `last_used_at` of `id` is due for a write; marks it written when so.
    fn touch_due(&self, id: Uuid) -> bool {
        let mut touched = self.touched.lock().unwrap_or_else(|p| p.into_inner());
        if touched.len() >= MAX_CACHED_KEYS {
            touched.clear();
        }
        match touched.get(&id) {
            Some(at) if at.elapsed() < TOUCH_EVERY => false,
            _ => {
                touched.insert(id, Instant::now());
                true
            }
        }
    }
}

/// The token of a request: the configured header, else `Authorization: Bearer`.
fn token_of<'a>(req: &'a ServiceRequest, header: &str) -> Option<&'a str> {
    if let Some(v) = req.headers().get(header) {
        return v.to_str().ok().map(str::trim);
    }
    let auth = req.headers().get("authorization")?.to_str().ok()?;
    let (scheme, token) = auth.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// SHA-256 hex of nothing anyone holds: an unknown key id is checked against it, so that a
/// made-up key and a wrong secret take the same work (no timing tells which key ids exist).
const DUMMY_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Finds and checks the key behind `token`.
async fn verify(state: &AppState, token: &str) -> Result<ApiKeyRecord, ApiError> {
    let parsed =
        parse_token(token).ok_or_else(|| ApiError::unauthorized("the API key is malformed"))?;
    let record = match state.keys.get(parsed.key_id) {
        Some(r) => r,
        None => {
            state.metrics.count_key_lookup();
            match crate::retry_broken(|| state.store.api_key_by_prefix(parsed.key_id)).await {
                Ok(r) => {
                    state.keys.put(parsed.key_id, r.clone());
                    r
                }
                // While the database is away, a key this process verified before stays good
                // (revocations made meanwhile take effect when it is back): the outage should
                // not also lock out the reads that can still be served from the caches.
                Err(e) if e.is_transient() => match state.keys.get_stale(parsed.key_id) {
                    Some(r) => r,
                    None => return Err(e.into()),
                },
                Err(e) => return Err(e.into()),
            }
        }
    };
    let wrong = || ApiError::unauthorized("the API key is not valid");
    let expected = record
        .as_ref()
        .map_or(DUMMY_HASH, |r| r.secret_hash.as_str());
    let given = hash_secret(parsed.secret);
    let matches = bool::from(given.as_bytes().ct_eq(expected.as_bytes()));
    let record = record.ok_or_else(wrong)?;
    if !matches {
        return Err(wrong());
    }
    if record.revoked_at.is_some() {
        return Err(ApiError::unauthorized("the API key has been revoked"));
    }
    if record.expires_at.is_some_and(|at| at <= chrono::Utc::now()) {
        return Err(ApiError::unauthorized("the API key has expired"));
    }
    Ok(record)
}

/// The address a request comes from: the socket's peer, or, when the peer is a trusted proxy,
/// the right-most `X-Forwarded-For` entry that is not itself a trusted proxy (entries to its
/// left are whatever the client wrote).
pub(crate) fn client_address(req: &ServiceRequest, trusted: &[IpAddr]) -> Option<IpAddr> {
    let peer = req.peer_addr()?.ip();
    if !trusted.contains(&peer) {
        return Some(peer);
    }
    let forwarded = req
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect::<Vec<_>>();
    for entry in forwarded.iter().rev() {
        match entry.parse::<IpAddr>() {
            Ok(ip) if trusted.contains(&ip) => continue,
            Ok(ip) => return Some(ip),
            // A malformed entry added by a trusted hop is a misconfiguration; stop at the proxy.
            Err(_) => return Some(peer),
        }
    }
    Some(peer)
}

/// What a `/v1` request must pass: a valid key with the route's scope, within its rate limit.
async fn admit(req: &ServiceRequest) -> Result<(), ApiError> {
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return Err(ApiError::unavailable("server state missing"));
    };
    let token = token_of(req, &state.settings.api_key_header).ok_or_else(|| {
        ApiError::unauthorized(format!(
            "an API key is required: send it in the {} header or as Authorization: Bearer",
            state.settings.api_key_header
        ))
    })?;
    let client = client_address(req, &state.trusted_proxies);
    if let Some(retry_after) = client.and_then(|c| state.auth_failures.blocked(c)) {
        return Err(ApiError::rate_limited_client(retry_after));
    }
    let record = match verify(&state, token).await {
        Ok(r) => r,
        Err(e) => {
            if e.code == horizon_domain::ErrorCode::Unauthorized
                && let Some(c) = client
            {
                state.auth_failures.record(c);
            }
            return Err(e);
        }
    };
    let needed = required_scope(req.method(), req.path());
    if !record.scopes.allows(needed) {
        return Err(ApiError::forbidden(format!(
            "this API key lacks the {needed} scope needed here (it has {})",
            record.scopes
        )));
    }
    if let Some(retry_after) = state.limiter.check(record.id).await {
        return Err(ApiError::rate_limited(retry_after));
    }
    if state.keys.touch_due(record.id) {
        let store = state.store.clone();
        let id = record.id;
        actix_web::rt::spawn(async move {
            if let Err(e) = store.touch_api_key(id, chrono::Utc::now()).await {
                tracing::warn!(error = %e, key = %id, "could not record api key use");
            }
        });
    }
    req.extensions_mut().insert(Principal { key_id: record.id });
    Ok(())
}

/// Middleware: every `/v1` request needs a valid key with the route's scope and within its
/// rate limit; other paths (health, metrics, docs, the page) are open. Refusals are answered
/// here as responses (not errors) so the access log and metrics see them.
pub(crate) async fn authenticate(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, Error> {
    if !req.path().starts_with("/v1/") && req.path() != "/v1" {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_left_body);
    }
    match admit(&req).await {
        Ok(()) => next
            .call(req)
            .await
            .map(ServiceResponse::map_into_left_body),
        Err(e) => Ok(req.into_response(e.error_response()).map_into_right_body()),
    }
}
