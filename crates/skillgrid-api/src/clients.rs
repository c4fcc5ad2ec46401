//! API clients as the API shows and takes them (`/admin/clients`), and their audit trail.
//!
//! A client's secret is shown once, when it is made (create, rotate), and never stored: the
//! server keeps a hash of it.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// An API client of the organization.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApiClient {
    /// The `client_id` of `POST /oauth/token`.
    pub id: Uuid,
    pub name: String,
    /// What its tokens may hold.
    pub scopes: Vec<String>,
    /// `false`: the client gets no token, and the tokens it was given are refused.
    pub active: bool,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
    /// When its current secret was made (at creation or by the last rotation).
    #[schema(format = DateTime)]
    pub secret_created_at: String,
}

/// A client with its new secret: the answer of a creation or a rotation, the only time the
/// secret is shown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApiClientWithSecret {
    #[serde(flatten)]
    pub client: ApiClient,
    /// The `client_secret` of `POST /oauth/token`. Store it now: it is not shown again.
    pub client_secret: String,
}

/// `POST /admin/clients`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApiClientCreate {
    /// For your own records; 1–200 characters.
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$"
    )]
    pub name: String,
    /// At least one skillgrid scope, each held by the calling token: a client cannot grant
    /// what it does not hold.
    #[schema(min_items = 1)]
    pub scopes: Vec<String>,
}

/// `PATCH /admin/clients/{clientId}`: any subset of the fields.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApiClientUpdate {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(
        nullable = false,
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$"
    )]
    pub name: Option<String>,
    /// The client's whole new list of scopes, each held by the calling token. Tokens already
    /// issued lose at once the scopes taken away.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, min_items = 1)]
    pub scopes: Option<Vec<String>>,
    /// `false` disables the client: no new token, and every token it holds is refused from
    /// the next request on. `true` enables it again (its earlier tokens stay refused).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub active: Option<bool>,
}

/// What an entry of the clients' audit trail records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum ClientAuditAction {
    Created,
    /// Its name, scopes or state changed (`before` and `after` say which).
    Updated,
    SecretRotated,
    Deleted,
}

/// One change to an API client.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClientAuditEntry {
    pub id: Uuid,
    #[schema(format = DateTime)]
    pub at: String,
    /// The request that made the change; `admin-cli` for the admin commands, `first-start`
    /// for the bootstrap client.
    pub request_id: String,
    /// The client whose token made the change; `null` when it was made on the database
    /// directly (the admin commands, the first start).
    #[schema(required = true)]
    pub actor_client_id: Option<Uuid>,
    /// The console user who made the change, when it was made in the console (the acting
    /// client is then the one made with the user).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor_user_id: Option<Uuid>,
    /// The client changed.
    pub client_id: Uuid,
    pub action: ClientAuditAction,
    #[schema(required = true)]
    pub before: Option<ApiClient>,
    #[schema(required = true)]
    pub after: Option<ApiClient>,
}
