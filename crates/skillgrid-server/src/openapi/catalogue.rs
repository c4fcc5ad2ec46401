//! The error catalogue: what each problem code means and how to fix it. The docs page shows
//! one entry per code at `/docs#problem-<code>`, where every problem's `type` points.

use skillgrid_api::ProblemCode;

/// What `code` means, and what a client does about it.
pub fn meaning_and_fix(code: ProblemCode) -> (&'static str, &'static str) {
    match code {
        ProblemCode::ValidationFailed => (
            "Something in the request is wrong: the body, a query or path parameter, or a header. `errors` lists every problem at once, in body order, each with its place (`pointer` into the body, or `query`, `path`, `header`), an entry code, and where they help `expected`, `received` and `hint`. Nothing was written.",
            "Fix each entry of `errors` (the `hint` usually names the fix) and send the request again. For `invalid_json`, `line` and `column` say where the syntax breaks.",
        ),
        ProblemCode::InactiveAgent => (
            "The agent whose skills the request would change is inactive, so its skills cannot be changed. Nothing was written.",
            "Reactivate the agent with `PATCH /api/v2/admin/users/{userId}` and `{\"active\": true}`, or leave it out of the request.",
        ),
        ProblemCode::BadRequest => (
            "The HTTP message itself is malformed, so no route read it: a request line or header that is not HTTP/1.1, two different `Content-Length` headers, `Content-Length` together with `Transfer-Encoding`, or a chunked body whose framing is broken. The server closes the connection after this answer.",
            "Fix the client or proxy that builds the request; a standard HTTP library never sends such a request. Nothing was written.",
        ),
        ProblemCode::Unauthorized => (
            "The request carries no access token, or one that is malformed, expired, forged or issued for another API. The detail and the `WWW-Authenticate` header say which.",
            "Get a token with `POST /oauth/token` (client credentials) and send it as `Authorization: Bearer TOKEN`. Tokens last one hour: get a new one when it expires.",
        ),
        ProblemCode::InsufficientScope => (
            "The token is valid but lacks the scope this route needs. The detail names the scope needed and the scopes the token has; `WWW-Authenticate` carries `scope=\"NEEDED\"`.",
            "Request a token with that scope (`scope` in `POST /oauth/token`), or have an administrator grant it to the API client (`skillgrid admin create-client --scopes …`).",
        ),
        ProblemCode::Forbidden => (
            "The request was made with the console's session cookie (no bearer token) and its session may not make it: a change (any method but GET, HEAD and OPTIONS) without the session's anti-forgery token in `X-CSRF-Token`, or sent from a page of another site (its `Origin` is not this server's), or any request before the user has replaced their one-time password. Nothing was written.",
            "From the console's own pages, send the token the page carries in `X-CSRF-Token`; a user with a one-time password changes it at `/console/password` first. Programs use an API client's bearer token instead, which is not checked this way.",
        ),
        ProblemCode::NotFound => (
            "No such resource in the caller's organization (ids of other organizations answer exactly as ids that do not exist), or no route matches the path. A route of Genesys Cloud, NICE CXone, Amazon Connect or Salesforce that skillgrid recognises gets a detail naming skillgrid's route for the same job and how the body differs (see Coming from another product).",
            "Check the id (list the collection to find it) and the path against this page; for another product's route, send the request the detail describes.",
        ),
        ProblemCode::MethodNotAllowed => (
            "The route exists but does not take this HTTP method. The `Allow` header lists the methods it takes.",
            "Use one of the methods in `Allow`; the operations of each path are listed on this page.",
        ),
        ProblemCode::RequestTimeout => (
            "The request body did not arrive in full within the server's body timeout (counted from the end of the headers; 30 seconds unless the operator set `--body-timeout`). Nothing was written, and the connection is closed.",
            "Send the body at once, as HTTP libraries do; on a slow link split the work into smaller requests. Retrying the same request is safe.",
        ),
        ProblemCode::Conflict => (
            "The request conflicts with the current state: a skill name or agent email already taken in the organization (entry code `conflict` at `/name` or `/email`), or a skill that agents still hold cannot be deleted.",
            "Choose another name or email, or update the existing resource. To retire a skill agents hold, deactivate it with `PATCH {\"active\": false}` instead of deleting it.",
        ),
        ProblemCode::IdempotencyKeyInUse => (
            "A request with the same `Idempotency-Key` is still being processed, on this instance or another.",
            "Wait for it (see `Retry-After`) and send the same request again: once the first one is done you get its answer.",
        ),
        ProblemCode::PreconditionFailed => (
            "`If-Match` (or a bulk item's `ifMatch`) names a version of the agent's skills that is no longer current: someone changed them since you read them. The current version is in `currentVersion` and the `ETag` header. Nothing was written.",
            "Read the agent's skills again (`GET …/skills`), re-apply your change to what you get, and send it with the new ETag.",
        ),
        ProblemCode::PayloadTooLarge => (
            "The request body is larger than the organization's `limits.maxBodyBytes`.",
            "Split the work into several smaller requests, or have an administrator raise `limits.maxBodyBytes` in the organization settings.",
        ),
        ProblemCode::UriTooLong => (
            "The request's URI (path and query) is longer than the server reads: about 64 KiB. The server closes the connection after this answer.",
            "Send fewer or shorter query parameters; the list routes page their results (`pageSize`, `cursor`) instead of taking long lists of ids.",
        ),
        ProblemCode::UnsupportedMediaType => (
            "The request body was not sent as `Content-Type: application/json`.",
            "Send `Content-Type: application/json` (a `charset` parameter is fine) with a JSON body.",
        ),
        ProblemCode::IdempotencyKeyReused => (
            "The `Idempotency-Key` was already used by this client with another request (method, path or body differ).",
            "Use a fresh key (e.g. a new UUID) for every new request; reuse a key only to retry the very same request.",
        ),
        ProblemCode::PreconditionRequired => (
            "The organization requires `If-Match` on every write to an agent's skills (`requireIfMatch`), and the request has none.",
            "Read the agent's skills, then send the write with `If-Match: \"N\"` (the ETag you read), or `If-Match: *` to write unconditionally.",
        ),
        ProblemCode::RateLimited => (
            "The API client sent more requests than its organization's `rateLimit` allows (a token bucket of `burst` requests refilled at `requestsPerMinute`). Nothing was changed.",
            "Wait the seconds `Retry-After` says, then retry; spread requests out, and use the bulk route for many changes (a bulk request counts as one).",
        ),
        ProblemCode::HeadersTooLarge => (
            "The request's head (request line and headers together) is larger than the server reads, about 400 KiB, or has more than 100 headers. The server closes the connection after this answer.",
            "Send fewer and shorter headers: an oversized cookie or a header repeated by a misconfigured proxy is the usual cause.",
        ),
        ProblemCode::Internal => (
            "The server failed to handle the request. The detail names the request id and nothing else; the cause is in the server's log under that id.",
            "Retry later; if it persists, report the request id (also in `X-Request-Id`) to the operator.",
        ),
        ProblemCode::StorageFull => (
            "The server's disk is full (or its database reached the size its operator allows), so the change could not be stored. Nothing was written. Reads still work, and `/readyz` answers 503 until writes can be stored again.",
            "Wait the seconds `Retry-After` says and send the same request again; if it persists, tell the operator, who frees space or raises the limit.",
        ),
    }
}
